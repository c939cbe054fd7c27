/*
 * test_model.c: the model layer (src/model). Checks: presets, config checks
 * and the config JSON round trip; the parameter table (names, shapes,
 * offsets, decay flags, named pointers) and its size for the presets; the
 * initialisation; the BCE loss and the whole model's backward pass (generator
 * with relative and absolute attention, weighted REINFORCE backward,
 * discriminator with padding, all with dropout on) against central finite
 * differences; the skewed relative attention equal to the naive one inside
 * the whole model; bit-identical weights after training steps from one seed;
 * dropout off at evaluation; forward/backward carving the same arena bytes
 * every step; checkpoints (save, load, every damaged case and the shape
 * mismatch message); optimizer state that resumes bit-exact; copy and lerp.
 */
#include <malloc.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/core.h"
#include "safetensors/safetensors.h"
#include "model/model.h"
#include "test.h"
#include "tiny_model.h"

static char tmp_dir[512];

static const char *tmp_path(const char *name)
{
    static char buf[8][640];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", tmp_dir, name);
    return buf[k];
}

static model_config micro_config(model_kind kind, model_attention attn)
{
    model_config c = model_config_default();
    c.kind = kind;
    c.attention = attn;
    c.vocab_size = 11;
    c.d_model = 8;
    c.n_layers = 2;
    c.n_heads = 2;
    c.context = 6;
    c.ff_mult = 2;
    c.dropout = 0.0f;
    return c;
}

static tg_model *make_model(const model_config *cfg, int max_batch, uint64_t seed)
{
    return test_model_make(cfg, max_batch, seed, 1.0f);
}

static void random_tokens(int *x, size_t n, int V, tg_rng *rng)
{
    for (size_t i = 0; i < n; i++) x[i] = (int)tg_rng_below(rng, (uint32_t)V);
}

/* max |a-b| / max(max |b|, tiny) */
static double max_rel(const float *a, const float *b, size_t n)
{
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        num = d > num ? d : num;
        den = fabs(b[i]) > den ? fabs(b[i]) : den;
    }
    return num / den;
}

static float *copy_floats(const float *x, size_t n)
{
    float *y = malloc(n * sizeof(float));
    memcpy(y, x, n * sizeof(float));
    return y;
}

/* ------------------------------------------------------------------------ */

static void test_config(void)
{
    model_config c = model_config_default();
    c.vocab_size = 577;
    CHECK_OK(model_config_preset("small", &c));
    CHECK_INT(c.d_model, 256);
    CHECK_INT(c.n_layers, 4);
    CHECK_INT(c.n_heads, 4);
    CHECK_INT(c.context, 256);
    CHECK_INT(c.ff_mult, 4);
    CHECK_INT(c.vocab_size, 577);
    CHECK_OK(model_config_preset("base", &c));
    CHECK_INT(c.d_model, 512);
    CHECK_INT(c.n_layers, 6);
    CHECK_INT(c.n_heads, 8);
    CHECK_INT(c.context, 512);
    CHECK_OK(model_config_preset("tiny", &c));
    CHECK_INT(c.d_model, 128);
    CHECK_INT(c.context, 128);
    CHECK_STATUS(model_config_preset("huge", &c), TG_ERR_ARG);
    CHECK_OK(model_config_check(&c, NULL, 0));

    char why[200];
    model_config bad = c;
    bad.n_heads = 3;
    CHECK_STATUS(model_config_check(&bad, why, sizeof why), TG_ERR_ARG);
    CHECK_STR(why, "d_model 128 is not divisible by n_heads 3");
    bad = c;
    bad.vocab_size = 0;
    CHECK_STATUS(model_config_check(&bad, why, sizeof why), TG_ERR_ARG);
    CHECK(strstr(why, "vocab_size 0") != NULL);
    bad = c;
    bad.dropout = 1.0f;
    CHECK_STATUS(model_config_check(&bad, why, sizeof why), TG_ERR_ARG);
    CHECK(strstr(why, "dropout") != NULL);
    bad = c;
    bad.context = 0;
    CHECK_STATUS(model_config_check(&bad, why, sizeof why), TG_ERR_ARG);
    bad = c;
    bad.n_layers = -1;
    CHECK_STATUS(model_config_check(&bad, why, sizeof why), TG_ERR_ARG);
    tg_model *m = NULL;
    CHECK_STATUS(model_create(&bad, 1, &m), TG_ERR_ARG);
    CHECK(m == NULL);

    /* JSON round trip, both kinds and attentions */
    char json[512];
    c.kind = MODEL_DISCRIMINATOR;
    c.attention = MODEL_ATTN_ABSOLUTE;
    c.dropout = 0.1f;
    CHECK_OK(model_config_to_json(&c, json, sizeof json));
    CHECK(strstr(json, "\"dropout\":0.1}") != NULL);
    CHECK(strstr(json, "\"kind\":\"discriminator\"") != NULL);
    model_config back;
    CHECK_OK(model_config_from_json(json, &back, why, sizeof why));
    CHECK(memcmp(&back, &c, sizeof c) == 0);
    CHECK_STATUS(model_config_to_json(&c, json, 20), TG_ERR_TOO_LARGE);

    static const struct {
        const char *json, *why;
    } bads[] = {
        {"[1]", "not a JSON object"},
        {"{\"version\":1}", "\"kind\" is missing"},
        {"{\"version\":2,\"kind\":\"generator\"}", "version 2"},
        {"{\"version\":1,\"kind\":\"generator\",\"attention\":\"relative\",\"vocab_size\":5,"
         "\"d_model\":8,\"n_layers\":1,\"n_heads\":2,\"context\":4,\"ff_mult\":4,\"dropout\":0,"
         "\"colour\":1}",
         "unknown key \"colour\""},
        {"{\"version\":1,\"kind\":\"generator\",\"attention\":\"relative\",\"vocab_size\":5.5,"
         "\"d_model\":8,\"n_layers\":1,\"n_heads\":2,\"context\":4,\"ff_mult\":4,\"dropout\":0}",
         "\"vocab_size\" is not an integer"},
        {"{\"version\":1,\"kind\":\"generator\",\"attention\":\"sideways\",\"vocab_size\":5,"
         "\"d_model\":8,\"n_layers\":1,\"n_heads\":2,\"context\":4,\"ff_mult\":4,\"dropout\":0}",
         "unknown attention \"sideways\""},
        {"{\"version\":1,\"kind\":\"generator\",\"attention\":\"relative\",\"vocab_size\":5,"
         "\"d_model\":8,\"n_layers\":1,\"n_heads\":3,\"context\":4,\"ff_mult\":4,\"dropout\":0}",
         "d_model 8 is not divisible by n_heads 3"},
        {"{\"version\":1,\"kind\":\"generator\",\"attention\":\"relative\",\"vocab_size\":5,"
         "\"d_model\":8,\"n_layers\":1,\"n_heads\":2,\"context\":4,\"ff_mult\":4}",
         "\"dropout\" is missing"},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(bads); i++) {
        why[0] = '\0';
        CHECK_STATUS(model_config_from_json(bads[i].json, &back, why, sizeof why), TG_ERR_ARG);
        if (!strstr(why, bads[i].why)) TEST_FAIL_("config JSON %zu: reason \"%s\" lacks \"%s\"", i, why, bads[i].why);
    }
}

/* ------------------------------------------------------------------------ */

static size_t expected_params(const model_config *c)
{
    size_t V = c->vocab_size, C = c->d_model, L = c->n_layers, T = c->context;
    size_t F = (size_t)c->ff_mult * C;
    size_t R = c->kind == MODEL_GENERATOR ? T : 2 * T - 1;
    size_t rel = c->attention == MODEL_ATTN_RELATIVE ? R * C : 0; /* H*R*D = R*C */
    size_t wpe = c->attention == MODEL_ATTN_ABSOLUTE ? T * C : 0;
    size_t block = 2 * C + 3 * C * C + 3 * C + rel + C * C + C + 2 * C + F * C + F + C * F + C;
    size_t head = c->kind == MODEL_DISCRIMINATOR ? C + 1 : 0;
    return V * C + wpe + L * block + 2 * C + head;
}

static void test_table(void)
{
    model_config c = model_config_default();
    c.vocab_size = 577;
    tg_model *m = NULL;
    CHECK_OK(model_create(&c, 2, &m));
    CHECK_INT(model_param_count(m), expected_params(&c));
    CHECK_INT(model_tensor_count(m), 1 + 2 * 13 + 2);
    CHECK_STR(model_tensor_at(m, 0)->name, "wte.weight");
    CHECK_STR(model_tensor_at(m, 1)->name, "blocks.0.ln1.weight");
    CHECK_STR(model_tensor_at(m, 3)->name, "blocks.0.attn.qkv.weight");
    CHECK_STR(model_tensor_at(m, 27)->name, "lnf.weight");
    CHECK(model_tensor_at(m, 29) == NULL);
    const model_tensor *t = model_tensor_find(m, "blocks.1.attn.rel");
    CHECK(t != NULL);
    if (t) {
        CHECK_INT(t->ndim, 3);
        CHECK_INT(t->shape[0], 4);
        CHECK_INT(t->shape[1], 128);
        CHECK_INT(t->shape[2], 32);
        CHECK_INT(t->decay, 0);
        CHECK(model_get_params(m)->blocks[1].rel == model_param_data(m) + t->offset);
        CHECK(model_get_grads(m)->blocks[1].rel == model_grad_data(m) + t->offset);
    }
    t = model_tensor_find(m, "blocks.0.attn.qkv.weight");
    CHECK(t && t->decay == 1 && t->shape[0] == 384 && t->shape[1] == 128);
    CHECK(model_tensor_find(m, "blocks.0.mlp.fc2.weight")->decay == 1);
    CHECK(model_tensor_find(m, "blocks.0.mlp.fc2.bias")->decay == 0);
    CHECK(model_tensor_find(m, "blocks.0.ln2.weight")->decay == 0);
    CHECK(model_tensor_find(m, "wte.weight")->decay == 0);
    CHECK(model_tensor_find(m, "wpe.weight") == NULL);
    CHECK(model_tensor_find(m, "head.weight") == NULL);
    CHECK(model_get_params(m)->wpe == NULL && model_get_params(m)->head_w == NULL);
    /* offsets tile the block without holes */
    size_t at = 0;
    for (size_t i = 0; i < model_tensor_count(m); i++) {
        CHECK_INT(model_tensor_at(m, i)->offset, at);
        at += model_tensor_at(m, i)->numel;
    }
    CHECK_INT(at, model_param_count(m));
    model_free(m);

    c.kind = MODEL_DISCRIMINATOR;
    c.attention = MODEL_ATTN_ABSOLUTE;
    CHECK_OK(model_create(&c, 2, &m));
    CHECK_INT(model_param_count(m), expected_params(&c));
    CHECK(model_tensor_find(m, "wpe.weight") != NULL);
    CHECK(model_tensor_find(m, "blocks.0.attn.rel") == NULL);
    t = model_tensor_find(m, "head.weight");
    CHECK(t && t->decay == 1 && t->shape[0] == 1 && t->shape[1] == 128);
    CHECK(model_get_params(m)->head_b == model_param_data(m) + model_tensor_find(m, "head.bias")->offset);
    model_free(m);
    c.attention = MODEL_ATTN_RELATIVE;
    CHECK_OK(model_create(&c, 2, &m));
    CHECK_INT(model_tensor_find(m, "blocks.0.attn.rel")->shape[1], 255); /* 2*128-1 */
    CHECK_INT(model_param_count(m), expected_params(&c));
    model_free(m);

    /* the sizes the lead prints: small preset, Nottingham remi vocabulary */
    c = model_config_default();
    c.vocab_size = 577;
    CHECK_OK(model_config_preset("small", &c));
    CHECK_OK(model_create(&c, 16, &m));
    printf("small preset (V 577, T 256, batch 16): %zu parameters, arena %.1f MiB, "
           "parameters+gradients+AdamW %.1f MiB\n",
           model_param_count(m), model_arena_bytes(m) / 1048576.0, model_state_bytes(m) / 1048576.0);
    CHECK_INT(model_param_count(m), expected_params(&c));
    model_free(m);
}

static void test_init(void)
{
    model_config c = model_config_default();
    c.vocab_size = 300;
    c.n_layers = 4;
    tg_model *a = make_model(&c, 1, 7), *b = make_model(&c, 1, 7), *d = make_model(&c, 1, 8);
    size_t n = model_param_count(a);
    CHECK(memcmp(model_param_data(a), model_param_data(b), n * sizeof(float)) == 0);
    CHECK(memcmp(model_param_data(a), model_param_data(d), n * sizeof(float)) != 0);
    const model_params *p = model_get_params(a);
    CHECK(p->blocks[0].ln1_w[0] == 1.0f && p->blocks[3].ln2_w[127] == 1.0f && p->lnf_w[5] == 1.0f);
    CHECK(p->blocks[0].qkv_b[0] == 0.0f && p->blocks[2].fc2_b[3] == 0.0f && p->lnf_b[0] == 0.0f);
    struct {
        const float *x;
        size_t n;
        double want;
    } stds[] = {
        {p->wte, 300 * 128, 0.02},
        {p->blocks[1].qkv_w, 384 * 128, 0.02},
        {p->blocks[1].rel, 128 * 128, 0.02},
        {p->blocks[1].proj_w, 128 * 128, 0.02 / sqrt(8.0)},
        {p->blocks[2].fc2_w, 128 * 512, 0.02 / sqrt(8.0)},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(stds); i++) {
        double s = 0, s2 = 0;
        for (size_t k = 0; k < stds[i].n; k++) {
            s += stds[i].x[k];
            s2 += (double)stds[i].x[k] * stds[i].x[k];
        }
        double mean = s / stds[i].n, sd = sqrt(s2 / stds[i].n - mean * mean);
        CHECK_NEAR(sd, stds[i].want, 0.05 * stds[i].want);
        CHECK(fabs(mean) < 0.1 * stds[i].want);
    }
    model_free(a);
    model_free(b);
    model_free(d);
}

/* ------------------------------------------------------------------------ */
/* Finite differences */

static void test_bce(void)
{
    const float z[6] = {-3.0f, -0.2f, 0.0f, 0.7f, 2.5f, 100.0f};
    const float y[6] = {0.0f, 1.0f, 0.5f, 0.3f, 1.0f, 0.0f};
    float losses[6], probs[6], g[6] = {0};
    float mean = model_bce_forward(losses, probs, z, y, 6);
    CHECK(isfinite(mean));
    CHECK_NEAR(probs[2], 0.5, 1e-7);
    CHECK_NEAR(losses[5], 100.0, 1e-6); /* -log(1 - sigmoid(100)) = 100 */
    CHECK_NEAR(losses[2], log(2.0), 1e-6);
    model_bce_backward(g, z, y, 6);
    for (int i = 0; i < 5; i++) {
        float zp[6], zm[6];
        memcpy(zp, z, sizeof zp);
        memcpy(zm, z, sizeof zm);
        const float h = 1e-2f;
        zp[i] += h;
        zm[i] -= h;
        double fd = ((double)model_bce_forward(NULL, NULL, zp, y, 6) -
                     model_bce_forward(NULL, NULL, zm, y, 6)) / (2.0 * h);
        CHECK_NEAR(g[i], fd, 2e-4);
    }
    CHECK_NEAR(g[5], 1.0 / 6, 1e-6);
    float none = model_bce_forward(NULL, probs, z, NULL, 6);
    CHECK(none == 0.0f);
}

typedef struct {
    int B, T;
    int tokens[64], targets[64], lengths[8];
    float labels[8], dlosses[64];
    int weighted; /* generator: REINFORCE-weighted loss */
} fd_batch;

/* The loss of one forward pass with dropout masks from a fixed seed, so that
 * every evaluation sees the same masks. */
static double fd_loss(tg_model *m, const fd_batch *b, int backward)
{
    tg_rng drop;
    tg_rng_seed(&drop, 99);
    double loss;
    if (model_get_config(m)->kind == MODEL_GENERATOR) {
        loss = model_lm_forward(m, b->tokens, b->targets, b->B, b->T, &drop);
        if (b->weighted) {
            const float *l = model_losses(m);
            loss = 0;
            for (int i = 0; i < b->B * b->T; i++) loss += (double)b->dlosses[i] * l[i];
        }
        if (backward) {
            if (b->weighted) model_lm_backward_weighted(m, b->dlosses);
            else model_lm_backward(m);
        }
    } else {
        loss = model_disc_forward(m, b->tokens, b->lengths, b->labels, b->B, b->T, &drop);
        if (backward) model_disc_backward(m);
    }
    return loss;
}

static void check_fd(const char *what, const model_config *cfg, const fd_batch *b)
{
    tg_model *m = make_model(cfg, b->B, 5);
    /* weights well away from the N(0,0.02) start so that every gradient is
     * sizeable next to float rounding */
    tg_rng rng;
    tg_rng_seed(&rng, 11);
    float *p = model_param_data(m);
    for (size_t i = 0; i < model_param_count(m); i++) p[i] += 0.3f * tg_rng_normal(&rng);
    model_zero_grad(m);
    fd_loss(m, b, 1);
    const float *g = model_grad_data(m);
    double worst = 0;
    const char *worst_name = "";
    int bad = 0;
    for (size_t ti = 0; ti < model_tensor_count(m); ti++) {
        const model_tensor *t = model_tensor_at(m, ti);
        for (int k = 0; k < 4; k++) {
            size_t i = t->offset + (k == 0 ? 0 : tg_rng_below(&rng, (uint32_t)t->numel));
            /* central differences at h and 2h, combined (Richardson) so that
             * the O(h^2) term cancels: float rounding keeps h from shrinking */
            float keep = p[i];
            double d[2];
            for (int r = 0; r < 2; r++) {
                const float h = r == 0 ? 1e-2f : 2e-2f;
                p[i] = keep + h;
                double up = fd_loss(m, b, 0);
                p[i] = keep - h;
                double down = fd_loss(m, b, 0);
                d[r] = (up - down) / (2.0 * h);
            }
            p[i] = keep;
            double fd = (4.0 * d[0] - d[1]) / 3.0;
            /* relative error, with a floor: the forward pass is float, so the
             * differences carry ~3e-5 of absolute noise */
            double err = fabs(fd - g[i]) / fmax(fmax(fabs(fd), fabs(g[i])), 1e-2);
            if (err > worst) {
                worst = err;
                worst_name = t->name;
            }
            if (err > 5e-3 && bad++ < 5)
                TEST_FAIL_("%s: %s[%zu]: backward %.7g, finite difference %.7g", what, t->name,
                           i - t->offset, g[i], fd);
        }
    }
    test_checks_++;
    printf("fd %-28s worst relative error %.2e (%s)\n", what, worst, worst_name);
    model_free(m);
}

static void test_fd(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    fd_batch b;
    memset(&b, 0, sizeof b);
    b.B = 2;
    b.T = 5; /* < context: the relative table is read from its middle rows */
    random_tokens(b.tokens, 10, 11, &rng);
    random_tokens(b.targets, 10, 11, &rng);
    b.targets[3] = MODEL_IGNORE_INDEX;
    b.targets[9] = MODEL_IGNORE_INDEX;

    model_config c = micro_config(MODEL_GENERATOR, MODEL_ATTN_RELATIVE);
    c.dropout = 0.2f;
    check_fd("generator relative", &c, &b);
    c.attention = MODEL_ATTN_ABSOLUTE;
    check_fd("generator absolute", &c, &b);
    c.attention = MODEL_ATTN_RELATIVE;
    b.weighted = 1;
    for (int i = 0; i < 10; i++) b.dlosses[i] = 2.0f * tg_rng_float(&rng) - 1.0f;
    check_fd("generator weighted (REINFORCE)", &c, &b);
    b.weighted = 0;

    c = micro_config(MODEL_DISCRIMINATOR, MODEL_ATTN_RELATIVE);
    c.dropout = 0.2f;
    b.lengths[0] = 5;
    b.lengths[1] = 3;
    b.tokens[8] = b.tokens[9] = 0; /* padding */
    b.labels[0] = 1.0f;
    b.labels[1] = 0.0f;
    check_fd("discriminator relative", &c, &b);
    c.attention = MODEL_ATTN_ABSOLUTE;
    check_fd("discriminator absolute", &c, &b);
}

/* ------------------------------------------------------------------------ */

static void compare_runs(const char *what, const model_config *cfg, int B, int T,
                         const int *tokens, const int *targets, const int *lengths,
                         const float *labels)
{
    tg_model *m = make_model(cfg, B, 21);
    size_t n = model_param_count(m);
    float loss[2];
    float *grads[2], *outs[2];
    size_t n_out = cfg->kind == MODEL_GENERATOR ? (size_t)B * T * cfg->vocab_size : (size_t)B;
    for (int naive = 0; naive < 2; naive++) {
        CHECK_OK(model_set_naive_attention(m, naive));
        model_zero_grad(m);
        if (cfg->kind == MODEL_GENERATOR) {
            loss[naive] = model_lm_forward(m, tokens, targets, B, T, NULL);
            outs[naive] = copy_floats(model_logits(m), n_out);
            model_lm_backward(m);
        } else {
            loss[naive] = model_disc_forward(m, tokens, lengths, labels, B, T, NULL);
            outs[naive] = copy_floats(model_disc_probs(m), n_out);
            model_disc_backward(m);
        }
        grads[naive] = copy_floats(model_grad_data(m), n);
    }
    double e_out = max_rel(outs[0], outs[1], n_out);
    double e_grad = 0;
    for (size_t i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        double e = max_rel(grads[0] + t->offset, grads[1] + t->offset, t->numel);
        e_grad = e > e_grad ? e : e_grad;
    }
    printf("skewed vs naive %-14s loss %.9g vs %.9g, outputs %.2e, worst gradient %.2e\n", what,
           loss[0], loss[1], e_out, e_grad);
    CHECK_NEAR(loss[0], loss[1], 1e-6);
    CHECK(e_out < 1e-5);
    CHECK(e_grad < 1e-4);
    for (int i = 0; i < 2; i++) {
        free(grads[i]);
        free(outs[i]);
    }
    model_free(m);
}

static void test_skew_equals_naive(void)
{
    model_config c = micro_config(MODEL_GENERATOR, MODEL_ATTN_RELATIVE);
    c.vocab_size = 13;
    c.d_model = 16;
    c.context = 40;
    c.dropout = 0.3f; /* not used: evaluation mode */
    enum { B = 3, T = 37 }; /* more than one 32-row block of the causal kernel */
    int tokens[B * T], targets[B * T], lengths[B] = {37, 20, 1};
    float labels[B] = {1.0f, 0.0f, 1.0f};
    tg_rng rng;
    tg_rng_seed(&rng, 4);
    random_tokens(tokens, B * T, 13, &rng);
    random_tokens(targets, B * T, 13, &rng);
    compare_runs("generator", &c, B, T, tokens, targets, NULL, NULL);
    c.kind = MODEL_DISCRIMINATOR;
    compare_runs("discriminator", &c, B, T, tokens, NULL, lengths, labels);
}

/* ------------------------------------------------------------------------ */
/* Training steps */

static const nn_adamw_hparams test_hp = {1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f};

static float lm_step(tg_model *m, const int *tok, const int *tgt, int B, int T, tg_rng *drop,
                     int step)
{
    model_zero_grad(m);
    float loss = model_lm_forward(m, tok, tgt, B, T, drop);
    model_lm_backward(m);
    model_clip_grad(m, 1.0f);
    model_adamw_step(m, &test_hp, step);
    return loss;
}

/* Bytes the heap has handed out and not taken back (0 where glibc's
 * mallinfo2 is missing or replaced, e.g. under AddressSanitizer). */
static size_t heap_in_use(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    return mallinfo2().uordblks;
#else
    return 0;
#endif
}

static void test_determinism_and_arena(void)
{
    model_config c = micro_config(MODEL_GENERATOR, MODEL_ATTN_RELATIVE);
    c.d_model = 32;
    c.n_heads = 4;
    c.context = 48;
    c.vocab_size = 17;
    c.dropout = 0.1f;
    enum { B = 4, T = 48 };
    int tok[B * T], tgt[B * T];
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    random_tokens(tok, B * T, 17, &rng);
    random_tokens(tgt, B * T, 17, &rng);
    float *params[2];
    float losses[2][6];
    size_t high[6];
    for (int run = 0; run < 2; run++) {
        tg_model *m = make_model(&c, B, 123);
        tg_rng drop;
        tg_rng_seed(&drop, 456);
        size_t heap_after_first = 0;
        for (int s = 1; s <= 6; s++) {
            /* a short batch in the middle: the carving follows (B,T) */
            int b = s == 3 ? 2 : B, t = s == 3 ? 17 : T;
            losses[run][s - 1] = lm_step(m, tok, tgt, b, t, &drop, s);
            high[s - 1] = model_arena_high_water(m);
            if (s == 1) heap_after_first = heap_in_use();
        }
        /* nothing allocated by steps 2..6 is still held (glibc's count; the
         * thread pools of OpenMP and OpenBLAS start during step 1) */
        CHECK_INT(heap_in_use(), heap_after_first);
        CHECK(model_arena_high_water(m) <= model_arena_bytes(m));
        /* the largest step uses the arena exactly as sized at creation */
        CHECK_INT(high[0], model_arena_bytes(m));
        CHECK_INT(high[5], high[0]);
        params[run] = copy_floats(model_param_data(m), model_param_count(m));
        if (run == 1) {
            CHECK(memcmp(params[0], params[1], model_param_count(m) * sizeof(float)) == 0);
            CHECK(memcmp(losses[0], losses[1], sizeof losses[0]) == 0);
            printf("determinism: 6 steps twice from seed 123, losses %.6f .. %.6f, weights %s\n",
                   losses[1][0], losses[1][5],
                   memcmp(params[0], params[1], model_param_count(m) * sizeof(float)) == 0
                       ? "bit-identical"
                       : "DIFFER");
        }
        model_free(m);
    }
    CHECK(losses[0][5] < losses[0][0]); /* it learns something */
    free(params[0]);
    free(params[1]);
}

static void test_dropout_eval(void)
{
    model_config c = micro_config(MODEL_GENERATOR, MODEL_ATTN_RELATIVE);
    c.dropout = 0.5f;
    model_config c0 = c;
    c0.dropout = 0.0f;
    tg_model *m = make_model(&c, 2, 9), *m0 = make_model(&c0, 2, 9);
    int tok[12], tgt[12];
    tg_rng rng;
    tg_rng_seed(&rng, 6);
    random_tokens(tok, 12, 11, &rng);
    random_tokens(tgt, 12, 11, &rng);
    float e1 = model_lm_forward(m, tok, tgt, 2, 6, NULL);
    float *l1 = copy_floats(model_logits(m), 2 * 6 * 11);
    float e2 = model_lm_forward(m, tok, tgt, 2, 6, NULL);
    CHECK(e1 == e2);
    CHECK(memcmp(l1, model_logits(m), 2 * 6 * 11 * sizeof(float)) == 0);
    /* p = 0 with an rng equals evaluation, and draws nothing */
    tg_rng drop, before;
    tg_rng_seed(&drop, 1);
    before = drop;
    float z = model_lm_forward(m0, tok, tgt, 2, 6, &drop);
    CHECK(z == e1);
    CHECK(memcmp(&drop, &before, sizeof drop) == 0);
    /* training mode changes the result and consumes the stream */
    float t1 = model_lm_forward(m, tok, tgt, 2, 6, &drop);
    CHECK(t1 != e1);
    CHECK(memcmp(&drop, &before, sizeof drop) != 0);
    free(l1);
    model_free(m);
    model_free(m0);
}

static void test_weighted_equals_mean(void)
{
    model_config c = micro_config(MODEL_GENERATOR, MODEL_ATTN_RELATIVE);
    tg_model *m = make_model(&c, 2, 13);
    int tok[12], tgt[12];
    tg_rng rng;
    tg_rng_seed(&rng, 8);
    random_tokens(tok, 12, 11, &rng);
    random_tokens(tgt, 12, 11, &rng);
    tgt[4] = MODEL_IGNORE_INDEX;
    model_zero_grad(m);
    model_lm_forward(m, tok, tgt, 2, 6, NULL);
    CHECK_INT(model_loss_count(m), 11);
    CHECK(model_losses(m)[4] == 0.0f);
    model_lm_backward(m);
    float *g1 = copy_floats(model_grad_data(m), model_param_count(m));
    float w[12];
    for (int i = 0; i < 12; i++) w[i] = 1.0f / 11.0f;
    model_zero_grad(m);
    model_lm_forward(m, tok, tgt, 2, 6, NULL);
    model_lm_backward_weighted(m, w);
    CHECK(memcmp(g1, model_grad_data(m), model_param_count(m) * sizeof(float)) == 0);
    free(g1);
    model_free(m);
}

static void test_copy_lerp(void)
{
    model_config c = micro_config(MODEL_GENERATOR, MODEL_ATTN_RELATIVE);
    tg_model *a = make_model(&c, 1, 1), *b = make_model(&c, 1, 2);
    size_t n = model_param_count(a);
    float a0 = model_param_data(a)[100], b0 = model_param_data(b)[100];
    CHECK_OK(model_lerp_params(a, b, 0.25f));
    CHECK_NEAR(model_param_data(a)[100], 0.25f * a0 + 0.75f * b0, 1e-7);
    CHECK_OK(model_copy_params(a, b));
    CHECK(memcmp(model_param_data(a), model_param_data(b), n * sizeof(float)) == 0);
    model_config c2 = c;
    c2.d_model = 16;
    tg_model *d = make_model(&c2, 1, 3);
    CHECK_STATUS(model_copy_params(a, d), TG_ERR_SHAPE);
    CHECK_STATUS(model_lerp_params(a, d, 0.5f), TG_ERR_SHAPE);
    model_free(a);
    model_free(b);
    model_free(d);
}

/* model_copy_params_any_context: an FC-attention model's weights carry over
 * to the same shape at another context of at least MODEL_FC_NEAR (a
 * discriminator of --seq-len 1024 from a generator of context 4096) and give
 * the same logits; below it fc's table is shorter, and relative attention's
 * follows the context: refused, as another width is. */
static void test_copy_any_context(void)
{
    model_config c = micro_config(MODEL_GENERATOR, MODEL_ATTN_FC);
    c.fc_bar_token = 1;
    c.fc_distances = 1u << 1 | 1u << 2;
    c.context = 2 * MODEL_FC_NEAR;
    model_config s = c;
    s.context = MODEL_FC_NEAR; /* fc's tables stop growing there */
    s.dropout = 0.1f;
    tg_model *big = make_model(&c, 2, 4), *small = make_model(&s, 2, 5);
    CHECK_OK(model_copy_params_any_context(small, big));
    CHECK(memcmp(model_param_data(small), model_param_data(big), model_param_count(big) * sizeof(float)) == 0);
    int x[8] = {1, 3, 4, 1, 5, 6, 1, 7};
    model_lm_forward(big, x, NULL, 1, 8, NULL);
    float *want = copy_floats(model_logits(big), (size_t)8 * c.vocab_size);
    model_lm_forward(small, x, NULL, 1, 8, NULL);
    CHECK(memcmp(want, model_logits(small), (size_t)8 * c.vocab_size * sizeof(float)) == 0);
    free(want);
    model_config r = micro_config(MODEL_GENERATOR, MODEL_ATTN_RELATIVE), r2 = r, f2 = c;
    r2.context = 4;
    f2.context = MODEL_FC_NEAR / 2;
    tg_model *fc_short = make_model(&f2, 1, 9);
    CHECK_STATUS(model_copy_params_any_context(fc_short, big), TG_ERR_SHAPE);
    model_free(fc_short);
    tg_model *rel = make_model(&r, 1, 6), *rel2 = make_model(&r2, 1, 7);
    CHECK_STATUS(model_copy_params_any_context(rel2, rel), TG_ERR_SHAPE);
    s.d_model = 16;
    tg_model *wide = make_model(&s, 1, 8);
    CHECK_STATUS(model_copy_params_any_context(wide, big), TG_ERR_SHAPE);
    model_free(big);
    model_free(small);
    model_free(rel);
    model_free(rel2);
    model_free(wide);
}

/* ------------------------------------------------------------------------ */
/* Checkpoints */

static void check_err(tg_status got, tg_status want, const char *err, const char *needle)
{
    CHECK_STATUS(got, want);
    if (!strstr(err, needle)) TEST_FAIL_("error \"%s\" lacks \"%s\"", err, needle);
}

static void test_checkpoint(void)
{
    model_config c = micro_config(MODEL_GENERATOR, MODEL_ATTN_RELATIVE);
    c.vocab_size = 13;
    c.d_model = 16;
    tg_model *m = make_model(&c, 2, 31);
    const char *path = tmp_path("gen.safetensors");
    const st_meta extra[] = {{"note", "hello"}};
    CHECK_OK(model_save(m, path, "remi:v=1", 1234, 42, extra, 1));
    const st_meta clash[] = {{"step", "1"}};
    CHECK_STATUS(model_save(m, tmp_path("x.safetensors"), "remi", 1, 1, clash, 1), TG_ERR_ARG);

    char err[512] = "";
    tg_model *l = NULL;
    model_meta *meta = NULL;
    CHECK_OK(model_load(path, 3, &l, &meta, err, sizeof err));
    if (!l) {
        TEST_FAIL_("load: %s", err);
        return;
    }
    CHECK(memcmp(model_get_config(l), &c, sizeof c) == 0);
    CHECK_INT(model_max_batch(l), 3);
    CHECK(memcmp(model_param_data(l), model_param_data(m), model_param_count(m) * sizeof(float)) == 0);
    CHECK_STR(model_meta_get(meta, "tokenizer"), "remi:v=1");
    CHECK_STR(model_meta_get(meta, "step"), "1234");
    CHECK_STR(model_meta_get(meta, "seed"), "42");
    CHECK_STR(model_meta_get(meta, "note"), "hello");
    CHECK_STR(model_meta_get(meta, "format"), "tunegan-model");
    CHECK_INT(model_meta_count(meta), 6);
    CHECK(model_meta_get(meta, "absent") == NULL);
    model_meta_free(meta);
    /* the loaded model computes the same loss */
    int tok[6] = {1, 2, 3, 4, 5, 6}, tgt[6] = {2, 3, 4, 5, 6, 7};
    CHECK(model_lm_forward(l, tok, tgt, 1, 6, NULL) == model_lm_forward(m, tok, tgt, 1, 6, NULL));
    model_free(l);

    /* shape mismatch: the brief's example, a model made from other flags */
    model_config c2 = c;
    c2.d_model = 8;
    c2.n_layers = 1;
    tg_model *w = make_model(&c2, 1, 1);
    check_err(model_load_weights(w, path, err, sizeof err), TG_ERR_SHAPE, err,
              "tensor 'wte.weight': expected (13,8), found (13,16): the checkpoint was trained "
              "with --d-model 16 --layers 2");
    printf("shape mismatch error: %s\n", err);
    model_free(w);
    c2 = c;
    c2.n_layers = 1;
    w = make_model(&c2, 1, 1);
    check_err(model_load_weights(w, path, err, sizeof err), TG_ERR_FORMAT, err,
              "unexpected tensor 'blocks.1.ln1.weight': the checkpoint was trained with --layers 2");
    model_free(w);
    c2 = c;
    c2.attention = MODEL_ATTN_ABSOLUTE;
    w = make_model(&c2, 1, 1);
    check_err(model_load_weights(w, path, err, sizeof err), TG_ERR_FORMAT, err,
              "tensor 'wpe.weight' is missing (expected F32 (6,16)): the checkpoint was trained "
              "with --attention relative");
    model_free(w);
    c2 = c;
    c2.vocab_size = 20;
    w = make_model(&c2, 1, 1);
    check_err(model_load_weights(w, path, err, sizeof err), TG_ERR_SHAPE, err,
              "expected (20,16), found (13,16): its vocabulary has 13 tokens");
    model_free(w);
    c2 = c;
    c2.kind = MODEL_DISCRIMINATOR;
    w = make_model(&c2, 1, 1);
    check_err(model_load_weights(w, path, err, sizeof err), TG_ERR_SHAPE, err,
              "it holds a generator, not a discriminator");
    model_free(w);

    /* damaged files */
    uint8_t *bytes = NULL;
    size_t size = 0;
    CHECK_OK(tg_file_read_all(path, 1 << 24, &bytes, &size));
    const char *trunc = tmp_path("truncated.safetensors");
    CHECK_OK(tg_file_write_all(trunc, bytes, size - 100));
    check_err(model_load(trunc, 1, &l, NULL, err, sizeof err), TG_ERR_FORMAT, err, trunc);
    printf("truncated: %s\n", err);
    CHECK(l == NULL);
    CHECK_OK(tg_file_write_all(trunc, bytes, 20));
    check_err(model_load(trunc, 1, &l, NULL, err, sizeof err), TG_ERR_FORMAT, err, "exceeds the file");
    free(bytes);
    const char *text = tmp_path("text.safetensors");
    const char *words = "this is a text file, not a checkpoint at all\n";
    CHECK_OK(tg_file_write_all(text, words, strlen(words)));
    check_err(model_load(text, 1, &l, NULL, err, sizeof err), TG_ERR_FORMAT, err, "not a safetensors file");
    printf("not safetensors: %s\n", err);
    check_err(model_load(tmp_path("absent.safetensors"), 1, &l, NULL, err, sizeof err),
              TG_ERR_NOT_FOUND, err, "no such file");

    /* a tensor left out, a wrong dtype, no config */
    size_t nt = model_tensor_count(m);
    st_tensor *ts = calloc(nt, sizeof *ts);
    double *f64 = calloc(16, sizeof(double));
    for (size_t i = 0; i < nt; i++) {
        const model_tensor *t = model_tensor_at(m, i);
        ts[i].name = t->name;
        ts[i].dtype = ST_F32;
        ts[i].ndim = t->ndim;
        memcpy(ts[i].shape, t->shape, sizeof t->shape);
        ts[i].data = model_param_data(m) + t->offset;
    }
    char json[512];
    CHECK_OK(model_config_to_json(&c, json, sizeof json));
    st_meta md[] = {{"config", json}};
    const char *miss = tmp_path("missing.safetensors");
    CHECK_OK(st_write(miss, ts, nt - 1, md, 1)); /* lnf.bias left out */
    check_err(model_load(miss, 1, &l, NULL, err, sizeof err), TG_ERR_FORMAT, err,
              "tensor 'lnf.bias' is missing (expected F32 (16))");
    printf("missing tensor: %s\n", err);
    st_tensor keep = ts[nt - 1];
    ts[nt - 1].dtype = ST_F64;
    ts[nt - 1].data = f64;
    CHECK_OK(st_write(miss, ts, nt, md, 1));
    check_err(model_load(miss, 1, &l, NULL, err, sizeof err), TG_ERR_FORMAT, err,
              "tensor 'lnf.bias' is F64, expected F32");
    ts[nt - 1] = keep;
    CHECK_OK(st_write(miss, ts, nt, NULL, 0));
    check_err(model_load(miss, 1, &l, NULL, err, sizeof err), TG_ERR_FORMAT, err,
              "no \"config\" in the metadata");
    st_meta badcfg[] = {{"config", "{\"version\":1}"}};
    CHECK_OK(st_write(miss, ts, nt, badcfg, 1));
    check_err(model_load(miss, 1, &l, NULL, err, sizeof err), TG_ERR_FORMAT, err, "\"kind\" is missing");
    /* a tensor whose shape disagrees with the file's own config */
    ts[1].shape[0] = 15;
    ts[1].data = f64;
    CHECK_OK(st_write(miss, ts, 2, md, 1));
    check_err(model_load(miss, 1, &l, NULL, err, sizeof err), TG_ERR_SHAPE, err,
              "tensor 'blocks.0.ln1.weight': expected (16), found (15): the file disagrees with its own config");
    CHECK(l == NULL);
    free(ts);
    free(f64);
    model_free(m);
}

static void test_resume(void)
{
    model_config c = micro_config(MODEL_GENERATOR, MODEL_ATTN_RELATIVE);
    c.dropout = 0.2f;
    enum { B = 2, T = 6 };
    int tok[B * T], tgt[B * T];
    tg_rng rng;
    tg_rng_seed(&rng, 17);
    random_tokens(tok, B * T, 11, &rng);
    random_tokens(tgt, B * T, 11, &rng);

    /* one run of 6 steps */
    tg_model *a = make_model(&c, B, 77);
    tg_rng drop;
    tg_rng_seed(&drop, 78);
    for (int s = 1; s <= 6; s++) lm_step(a, tok, tgt, B, T, &drop, s);

    /* 3 steps, save everything, free, load, 3 more */
    tg_model *b = make_model(&c, B, 77);
    tg_rng_seed(&drop, 78);
    for (int s = 1; s <= 3; s++) lm_step(b, tok, tgt, B, T, &drop, s);
    char rs[65];
    model_rng_format(&drop, rs, sizeof rs);
    const st_meta extra[] = {{"rng_dropout", rs}};
    const char *wpath = tmp_path("resume.safetensors"), *opath = tmp_path("resume.optim.safetensors");
    CHECK_OK(model_save(b, wpath, "remi", 3, 77, NULL, 0));
    CHECK_OK(model_save_optimizer(b, opath, 3, extra, 1));
    model_free(b);
    b = NULL;
    char err[512] = "";
    model_meta *meta = NULL;
    CHECK_OK(model_load(wpath, B, &b, NULL, err, sizeof err));
    long step = 0;
    if (!b) return;
    CHECK_OK(model_load_optimizer(b, opath, &step, &meta, err, sizeof err));
    CHECK_INT(step, 3);
    tg_rng drop2;
    memset(&drop2, 0, sizeof drop2);
    CHECK_OK(model_rng_parse(model_meta_get(meta, "rng_dropout") ? model_meta_get(meta, "rng_dropout") : "",
                             &drop2));
    CHECK(memcmp(&drop2, &drop, sizeof drop) == 0);
    model_meta_free(meta);
    for (int s = (int)step + 1; s <= 6; s++) lm_step(b, tok, tgt, B, T, &drop2, s);
    size_t n = model_param_count(a);
    CHECK(memcmp(model_param_data(a), model_param_data(b), n * sizeof(float)) == 0);
    CHECK(memcmp(model_adam_m(a), model_adam_m(b), n * sizeof(float)) == 0);
    CHECK(memcmp(model_adam_v(a), model_adam_v(b), n * sizeof(float)) == 0);
    printf("resume: 6 steps = 3 + save/load + 3, weights and moments %s\n",
           memcmp(model_param_data(a), model_param_data(b), n * sizeof(float)) == 0 ? "bit-identical" : "DIFFER");

    /* optimizer files checked like weights */
    model_config c2 = c;
    c2.d_model = 16;
    tg_model *d = make_model(&c2, 1, 1);
    check_err(model_load_optimizer(d, opath, &step, NULL, err, sizeof err), TG_ERR_SHAPE, err,
              "tensor 'wte.weight.exp_avg': expected (11,16), found (11,8)");
    check_err(model_load_optimizer(b, wpath, &step, NULL, err, sizeof err), TG_ERR_FORMAT, err,
              "tensor 'wte.weight.exp_avg' is missing");
    CHECK_STATUS(model_rng_parse("12", &drop2), TG_ERR_FORMAT);
    CHECK_STATUS(model_rng_parse("g000000000000000000000000000000000000000000000000000000000000000", &drop2),
                 TG_ERR_FORMAT);
    model_free(d);
    model_free(a);
    model_free(b);
}

int main(void)
{
    snprintf(tmp_dir, sizeof tmp_dir, "%s/test_model_tmp", TG_BINARY_DIR);
    mkdir(tmp_dir, 0755);
    nn_set_threads(2);
    test_config();
    test_table();
    test_init();
    test_bce();
    /* micro shapes: one thread, no synchronisation cost per tiny kernel */
    nn_set_threads(1);
    test_fd();
    nn_set_threads(2);
    test_skew_equals_naive();
    test_determinism_and_arena();
    test_dropout_eval();
    test_weighted_equals_mean();
    test_copy_lerp();
    test_copy_any_context();
    test_checkpoint();
    test_resume();
    return test_finish("test_model");
}
