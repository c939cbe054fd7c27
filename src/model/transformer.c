/*
 * transformer.c: forward and backward passes of the shared blocks, the
 * generator's tied LM head with its fused cross-entropy, and the
 * discriminator's mean-pooling classification head with binary
 * cross-entropy. Every buffer comes from the model's arena, carved afresh by
 * each forward pass for its (B,T) by model_acts_plan, the same function that
 * sized the arena at creation, so no pass can run out of it and none
 * allocates. See model.h for the architecture.
 *
 * Backward passes of the nn kernels ADD into their input gradients, so the
 * temporary gradient buffers are zeroed before each use, except where a
 * writing form exists (nn_linear_backward_into, nn_gelu_backward_inplace:
 * no zero fill); dx carries the gradient of the residual stream down through
 * the blocks.
 *
 * The block itself is model_block_forward (block.c), shared with cached
 * decoding (decode.c); this file gives it the attention step over whole
 * sequences. FC-attention (src/nn/fcattn.c) keeps each row's log-sum-exp in
 * the layer's att buffer, (B,H,T) instead of (B,H,T,T), and the bars of the
 * batch, computed once per forward from the tokens. Left out:
 * attention-probability dropout.
 */
#include <math.h>
#include <string.h>

#include "model.h"

/* ------------------------------------------------------------------------ */
/* Arena layout */

typedef struct {
    tg_arena *arena;
    size_t bytes;
} planner;

static void *take(planner *p, size_t bytes)
{
    p->bytes += TG_ARENA_BYTES(bytes);
    if (!p->arena) return NULL;
    void *ptr = tg_arena_alloc(p->arena, bytes);
    TG_ASSERT(ptr != NULL); /* the arena was sized for the largest (B,T) */
    return ptr;
}

static float *take_f(planner *p, size_t n) { return take(p, n * sizeof(float)); }

size_t model_acts_plan(tg_model *m, int B, int T, tg_arena *arena)
{
    planner p = {arena, 0};
    /* The pointers are written into the model only when carving: the plan of
     * model_create has no arena yet and leaves them alone. */
    model_acts a;
    memset(&a, 0, sizeof a);
    const size_t BT = (size_t)B * T, C = (size_t)m->C, F = (size_t)m->F, H = (size_t)m->H;
    const int causal = m->cfg.kind == MODEL_GENERATOR;
    const int fc = m->cfg.attention == MODEL_ATTN_FC;
    a.tokens = take(&p, BT * sizeof(int));
    a.targets = take(&p, BT * sizeof(int));
    a.lengths = take(&p, (size_t)B * sizeof(int));
    a.labels = take_f(&p, (size_t)B);
    a.emb = take_f(&p, BT * C);
    a.mask_emb = take(&p, BT * C);
    for (int l = 0; l < m->L; l++) {
        model_layer_acts la;
        la.ln1 = take_f(&p, BT * C);
        la.ln1_mean = take_f(&p, BT);
        la.ln1_rstd = take_f(&p, BT);
        la.qkv = take_f(&p, BT * 3 * C);
        la.att = take_f(&p, (size_t)B * H * T * (fc ? 1 : (size_t)T));
        la.atty = take_f(&p, BT * C);
        la.res2 = take_f(&p, BT * C);
        la.ln2 = take_f(&p, BT * C);
        la.ln2_mean = take_f(&p, BT);
        la.ln2_rstd = take_f(&p, BT);
        la.fch = take_f(&p, BT * F);
        la.fch_gelu = take_f(&p, BT * F);
        la.res3 = take_f(&p, BT * C);
        la.mask_attn = take(&p, BT * C);
        la.mask_mlp = take(&p, BT * C);
        if (arena) m->layers[l] = la;
    }
    a.lnf = take_f(&p, BT * C);
    a.lnf_mean = take_f(&p, BT);
    a.lnf_rstd = take_f(&p, BT);
    if (causal) {
        a.logits = take_f(&p, BT * (size_t)m->V);
        a.losses = take_f(&p, BT);
    } else {
        a.pooled = take_f(&p, (size_t)B * C);
        a.dlogit = take_f(&p, (size_t)B);
        a.disc_logits = take_f(&p, (size_t)B);
        a.probs = take_f(&p, (size_t)B);
        a.disc_losses = take_f(&p, (size_t)B);
    }
    a.tmp = take_f(&p, BT * C);
    a.scratch = take_f(&p, fc ? nn_fc_scratch_floats(T, m->H, m->C / m->H, m->R)
                               : nn_attention_scratch_floats(B, T, m->H, m->R > 0, causal));
    if (fc) {
        a.fc_bar = take(&p, BT * sizeof(int));
        a.fc_start = take(&p, (size_t)B * (T + 2) * sizeof(int));
        a.fc_nbars = take(&p, (size_t)B * sizeof(int));
        a.fc_keys = take(&p, H * T * sizeof(int));
    }
    a.dx = take_f(&p, BT * C);
    a.dc1 = take_f(&p, BT * C);
    a.dc2 = take_f(&p, BT * C);
    a.df1 = take_f(&p, BT * F);
    a.dqkv = take_f(&p, BT * 3 * C);
    if (m->bf16) {
        /* the widest operand of a product: qkv's 3C, fc's F or the head's V */
        size_t w = 3 * C > F ? 3 * C : F;
        if (causal && (size_t)m->V > w) w = (size_t)m->V;
        a.cast1 = take(&p, BT * w * sizeof(nn_bf16));
        a.cast2 = take(&p, BT * w * sizeof(nn_bf16));
    }
    if (arena) m->acts = a;
    return p.bytes;
}

/* ------------------------------------------------------------------------ */
/* Shared blocks */

static void zero(float *x, size_t n) { memset(x, 0, n * sizeof(float)); }

/* The bars of the batch for fc attention (filled by begin_forward). */
static nn_fc_plan fc_plan(const tg_model *m)
{
    const model_acts *a = &m->acts;
    nn_fc_plan p = {a->fc_bar, a->fc_start, a->fc_nbars, m->cfg.fc_distances,
                    model_fc_near(&m->cfg)};
    return p;
}

static void attention_forward(tg_model *m, model_layer_acts *la, const float *rel,
                              const int *lengths, int B, int T, int causal)
{
    if (m->cfg.attention == MODEL_ATTN_FC) {
        nn_fc_plan p = fc_plan(m);
        if (m->naive_attention)
            nn_fc_dense_forward(la->atty, la->att, la->qkv, rel, &p, B, T, m->C, m->H);
        else
            nn_fc_attention_forward(la->atty, la->att, m->acts.fc_keys, m->acts.scratch, la->qkv,
                                    rel, &p, B, T, m->C, m->H);
        return;
    }
    if (m->naive_attention)
        nn_attention_naive_forward(la->atty, la->att, m->naive_scratch, la->qkv, rel, lengths, B,
                                   T, m->C, m->H, m->R, causal);
    else
        nn_attention_forward(la->atty, la->att, m->acts.scratch, la->qkv, rel, lengths, B, T,
                             m->C, m->H, m->R, causal);
}

/* The attention step of a training block (model_block_run.attend): every
 * position of the batch, causal in the generator, with key padding by
 * lengths in the discriminator. */
typedef struct {
    tg_model *m;
    const int *lengths;
    int B, T;
} full_attention;

static void attend_full(void *ctx, int l, const model_block_params *bp)
{
    full_attention *fa = ctx;
    attention_forward(fa->m, &fa->m->layers[l], bp->rel, fa->lengths, fa->B, fa->T,
                      fa->m->cfg.kind == MODEL_GENERATOR);
}

static void attention_backward(tg_model *m, model_layer_acts *la, float *drel, const float *rel,
                               const int *lengths, int B, int T, int causal)
{
    model_acts *a = &m->acts;
    if (m->cfg.attention == MODEL_ATTN_FC) {
        nn_fc_plan p = fc_plan(m);
        if (m->naive_attention)
            nn_fc_dense_backward(a->dqkv, drel, a->dc2, la->qkv, rel, &p, B, T, m->C, m->H);
        else
            nn_fc_attention_backward(a->dqkv, drel, a->fc_keys, a->scratch, a->dc2, la->qkv, rel,
                                     la->atty, la->att, &p, B, T, m->C, m->H);
        return;
    }
    if (m->naive_attention)
        nn_attention_naive_backward(a->dqkv, drel, m->naive_scratch, a->dc2, la->qkv, rel,
                                    la->att, lengths, B, T, m->C, m->H, m->R, causal);
    else
        nn_attention_backward(a->dqkv, drel, a->scratch, a->dc2, la->qkv, rel, la->att, lengths,
                              B, T, m->C, m->H, m->R, causal);
}

/* Embedding, blocks and final LayerNorm: fills acts.lnf (B,T,C). */
static void body_forward(tg_model *m, const int *lengths, int B, int T, tg_rng *rng)
{
    model_acts *a = &m->acts;
    const model_params *p = &m->params;
    const int C = m->C;
    const size_t NC = (size_t)B * T * C;
    const float drop = m->fwd_dropout ? m->cfg.dropout : 0.0f;
    full_attention fa = {m, lengths, B, T};
    model_bf16_sync(m);
    const model_block_run run = {C, m->F, 0, drop, rng, attend_full, &fa, m->blocks16, a->cast1};

    nn_embedding_forward(a->emb, a->tokens, p->wte, p->wpe, B, T, C, m->V);
    if (drop > 0.0f) nn_dropout_forward(a->emb, a->mask_emb, a->emb, drop, rng, NC);
    const float *x = a->emb;
    for (int l = 0; l < m->L; l++) {
        model_layer_acts *la = &m->layers[l];
        const model_block_io io = {x, la->ln1, la->ln1_mean, la->ln1_rstd, la->qkv, la->atty,
                                   la->res2, la->ln2, la->ln2_mean, la->ln2_rstd, la->fch,
                                   la->fch_gelu, la->res3, a->tmp, la->mask_attn, la->mask_mlp};
        model_block_forward(&run, l, &p->blocks[l], &io, B * T);
        x = la->res3;
    }
    nn_layernorm_forward(a->lnf, a->lnf_mean, a->lnf_rstd, x, p->lnf_w, p->lnf_b, B, T, C);
}

/* nn_linear_backward_into, or its bf16 form when the model has bf16 copies
 * (w16 is then the copy of w). */
static void linear_back(tg_model *m, float *dinp, float *dw, float *dbias, const float *dout,
                        const float *inp, const float *w, const nn_bf16 *w16, int B, int T, int C,
                        int OC)
{
    if (m->bf16)
        nn_linear_backward_bf16(dinp, dw, dbias, m->acts.cast1, m->acts.cast2, dout, inp, w16, B,
                                T, C, OC);
    else
        nn_linear_backward_into(dinp, dw, dbias, dout, inp, w, B, T, C, OC);
}

/* From the gradient of lnf's output in acts.dc1 down to the embeddings. */
static void body_backward(tg_model *m, const int *lengths)
{
    model_acts *a = &m->acts;
    const model_params *p = &m->params;
    const model_params *g = &m->grads;
    const int B = m->fwd_B, T = m->fwd_T, C = m->C, F = m->F;
    const int causal = m->cfg.kind == MODEL_GENERATOR;
    const size_t NC = (size_t)B * T * C, NF = (size_t)B * T * F;
    const float drop = m->fwd_dropout ? m->cfg.dropout : 0.0f;
    const float *x_last = m->layers[m->L - 1].res3;

    zero(a->dx, NC);
    nn_layernorm_backward(a->dx, g->lnf_w, g->lnf_b, a->dc1, x_last, p->lnf_w, a->lnf_mean,
                          a->lnf_rstd, B, T, C);
    for (int l = m->L - 1; l >= 0; l--) {
        const model_block_params *bp = &p->blocks[l];
        const model_block_params *gb = &g->blocks[l];
        const model_block_bf16 zero16 = {NULL, NULL, NULL, NULL};
        const model_block_bf16 *wb = m->bf16 ? &m->blocks16[l] : &zero16;
        model_layer_acts *la = &m->layers[l];
        const float *x_in = l == 0 ? a->emb : m->layers[l - 1].res3;

        /* dx is the gradient of res3 = res2 + dropout(fc2(gelu(fc(ln2(res2))))) */
        const float *dbranch = a->dx;
        if (drop > 0.0f) {
            zero(a->dc1, NC);
            nn_dropout_backward(a->dc1, a->dx, la->mask_mlp, drop, NC);
            dbranch = a->dc1;
        }
        /* the _into and in-place forms write their gradient buffers: no zeroing */
        linear_back(m, a->df1, gb->fc2_w, gb->fc2_b, dbranch, la->fch_gelu, bp->fc2_w, wb->fc2_w, B,
                    T, F, C);
        nn_gelu_backward_inplace(a->df1, la->fch, NF);
        linear_back(m, a->dc2, gb->fc_w, gb->fc_b, a->df1, la->ln2, bp->fc_w, wb->fc_w, B, T, C, F);
        nn_layernorm_backward(a->dx, gb->ln2_w, gb->ln2_b, a->dc2, la->res2, bp->ln2_w,
                              la->ln2_mean, la->ln2_rstd, B, T, C);

        /* dx is now the gradient of res2 = x_in + dropout(proj(attention(...))) */
        dbranch = a->dx;
        if (drop > 0.0f) {
            zero(a->dc1, NC);
            nn_dropout_backward(a->dc1, a->dx, la->mask_attn, drop, NC);
            dbranch = a->dc1;
        }
        linear_back(m, a->dc2, gb->proj_w, gb->proj_b, dbranch, la->atty, bp->proj_w, wb->proj_w, B,
                    T, C, C);
        zero(a->dqkv, 3 * NC);
        attention_backward(m, la, gb->rel, bp->rel, lengths, B, T, causal);
        linear_back(m, a->dc1, gb->qkv_w, gb->qkv_b, a->dqkv, la->ln1, bp->qkv_w, wb->qkv_w, B, T,
                    C, 3 * C);
        nn_layernorm_backward(a->dx, gb->ln1_w, gb->ln1_b, a->dc1, x_in, bp->ln1_w, la->ln1_mean,
                              la->ln1_rstd, B, T, C);
    }

    const float *demb = a->dx;
    if (drop > 0.0f) {
        zero(a->dc1, NC);
        nn_dropout_backward(a->dc1, a->dx, a->mask_emb, drop, NC);
        demb = a->dc1;
    }
    nn_embedding_backward(g->wte, g->wpe, demb, a->tokens, B, T, C, m->V);
}

/* Common start of a forward pass: checks, carving, copies of the inputs. */
static void begin_forward(tg_model *m, const int *tokens, int B, int T, tg_rng *rng, int kind)
{
    TG_ASSERT_OP(B, >=, 1);
    TG_ASSERT_OP(B, <=, m->max_batch);
    TG_ASSERT_OP(T, >=, 1);
    TG_ASSERT_OP(T, <=, m->cfg.context);
    tg_arena_reset(m->arena);
    model_acts_plan(m, B, T, m->arena);
    const size_t BT = (size_t)B * T;
    for (size_t i = 0; i < BT; i++) {
        TG_ASSERT_OP(tokens[i], >=, 0);
        TG_ASSERT_OP(tokens[i], <, m->V);
    }
    memcpy(m->acts.tokens, tokens, BT * sizeof(int));
    if (m->cfg.attention == MODEL_ATTN_FC) /* the bars, once per batch (nn.h) */
        for (int b = 0; b < B; b++)
            nn_fc_bars(m->acts.fc_bar + (size_t)b * T, m->acts.fc_start + (size_t)b * (T + 2),
                       &m->acts.fc_nbars[b], tokens + (size_t)b * T, T, m->cfg.fc_bar_token);
    m->fwd_B = B;
    m->fwd_T = T;
    m->fwd_kind = kind;
    m->fwd_has_targets = 0;
    m->fwd_dropout = rng != NULL && m->cfg.dropout > 0.0f;
    m->n_valid = 0;
}

/* ------------------------------------------------------------------------ */
/* Generator: tied LM head and cross-entropy */

float model_lm_forward(tg_model *m, const int *tokens, const int *targets, int B, int T,
                       tg_rng *dropout_rng)
{
    TG_ASSERT(m->cfg.kind == MODEL_GENERATOR);
    begin_forward(m, tokens, B, T, dropout_rng, 1);
    model_acts *a = &m->acts;
    body_forward(m, NULL, B, T, dropout_rng);
    /* logits = lnf(x) wte^T: the output matrix is the token embedding */
    if (m->bf16)
        nn_linear_forward_bf16(a->logits, a->cast1, a->lnf, m->wte16, NULL, B, T, m->C, m->V);
    else
        nn_linear_forward(a->logits, a->lnf, m->params.wte, NULL, B, T, m->C, m->V);
    if (!targets) {
        memset(a->losses, 0, (size_t)B * T * sizeof(float));
        return 0.0f;
    }
    memcpy(a->targets, targets, (size_t)B * T * sizeof(int));
    m->fwd_has_targets = 1;
    return nn_crossentropy_forward(a->losses, a->logits, a->targets, MODEL_IGNORE_INDEX,
                                   &m->n_valid, B, T, m->V);
}

const float *model_logits(const tg_model *m) { return m->acts.logits; }
const float *model_losses(const tg_model *m) { return m->acts.losses; }
int model_loss_count(const tg_model *m) { return m->n_valid; }

static void lm_backward(tg_model *m, const float *dlosses)
{
    TG_ASSERT(m->fwd_kind == 1 && m->fwd_has_targets);
    model_acts *a = &m->acts;
    const int B = m->fwd_B, T = m->fwd_T;
    /* dlogits overwrite the logits in place */
    nn_crossentropy_backward(a->logits, a->logits, a->targets, dlosses, MODEL_IGNORE_INDEX, B, T,
                             m->V);
    linear_back(m, a->dc1, m->grads.wte, NULL, a->logits, a->lnf, m->params.wte, m->wte16, B, T,
                m->C, m->V);
    body_backward(m, NULL);
    m->fwd_kind = 0; /* the logits are gone: a second backward needs a new forward */
}

void model_lm_backward(tg_model *m) { lm_backward(m, NULL); }
void model_lm_backward_weighted(tg_model *m, const float *dlosses) { lm_backward(m, dlosses); }

/* ------------------------------------------------------------------------ */
/* Discriminator: mean pooling over the real positions, one logit */

/* The key lengths for the attention kernels: NULL when every sequence is
 * full (nothing to mask), the same choice in forward and backward. */
static const int *key_lengths(const tg_model *m)
{
    for (int b = 0; b < m->fwd_B; b++)
        if (m->acts.lengths[b] != m->fwd_T) return m->acts.lengths;
    return NULL;
}

float model_disc_forward(tg_model *m, const int *tokens, const int *lengths, const float *labels,
                         int B, int T, tg_rng *dropout_rng)
{
    TG_ASSERT(m->cfg.kind == MODEL_DISCRIMINATOR);
    begin_forward(m, tokens, B, T, dropout_rng, 2);
    model_acts *a = &m->acts;
    const int C = m->C;
    for (int b = 0; b < B; b++) {
        int len = lengths ? lengths[b] : T;
        TG_ASSERT_OP(len, >=, 1);
        TG_ASSERT_OP(len, <=, T);
        a->lengths[b] = len;
    }
    body_forward(m, key_lengths(m), B, T, dropout_rng);
    for (int b = 0; b < B; b++) {
        int len = a->lengths[b];
        float *pool = a->pooled + (size_t)b * C;
        memset(pool, 0, (size_t)C * sizeof(float));
        for (int t = 0; t < len; t++) {
            const float *h = a->lnf + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) pool[c] += h[c];
        }
        float inv = 1.0f / (float)len;
        for (int c = 0; c < C; c++) pool[c] *= inv;
    }
    nn_linear_forward(a->disc_logits, a->pooled, m->params.head_w, m->params.head_b, B, 1, C, 1);
    if (!labels) {
        model_bce_forward(NULL, a->probs, a->disc_logits, NULL, B);
        return 0.0f;
    }
    memcpy(a->labels, labels, (size_t)B * sizeof(float));
    m->fwd_has_targets = 1;
    return model_bce_forward(a->disc_losses, a->probs, a->disc_logits, a->labels, B);
}

const float *model_disc_probs(const tg_model *m) { return m->acts.probs; }
const float *model_disc_logits(const tg_model *m) { return m->acts.disc_logits; }

void model_disc_backward(tg_model *m)
{
    TG_ASSERT(m->fwd_kind == 2 && m->fwd_has_targets);
    model_acts *a = &m->acts;
    const int B = m->fwd_B, T = m->fwd_T, C = m->C;
    zero(a->dlogit, (size_t)B);
    model_bce_backward(a->dlogit, a->disc_logits, a->labels, B);
    /* dpooled (B,C) in dc2's first B*C floats */
    float *dpooled = a->dc2;
    zero(dpooled, (size_t)B * C);
    nn_linear_backward(dpooled, m->grads.head_w, m->grads.head_b, a->dlogit, a->pooled,
                       m->params.head_w, B, 1, C, 1);
    /* the mean's gradient spreads evenly over the real positions */
    zero(a->dc1, (size_t)B * T * C);
    for (int b = 0; b < B; b++) {
        int len = a->lengths[b];
        float inv = 1.0f / (float)len;
        for (int t = 0; t < len; t++) {
            float *d = a->dc1 + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++) d[c] = dpooled[(size_t)b * C + c] * inv;
        }
    }
    body_backward(m, key_lengths(m));
    m->fwd_kind = 0;
}
