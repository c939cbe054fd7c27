/*
 * train_step.c: tokens per second of one training step of the generator
 * (forward, backward, gradient clipping, AdamW) at a preset's shapes, on
 * random tokens, median over the timed steps after warm-up; also the peak
 * resident memory. bench/train_vs_torch.py runs it beside PyTorch.
 *
 *   bench_train_step [preset] [relative|absolute] [batch] [steps] [threads] [vocab] [warm] [precision]
 *   defaults:         small    relative            16      10      0 (all)  577     2      fp32
 * precision: fp32 or bf16 (mixed precision, src/model/precision.c; exits 77
 * where bf16 cannot run).
 * (warm 0 and steps 1 make a short run for callgrind's instruction counts.)
 * Prints one JSON object on stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/core.h"
#include "model/model.h"

#include "bench.h"

int main(int argc, char **argv)
{
    const char *preset = argc > 1 ? argv[1] : "small";
    const char *attention = argc > 2 ? argv[2] : "relative";
    int B = argc > 3 ? atoi(argv[3]) : 16;
    int steps = argc > 4 ? atoi(argv[4]) : 10;
    int threads = argc > 5 ? atoi(argv[5]) : 0;
    int V = argc > 6 ? atoi(argv[6]) : 577;
    int warm = argc > 7 ? atoi(argv[7]) : 2;
    const char *precision = argc > 8 ? argv[8] : "fp32";
    nn_precision prec;
    model_config cfg = model_config_default();
    cfg.vocab_size = V;
    if (model_config_preset(preset, &cfg) != TG_OK || model_attention_parse(attention, &cfg.attention) != TG_OK ||
        B < 1 || steps < 1 || warm < 0 || nn_precision_parse(precision, &prec) != TG_OK ||
        prec == NN_PRECISION_AUTO) {
        fprintf(stderr, "usage: bench_train_step [tiny|small|base] [relative|absolute] [batch] [steps] [threads] [vocab] [warm] [fp32|bf16]\n");
        return 1;
    }
    cfg.dropout = 0.0f; /* the PyTorch side runs without dropout too */
    nn_set_threads(threads);
    if (nn_set_precision(prec) != TG_OK) {
        fprintf(stderr, "bench_train_step: no bf16 on this CPU or build\n");
        return 77;
    }
    tg_model *m;
    if (model_create(&cfg, B, &m) != TG_OK) return 1;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    model_init(m, &rng);
    int T = cfg.context;
    int *tokens = malloc(sizeof(int) * (size_t)B * (T + 1));
    for (int i = 0; i < B * (T + 1); i++) tokens[i] = (int)tg_rng_below(&rng, (uint32_t)V);
    int *inputs = malloc(sizeof(int) * (size_t)B * T), *targets = malloc(sizeof(int) * (size_t)B * T);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            inputs[b * T + t] = tokens[b * (T + 1) + t];
            targets[b * T + t] = tokens[b * (T + 1) + t + 1];
        }
    nn_adamw_hparams hp = {3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f};
    double *ms = malloc(sizeof(double) * (size_t)steps), *cpu_ms = malloc(sizeof(double) * (size_t)steps);
    float loss = 0;
    for (int s = 0; s < warm + steps; s++) {
        double t0 = tg_now_sec(), c0 = bench_cpu_sec();
        model_zero_grad(m);
        loss = model_lm_forward(m, inputs, targets, B, T, NULL);
        model_lm_backward(m);
        model_clip_grad(m, 1.0f);
        model_adamw_step(m, &hp, s + 1);
        double dt = tg_now_sec() - t0;
        if (s >= warm) {
            ms[s - warm] = dt * 1e3;
            cpu_ms[s - warm] = (bench_cpu_sec() - c0) * 1e3;
        }
    }
    double med = bench_median(ms, steps), cpu_med = bench_median(cpu_ms, steps);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    char blas[256];
    printf("{\"impl\":\"tunegan %s\",\"precision\":\"%s\",\"preset\":\"%s\",\"attention\":\"%s\",\"batch\":%d,\"context\":%d,"
           "\"threads\":%d,\"params\":%zu,\"step_ms_median\":%.2f,\"tok_per_s\":%.1f,"
           "\"step_cpu_ms_median\":%.2f,\"tok_per_cpu_s\":%.1f,\"max_rss_mb\":%.1f,"
           "\"loss\":%.4f,\"blas\":\"%s\"}\n",
           precision, precision, preset, attention, B, T, nn_get_threads(), model_param_count(m), med, B * T / (med / 1e3),
           cpu_med, B * T / (cpu_med / 1e3), ru.ru_maxrss / 1024.0, loss,
           nn_blas_info(blas, sizeof blas));
    free(ms);
    free(cpu_ms);
    free(tokens);
    free(inputs);
    free(targets);
    model_free(m);
    return 0;
}
