/*
 * attention_ref.c: the naive reference for nn_attention_forward/backward,
 * for tests only. It computes the same function pair by pair in double, one
 * (batch, head) at a time, with no blocking and no skewing: the relative term
 * gathers Er[i][j] = E[j - i], the O(T*T*D) tensor the paper's skewing avoids,
 * and takes q_i . Er[i][j] directly; its gradient q_i * dlogit is scattered
 * back to the row of distance j - i. Slow and simple on purpose; unlike the
 * kernels it mallocs a row of doubles per call.
 */
#include <math.h>
#include <string.h>

#include "nn.h"

/* Number of keys query i sees: j < nj. */
static int keys_seen(int i, int len, int causal) { return causal && i + 1 < len ? i + 1 : len; }

/* Er (T,T,D) for head h: Er[i][j] = E[z + j - i] where (i,j) is visible, else 0. */
static void gather_rel(float *er, const float *rel, int h, int T, int D, int R, int len,
                       int causal)
{
    int z = causal ? R - 1 : (R - 1) / 2;
    memset(er, 0, sizeof(float) * T * T * D);
    for (int i = 0; i < T; i++)
        for (int j = 0; j < keys_seen(i, len, causal); j++)
            memcpy(er + ((size_t)i * T + j) * D, rel + ((size_t)h * R + z + j - i) * D,
                   sizeof(float) * D);
}

static void check(const float *rel, const int *lengths, int b, int T, int C, int H, int R,
                  int causal)
{
    TG_ASSERT_OP(C % H, ==, 0);
    if (lengths) TG_ASSERT(lengths[b] >= 1 && lengths[b] <= T);
    if (rel) TG_ASSERT_OP(causal ? R : (R + 1) / 2, >=, T);
}

void nn_attention_naive_forward(float *out, float *att, float *scratch, const float *qkv,
                                const float *rel, const int *lengths, int B, int T, int C,
                                int H, int R, int causal)
{
    const int D = C / H, s3 = 3 * C;
    const double scale = 1.0 / sqrt((double)D);
    double *logit = malloc(sizeof(double) * T);
    TG_ASSERT(logit);
    for (int b = 0; b < B; b++) {
        check(rel, lengths, b, T, C, H, R, causal);
        int len = lengths ? lengths[b] : T;
        for (int h = 0; h < H; h++) {
            const float *q = qkv + (size_t)b * T * s3 + (size_t)h * D;
            const float *k = q + C, *v = q + 2 * C;
            float *a = att + ((size_t)b * H + h) * T * T;
            if (rel) gather_rel(scratch, rel, h, T, D, R, len, causal);
            for (int i = 0; i < T; i++) {
                int nj = keys_seen(i, len, causal);
                double mx = -INFINITY, sum = 0;
                for (int j = 0; j < nj; j++) {
                    double s = 0;
                    for (int d = 0; d < D; d++) {
                        double e = rel ? scratch[((size_t)i * T + j) * D + d] : 0.0;
                        s += (double)q[(size_t)i * s3 + d] * (k[(size_t)j * s3 + d] + e);
                    }
                    logit[j] = s * scale;
                    if (logit[j] > mx) mx = logit[j];
                }
                for (int j = 0; j < nj; j++) sum += exp(logit[j] - mx);
                for (int j = 0; j < T; j++)
                    a[(size_t)i * T + j] = j < nj ? (float)(exp(logit[j] - mx) / sum) : 0.0f;
                for (int d = 0; d < D; d++) {
                    double o = 0;
                    for (int j = 0; j < nj; j++)
                        o += (double)a[(size_t)i * T + j] * v[(size_t)j * s3 + d];
                    out[((size_t)b * T + i) * C + (size_t)h * D + d] = (float)o;
                }
            }
        }
    }
    free(logit);
}

void nn_attention_naive_backward(float *dqkv, float *drel, float *scratch, const float *dout,
                                 const float *qkv, const float *rel, const float *att,
                                 const int *lengths, int B, int T, int C, int H, int R,
                                 int causal)
{
    const int D = C / H, s3 = 3 * C;
    const double scale = 1.0 / sqrt((double)D);
    const int z = causal ? R - 1 : (R - 1) / 2;
    double *gl = malloc(sizeof(double) * T);
    TG_ASSERT(gl);
    for (int b = 0; b < B; b++) {
        check(rel, lengths, b, T, C, H, R, causal);
        int len = lengths ? lengths[b] : T;
        for (int h = 0; h < H; h++) {
            const float *q = qkv + (size_t)b * T * s3 + (size_t)h * D;
            const float *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + (size_t)b * T * s3 + (size_t)h * D;
            float *dk = dq + C, *dv = dq + 2 * C;
            const float *a = att + ((size_t)b * H + h) * T * T;
            if (rel) gather_rel(scratch, rel, h, T, D, R, len, causal);
            for (int i = 0; i < T; i++) {
                const float *d_o = dout + ((size_t)b * T + i) * C + (size_t)h * D;
                int nj = keys_seen(i, len, causal);
                /* gl[j]: gradient of the scaled logit (i,j) */
                double dot = 0;
                for (int j = 0; j < nj; j++) {
                    double s = 0;
                    for (int d = 0; d < D; d++) s += (double)d_o[d] * v[(size_t)j * s3 + d];
                    gl[j] = s;
                    dot += a[(size_t)i * T + j] * s;
                }
                for (int j = 0; j < nj; j++) gl[j] = a[(size_t)i * T + j] * (gl[j] - dot);
                for (int j = 0; j < nj; j++) {
                    double aij = a[(size_t)i * T + j], gs = gl[j] * scale;
                    for (int d = 0; d < D; d++) {
                        double e = rel ? scratch[((size_t)i * T + j) * D + d] : 0.0;
                        dv[(size_t)j * s3 + d] += (float)(aij * d_o[d]);
                        dq[(size_t)i * s3 + d] += (float)(gs * (k[(size_t)j * s3 + d] + e));
                        dk[(size_t)j * s3 + d] += (float)(gs * q[(size_t)i * s3 + d]);
                    }
                    /* dEr[i][j] = gs q_i, scattered back to its distance */
                    if (rel)
                        for (int d = 0; d < D; d++)
                            drel[((size_t)h * R + z + j - i) * D + d] +=
                                (float)(gs * q[(size_t)i * s3 + d]);
                }
            }
        }
    }
    free(gl);
}
