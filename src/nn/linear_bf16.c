/*
 * linear_bf16.c: the linear layer with bf16 products (mixed precision
 * training, Micikevicius et al. 2018, https://arxiv.org/abs/1710.03740, with
 * bf16 instead of fp16 so no loss scaling): the weights come as a bf16 copy
 * of the fp32 master weights, activations and output gradients are rounded
 * to bf16 just before each product, and every product sums in fp32 into
 * fp32 outputs and gradients. Bias, its gradient and everything around the
 * layer stay fp32. The shapes are nn_linear_forward's and _backward's.
 */
#include <string.h>

#include "nn.h"

void nn_linear_forward_bf16(float *out, nn_bf16 *cast, const float *inp, const nn_bf16 *w,
                            const float *bias, int B, int T, int C, int OC)
{
    const int BT = B * T;
    nn_bf16_from_f32_n(cast, inp, (size_t)BT * C);
    /* out (BT,OC) = inp (BT,C) w^T (C,OC) */
    nn_matmul_bf16(0, 1, BT, OC, C, 1.0f, cast, C, w, C, 0.0f, out, OC);
    if (!bias) return;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)BT * OC >= NN_PAR_MIN)
#endif
    for (int r = 0; r < BT; r++) {
        float *o = out + (size_t)r * OC;
        for (int j = 0; j < OC; j++) o[j] += bias[j];
    }
}

/* dbias (OC) += column sums of dout (BT,OC), each column by one thread in
 * row order (the same bits at any thread count). */
static void bias_grad(float *dbias, const float *dout, int BT, int OC)
{
    enum { W = 64 };
    const int nblocks = (OC + W - 1) / W;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)BT * OC >= NN_PAR_MIN)
#endif
    for (int blk = 0; blk < nblocks; blk++) {
        int j0 = blk * W, j1 = j0 + W < OC ? j0 + W : OC;
        float acc[W] = {0};
        for (int r = 0; r < BT; r++) {
            const float *d = dout + (size_t)r * OC;
            for (int j = j0; j < j1; j++) acc[j - j0] += d[j];
        }
        for (int j = j0; j < j1; j++) dbias[j] += acc[j - j0];
    }
}

void nn_linear_backward_bf16(float *dinp, float *dw, float *dbias, nn_bf16 *cast_out,
                             nn_bf16 *cast_in, const float *dout, const float *inp,
                             const nn_bf16 *w, int B, int T, int C, int OC)
{
    const int BT = B * T;
    nn_bf16_from_f32_n(cast_out, dout, (size_t)BT * OC);
    /* dinp (BT,C) = dout (BT,OC) w (OC,C) */
    if (dinp) nn_matmul_bf16(0, 0, BT, C, OC, 1.0f, cast_out, OC, w, C, 0.0f, dinp, C);
    /* dw (OC,C) += dout^T (OC,BT) inp (BT,C) */
    nn_bf16_from_f32_n(cast_in, inp, (size_t)BT * C);
    nn_matmul_bf16(1, 0, OC, C, BT, 1.0f, cast_out, OC, cast_in, C, 1.0f, dw, C);
    if (dbias) bias_grad(dbias, dout, BT, OC);
}
