/*
 * stats.c: a corpus's summary for `tunegan data stats`: pieces and tokens per
 * split, piece lengths (nearest-rank percentiles over every piece, transposed
 * copies included), the pitch range over pitched tokens, and the most
 * frequent tokens.
 */
#include <stdlib.h>
#include <string.h>

#include "data.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest value with at least q of the values at or below it. */
static uint64_t percentile(const uint64_t *sorted, uint64_t n, double q)
{
    if (n == 0) return 0;
    uint64_t rank = (uint64_t)(q * (double)n + 0.999999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return sorted[rank - 1];
}

tg_status data_compute_stats(const data_corpus *c, const tok_tokenizer *tok, data_stats *st)
{
    memset(st, 0, sizeof *st);
    st->pitch_min = st->pitch_max = -1;
    if ((uint32_t)tok_vocab_size(tok) != c->vocab_size) return TG_ERR_ARG;
    for (int s = 0; s < DATA_SPLITS; s++) {
        st->pieces[s] = c->split_count[s];
        st->tokens[s] = c->split_tokens[s];
    }
    uint64_t *len = malloc((c->n_pieces ? c->n_pieces : 1) * sizeof *len);
    uint64_t *count = calloc(c->vocab_size ? c->vocab_size : 1, sizeof *count);
    if (!len || !count) {
        free(len);
        free(count);
        return TG_ERR_NOMEM;
    }
    double sum = 0;
    for (uint64_t i = 0; i < c->n_pieces; i++) {
        const data_piece *p = &c->pieces[i];
        len[i] = p->length;
        sum += (double)p->length;
        if (p->transpose != 0) st->transposed_pieces++;
        /* remi: pitches after Program_drums are drum keys, not pitches */
        bool drums = false;
        const uint16_t *t = c->tokens + p->offset;
        for (uint32_t k = 0; k < p->length; k++) {
            count[t[k]]++;
            tok_info in = tok_get_info(tok, t[k]);
            int pitch = -1;
            if (in.type == TOK_T_PROGRAM) drums = in.value == 128;
            if ((in.type == TOK_T_PITCH && !drums) || in.type == TOK_T_KEY ||
                in.type == TOK_T_NOTE_ON)
                pitch = in.value;
            if (pitch >= 0) {
                if (st->pitch_min < 0 || pitch < st->pitch_min) st->pitch_min = pitch;
                if (pitch > st->pitch_max) st->pitch_max = pitch;
            }
        }
    }
    qsort(len, c->n_pieces, sizeof *len, cmp_u64);
    uint64_t n = c->n_pieces;
    if (n) {
        st->length_min = len[0];
        st->length_max = len[n - 1];
        st->length_p10 = percentile(len, n, 0.10);
        st->length_p50 = percentile(len, n, 0.50);
        st->length_p90 = percentile(len, n, 0.90);
        st->length_p99 = percentile(len, n, 0.99);
        st->length_mean = sum / (double)n;
    }
    /* top tokens: repeated selection, ties to the lower id */
    for (int k = 0; k < DATA_TOP_TOKENS; k++) {
        int best = -1;
        for (uint32_t id = 0; id < c->vocab_size; id++) {
            if (count[id] == 0) continue;
            bool taken = false;
            for (int j = 0; j < k; j++) taken |= st->top_id[j] == (int)id;
            if (taken) continue;
            if (best < 0 || count[id] > count[best]) best = (int)id;
        }
        if (best < 0) break;
        st->top_id[k] = best;
        st->top_count[k] = count[best];
        st->n_top = k + 1;
    }
    free(len);
    free(count);
    return TG_OK;
}
