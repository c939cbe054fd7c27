/*
 * tiny_model.h: the small models tests build. test_model_make creates a
 * model for a config, initialises it from seed as model_init does, and
 * multiplies every parameter by scale (larger weights than GPT-2's 0.02 make
 * the logits vary between ids; 1 leaves them). test_model_tiny is the
 * smallest useful one: d_model 16, one layer, two heads, no dropout.
 */
#ifndef TG_TINY_MODEL_H
#define TG_TINY_MODEL_H

#include "model/model.h"
#include "test.h"

static inline tg_model *test_model_make(const model_config *c, int max_batch, uint64_t seed, float scale)
{
    tg_model *m = NULL;
    CHECK_OK(model_create(c, max_batch, &m));
    if (!m) abort();
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    model_init(m, &rng);
    if (scale != 1.0f) {
        float *p = model_param_data(m);
        for (size_t i = 0; i < model_param_count(m); i++) p[i] *= scale;
    }
    return m;
}

static inline tg_model *test_model_tiny(model_kind kind, int V, int T, int B, uint64_t seed, float scale)
{
    model_config c = model_config_default();
    c.kind = kind;
    c.vocab_size = V;
    c.d_model = 16;
    c.n_layers = 1;
    c.n_heads = 2;
    c.context = T;
    c.dropout = 0.0f;
    return test_model_make(&c, B, seed, scale);
}

#endif /* TG_TINY_MODEL_H */
