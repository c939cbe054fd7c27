/*
 * critic_reward.c: the fresh critic of src/eval/critic.c as the adversarial
 * phase's discriminator (--reward critic; train.h tells the whole story).
 * Logistic regression on hashed token n-grams, refitted from zero weights
 * on every d-step's set (real openings against G's fresh samples), so that
 * whatever G has learnt to write more often than real tunes, a held chord
 * in every bar, becomes the next critic's tell. A prefix's value is
 * sigmoid of its logit, read in one pass over the sequence
 * (eval_critic_prefix_logits); the critic's training draws no random
 * numbers, so every rank fits the same weights on the same set.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "safetensors/safetensors.h"
#include "tok/tok.h"
#include "train.h"

tg_status adv_critic_create(int T, adv_critic **out)
{
    adv_critic *c = calloc(1, sizeof *c);
    if (!c) return TG_ERR_NOMEM;
    c->cfg = eval_critic_config_default();
    const size_t D = (size_t)1 << c->cfg.hash_bits;
    c->w = calloc(D, sizeof *c->w);
    c->counts = calloc(D, sizeof *c->counts);
    c->ids = malloc((size_t)T * sizeof *c->ids);
    c->z = malloc((size_t)T * sizeof *c->z);
    if (!c->w || !c->counts || !c->ids || !c->z) {
        adv_critic_free(c);
        return TG_ERR_NOMEM;
    }
    *out = c;
    return TG_OK;
}

void adv_critic_free(adv_critic *c)
{
    if (!c) return;
    free(c->w), free(c->counts), free(c->ids), free(c->z);
    free(c);
}

size_t adv_critic_weights(const adv_critic *c)
{
    return (size_t)1 << c->cfg.hash_bits;
}

/* The content of row x (x[0] = BOS, x[1..len]) as the critic reads it: the
 * tokens without EOS (eval's convention), into ids. */
static eval_seq content(const int *x, int len, uint16_t *ids)
{
    size_t n = 0;
    for (int t = 1; t <= len; t++)
        if (x[t] != TOK_EOS && x[t] != TOK_PAD) ids[n++] = (uint16_t)x[t];
    return (eval_seq){ids, n};
}

/* The share of items whose logit z is on the side of their label. */
static double accuracy(const double *z, const float *labels, int M)
{
    int right = 0;
    for (int i = 0; i < M; i++) right += (z[i] > 0) == (labels[i] > 0.5f);
    return (double)right / M;
}

tg_status adv_critic_fit(adv_critic *c, const int *x, int ld, const int *lens, const float *labels, int M,
                         double *fresh_acc, double *train_acc)
{
    uint16_t *ids = malloc((size_t)M * (size_t)ld * sizeof *ids);
    eval_seq *items = calloc((size_t)M, sizeof *items);
    double *z = malloc(2 * (size_t)M * sizeof *z);
    tg_status st = ids && items && z ? TG_OK : TG_ERR_NOMEM;
    for (int i = 0; st == TG_OK && i < M; i++) items[i] = content(x + (size_t)i * ld, lens[i], ids + (size_t)i * ld);
    if (st == TG_OK) st = eval_critic_fit(items, labels, (size_t)M, &c->cfg, c->w, &c->b, z, z + M);
    *fresh_acc = st == TG_OK && c->fitted ? accuracy(z, labels, M) : NAN;
    *train_acc = st == TG_OK ? accuracy(z + M, labels, M) : NAN;
    if (st == TG_OK) c->fitted = true;
    free(ids), free(items), free(z);
    return st;
}

void adv_critic_values(adv_critic *c, const int *x, const int *lens, int B, int T, float *Q)
{
    const int ld = T + 1;
    for (int b = 0; b < B; b++) {
        const int *row = x + (size_t)b * ld;
        float *q = Q + (size_t)b * T;
        const eval_seq s = content(row, lens[b], c->ids);
        eval_critic_prefix_logits(c->w, c->b, &c->cfg, &s, c->z, c->counts);
        /* token t's value: the prefix of the content up to it (an EOS, or
         * a token past the length, keeps the last content token's) */
        double z = c->b;
        size_t k = 0;
        for (int t = 1; t <= T; t++) {
            if (t <= lens[b] && row[t] != TOK_EOS && row[t] != TOK_PAD) z = c->z[k++];
            q[t - 1] = (float)tg_sigmoid(z);
        }
    }
}

tg_status adv_critic_save(const adv_critic *c, const char *path, const st_meta *meta, size_t n_meta)
{
    char bias[40], fitted[4];
    snprintf(bias, sizeof bias, "%a", c->b);
    snprintf(fitted, sizeof fitted, "%d", c->fitted ? 1 : 0);
    st_meta m[16];
    if (n_meta + 2 > sizeof m / sizeof m[0]) return TG_ERR_ARG;
    memcpy(m, meta, n_meta * sizeof *m);
    m[n_meta] = (st_meta){"bias", bias};
    m[n_meta + 1] = (st_meta){"fitted", fitted};
    st_tensor t = {.name = "critic.weight", .dtype = ST_F32, .ndim = 1,
                   .shape = {(int64_t)adv_critic_weights(c)}, .data = c->w};
    return st_write(path, &t, 1, m, n_meta + 2);
}

tg_status adv_critic_load(adv_critic *c, const char *path, int *cursor, char *err, size_t err_len)
{
    st_file *f = NULL;
    char why[256] = "";
    tg_status st = st_open(path, &f, why, sizeof why);
    if (st != TG_OK) return tg_fail(err, err_len, st, "%s: %s", path, why[0] ? why : tg_status_str(st));
    const st_tensor *t = st_find(f, "critic.weight");
    const char *bias = st_meta_get(f, "bias"), *fitted = st_meta_get(f, "fitted"), *cur = st_meta_get(f, "cursor");
    char *end = NULL;
    if (!t || t->dtype != ST_F32 || st_tensor_numel(t) != (int64_t)adv_critic_weights(c) || !bias || !fitted || !cur)
        st = tg_fail(err, err_len, TG_ERR_FORMAT,
                     "%s: not a critic of `tunegan train --reward critic` (critic.weight of %zu floats, bias, fitted "
                     "and cursor expected)", path, adv_critic_weights(c));
    if (st == TG_OK) {
        c->b = strtod(bias, &end);
        if (end == bias || *end) st = tg_fail(err, err_len, TG_ERR_FORMAT, "%s: the bias \"%s\" is damaged", path, bias);
    }
    if (st == TG_OK) {
        memcpy(c->w, t->data, adv_critic_weights(c) * sizeof *c->w);
        c->fitted = strcmp(fitted, "1") == 0;
        *cursor = atoi(cur);
    }
    st_close(f);
    return st;
}
