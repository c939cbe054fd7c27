/*
 * attention.c: multi-head scaled dot-product self-attention over a fused QKV
 * input, causal (decoder) or bidirectional (encoder), with an optional key
 * padding length and Music Transformer's relative position term computed by
 * the skewing procedure (Huang et al. 2018, https://arxiv.org/abs/1809.04281,
 * section 3.4). See nn.h for the shapes and the table layout.
 *
 * The threads split the (batch, head) pairs; inside one pair the products run
 * on the calling thread (nn_matmul_local: serial BLAS, or the serial plain
 * loops without BLAS), so each pair's result is computed the same way
 * whatever the thread count. Causal products are cut
 * into blocks of ROW_BLOCK query rows so that keys after the block are not
 * computed only to be masked. The relative table's gradient is summed over
 * the batch in a second loop (threads split heads and table rows) so that no
 * two threads add into the same row.
 *
 * The softmax rows and their backward are rowops.c's vectorised kernels.
 *
 * Left out: dropout on the attention probabilities, and a KV cache for
 * incremental decoding (the sampler's business).
 */
#include <math.h>
#include <string.h>

#include "nn.h"

enum { ROW_BLOCK = 32 };

/* Relative distances in use for length T: T (-(T-1)..0) or 2T-1. */
static int rel_used(int T, int causal) { return causal ? T : 2 * T - 1; }

size_t nn_attention_scratch_floats(int B, int T, int H, int has_rel, int causal)
{
    size_t row = has_rel ? (size_t)rel_used(T, causal) : (size_t)T;
    return (size_t)B * H * T * row;
}

/* Row of the table holding distance -(T-1), after the shape checks. */
static int check_shapes(const float *rel, int B, int T, int C, int H, int R, int causal)
{
    TG_ASSERT(B >= 1 && T >= 1 && H >= 1);
    TG_ASSERT_OP(C % H, ==, 0);
    if (!rel) return 0;
    int z = causal ? R - 1 : (R - 1) / 2; /* the row of distance 0 */
    if (!causal) TG_ASSERT_OP(R % 2, ==, 1);
    TG_ASSERT_OP(z, >=, T - 1); /* the table covers distances up to T-1 */
    return z - (T - 1);
}

static int key_count(const int *lengths, int b, int T)
{
    if (!lengths) return T;
    TG_ASSERT_OP(lengths[b], >=, 1);
    TG_ASSERT_OP(lengths[b], <=, T);
    return lengths[b];
}

/* ------------------------------------------------------------------------ */
/* Forward */

void nn_attention_forward(float *out, float *att, float *scratch, const float *qkv,
                          const float *rel, const int *lengths, int B, int T, int C, int H,
                          int R, int causal)
{
    int row0 = check_shapes(rel, B, T, C, H, R, causal);
    TG_ASSERT(!rel || scratch);
    const int D = C / H, s3 = 3 * C, RU = rel_used(T, causal);
    const int rb = causal ? ROW_BLOCK : T;
    const float scale = 1.0f / sqrtf((float)D);

#ifdef TG_HAVE_OPENMP
#pragma omp parallel for collapse(2) schedule(static)
#endif
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            const float *q = qkv + (size_t)b * T * s3 + (size_t)h * D;
            const float *k = q + C, *v = q + 2 * C;
            float *a = att + ((size_t)b * H + h) * T * T;
            int len = key_count(lengths, b, T);

            /* a (T,T) = q k^T, unscaled; causal blocks stop at their last row */
            for (int i0 = 0; i0 < T; i0 += rb) {
                int i1 = i0 + rb < T ? i0 + rb : T;
                int nk = causal && i1 < len ? i1 : len;
                nn_matmul_local(0, 1, i1 - i0, nk, D, 1.0f, q + (size_t)i0 * s3, s3, k, s3,
                                 0.0f, a + (size_t)i0 * T, T);
            }

            if (rel) {
                /* The skewing procedure. qe (T,RU) = q E^T, column m holding
                 * distance m - (T-1) (E's rows from distance -(T-1) on). The
                 * paper pads a zero column in front, reshapes (T, RU+1) to
                 * (RU+1, T) and drops the first row; on a row-major buffer
                 * that reshape is a change of stride, so the term for (i,j) is
                 * read at qe[i*(RU-1) + (T-1) + j] = qe[i][T-1 + j-i]. */
                float *qe = scratch + ((size_t)b * H + h) * T * RU;
                const float *e = rel + ((size_t)h * R + row0) * D;
                if (causal) {
                    /* rows [i0,i1) need distances >= -(i1-1): columns from T-i1 */
                    for (int i0 = 0; i0 < T; i0 += rb) {
                        int i1 = i0 + rb < T ? i0 + rb : T;
                        nn_matmul_local(0, 1, i1 - i0, i1, D, 1.0f, q + (size_t)i0 * s3, s3,
                                         e + (size_t)(T - i1) * D, D, 0.0f,
                                         qe + (size_t)i0 * RU + (T - i1), RU);
                    }
                } else {
                    nn_matmul_local(0, 1, T, RU, D, 1.0f, q, s3, e, D, 0.0f, qe, RU);
                }
                for (int i = 0; i < T; i++) {
                    const float *skewed = qe + (size_t)i * (RU - 1) + (T - 1);
                    float *row = a + (size_t)i * T;
                    int nj = causal && i + 1 < len ? i + 1 : len;
                    for (int j = 0; j < nj; j++) row[j] += skewed[j];
                }
            }

            /* scale, mask, softmax; masked entries become exact zeros */
            for (int i = 0; i < T; i++)
                nn_softmax_row(a + (size_t)i * T, causal && i + 1 < len ? i + 1 : len, T, scale);

            /* out (T,D) of head h = a v */
            float *o = out + (size_t)b * T * C + (size_t)h * D;
            for (int i0 = 0; i0 < T; i0 += rb) {
                int i1 = i0 + rb < T ? i0 + rb : T;
                int nk = causal && i1 < len ? i1 : len;
                nn_matmul_local(0, 0, i1 - i0, D, nk, 1.0f, a + (size_t)i0 * T, T, v, s3, 0.0f,
                                 o + (size_t)i0 * C, C);
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Backward */

/* Columns of row i of the logits' gradient that the products below read
 * without a relative table: those before the end of i's block of rows (the
 * causal blocks) and before len. Only these need the zeros past the mask;
 * the relative term's un-skewing reads whole rows. */
static int g_cols(int i, int rb, int len)
{
    int end = (i / rb + 1) * rb;
    return end < len ? end : len;
}

void nn_attention_backward(float *dqkv, float *drel, float *scratch, const float *dout,
                           const float *qkv, const float *rel, const float *att,
                           const int *lengths, int B, int T, int C, int H, int R, int causal)
{
    int row0 = check_shapes(rel, B, T, C, H, R, causal);
    TG_ASSERT(scratch);
    TG_ASSERT(!rel || drel);
    const int D = C / H, s3 = 3 * C, RU = rel_used(T, causal);
    const int RS = rel ? RU : T; /* row stride of a pair's scratch */
    const int rb = causal ? ROW_BLOCK : T;
    const float scale = 1.0f / sqrtf((float)D);

#ifdef TG_HAVE_OPENMP
#pragma omp parallel for collapse(2) schedule(static)
#endif
    for (int b = 0; b < B; b++) {
        for (int h = 0; h < H; h++) {
            const float *q = qkv + (size_t)b * T * s3 + (size_t)h * D;
            const float *k = q + C, *v = q + 2 * C;
            float *dq = dqkv + (size_t)b * T * s3 + (size_t)h * D;
            float *dk = dq + C, *dv = dq + 2 * C;
            const float *a = att + ((size_t)b * H + h) * T * T;
            const float *d_o = dout + (size_t)b * T * C + (size_t)h * D;
            float *g = scratch + ((size_t)b * H + h) * T * RS;
            int len = key_count(lengths, b, T);

            /* g (T,T) = dout v^T: the gradient of the probabilities */
            for (int i0 = 0; i0 < T; i0 += rb) {
                int i1 = i0 + rb < T ? i0 + rb : T;
                int nk = causal && i1 < len ? i1 : len;
                nn_matmul_local(0, 1, i1 - i0, nk, D, 1.0f, d_o + (size_t)i0 * C, C, v, s3,
                                 0.0f, g + (size_t)i0 * RS, RS);
            }
            /* dv += a^T dout, by blocks of keys; causal: only queries i >= j0 */
            for (int j0 = 0; j0 < len; j0 += rb) {
                int j1 = j0 + rb < len ? j0 + rb : len;
                int is = causal ? j0 : 0;
                nn_matmul_local(1, 0, j1 - j0, D, T - is, 1.0f, a + (size_t)is * T + j0, T,
                                 d_o + (size_t)is * C, C, 1.0f, dv + (size_t)j0 * s3, s3);
            }
            /* softmax backward: g = a * (g - sum_j a g) * scale, the gradient of
             * the logits before scaling (q k^T and the relative term alike) */
            for (int i = 0; i < T; i++)
                nn_softmax_row_backward(g + (size_t)i * RS, a + (size_t)i * T,
                                        causal && i + 1 < len ? i + 1 : len,
                                        rel ? T : g_cols(i, rb, len), scale);
            /* dq += g k */
            for (int i0 = 0; i0 < T; i0 += rb) {
                int i1 = i0 + rb < T ? i0 + rb : T;
                int nk = causal && i1 < len ? i1 : len;
                nn_matmul_local(0, 0, i1 - i0, D, nk, 1.0f, g + (size_t)i0 * RS, RS, k, s3, 1.0f,
                                 dq + (size_t)i0 * s3, s3);
            }
            /* dk += g^T q */
            for (int j0 = 0; j0 < len; j0 += rb) {
                int j1 = j0 + rb < len ? j0 + rb : len;
                int is = causal ? j0 : 0;
                nn_matmul_local(1, 0, j1 - j0, D, T - is, 1.0f, g + (size_t)is * RS + j0, RS,
                                 q + (size_t)is * s3, s3, 1.0f, dk + (size_t)j0 * s3, s3);
            }

            if (rel) {
                /* Undo the skew: dqe[i][T-1 + j-i] = g[i][j]. In place, row by
                 * row: shifting right by T-1-i, from the last column back. */
                for (int i = 0; i < T; i++) {
                    float *grow = g + (size_t)i * RS;
                    int sh = T - 1 - i;
                    int nj = causal && i + 1 < len ? i + 1 : len;
                    for (int j = nj - 1; j >= 0; j--) grow[sh + j] = grow[j];
                    for (int m = 0; m < sh; m++) grow[m] = 0.0f;
                    for (int m = sh + nj; m < RU; m++) grow[m] = 0.0f;
                }
                /* dq += dqe E; causal rows [i0,i1) only use columns from T-i1 */
                const float *e = rel + ((size_t)h * R + row0) * D;
                if (causal) {
                    for (int i0 = 0; i0 < T; i0 += rb) {
                        int i1 = i0 + rb < T ? i0 + rb : T;
                        nn_matmul_local(0, 0, i1 - i0, D, i1, 1.0f,
                                         g + (size_t)i0 * RS + (T - i1), RS,
                                         e + (size_t)(T - i1) * D, D, 1.0f, dq + (size_t)i0 * s3,
                                         s3);
                    }
                } else {
                    nn_matmul_local(0, 0, T, D, RU, 1.0f, g, RS, e, D, 1.0f, dq, s3);
                }
            }
        }
    }

    if (!rel) return;
    /* drel rows += dqe^T q, summed over the batch in order. Causal: column m
     * of dqe is non-zero only in rows i >= T-1-m. */
    int nmb = (RU + ROW_BLOCK - 1) / ROW_BLOCK;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for collapse(2) schedule(static)
#endif
    for (int h = 0; h < H; h++) {
        for (int mb = 0; mb < nmb; mb++) {
            int m0 = mb * ROW_BLOCK, m1 = m0 + ROW_BLOCK < RU ? m0 + ROW_BLOCK : RU;
            int is = causal ? T - m1 : 0;
            float *de = drel + ((size_t)h * R + row0 + m0) * D;
            for (int b = 0; b < B; b++) {
                const float *g = scratch + ((size_t)b * H + h) * T * RS;
                const float *q = qkv + (size_t)b * T * s3 + (size_t)h * D;
                nn_matmul_local(1, 0, m1 - m0, D, T - is, 1.0f, g + (size_t)is * RS + m0, RS,
                                 q + (size_t)is * s3, s3, 1.0f, de, D);
            }
        }
    }
}
