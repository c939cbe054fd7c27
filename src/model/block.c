/*
 * block.c: the Transformer block, written once. Training (transformer.c,
 * every position of a batch, activations kept for the backward pass) and
 * cached decoding (decode.c, a few new tokens against the key/value cache)
 * both run their blocks through model_block_forward:
 *
 *   ln1 = LayerNorm(x); qkv = ln1 Wqkv^T + b
 *   atty = attention(qkv)                       the attention kind's own step
 *   res2 = x + dropout(atty Wproj^T + b)
 *   ln2 = LayerNorm(res2); fch = gelu(ln2 Wfc^T + b)
 *   out = res2 + dropout(fch Wfc2^T + b)
 *
 * What differs between the two callers is where the buffers live (the layer's
 * kept activations, or the run state's chunk buffers with res2 = out = x
 * updated in place), the attention step (full causal or bidirectional
 * attention over the sequence, or the new queries against the cache) and how
 * a linear layer of a few rows is computed: decoding passes matvec_rows > 0,
 * and layers of that many rows or fewer go through nn_matvec with the GELU or
 * the residual add fused (it reads each weight matrix once); more rows, and
 * all of training, go through sgemm with the epilogue as separate passes.
 * A new attention kind therefore adds an attention step for each caller and
 * nothing here.
 *
 * With bf16 weights (run->w16, precision.c) the same four linear layers read
 * the block's bf16 copies: nn_matvec_bf16 for a few rows, else
 * nn_linear_forward_bf16 through run->cast; everything else is unchanged.
 */
#include <string.h>

#include "model.h"

/* out (N,OC) = inp (N,K) w^T + bias, and gelu into gelu_out when it is not
 * NULL (it may be out itself: decoding keeps no pre-GELU copy). */
static void block_linear(const model_block_run *run, float *out, float *gelu_out, const float *inp,
                         const float *w, const nn_bf16 *w16, const float *bias, int N, int K,
                         int OC)
{
    if (N <= run->matvec_rows && (!gelu_out || gelu_out == out)) {
        if (w16) nn_matvec_bf16(out, inp, w16, bias, N, K, OC, gelu_out ? NN_MV_GELU : 0);
        else nn_matvec(out, inp, w, bias, N, K, OC, gelu_out ? NN_MV_GELU : 0);
        return;
    }
    if (w16) nn_linear_forward_bf16(out, run->cast, inp, w16, bias, N, 1, K, OC);
    else nn_linear_forward(out, inp, w, bias, N, 1, K, OC);
    if (gelu_out) nn_gelu_forward(gelu_out, out, (size_t)N * OC);
}

/* res (N,C) = x + dropout(inp (N,K) w^T + bias), through tmp (N,C); with no
 * dropout and few rows, added in place (res == x) by nn_matvec. */
static void block_branch(const model_block_run *run, float *res, const float *x, float *tmp,
                         uint8_t *mask, const float *inp, const float *w, const nn_bf16 *w16,
                         const float *bias, int N, int K, int C)
{
    const size_t NC = (size_t)N * C;
    if (N <= run->matvec_rows && run->dropout == 0.0f && res == x) {
        if (w16) nn_matvec_bf16(res, inp, w16, bias, N, K, C, NN_MV_ADD);
        else nn_matvec(res, inp, w, bias, N, K, C, NN_MV_ADD);
        return;
    }
    if (w16) nn_linear_forward_bf16(tmp, run->cast, inp, w16, bias, N, 1, K, C);
    else nn_linear_forward(tmp, inp, w, bias, N, 1, K, C);
    if (run->dropout > 0.0f) nn_dropout_forward(tmp, mask, tmp, run->dropout, run->rng, NC);
    nn_residual_forward(res, x, tmp, NC);
}

void model_block_forward(const model_block_run *run, int l, const model_block_params *bp,
                         const model_block_io *io, int N)
{
    const int C = run->C, F = run->F;
    const model_block_bf16 *wb = run->w16 ? &run->w16[l] : NULL;
    nn_layernorm_forward(io->ln1, io->ln1_mean, io->ln1_rstd, io->x, bp->ln1_w, bp->ln1_b, 1, N, C);
    block_linear(run, io->qkv, NULL, io->ln1, bp->qkv_w, wb ? wb->qkv_w : NULL, bp->qkv_b, N, C,
                 3 * C);
    run->attend(run->ctx, l, bp);
    block_branch(run, io->res2, io->x, io->tmp, io->mask_attn, io->atty, bp->proj_w,
                 wb ? wb->proj_w : NULL, bp->proj_b, N, C, C);
    nn_layernorm_forward(io->ln2, io->ln2_mean, io->ln2_rstd, io->res2, bp->ln2_w, bp->ln2_b, 1, N,
                         C);
    block_linear(run, io->fch, io->fch_gelu, io->ln2, bp->fc_w, wb ? wb->fc_w : NULL, bp->fc_b, N,
                 C, F);
    block_branch(run, io->out, io->res2, io->tmp, io->mask_mlp, io->fch_gelu, bp->fc2_w,
                 wb ? wb->fc2_w : NULL, bp->fc2_b, N, F, C);
}
