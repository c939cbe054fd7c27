/*
 * checkpoint.c: model checkpoints as safetensors files (src/safetensors/safetensors.h). The
 * weights file holds every parameter as F32 under its table name (PyTorch's
 * module names, so Python opens it with a few lines of json + numpy) and, in
 * __metadata__, the model config as JSON, the tokenizer config string, the
 * step and the seed: a checkpoint alone is enough to rebuild the model. The
 * optimizer file beside it holds both AdamW moments of every tensor under
 * PyTorch's state names (<name>.exp_avg, <name>.exp_avg_sq) with the step
 * and whatever the trainer adds (its RNG states), so training resumes bit
 * for bit.
 *
 * Loading checks every name, dtype and shape against the model and refuses
 * tensors it does not know; a mismatch names the tensor and both shapes and,
 * when the file's own config says so, the flags it was trained with. It also
 * refuses a NaN or an infinity in any tensor, naming the tensor and the
 * index: one such value makes every later softmax NaN (and the fast exp
 * shift a negative number), so a damaged file would otherwise "work" and
 * write samples without notes.
 */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* "(768,256)" */
static void shape_str(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t n = 0;
    n += (size_t)snprintf(buf + n, size - n, "(");
    for (int i = 0; i < ndim && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%" PRId64, i ? "," : "", shape[i]);
    if (n < size) snprintf(buf + n, size - n, ")");
}

/* ------------------------------------------------------------------------ */
/* Metadata copies */

struct model_meta {
    size_t n;
    char **keys, **values;
};

const char *model_meta_get(const model_meta *meta, const char *key)
{
    for (size_t i = 0; meta && i < meta->n; i++)
        if (strcmp(meta->keys[i], key) == 0) return meta->values[i];
    return NULL;
}

size_t model_meta_count(const model_meta *meta) { return meta ? meta->n : 0; }
const char *model_meta_key(const model_meta *meta, size_t i) { return i < meta->n ? meta->keys[i] : NULL; }

void model_meta_free(model_meta *meta)
{
    if (!meta) return;
    for (size_t i = 0; i < meta->n; i++) {
        free(meta->keys[i]);
        free(meta->values[i]);
    }
    free(meta->keys);
    free(meta->values);
    free(meta);
}

/* io.h looks metadata up by key only; to copy all of it, the header of the
 * (already validated) file is read again and its __metadata__ object parsed. */
static tg_status read_meta(const char *path, model_meta **out)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) return TG_ERR_IO;
    uint8_t len_le[8];
    uint64_t hlen = 0;
    tg_status s = fread(len_le, 1, 8, fp) == 8 ? TG_OK : TG_ERR_IO;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)len_le[i] << (8 * i);
    char *text = s == TG_OK && hlen < (64u << 20) ? malloc((size_t)hlen + 1) : NULL;
    if (!text || fread(text, 1, (size_t)hlen, fp) != hlen) s = text ? TG_ERR_IO : TG_ERR_NOMEM;
    fclose(fp);
    model_meta *meta = calloc(1, sizeof *meta);
    cJSON *root = NULL;
    if (s == TG_OK && !meta) s = TG_ERR_NOMEM;
    if (s == TG_OK) {
        text[hlen] = '\0';
        root = cJSON_Parse(text);
        const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "__metadata__");
        size_t n = 0;
        for (const cJSON *e = md ? md->child : NULL; e; e = e->next) n++;
        meta->keys = calloc(n ? n : 1, sizeof(char *));
        meta->values = calloc(n ? n : 1, sizeof(char *));
        if (!meta->keys || !meta->values) s = TG_ERR_NOMEM;
        for (const cJSON *e = md ? md->child : NULL; e && s == TG_OK; e = e->next) {
            if (!cJSON_IsString(e)) continue; /* st_open already refused these */
            meta->keys[meta->n] = strdup(e->string);
            meta->values[meta->n] = strdup(e->valuestring);
            if (!meta->keys[meta->n] || !meta->values[meta->n]) s = TG_ERR_NOMEM;
            meta->n++;
        }
    }
    cJSON_Delete(root);
    free(text);
    if (s != TG_OK) {
        model_meta_free(meta);
        return s;
    }
    *out = meta;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Saving */

static const char *const reserved_keys[] = {"format", "config", "tokenizer", "step", "seed"};

/* Writes the tensors (data taken from block at each table offset, names
 * with an optional suffix) plus metadata. */
static tg_status write_file(const tg_model *m, const char *path, const float *const *blocks,
                            const char *const *suffixes, int n_blocks, st_meta *meta, size_t n_meta)
{
    size_t n = m->n_tensors * (size_t)n_blocks;
    st_tensor *ts = calloc(n, sizeof *ts);
    char (*names)[64] = calloc(n, sizeof *names);
    if (!ts || !names) {
        free(ts);
        free(names);
        return TG_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->table[i];
        for (int b = 0; b < n_blocks; b++, k++) {
            snprintf(names[k], sizeof names[k], "%s%s", t->name, suffixes[b]);
            ts[k].name = names[k];
            ts[k].dtype = ST_F32;
            ts[k].ndim = t->ndim;
            for (int d = 0; d < t->ndim; d++) ts[k].shape[d] = t->shape[d];
            ts[k].data = blocks[b] + t->offset;
        }
    }
    tg_status s = st_write(path, ts, n, meta, n_meta);
    free(ts);
    free(names);
    return s;
}

/* Metadata = fixed pairs then the caller's; TG_ERR_ARG on a clash. */
static tg_status join_meta(const st_meta *fixed, size_t n_fixed, const st_meta *extra,
                           size_t n_extra, st_meta **out)
{
    *out = NULL;
    for (size_t i = 0; i < n_extra; i++) {
        if (!extra[i].key || !extra[i].value) return TG_ERR_ARG;
        for (size_t k = 0; k < TG_ARRAY_LEN(reserved_keys); k++)
            if (strcmp(extra[i].key, reserved_keys[k]) == 0) return TG_ERR_ARG;
    }
    st_meta *all = calloc(n_fixed + n_extra, sizeof *all);
    if (!all) return TG_ERR_NOMEM;
    memcpy(all, fixed, n_fixed * sizeof *all);
    if (n_extra) memcpy(all + n_fixed, extra, n_extra * sizeof *all);
    *out = all;
    return TG_OK;
}

tg_status model_save(const tg_model *m, const char *path, const char *tokenizer, long step,
                     uint64_t seed, const st_meta *extra, size_t n_extra)
{
    char config[512], step_s[32], seed_s[32];
    tg_status s = model_config_to_json(&m->cfg, config, sizeof config);
    if (s != TG_OK) return s;
    snprintf(step_s, sizeof step_s, "%ld", step);
    snprintf(seed_s, sizeof seed_s, "%" PRIu64, seed);
    const st_meta fixed[] = {{"format", "tunegan-model"},
                             {"config", config},
                             {"tokenizer", tokenizer ? tokenizer : ""},
                             {"step", step_s},
                             {"seed", seed_s}};
    st_meta *meta;
    s = join_meta(fixed, TG_ARRAY_LEN(fixed), extra, n_extra, &meta);
    if (s != TG_OK) return s;
    const float *blocks[1] = {m->param_data};
    const char *suffixes[1] = {""};
    s = write_file(m, path, blocks, suffixes, 1, meta, TG_ARRAY_LEN(fixed) + n_extra);
    free(meta);
    return s;
}

tg_status model_save_optimizer(const tg_model *m, const char *path, long step,
                               const st_meta *extra, size_t n_extra)
{
    char config[512], step_s[32];
    tg_status s = model_config_to_json(&m->cfg, config, sizeof config);
    if (s != TG_OK) return s;
    snprintf(step_s, sizeof step_s, "%ld", step);
    const st_meta fixed[] = {{"format", "tunegan-optimizer"}, {"config", config}, {"step", step_s}};
    st_meta *meta;
    s = join_meta(fixed, TG_ARRAY_LEN(fixed), extra, n_extra, &meta);
    if (s != TG_OK) return s;
    const float *blocks[2] = {m->m_data, m->v_data};
    const char *suffixes[2] = {".exp_avg", ".exp_avg_sq"};
    s = write_file(m, path, blocks, suffixes, 2, meta, TG_ARRAY_LEN(fixed) + n_extra);
    free(meta);
    return s;
}

/* ------------------------------------------------------------------------ */
/* Loading */

/* How the file's config differs from the model's, as the flags that would
 * make them agree, e.g. ": the checkpoint was trained with --d-model 512
 * --layers 6". Empty when there is no config or no difference. */
static void config_hint(const st_file *f, const model_config *mc, char *buf, size_t size)
{
    buf[0] = '\0';
    const char *json = st_meta_get(f, "config");
    model_config fc;
    if (!json || model_config_from_json(json, &fc, NULL, 0) != TG_OK) return;
    char flags[160] = "";
    size_t n = 0;
#define FLAG(cond, ...)                                                                        \
    do {                                                                                       \
        if ((cond) && n < sizeof flags) n += (size_t)snprintf(flags + n, sizeof flags - n, __VA_ARGS__); \
    } while (0)
    FLAG(fc.d_model != mc->d_model, " --d-model %d", fc.d_model);
    FLAG(fc.n_layers != mc->n_layers, " --layers %d", fc.n_layers);
    FLAG(fc.n_heads != mc->n_heads, " --heads %d", fc.n_heads);
    FLAG(fc.context != mc->context, " --context %d", fc.context);
    FLAG(fc.ff_mult != mc->ff_mult, " --ff-mult %d", fc.ff_mult);
    FLAG(fc.attention != mc->attention, " --attention %s", model_attention_name(fc.attention));
#undef FLAG
    char kind[96] = "", vocab[128] = "";
    if (fc.kind != mc->kind)
        snprintf(kind, sizeof kind, "; it holds a %s, not a %s", model_kind_name(fc.kind),
                 model_kind_name(mc->kind));
    if (fc.vocab_size != mc->vocab_size)
        snprintf(vocab, sizeof vocab, "; its vocabulary has %d tokens, this model's %d (another tokenizer config?)",
                 fc.vocab_size, mc->vocab_size);
    if (!flags[0] && !kind[0] && !vocab[0]) return;
    snprintf(buf, size, "%s%s%s%s", flags[0] ? ": the checkpoint was trained with" : "", flags,
             kind, vocab);
    if (!flags[0]) buf[0] = ':'; /* "; it holds ..." becomes ": it holds ..." */
}

/* The index of the first NaN or infinity among n floats at data (maybe
 * unaligned, so read with memcpy), or n when all are finite. Tests the
 * exponent bits, which no compiler flag can fold away. */
static size_t first_non_finite(const void *data, size_t n, bool *is_nan)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, p + i * sizeof bits, sizeof bits);
        if ((bits & 0x7F800000u) == 0x7F800000u) {
            *is_nan = (bits & 0x007FFFFFu) != 0;
            return i;
        }
    }
    return n;
}

/* Copies block b's tensors (names with suffix) from f into dst, after
 * checking all of them; names every problem. what is "model" or
 * "optimizer state", for the words on a non-finite value. */
static tg_status load_tensors(const tg_model *m, const st_file *f, const char *path,
                              float *const *dsts, const char *const *suffixes, int n_blocks,
                              const char *what, char *err, size_t err_len)
{
    char hint[256], want[96], found[96], name[64];
    config_hint(f, &m->cfg, hint, sizeof hint);
    for (size_t i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->table[i];
        shape_str(want, sizeof want, t->ndim, t->shape);
        for (int b = 0; b < n_blocks; b++) {
            snprintf(name, sizeof name, "%s%s", t->name, suffixes[b]);
            const st_tensor *st = st_find(f, name);
            if (!st)
                return tg_fail(err, err_len, TG_ERR_FORMAT,
                             "%s: tensor '%s' is missing (expected F32 %s)%s", path, name, want,
                             hint[0] ? hint : ": the file is incomplete or holds another model");
            if (st->dtype != ST_F32)
                return tg_fail(err, err_len, TG_ERR_FORMAT, "%s: tensor '%s' is %s, expected F32",
                             path, name, st_dtype_name(st->dtype));
            int same = st->ndim == t->ndim;
            for (int d = 0; same && d < t->ndim; d++) same = st->shape[d] == t->shape[d];
            if (!same) {
                shape_str(found, sizeof found, st->ndim, st->shape);
                return tg_fail(err, err_len, TG_ERR_SHAPE, "%s: tensor '%s': expected %s, found %s%s",
                             path, name, want, found,
                             hint[0] ? hint : ": the file disagrees with its own config (damaged?)");
            }
            bool is_nan = false;
            size_t at = first_non_finite(st->data, t->numel, &is_nan);
            if (at < t->numel)
                return tg_fail(err, err_len, TG_ERR_FORMAT, "%s: tensor '%s' holds %s at index %zu: the %s is damaged",
                               path, name, is_nan ? "a NaN" : "an infinity", at, what);
        }
    }
    /* every tensor of the file must be one of ours */
    for (size_t k = 0; k < st_count(f); k++) {
        const char *fname = st_tensor_at(f, k)->name;
        int known = 0;
        for (size_t i = 0; i < m->n_tensors && !known; i++)
            for (int b = 0; b < n_blocks && !known; b++) {
                size_t ln = strlen(m->table[i].name);
                known = strncmp(fname, m->table[i].name, ln) == 0 &&
                        strcmp(fname + ln, suffixes[b]) == 0;
            }
        if (!known)
            return tg_fail(err, err_len, TG_ERR_FORMAT, "%s: unexpected tensor '%s'%s", path, fname,
                         hint[0] ? hint : ": the file holds another model");
    }
    for (size_t i = 0; i < m->n_tensors; i++) {
        const model_tensor *t = &m->table[i];
        for (int b = 0; b < n_blocks; b++) {
            snprintf(name, sizeof name, "%s%s", t->name, suffixes[b]);
            /* the mapped data may be unaligned: memcpy, not a float loop */
            memcpy(dsts[b] + t->offset, st_find(f, name)->data, t->numel * sizeof(float));
        }
    }
    return TG_OK;
}

static tg_status open_file(const char *path, st_file **f, char *err, size_t err_len)
{
    char why[256];
    tg_status s = st_open(path, f, why, sizeof why);
    if (s != TG_OK) return tg_fail(err, err_len, s, "%s: %s", path, why);
    return TG_OK;
}

tg_status model_load_weights(tg_model *m, const char *path, char *err, size_t err_len)
{
    st_file *f;
    tg_status s = open_file(path, &f, err, err_len);
    if (s != TG_OK) return s;
    float *dsts[1] = {m->param_data};
    const char *suffixes[1] = {""};
    s = load_tensors(m, f, path, dsts, suffixes, 1, "model", err, err_len);
    st_close(f);
    model_weights_changed(m);
    return s;
}

void model_checkpoint_path(const char *run_or_file, char *buf, size_t n)
{
    size_t len = strlen(run_or_file);
    if (tg_is_dir(run_or_file))
        snprintf(buf, n, "%s%smodel.safetensors", run_or_file,
                 len && run_or_file[len - 1] == '/' ? "" : "/");
    else
        snprintf(buf, n, "%s", run_or_file);
}

tg_status model_load(const char *path, int max_batch, tg_model **out, model_meta **meta_out,
                     char *err, size_t err_len)
{
    *out = NULL;
    if (meta_out) *meta_out = NULL;
    st_file *f;
    tg_status s = open_file(path, &f, err, err_len);
    if (s != TG_OK) return s;
    const char *json = st_meta_get(f, "config");
    model_config cfg;
    char why[200];
    tg_model *m = NULL;
    if (!json) {
        s = tg_fail(err, err_len, TG_ERR_FORMAT,
                  "%s: no \"config\" in the metadata: not a tunegan model checkpoint", path);
    } else if (model_config_from_json(json, &cfg, why, sizeof why) != TG_OK) {
        s = tg_fail(err, err_len, TG_ERR_FORMAT, "%s: %s", path, why);
    } else if ((s = model_create(&cfg, max_batch, &m)) != TG_OK) {
        tg_fail(err, err_len, s, "%s: cannot create the model: %s", path, tg_status_str(s));
    } else {
        float *dsts[1] = {m->param_data};
        const char *suffixes[1] = {""};
        s = load_tensors(m, f, path, dsts, suffixes, 1, "model", err, err_len);
        model_weights_changed(m);
    }
    st_close(f);
    if (s == TG_OK && meta_out && (s = read_meta(path, meta_out)) != TG_OK)
        tg_fail(err, err_len, s, "%s: cannot read the metadata: %s", path, tg_status_str(s));
    if (s != TG_OK) {
        model_free(m);
        return s;
    }
    *out = m;
    return TG_OK;
}

tg_status model_load_optimizer(tg_model *m, const char *path, long *step, model_meta **meta_out,
                               char *err, size_t err_len)
{
    if (meta_out) *meta_out = NULL;
    st_file *f;
    tg_status s = open_file(path, &f, err, err_len);
    if (s != TG_OK) return s;
    const char *step_s = st_meta_get(f, "step");
    char *end = NULL;
    long st = step_s ? strtol(step_s, &end, 10) : 0;
    if (!step_s || end == step_s || *end != '\0' || st < 0) {
        s = tg_fail(err, err_len, TG_ERR_FORMAT, "%s: no valid \"step\" in the metadata", path);
    } else {
        float *dsts[2] = {m->m_data, m->v_data};
        const char *suffixes[2] = {".exp_avg", ".exp_avg_sq"};
        s = load_tensors(m, f, path, dsts, suffixes, 2, "optimizer state", err, err_len);
    }
    st_close(f);
    if (s == TG_OK && meta_out && (s = read_meta(path, meta_out)) != TG_OK)
        tg_fail(err, err_len, s, "%s: cannot read the metadata: %s", path, tg_status_str(s));
    if (s == TG_OK && step) *step = st;
    return s;
}

/* ------------------------------------------------------------------------ */
/* RNG states as text */

void model_rng_format(const tg_rng *rng, char *buf, size_t size)
{
    snprintf(buf, size, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, rng->state[0],
             rng->state[1], rng->state[2], rng->state[3]);
}

tg_status model_rng_parse(const char *text, tg_rng *rng)
{
    if (strlen(text) != 64) return TG_ERR_FORMAT;
    tg_rng r;
    for (int i = 0; i < 4; i++) {
        uint64_t v = 0;
        for (int k = 0; k < 16; k++) {
            char c = text[16 * i + k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0) return TG_ERR_FORMAT;
            v = v << 4 | (uint64_t)d;
        }
        r.state[i] = v;
    }
    *rng = r;
    return TG_OK;
}
