/*
 * fc_attention.c: the cost of FC-attention (Museformer's bar attention,
 * src/nn/fcattn.c) against full relative attention (Music Transformer's
 * skewed kernel, dense) at the same shapes, by the length of the history:
 * time of one training step's forward and backward on one sequence of T
 * tokens, time of one generated token after T tokens in the cache, and the
 * memory each needs (the activation arena of training, the keys and values
 * of decoding's cache, and the bytes of keys/values FC-attention actually
 * reads), with ratios against the first (shortest) length of the same kind.
 * FC decodes twice, token by token in turn: with its compact cache (the
 * bars a later query reads in full, one summary per older bar) and with the
 * cache that keeps every position (model_cache_fc_keep_all, the cache before
 * issue 18), whose bytes and time per token are the reference columns.
 *
 *   bench_fc_attention [preset] [threads] [lengths] [gen] [max_dense_train] [kinds]
 *   defaults:           small    1         256,1024,2048,4096,8192  16  4096  fc,relative
 *
 * Tokens are random with a Bar token every 24 (remi-compact's median bar on
 * Nottingham), distances 1,2,4,8,12,16,24,32. Relative attention's training
 * step above max_dense_train tokens is not run (its probabilities alone are
 * L*H*T*T floats: 4.3 GB at 8192 for "small"); its planned arena is still
 * printed. Times are this process's CPU time (one thread: other helpers
 * share the machine, and CPU time does not count their turns), median of
 * 3 training steps up to 1024 tokens (1 above) and of `gen` tokens (and
 * their mean, which counts fc's compaction when a bar opens). The
 * cache's bytes are those after T + gen tokens, per token of that history.
 * Prints a Markdown table on stdout.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"
#include "nn/nn.h"

#include "bench.h"

enum { BAR = 5, BAR_LEN = 24, V = 300 };

typedef struct {
    double train_ms, token_ms, full_token_ms, mean_ms, full_mean_ms;
    double arena_mb, cache_mb, full_cache_mb, fc_read_kb;
    int trained;
} cost;

static void make_tokens(int *tok, int *tg, int n, tg_rng *rng)
{
    for (int i = 0; i < n; i++)
        tok[i] = i % BAR_LEN == 1 ? BAR : i == 0 ? 0 : 6 + (int)tg_rng_below(rng, V - 6);
    for (int i = 0; i < n; i++) tg[i] = i + 1 < n ? tok[i + 1] : BAR;
}

/* Keys and values FC-attention reads for one token after n tokens of
 * history, per layer: the keys of that query (nn_fc_keys), K and V, C floats each. */
static double fc_read_kb(const model_config *cfg, const int *tok, int n)
{
    int *bar = malloc(sizeof(int) * (size_t)(n + 1)), *st = malloc(sizeof(int) * (size_t)(n + 3));
    int *keys = malloc(sizeof(int) * (size_t)(n + 1)), nb;
    nn_fc_bars(bar, st, &nb, tok, n + 1, cfg->fc_bar_token);
    nn_fc_plan p = {bar, st, &nb, cfg->fc_distances, model_fc_near(cfg)};
    int k = nn_fc_keys(&p, 0, n + 1, n, keys);
    free(bar), free(st), free(keys);
    return (double)k * 2 * cfg->d_model * cfg->n_layers * sizeof(float) / 1024.0;
}

/* before bench_median sorts them */
static double mean_of(const double *v, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++) s += v[i];
    return s / n;
}

static cost measure(const char *preset, model_attention kind, int T, int gen, int max_dense,
                    const int *tok, const int *tg)
{
    cost c = {0};
    model_config cfg = model_config_default();
    cfg.vocab_size = V;
    model_config_preset(preset, &cfg);
    cfg.attention = kind;
    cfg.context = T + gen;
    cfg.dropout = 0.0f;
    cfg.fc_bar_token = BAR;
    tg_model *m;
    if (model_create(&cfg, 1, &m) != TG_OK) {
        fprintf(stderr, "bench_fc_attention: cannot create the model at %d tokens\n", T);
        exit(1);
    }
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    model_init(m, &rng);
    c.arena_mb = model_arena_bytes(m) / 1048576.0;
    if (kind == MODEL_ATTN_FC || T <= max_dense) {
        double ms[3];
        int reps = T <= 1024 ? 3 : 1;
        for (int r = 0; r < reps; r++) {
            double t0 = bench_cpu_sec();
            model_zero_grad(m);
            model_lm_forward(m, tok, tg, 1, T, NULL);
            model_lm_backward(m);
            ms[r] = (bench_cpu_sec() - t0) * 1e3;
        }
        c.train_ms = bench_median(ms, reps);
        c.trained = 1;
    }
    /* fc: the compact cache and, in turn, the full one (the reference) */
    const int n_caches = kind == MODEL_ATTN_FC ? 2 : 1;
    model_cache *s[2] = {NULL, NULL};
    float *logits = malloc(sizeof(float) * V);
    for (int k = 0; k < n_caches; k++) {
        if (model_cache_create(m, 1, 64, &s[k]) != TG_OK) exit(1);
        model_cache_fc_keep_all(s[k], k == 1);
        model_cache_reset(s[k], 1);
        model_decode(s[k], tok, T, logits);
    }
    double *ms = malloc(sizeof(double) * (size_t)gen * 2);
    for (int g = 0; g < gen; g++)
        for (int k = 0; k < n_caches; k++) {
            double t0 = bench_cpu_sec();
            model_decode(s[k], &tok[T + g], 1, logits);
            ms[k * gen + g] = (bench_cpu_sec() - t0) * 1e3;
        }
    c.mean_ms = mean_of(ms, gen);
    c.token_ms = bench_median(ms, gen);
    c.cache_mb = model_cache_kv_bytes(s[0]) / 1048576.0;
    if (n_caches == 2) {
        c.full_mean_ms = mean_of(ms + gen, gen);
        c.full_token_ms = bench_median(ms + gen, gen);
        c.full_cache_mb = model_cache_kv_bytes(s[1]) / 1048576.0;
    }
    if (kind == MODEL_ATTN_FC) c.fc_read_kb = fc_read_kb(&cfg, tok, T);
    free(ms), free(logits);
    model_cache_free(s[0]);
    model_cache_free(s[1]);
    model_free(m);
    return c;
}

int main(int argc, char **argv)
{
    const char *preset = argc > 1 ? argv[1] : "small";
    int threads = 1, gen = 16, max_dense = 4096;
    const char *list = argc > 3 ? argv[3] : "256,1024,2048,4096,8192";
    if ((argc > 2 && !bench_int_parse(argv[2], 0, 1024, &threads)) ||
        (argc > 4 && !bench_int_parse(argv[4], 1, 1024, &gen)) ||
        (argc > 5 && !bench_int_parse(argv[5], 1, 1 << 20, &max_dense))) {
        fprintf(stderr, "usage: bench_fc_attention [preset] [threads] [lengths] [gen] [max_dense_train] [kinds]\n");
        return 1;
    }
    nn_set_threads(threads);
    int lengths[16], n = 0;
    for (char *p = (char *)list; *p && n < 16;) {
        lengths[n++] = (int)strtol(p, &p, 10);
        if (*p == ',') p++;
    }
    int T_max = 0;
    for (int i = 0; i < n; i++) T_max = lengths[i] > T_max ? lengths[i] : T_max;
    int *tok = malloc(sizeof(int) * (size_t)(T_max + gen)), *tg = malloc(sizeof(int) * (size_t)(T_max + gen));
    tg_rng rng;
    tg_rng_seed(&rng, 2);
    make_tokens(tok, tg, T_max + gen, &rng);

    printf("preset %s, batch 1, %d thread(s), a Bar every %d tokens, fc distances %s\n\n", preset,
           threads, BAR_LEN, MODEL_FC_DISTANCES_DEFAULT);
    printf("| kind | history T | train step ms (x T0) | ms per token (x T0) | train arena MB | "
           "KV cache MB (per token KB) | fc keys read per token KB | fc full cache: MB (per "
           "token KB), ms per token | mean ms per token (fc: compact / full) |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    const char *kind_list = argc > 6 ? argv[6] : "fc,relative";
    model_attention kinds[2];
    int n_kinds = 0;
    if (strstr(kind_list, "fc")) kinds[n_kinds++] = MODEL_ATTN_FC;
    if (strstr(kind_list, "relative")) kinds[n_kinds++] = MODEL_ATTN_RELATIVE;
    for (int k = 0; k < n_kinds; k++) {
        cost base = {0};
        for (int i = 0; i < n; i++) {
            cost c = measure(preset, kinds[k], lengths[i], gen, max_dense, tok, tg);
            if (i == 0) base = c;
            char train[64], read[32], full[80] = "-", mean[48];
            if (c.trained) snprintf(train, sizeof train, "%.1f (%.2f)", c.train_ms, c.train_ms / base.train_ms);
            else snprintf(train, sizeof train, "not run");
            if (kinds[k] == MODEL_ATTN_FC) {
                snprintf(read, sizeof read, "%.0f", c.fc_read_kb);
                snprintf(full, sizeof full, "%.1f (%.1f), %.2f", c.full_cache_mb,
                         c.full_cache_mb * 1024.0 / (lengths[i] + gen), c.full_token_ms);
                snprintf(mean, sizeof mean, "%.2f / %.2f", c.mean_ms, c.full_mean_ms);
            } else {
                snprintf(read, sizeof read, "-");
                snprintf(mean, sizeof mean, "%.2f", c.mean_ms);
            }
            printf("| %s | %d | %s | %.2f (%.2f) | %.0f | %.1f (%.1f) | %s | %s | %s |\n",
                   model_attention_name(kinds[k]), lengths[i], train, c.token_ms,
                   c.token_ms / base.token_ms, c.arena_mb, c.cache_mb,
                   c.cache_mb * 1024.0 / (lengths[i] + gen), read, full, mean);
            fflush(stdout);
        }
    }
    free(tok), free(tg);
    return 0;
}
