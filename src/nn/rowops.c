/*
 * rowops.c: the row kernels of attention's softmax (forward and backward)
 * and the column sums of the parameter-gradient loops, each with its plain
 * reference (the scalar loops they replace; tests/test_nn_fast.c checks the
 * pairs agree).
 *
 * Also LayerNorm's rows (forward, and the input gradient of the backward
 * pass), whose sums stay in double.
 *
 * The scalar loops were latency-bound: a float max or sum carried in one
 * register waits for the previous add, and GCC may not reorder float sums
 * (no fast-math). The fast rows keep 16 partial sums (lane k takes elements
 * k, k+16, ...), reduced pairwise at the end: a fixed order written in C, so
 * GCC vectorises it with whatever vectors the target has and every target
 * gives the same bits. On x86-64 GCC builds each fast function is compiled
 * for AVX-512, AVX2 and the baseline, and the loader picks one when the
 * program starts (target_clones, i.e. __builtin_cpu_supports in an ifunc
 * resolver), so builds without -march=native vectorise wide too. Without
 * fp contraction (ISO C mode) the clones agree bit for bit.
 */
#include <math.h>
#include <string.h>

#include "nn.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define NN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define NN_CLONES
#endif

enum { LANES = 16 };

/* max of x[0..n), n >= 1 (exact: the order does not matter) */
static inline float max16(const float *x, int n)
{
    float m[LANES];
    for (int k = 0; k < LANES; k++) m[k] = x[0];
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) m[k] = x[j + k] > m[k] ? x[j + k] : m[k];
    for (; j < n; j++) m[0] = x[j] > m[0] ? x[j] : m[0];
    float mx = m[0];
    for (int k = 1; k < LANES; k++) mx = m[k] > mx ? m[k] : mx;
    return mx;
}

/* 16 partial sums reduced pairwise */
static inline float reduce16(float *s)
{
    for (int w = LANES / 2; w > 0; w /= 2)
        for (int k = 0; k < w; k++) s[k] += s[k + w];
    return s[0];
}

static inline float sum16(const float *x, int n)
{
    float s[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) s[k] += x[j + k];
    for (; j < n; j++) s[j - (n / LANES) * LANES] += x[j];
    return reduce16(s);
}

static inline float dot16(const float *x, const float *y, int n)
{
    float s[LANES] = {0};
    int j = 0;
    for (; j + LANES <= n; j += LANES)
        for (int k = 0; k < LANES; k++) s[k] += x[j + k] * y[j + k];
    for (; j < n; j++) s[j - (n / LANES) * LANES] += x[j] * y[j];
    return reduce16(s);
}

/* ------------------------------------------------------------------------ */
/* Softmax rows */

NN_CLONES void nn_softmax_row(float *row, int n, int total, float scale)
{
    float mx = max16(row, n);
    for (int j = 0; j < n; j++) row[j] = nn_expf_fast((row[j] - mx) * scale);
    float inv = 1.0f / sum16(row, n);
    for (int j = 0; j < n; j++) row[j] *= inv;
    if (total > n) memset(row + n, 0, sizeof(float) * (size_t)(total - n));
}

void nn_softmax_row_ref(float *row, int n, int total, float scale)
{
    float mx = row[0];
    for (int j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
    for (int j = 0; j < n; j++) row[j] = nn_expf_fast((row[j] - mx) * scale);
    float sum = 0.0f;
    for (int j = 0; j < n; j++) sum += row[j];
    float inv = 1.0f / sum;
    for (int j = 0; j < n; j++) row[j] *= inv;
    for (int j = n; j < total; j++) row[j] = 0.0f;
}

NN_CLONES void nn_softmax_row_backward(float *g, const float *a, int n, int total, float scale)
{
    float dot = dot16(a, g, n);
    for (int j = 0; j < n; j++) g[j] = a[j] * (g[j] - dot) * scale;
    if (total > n) memset(g + n, 0, sizeof(float) * (size_t)(total - n));
}

void nn_softmax_row_backward_ref(float *g, const float *a, int n, int total, float scale)
{
    float dot = 0.0f;
    for (int j = 0; j < n; j++) dot += a[j] * g[j];
    for (int j = 0; j < n; j++) g[j] = a[j] * (g[j] - dot) * scale;
    for (int j = n; j < total; j++) g[j] = 0.0f;
}

/* ------------------------------------------------------------------------ */
/* LayerNorm rows: the sums in double as before, in 8 partial sums (lane k
 * takes channels k, k+8, ...) reduced pairwise, so they vectorise. */

enum { DLANES = 8 };

static inline double reduce8d(double *s)
{
    for (int w = DLANES / 2; w > 0; w /= 2)
        for (int k = 0; k < w; k++) s[k] += s[k + w];
    return s[0];
}

NN_CLONES void nn_layernorm_row(float *o, float *mean, float *rstd, const float *x,
                                const float *weight, const float *bias, int C, double eps)
{
    double s[DLANES] = {0}, q[DLANES] = {0};
    int c = 0, cb = C - C % DLANES;
    for (; c < cb; c += DLANES)
        for (int k = 0; k < DLANES; k++) s[k] += x[c + k];
    for (; c < C; c++) s[c - cb] += x[c];
    double m = reduce8d(s) / C;
    for (c = 0; c < cb; c += DLANES)
        for (int k = 0; k < DLANES; k++) q[k] += (x[c + k] - m) * (x[c + k] - m);
    for (; c < C; c++) q[c - cb] += (x[c] - m) * (x[c] - m);
    float sc = (float)(1.0 / sqrt(reduce8d(q) / C + eps));
    float mf = (float)m;
    for (c = 0; c < C; c++) o[c] = (x[c] - mf) * sc * weight[c] + bias[c];
    *mean = mf;
    *rstd = sc;
}

NN_CLONES void nn_layernorm_row_backward(float *dinp, const float *dout, const float *x,
                                         const float *weight, float m, float s, int C)
{
    double sg[DLANES] = {0}, sgx[DLANES] = {0};
    int c = 0, cb = C - C % DLANES;
    for (; c < cb; c += DLANES)
        for (int k = 0; k < DLANES; k++) {
            float g = dout[c + k] * weight[c + k];
            sg[k] += g;
            sgx[k] += (double)g * ((x[c + k] - m) * s);
        }
    for (; c < C; c++) {
        float g = dout[c] * weight[c];
        sg[c - cb] += g;
        sgx[c - cb] += (double)g * ((x[c] - m) * s);
    }
    float mg = (float)(reduce8d(sg) / C), mgx = (float)(reduce8d(sgx) / C);
    for (c = 0; c < C; c++) {
        float xhat = (x[c] - m) * s;
        dinp[c] += s * (dout[c] * weight[c] - mg - xhat * mgx);
    }
}
