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
    if (bias) nn_bias_forward(out, bias, BT, OC);
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
    if (dbias) nn_bias_backward(dbias, dout, BT, OC);
}
