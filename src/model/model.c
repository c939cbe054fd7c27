/*
 * model.c: the model object: creation (parameter table, the four flat
 * blocks of parameters, gradients and AdamW moments, the activation arena),
 * initialisation from an explicit RNG, and the optimizer as flat loops over
 * the table (zeroing, global-norm clipping, AdamW with per-tensor decay,
 * copying and interpolating parameters for SeqGAN's rollout policy).
 * Forward and backward passes are in transformer.c, checkpoints in
 * checkpoint.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* ------------------------------------------------------------------------ */
/* Creation */

tg_status model_create(const model_config *cfg, int max_batch, tg_model **out)
{
    *out = NULL;
    if (model_config_check(cfg, NULL, 0) != TG_OK || max_batch < 1) return TG_ERR_ARG;
    tg_model *m = calloc(1, sizeof *m);
    if (!m) return TG_ERR_NOMEM;
    m->cfg = *cfg;
    m->max_batch = max_batch;
    m->C = cfg->d_model;
    m->H = cfg->n_heads;
    m->F = cfg->ff_mult * cfg->d_model;
    m->L = cfg->n_layers;
    m->V = cfg->vocab_size;
    m->R = cfg->attention != MODEL_ATTN_ABSOLUTE ? model_rel_rows(cfg) : 0;

    size_t n_floats = 0;
    m->n_tensors = model_layout(cfg, NULL, &n_floats, NULL, NULL, NULL, NULL, NULL, NULL);
    m->n_params = n_floats;
    m->table = calloc(m->n_tensors, sizeof *m->table);
    m->param_blocks = calloc((size_t)m->L, sizeof *m->param_blocks);
    m->grad_blocks = calloc((size_t)m->L, sizeof *m->grad_blocks);
    m->layers = calloc((size_t)m->L, sizeof *m->layers);
    /* one allocation for the four blocks: parameters, gradients, m, v */
    m->param_data = calloc(4 * n_floats, sizeof(float));
    tg_status s = TG_OK;
    if (!m->table || !m->param_blocks || !m->grad_blocks || !m->layers || !m->param_data)
        s = TG_ERR_NOMEM;
    if (s == TG_OK) {
        m->grad_data = m->param_data + n_floats;
        m->m_data = m->grad_data + n_floats;
        m->v_data = m->m_data + n_floats;
        model_layout(cfg, m->table, NULL, m->param_data, &m->params, m->param_blocks,
                     m->grad_data, &m->grads, m->grad_blocks);
        /* the run's precision (nn_set_precision): bf16 adds weight copies and
         * casts to the arena, so it is chosen before the arena is made */
        if (nn_get_precision() == NN_PRECISION_BF16) s = model_set_precision(m, NN_PRECISION_BF16);
    }
    if (s == TG_OK) s = tg_arena_create(model_acts_plan(m, max_batch, cfg->context, NULL), &m->arena);
    if (s != TG_OK) {
        model_free(m);
        return s;
    }
    *out = m;
    return TG_OK;
}

void model_free(tg_model *m)
{
    if (!m) return;
    tg_arena_free(m->arena);
    free(m->param_data);
    free(m->table);
    free(m->param_blocks);
    free(m->grad_blocks);
    free(m->layers);
    free(m->naive_scratch);
    free(m->w16_data);
    free(m->blocks16);
    free(m);
}

void model_init(tg_model *m, tg_rng *rng)
{
    const float std = 0.02f;
    const float res_std = std / sqrtf(2.0f * (float)m->L); /* GPT-2's scaled residual init */
    for (size_t i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->table[i];
        float *p = m->param_data + t->offset;
        for (size_t k = 0; k < t->numel; k++) {
            switch (t->init) {
            case MODEL_INIT_NORMAL: p[k] = std * tg_rng_normal(rng); break;
            case MODEL_INIT_RESIDUAL: p[k] = res_std * tg_rng_normal(rng); break;
            case MODEL_INIT_ZERO: p[k] = 0.0f; break;
            case MODEL_INIT_ONE: p[k] = 1.0f; break;
            }
        }
    }
    memset(m->grad_data, 0, 3 * m->n_params * sizeof(float));
    model_weights_changed(m);
}

/* ------------------------------------------------------------------------ */
/* Getters */

const model_config *model_get_config(const tg_model *m) { return &m->cfg; }
int model_max_batch(const tg_model *m) { return m->max_batch; }
size_t model_param_count(const tg_model *m) { return m->n_params; }
size_t model_arena_bytes(const tg_model *m) { return tg_arena_size(m->arena); }
size_t model_arena_high_water(const tg_model *m) { return tg_arena_high_water(m->arena); }
size_t model_state_bytes(const tg_model *m) { return 4 * m->n_params * sizeof(float); }
size_t model_tensor_count(const tg_model *m) { return m->n_tensors; }

const model_tensor *model_tensor_at(const tg_model *m, size_t i)
{
    return i < m->n_tensors ? &m->table[i] : NULL;
}

const model_tensor *model_tensor_find(const tg_model *m, const char *name)
{
    for (size_t i = 0; i < m->n_tensors; i++)
        if (strcmp(m->table[i].name, name) == 0) return &m->table[i];
    return NULL;
}

const model_params *model_get_params(const tg_model *m) { return &m->params; }
const model_params *model_get_grads(const tg_model *m) { return &m->grads; }
/* the caller may write through it: the bf16 copies count as behind */
float *model_param_data(tg_model *m)
{
    model_weights_changed(m);
    return m->param_data;
}
float *model_grad_data(tg_model *m) { return m->grad_data; }
float *model_adam_m(tg_model *m) { return m->m_data; }
float *model_adam_v(tg_model *m) { return m->v_data; }

/* ------------------------------------------------------------------------ */
/* Optimisation */

void model_zero_grad(tg_model *m) { memset(m->grad_data, 0, m->n_params * sizeof(float)); }

float model_clip_grad(tg_model *m, float max_norm)
{
    return nn_clip_grad_norm(m->grad_data, m->n_params, max_norm);
}

void model_adamw_step(tg_model *m, const nn_adamw_hparams *hp, int step)
{
    /* one update per run of neighbouring tensors with the same decay flag
     * (the tensors tile the block), so fewer parallel regions start */
    for (size_t i = 0; i < m->n_tensors;) {
        size_t j = i + 1, o = m->table[i].offset;
        while (j < m->n_tensors && m->table[j].decay == m->table[i].decay) j++;
        size_t end = j < m->n_tensors ? m->table[j].offset : m->n_params;
        nn_adamw_update(m->param_data + o, m->m_data + o, m->v_data + o, m->grad_data + o, hp,
                        step, m->table[i].decay, end - o);
        i = j;
    }
    model_weights_changed(m);
}

/* Same parameter layout: same config but for dropout (which has no tensors). */
static int same_layout(const tg_model *a, const tg_model *b)
{
    model_config ca = a->cfg, cb = b->cfg;
    ca.dropout = cb.dropout = 0.0f;
    return memcmp(&ca, &cb, sizeof ca) == 0 && a->n_params == b->n_params;
}

tg_status model_copy_params(tg_model *dst, const tg_model *src)
{
    if (!same_layout(dst, src)) return TG_ERR_SHAPE;
    memcpy(dst->param_data, src->param_data, dst->n_params * sizeof(float));
    model_weights_changed(dst);
    return TG_OK;
}

tg_status model_copy_params_any_context(tg_model *dst, const tg_model *src)
{
    model_config ca = dst->cfg, cb = src->cfg;
    ca.dropout = cb.dropout = 0.0f;
    ca.context = cb.context = 0;
    if (memcmp(&ca, &cb, sizeof ca) != 0 || dst->n_params != src->n_params) return TG_ERR_SHAPE;
    memcpy(dst->param_data, src->param_data, dst->n_params * sizeof(float));
    model_weights_changed(dst);
    return TG_OK;
}

tg_status model_lerp_params(tg_model *dst, const tg_model *src, float r)
{
    if (!same_layout(dst, src)) return TG_ERR_SHAPE;
    float *d = dst->param_data;
    const float *s = src->param_data;
    for (size_t i = 0; i < dst->n_params; i++) d[i] = r * d[i] + (1.0f - r) * s[i];
    model_weights_changed(dst);
    return TG_OK;
}

tg_status model_set_naive_attention(tg_model *m, int on)
{
    free(m->naive_scratch);
    m->naive_scratch = NULL;
    m->naive_attention = 0;
    if (!on) return TG_OK;
    size_t T = (size_t)m->cfg.context, D = (size_t)(m->C / m->H);
    m->naive_scratch = malloc(T * T * D * sizeof(float));
    if (!m->naive_scratch) return TG_ERR_NOMEM;
    m->naive_attention = 1;
    return TG_OK;
}
