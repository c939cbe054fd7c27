/*
 * fcattn.c: fine- and coarse-grained bar attention (Museformer's
 * FC-attention, Yu et al., NeurIPS 2022, https://arxiv.org/abs/2210.10349),
 * forward and backward over whole sequences, and the bar rule shared with
 * cached decoding (src/model/decode.c). The rule, the relative rows and the
 * shapes are in nn.h.
 *
 * Each query walks its keys (nn_fc_keys: the summaries of the far bars, the
 * related bars in full, its own bar up to itself), so a step costs
 * O(T * keys per query * D) and not O(T^2 * D); with ~24 tokens a bar and
 * the default distances a query has a few hundred keys whatever T is.
 * Gathered keys are dot products, not matrix products: the ranges are short
 * and scattered.
 *
 * Probabilities are not stored. The forward pass keeps each row's
 * log-sum-exp; the backward pass recomputes p_ij = exp(s_ij - lse_i) and
 * uses sum_j p_ij (dout_i . v_j) = dout_i . out_i (FlashAttention's
 * identity), so one walk over the keys gives every gradient.
 *
 * Threads split the heads: a head's columns of dq, dk, dv and its table
 * rows are written by one thread only, in a fixed order, so results do not
 * depend on the thread count. Left out: a summary token of its own (the
 * opening Bar token serves, see nn.h), attention-probability dropout, a
 * bidirectional form (the discriminator keeps its own kinds).
 */
#include <math.h>
#include <string.h>

#include "nn.h"

/* ------------------------------------------------------------------------ */
/* The bar rule */

void nn_fc_bars(int *bar, int *start, int *n_bars, const int *tokens, int T, int bar_token)
{
    int k = 0;
    start[0] = 0;
    for (int t = 0; t < T; t++) {
        if (tokens[t] == bar_token) start[++k] = t;
        bar[t] = k;
    }
    *n_bars = k + 1;
    start[k + 1] = T;
}

int nn_fc_rows(int near) { return near + NN_FC_BAR_ROWS; }

static const int *starts_of(const nn_fc_plan *p, int b, int T)
{
    return p->start + (size_t)b * (T + 2);
}

static bool related(const nn_fc_plan *p, int d)
{
    return d >= 1 && d <= NN_FC_MAX_DISTANCE && ((p->distances >> d) & 1u);
}

/* The Bar token opening bar J >= 1 is the summary of bar J-1. */
static bool is_summary(const int *st, int J, int i) { return J >= 1 && st[J] == i; }

int nn_fc_keys(const nn_fc_plan *p, int b, int T, int i, int *keys)
{
    const int *st = starts_of(p, b, T);
    const int J = p->bar[(size_t)b * T + i];
    int n = 0;
    if (is_summary(st, J, i)) {
        for (int j = st[J - 1]; j <= i; j++) keys[n++] = j;
        return n;
    }
    for (int k = 0; k < J; k++) {
        if (related(p, J - k)) {
            for (int j = st[k]; j < st[k + 1]; j++) keys[n++] = j;
        } else if (st[k] < st[k + 1]) {
            keys[n++] = st[k];
        }
    }
    for (int j = st[J]; j <= i; j++) keys[n++] = j;
    return n;
}

bool nn_fc_visible(const nn_fc_plan *p, int b, int T, int i, int j)
{
    if (j > i) return false;
    const int *st = starts_of(p, b, T);
    const int *bar = p->bar + (size_t)b * T;
    const int J = bar[i], K = bar[j];
    if (is_summary(st, J, i)) return j == i || K == J - 1;
    return K == J || related(p, J - K) || st[K] == j;
}

int nn_fc_rel_row(const nn_fc_plan *p, int b, int T, int i, int j)
{
    if (i - j < p->near) return i - j;
    const int *bar = p->bar + (size_t)b * T;
    int d = bar[i] - bar[j];
    return p->near + (d < NN_FC_BAR_ROWS - 1 ? d : NN_FC_BAR_ROWS - 1);
}

/* ------------------------------------------------------------------------ */
/* Forward and backward */

/* a . b over D floats, in 8 partial sums (vectorised, fixed order). */
static inline float dot(const float *a, const float *b, int D)
{
    float acc[8] = {0};
    int d = 0;
    for (; d + 8 <= D; d += 8)
        for (int u = 0; u < 8; u++) acc[u] += a[d + u] * b[d + u];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; d < D; d++) s += a[d] * b[d];
    return s;
}

/* y (D) += a * x (D) */
static inline void axpy(float *y, float a, const float *x, int D)
{
    for (int d = 0; d < D; d++) y[d] += a * x[d];
}

/* The unscaled logits of query i of (b,h) over its n keys, into s. */
static void logits(float *s, const int *keys, int n, const float *q, const float *k0,
                   const float *e, const nn_fc_plan *p, int b, int T, int i, int s3, int D)
{
    for (int c = 0; c < n; c++) {
        const int j = keys[c];
        const float *er = e + (size_t)nn_fc_rel_row(p, b, T, i, j) * D;
        s[c] = dot(q, k0 + (size_t)j * s3, D) + dot(q, er, D);
    }
}

void nn_fc_attention_forward(float *out, float *lse, int *keys, float *scratch, const float *qkv,
                             const float *rel, const nn_fc_plan *p, int B, int T, int C, int H)
{
    TG_ASSERT_OP(C % H, ==, 0);
    const int D = C / H, s3 = 3 * C, R = nn_fc_rows(p->near);
    const float scale = 1.0f / sqrtf((float)D);
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int h = 0; h < H; h++) {
        int *kl = keys + (size_t)h * T;
        float *s = scratch + (size_t)h * T;
        const float *e = rel + (size_t)h * R * D;
        for (int b = 0; b < B; b++) {
            const float *base = qkv + (size_t)b * T * s3 + (size_t)h * D;
            for (int i = 0; i < T; i++) {
                const int n = nn_fc_keys(p, b, T, i, kl);
                const float *q = base + (size_t)i * s3;
                logits(s, kl, n, q, base + C, e, p, b, T, i, s3, D);
                float mx = -INFINITY;
                for (int c = 0; c < n; c++) mx = s[c] > mx ? s[c] : mx;
                float sum = 0.0f;
                for (int c = 0; c < n; c++) {
                    s[c] = expf((s[c] - mx) * scale);
                    sum += s[c];
                }
                float *o = out + ((size_t)b * T + i) * C + (size_t)h * D;
                memset(o, 0, (size_t)D * sizeof(float));
                const float inv = 1.0f / sum;
                for (int c = 0; c < n; c++)
                    axpy(o, s[c] * inv, base + 2 * C + (size_t)kl[c] * s3, D);
                lse[((size_t)b * H + h) * T + i] = mx * scale + logf(sum);
            }
        }
    }
}

void nn_fc_attention_backward(float *dqkv, float *drel, int *keys, float *scratch,
                              const float *dout, const float *qkv, const float *rel,
                              const float *out, const float *lse, const nn_fc_plan *p, int B,
                              int T, int C, int H)
{
    TG_ASSERT_OP(C % H, ==, 0);
    const int D = C / H, s3 = 3 * C, R = nn_fc_rows(p->near);
    const float scale = 1.0f / sqrtf((float)D);
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int h = 0; h < H; h++) {
        int *kl = keys + (size_t)h * T;
        float *s = scratch + (size_t)h * T;
        const float *e = rel + (size_t)h * R * D;
        float *de = drel + (size_t)h * R * D;
        for (int b = 0; b < B; b++) {
            const float *base = qkv + (size_t)b * T * s3 + (size_t)h * D;
            float *dbase = dqkv + (size_t)b * T * s3 + (size_t)h * D;
            for (int i = 0; i < T; i++) {
                const int n = nn_fc_keys(p, b, T, i, kl);
                const float *q = base + (size_t)i * s3;
                const size_t row = ((size_t)b * T + i) * C + (size_t)h * D;
                const float *d_o = dout + row;
                const float delta = dot(d_o, out + row, D);
                const float l = lse[((size_t)b * H + h) * T + i];
                float *dq = dbase + (size_t)i * s3;
                logits(s, kl, n, q, base + C, e, p, b, T, i, s3, D);
                for (int c = 0; c < n; c++) {
                    const int j = kl[c];
                    const int r = nn_fc_rel_row(p, b, T, i, j);
                    const float a = expf(s[c] * scale - l);
                    const float *v = base + 2 * C + (size_t)j * s3;
                    axpy(dbase + 2 * C + (size_t)j * s3, a, d_o, D);          /* dv_j */
                    const float ds = a * (dot(d_o, v, D) - delta) * scale;
                    axpy(dq, ds, base + C + (size_t)j * s3, D);               /* dq_i: k_j */
                    axpy(dq, ds, e + (size_t)r * D, D);                       /* dq_i: E_r */
                    axpy(dbase + C + (size_t)j * s3, ds, q, D);               /* dk_j */
                    axpy(de + (size_t)r * D, ds, q, D);                       /* dE_r */
                }
            }
        }
    }
}
