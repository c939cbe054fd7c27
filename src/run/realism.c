/*
 * realism.c: the discriminator of an adversarial run (disc.safetensors
 * beside its generator) and its realism score of a whole piece: the tokens
 * are cut into consecutive windows of the discriminator's length, each given
 * BOS first as in training, and the probability "real" of every window is
 * summarised as mean, min and max, with the first window's apart (D was
 * trained on the openings of pieces). Used by `score` and `generate
 * --rerank`.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "run.h"
#include "train/train.h"

/* disc.safetensors of the folder, or beside the file. */
static void disc_path(const char *arg, char *buf, size_t n)
{
    if (tg_is_dir(arg)) {
        snprintf(buf, n, "%s/disc.safetensors", arg);
        return;
    }
    const char *slash = strrchr(arg, '/');
    if (slash) snprintf(buf, n, "%.*s/disc.safetensors", (int)(slash - arg), arg);
    else snprintf(buf, n, "disc.safetensors");
}

/* Loads the discriminator into r->disc, and its metadata into *meta; its
 * file's path into path (n bytes). */
static tg_status load_disc(tg_run *r, int max_batch, model_meta **meta, char *path, size_t n, char *err,
                           size_t err_len)
{
    if (!tg_file_exists(r->arg) && !tg_is_dir(r->arg))
        return tg_fail(err, err_len, TG_ERR_NOT_FOUND, "%s: no such run folder", r->arg);
    disc_path(r->arg, path, n);
    if (!tg_file_exists(path))
        return tg_fail(err, err_len, TG_ERR_NOT_FOUND,
                       "%s has no discriminator (%s): give the folder of an adversarial run (`tunegan train`)",
                       r->arg, path);
    tg_status st = model_load(path, max_batch, &r->disc, meta, err, err_len);
    if (st != TG_OK) return st;
    if (!model_meta_get(*meta, "reward"))
        return tg_fail(err, err_len, TG_ERR_FORMAT,
                       "%s: not a discriminator of `tunegan train` (no \"reward\" in its metadata)", path);
    return TG_OK;
}

tg_status run_load_disc(tg_run *r, int max_batch, char *err, size_t err_len)
{
    model_meta *meta = NULL;
    char path[4200];
    tg_status st = load_disc(r, max_batch, &meta, path, sizeof path, err, err_len);
    const char *spec = meta ? model_meta_get(meta, "tokenizer") : NULL;
    if (st == TG_OK && (!spec || !run_same_tokenizer(spec, run_tokenizer_spec(r))))
        st = tg_fail(err, err_len, TG_ERR_FORMAT, "the discriminator of %s uses another tokenizer than the generator",
                     r->arg);
    model_meta_free(meta);
    if (st != TG_OK) {
        model_free(r->disc);
        r->disc = NULL;
    }
    return st;
}

tg_status run_open_disc(const char *run_or_file, int max_batch, tg_run **out, char *err, size_t err_len)
{
    tg_run *r;
    tg_status st = run_alloc(run_or_file, &r);
    if (st != TG_OK) return tg_fail(err, err_len, st, "%s: %s", run_or_file, tg_status_str(st));
    char path[4200];
    st = load_disc(r, max_batch, &r->meta, path, sizeof path, err, err_len);
    if (st == TG_OK) st = run_tokenizer_from_meta(path, r->meta, true, &r->tok, err, err_len);
    if (st == TG_OK && tok_vocab_size(r->tok) != model_get_config(r->disc)->vocab_size)
        st = tg_fail(err, err_len, TG_ERR_FORMAT, "%s: its vocabulary (%d) is not its tokenizer's (%d)", path,
                     model_get_config(r->disc)->vocab_size, tok_vocab_size(r->tok));
    if (st != TG_OK) {
        tg_run_free(r);
        return st;
    }
    *out = r;
    return TG_OK;
}

/* Window w of ids into row (T+1): BOS, then the window's T tokens, PAD after
 * EOS, the end, or an id outside D's vocabulary. */
static void window_row(int *row, const uint16_t *ids, size_t n, int w, int T, int V)
{
    const size_t start = 1 + (size_t)w * T;
    row[0] = TOK_BOS;
    bool ended = false;
    for (int t = 1; t <= T; t++) {
        size_t i = start + t - 1;
        int id = !ended && i < n ? ids[i] : TOK_PAD;
        if (id >= V) id = TOK_PAD;
        row[t] = id;
        if (id == TOK_EOS) ended = true;
    }
}

tg_status run_realism_of(const tg_run *r, const uint16_t *ids, size_t n, run_realism *res)
{
    tg_model *D = r->disc;
    TG_ASSERT(D != NULL);
    const int T = model_get_config(D)->context, MB = model_max_batch(D);
    const int V = model_get_config(D)->vocab_size;
    memset(res, 0, sizeof *res);
    size_t body = n > 1 ? n - 1 : 0; /* tokens after BOS */
    int W = body ? (int)((body + T - 1) / T) : 0;
    if (W == 0) return TG_ERR_ARG;
    int *x = malloc((size_t)MB * (T + 1) * sizeof(int)), *lens = malloc((size_t)MB * sizeof(int));
    int *tmp = malloc((size_t)MB * T * sizeof(int));
    float *p = malloc((size_t)MB * sizeof(float));
    if (!x || !lens || !tmp || !p) {
        free(x), free(lens), free(tmp), free(p);
        return TG_ERR_NOMEM;
    }
    double sum = 0;
    res->min = 1;
    res->max = 0;
    for (int w0 = 0; w0 < W; w0 += MB) {
        int m = W - w0 < MB ? W - w0 : MB;
        for (int b = 0; b < m; b++) window_row(x + (size_t)b * (T + 1), ids, n, w0 + b, T, V);
        adv_lengths(x, T + 1, m, T, lens);
        adv_disc_probs(D, x, T + 1, lens, m, T, p, tmp);
        for (int b = 0; b < m; b++) {
            sum += p[b];
            if (p[b] < res->min) res->min = p[b];
            if (p[b] > res->max) res->max = p[b];
            if (w0 + b == 0) res->first = p[b];
        }
    }
    res->mean = sum / W;
    res->windows = W;
    free(x), free(lens), free(tmp), free(p);
    return TG_OK;
}
