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

tg_status adv_critic_create(int T, int memory, adv_critic **out)
{
    adv_critic *c = calloc(1, sizeof *c);
    if (!c) return TG_ERR_NOMEM;
    c->cfg = eval_critic_config_default();
    const size_t D = (size_t)1 << c->cfg.hash_bits;
    c->w = calloc(D, sizeof *c->w);
    c->counts = calloc(D, sizeof *c->counts);
    c->ids = malloc((size_t)T * sizeof *c->ids);
    c->z = malloc((size_t)T * sizeof *c->z);
    c->memory = memory > 0 ? memory : 0;
    c->ld = T + 1;
    if (c->memory) {
        c->mem_x = calloc((size_t)c->memory * (size_t)c->ld, sizeof *c->mem_x);
        c->mem_lens = calloc((size_t)c->memory, sizeof *c->mem_lens);
    }
    if (!c->w || !c->counts || !c->ids || !c->z || (c->memory && (!c->mem_x || !c->mem_lens))) {
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
    free(c->mem_x), free(c->mem_lens);
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
                         int fresh, double *fresh_acc, double *train_acc)
{
    uint16_t *ids = malloc((size_t)M * (size_t)ld * sizeof *ids);
    eval_seq *items = calloc((size_t)M, sizeof *items);
    double *z = malloc(2 * (size_t)M * sizeof *z);
    tg_status st = ids && items && z ? TG_OK : TG_ERR_NOMEM;
    for (int i = 0; st == TG_OK && i < M; i++) items[i] = content(x + (size_t)i * ld, lens[i], ids + (size_t)i * ld);
    if (st == TG_OK) st = eval_critic_fit(items, labels, (size_t)M, &c->cfg, c->w, &c->b, z, z + M);
    *fresh_acc = st == TG_OK && c->fitted ? accuracy(z, labels, fresh < M ? fresh : M) : NAN;
    *train_acc = st == TG_OK ? accuracy(z + M, labels, M) : NAN;
    if (st == TG_OK) c->fitted = true;
    free(ids), free(items), free(z);
    return st;
}

void adv_critic_remember(adv_critic *c, const int *x, const int *lens, int n)
{
    for (int i = 0; i < n && c->memory; i++) {
        memcpy(c->mem_x + (size_t)c->mem_next * c->ld, x + (size_t)i * c->ld, (size_t)c->ld * sizeof *x);
        c->mem_lens[c->mem_next] = lens[i];
        c->mem_next = (c->mem_next + 1) % c->memory;
        if (c->mem_count < c->memory) c->mem_count++;
    }
}

int adv_critic_recall(const adv_critic *c, int *x, int *lens)
{
    /* the oldest row sits at mem_next once the ring is full, else at 0 */
    const int first = c->mem_count == c->memory ? c->mem_next : 0;
    for (int i = 0; i < c->mem_count; i++) {
        const int k = (first + i) % c->memory;
        memcpy(x + (size_t)i * c->ld, c->mem_x + (size_t)k * c->ld, (size_t)c->ld * sizeof *x);
        lens[i] = c->mem_lens[k];
    }
    return c->mem_count;
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
    char bias[40], fitted[4], count[16], next[16];
    snprintf(bias, sizeof bias, "%a", c->b);
    snprintf(fitted, sizeof fitted, "%d", c->fitted ? 1 : 0);
    snprintf(count, sizeof count, "%d", c->mem_count);
    snprintf(next, sizeof next, "%d", c->mem_next);
    st_meta m[16];
    if (n_meta + 4 > sizeof m / sizeof m[0]) return TG_ERR_ARG;
    memcpy(m, meta, n_meta * sizeof *m);
    size_t k = n_meta;
    m[k++] = (st_meta){"bias", bias};
    m[k++] = (st_meta){"fitted", fitted};
    st_tensor t[3] = {{.name = "critic.weight", .dtype = ST_F32, .ndim = 1,
                       .shape = {(int64_t)adv_critic_weights(c)}, .data = c->w}};
    size_t n = 1;
    if (c->memory) {
        m[k++] = (st_meta){"memory_count", count};
        m[k++] = (st_meta){"memory_next", next};
        t[n++] = (st_tensor){.name = "memory.tokens", .dtype = ST_I32, .ndim = 2,
                             .shape = {c->memory, c->ld}, .data = c->mem_x};
        t[n++] = (st_tensor){.name = "memory.lengths", .dtype = ST_I32, .ndim = 1, .shape = {c->memory},
                             .data = c->mem_lens};
    }
    return st_write(path, t, n, m, k);
}

/* The remembered rows of f into c; err names path. */
static tg_status load_memory(adv_critic *c, const st_file *f, const char *path, char *err, size_t err_len)
{
    const st_tensor *tx = st_find(f, "memory.tokens"), *tl = st_find(f, "memory.lengths");
    const char *count = st_meta_get(f, "memory_count"), *next = st_meta_get(f, "memory_next");
    if (!c->memory) {
        if (tx || tl) return tg_fail(err, err_len, TG_ERR_FORMAT, "%s: holds a critic's memory this run has none of (--critic-memory)", path);
        return TG_OK;
    }
    const int n = count ? atoi(count) : -1, k = next ? atoi(next) : -1;
    if (!tx || !tl || tx->dtype != ST_I32 || tl->dtype != ST_I32 || tx->ndim != 2 || tx->shape[0] != c->memory ||
        tx->shape[1] != c->ld || st_tensor_numel(tl) != c->memory || n < 0 || n > c->memory || k < 0 ||
        k >= c->memory)
        return tg_fail(err, err_len, TG_ERR_FORMAT,
                       "%s: no critic's memory of %d sequences of %d tokens (memory.tokens, memory.lengths, "
                       "memory_count, memory_next expected)", path, c->memory, c->ld);
    memcpy(c->mem_x, tx->data, (size_t)c->memory * (size_t)c->ld * sizeof *c->mem_x);
    memcpy(c->mem_lens, tl->data, (size_t)c->memory * sizeof *c->mem_lens);
    c->mem_count = n;
    c->mem_next = k;
    return TG_OK;
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
    if (st == TG_OK) st = load_memory(c, f, path, err, err_len);
    if (st == TG_OK) {
        memcpy(c->w, t->data, adv_critic_weights(c) * sizeof *c->w);
        c->fitted = strcmp(fitted, "1") == 0;
        *cursor = atoi(cur);
    }
    st_close(f);
    return st;
}
