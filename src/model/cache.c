/*
 * cache.c: the run state of incremental decoding: per layer, keys and values
 * of every token fed so far, (B, H, T_ctx, D) each, kept apart from the
 * model's weights (llama2.c's RunState), and the activations of one chunk of
 * new tokens. Everything is allocated once here; feeding never allocates,
 * but for FC-attention's slots (below), which grow when a row needs more.
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
 * nn_fc_plan), updated as tokens are fed, and keeps only the keys and values
 * a later query can read: a bar's tokens are read in full by its own
 * queries, by the opening Bar of the next bar (its summary) and by the bars
 * at the structure distances, so once the newest bar is more than the
 * largest distance past a bar, only that bar's first token (its summary) is
 * read again. After each fed chunk such bars give up their other tokens
 * (fc_compact); the cache holds slots, not positions: in order of position,
 * the summaries of the dropped bars, then every position of the bars kept
 * in full. A position's slot follows from the row's bars (fc_slot_of), so
 * the positions of the kept keys, which the clipped relative term needs,
 * stay the keys' own and nothing maps them. One bar more than the largest
 * distance stays in full, so that a prefix shared by rollouts may go on into
 * the next bar. Memory per row: the tokens of (largest distance + 2) bars
 * plus one summary per older bar, not the tune's tokens; the slots grow when
 * a chunk needs more (fc_reserve: feeding then allocates, up to T_ctx).
 * Rows sharing a prefix read the prefix's slots below shared_len (its own
 * layout) and keep their own from shared_len on. keep_rows and fork move
 * the slots in use, whose layout is each row's.
 *
 * bf16 models keep their keys and values in bf16 (k16, v16; issue 17): a
 * token's attention reads every key and value of its row, half the bytes
 * so, and decode.c computes q . k and att . V on them with AVX512-BF16 dot
 * products and fp32 sums (src/nn/attend_bf16.c). fp32 models keep the fp32
 * cache, bit for bit as before. FC-attention keeps an fp32 cache in both
 * precisions (its compact slots, their moves and growth stay one code path;
 * its tokens read a few bars, not the tune, so its attention is the smaller
 * share of a token).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* fc: slots per (layer, sequence, head) at creation, and the step of growth */
enum { FC_FIRST_SLOTS = 128, FC_GROW_SLOTS = 64 };

static float *alloc_floats(size_t n, size_t *total)
{
    *total += n * sizeof(float);
    return calloc(n ? n : 1, sizeof(float));
}

static nn_bf16 *alloc_bf16(size_t n, size_t *total)
{
    *total += n * sizeof(nn_bf16);
    return calloc(n ? n : 1, sizeof(nn_bf16));
}

/* The keys (w = 0) or values (w = 1) as bytes, and the bytes of one number:
 * the layout is the same in both precisions. */
static char *kv_bytes_of(const model_cache *s, int w)
{
    if (s->k16) return (char *)(w ? s->v16 : s->k16);
    return (char *)(w ? s->v : s->k);
}

static size_t kv_elem(const model_cache *s) { return s->k16 ? sizeof(nn_bf16) : sizeof(float); }

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
    s->fc = cfg->attention == MODEL_ATTN_FC;
    /* fc: slots for a few bars to start with, grown as rows need more */
    s->fc_cap = s->fc ? (s->T_ctx < FC_FIRST_SLOTS ? s->T_ctx : FC_FIRST_SLOTS) : s->T_ctx;
    size_t cache = (size_t)s->L * max_batch * s->H * s->fc_cap * s->D;
    if (model_precision(model) == NN_PRECISION_BF16 && !s->fc) {
        s->k16 = alloc_bf16(cache, &s->cache_bytes);
        s->v16 = alloc_bf16(cache, &s->cache_bytes);
    } else {
        s->k = alloc_floats(cache, &s->cache_bytes);
        s->v = alloc_floats(cache, &s->cache_bytes);
    }
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
    if (s->fc) {
        const size_t rows = (size_t)max_batch * (s->T_ctx + 2);
        s->fc_bar = calloc(rows, sizeof(int));
        s->fc_start = calloc(rows, sizeof(int));
        s->fc_nbars = calloc((size_t)max_batch, sizeof(int));
        s->fc_keys = calloc(rows, sizeof(int));
        s->fc_slot = calloc(rows, sizeof(int));
        s->fc_count = calloc((size_t)max_batch, sizeof(int));
        s->fc_j0 = calloc((size_t)max_batch, sizeof(int));
        s->fc_sbase = calloc((size_t)max_batch, sizeof(int));
        s->fc_qe = alloc_floats((size_t)max_batch * s->H * model_rel_rows(cfg), &s->act_bytes);
        s->fc_span = 1;
        for (int d = 1; d <= NN_FC_MAX_DISTANCE; d++)
            if ((cfg->fc_distances >> d) & 1u) s->fc_span = d + 1;
        s->cache_bytes += 2 * rows * sizeof(int) + (size_t)max_batch * 3 * sizeof(int);
        s->act_bytes += 2 * rows * sizeof(int);
        if (!s->fc_bar || !s->fc_start || !s->fc_nbars || !s->fc_keys || !s->fc_slot ||
            !s->fc_count || !s->fc_j0 || !s->fc_sbase || !s->fc_qe) {
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
    if (!kv_bytes_of(s, 0) || !kv_bytes_of(s, 1) || !s->x || !s->ln || !s->qkv || !s->atty || !s->tmp || !s->fch ||
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
    free(s->k16);
    free(s->v16);
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
    free(s->fc_slot);
    free(s->fc_count);
    free(s->fc_j0);
    free(s->fc_sbase);
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
    if (s->fc)
        for (int b = 0; b < s->max_batch; b++) {
            s->fc_j0[b] = s->fc_sbase[b] = 0;
            s->fc_start[(size_t)b * (s->T_ctx + 2)] = 0;
            s->fc_nbars[b] = 1;
        }
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

/* ------------------------------------------------------------------------ */
/* FC's compact cache: which slots a row keeps */

/* A row's own slots: n_summ summaries (bars fc_sbase .. fc_j0-1), then the
 * positions body_lo .. len-1. Positions below lo are a shared prefix's. */
typedef struct {
    int n_summ, body_lo;
} fc_layout;

static fc_layout layout_of(const model_cache *s, int b, int lo)
{
    const int *st = s->fc_start + (size_t)b * (s->T_ctx + 2);
    const int j0 = s->fc_j0[b], sb = s->fc_sbase[b];
    fc_layout L = {j0 > sb ? j0 - sb : 0, st[j0] > lo ? st[j0] : lo};
    return L;
}

int model_fc_slot(const model_cache *s, int b, int pos, int lo)
{
    const fc_layout L = layout_of(s, b, lo);
    if (pos >= L.body_lo) return L.n_summ + pos - L.body_lo;
    const int *st = s->fc_start + (size_t)b * (s->T_ctx + 2);
    const int K = s->fc_bar[(size_t)b * s->T_ctx + pos];
    if (st[K] != pos || K < s->fc_sbase[b] || pos < lo) return -1; /* dropped, or not this row's */
    return K - s->fc_sbase[b];
}

/* Slots row b uses: its summaries and its positions from body_lo on. */
static int used_slots(const model_cache *s, int b)
{
    const fc_layout L = layout_of(s, b, s->shared_len);
    return L.n_summ + s->len - L.body_lo;
}

/* The first bar of row b whose opening token is at or after lo and which has
 * a token (only bar 0 can be empty: when position 0 is a Bar). nb if none. */
static int first_own_bar(const int *st, int nb, int lo)
{
    if (lo == 0) return nb > 1 && st[1] == 0 ? 1 : 0;
    int a = 0, z = nb; /* the first K with st[K] >= lo */
    while (a < z) {
        int m = (a + z) / 2;
        if (st[m] < lo) a = m + 1;
        else z = m;
    }
    return a;
}

/* A (layer, row, head) block of the keys or values. */
static float *block_of(const model_cache *s, float *kv, int l, int b, int h)
{
    return kv + (((size_t)l * s->max_batch + b) * s->H + h) * s->fc_cap * s->D;
}

/* Moves row b's slots to the layout with fc_j0 = j1: the bars fc_j0..j1-1
 * keep only their summaries. Slots only move down, in order. */
static void compact_row(model_cache *s, int b, int j1)
{
    const int lo = s->shared_len, D = s->D;
    const int *st = s->fc_start + (size_t)b * (s->T_ctx + 2);
    const fc_layout old = layout_of(s, b, lo);
    const int j0 = s->fc_j0[b], sb = first_own_bar(st, s->fc_nbars[b], lo);
    s->fc_j0[b] = j1;
    s->fc_sbase[b] = sb;
    const fc_layout now = layout_of(s, b, lo);
    for (int l = 0; l < s->L; l++)
        for (int h = 0; h < s->H; h++)
            for (int w = 0; w < 2; w++) {
                float *x = block_of(s, w ? s->v : s->k, l, b, h);
                for (int K = j0 > sb ? j0 : sb; K < j1; K++)
                    memmove(x + (size_t)(K - sb) * D,
                            x + (size_t)(old.n_summ + st[K] - old.body_lo) * D,
                            (size_t)D * sizeof(float));
                memmove(x + (size_t)now.n_summ * D,
                        x + (size_t)(old.n_summ + now.body_lo - old.body_lo) * D,
                        (size_t)(s->len - now.body_lo) * D * sizeof(float));
            }
}

void model_fc_compact(model_cache *s)
{
    if (s->fc_keep_all) return;
    for (int b = 0; b < s->B; b++) {
        const int j1 = s->fc_nbars[b] - 1 - s->fc_span;
        if (j1 > s->fc_j0[b]) compact_row(s, b, j1);
    }
}

/* New blocks of cap slots, with the slots rows 0..B-1 use. */
static void regrow(model_cache *s, int cap)
{
    const size_t n = (size_t)s->L * s->max_batch * s->H * cap * s->D;
    float *k = calloc(n, sizeof(float)), *v = calloc(n, sizeof(float));
    if (!k || !v) {
        fprintf(stderr, "tunegan: out of memory: the key/value cache of %d slots (%zu MB)\n",
                cap, 2 * n * sizeof(float) >> 20);
        abort();
    }
    model_cache old = *s;
    s->fc_cap = cap;
    s->k = k, s->v = v;
    for (int b = 0; b < s->B; b++) {
        const size_t used = (size_t)used_slots(s, b) * s->D * sizeof(float);
        for (int l = 0; l < s->L; l++)
            for (int h = 0; h < s->H; h++) {
                memcpy(block_of(s, s->k, l, b, h), block_of(&old, old.k, l, b, h), used);
                memcpy(block_of(s, s->v, l, b, h), block_of(&old, old.v, l, b, h), used);
            }
    }
    free(old.k), free(old.v);
    s->cache_bytes = s->cache_bytes - 2 * (size_t)old.L * old.max_batch * old.H * old.fc_cap *
                     old.D * sizeof(float) + 2 * n * sizeof(float);
}

/* Room for `need` slots in every row. */
static void fit(model_cache *s, int need)
{
    if (need <= s->fc_cap) return;
    int cap = (need + FC_GROW_SLOTS - 1) / FC_GROW_SLOTS * FC_GROW_SLOTS;
    regrow(s, cap < s->T_ctx ? cap : s->T_ctx);
}

void model_fc_reserve(model_cache *s, int n)
{
    int need = 0;
    for (int b = 0; b < s->B; b++) {
        const int u = used_slots(s, b) + n;
        need = u > need ? u : need;
    }
    fit(s, need);
}

void model_cache_fc_keep_all(model_cache *s, int on)
{
    if (!s->fc) return;
    s->fc_keep_all = on != 0;
    if (on) fit(s, s->T_ctx);
}

/* ------------------------------------------------------------------------ */

/* Row `from`'s slots in use (its own, from 0) become row `to`'s, in every
 * layer and head. */
static void copy_slots(model_cache *dst, int to, const model_cache *src, int from, int used)
{
    const size_t bytes = (size_t)used * src->D * sizeof(float);
    for (int l = 0; l < src->L; l++)
        for (int h = 0; h < src->H; h++) {
            memcpy(block_of(dst, dst->k, l, to, h), block_of(src, src->k, l, from, h), bytes);
            memcpy(block_of(dst, dst->v, l, to, h), block_of(src, src->v, l, from, h), bytes);
        }
}

/* fc: row `from` of src becomes row `to` of dst: bars, layout and slots. */
static void copy_row_fc(model_cache *dst, int to, const model_cache *src, int from)
{
    const int used = used_slots(src, from);
    copy_bars(dst, to, src, from);
    dst->fc_j0[to] = src->fc_j0[from];
    dst->fc_sbase[to] = src->fc_sbase[from];
    copy_slots(dst, to, src, from, used);
}

void model_cache_keep_rows(model_cache *s, const int *rows, int n)
{
    TG_ASSERT_OP(n, >=, 1);
    TG_ASSERT_OP(n, <=, s->B);
    /* one sequence's block of a layer: (H, T_ctx, D), of which the first len
     * positions of each head are in use */
    /* with a shared prefix only the row's own positions move, and its
     * prefix row goes with it */
    const size_t es = kv_elem(s), head = (size_t)s->T_ctx * s->D, own = (size_t)s->shared_len * s->D;
    const size_t used = (size_t)s->len * s->D - own;
    char *k = kv_bytes_of(s, 0), *v = kv_bytes_of(s, 1);
    for (int i = 0; i < n; i++) {
        TG_ASSERT(rows[i] >= i && rows[i] < s->B && (i == 0 || rows[i] > rows[i - 1]));
        if (rows[i] == i) continue;
        s->shared_row[i] = s->shared_row[rows[i]];
        if (s->fc) {
            copy_row_fc(s, i, s, rows[i]);
            continue;
        }
        for (int l = 0; l < s->L; l++)
            for (int h = 0; h < s->H; h++) {
                size_t to = (((size_t)l * s->max_batch + i) * s->H + h) * head + own;
                size_t from = (((size_t)l * s->max_batch + rows[i]) * s->H + h) * head + own;
                memcpy(k + to * es, k + from * es, used * es);
                memcpy(v + to * es, v + from * es, used * es);
            }
    }
    s->B = n;
}

int model_cache_len(const model_cache *s) { return s->len; }
int model_cache_batch(const model_cache *s) { return s->B; }
size_t model_cache_bytes(const model_cache *s) { return s->cache_bytes + s->act_bytes; }
size_t model_cache_kv_bytes(const model_cache *s)
{
    return 2 * (size_t)s->L * s->max_batch * s->H * s->fc_cap * s->D * kv_elem(s);
}
int model_cache_max_batch(const model_cache *s) { return s->max_batch; }
const tg_model *model_cache_model(const model_cache *s) { return s->model; }

/* fc: dst's rows become src's rows, each `copies` times. */
static void fork_fc(model_cache *dst, const model_cache *src, int copies)
{
    int need = 0;
    for (int b = 0; b < src->B; b++) {
        const int u = used_slots(src, b);
        need = u > need ? u : need;
    }
    dst->B = 0; /* nothing of dst's to keep when the slots grow */
    dst->shared = NULL;
    dst->shared_len = 0;
    fit(dst, need);
    dst->len = src->len;
    for (int b = 0; b < src->B; b++)
        for (int c = 0; c < copies; c++) copy_row_fc(dst, b * copies + c, src, b);
    dst->B = src->B * copies;
}

void model_cache_fork(model_cache *dst, const model_cache *src, int copies)
{
    TG_ASSERT(dst->model == src->model);
    TG_ASSERT_OP(copies, >=, 1);
    TG_ASSERT_OP(src->B * copies, <=, dst->max_batch);
    TG_ASSERT(src->shared == NULL); /* a shared state's prefix is not in its own buffers */
    TG_ASSERT((dst->k16 == NULL) == (src->k16 == NULL)); /* created at the same precision */
    if (src->fc) {
        fork_fc(dst, src, copies);
        return;
    }
    const int L = src->L, H = src->H;
    /* one head's block: (T_ctx, D) floats, the first len rows in use */
    const size_t es = kv_elem(src), head = (size_t)src->T_ctx * src->D, used = (size_t)src->len * src->D;
    const char *sk = kv_bytes_of(src, 0), *sv = kv_bytes_of(src, 1);
    char *dk = kv_bytes_of(dst, 0), *dv = kv_bytes_of(dst, 1);
    for (int l = 0; l < L; l++)
        for (int b = 0; b < src->B; b++)
            for (int c = 0; c < copies; c++) {
                const int row = b * copies + c;
                for (int h = 0; h < H; h++) {
                    size_t from = (((size_t)l * src->max_batch + b) * H + h) * head;
                    size_t to = (((size_t)l * dst->max_batch + row) * H + h) * head;
                    memcpy(dk + to * es, sk + from * es, used * es);
                    memcpy(dv + to * es, sv + from * es, used * es);
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
    TG_ASSERT((dst->k16 == NULL) == (src->k16 == NULL)); /* created at the same precision */
    dst->B = src->B * copies;
    dst->len = src->len;
    dst->shared = src;
    dst->shared_len = src->len;
    for (int r = 0; r < dst->B; r++) {
        dst->shared_row[r] = r / copies;
        if (!dst->fc) continue;
        /* the bars so far are the prefix's; no slots of its own yet */
        copy_bars(dst, r, src, r / copies);
        dst->fc_j0[r] = dst->fc_sbase[r] = src->fc_j0[r / copies];
    }
}
