/*
 * disc.c: the discriminator's side of SeqGAN: real sequences (openings of
 * training pieces), generated ones (sampled from G's softmax), D's
 * probabilities "real" for either kind of discriminator, and one D update.
 *
 * Two kinds of D (train.h): the pooled Transformer encoder of src/model
 * (MODEL_DISCRIMINATOR, bidirectional, one logit per sequence, BCE), and a
 * dense, causal one for --reward dense made of the generator's architecture:
 * its vocabulary head is read as a two-way classifier at every position,
 * p(real) = sigmoid(z_PAD - z_BOS), trained with the softmax cross-entropy
 * towards PAD (real) or BOS (generated) at every position of the sequence.
 * PAD and BOS are never targets of a generator, so their output rows are
 * free to serve as the classifier; the cross-entropy over the whole
 * vocabulary also pushes the other logits down, after which it equals the
 * binary cross-entropy of that sigmoid. This needs no new kernel nor model
 * kind; the cost is a V-wide head where one logit would do.
 *
 * Data parallel (seqgan_dist.c): adv_disc_grad takes the gradient of a batch's
 * mean loss from some of its rows, weighted so that the ranks' gradients add
 * up to one process's (up to rounding); the update itself (adv_opt_apply)
 * follows the sum.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

void adv_lengths(const int *x, int ld, int B, int T, int *lengths)
{
    for (int b = 0; b < B; b++) {
        const int *row = x + (size_t)b * ld;
        int len = T;
        for (int t = 1; t <= T; t++)
            if (row[t] == TOK_EOS) {
                len = t;
                break;
            }
        lengths[b] = len;
    }
}

void adv_real_openings(const data_corpus *c, tg_rng *rng, int B, int T, int *x)
{
    const uint64_t n = c->split_count[DATA_TRAIN];
    for (int b = 0; b < B; b++) {
        const data_piece *p = &c->pieces[c->split_pieces[DATA_TRAIN][tg_rng_below(rng, (uint32_t)n)]];
        int *row = x + (size_t)b * (T + 1);
        bool ended = false;
        for (int t = 0; t <= T; t++) {
            int id = !ended && (uint32_t)t < p->length ? c->tokens[p->offset + t] : TOK_PAD;
            row[t] = id;
            if (id == TOK_EOS) ended = true;
        }
    }
}

/* SeqGAN's sampling policy for the batch-sampling loop (src/sample/loop.c):
 * temperature 1 (or the g-step's --explore-temperature), no grammar, fixed shapes (a finished row stays in the batch
 * and is fed PAD), rows (R, T+1) filled up to column T. */
typedef struct {
    int *x;
    int T;
    int *pos;      /* (R) the column each row fills next */
    tg_rng *rng;   /* one stream for every row in row order, or NULL: */
    tg_rng *rngs;  /* (R) a stream each */
} adv_policy;

static tg_rng *adv_rng(void *user, int row)
{
    adv_policy *p = user;
    return p->rngs ? &p->rngs[row] : p->rng;
}

static sample_verdict adv_took(void *user, int row, int id)
{
    adv_policy *p = user;
    const int t = p->pos[row]++;
    p->x[(size_t)row * (p->T + 1) + t] = id;
    return id == TOK_EOS || t == p->T ? SAMPLE_STOP : SAMPLE_GO;
}

/* adv_complete at a sampling temperature (1: the model's own softmax). */
static tg_status complete_at(model_cache *s, int R, int T, int t0, int *x, const uint8_t *done, tg_rng *rng,
                             tg_rng *rngs, float *logits, float temperature)
{
    int *pos = malloc((size_t)R * sizeof(int));
    if (!pos) return TG_ERR_NOMEM;
    for (int r = 0; r < R; r++) {
        pos[r] = t0;
        for (int t = t0; t <= T; t++) x[(size_t)r * (T + 1) + t] = TOK_PAD;
    }
    adv_policy pol = {x, T, pos, rng, rngs};
    sample_params sp = sample_params_default();
    sp.temperature = temperature;
    const sample_loop lp = {sp, NULL, adv_rng, adv_took, &pol, false, 0, NULL, NULL};
    tg_status st = sample_loop_run(s, &lp, R, NULL, 0, done, logits, NULL);
    free(pos);
    return st;
}

tg_status adv_complete(model_cache *s, int R, int T, int t0, int *x, const uint8_t *done,
                       tg_rng *rng, tg_rng *rngs, float *logits)
{
    return complete_at(s, R, T, t0, x, done, rng, rngs, logits, 1.0f);
}

tg_status adv_sample_tempered(model_cache *state, int B, int T, float temperature, int *x, tg_rng *rng,
                              float *logits)
{
    int *bos = malloc((size_t)B * sizeof(int));
    if (!bos) return TG_ERR_NOMEM;
    for (int b = 0; b < B; b++) bos[b] = x[(size_t)b * (T + 1)] = TOK_BOS;
    model_cache_reset(state, B);
    model_decode(state, bos, 1, logits);
    free(bos);
    return complete_at(state, B, T, 1, x, NULL, rng, NULL, logits, temperature);
}

tg_status adv_sample(model_cache *state, int B, int T, int *x, tg_rng *rng, float *logits)
{
    return adv_sample_tempered(state, B, T, 1.0f, x, rng, logits);
}

float adv_dense_prob(const float *logits)
{
    float z = logits[TOK_PAD] - logits[TOK_BOS];
    return z >= 0 ? 1.0f / (1.0f + expf(-z)) : expf(z) / (1.0f + expf(z));
}

void adv_disc_fill_padding(const tg_model *D, int *tokens, const int *lengths, int B, int T)
{
    const model_config *cfg = model_get_config(D);
    if (cfg->attention != MODEL_ATTN_FC || cfg->kind != MODEL_GENERATOR) return;
    for (int b = 0; b < B; b++)
        for (int t = lengths[b]; t < T; t++) tokens[(size_t)b * T + t] = cfg->fc_bar_token;
}

/* tokens (B,T) = x[.,1..T] */
static void strip_bos(int *tokens, const int *x, int ld, int B, int T)
{
    for (int b = 0; b < B; b++)
        memcpy(tokens + (size_t)b * T, x + (size_t)b * ld + 1, (size_t)T * sizeof(int));
}

void adv_disc_probs(tg_model *D, const int *x, int ld, const int *lengths, int B, int T,
                    float *probs, int *tmp)
{
    const model_config *cfg = model_get_config(D);
    const int MB = model_max_batch(D), V = cfg->vocab_size;
    for (int b0 = 0; b0 < B; b0 += MB) {
        int n = B - b0 < MB ? B - b0 : MB;
        strip_bos(tmp, x + (size_t)b0 * ld, ld, n, T);
        if (cfg->kind == MODEL_DISCRIMINATOR) {
            model_disc_forward(D, tmp, lengths + b0, NULL, n, T, NULL);
            memcpy(probs + b0, model_disc_probs(D), (size_t)n * sizeof(float));
        } else {
            adv_disc_fill_padding(D, tmp, lengths + b0, n, T);
            model_lm_forward(D, tmp, NULL, n, T, NULL);
            const float *lg = model_logits(D);
            for (int b = 0; b < n; b++)
                probs[b0 + b] = adv_dense_prob(lg + ((size_t)b * T + lengths[b0 + b] - 1) * V);
        }
    }
}

void adv_dense_values(tg_model *D, const int *x, const int *lengths, int B, int T, float *Q, int *tmp)
{
    const int V = model_get_config(D)->vocab_size;
    strip_bos(tmp, x, T + 1, B, T);
    adv_disc_fill_padding(D, tmp, lengths, B, T);
    model_lm_forward(D, tmp, NULL, B, T, NULL);
    const float *lg = model_logits(D);
    for (int b = 0; b < B; b++)
        for (int t = 1; t <= T; t++) {
            const int at = t < lengths[b] ? t : lengths[b];
            Q[(size_t)b * T + t - 1] = adv_dense_prob(lg + ((size_t)b * T + at - 1) * V);
        }
}

float adv_opt_apply(tg_model *m, const adv_opt_step *os)
{
    float norm = model_clip_grad(m, os->clip);
    nn_adamw_hparams hp = {os->lr, 0.9f, 0.999f, 1e-8f, os->weight_decay};
    model_adamw_step(m, &hp, os->step);
    return norm;
}

/* The pooled D on rows lo..hi-1 (n of them): the gradient of their mean BCE
 * scaled by n/B, which is their share of the batch's mean. */
static void pooled_grad(tg_model *D, const int *tokens, const int *lengths, const float *labels, int B,
                        int lo, int hi, int T, tg_rng *dropout_rng, double sums[3])
{
    const int n = hi - lo;
    float loss = model_disc_forward(D, tokens, lengths + lo, labels + lo, n, T, dropout_rng);
    const float *p = model_disc_probs(D);
    int right = 0;
    for (int b = 0; b < n; b++) right += (p[b] > 0.5f) == (labels[lo + b] > 0.5f);
    model_disc_backward(D);
    if (n != B) {
        float *g = model_grad_data(D), f = (float)n / (float)B;
        for (size_t i = 0, count = model_param_count(D); i < count; i++) g[i] *= f;
    }
    sums[0] = (double)loss * n, sums[1] = n, sums[2] = right;
}

/* The dense D with smoothed labels y (neither 0 nor 1) on rows lo..hi-1:
 * the cross-entropy towards the soft target y PAD + (1-y) BOS, as two
 * weighted passes (towards PAD with weight y, towards BOS with 1-y, each
 * position 1/(the batch's target count)); the gradients add up. The
 * dropout masks of the second pass are fresh draws. Returns the rows' loss
 * sum; *right the rows whose last p(real) is on their label's side. */
static double dense_grad_soft(tg_model *D, const int *tokens, const int *lengths, const float *labels, int lo,
                              int hi, int T, int n_all, tg_rng *dropout_rng, float *work, int *targets, int *right)
{
    const int n = hi - lo, V = model_get_config(D)->vocab_size;
    double loss = 0;
    *right = 0;
    for (int pass = 0; pass < 2; pass++) {
        const int target = pass == 0 ? TOK_PAD : TOK_BOS;
        for (int b = lo; b < hi; b++)
            for (int t = 0; t < T; t++) {
                size_t i = (size_t)(b - lo) * T + t;
                const float y = pass == 0 ? labels[b] : 1.0f - labels[b];
                targets[i] = t < lengths[b] ? target : MODEL_IGNORE_INDEX;
                work[i] = t < lengths[b] ? y / (float)n_all : 0.0f;
            }
        model_lm_forward(D, tokens, targets, n, T, dropout_rng);
        const float *l = model_losses(D);
        for (size_t i = 0; i < (size_t)n * T; i++) loss += (double)work[i] * l[i] * n_all;
        if (pass == 0) {
            const float *lg = model_logits(D);
            for (int b = 0; b < n; b++) {
                float p = adv_dense_prob(lg + ((size_t)b * T + lengths[lo + b] - 1) * V);
                *right += (p > 0.5f) == (labels[lo + b] > 0.5f);
            }
        }
        model_lm_backward_weighted(D, work);
    }
    return loss;
}

/* The dense D on rows lo..hi-1: cross-entropy at every position, each target
 * weighted 1/(the batch's target count) as one process's mean does. */
static void dense_grad(tg_model *D, const int *tokens, const int *lengths, const float *labels, int B,
                       int lo, int hi, int T, tg_rng *dropout_rng, float *work, int *targets,
                       double sums[3])
{
    const int n = hi - lo, V = model_get_config(D)->vocab_size;
    int n_all = 0, n_mine = 0, right = 0;
    for (int b = 0; b < B; b++) n_all += lengths[b];
    bool soft = false;
    for (int b = lo; b < hi; b++) soft |= labels[b] != 0.0f && labels[b] != 1.0f;
    if (soft) {
        for (int b = lo; b < hi; b++) n_mine += lengths[b];
        double loss = dense_grad_soft(D, tokens, lengths, labels, lo, hi, T, n_all, dropout_rng, work, targets, &right);
        sums[0] = loss, sums[1] = n_mine, sums[2] = right;
        return;
    }
    for (int b = lo; b < hi; b++) {
        n_mine += lengths[b];
        for (int t = 0; t < T; t++)
            targets[(size_t)(b - lo) * T + t] =
                t < lengths[b] ? (labels[b] > 0.5f ? TOK_PAD : TOK_BOS) : MODEL_IGNORE_INDEX;
    }
    float loss = model_lm_forward(D, tokens, targets, n, T, dropout_rng);
    const float *lg = model_logits(D);
    for (int b = 0; b < n; b++) {
        float p = adv_dense_prob(lg + ((size_t)b * T + lengths[lo + b] - 1) * V);
        right += (p > 0.5f) == (labels[lo + b] > 0.5f);
    }
    if (n == B) {
        model_lm_backward(D);
    } else {
        for (size_t i = 0; i < (size_t)n * T; i++)
            work[i] = targets[i] != MODEL_IGNORE_INDEX ? 1.0f / (float)n_all : 0.0f;
        model_lm_backward_weighted(D, work);
    }
    sums[0] = (double)loss * n_mine, sums[1] = n_mine, sums[2] = right;
}

void adv_disc_grad(tg_model *D, const int *x, int ld, const int *lengths, const float *labels, int B,
                   int T, int lo, int hi, tg_rng *dropout_rng, float *work, int *tmp, double sums[3])
{
    sums[0] = sums[1] = sums[2] = 0;
    model_zero_grad(D);
    if (hi <= lo) return;
    int *tokens = tmp, *targets = tmp + (size_t)(hi - lo) * T;
    strip_bos(tokens, x + (size_t)lo * ld, ld, hi - lo, T);
    adv_disc_fill_padding(D, tokens, lengths + lo, hi - lo, T);
    if (model_get_config(D)->kind == MODEL_DISCRIMINATOR)
        pooled_grad(D, tokens, lengths, labels, B, lo, hi, T, dropout_rng, sums);
    else
        dense_grad(D, tokens, lengths, labels, B, lo, hi, T, dropout_rng, work, targets, sums);
}

float adv_disc_update(tg_model *D, const int *x, int ld, const int *lengths, const float *labels,
                      int B, int T, tg_rng *dropout_rng, const adv_opt_step *os, float *acc,
                      int *tmp)
{
    double sums[3];
    /* smoothed labels on a dense D take weights (dense_grad_soft) */
    float *work = model_get_config(D)->kind == MODEL_GENERATOR ? malloc((size_t)B * T * sizeof(float)) : NULL;
    adv_disc_grad(D, x, ld, lengths, labels, B, T, 0, B, dropout_rng, work, tmp, sums);
    free(work);
    adv_opt_apply(D, os);
    *acc = (float)sums[2] / (float)B;
    return (float)(sums[0] / sums[1]);
}
