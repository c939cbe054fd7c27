/*
 * run.c: opening a trained run: the generator's checkpoint (a run folder's
 * model.safetensors or a file), its metadata and the tokenizer it names.
 * Every program of the project that loads a generator for use (generate,
 * eval, score's tokenizer, the adversarial phase's --init, tools/oracle)
 * goes through run_open, so the checks and their messages are the same
 * everywhere. Left out: resuming a training run (src/train reads its own
 * checkpoints with their optimizer state).
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "run.h"

run_open_options run_open_options_default(void)
{
    run_open_options o = {1, true};
    return o;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* The tokenizer a checkpoint names in its metadata; NULL with no error when
 * it names none and none is needed. */
tg_status run_tokenizer_from_meta(const char *path, const model_meta *meta, bool need,
                                  tok_tokenizer **tok, char *err, size_t err_len)
{
    *tok = NULL;
    const char *spec = model_meta_get(meta, "tokenizer");
    if (!spec || !spec[0]) {
        if (!need) return TG_OK;
        return tg_fail(err, err_len, TG_ERR_FORMAT,
                       "%s: the checkpoint names no tokenizer in its metadata (\"tokenizer\")", path);
    }
    tok_config cfg;
    char why[160];
    tg_status st = tok_config_parse(spec, &cfg, why, sizeof why);
    if (st == TG_OK) st = tok_config_check(&cfg, why, sizeof why);
    if (st == TG_OK) {
        st = tok_create(&cfg, tok);
        if (st != TG_OK) snprintf(why, sizeof why, "%s", tg_status_str(st));
    }
    if (st != TG_OK) return tg_fail(err, err_len, st, "%s: tokenizer '%s': %s", path, spec, why);
    return TG_OK;
}

bool run_same_tokenizer(const char *a, const char *b)
{
    tok_config ca, cb;
    char sa[512], sb[512];
    if (tok_config_parse(a, &ca, NULL, 0) != TG_OK || tok_config_parse(b, &cb, NULL, 0) != TG_OK) return false;
    if (tok_config_to_string(&ca, sa, sizeof sa) != TG_OK || tok_config_to_string(&cb, sb, sizeof sb) != TG_OK)
        return false;
    return strcmp(sa, sb) == 0;
}

tg_status run_alloc(const char *arg, tg_run **out)
{
    *out = NULL;
    tg_run *r = calloc(1, sizeof *r);
    if (!r) return TG_ERR_NOMEM;
    size_t n = strlen(arg) + 32;
    r->arg = dup_str(arg);
    r->path = malloc(n);
    if (!r->arg || !r->path) {
        tg_run_free(r);
        return TG_ERR_NOMEM;
    }
    model_checkpoint_path(arg, r->path, n);
    *out = r;
    return TG_OK;
}

tg_status run_open(const char *run_or_file, const run_open_options *o, tg_run **out, char *err,
                   size_t err_len)
{
    *out = NULL;
    run_open_options d = run_open_options_default();
    if (!o) o = &d;
    tg_run *r;
    tg_status st = run_alloc(run_or_file, &r);
    if (st != TG_OK) return tg_fail(err, err_len, st, "%s: %s", run_or_file, tg_status_str(st));
    st = model_load(r->path, o->max_batch, &r->gen, &r->meta, err, err_len);
    if (st == TG_OK && model_get_config(r->gen)->kind != MODEL_GENERATOR)
        st = tg_fail(err, err_len, TG_ERR_ARG, "%s is a discriminator, not a generator", r->path);
    if (st == TG_OK)
        st = run_tokenizer_from_meta(r->path, r->meta, o->need_tokenizer, &r->tok, err, err_len);
    if (st == TG_OK && r->tok && tok_vocab_size(r->tok) != model_get_config(r->gen)->vocab_size)
        st = tg_fail(err, err_len, TG_ERR_FORMAT, "%s: its vocabulary (%d) is not its tokenizer's (%d)",
                     r->path, model_get_config(r->gen)->vocab_size, tok_vocab_size(r->tok));
    if (st != TG_OK) {
        tg_run_free(r);
        return st;
    }
    *out = r;
    return TG_OK;
}

tg_status tg_run_open(const char *run_or_file, tg_run **out, char *err, size_t err_len)
{
    return run_open(run_or_file, NULL, out, err, err_len);
}

void tg_run_free(tg_run *r)
{
    if (!r) return;
    model_free(r->gen);
    model_free(r->disc);
    model_meta_free(r->meta);
    tok_free(r->tok);
    free(r->path);
    free(r->arg);
    free(r);
}

const char *tg_run_checkpoint(const tg_run *r) { return r->path; }
tg_model *run_generator(const tg_run *r) { return r->gen; }
tok_tokenizer *run_tokenizer(const tg_run *r) { return r->tok; }
tg_model *run_discriminator(const tg_run *r) { return r->disc; }

tg_model *run_release_generator(tg_run *r)
{
    tg_model *m = r->gen;
    r->gen = NULL;
    return m;
}

const char *run_tokenizer_spec(const tg_run *r)
{
    const char *spec = r->meta ? model_meta_get(r->meta, "tokenizer") : NULL;
    return spec ? spec : "";
}
