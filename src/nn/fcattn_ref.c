/*
 * fcattn_ref.c: the dense reference of FC-attention for the tests: plain
 * causal softmax attention over every earlier key, in double, with a -inf
 * mask built pair by pair from nn_fc_visible (never from nn_fc_keys, the
 * fast kernel's walk), and the relative term read from nn_fc_rel_row. The
 * backward pass recomputes the probabilities densely from qkv; it keeps
 * nothing from the forward pass. O(B*H*T*T*D), serial; allocates (tests
 * only).
 */
#include <math.h>
#include <stdlib.h>

#include "nn.h"

/* Probabilities of query i of (b,h) over keys 0..i (0 where masked) into a;
 * returns the log-sum-exp of the scaled logits. */
static double dense_row(double *a, const float *qkv, const float *rel, const nn_fc_plan *p, int b,
                        int h, int i, int T, int C, int H)
{
    (void)H;
    const int D = C / H, s3 = 3 * C, R = nn_fc_rows(p->near);
    const double scale = 1.0 / sqrt((double)D);
    const float *q = qkv + ((size_t)b * T + i) * s3 + (size_t)h * D;
    double mx = -INFINITY;
    for (int j = 0; j <= i; j++) {
        if (!nn_fc_visible(p, b, T, i, j)) {
            a[j] = -INFINITY;
            continue;
        }
        const float *k = qkv + ((size_t)b * T + j) * s3 + C + (size_t)h * D;
        const float *e = rel + ((size_t)h * R + nn_fc_rel_row(p, b, T, i, j)) * D;
        double s = 0.0;
        for (int d = 0; d < D; d++) s += (double)q[d] * ((double)k[d] + (double)e[d]);
        a[j] = s * scale;
        if (a[j] > mx) mx = a[j];
    }
    double sum = 0.0;
    for (int j = 0; j <= i; j++) {
        a[j] = a[j] == -INFINITY ? 0.0 : exp(a[j] - mx);
        sum += a[j];
    }
    for (int j = 0; j <= i; j++) a[j] /= sum;
    return mx + log(sum);
}

void nn_fc_dense_forward(float *out, float *lse, const float *qkv, const float *rel,
                         const nn_fc_plan *p, int B, int T, int C, int H)
{
    const int D = C / H, s3 = 3 * C;
    double *a = malloc((size_t)T * sizeof(double));
    TG_ASSERT(a != NULL);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                double l = dense_row(a, qkv, rel, p, b, h, i, T, C, H);
                if (lse) lse[((size_t)b * H + h) * T + i] = (float)l;
                for (int d = 0; d < D; d++) {
                    double o = 0.0;
                    for (int j = 0; j <= i; j++)
                        o += a[j] * qkv[((size_t)b * T + j) * s3 + 2 * C + (size_t)h * D + d];
                    out[((size_t)b * T + i) * C + (size_t)h * D + d] = (float)o;
                }
            }
    free(a);
}

void nn_fc_dense_backward(float *dqkv, float *drel, const float *dout, const float *qkv,
                          const float *rel, const nn_fc_plan *p, int B, int T, int C, int H)
{
    const int D = C / H, s3 = 3 * C, R = nn_fc_rows(p->near);
    const double scale = 1.0 / sqrt((double)D);
    double *a = malloc((size_t)T * sizeof(double));
    double *g = malloc((size_t)T * sizeof(double));
    TG_ASSERT(a != NULL && g != NULL);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++) {
                dense_row(a, qkv, rel, p, b, h, i, T, C, H);
                const size_t qi = ((size_t)b * T + i) * s3 + (size_t)h * D;
                const float *d_o = dout + ((size_t)b * T + i) * C + (size_t)h * D;
                /* g_j = dout_i . v_j, the probabilities' gradient; dv_j += a_j dout_i */
                double mean = 0.0;
                for (int j = 0; j <= i; j++) {
                    const size_t vj = ((size_t)b * T + j) * s3 + 2 * C + (size_t)h * D;
                    double s = 0.0;
                    for (int d = 0; d < D; d++) {
                        s += (double)d_o[d] * qkv[vj + d];
                        dqkv[vj + d] += (float)(a[j] * d_o[d]);
                    }
                    g[j] = s;
                    mean += a[j] * s;
                }
                /* softmax backward, then the logits' two terms */
                for (int j = 0; j <= i; j++) {
                    const double ds = a[j] * (g[j] - mean) * scale;
                    if (ds == 0.0) continue;
                    const size_t kj = ((size_t)b * T + j) * s3 + C + (size_t)h * D;
                    const size_t er = ((size_t)h * R + nn_fc_rel_row(p, b, T, i, j)) * D;
                    for (int d = 0; d < D; d++) {
                        dqkv[qi + d] += (float)(ds * ((double)qkv[kj + d] + (double)rel[er + d]));
                        dqkv[kj + d] += (float)(ds * qkv[qi + d]);
                        drel[er + d] += (float)(ds * qkv[qi + d]);
                    }
                }
            }
    free(a);
    free(g);
}
