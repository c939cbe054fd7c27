/*
 * bench/sample_speed.c: tokens per second of generation with the small
 * preset's shapes (d_model 256, 4 layers, 4 heads, context 256, remi's
 * vocabulary of 577) and random weights, for batch 1 and 16:
 *   cached    the KV-cached incremental forward (src/model/decode.c), one
 *             new token per sequence per step, plus the sampler;
 *   uncached  model_lm_forward on the whole prefix at every step, keeping
 *             the last position's logits (what decoding costs without a cache);
 *   sliding   cached decoding of 640 new tokens, past the context: the
 *             window slides (keep 128, re-encode, go on) every 128 tokens;
 *   generate  sample_generate end to end (grammar mask, sampler, slides,
 *             sequences leaving the batch at EOS), --length 640; a random
 *             model may end samples early, so the mean length is printed.
 * The cached and uncached runs both start from BOS and produce the same
 * number of new tokens (N, default 128, so the prefix grows to N+1); the
 * rate is new tokens over all sequences divided by wall time (median of the
 * repetitions); the last column is the cached rate over this process's CPU
 * time, steadier than the wall time on a shared machine. bench/sample_vs_torch.py
 * compares with PyTorch.
 *
 *   bench_sample_speed [threads] [new tokens N] [repetitions] [all|cached] [fp32|bf16]
 *   defaults:           1         128              3             all
 * "cached" times the cached decoding alone (the other columns print 0): for
 * profiling it and for bench/sample_vs_torch.py, which reads that column only.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"
#include "sample/sample.h"
#include "tok/tok.h"

#include "bench.h"

/* Seconds for N steps of cached decoding of B sequences from BOS; *cpu gets
 * the CPU seconds. */
static double run_cached(model_cache *s, int B, int N, int V, tg_rng *rng, float *logits, void *scratch,
                         double *cpu)
{
    double c0 = bench_cpu_sec();
    int tok[16];
    sample_params p = sample_params_default();
    double t0 = tg_now_sec();
    model_cache_reset(s, B);
    for (int b = 0; b < B; b++) tok[b] = TOK_BOS;
    model_decode(s, tok, 1, logits);
    for (int i = 0; i < N; i++) {
        for (int b = 0; b < B; b++) tok[b] = sample_pick(logits + (size_t)b * V, NULL, V, &p, rng, scratch);
        if (i + 1 < N) model_decode(s, tok, 1, logits);
    }
    *cpu = bench_cpu_sec() - c0;
    return tg_now_sec() - t0;
}

/* Seconds for `total` new tokens with the window sliding as sample_generate
 * slides it (keep T_ctx/2). */
static double run_sliding(model_cache *s, int B, int total, int T_ctx, int V, tg_rng *rng,
                          float *logits, void *scratch)
{
    int *hist = malloc((size_t)B * T_ctx * sizeof(int)), *feed = malloc((size_t)B * T_ctx * sizeof(int));
    int keep = T_ctx / 2, n = 1;
    sample_params p = sample_params_default();
    double t0 = tg_now_sec();
    model_cache_reset(s, B);
    for (int b = 0; b < B; b++) hist[(size_t)b * T_ctx] = feed[b] = TOK_BOS;
    model_decode(s, feed, 1, logits);
    for (int i = 0; i < total; i++) {
        if (n == T_ctx) {
            for (int b = 0; b < B; b++)
                memmove(hist + (size_t)b * T_ctx, hist + (size_t)b * T_ctx + (T_ctx - keep), (size_t)keep * sizeof(int));
            n = keep;
            model_cache_reset(s, B);
        }
        for (int b = 0; b < B; b++)
            hist[(size_t)b * T_ctx + n] = sample_pick(logits + (size_t)b * V, NULL, V, &p, rng, scratch);
        n++;
        int k = n - model_cache_len(s);
        for (int b = 0; b < B; b++) memcpy(feed + (size_t)b * k, hist + (size_t)b * T_ctx + n - k, (size_t)k * sizeof(int));
        model_decode(s, feed, k, logits);
    }
    double el = tg_now_sec() - t0;
    free(hist);
    free(feed);
    return el;
}

/* The same without a cache: the whole prefix through model_lm_forward each step. */
static double run_uncached(tg_model *m, int B, int N, int V, tg_rng *rng, void *scratch)
{
    int *hist = malloc((size_t)B * (N + 1) * sizeof(int));
    int *buf = malloc((size_t)B * (N + 1) * sizeof(int));
    sample_params p = sample_params_default();
    double t0 = tg_now_sec();
    for (int b = 0; b < B; b++) hist[(size_t)b * (N + 1)] = TOK_BOS;
    for (int t = 1; t <= N; t++) {
        for (int b = 0; b < B; b++) memcpy(buf + (size_t)b * t, hist + (size_t)b * (N + 1), (size_t)t * sizeof(int));
        model_lm_forward(m, buf, NULL, B, t, NULL);
        const float *lg = model_logits(m);
        for (int b = 0; b < B; b++)
            hist[(size_t)b * (N + 1) + t] =
                sample_pick(lg + ((size_t)b * t + t - 1) * V, NULL, V, &p, rng, scratch);
    }
    double el = tg_now_sec() - t0;
    free(hist);
    free(buf);
    return el;
}

int main(int argc, char **argv)
{
    static const char prog[] = "bench_sample_speed",
                      usage[] = "bench_sample_speed [threads (0: all cores)] [new tokens] [repetitions] "
                                "[all|cached] [fp32|bf16]";
    int threads = argc > 1 ? bench_int(prog, "threads", argv[1], 0, 1024, usage) : 1;
    int N = argc > 2 ? bench_int(prog, "new tokens", argv[2], 1, 255, usage) : 128;
    int reps = argc > 3 ? bench_int(prog, "repetitions", argv[3], 1, 15, usage) : 3;
    int all = argc <= 4 || strcmp(argv[4], "all") == 0;
    if (!all && strcmp(argv[4], "cached") != 0) {
        fprintf(stderr, "bench_sample_speed: the 4th argument is all or cached, got \"%s\"\n", argv[4]);
        return 2;
    }
    nn_set_threads(threads);
    nn_precision prec = NN_PRECISION_FP32;
    if (argc > 5 && (nn_precision_parse(argv[5], &prec) != TG_OK || prec == NN_PRECISION_AUTO)) {
        fprintf(stderr, "bench_sample_speed: the 5th argument is fp32 or bf16, got \"%s\"\n", argv[5]);
        return 2;
    }
    if (nn_set_precision(prec) != TG_OK) {
        fprintf(stderr, "bench_sample_speed: no bf16 on this CPU or build\n");
        return 77;
    }

    tok_config tc = tok_config_default(TOK_REMI);
    tok_tokenizer *tok = NULL;
    if (tok_create(&tc, &tok) != TG_OK) return 1;
    const int V = tok_vocab_size(tok);
    model_config cfg = model_config_default();
    cfg.vocab_size = V;
    if (model_config_preset("small", &cfg) != TG_OK) return 1;
    cfg.dropout = 0.0f;
    tg_model *m = NULL;
    if (model_create(&cfg, 16, &m) != TG_OK) {
        fprintf(stderr, "bench_sample_speed: cannot create the model\n");
        return 1;
    }
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    model_init(m, &rng);
    model_cache *s = NULL;
    if (model_cache_create(m, 16, 0, &s) != TG_OK) return 1;
    float *logits = malloc((size_t)16 * V * sizeof(float));
    void *scratch = malloc(sample_pick_scratch_bytes(V));

    char blas[256];
    printf("small preset: d_model %d, %d layers, %d heads, context %d, V %d, %zu parameters, %s attention\n",
           cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.context, V, model_param_count(m),
           cfg.attention == MODEL_ATTN_RELATIVE ? "relative" : "absolute");
    printf("%s; precision %s; %d new tokens per sequence from BOS; median of %d\n\n",
           nn_blas_info(blas, sizeof blas), nn_precision_name(prec), N, reps);
    printf("| batch | cached tok/s | uncached tok/s | speed-up | cached, 640 tokens, sliding tok/s | "
           "generate tok/s (mean new tokens) | cached tok/CPU-s |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- |\n");
    static const int batches[] = {1, 16};
    for (int k = 0; k < 2; k++) {
        int B = batches[k];
        double tc_[16], tcpu[16], tu[16], ts[16], tg[16];
        size_t made = 0;
        for (int r = 0; r < reps; r++) {
            tc_[r] = run_cached(s, B, N, V, &rng, logits, scratch, &tcpu[r]);
            tu[r] = ts[r] = tg[r] = 0.0;
            if (!all) continue;
            tu[r] = run_uncached(m, B, N, V, &rng, scratch);
            ts[r] = run_sliding(s, B, 640, cfg.context, V, &rng, logits, scratch);
            sample_gen_options o = sample_gen_options_default();
            o.num = B;
            o.batch = B;
            o.length = 640;
            o.seed = (uint64_t)r;
            tok_seq out[16];
            memset(out, 0, sizeof out);
            sample_gen_stats st;
            char err[256];
            if (sample_generate(m, tok, &o, out, &st, err, sizeof err) != TG_OK) {
                fprintf(stderr, "bench_sample_speed: %s\n", err);
                return 1;
            }
            tg[r] = st.new_tokens > 0 ? st.seconds / (double)st.new_tokens : 0.0;
            made += st.new_tokens;
            for (int b = 0; b < B; b++) tok_seq_free(&out[b]);
        }
        double c = (double)B * N / bench_median(tc_, reps), cpu = (double)B * N / bench_median(tcpu, reps);
        double u = all ? (double)B * N / bench_median(tu, reps) : 0.0;
        double sl = all ? (double)B * 640 / bench_median(ts, reps) : 0.0, g = bench_median(tg, reps);
        printf("| %d | %.0f | %.0f | %.1fx | %.0f | %.0f (%.0f) | %.0f |\n", B, c, u, all ? c / u : 0.0, sl,
               g > 0 ? 1.0 / g : 0.0, (double)made / ((double)reps * B), cpu);
        fflush(stdout);
    }
    printf("\ncache and activations of the run state (batch 16): %.1f MiB, of which keys and values "
           "%.1f MiB; bf16 weight copies %.1f MiB\n",
           (double)model_cache_bytes(s) / (1024.0 * 1024.0),
           (double)model_cache_kv_bytes(s) / (1024.0 * 1024.0),
           (double)model_bf16_bytes(m) / (1024.0 * 1024.0));
    free(logits);
    free(scratch);
    model_cache_free(s);
    model_free(m);
    tok_free(tok);
    return 0;
}
