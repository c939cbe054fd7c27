/*
 * params.c: the model config (presets, checks, JSON for checkpoint metadata)
 * and the parameter layout: one table of named tensors in PyTorch's
 * state_dict order (the names of tools/torch_ref.py's modules), with shape,
 * offset into the flat blocks, weight decay and initialisation. The same walk
 * fills the table and points the named pointers of model_params into the
 * parameter and gradient blocks, so the two can never disagree.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* ------------------------------------------------------------------------ */
/* Config */

model_config model_config_default(void)
{
    model_config c;
    memset(&c, 0, sizeof c);
    c.kind = MODEL_GENERATOR;
    c.attention = MODEL_ATTN_RELATIVE;
    c.vocab_size = 0;
    c.d_model = 128;
    c.n_layers = 2;
    c.n_heads = 4;
    c.context = 128;
    c.ff_mult = 4;
    c.dropout = 0.1f;
    model_fc_distances_parse(MODEL_FC_DISTANCES_DEFAULT, &c.fc_distances, NULL, 0);
    c.fc_bar_token = -1;
    return c;
}

tg_status model_config_preset(const char *name, model_config *cfg)
{
    static const struct {
        const char *name;
        int d_model, n_layers, n_heads, context;
    } presets[] = {
        {"tiny", 128, 2, 4, 128},
        {"small", 256, 4, 4, 256},
        {"base", 512, 6, 8, 512},
    };
    for (size_t i = 0; i < TG_ARRAY_LEN(presets); i++) {
        if (strcmp(presets[i].name, name) != 0) continue;
        cfg->attention = MODEL_ATTN_RELATIVE;
        cfg->d_model = presets[i].d_model;
        cfg->n_layers = presets[i].n_layers;
        cfg->n_heads = presets[i].n_heads;
        cfg->context = presets[i].context;
        cfg->ff_mult = 4;
        cfg->dropout = 0.1f;
        return TG_OK;
    }
    return TG_ERR_ARG;
}

const char *model_kind_name(model_kind kind)
{
    return kind == MODEL_GENERATOR ? "generator" : kind == MODEL_DISCRIMINATOR ? "discriminator" : "?";
}

const char *model_attention_name(model_attention a)
{
    return a == MODEL_ATTN_RELATIVE   ? "relative"
           : a == MODEL_ATTN_ABSOLUTE ? "absolute"
           : a == MODEL_ATTN_FC       ? "fc"
                                      : "?";
}

tg_status model_attention_parse(const char *name, model_attention *a)
{
    if (strcmp(name, "relative") == 0) *a = MODEL_ATTN_RELATIVE;
    else if (strcmp(name, "absolute") == 0) *a = MODEL_ATTN_ABSOLUTE;
    else if (strcmp(name, "fc") == 0) *a = MODEL_ATTN_FC;
    else return TG_ERR_ARG;
    return TG_OK;
}

static tg_status why_fail(char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static tg_status why_fail(char *why, size_t why_size, const char *fmt, ...)
{
    if (why && why_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return TG_ERR_ARG;
}

tg_status model_fc_distances_parse(const char *text, uint64_t *mask, char *why, size_t why_size)
{
    uint64_t m = 0;
    long prev = 0;
    const char *p = text;
    while (1) {
        char *end;
        long d = strtol(p, &end, 10);
        if (end == p || d < 1 || d > NN_FC_MAX_DISTANCE || d <= prev)
            return why_fail(why, why_size,
                            "fc distances \"%s\": want increasing bar distances in 1..%d, "
                            "comma-separated (e.g. %s)",
                            text, NN_FC_MAX_DISTANCE, MODEL_FC_DISTANCES_DEFAULT);
        m |= (uint64_t)1 << d;
        prev = d;
        if (*end == '\0') break;
        if (*end != ',') return why_fail(why, why_size, "fc distances \"%s\": unexpected '%c'", text, *end);
        p = end + 1;
    }
    *mask = m;
    return TG_OK;
}

void model_fc_distances_format(uint64_t mask, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int d = 1; d <= NN_FC_MAX_DISTANCE && n < size; d++)
        if ((mask >> d) & 1u) n += (size_t)snprintf(buf + n, size - n, n ? ",%d" : "%d", d);
}

int model_fc_near(const model_config *cfg)
{
    return cfg->context < MODEL_FC_NEAR ? cfg->context : MODEL_FC_NEAR;
}

/* Limits that keep every size product far inside int and size_t. */
enum { MAX_VOCAB = 1 << 20, MAX_D_MODEL = 16384, MAX_LAYERS = 256, MAX_CONTEXT = 65536 };

tg_status model_config_check(const model_config *c, char *why, size_t why_size)
{
    if (c->kind != MODEL_GENERATOR && c->kind != MODEL_DISCRIMINATOR)
        return why_fail(why, why_size, "unknown model kind %d", (int)c->kind);
    if (c->attention != MODEL_ATTN_RELATIVE && c->attention != MODEL_ATTN_ABSOLUTE &&
        c->attention != MODEL_ATTN_FC)
        return why_fail(why, why_size, "unknown attention kind %d", (int)c->attention);
    if (c->attention == MODEL_ATTN_FC) {
        if (c->kind != MODEL_GENERATOR)
            return why_fail(why, why_size, "fc attention is for the generator (causal) only");
        if (c->fc_distances == 0 || (c->fc_distances & 1u))
            return why_fail(why, why_size, "fc attention needs bar distances in 1..%d",
                            NN_FC_MAX_DISTANCE);
        if (c->fc_bar_token < 0 || c->fc_bar_token >= c->vocab_size)
            return why_fail(why, why_size,
                            "fc attention needs the Bar token's id (%d is outside 0..%d): the "
                            "tokenizer must write Bar tokens (remi, remi-compact)",
                            c->fc_bar_token, c->vocab_size - 1);
    }
    if (c->vocab_size < 1 || c->vocab_size > MAX_VOCAB)
        return why_fail(why, why_size, "vocab_size %d is outside 1..%d", c->vocab_size, MAX_VOCAB);
    if (c->d_model < 1 || c->d_model > MAX_D_MODEL)
        return why_fail(why, why_size, "d_model %d is outside 1..%d", c->d_model, MAX_D_MODEL);
    if (c->n_layers < 1 || c->n_layers > MAX_LAYERS)
        return why_fail(why, why_size, "n_layers %d is outside 1..%d", c->n_layers, MAX_LAYERS);
    if (c->n_heads < 1 || c->n_heads > c->d_model)
        return why_fail(why, why_size, "n_heads %d is outside 1..d_model (%d)", c->n_heads, c->d_model);
    if (c->d_model % c->n_heads != 0)
        return why_fail(why, why_size, "d_model %d is not divisible by n_heads %d", c->d_model,
                        c->n_heads);
    if (c->context < 1 || c->context > MAX_CONTEXT)
        return why_fail(why, why_size, "context %d is outside 1..%d", c->context, MAX_CONTEXT);
    if (c->ff_mult < 1 || c->ff_mult > 64)
        return why_fail(why, why_size, "ff_mult %d is outside 1..64", c->ff_mult);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return why_fail(why, why_size, "dropout %g is outside [0, 1)", (double)c->dropout);
    return TG_OK;
}

int model_rel_rows(const model_config *cfg)
{
    if (cfg->attention == MODEL_ATTN_FC) return nn_fc_rows(model_fc_near(cfg));
    return cfg->kind == MODEL_GENERATOR ? cfg->context : 2 * cfg->context - 1;
}

/* The shortest decimal that reads back as the same float ("0.1", not
 * "0.100000001"), so the JSON is readable and exact. */
static void format_float(char *buf, size_t size, float x)
{
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, size, "%.*g", digits, (double)x);
        if (strtof(buf, NULL) == x) return;
    }
}

tg_status model_config_to_json(const model_config *c, char *buf, size_t size)
{
    char p[32];
    format_float(p, sizeof p, c->dropout);
    int n = snprintf(buf, size,
                     "{\"version\":%d,\"kind\":\"%s\",\"attention\":\"%s\",\"vocab_size\":%d,"
                     "\"d_model\":%d,\"n_layers\":%d,\"n_heads\":%d,\"context\":%d,"
                     "\"ff_mult\":%d,\"dropout\":%s}",
                     MODEL_FORMAT_VERSION, model_kind_name(c->kind),
                     model_attention_name(c->attention), c->vocab_size, c->d_model, c->n_layers,
                     c->n_heads, c->context, c->ff_mult, p);
    if (n < 0 || (size_t)n >= size) return TG_ERR_TOO_LARGE;
    if (c->attention != MODEL_ATTN_FC) return TG_OK;
    /* fc's own keys, replacing the closing brace */
    char d[200];
    model_fc_distances_format(c->fc_distances, d, sizeof d);
    int m = snprintf(buf + n - 1, size - (size_t)n + 1, ",\"fc_distances\":\"%s\",\"fc_bar_token\":%d}",
                     d, c->fc_bar_token);
    return m < 0 || (size_t)m >= size - (size_t)n + 1 ? TG_ERR_TOO_LARGE : TG_OK;
}

/* Reads an integer member; TG_ERR_ARG with a reason when missing or not an
 * integer. */
static tg_status json_int(const cJSON *root, const char *key, int *out, char *why, size_t why_size)
{
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it) return why_fail(why, why_size, "model config: \"%s\" is missing", key);
    double v = it->valuedouble;
    if (!cJSON_IsNumber(it) || v != floor(v) || fabs(v) > 2147483647.0)
        return why_fail(why, why_size, "model config: \"%s\" is not an integer", key);
    *out = (int)v;
    return TG_OK;
}

tg_status model_config_from_json(const char *json, model_config *cfg, char *why, size_t why_size)
{
    static const char *const keys[] = {"version", "kind",    "attention", "vocab_size",
                                       "d_model", "n_layers", "n_heads",  "context",
                                       "ff_mult", "dropout", "fc_distances", "fc_bar_token"};
    cJSON *root = cJSON_Parse(json);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return why_fail(why, why_size, "model config is not a JSON object");
    }
    tg_status s = TG_OK;
    for (const cJSON *e = root->child; e && s == TG_OK; e = e->next) {
        size_t k = 0;
        while (k < TG_ARRAY_LEN(keys) && strcmp(keys[k], e->string) != 0) k++;
        if (k == TG_ARRAY_LEN(keys))
            s = why_fail(why, why_size, "model config: unknown key \"%s\"", e->string);
    }
    model_config c = model_config_default();
    int version = 0;
    if (s == TG_OK) s = json_int(root, "version", &version, why, why_size);
    if (s == TG_OK && version != MODEL_FORMAT_VERSION)
        s = why_fail(why, why_size, "model config version %d; this build reads version %d", version,
                     MODEL_FORMAT_VERSION);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
    const cJSON *attn = cJSON_GetObjectItemCaseSensitive(root, "attention");
    const cJSON *drop = cJSON_GetObjectItemCaseSensitive(root, "dropout");
    if (s == TG_OK) {
        if (!cJSON_IsString(kind))
            s = why_fail(why, why_size, "model config: \"kind\" is missing or not a string");
        else if (strcmp(kind->valuestring, "generator") == 0) c.kind = MODEL_GENERATOR;
        else if (strcmp(kind->valuestring, "discriminator") == 0) c.kind = MODEL_DISCRIMINATOR;
        else s = why_fail(why, why_size, "model config: unknown kind \"%s\"", kind->valuestring);
    }
    if (s == TG_OK) {
        if (!cJSON_IsString(attn))
            s = why_fail(why, why_size, "model config: \"attention\" is missing or not a string");
        else if (model_attention_parse(attn->valuestring, &c.attention) != TG_OK)
            s = why_fail(why, why_size, "model config: unknown attention \"%s\"", attn->valuestring);
    }
    if (s == TG_OK) s = json_int(root, "vocab_size", &c.vocab_size, why, why_size);
    if (s == TG_OK) s = json_int(root, "d_model", &c.d_model, why, why_size);
    if (s == TG_OK) s = json_int(root, "n_layers", &c.n_layers, why, why_size);
    if (s == TG_OK) s = json_int(root, "n_heads", &c.n_heads, why, why_size);
    if (s == TG_OK) s = json_int(root, "context", &c.context, why, why_size);
    if (s == TG_OK) s = json_int(root, "ff_mult", &c.ff_mult, why, why_size);
    const cJSON *fcd = cJSON_GetObjectItemCaseSensitive(root, "fc_distances");
    const cJSON *fcb = cJSON_GetObjectItemCaseSensitive(root, "fc_bar_token");
    if (s == TG_OK && c.attention != MODEL_ATTN_FC && (fcd || fcb))
        s = why_fail(why, why_size, "model config: fc_distances and fc_bar_token belong to fc attention only");
    if (s == TG_OK && c.attention == MODEL_ATTN_FC) {
        if (!cJSON_IsString(fcd))
            s = why_fail(why, why_size, "model config: \"fc_distances\" is missing or not a string");
        else s = model_fc_distances_parse(fcd->valuestring, &c.fc_distances, why, why_size);
        if (s == TG_OK) s = json_int(root, "fc_bar_token", &c.fc_bar_token, why, why_size);
    }
    if (s == TG_OK) {
        if (!cJSON_IsNumber(drop))
            s = why_fail(why, why_size, "model config: \"dropout\" is missing or not a number");
        else c.dropout = (float)drop->valuedouble;
    }
    cJSON_Delete(root);
    if (s == TG_OK) s = model_config_check(&c, why, why_size);
    if (s == TG_OK) *cfg = c;
    return s;
}

/* ------------------------------------------------------------------------ */
/* Parameter layout */

typedef struct {
    model_tensor *table;
    size_t n, floats;
    float *pbase, *gbase;
} layout_ctx;

/* Adds one tensor; points *pslot and *gslot (either may be NULL) at it. */
static void add(layout_ctx *x, const char *name, int ndim, int64_t d0, int64_t d1, int64_t d2,
                int decay, model_init_kind init, float **pslot, float **gslot)
{
    int64_t shape[3] = {d0, d1, d2};
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) numel *= (size_t)shape[i];
    if (x->table) {
        model_tensor *t = &x->table[x->n];
        memset(t, 0, sizeof *t);
        snprintf(t->name, sizeof t->name, "%s", name);
        t->ndim = ndim;
        for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
        t->offset = x->floats;
        t->numel = numel;
        t->decay = decay;
        t->init = init;
    }
    if (pslot) *pslot = x->pbase ? x->pbase + x->floats : NULL;
    if (gslot) *gslot = x->gbase ? x->gbase + x->floats : NULL;
    x->n++;
    x->floats += numel;
}

size_t model_layout(const model_config *cfg, model_tensor *table, size_t *n_floats,
                    float *param_base, model_params *params, model_block_params *param_blocks,
                    float *grad_base, model_params *grads, model_block_params *grad_blocks)
{
    const int64_t V = cfg->vocab_size, C = cfg->d_model, H = cfg->n_heads, D = C / H;
    const int64_t F = (int64_t)cfg->ff_mult * C, T = cfg->context, R = model_rel_rows(cfg);
    const int rel = cfg->attention == MODEL_ATTN_RELATIVE || cfg->attention == MODEL_ATTN_FC;
    const int disc = cfg->kind == MODEL_DISCRIMINATOR;
    layout_ctx x = {table, 0, 0, param_base, grad_base};
    model_params *p = params, *g = grads;
    model_params pdummy, gdummy;
    if (!p) p = &pdummy;
    if (!g) g = &gdummy;
    memset(p, 0, sizeof *p);
    memset(g, 0, sizeof *g);
    p->blocks = param_blocks;
    g->blocks = grad_blocks;
    char name[48];

    add(&x, "wte.weight", 2, V, C, 0, 0, MODEL_INIT_NORMAL, &p->wte, &g->wte);
    if (cfg->attention == MODEL_ATTN_ABSOLUTE) add(&x, "wpe.weight", 2, T, C, 0, 0, MODEL_INIT_NORMAL, &p->wpe, &g->wpe);
    for (int l = 0; l < cfg->n_layers; l++) {
        model_block_params pb, gb;
        memset(&pb, 0, sizeof pb);
        memset(&gb, 0, sizeof gb);
#define ADD(suffix, ndim, d0, d1, d2, decay, init, field)                                      \
    do {                                                                                       \
        snprintf(name, sizeof name, "blocks.%d.%s", l, suffix);                                \
        add(&x, name, ndim, d0, d1, d2, decay, init, &pb.field, &gb.field);                    \
    } while (0)
        ADD("ln1.weight", 1, C, 0, 0, 0, MODEL_INIT_ONE, ln1_w);
        ADD("ln1.bias", 1, C, 0, 0, 0, MODEL_INIT_ZERO, ln1_b);
        ADD("attn.qkv.weight", 2, 3 * C, C, 0, 1, MODEL_INIT_NORMAL, qkv_w);
        ADD("attn.qkv.bias", 1, 3 * C, 0, 0, 0, MODEL_INIT_ZERO, qkv_b);
        if (rel) ADD("attn.rel", 3, H, R, D, 0, MODEL_INIT_NORMAL, rel);
        ADD("attn.proj.weight", 2, C, C, 0, 1, MODEL_INIT_RESIDUAL, proj_w);
        ADD("attn.proj.bias", 1, C, 0, 0, 0, MODEL_INIT_ZERO, proj_b);
        ADD("ln2.weight", 1, C, 0, 0, 0, MODEL_INIT_ONE, ln2_w);
        ADD("ln2.bias", 1, C, 0, 0, 0, MODEL_INIT_ZERO, ln2_b);
        ADD("mlp.fc.weight", 2, F, C, 0, 1, MODEL_INIT_NORMAL, fc_w);
        ADD("mlp.fc.bias", 1, F, 0, 0, 0, MODEL_INIT_ZERO, fc_b);
        ADD("mlp.fc2.weight", 2, C, F, 0, 1, MODEL_INIT_RESIDUAL, fc2_w);
        ADD("mlp.fc2.bias", 1, C, 0, 0, 0, MODEL_INIT_ZERO, fc2_b);
#undef ADD
        if (param_blocks) param_blocks[l] = pb;
        if (grad_blocks) grad_blocks[l] = gb;
    }
    add(&x, "lnf.weight", 1, C, 0, 0, 0, MODEL_INIT_ONE, &p->lnf_w, &g->lnf_w);
    add(&x, "lnf.bias", 1, C, 0, 0, 0, MODEL_INIT_ZERO, &p->lnf_b, &g->lnf_b);
    if (disc) {
        add(&x, "head.weight", 2, 1, C, 0, 1, MODEL_INIT_NORMAL, &p->head_w, &g->head_w);
        add(&x, "head.bias", 1, 1, 0, 0, 0, MODEL_INIT_ZERO, &p->head_b, &g->head_b);
    }
    if (n_floats) *n_floats = x.floats;
    return x.n;
}
