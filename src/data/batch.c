/*
 * batch.c: windows of tokens for training and evaluation. Training windows
 * are random (from the caller's tg_rng) and lie inside one piece; evaluation
 * windows are consecutive and cover every predictable token of a split once.
 * Both are pure functions of the corpus and the rng: no state of their own.
 * Shapes: inputs and targets are (B,T) int32, row-major.
 */
#include <string.h>

#include "data.h"

/* One row from a piece: inputs tokens[start .. start+T-1], targets shifted by
 * one; past the piece's end, PAD inputs and DATA_IGNORE targets. */
static void fill_row(const data_corpus *c, const data_piece *p, uint64_t start, int T,
                     int32_t *in, int32_t *tg)
{
    const uint16_t *t = c->tokens + p->offset;
    uint64_t n = p->length;
    for (int j = 0; j < T; j++) {
        uint64_t k = start + (uint64_t)j;
        if (k + 1 < n) {
            in[j] = t[k];
            tg[j] = t[k + 1];
        } else {
            in[j] = TOK_PAD;
            tg[j] = DATA_IGNORE;
        }
    }
}

/* The nearest position at or before start holding bar_token (0 when none):
 * windows for bar attention open with a Bar, so their bars are whole. */
static uint64_t back_to_bar(const data_corpus *c, const data_piece *p, uint64_t start,
                            int bar_token)
{
    const uint16_t *t = c->tokens + p->offset;
    while (start > 0 && t[start] != bar_token) start--;
    return start;
}

static tg_status train_batch(const data_corpus *c, tg_rng *rng, int B, int T, int bar_token,
                             int32_t *inputs, int32_t *targets)
{
    uint64_t n_train = c->split_count[DATA_TRAIN];
    if (B <= 0 || T <= 0) return TG_ERR_ARG;
    if (n_train == 0) return TG_ERR_ARG;
    uint64_t total = c->train_cumulative[n_train - 1];
    for (int b = 0; b < B; b++) {
        /* a token drawn uniformly picks the piece: pieces weigh their length */
        uint64_t r = tg_rng_u64(rng) % total;
        uint64_t lo = 0, hi = n_train - 1;
        while (lo < hi) {
            uint64_t mid = lo + (hi - lo) / 2;
            if (c->train_cumulative[mid] > r)
                hi = mid;
            else
                lo = mid + 1;
        }
        const data_piece *p = &c->pieces[c->split_pieces[DATA_TRAIN][lo]];
        uint64_t start = 0;
        if (p->length > (uint64_t)T) start = tg_rng_below(rng, (uint32_t)(p->length - (uint64_t)T));
        if (bar_token >= 0) start = back_to_bar(c, p, start, bar_token);
        fill_row(c, p, start, T, inputs + (size_t)b * T, targets + (size_t)b * T);
    }
    return TG_OK;
}

tg_status data_train_batch(const data_corpus *c, tg_rng *rng, int B, int T, int32_t *inputs,
                           int32_t *targets)
{
    return train_batch(c, rng, B, T, -1, inputs, targets);
}

tg_status data_train_batch_bars(const data_corpus *c, tg_rng *rng, int B, int T, int bar_token,
                                int32_t *inputs, int32_t *targets)
{
    return train_batch(c, rng, B, T, bar_token, inputs, targets);
}

int data_trim_padding(int32_t *inputs, int32_t *targets, int B, int T, int fill)
{
    int T_eff = 1;
    for (int b = 0; b < B; b++)
        for (int j = T - 1; j >= T_eff; j--)
            if (targets[(size_t)b * T + j] != DATA_IGNORE) {
                T_eff = j + 1;
                break;
            }
    for (int b = 1; b < B && T_eff < T; b++) {
        memmove(inputs + (size_t)b * T_eff, inputs + (size_t)b * T, (size_t)T_eff * sizeof(int32_t));
        memmove(targets + (size_t)b * T_eff, targets + (size_t)b * T, (size_t)T_eff * sizeof(int32_t));
    }
    if (fill >= 0) /* the padding left in the shorter rows: past each row's last target */
        for (int b = 0; b < B; b++)
            for (int j = T_eff - 1; j >= 1 && targets[(size_t)b * T_eff + j] == DATA_IGNORE &&
                                    inputs[(size_t)b * T_eff + j] == TOK_PAD;
                 j--)
                inputs[(size_t)b * T_eff + j] = fill;
    return T_eff;
}

data_eval_iter data_eval_begin(const data_corpus *c, int split, int T)
{
    data_eval_iter it = {c, split, T, 0, 0};
    return it;
}

void data_eval_next(data_eval_iter *it, int B, int32_t *inputs, int32_t *targets, int *rows)
{
    *rows = 0;
    const data_corpus *c = it->c;
    if (it->split < 0 || it->split >= DATA_SPLITS || it->T <= 0) return;
    while (*rows < B && it->piece < c->split_count[it->split]) {
        const data_piece *p = &c->pieces[c->split_pieces[it->split][it->piece]];
        if (it->start + 1 >= p->length) { /* nothing left to predict in this piece */
            it->piece++;
            it->start = 0;
            continue;
        }
        fill_row(c, p, it->start, it->T, inputs + (size_t)*rows * it->T,
                 targets + (size_t)*rows * it->T);
        (*rows)++;
        it->start += (uint64_t)it->T;
    }
}

uint64_t data_eval_window_count(const data_corpus *c, int split, int T)
{
    if (split < 0 || split >= DATA_SPLITS || T <= 0) return 0;
    uint64_t n = 0;
    for (uint64_t k = 0; k < c->split_count[split]; k++) {
        uint64_t len = c->pieces[c->split_pieces[split][k]].length;
        if (len > 1) n += (len - 1 + (uint64_t)T - 1) / (uint64_t)T;
    }
    return n;
}
