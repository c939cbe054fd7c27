/*
 * likelihood.c: the mean negative log-likelihood per token of a generator on
 * a corpus split, with strided windows so that every token is scored exactly
 * once and with as much context as the stride allows.
 *
 * A piece of n tokens has n - 1 targets (every token but its BOS), target p
 * being predicted from inputs 0..p-1. With the model's context T and a
 * stride S (1 <= S <= T), windows of inputs start at 0, S, 2S, ...; the
 * first scores the targets of its T inputs, every later one only the S
 * targets past the previous window's end, and the last window of a piece is
 * padded (PAD inputs, ignored targets; the attention is causal so padding
 * after a position never changes it). A target past the first window is thus
 * predicted from between T - S and T - 1 tokens of context: S = 1 gives every
 * token the full context (T times the work of S = T), S = T gives the
 * consecutive windows of train_eval_nll (each token scored once, context
 * restarting at every window boundary). The sum of per-position losses is
 * taken in double; the mean is over all targets of the split.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

/* Windows of a piece with L targets. */
static uint64_t piece_windows(uint64_t L, int T, int S)
{
    if (L == 0) return 0;
    if (L <= (uint64_t)T) return 1;
    return 1 + (L - (uint64_t)T + (uint64_t)S - 1) / (uint64_t)S;
}

uint64_t eval_nll_window_count(const data_corpus *c, int split, int T, int stride)
{
    if (split < 0 || split >= DATA_SPLITS || T <= 0 || stride <= 0 || stride > T) return 0;
    uint64_t n = 0;
    for (uint64_t k = 0; k < c->split_count[split]; k++) {
        uint64_t len = c->pieces[c->split_pieces[split][k]].length;
        if (len > 1) n += piece_windows(len - 1, T, stride);
    }
    return n;
}

/* Sums the losses of the rows filled so far. */
static void flush(tg_model *m, int32_t *inputs, int32_t *targets, int rows, int T, double *sum,
                  uint64_t *count)
{
    const model_config *cfg = model_get_config(m);
    if (cfg->attention == MODEL_ATTN_FC) /* bar attention: no work on the padding (data.h) */
        T = data_trim_padding(inputs, targets, rows, T, cfg->fc_bar_token);
    model_lm_forward(m, (const int *)inputs, (const int *)targets, rows, T, NULL);
    const float *losses = model_losses(m);
    for (size_t i = 0; i < (size_t)rows * T; i++) {
        if (targets[i] < 0) continue;
        *sum += losses[i];
        (*count)++;
    }
}

tg_status eval_nll(tg_model *m, const data_corpus *c, int split, int stride, eval_nll_result *out,
                   void (*progress)(void *user, uint64_t done, uint64_t total), void *user)
{
    memset(out, 0, sizeof *out);
    out->nll = out->perplexity = NAN;
    const model_config *cfg = model_get_config(m);
    int B = model_max_batch(m), T = cfg->context;
    if (split < 0 || split >= DATA_SPLITS || stride < 1 || stride > T) return TG_ERR_ARG;
    if (cfg->kind != MODEL_GENERATOR || (uint32_t)cfg->vocab_size != c->vocab_size) return TG_ERR_SHAPE;
    out->stride = stride;
    out->context = T;
    uint64_t total = eval_nll_window_count(c, split, T, stride);
    int32_t *inputs = malloc(sizeof(int32_t) * (size_t)B * T);
    int32_t *targets = malloc(sizeof(int32_t) * (size_t)B * T);
    if (!inputs || !targets) {
        free(inputs);
        free(targets);
        return TG_ERR_NOMEM;
    }
    double sum = 0;
    uint64_t count = 0, done = 0;
    int rows = 0;
    for (uint64_t k = 0; k < c->split_count[split]; k++) {
        const data_piece *p = &c->pieces[c->split_pieces[split][k]];
        if (p->length < 2) continue;
        const uint16_t *tok = c->tokens + p->offset;
        uint64_t L = p->length - 1, scored_to = 0;
        for (uint64_t b = 0; scored_to < L; b += (uint64_t)stride) {
            uint64_t end = b + (uint64_t)T < L ? b + (uint64_t)T : L;
            int32_t *in = inputs + (size_t)rows * T, *tg = targets + (size_t)rows * T;
            for (int t = 0; t < T; t++) {
                uint64_t pos = b + (uint64_t)t;
                in[t] = pos < L ? tok[pos] : TOK_PAD;
                tg[t] = pos >= scored_to && pos < end ? tok[pos + 1] : -1;
            }
            scored_to = end;
            if (++rows == B) {
                flush(m, inputs, targets, rows, T, &sum, &count);
                done += (uint64_t)rows;
                rows = 0;
                if (progress) progress(user, done, total);
            }
        }
    }
    if (rows > 0) {
        flush(m, inputs, targets, rows, T, &sum, &count);
        done += (uint64_t)rows;
        if (progress) progress(user, done, total);
    }
    free(inputs);
    free(targets);
    out->tokens = count;
    out->windows = done;
    if (count) {
        out->nll = sum / (double)count;
        out->perplexity = exp(out->nll);
    }
    return TG_OK;
}
