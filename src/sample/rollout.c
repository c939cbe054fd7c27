/*
 * rollout.c: branching decodes from a cached prefix, for SeqGAN's Monte-Carlo
 * rollouts (Yu et al. 2017, https://arxiv.org/abs/1609.05473): the prefix of
 * each sequence is encoded once into one run state, then its keys and values
 * are copied into another state as N rows per sequence, and the N completions
 * are decoded from there. A rollout of a prefix of length t then costs
 * N x (T - t) fed tokens plus one copy of the cache, not N x T.
 *
 * Left out: sharing the prefix's cache between the copies (copy-on-write);
 * the copy is a memcpy of (L, H, len, D) floats per row, small beside the
 * decoding that follows.
 */
#include <string.h>

#include "sample.h"

void sample_state_fork(sample_state *dst, const sample_state *src, int copies)
{
    NN_ASSERT(dst->model == src->model);
    NN_ASSERT_OP(copies, >=, 1);
    NN_ASSERT_OP(src->B * copies, <=, dst->max_batch);
    const int L = src->L, H = src->H;
    /* one head's block: (T_ctx, D) floats, the first len rows in use */
    const size_t head = (size_t)src->T_ctx * src->D, used = (size_t)src->len * src->D;
    for (int l = 0; l < L; l++)
        for (int b = 0; b < src->B; b++)
            for (int c = 0; c < copies; c++) {
                const int row = b * copies + c;
                for (int h = 0; h < H; h++) {
                    size_t from = (((size_t)l * src->max_batch + b) * H + h) * head;
                    size_t to = (((size_t)l * dst->max_batch + row) * H + h) * head;
                    memcpy(dst->k + to, src->k + from, used * sizeof(float));
                    memcpy(dst->v + to, src->v + from, used * sizeof(float));
                }
            }
    dst->B = src->B * copies;
    dst->len = src->len;
}
