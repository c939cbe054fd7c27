/*
 * layers.c: the elementwise and row-wise layers of a Transformer block, each a
 * forward/backward pair: token and position embedding, LayerNorm, linear
 * (through nn_matmul), GELU, residual add and dropout.
 *
 * LayerNorm's per-row work is rowops.c's vectorised nn_layernorm_row and
 * nn_layernorm_row_backward; the plain loops stay here as the references.
 *
 * Parallel loops and determinism: loops whose outputs are per row run over
 * rows; sums over rows into a parameter gradient (dbias, dweight, embedding
 * tables) run over blocks of channels instead, each thread owning its
 * channels and adding the rows in order, so the result is the same whatever
 * the thread count and there are no atomics.
 */
#include <math.h>
#include <string.h>

#include "nn.h"

/* Channels per block in the column-parallel embedding-gradient loop: one
 * 64-byte cache line of floats. */
enum { COL_BLOCK = 16 };

/* The column sums of dbias and of LayerNorm's dweight and dbias walk down
 * all B*T rows once per block of channels. With blocks of one cache line
 * every row of a block was a new page (a TLB miss per 64 bytes, at rows of
 * 2-8 KB); blocks of up to SUM_BLOCK channels read 16 lines per row and keep
 * 16 vectors of partial sums. Narrower when that would leave fewer than 2
 * blocks per thread. Each column is still summed over the rows in order by
 * one thread, so the bits are those of any other block width. */
enum { SUM_BLOCK = 256 };

static int sum_block(int ncols)
{
    int w = SUM_BLOCK, want = 2 * nn_get_threads();
    while (w > COL_BLOCK && (ncols + w - 1) / w < want) w /= 2;
    return w;
}

/* ------------------------------------------------------------------------ */
/* Embedding */

void nn_embedding_forward(float *out, const int *tokens, const float *wte, const float *wpe,
                          int B, int T, int C, int V)
{
    int BT = B * T;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)BT * C >= NN_PAR_MIN)
#endif
    for (int bt = 0; bt < BT; bt++) {
        int tok = tokens[bt];
        TG_ASSERT_OP(tok, >=, 0);
        TG_ASSERT_OP(tok, <, V);
        float *o = out + (size_t)bt * C;
        const float *e = wte + (size_t)tok * C;
        if (wpe) {
            const float *p = wpe + (size_t)(bt % T) * C;
            for (int c = 0; c < C; c++) o[c] = e[c] + p[c];
        } else {
            memcpy(o, e, sizeof(float) * C);
        }
    }
}

void nn_embedding_backward(float *dwte, float *dwpe, const float *dout, const int *tokens,
                           int B, int T, int C, int V)
{
    /* Scatter-add by token: two rows can share a token, so threads split the
     * channels, not the rows. */
    int nblocks = (C + COL_BLOCK - 1) / COL_BLOCK;
    (void)V;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)B * T * C >= NN_PAR_MIN)
#endif
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * COL_BLOCK, c1 = c0 + COL_BLOCK < C ? c0 + COL_BLOCK : C;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                const float *d = dout + ((size_t)b * T + t) * C;
                float *w = dwte + (size_t)tokens[b * T + t] * C;
                for (int c = c0; c < c1; c++) w[c] += d[c];
                if (dwpe) {
                    float *p = dwpe + (size_t)t * C;
                    for (int c = c0; c < c1; c++) p[c] += d[c];
                }
            }
    }
}

/* ------------------------------------------------------------------------ */
/* LayerNorm */

#define NN_LN_EPS 1e-5

void nn_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                          const float *weight, const float *bias, int B, int T, int C)
{
    int BT = B * T;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)BT * C >= NN_PAR_MIN)
#endif
    for (int r = 0; r < BT; r++)
        nn_layernorm_row(out + (size_t)r * C, mean + r, rstd + r, inp + (size_t)r * C, weight,
                         bias, C, NN_LN_EPS);
}

void nn_layernorm_forward_ref(float *out, float *mean, float *rstd, const float *inp,
                              const float *weight, const float *bias, int B, int T, int C)
{
    for (int r = 0; r < B * T; r++) {
        const float *x = inp + (size_t)r * C;
        /* two passes in double: the variance does not lose digits to the mean */
        double m = 0;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        double v = 0;
        for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
        v /= C;
        float s = (float)(1.0 / sqrt(v + NN_LN_EPS));
        float mf = (float)m;
        float *o = out + (size_t)r * C;
        for (int c = 0; c < C; c++) o[c] = (x[c] - mf) * s * weight[c] + bias[c];
        mean[r] = mf;
        rstd[r] = s;
    }
}

void nn_layernorm_backward_ref(float *dinp, const float *dout, const float *inp,
                               const float *weight, const float *mean, const float *rstd, int B,
                               int T, int C)
{
    for (int r = 0; r < B * T; r++) {
        const float *x = inp + (size_t)r * C, *d = dout + (size_t)r * C;
        float m = mean[r], s = rstd[r];
        double sum_g = 0, sum_gx = 0;
        for (int c = 0; c < C; c++) {
            float g = d[c] * weight[c];
            sum_g += g;
            sum_gx += (double)g * ((x[c] - m) * s);
        }
        float mg = (float)(sum_g / C), mgx = (float)(sum_gx / C);
        float *di = dinp + (size_t)r * C;
        for (int c = 0; c < C; c++) {
            float xhat = (x[c] - m) * s;
            di[c] += s * (d[c] * weight[c] - mg - xhat * mgx);
        }
    }
}

void nn_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                           const float *inp, const float *weight, const float *mean,
                           const float *rstd, int B, int T, int C)
{
    int BT = B * T;
    /* dinp = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dout * weight */
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)BT * C >= NN_PAR_MIN)
#endif
    for (int r = 0; r < BT; r++)
        nn_layernorm_row_backward(dinp + (size_t)r * C, dout + (size_t)r * C, inp + (size_t)r * C,
                                  weight, mean[r], rstd[r], C);
    /* dweight = sum over rows of dout * xhat; dbias = sum of dout */
    const int bw = sum_block(C), nblocks = (C + bw - 1) / bw;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)BT * C >= NN_PAR_MIN)
#endif
    for (int blk = 0; blk < nblocks; blk++) {
        int c0 = blk * bw, c1 = c0 + bw < C ? c0 + bw : C;
        float dw[SUM_BLOCK] = {0}, db[SUM_BLOCK] = {0};
        for (int r = 0; r < BT; r++) {
            const float *x = inp + (size_t)r * C, *d = dout + (size_t)r * C;
            float m = mean[r], s = rstd[r];
            for (int c = c0; c < c1; c++) {
                dw[c - c0] += d[c] * ((x[c] - m) * s);
                db[c - c0] += d[c];
            }
        }
        for (int c = c0; c < c1; c++) {
            dweight[c] += dw[c - c0];
            dbias[c] += db[c - c0];
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Linear */

void nn_linear_forward(float *out, const float *inp, const float *w, const float *bias, int B,
                       int T, int C, int OC)
{
    int BT = B * T;
    /* out (BT,OC) = inp (BT,C) w^T (C,OC) */
    nn_matmul(0, 1, BT, OC, C, 1.0f, inp, C, w, C, 0.0f, out, OC);
    if (bias) nn_bias_forward(out, bias, BT, OC);
}

void nn_bias_forward(float *out, const float *bias, int BT, int OC)
{
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)BT * OC >= NN_PAR_MIN)
#endif
    for (int r = 0; r < BT; r++) {
        float *o = out + (size_t)r * OC;
        for (int j = 0; j < OC; j++) o[j] += bias[j];
    }
}

void nn_bias_backward(float *dbias, const float *dout, int BT, int OC)
{
    const int bw = sum_block(OC), nblocks = (OC + bw - 1) / bw;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)BT * OC >= NN_PAR_MIN)
#endif
    for (int blk = 0; blk < nblocks; blk++) {
        int j0 = blk * bw, j1 = j0 + bw < OC ? j0 + bw : OC;
        float acc[SUM_BLOCK] = {0};
        for (int r = 0; r < BT; r++) {
            const float *d = dout + (size_t)r * OC;
            for (int j = j0; j < j1; j++) acc[j - j0] += d[j];
        }
        for (int j = j0; j < j1; j++) dbias[j] += acc[j - j0];
    }
}

/* beta 1: dinp += ...; beta 0: dinp = ... (not read) */
static void linear_backward(float *dinp, float beta, float *dw, float *dbias, const float *dout,
                            const float *inp, const float *w, int B, int T, int C, int OC)
{
    int BT = B * T;
    /* dinp (BT,C) (+)= dout (BT,OC) w (OC,C) */
    if (dinp) nn_matmul(0, 0, BT, C, OC, 1.0f, dout, OC, w, C, beta, dinp, C);
    /* dw (OC,C) += dout^T (OC,BT) inp (BT,C) */
    nn_matmul(1, 0, OC, C, BT, 1.0f, dout, OC, inp, C, 1.0f, dw, C);
    if (dbias) nn_bias_backward(dbias, dout, BT, OC);
}

void nn_linear_backward(float *dinp, float *dw, float *dbias, const float *dout,
                        const float *inp, const float *w, int B, int T, int C, int OC)
{
    linear_backward(dinp, 1.0f, dw, dbias, dout, inp, w, B, T, C, OC);
}

void nn_linear_backward_into(float *dinp, float *dw, float *dbias, const float *dout,
                             const float *inp, const float *w, int B, int T, int C, int OC)
{
    TG_ASSERT(dinp != NULL);
    linear_backward(dinp, 0.0f, dw, dbias, dout, inp, w, B, T, C, OC);
}

/* ------------------------------------------------------------------------ */
/* GELU, tanh approximation (Hendrycks & Gimpel, https://arxiv.org/abs/1606.08415) */

/* Both passes write 0.5 (1 + tanh u) as 1 / (1 + exp(-2u)): one exp. The
 * fast pair below uses nn_expf_fast so the loops vectorise. */
void nn_gelu_forward(float *out, const float *inp, size_t N)
{
    ptrdiff_t n = (ptrdiff_t)N;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for simd schedule(static) if ((size_t)n >= NN_PAR_MIN)
#endif
    for (ptrdiff_t i = 0; i < n; i++) {
        float x = inp[i];
        float u = NN_GELU_K * (x + NN_GELU_A * x * x * x);
        out[i] = x / (1.0f + nn_expf_fast(-2.0f * u));
    }
}

/* GELU's derivative at x (the tanh form), with the forward's fast exp. */
static inline float gelu_grad(float x)
{
    float u = NN_GELU_K * (x + NN_GELU_A * x * x * x);
    float t = 2.0f / (1.0f + nn_expf_fast(-2.0f * u)) - 1.0f; /* tanh u */
    float du = NN_GELU_K * (1.0f + 3.0f * NN_GELU_A * x * x);
    return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
}

void nn_gelu_backward(float *dinp, const float *dout, const float *inp, size_t N)
{
    ptrdiff_t n = (ptrdiff_t)N;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for simd schedule(static) if ((size_t)n >= NN_PAR_MIN)
#endif
    for (ptrdiff_t i = 0; i < n; i++) {
        dinp[i] += gelu_grad(inp[i]) * dout[i];
    }
}

void nn_gelu_backward_inplace(float *d, const float *inp, size_t N)
{
    ptrdiff_t n = (ptrdiff_t)N;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for simd schedule(static) if ((size_t)n >= NN_PAR_MIN)
#endif
    for (ptrdiff_t i = 0; i < n; i++) {
        d[i] = gelu_grad(inp[i]) * d[i];
    }
}

void nn_gelu_forward_ref(float *out, const float *inp, size_t N)
{
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        float u = NN_GELU_K * (x + NN_GELU_A * x * x * x);
        out[i] = x / (1.0f + expf(-2.0f * u));
    }
}

void nn_gelu_backward_ref(float *dinp, const float *dout, const float *inp, size_t N)
{
    for (size_t i = 0; i < N; i++) {
        float x = inp[i];
        float u = NN_GELU_K * (x + NN_GELU_A * x * x * x);
        float t = 2.0f / (1.0f + expf(-2.0f * u)) - 1.0f;
        float du = NN_GELU_K * (1.0f + 3.0f * NN_GELU_A * x * x);
        float grad = 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * du;
        dinp[i] += grad * dout[i];
    }
}

/* ------------------------------------------------------------------------ */
/* Residual */

void nn_residual_forward(float *out, const float *inp1, const float *inp2, size_t N)
{
    ptrdiff_t n = (ptrdiff_t)N;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)n >= NN_PAR_MIN)
#endif
    for (ptrdiff_t i = 0; i < n; i++) out[i] = inp1[i] + inp2[i];
}

void nn_residual_backward(float *dinp1, float *dinp2, const float *dout, size_t N)
{
    ptrdiff_t n = (ptrdiff_t)N;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)n >= NN_PAR_MIN)
#endif
    for (ptrdiff_t i = 0; i < n; i++) {
        dinp1[i] += dout[i];
        dinp2[i] += dout[i];
    }
}

/* ------------------------------------------------------------------------ */
/* Dropout (Srivastava et al. 2014), inverted: scaled at training time */

void nn_dropout_forward(float *out, uint8_t *mask, const float *inp, float p, tg_rng *rng,
                        size_t N)
{
    TG_ASSERT(p >= 0.0f && p < 1.0f);
    if (p == 0.0f) {
        if (out != inp) memcpy(out, inp, N * sizeof(float));
        if (mask) memset(mask, 1, N);
        return;
    }
    /* The mask is drawn serially from the one stream, so it does not depend on
     * the thread count; a draw is a few nanoseconds, small next to a layer. */
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < N; i++) {
        uint8_t keep = tg_rng_float(rng) >= p;
        mask[i] = keep;
        out[i] = keep ? inp[i] * scale : 0.0f;
    }
}

void nn_dropout_backward(float *dinp, const float *dout, const uint8_t *mask, float p, size_t N)
{
    TG_ASSERT(p >= 0.0f && p < 1.0f);
    TG_ASSERT(mask || p == 0.0f);
    float scale = 1.0f / (1.0f - p);
    ptrdiff_t n = (ptrdiff_t)N;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)n >= NN_PAR_MIN)
#endif
    for (ptrdiff_t i = 0; i < n; i++)
        if (!mask || mask[i]) dinp[i] += dout[i] * scale;
}
