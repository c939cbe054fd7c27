/*
 * cache.c: the run state of incremental decoding: per layer, keys and values
 * of every token fed so far, (B, H, T_ctx, D) each, kept apart from the
 * model's weights (llama2.c's RunState), and the activations of one chunk of
 * new tokens. Everything is allocated once here; feeding never allocates.
 * decode.c runs the forward pass over it.
 *
 * Branching (model_cache_fork), for SeqGAN's Monte-Carlo rollouts (Yu et al.
 * 2017, https://arxiv.org/abs/1609.05473): the prefix of each sequence is
 * encoded once into one run state, then its keys and values are copied into
 * another state as N rows per sequence, and the N completions are decoded
 * from there. A rollout of a prefix of length t then costs N x (T - t) fed
 * tokens plus one copy of the cache, not N x T.
 *
 * Sharing (model_cache_share) skips the copy: the N rows of a prefix read
 * its keys and values in place, in the prefix's state, and keep their own
 * only from the shared length on (at the same positions of their own
 * buffers; the positions before stay unused). The copy was (L, H, len, D)
 * floats twice per row and prefix length: at 16 rollouts of 16 sequences it
 * moved more bytes than the decoding that followed read. decode.c's
 * attention reads the two segments in turn with the sums of one.
 *
 * FC-attention (src/nn/fcattn.c) adds the bars of every sequence (as in
 * nn_fc_plan), updated as tokens are fed, and each query reads only its keys.
 * Left out for it: dropping the keys and values no future query needs (a
 * token of a bar more than the largest distance back, other than its first):
 * the cache keeps every position, so its bytes per token are those of the
 * other kinds; the time per token is what FC-attention saves.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

static float *alloc_floats(size_t n, size_t *total)
{
    *total += n * sizeof(float);
    return calloc(n ? n : 1, sizeof(float));
}

tg_status model_cache_create(const tg_model *model, int max_batch, int max_chunk,
                              model_cache **out)
{
    *out = NULL;
    const model_config *cfg = model_get_config(model);
    if (cfg->kind != MODEL_GENERATOR || max_batch < 1 || max_chunk < 0) return TG_ERR_ARG;
    if (max_chunk == 0) max_chunk = 64;
    if (max_chunk > cfg->context) max_chunk = cfg->context;
    model_cache *s = calloc(1, sizeof *s);
    if (!s) return TG_ERR_NOMEM;
    s->model = model;
    s->p = model_get_params(model);
    s->C = cfg->d_model;
    s->H = cfg->n_heads;
    s->D = s->C / s->H;
    s->F = cfg->ff_mult * cfg->d_model;
    s->L = cfg->n_layers;
    s->V = cfg->vocab_size;
    s->T_ctx = cfg->context;
    s->R = cfg->attention == MODEL_ATTN_RELATIVE ? model_rel_rows(cfg) : 0;
    s->max_batch = max_batch;
    s->max_chunk = max_chunk;
    s->B = max_batch;

    const size_t BN = (size_t)max_batch * max_chunk, C = (size_t)s->C;
    size_t cache = (size_t)s->L * max_batch * s->H * s->T_ctx * s->D;
    s->k = alloc_floats(cache, &s->cache_bytes);
    s->v = alloc_floats(cache, &s->cache_bytes);
    s->x = alloc_floats(BN * C, &s->act_bytes);
    s->ln = alloc_floats(BN * C, &s->act_bytes);
    s->qkv = alloc_floats(BN * 3 * C, &s->act_bytes);
    s->atty = alloc_floats(BN * C, &s->act_bytes);
    s->tmp = alloc_floats(BN * C, &s->act_bytes);
    s->fch = alloc_floats(BN * (size_t)s->F, &s->act_bytes);
    s->mean = alloc_floats(BN, &s->act_bytes);
    s->rstd = alloc_floats(BN, &s->act_bytes);
    s->last = alloc_floats((size_t)max_batch * C, &s->act_bytes);
    s->scores = alloc_floats((size_t)max_batch * s->H * s->T_ctx, &s->act_bytes);
    s->qh = alloc_floats((size_t)max_batch * C, &s->act_bytes);
    s->relsc = alloc_floats(s->R ? (size_t)max_batch * s->H * s->T_ctx : 0, &s->act_bytes);
    s->tokens = calloc(BN, sizeof(int));
    s->act_bytes += BN * sizeof(int);
    s->fc = cfg->attention == MODEL_ATTN_FC;
    if (s->fc) {
        const size_t rows = (size_t)max_batch * (s->T_ctx + 2);
        s->fc_bar = calloc(rows, sizeof(int));
        s->fc_start = calloc(rows, sizeof(int));
        s->fc_nbars = calloc((size_t)max_batch, sizeof(int));
        s->fc_keys = calloc(rows, sizeof(int));
        s->fc_count = calloc((size_t)max_batch, sizeof(int));
        s->fc_qe = alloc_floats((size_t)max_batch * s->H * model_rel_rows(cfg), &s->act_bytes);
        s->cache_bytes += 2 * rows * sizeof(int) + (size_t)max_batch * sizeof(int);
        s->act_bytes += rows * sizeof(int);
        if (!s->fc_bar || !s->fc_start || !s->fc_nbars || !s->fc_keys || !s->fc_count || !s->fc_qe) {
            model_cache_free(s);
            return TG_ERR_NOMEM;
        }
    }
    s->shared_row = calloc((size_t)max_batch, sizeof(int));
    s->act_bytes += (size_t)max_batch * sizeof(int);
    if (!s->shared_row) {
        model_cache_free(s);
        return TG_ERR_NOMEM;
    }
    if (model_precision(model) == NN_PRECISION_BF16) {
        /* rounded inputs of a prefill's products: (B*n, F) at most, or (B, C) for the head */
        size_t w = BN * (size_t)s->F > (size_t)max_batch * C ? BN * (size_t)s->F : (size_t)max_batch * C;
        s->cast = calloc(w, sizeof(nn_bf16));
        s->act_bytes += w * sizeof(nn_bf16);
        if (!s->cast) {
            model_cache_free(s);
            return TG_ERR_NOMEM;
        }
    }
    if (!s->k || !s->v || !s->x || !s->ln || !s->qkv || !s->atty || !s->tmp || !s->fch ||
        !s->mean || !s->rstd || !s->last || !s->scores || !s->qh || !s->relsc || !s->tokens) {
        model_cache_free(s);
        return TG_ERR_NOMEM;
    }
    *out = s;
    return TG_OK;
}

void model_cache_free(model_cache *s)
{
    if (!s) return;
    free(s->k);
    free(s->v);
    free(s->x);
    free(s->ln);
    free(s->qkv);
    free(s->atty);
    free(s->tmp);
    free(s->fch);
    free(s->mean);
    free(s->rstd);
    free(s->last);
    free(s->scores);
    free(s->qh);
    free(s->relsc);
    free(s->tokens);
    free(s->fc_bar);
    free(s->fc_start);
    free(s->fc_nbars);
    free(s->fc_keys);
    free(s->fc_count);
    free(s->fc_qe);
    free(s->cast);
    free(s->shared_row);
    free(s);
}

void model_cache_reset(model_cache *s, int B)
{
    TG_ASSERT_OP(B, >=, 1);
    TG_ASSERT_OP(B, <=, s->max_batch);
    s->B = B;
    s->len = 0;
    s->shared = NULL;
    s->shared_len = 0;
}

/* fc: sequence `from`'s bars (the first len positions) become `to`'s. */
static void copy_bars(model_cache *dst, int to, const model_cache *src, int from)
{
    if (!src->fc) return;
    const size_t T = (size_t)src->T_ctx;
    const int nb = src->fc_nbars[from];
    memmove(dst->fc_bar + to * T, src->fc_bar + from * T, (size_t)src->len * sizeof(int));
    memmove(dst->fc_start + to * (T + 2), src->fc_start + from * (T + 2),
            (size_t)(nb + 1) * sizeof(int));
    dst->fc_nbars[to] = nb;
}

void model_cache_keep_rows(model_cache *s, const int *rows, int n)
{
    TG_ASSERT_OP(n, >=, 1);
    TG_ASSERT_OP(n, <=, s->B);
    /* one sequence's block of a layer: (H, T_ctx, D), of which the first len
     * positions of each head are in use */
    /* with a shared prefix only the row's own positions move, and its
     * prefix row goes with it */
    const size_t head = (size_t)s->T_ctx * s->D, own = (size_t)s->shared_len * s->D;
    const size_t used = (size_t)s->len * s->D - own;
    for (int i = 0; i < n; i++) {
        TG_ASSERT(rows[i] >= i && rows[i] < s->B && (i == 0 || rows[i] > rows[i - 1]));
        if (rows[i] == i) continue;
        copy_bars(s, i, s, rows[i]);
        s->shared_row[i] = s->shared_row[rows[i]];
        for (int l = 0; l < s->L; l++)
            for (int h = 0; h < s->H; h++) {
                size_t to = (((size_t)l * s->max_batch + i) * s->H + h) * head + own;
                size_t from = (((size_t)l * s->max_batch + rows[i]) * s->H + h) * head + own;
                memcpy(s->k + to, s->k + from, used * sizeof(float));
                memcpy(s->v + to, s->v + from, used * sizeof(float));
            }
    }
    s->B = n;
}

int model_cache_len(const model_cache *s) { return s->len; }
int model_cache_batch(const model_cache *s) { return s->B; }
size_t model_cache_bytes(const model_cache *s) { return s->cache_bytes + s->act_bytes; }
int model_cache_max_batch(const model_cache *s) { return s->max_batch; }
const tg_model *model_cache_model(const model_cache *s) { return s->model; }
void model_cache_fork(model_cache *dst, const model_cache *src, int copies)
{
    TG_ASSERT(dst->model == src->model);
    TG_ASSERT_OP(copies, >=, 1);
    TG_ASSERT_OP(src->B * copies, <=, dst->max_batch);
    TG_ASSERT(src->shared == NULL); /* a shared state's prefix is not in its own buffers */
    const int L = src->L, H = src->H;
    /* one head's block: (T_ctx, D) floats, the first len rows in use */
    const size_t head = (size_t)src->T_ctx * src->D, used = (size_t)src->len * src->D;
    for (int l = 0; l < L; l++)
        for (int b = 0; b < src->B; b++)
            for (int c = 0; c < copies; c++) {
                const int row = b * copies + c;
                if (l == 0) copy_bars(dst, row, src, b);
                for (int h = 0; h < H; h++) {
                    size_t from = (((size_t)l * src->max_batch + b) * H + h) * head;
                    size_t to = (((size_t)l * dst->max_batch + row) * H + h) * head;
                    memcpy(dst->k + to, src->k + from, used * sizeof(float));
                    memcpy(dst->v + to, src->v + from, used * sizeof(float));
                }
            }
    dst->B = src->B * copies;
    dst->len = src->len;
    dst->shared = NULL;
    dst->shared_len = 0;
}

void model_cache_share(model_cache *dst, const model_cache *src, int copies)
{
    TG_ASSERT(dst->model == src->model && dst != src);
    TG_ASSERT_OP(copies, >=, 1);
    TG_ASSERT_OP(src->B * copies, <=, dst->max_batch);
    TG_ASSERT(src->shared == NULL); /* one level of sharing */
    if (dst->fc) {
        /* FC-attention's cached step (decode.c, attend_fc) walks each row's
         * own keys and bars: it gets copies, which read the same numbers */
        model_cache_fork(dst, src, copies);
        return;
    }
    dst->B = src->B * copies;
    dst->len = src->len;
    dst->shared = src;
    dst->shared_len = src->len;
    for (int r = 0; r < dst->B; r++) dst->shared_row[r] = r / copies;
}
