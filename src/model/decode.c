/*
 * decode.c: the generator's forward pass for new tokens against the key/value
 * cache (incremental decoding). The blocks are model_block_forward (block.c),
 * the training forward's, in evaluation mode (no dropout) and with nn_matvec
 * for linear layers of a few rows; what is this file's own is attention: each new query attends over the cached keys and values
 * directly, and with relative attention adds q_i . E[j - i] for the distances
 * it needs only, rows R-1-i .. R-1 of the table (the skewing trick of the
 * full pass is a way to get the same numbers for all queries at once).
 *
 * The softmax is nn_attention_forward's row kernel (unscaled logits, max,
 * nn_expf_fast((x - max) * scale)), so cached and full logits agree to
 * rounding. Threads split the heads for the relative terms (one product per
 * head for all sequences) and the (sequence, head) pairs for the rest.
 *
 * FC-attention (src/nn/fcattn.c): each sequence's new query lists its keys
 * with nn_fc_keys, the training kernel's walk, over the bars the cache keeps
 * for it (cache.c), and attends over those only, with the clipped relative
 * term q . E[nn_fc_rel_row]: the cost of a token grows with the keys it
 * sees (its bar, the related bars, one summary per far bar), not with the
 * length of the tune. Keys are positions; the compact cache (cache.c) keeps
 * them in slots, model_fc_slot says which (of the row's own, or of its
 * shared prefix's row), and the logits are nn_matvec's on runs of
 * consecutive positions as before, cut where the slots are not consecutive
 * (at the shared prefix's end), so that they are the bits of the cache that
 * keeps every position. After each chunk the bars no later query reads in
 * full give up their keys but their summary (model_fc_compact).
 *
 * A bf16 model (precision.c) runs its linear layers and the head on the
 * bf16 weight copies (nn_matvec_bf16 for a few rows), and (relative and
 * absolute attention) keeps its keys and values in bf16 (cache.c): q . k
 * and q . E (the table's bf16 copy) are AVX512-BF16 dot products with fp32
 * sums, att . V widens the values and sums in fp32, the softmax is the fp32
 * one (src/nn/attend_bf16.c; the *_bf16 functions below, which mirror the
 * fp32 ones). A key's logit and a row's weighted sums have the same bits
 * wherever the keys are cut, so a shared prefix, its group path and a
 * copied prefix agree bit for bit in bf16 too. FC-attention keeps its fp32
 * cache and attention in both precisions.
 *
 * Left out: batching sequences of different lengths (all sequences of a state
 * advance together), attention-probability dropout (unused when sampling).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* The relative terms of query i of the chunk (position P = pos0 + i) for
 * every sequence and head: relsc[h][b][j] = q_bh . E_h[j - P], j = 0..P. All
 * sequences are at the same position, so they share the table's rows
 * R-1-P .. R-1: one product of B queries with those rows per head, where
 * nn_matvec reads the rows once for a group of queries. */
static void relative_terms(model_cache *s, int l, int i, int n, int P)
{
    const int B = s->B, H = s->H, D = s->D, C = s->C, T = s->T_ctx;
    const float *rel = s->p->blocks[l].rel;
#ifdef TG_HAVE_OPENMP
    const size_t work = (size_t)B * H * (P + 1) * D;
#pragma omp parallel for schedule(static) if (work >= NN_PAR_MIN)
#endif
    for (int h = 0; h < H; h++) {
        float *qh = s->qh + (size_t)h * B * D;
        for (int b = 0; b < B; b++)
            memcpy(qh + (size_t)b * D, s->qkv + ((size_t)b * n + i) * 3 * C + (size_t)h * D,
                   (size_t)D * sizeof(float));
        /* distance j - P lives in row R-1 + (j - P) */
        const float *E = rel + ((size_t)h * s->R + (s->R - 1 - P)) * D;
        float *out = s->relsc + (size_t)h * B * T;
        nn_matvec(out, qh, E, NULL, B, D, P + 1, 0); /* rows of P+1 floats, packed */
    }
}

/* relative_terms with a bf16 cache: the queries rounded, the table's bf16
 * copy, the same layout of relsc. */
static void relative_terms_bf16(model_cache *s, int l, int i, int n, int P)
{
    const int B = s->B, H = s->H, D = s->D, C = s->C, T = s->T_ctx;
    const nn_bf16 *rel = s->model->rel16 + (size_t)l * H * s->R * D;
#ifdef TG_HAVE_OPENMP
    const size_t work = (size_t)B * H * (P + 1) * D;
#pragma omp parallel for schedule(static) if (work >= NN_PAR_MIN)
#endif
    for (int h = 0; h < H; h++) {
        const float *q = s->qkv + (size_t)i * 3 * C + (size_t)h * D; /* row b at b * n * 3C */
        const nn_bf16 *E = rel + ((size_t)h * s->R + (s->R - 1 - P)) * D;
        nn_attn_logits_bf16(s->relsc + (size_t)h * B * T, (size_t)P + 1, q, (size_t)n * 3 * C, B, E,
                            P + 1, D);
    }
}

/* o (D) = sum over j < n of a[j] V[j] (V: n rows of D), in slices of 32
 * columns whose sums stay in registers across the rows (summing into o
 * itself would wait on a store and a load for every row). */
static void weighted_sum(float *o, const float *a, const float *V, int n, int D)
{
    enum { W = 32 };
    int d0 = 0;
    for (; d0 + W <= D; d0 += W) {
        float acc[W] = {0};
        for (int j = 0; j < n; j++) {
            const float w = a[j], *v = V + (size_t)j * D + d0;
            for (int u = 0; u < W; u++) acc[u] += w * v[u];
        }
        memcpy(o + d0, acc, sizeof acc);
    }
    for (; d0 < D; d0++) {
        float acc = 0.0f;
        for (int j = 0; j < n; j++) acc += a[j] * V[(size_t)j * D + d0];
        o[d0] = acc;
    }
}

/* The same over two segments of rows, V1 (n1 rows) then V2 (n2 rows), with
 * the sums carried from one to the other: the bits of weighted_sum over the
 * rows one after the other (a shared prefix, then a row's own keys). */
static void weighted_sum2(float *o, const float *a, const float *V1, int n1, const float *V2,
                          int n2, int D)
{
    enum { W = 32 };
    int d0 = 0;
    for (; d0 + W <= D; d0 += W) {
        float acc[W] = {0};
        for (int j = 0; j < n1; j++) {
            const float w = a[j], *v = V1 + (size_t)j * D + d0;
            for (int u = 0; u < W; u++) acc[u] += w * v[u];
        }
        for (int j = 0; j < n2; j++) {
            const float w = a[n1 + j], *v = V2 + (size_t)j * D + d0;
            for (int u = 0; u < W; u++) acc[u] += w * v[u];
        }
        memcpy(o + d0, acc, sizeof acc);
    }
    for (; d0 < D; d0++) {
        float acc = 0.0f;
        for (int j = 0; j < n1; j++) acc += a[j] * V1[(size_t)j * D + d0];
        for (int j = 0; j < n2; j++) acc += a[n1 + j] * V2[(size_t)j * D + d0];
        o[d0] = acc;
    }
}

/* Logits and weighted values of one query q against keys 0..P of sequence b,
 * head h, layer l: from the row's own cache, or, with a shared prefix, keys
 * below shared_len from the prefix's row and the rest from its own. nn_matvec
 * gives each row's dot product the same bits wherever the rows are cut. */
static void attend_one(model_cache *s, int l, int b, int h, const float *q, float *sc, int P,
                       const float *rel, float scale, float *o)
{
    const int H = s->H, D = s->D, T = s->T_ctx;
    const size_t base = (((size_t)l * s->max_batch + b) * H + h) * T * D;
    const float *K = s->k + base, *Vv = s->v + base;
    const int n1 = s->shared ? s->shared_len : 0;
    const float *K1 = K, *V1 = Vv;
    if (n1) {
        const model_cache *p = s->shared;
        const size_t pb = (((size_t)l * p->max_batch + s->shared_row[b]) * H + h) * T * D;
        K1 = p->k + pb, V1 = p->v + pb;
        nn_matvec(sc, q, K1, NULL, 1, D, n1, 0);
    }
    nn_matvec(sc + n1, q, K + (size_t)n1 * D, NULL, 1, D, P + 1 - n1, 0);
    if (rel)
        for (int j = 0; j <= P; j++) sc[j] += rel[j];
    nn_softmax_row(sc, P + 1, P + 1, scale);
    if (n1)
        weighted_sum2(o, sc, V1, n1, Vv + (size_t)n1 * D, P + 1 - n1, D);
    else
        weighted_sum(o, sc, Vv, P + 1, D);
}

/* A (layer, row, head) block of a bf16 cache's keys or values. */
static const nn_bf16 *block16(const model_cache *s, const nn_bf16 *kv, int l, int b, int h)
{
    return kv + (((size_t)l * s->max_batch + b) * s->H + h) * s->T_ctx * s->D;
}

/* attend_one over a bf16 cache: the prefix's keys and values (when shared)
 * then the row's own, through the same kernels as the group path. */
static void attend_one_bf16(model_cache *s, int l, int b, int h, const float *q, float *sc, int P,
                            const float *rel, float scale, float *o)
{
    const int D = s->D;
    const nn_bf16 *K = block16(s, s->k16, l, b, h), *Vv = block16(s, s->v16, l, b, h);
    const int n1 = s->shared ? s->shared_len : 0;
    const nn_bf16 *V1 = Vv;
    if (n1) {
        const model_cache *p = s->shared;
        V1 = block16(p, p->v16, l, s->shared_row[b], h);
        nn_attn_logits_bf16(sc, 0, q, 0, 1, block16(p, p->k16, l, s->shared_row[b], h), n1, D);
    }
    nn_attn_logits_bf16(sc + n1, 0, q, 0, 1, K + (size_t)n1 * D, P + 1 - n1, D);
    if (rel)
        for (int j = 0; j <= P; j++) sc[j] += rel[j];
    nn_softmax_row(sc, P + 1, P + 1, scale);
    const nn_bf16 *V2 = Vv + (size_t)n1 * D;
    const float *a = sc;
    nn_attn_values_bf16(&o, &a, V1, n1, &V2, P + 1 - n1, D, 1);
}

/* ------------------------------------------------------------------------ */
/* A shared prefix read once for a group of rows (model_cache_share): the N
 * completions of one prefix are consecutive rows with the same shared_row.
 * Their logits over the prefix's keys are one nn_matvec of the group's
 * queries (each query's dot products have the bits of its own product), and
 * their weighted sums take the prefix's values once for several rows, each
 * row's sums then going on over its own values in the order of
 * weighted_sum2. A row's numbers are those of attend_one, bit for bit
 * (tests/test_cache_share.c). */

enum {
    GROUP_MAX = 16,   /* rows of a group handled together */
    GROUP_DMAX = 128, /* head sizes up to this: the queries on the stack */
    GROUP_KEYS = 128  /* prefix keys per product (its output on the stack) */
};

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define DECODE_X86 1
#define GROUP_AVX512 __attribute__((target("avx512f")))

/* Weighted sums of nr (1..4) rows over the columns d0..d0+63 of D: the
 * prefix's values V1 (n1 rows) for all of them, then each row's own V2[r]
 * (n2 rows); a[r] holds the row's n1 + n2 weights. acc = acc + w * v, a
 * product then a sum as the plain loops compile (no contraction under C11):
 * the same bits per column. */
GROUP_AVX512 __attribute__((always_inline)) static inline void
group_values_block(float *const *o, const float *const *a, const float *V1, int n1,
                   const float *const *V2, int n2, int D, int d0, int nr)
{
    __mmask16 m[4];
    __m512 acc[4][4];
    for (int c = 0; c < 4; c++) {
        const int left = D - d0 - 16 * c;
        m[c] = left >= 16 ? (__mmask16)0xFFFF : left > 0 ? (__mmask16)((1u << left) - 1u) : 0;
        for (int r = 0; r < nr; r++) acc[r][c] = _mm512_setzero_ps();
    }
    for (int j = 0; j < n1; j++) {
        const float *v = V1 + (size_t)j * D + d0;
        __m512 vv[4];
        for (int c = 0; c < 4; c++) vv[c] = _mm512_maskz_loadu_ps(m[c], v + 16 * c);
        for (int r = 0; r < nr; r++) {
            const __m512 w = _mm512_set1_ps(a[r][j]);
            for (int c = 0; c < 4; c++) acc[r][c] = _mm512_add_ps(acc[r][c], _mm512_mul_ps(w, vv[c]));
        }
    }
    for (int r = 0; r < nr; r++) {
        for (int j = 0; j < n2; j++) {
            const float *v = V2[r] + (size_t)j * D + d0;
            const __m512 w = _mm512_set1_ps(a[r][n1 + j]);
            for (int c = 0; c < 4; c++)
                acc[r][c] = _mm512_add_ps(acc[r][c], _mm512_mul_ps(w, _mm512_maskz_loadu_ps(m[c], v + 16 * c)));
        }
        for (int c = 0; c < 4; c++) _mm512_mask_storeu_ps(o[r] + d0 + 16 * c, m[c], acc[r][c]);
    }
}

/* The same for g rows: blocks of 4 rows (16 accumulators), the sizes as
 * constants so that the loops above unroll into registers. */
GROUP_AVX512 static void group_values_avx512(float *const *o, const float *const *a, const float *V1,
                                             int n1, const float *const *V2, int n2, int D, int g)
{
    for (int d0 = 0; d0 < D; d0 += 64) {
        int r = 0;
        for (; r + 4 <= g; r += 4) group_values_block(o + r, a + r, V1, n1, V2 + r, n2, D, d0, 4);
        for (; r < g; r++) group_values_block(o + r, a + r, V1, n1, V2 + r, n2, D, d0, 1);
    }
}
#endif

/* o[r] = the weighted sums of row r of a group of g rows sharing V1. */
static void group_values(float *const *o, const float *const *a, const float *V1, int n1,
                         const float *const *V2, int n2, int D, int g)
{
#ifdef DECODE_X86
    if (__builtin_cpu_supports("avx512f")) {
        group_values_avx512(o, a, V1, n1, V2, n2, D, g);
        return;
    }
#endif
    for (int r = 0; r < g; r++) weighted_sum2(o[r], a[r], V1, n1, V2[r], n2, D);
}

/* Query i of the chunk (position P) of rows b0..b0+g-1, head h, layer l,
 * which share one prefix row: logits, softmax and weighted sums into atty. */
static void attend_group(model_cache *s, int l, int b0, int g, int h, int i, int n, int P, float scale)
{
    const int H = s->H, D = s->D, C = s->C, T = s->T_ctx, n1 = s->shared_len, n2 = P + 1 - n1;
    const model_cache *p = s->shared;
    const size_t pb = (((size_t)l * p->max_batch + s->shared_row[b0]) * H + h) * T * D;
    const float *K1 = p->k + pb, *V1 = p->v + pb;
    float qg[GROUP_MAX * GROUP_DMAX], part[GROUP_MAX * GROUP_KEYS];
    float *sc[GROUP_MAX], *o[GROUP_MAX];
    const float *V2[GROUP_MAX];
    for (int r = 0; r < g; r++) {
        const int b = b0 + r;
        const size_t base = (((size_t)l * s->max_batch + b) * H + h) * T * D;
        memcpy(qg + (size_t)r * D, s->qkv + ((size_t)b * n + i) * 3 * C + (size_t)h * D,
               (size_t)D * sizeof(float));
        sc[r] = s->scores + ((size_t)b * H + h) * T;
        o[r] = s->atty + ((size_t)b * n + i) * C + (size_t)h * D;
        V2[r] = s->v + base + (size_t)n1 * D;
        /* the row's own keys */
        nn_matvec(sc[r] + n1, qg + (size_t)r * D, s->k + base + (size_t)n1 * D, NULL, 1, D, n2, 0);
    }
    for (int k0 = 0; k0 < n1; k0 += GROUP_KEYS) {
        const int kn = n1 - k0 < GROUP_KEYS ? n1 - k0 : GROUP_KEYS;
        nn_matvec(part, qg, K1 + (size_t)k0 * D, NULL, g, D, kn, 0);
        for (int r = 0; r < g; r++) memcpy(sc[r] + k0, part + (size_t)r * kn, (size_t)kn * sizeof(float));
    }
    for (int r = 0; r < g; r++) {
        if (s->R) {
            const float *rel = s->relsc + (size_t)h * s->B * T + (size_t)(b0 + r) * (P + 1);
            for (int j = 0; j <= P; j++) sc[r][j] += rel[j];
        }
        nn_softmax_row(sc[r], P + 1, P + 1, scale);
    }
    group_values(o, (const float *const *)sc, V1, n1, V2, n2, D, g);
}

/* attend_group over a bf16 cache: the group's queries against the prefix's
 * keys in one call (written straight into each row's scores), the values
 * through nn_attn_values_bf16, which reads the prefix's once per 4 rows. */
static void attend_group_bf16(model_cache *s, int l, int b0, int g, int h, int i, int n, int P,
                              float scale)
{
    const int H = s->H, D = s->D, C = s->C, T = s->T_ctx, n1 = s->shared_len, n2 = P + 1 - n1;
    const model_cache *p = s->shared;
    const nn_bf16 *K1 = block16(p, p->k16, l, s->shared_row[b0], h);
    const nn_bf16 *V1 = block16(p, p->v16, l, s->shared_row[b0], h);
    float *sc[GROUP_MAX], *o[GROUP_MAX];
    const nn_bf16 *V2[GROUP_MAX];
    const float *q0 = s->qkv + ((size_t)b0 * n + i) * 3 * C + (size_t)h * D;
    const size_t ldq = (size_t)n * 3 * C, ldo = (size_t)H * T;
    for (int r = 0; r < g; r++) {
        const int b = b0 + r;
        sc[r] = s->scores + ((size_t)b * H + h) * T;
        o[r] = s->atty + ((size_t)b * n + i) * C + (size_t)h * D;
        V2[r] = block16(s, s->v16, l, b, h) + (size_t)n1 * D;
        nn_attn_logits_bf16(sc[r] + n1, 0, q0 + r * ldq, 0, 1,
                            block16(s, s->k16, l, b, h) + (size_t)n1 * D, n2, D);
    }
    nn_attn_logits_bf16(s->scores + ((size_t)b0 * H + h) * T, ldo, q0, ldq, g, K1, n1, D);
    for (int r = 0; r < g; r++) {
        if (s->R) {
            const float *rel = s->relsc + (size_t)h * s->B * T + (size_t)(b0 + r) * (P + 1);
            for (int j = 0; j <= P; j++) sc[r][j] += rel[j];
        }
        nn_softmax_row(sc[r], P + 1, P + 1, scale);
    }
    nn_attn_values_bf16(o, (const float *const *)sc, V1, n1, V2, n2, D, g);
}

/* Query i of the chunk (position P) for every row of a state with a shared
 * prefix: blocks of GROUP_MAX rows (one per thread and head), each cut where
 * its rows' prefix row changes. */
static void attend_shared(model_cache *s, int l, int i, int n, int P, float scale)
{
    const int B = s->B, H = s->H, blocks = (B + GROUP_MAX - 1) / GROUP_MAX;
#ifdef TG_HAVE_OPENMP
    const size_t work = (size_t)B * H * (P + 1) * s->D;
#pragma omp parallel for collapse(2) schedule(static) if (work >= NN_PAR_MIN)
#endif
    for (int c = 0; c < blocks; c++) {
        for (int h = 0; h < H; h++) {
            const int end = (c + 1) * GROUP_MAX < B ? (c + 1) * GROUP_MAX : B;
            for (int b0 = c * GROUP_MAX; b0 < end;) {
                int b1 = b0 + 1;
                while (b1 < end && s->shared_row[b1] == s->shared_row[b0]) b1++;
                if (s->k16)
                    attend_group_bf16(s, l, b0, b1 - b0, h, i, n, P, scale);
                else
                    attend_group(s, l, b0, b1 - b0, h, i, n, P, scale);
                b0 = b1;
            }
        }
    }
}

/* Attention of the chunk's n queries (positions pos0..pos0+n-1) of layer l,
 * whose keys and values are already in the cache: atty (B,n,C). Query by
 * query: the relative terms for all sequences, then per (sequence, head) the
 * logits q . k_j (+ the relative term), the softmax (rowops.c's, as in
 * nn_attention_forward) and the weighted sum of the values. */
static void attend(model_cache *s, int l, int pos0, int n)
{
    const int B = s->B, H = s->H, D = s->D, C = s->C, T = s->T_ctx;
    const float scale = 1.0f / sqrtf((float)D);
    for (int i = 0; i < n; i++) {
        const int P = pos0 + i; /* the query's position: keys 0..P */
        if (s->R && s->k16)
            relative_terms_bf16(s, l, i, n, P);
        else if (s->R)
            relative_terms(s, l, i, n, P);
        if (s->shared && s->shared_len > 0 && (D <= GROUP_DMAX || s->k16)) {
            attend_shared(s, l, i, n, P, scale);
            continue;
        }
#ifdef TG_HAVE_OPENMP
        /* one token of a few sequences: too little work to wake the threads */
        const size_t work = (size_t)B * H * (P + 1) * D;
#pragma omp parallel for collapse(2) schedule(static) if (work >= NN_PAR_MIN)
#endif
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                float *sc = s->scores + ((size_t)b * H + h) * T;
                const float *q = s->qkv + ((size_t)b * n + i) * 3 * C + (size_t)h * D;
                const float *r = s->R ? s->relsc + (size_t)h * B * T + (size_t)b * (P + 1) : NULL;
                float *o = s->atty + ((size_t)b * n + i) * C + (size_t)h * D;
                if (s->k16)
                    attend_one_bf16(s, l, b, h, q, sc, P, r, scale, o);
                else
                    attend_one(s, l, b, h, q, sc, P, r, scale, o);
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* FC-attention */

/* The bars of the cache's sequences as nn_fc_keys reads them. */
static nn_fc_plan fc_plan(const model_cache *s)
{
    const model_config *cfg = model_get_config(s->model);
    nn_fc_plan p = {s->fc_bar, s->fc_start, s->fc_nbars, cfg->fc_distances, model_fc_near(cfg)};
    return p;
}

/* The chunk's tokens (B,n) at positions pos0.. into the bars of each sequence. */
static void fc_add_bars(model_cache *s, int pos0, int n)
{
    const int T = s->T_ctx, bar_token = model_get_config(s->model)->fc_bar_token;
    for (int b = 0; b < s->B; b++) {
        int *bar = s->fc_bar + (size_t)b * T, *st = s->fc_start + (size_t)b * (T + 2);
        int *nb = &s->fc_nbars[b];
        if (pos0 == 0) {
            *nb = 1;
            st[0] = 0;
        }
        for (int i = 0; i < n; i++) {
            const int t = pos0 + i;
            if (s->tokens[(size_t)b * n + i] == bar_token) st[(*nb)++] = t;
            bar[t] = *nb - 1;
            st[*nb] = t + 1; /* the end of the open bar, as nn_fc_bars leaves it */
        }
    }
}

/* Where each key of row b's query is (fc_slot): a slot of the row's own, or
 * -1 - a slot of its shared prefix's row (positions below shared_len). The
 * prefix state may have dropped a bar the row still reads in full if it went
 * on past the next bar: that is the caller's error (model_cache_share). */
static void fc_slots(model_cache *s, int b, const int *keys, int nk, int *slot)
{
    const int lo = s->shared_len;
    for (int c = 0; c < nk; c++) {
        if (keys[c] >= lo) {
            slot[c] = model_fc_slot(s, b, keys[c], lo);
            TG_ASSERT(slot[c] >= 0);
        } else {
            const int r = model_fc_slot(s->shared, s->shared_row[b], keys[c], 0);
            if (r < 0) {
                fprintf(stderr, "tunegan: the shared prefix went on past a bar its rollouts "
                                "still read (position %d)\n", keys[c]);
                abort();
            }
            slot[c] = -1 - r;
        }
    }
}

/* Row c of K (own slots) or of K1 (the shared prefix's). */
static const float *fc_row(const float *K, const float *K1, int slot, int D)
{
    return slot >= 0 ? K + (size_t)slot * D : K1 + (size_t)(-1 - slot) * D;
}

/* Logits of one query of (b,h) over its keys: q . k_j by nn_matvec on each
 * run of consecutive positions (the own bar and the related bars are runs,
 * the summaries runs of one), cut where its rows are not consecutive slots
 * (at the shared prefix's end; nn_matvec gives a row the same bits wherever
 * the rows are cut), plus the relative term read from qe (R) = E q. */
static void fc_logits(float *sc, const int *keys, const int *slot, int nk, const float *q,
                      const float *K, const float *K1, const float *qe, const nn_fc_plan *p,
                      int b, int T, int P, int D)
{
    enum { RUN_MIN = 16 }; /* shorter runs: a plain dot each (a call costs more) */
    for (int c0 = 0; c0 < nk;) {
        int c1 = c0 + 1;
        while (c1 < nk && keys[c1] == keys[c1 - 1] + 1) c1++;
        if (c1 - c0 >= RUN_MIN) {
            for (int a = c0; a < c1;) {
                int z = a + 1;
                while (z < c1 && slot[z] == slot[z - 1] + (slot[z] >= 0 ? 1 : -1) &&
                       (slot[z] >= 0) == (slot[a] >= 0))
                    z++;
                nn_matvec(sc + a, q, fc_row(K, K1, slot[a], D), NULL, 1, D, z - a, 0);
                a = z;
            }
        } else {
            for (int c = c0; c < c1; c++) {
                const float *k = fc_row(K, K1, slot[c], D);
                float acc[8] = {0};
                int d = 0;
                for (; d + 8 <= D; d += 8)
                    for (int u = 0; u < 8; u++) acc[u] += q[d + u] * k[d + u];
                float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                            ((acc[4] + acc[5]) + (acc[6] + acc[7]));
                for (; d < D; d++) sum += q[d] * k[d];
                sc[c] = sum;
            }
        }
        c0 = c1;
    }
    for (int c = 0; c < nk; c++) sc[c] += qe[nn_fc_rel_row(p, b, T, P, keys[c])];
}

/* The (layer, row, head) blocks of keys and values a row reads: its own, and
 * its shared prefix's row (NULL when not sharing). */
static void fc_blocks(const model_cache *s, int l, int b, int h, const float **K, const float **V,
                      const float **K1, const float **V1)
{
    const size_t own = (((size_t)l * s->max_batch + b) * s->H + h) * s->fc_cap * s->D;
    *K = s->k + own, *V = s->v + own;
    *K1 = *V1 = NULL;
    if (!s->shared) return;
    const model_cache *p = s->shared;
    const size_t row = (size_t)l * p->max_batch + s->shared_row[b];
    const size_t pre = (row * p->H + h) * p->fc_cap * p->D;
    *K1 = p->k + pre, *V1 = p->v + pre;
}

/* Attention of the chunk's n queries of layer l over their FC keys. */
static void attend_fc(model_cache *s, int l, int pos0, int n)
{
    const int B = s->B, H = s->H, D = s->D, C = s->C, T = s->T_ctx;
    const float scale = 1.0f / sqrtf((float)D);
    const nn_fc_plan p = fc_plan(s);
    const int R = nn_fc_rows(p.near);
    const float *rel = s->p->blocks[l].rel;
    for (int i = 0; i < n; i++) {
        const int P = pos0 + i;
        int nk_max = 0;
        for (int b = 0; b < B; b++) {
            int *keys = s->fc_keys + (size_t)b * T;
            int nk = nn_fc_keys(&p, b, T, P, keys);
            fc_slots(s, b, keys, nk, s->fc_slot + (size_t)b * T);
            s->fc_count[b] = nk;
            if (nk > nk_max) nk_max = nk;
        }
#ifdef TG_HAVE_OPENMP
        const size_t work = (size_t)B * H * (nk_max + R) * D;
#pragma omp parallel for collapse(2) schedule(static) if (work >= NN_PAR_MIN)
#endif
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                const float *K, *Vv, *K1, *V1;
                fc_blocks(s, l, b, h, &K, &Vv, &K1, &V1);
                const int *keys = s->fc_keys + (size_t)b * T, nk = s->fc_count[b];
                const int *slot = s->fc_slot + (size_t)b * T;
                float *sc = s->scores + ((size_t)b * H + h) * T;
                float *qe = s->fc_qe + ((size_t)b * H + h) * R;
                const float *q = s->qkv + ((size_t)b * n + i) * 3 * C + (size_t)h * D;
                nn_matvec(qe, q, rel + (size_t)h * R * D, NULL, 1, D, R, 0);
                fc_logits(sc, keys, slot, nk, q, K, K1, qe, &p, b, T, P, D);
                nn_softmax_row(sc, nk, nk, scale);
                float *o = s->atty + ((size_t)b * n + i) * C + (size_t)h * D;
                memset(o, 0, (size_t)D * sizeof(float));
                for (int c = 0; c < nk; c++) {
                    const float w = sc[c], *v = fc_row(Vv, V1, slot[c], D);
                    for (int d = 0; d < D; d++) o[d] += w * v[d];
                }
            }
        }
    }
}

/* The chunk's keys and values of layer l into each row's slots: the chunk is
 * in the bars the row keeps in full, so its positions are consecutive slots. */
static void store_kv_fc(model_cache *s, int l, int pos0, int n)
{
    const int H = s->H, D = s->D, C = s->C;
    for (int b = 0; b < s->B; b++) {
        const int slot0 = model_fc_slot(s, b, pos0, s->shared_len);
        for (int i = 0; i < n; i++) {
            const float *row = s->qkv + ((size_t)b * n + i) * 3 * C;
            for (int h = 0; h < H; h++) {
                size_t at = ((((size_t)l * s->max_batch + b) * H + h) * s->fc_cap + slot0 + i) * D;
                memcpy(s->k + at, row + C + (size_t)h * D, (size_t)D * sizeof(float));
                memcpy(s->v + at, row + 2 * C + (size_t)h * D, (size_t)D * sizeof(float));
            }
        }
    }
}

/* ------------------------------------------------------------------------ */

/* One head's key or value rounded into a bf16 cache (a plain loop: the
 * library's nn_bf16_from_f32_n enters an OpenMP region, which costs more
 * than D numbers). */
static void round_row(nn_bf16 *out, const float *in, int D)
{
    for (int d = 0; d < D; d++) out[d] = nn_bf16_from_f32(in[d]);
}

/* Copies the chunk's keys and values of layer l from qkv into the cache
 * (rounded to bf16 for a bf16 cache). */
static void store_kv(model_cache *s, int l, int pos0, int n)
{
    const int H = s->H, D = s->D, C = s->C, T = s->T_ctx;
    for (int b = 0; b < s->B; b++)
        for (int i = 0; i < n; i++) {
            const float *row = s->qkv + ((size_t)b * n + i) * 3 * C;
            for (int h = 0; h < H; h++) {
                size_t at = ((((size_t)l * s->max_batch + b) * H + h) * T + pos0 + i) * D;
                if (s->k16) {
                    round_row(s->k16 + at, row + C + (size_t)h * D, D);
                    round_row(s->v16 + at, row + 2 * C + (size_t)h * D, D);
                    continue;
                }
                memcpy(s->k + at, row + C + (size_t)h * D, (size_t)D * sizeof(float));
                memcpy(s->v + at, row + 2 * C + (size_t)h * D, (size_t)D * sizeof(float));
            }
        }
}

/* Linear layers of at most this many rows (one new token of a few
 * sequences) go through nn_matvec, which reads each weight matrix once; a
 * prefill of many rows through sgemm. */
enum { DECODE_MATVEC_MAX_ROWS = 32 };

/* The attention step of a cached block (model_block_run.attend): the chunk's
 * keys and values into the cache, then its queries against the cache. */
typedef struct {
    model_cache *s;
    int pos0, n;
} cached_attention;

static void attend_cached(void *ctx, int l, const model_block_params *bp)
{
    (void)bp;
    cached_attention *ca = ctx;
    if (ca->s->fc) {
        store_kv_fc(ca->s, l, ca->pos0, ca->n);
        attend_fc(ca->s, l, ca->pos0, ca->n);
        return;
    }
    store_kv(ca->s, l, ca->pos0, ca->n);
    attend(ca->s, l, ca->pos0, ca->n);
}

/* One chunk: tokens (B,n) at positions len..len+n-1; logits (B,V) or NULL. */
static void forward_chunk(model_cache *s, const int *tokens, int ld, int n, float *logits)
{
    const int B = s->B, C = s->C, pos0 = s->len;
    const model_params *p = s->p;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < n; i++) {
            int t = tokens[(size_t)b * ld + i];
            TG_ASSERT_OP(t, >=, 0);
            TG_ASSERT_OP(t, <, s->V);
            s->tokens[(size_t)b * n + i] = t;
        }
    /* x = wte[tok] (+ wpe[pos0 + i]): the embedding kernel adds wpe[t] for
     * t = 0..n-1, so the absolute rows are offset by pos0 */
    nn_embedding_forward(s->x, s->tokens, p->wte, p->wpe ? p->wpe + (size_t)pos0 * C : NULL, B, n,
                         C, s->V);
    if (s->fc) {
        model_fc_reserve(s, n);
        fc_add_bars(s, pos0, n);
    }
    cached_attention ca = {s, pos0, n};
    model_bf16_sync(s->model);
    const tg_model *m = s->model;
    /* the cache's precision is the model's at creation (cache.c) */
    TG_ASSERT((s->k16 != NULL) == (m->bf16 && !s->fc));
    const model_block_run run = {C,    s->F,          DECODE_MATVEC_MAX_ROWS, 0.0f, NULL,
                                 attend_cached, &ca, m->bf16 ? m->blocks16 : NULL, s->cast};
    /* the stream is updated in place: res2 = out = x */
    const model_block_io io = {s->x, s->ln, s->mean, s->rstd, s->qkv, s->atty, s->x, s->ln, s->mean,
                               s->rstd, s->fch, s->fch, s->x, s->tmp, NULL, NULL};
    for (int l = 0; l < s->L; l++) model_block_forward(&run, l, &p->blocks[l], &io, B * n);
    s->len += n;
    if (s->fc) model_fc_compact(s);
    if (!logits) return;
    /* final LayerNorm and the tied head for each sequence's last token only */
    for (int b = 0; b < B; b++)
        memcpy(s->ln + (size_t)b * C, s->x + ((size_t)b * n + n - 1) * C, (size_t)C * sizeof(float));
    nn_layernorm_forward(s->last, s->mean, s->rstd, s->ln, p->lnf_w, p->lnf_b, B, 1, C);
    if (m->bf16 && B <= DECODE_MATVEC_MAX_ROWS)
        nn_matvec_bf16(logits, s->last, m->wte16, NULL, B, C, s->V, 0);
    else if (m->bf16)
        nn_linear_forward_bf16(logits, s->cast, s->last, m->wte16, NULL, B, 1, C, s->V);
    else if (B <= DECODE_MATVEC_MAX_ROWS)
        nn_matvec(logits, s->last, p->wte, NULL, B, C, s->V, 0);
    else
        nn_linear_forward(logits, s->last, p->wte, NULL, B, 1, C, s->V);
}

void model_decode(model_cache *s, const int *tokens, int T, float *logits)
{
    TG_ASSERT_OP(T, >=, 1);
    TG_ASSERT_OP(s->len + T, <=, s->T_ctx);
    for (int t0 = 0; t0 < T; t0 += s->max_chunk) {
        int n = T - t0 < s->max_chunk ? T - t0 : s->max_chunk;
        forward_chunk(s, tokens + t0, T, n, t0 + n == T ? logits : NULL);
    }
}
