/*
 * precision.c: a model's bf16 side (mixed precision, src/nn/bf16.c). The
 * fp32 parameters stay the master weights that AdamW updates, clips and
 * saves; a bf16 model also keeps a bf16 copy of each weight matrix that a
 * matrix product reads (qkv, proj, fc, fc2 of every block, and wte as the
 * generator's output matrix), and the activation arena gains two bf16
 * buffers for the rounded activations and gradients of each product.
 *
 * The copy follows the master weights by a version count: every function
 * that writes the parameters bumps it (model_weights_changed, called by
 * model_init, the loads, model_adamw_step, model_copy_params,
 * model_lerp_params and model_param_data, whose callers write through the
 * pointer), and a forward pass or a cache reset refreshes the copy when it
 * is behind. Embeddings, LayerNorm, biases, the discriminator's head and
 * the attention products of training stay fp32; relative attention's table
 * has a bf16 copy too, for decoding's q . E over a bf16 key/value cache
 * (cache.c, decode.c).
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* Weight matrices per block and in all, in floats. */
static size_t block_matrices(const tg_model *m)
{
    const size_t C = (size_t)m->C, F = (size_t)m->F;
    return 3 * C * C + C * C + F * C + C * F;
}

/* The relative table's copy (decode.c's q . E over a bf16 cache): relative
 * attention only (fc's decoding keeps an fp32 cache and table). */
static size_t rel_floats(const tg_model *m)
{
    if (m->cfg.attention != MODEL_ATTN_RELATIVE || m->cfg.kind != MODEL_GENERATOR) return 0;
    return (size_t)m->H * m->R * (m->C / m->H);
}

static size_t all_matrices(const tg_model *m)
{
    size_t n = (size_t)m->L * (block_matrices(m) + rel_floats(m));
    if (m->cfg.kind == MODEL_GENERATOR) n += (size_t)m->V * m->C;
    return n;
}

/* The arena sized again for the (B,T) of creation: bf16 adds the casts.
 * The old one goes first (the arena is most of a model's memory: both at
 * once would double the peak). Nothing to do before model_create made one. */
static tg_status resize_arena(tg_model *m)
{
    if (!m->arena) return TG_OK;
    tg_arena_free(m->arena);
    m->arena = NULL;
    m->fwd_kind = 0; /* the last forward's activations are gone */
    return tg_arena_create(model_acts_plan(m, m->max_batch, m->cfg.context, NULL), &m->arena);
}

tg_status model_set_precision(tg_model *m, nn_precision p)
{
    TG_ASSERT(p == NN_PRECISION_FP32 || p == NN_PRECISION_BF16);
    if (m->bf16 && p == NN_PRECISION_FP32) {
        m->bf16 = 0;
        resize_arena(m); /* smaller: cannot fail short of memory for long */
    }
    free(m->w16_data);
    free(m->blocks16);
    m->w16_data = NULL;
    m->blocks16 = NULL;
    m->wte16 = NULL;
    m->rel16 = NULL;
    m->bf16 = 0;
    if (p == NN_PRECISION_FP32) return TG_OK;
    if (!nn_bf16_available()) return TG_ERR_UNSUPPORTED;
    m->w16_data = malloc(all_matrices(m) * sizeof(nn_bf16));
    m->blocks16 = calloc((size_t)m->L, sizeof *m->blocks16);
    if (!m->w16_data || !m->blocks16) {
        model_set_precision(m, NN_PRECISION_FP32);
        return TG_ERR_NOMEM;
    }
    const size_t C = (size_t)m->C, F = (size_t)m->F;
    nn_bf16 *w = m->w16_data;
    for (int l = 0; l < m->L; l++) {
        model_block_bf16 *b = &m->blocks16[l];
        b->qkv_w = w, w += 3 * C * C;
        b->proj_w = w, w += C * C;
        b->fc_w = w, w += F * C;
        b->fc2_w = w, w += C * F;
    }
    if (rel_floats(m)) m->rel16 = w, w += (size_t)m->L * rel_floats(m);
    if (m->cfg.kind == MODEL_GENERATOR) m->wte16 = w;
    m->bf16 = 1;
    m->w16_version = m->w_version - 1; /* behind: the next use refreshes */
    tg_status s = resize_arena(m);
    if (s != TG_OK) model_set_precision(m, NN_PRECISION_FP32);
    return s;
}

nn_precision model_precision(const tg_model *m)
{
    return m->bf16 ? NN_PRECISION_BF16 : NN_PRECISION_FP32;
}

void model_weights_changed(tg_model *m) { m->w_version++; }

/* The copy is derived state (a cache of the master weights): refreshing it
 * does not change the model's value, so readers holding a const model (the
 * decoding run state) may ask for it. */
void model_bf16_sync(const tg_model *cm)
{
    if (!cm->bf16 || cm->w16_version == cm->w_version) return;
    tg_model *m = (tg_model *)cm;
    const size_t C = (size_t)m->C, F = (size_t)m->F;
    for (int l = 0; l < m->L; l++) {
        const model_block_params *p = &m->params.blocks[l];
        model_block_bf16 *b = &m->blocks16[l];
        nn_bf16_from_f32_n(b->qkv_w, p->qkv_w, 3 * C * C);
        nn_bf16_from_f32_n(b->proj_w, p->proj_w, C * C);
        nn_bf16_from_f32_n(b->fc_w, p->fc_w, F * C);
        nn_bf16_from_f32_n(b->fc2_w, p->fc2_w, C * F);
        if (m->rel16) nn_bf16_from_f32_n(m->rel16 + l * rel_floats(m), p->rel, rel_floats(m));
    }
    if (m->wte16) nn_bf16_from_f32_n(m->wte16, m->params.wte, (size_t)m->V * C);
    m->w16_version = m->w_version;
}

size_t model_bf16_bytes(const tg_model *m)
{
    return m->bf16 ? all_matrices(m) * sizeof(nn_bf16) : 0;
}
