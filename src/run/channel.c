/*
 * channel.c: the any-track model scores its own takes, for `accompany
 * --rerank` and `infill --rerank` (tg_run_accompany): the "noisy channel"
 * reranking of Yee, Dauphin and Auli (2019, "Simple and Effective Noisy
 * Channel Modeling for Neural Machine Translation"), with the same model in
 * both directions, since an any-track model learnt every task of the mix.
 * A candidate (a sequence sample_fill wrote, in the plan's order) gets two
 * log-likelihoods in nats, both under the model at temperature 1:
 *   direct:  log p(written | given): the tokens the model drew in the plan
 *            (inside its open segments, and the token that closed each);
 *   channel: accompaniment: log p(given tracks | written tracks), the
 *            candidate rewritten with the written tracks first in every bar
 *            (tok_tracks_rewrite, the mix's "tracks given" order) and the
 *            given tracks' tokens scored as tools/track_nll scores a track;
 *            infilling: log p(the bars after the gap | everything before
 *            them, the candidate in the gap): the whole piece in canonical
 *            order with the candidate's bars in place of the gap's, the
 *            tokens of the next bars (as many as the training window's
 *            "after", 4) scored. No bar after the gap: 0 over 0 tokens.
 * Sequences longer than the context are scored in windows of the context,
 * a new one every half context (each token once, with at least half a
 * context before it, as tools/track_nll and eval's NLL), several windows
 * per batched forward pass (model_lm_forward, the model's precision).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "run.h"

static bool note_token(tok_type t)
{
    return t == TOK_T_POSITION || t == TOK_T_PITCH || t == TOK_T_VELOCITY || t == TOK_T_DURATION;
}

void run_written_mask(const tok_tokenizer *tok, const sample_plan *plan, const uint16_t *ids, size_t n,
                      uint8_t *mask)
{
    size_t next = 0;
    bool open = false;
    for (size_t i = 0; i < n; i++) {
        const int id = ids[i];
        mask[i] = 1; /* drawn by the model */
        if (next < plan->n && id == plan->ids[next] && (!open || !note_token(tok_get_info(tok, id).type))) {
            mask[i] = open; /* the plan's token: forced, or chosen to close a segment */
            open = plan->open[next] != 0;
            next++;
        }
    }
    if (n) mask[0] = 0; /* BOS */
}

tg_status run_logp_masked(tg_model *m, const uint16_t *ids, size_t n, const uint8_t *mask, double *sum,
                          size_t *count, float *each)
{
    *sum = 0;
    *count = 0;
    if (each)
        for (size_t i = 0; i < n; i++) each[i] = 0.0f;
    if (n < 2) return TG_OK;
    const int ctx = model_get_config(m)->context, MB = model_max_batch(m);
    const size_t L = n - 1; /* positions predicting tokens 1..n-1 */
    const int T = L < (size_t)ctx ? (int)L : ctx, stride = T / 2 > 0 ? T / 2 : 1;
    int *in = malloc(sizeof(int) * (size_t)MB * T), *tg = malloc(sizeof(int) * (size_t)MB * T);
    size_t *start = malloc(sizeof(size_t) * (size_t)MB); /* each row's first position */
    if (!in || !tg || !start) {
        free(in), free(tg), free(start);
        return TG_ERR_NOMEM;
    }
    size_t scored_to = 0;
    int rows = 0;
    for (size_t b = 0; scored_to < L; b += (size_t)stride) {
        const size_t end = b + (size_t)T < L ? b + (size_t)T : L;
        for (int t = 0; t < T; t++) {
            const size_t pos = b + (size_t)t;
            in[rows * T + t] = pos < L ? ids[pos] : TOK_PAD;
            tg[rows * T + t] = pos >= scored_to && pos < end && mask[pos + 1] ? ids[pos + 1] : MODEL_IGNORE_INDEX;
        }
        scored_to = end;
        bool any = false;
        for (int t = 0; t < T && !any; t++) any = tg[rows * T + t] != MODEL_IGNORE_INDEX;
        if (any) start[rows++] = b; /* a window with nothing to score is left out */
        if (rows > 0 && (rows == MB || scored_to >= L)) {
            model_lm_forward(m, in, tg, rows, T, NULL);
            const float *loss = model_losses(m);
            for (int i = 0; i < rows * T; i++) {
                if (tg[i] == MODEL_IGNORE_INDEX) continue;
                *sum -= loss[i], (*count)++;
                if (each) each[start[i / T] + (size_t)(i % T) + 1] = -loss[i];
            }
            rows = 0;
        }
    }
    free(in), free(tg), free(start);
    return TG_OK;
}

/* Accompaniment: the written slots first in every bar; the given slots'
 * segments after them (and the token closing each) are scored. */
static tg_status swapped(const tok_tokenizer *tok, const run_channel_task *t, const tok_seq *cand, tok_seq *out,
                         uint8_t **mask_out, char *why, size_t why_len)
{
    tok_tracks_task task = tok_tracks_task_default();
    task.given = t->targets;
    tg_status st = tok_tracks_rewrite(tok, cand->ids, cand->n, &task, out, NULL, NULL, why, why_len);
    uint8_t *mask = st == TG_OK ? calloc(out->n ? out->n : 1, 1) : NULL;
    if (st == TG_OK && !mask) st = TG_ERR_NOMEM;
    if (st != TG_OK) return st;
    bool header = true, in = false;
    for (size_t i = 0; i < out->n; i++) {
        const tok_info k = tok_get_info(tok, out->ids[i]);
        if (k.type == TOK_T_BAR) header = false;
        if (header) continue;
        if (k.type == TOK_T_TRACK || k.type == TOK_T_BAR || k.type == TOK_T_EOS) {
            mask[i] = in;
            in = k.type == TOK_T_TRACK && (t->given >> k.value & 1);
        } else {
            mask[i] = in;
        }
    }
    *mask_out = mask;
    return TG_OK;
}

/* Infilling: the whole piece (the canonical sequence) with the gap's bars
 * written as the candidate wrote them after Fill (each bar's head, its Bar,
 * meter and prelude, kept); the tokens of the after_bars bars that follow
 * the gap are scored (EOS left out). */
static tg_status refilled(const tok_tokenizer *tok, const run_channel_task *t, const tok_seq *cand, tok_seq *out,
                          uint8_t **mask_out)
{
    const int bar = tok_bar_id(tok), fill = tok_id(tok, TOK_T_FILL, 0);
    const tok_seq *canon = t->canon;
    const int g0 = t->gap_first, g1 = t->gap_first + t->gap_bars;
    size_t f = 0;
    while (f < cand->n && cand->ids[f] != fill) f++;
    if (f == cand->n) return TG_ERR_ARG;
    out->n = 0;
    size_t from = SIZE_MAX, to = SIZE_MAX; /* the scored tokens */
    size_t next_bar = f + 1;                /* the candidate's next filled bar */
    int b = -1;
    tg_status st = TG_OK;
    for (size_t i = 0; st == TG_OK && i < canon->n; i++) {
        const int id = canon->ids[i];
        if (id == bar && ++b == g1) from = out->n;
        if (id == bar && b == g1 + t->after_bars) to = out->n;
        if (id == TOK_EOS && to == SIZE_MAX) to = out->n;
        if (b < g0 || b >= g1 || id == TOK_EOS) {
            st = tok_seq_push(out, id);
            continue;
        }
        if (tok_get_info(tok, id).type != TOK_T_TRACK) { /* the bar's head */
            st = tok_seq_push(out, id);
            continue;
        }
        /* the bar's segments: the candidate's instead */
        if (next_bar >= cand->n || cand->ids[next_bar] != bar) return TG_ERR_ARG; /* fewer bars filled than gaps */
        size_t j = next_bar + 1;
        for (; st == TG_OK && j < cand->n && cand->ids[j] != bar && cand->ids[j] != TOK_EOS; j++)
            st = tok_seq_push(out, cand->ids[j]);
        next_bar = j;
        while (i + 1 < canon->n && canon->ids[i + 1] != bar && canon->ids[i + 1] != TOK_EOS) i++;
    }
    uint8_t *mask = st == TG_OK ? calloc(out->n ? out->n : 1, 1) : NULL;
    if (st == TG_OK && !mask) st = TG_ERR_NOMEM;
    if (st != TG_OK) return st;
    for (size_t i = from; from != SIZE_MAX && i < to && i < out->n; i++) mask[i] = 1;
    *mask_out = mask;
    return TG_OK;
}

tg_status run_channel_sequence(const tok_tokenizer *tok, const run_channel_task *t, const tok_seq *cand,
                               tok_seq *out, uint8_t **mask, char *why, size_t why_len)
{
    *mask = NULL;
    if (t->gap) {
        tg_status st = refilled(tok, t, cand, out, mask);
        if (st == TG_ERR_ARG) tg_fail(why, why_len, st, "an infill candidate without its Fill section");
        return st;
    }
    return swapped(tok, t, cand, out, mask, why, why_len);
}

/* Adds each scored token's log-probability (mask, each) to its bar: bar k
 * holds the tokens after the sequence's k-th Bar up to the next Bar or EOS,
 * and that token too, which closes its last segment (a scored Bar goes with
 * the bar it closes; the header before the first Bar with bar 0).
 * TG_ERR_ARG when the sequence has more than n_bars bars. */
static tg_status add_by_bar(const tok_tokenizer *tok, const uint16_t *ids, size_t n, const uint8_t *mask,
                            const float *each, double *sum, size_t *count, int n_bars)
{
    const int bar = tok_bar_id(tok);
    int b = -1;
    for (size_t i = 0; i < n; i++) {
        if (mask[i]) {
            const int k = b < 0 ? 0 : b;
            if (k >= n_bars) return TG_ERR_ARG;
            sum[k] += each[i];
            count[k]++;
        }
        if (ids[i] == bar) b++;
    }
    return b < n_bars ? TG_OK : TG_ERR_ARG;
}

/* log p of the masked tokens of ids: the total, and with by each bar's */
static tg_status logp_of(tg_model *m, const tok_tokenizer *tok, const uint16_t *ids, size_t n, const uint8_t *mask,
                         double *sum, size_t *count, double *bar_sum, size_t *bar_count, int n_bars)
{
    float *each = bar_sum ? malloc(sizeof(float) * (n ? n : 1)) : NULL;
    if (bar_sum && !each) return TG_ERR_NOMEM;
    tg_status st = run_logp_masked(m, ids, n, mask, sum, count, each);
    if (st == TG_OK && bar_sum) st = add_by_bar(tok, ids, n, mask, each, bar_sum, bar_count, n_bars);
    free(each);
    return st;
}

tg_status run_channel_score_of(tg_model *m, const tok_tokenizer *tok, const run_channel_task *t,
                               const tok_seq *cand, run_channel_score *out, run_bar_scores *by, char *err,
                               size_t err_len)
{
    memset(out, 0, sizeof *out);
    const int nb = by ? by->n_bars : 0;
    if (by)
        for (int k = 0; k < nb; k++) {
            by->channel[k] = by->direct[k] = 0;
            by->channel_tokens[k] = by->direct_tokens[k] = 0;
        }
    uint8_t *mask = malloc(cand->n ? cand->n : 1);
    if (!mask) return tg_fail(err, err_len, TG_ERR_NOMEM, "out of memory");
    run_written_mask(tok, t->plan, cand->ids, cand->n, mask);
    tg_status st = t->direct ? logp_of(m, tok, cand->ids, cand->n, mask, &out->direct, &out->direct_tokens,
                                       by ? by->direct : NULL, by ? by->direct_tokens : NULL, nb)
                             : TG_OK;
    free(mask);
    mask = NULL;
    tok_seq other = {0};
    char why[200] = "";
    if (st == TG_OK) st = run_channel_sequence(tok, t, cand, &other, &mask, why, sizeof why);
    if (st == TG_OK)
        st = logp_of(m, tok, other.ids, other.n, mask, &out->channel, &out->channel_tokens, by ? by->channel : NULL,
                     by ? by->channel_tokens : NULL, nb);
    free(mask);
    tok_seq_free(&other);
    if (st == TG_ERR_ARG && !why[0]) snprintf(why, sizeof why, "the candidate has more bars than the plan (%d)", nb);
    if (st != TG_OK) return tg_fail(err, err_len, st, "scoring a candidate: %s", why[0] ? why : tg_status_str(st));
    return TG_OK;
}

/* sum / n, 0 for no tokens */
static double per(double sum, size_t n)
{
    return n ? sum / (double)n : 0.0;
}

double run_channel_rank(const run_channel_score *s, double weight, bool per_token)
{
    if (per_token) return per(s->channel, s->channel_tokens) + weight * per(s->direct, s->direct_tokens);
    return s->channel + weight * s->direct;
}
