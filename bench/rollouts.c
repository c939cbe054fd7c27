/*
 * bench/rollouts.c: the cost of one SeqGAN generator step (Yu et al. 2017,
 * https://arxiv.org/abs/1609.05473) against one MLE step on the same batch.
 *
 * The generator step is what src/train/seqgan.c runs per g-step: sample B
 * sequences of T tokens from G (adv_sample), value every K-th prefix by N
 * Monte-Carlo rollouts of the rollout policy scored by the discriminator
 * (adv_rollout_values), then one policy-gradient update with the KL term
 * against the reference copy (adv_pg_update). The MLE step is forward,
 * backward, clipping and AdamW on the same B x T tokens (teacher forcing).
 * Random weights (a generator of the preset, the tiny discriminator as
 * train_adv's default), remi's vocabulary of 577. Rates are B*T tokens over
 * the median wall time of the timed steps (one warm-up step first); the last
 * two columns are the medians of this process's CPU time of each step and
 * their ratio, steadier than wall time on a shared machine.
 *
 * --reward dense times the update of --reward dense instead (src/train: a
 * causal discriminator, the tiny preset as a generator, scores every prefix
 * in one pass, adv_dense_values): sample, one D pass, the policy-gradient
 * update; no rollouts (--rollouts and --rollout-every are then unused).
 *
 *   bench_rollouts [--preset tiny|small] [--rollouts N] [--rollout-every K]
 *                  [--batch B] [--seq-len T] [--steps S] [--threads n]
 *                  [--precision fp32|bf16] [--copy-prefix] [--reward rollout|dense]
 *                  [--warmup 0|1]
 *   defaults:       tiny, 16, 1, 16, 32, 3, 1, fp32, prefix shared, rollout, 1
 * --warmup 0 skips the warm-up g-step (the MLE step still gets one, on a
 * sampled batch): for the settings whose g-step takes minutes; the first
 * timed g-step then also pays the first touch of the branch state's pages
 * (its keys and values up to T: about 0.1 s at small, B*N = 256, T = 64).
 * --copy-prefix copies each prefix's cache for its rollouts (model_cache_fork,
 * as before prefix sharing) instead of reading it in place; bf16 exits 77
 * where it cannot run.
 * Prints one markdown table row (the header with --header).
 *
 * Left out: the discriminator's own training (d-steps), which SeqGAN runs
 * between g-steps and whose cost does not depend on the rollouts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"
#include "sample/sample.h"
#include "train/train.h"

#include "bench.h"

typedef struct {
    const char *preset;
    int rollouts, every, batch, seq_len, steps, threads, header;
    const char *precision;
    int copy_prefix, dense, warmup;
} bench_opts;

static void usage_exit(const char *why)
{
    fprintf(stderr, "bench_rollouts: %s\n", why);
    fprintf(stderr, "usage: bench_rollouts [--preset tiny|small|base] [--rollouts N] [--rollout-every K] "
                    "[--batch B] [--seq-len T] [--steps S] [--threads n (0: all cores)] [--precision fp32|bf16] "
                    "[--copy-prefix] [--reward rollout|dense] [--warmup 0|1] [--header]\n");
    exit(2);
}

/* The value of flag, s (NULL when missing), in [lo, hi], or exits through
 * usage_exit. */
static int parse_int(const char *flag, const char *s, int lo, int hi)
{
    int v;
    if (!bench_int_parse(s, lo, hi, &v)) {
        char why[160];
        snprintf(why, sizeof why, "%s needs an integer in [%d, %d], got \"%s\"", flag, lo, hi, s ? s : "");
        usage_exit(why);
    }
    return v;
}

static bench_opts parse_args(int argc, char **argv)
{
    bench_opts o = {"tiny", 16, 1, 16, 32, 3, 1, 0, "fp32", 0, 0, 1};
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(f, "--header") == 0) { o.header = 1; continue; }
        if (strcmp(f, "--copy-prefix") == 0) { o.copy_prefix = 1; continue; }
        if (strcmp(f, "--precision") == 0 && v) o.precision = v;
        else if (strcmp(f, "--reward") == 0 && v && (strcmp(v, "rollout") == 0 || strcmp(v, "dense") == 0))
            o.dense = strcmp(v, "dense") == 0;
        else if (strcmp(f, "--preset") == 0 && v) o.preset = v;
        else if (strcmp(f, "--rollouts") == 0) o.rollouts = parse_int(f, v, 1, 64);
        else if (strcmp(f, "--rollout-every") == 0) o.every = parse_int(f, v, 1, 4096);
        else if (strcmp(f, "--batch") == 0) o.batch = parse_int(f, v, 1, 256);
        else if (strcmp(f, "--seq-len") == 0) o.seq_len = parse_int(f, v, 2, 4096);
        else if (strcmp(f, "--steps") == 0) o.steps = parse_int(f, v, 1, 100);
        else if (strcmp(f, "--threads") == 0) o.threads = parse_int(f, v, 0, 1024);
        else if (strcmp(f, "--warmup") == 0) o.warmup = parse_int(f, v, 0, 1);
        else usage_exit("unknown flag or missing value");
        i++;
    }
    return o;
}

/* The models and run states of one benchmark. */
typedef struct {
    tg_model *G, *ref, *roll, *D;
    model_cache *sg, *sp, *sb;
    int B, T, V;
    int *x, *lens, *tmp, *inputs, *targets;
    float *Q, *logits;
} bench_run;

static tg_status setup(bench_run *r, const bench_opts *o)
{
    model_config gc = model_config_default();
    gc.vocab_size = r->V = 577;
    if (model_config_preset(o->preset, &gc) != TG_OK) usage_exit("unknown preset");
    gc.dropout = 0.0f;
    if (o->seq_len + 1 > gc.context) usage_exit("--seq-len must be below the preset's context");
    model_config dc = model_config_default();
    model_config_preset("tiny", &dc);
    dc.kind = o->dense ? MODEL_GENERATOR : MODEL_DISCRIMINATOR;
    dc.vocab_size = r->V;
    dc.context = o->seq_len;
    r->B = o->batch;
    r->T = o->seq_len;
    tg_status s = model_create(&gc, r->B, &r->G);
    if (s == TG_OK) s = model_create(&gc, r->B, &r->ref);
    if (s == TG_OK) s = model_create(&gc, r->B, &r->roll);
    if (s == TG_OK) s = model_create(&dc, r->B, &r->D);
    if (s != TG_OK) return s;
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    model_init(r->G, &rng);
    model_init(r->D, &rng);
    model_copy_params(r->ref, r->G);
    model_copy_params(r->roll, r->G);
    s = model_cache_create(r->G, r->B, 1, &r->sg);
    if (s == TG_OK) s = model_cache_create(r->roll, r->B, 1, &r->sp);
    if (s == TG_OK && !o->dense) s = model_cache_create(r->roll, r->B * o->rollouts, 1, &r->sb);
    if (s != TG_OK) return s;
    const size_t BT = (size_t)r->B * r->T;
    r->x = malloc((BT + (size_t)r->B) * sizeof(int));
    r->lens = malloc((size_t)r->B * sizeof(int));
    r->tmp = malloc(2 * BT * sizeof(int));
    r->inputs = malloc(BT * sizeof(int));
    r->targets = malloc(BT * sizeof(int));
    r->Q = malloc(BT * sizeof(float));
    r->logits = malloc((size_t)r->B * r->V * sizeof(float));
    if (!r->x || !r->lens || !r->tmp || !r->inputs || !r->targets || !r->Q || !r->logits)
        return TG_ERR_NOMEM;
    return TG_OK;
}

static void teardown(bench_run *r)
{
    model_cache_free(r->sg);
    model_cache_free(r->sp);
    model_cache_free(r->sb);
    model_free(r->G);
    model_free(r->ref);
    model_free(r->roll);
    model_free(r->D);
    free(r->x);
    free(r->lens);
    free(r->tmp);
    free(r->inputs);
    free(r->targets);
    free(r->Q);
    free(r->logits);
}

/* One MLE step on the batch in r->x (inputs x[.,0..T-1], targets x[.,1..T]). */
static double mle_step(bench_run *r, int step)
{
    for (int b = 0; b < r->B; b++)
        for (int t = 0; t < r->T; t++) {
            r->inputs[b * r->T + t] = r->x[b * (r->T + 1) + t];
            r->targets[b * r->T + t] = r->x[b * (r->T + 1) + t + 1];
        }
    nn_adamw_hparams hp = {1e-5f, 0.9f, 0.95f, 1e-8f, 0.0f};
    double t0 = tg_now_sec();
    model_zero_grad(r->G);
    model_lm_forward(r->G, r->inputs, r->targets, r->B, r->T, NULL);
    model_lm_backward(r->G);
    model_clip_grad(r->G, 1.0f);
    model_adamw_step(r->G, &hp, step);
    return tg_now_sec() - t0;
}

/* One generator step: sample, rollout values, policy-gradient update; the
 * seconds of each part into part[0..2]. */
static tg_status g_step(bench_run *r, const bench_opts *o, tg_rng *rng, int step, double part[3])
{
    double t0 = tg_now_sec();
    tg_status s = adv_sample(r->sg, r->B, r->T, r->x, rng, r->logits);
    if (s != TG_OK) return s;
    adv_lengths(r->x, r->T + 1, r->B, r->T, r->lens);
    double t1 = tg_now_sec();
    if (o->dense) {
        adv_dense_values(r->D, r->x, r->lens, r->B, r->T, r->Q, r->tmp);
    } else {
        adv_rollout_ctx ctx = {0};
        ctx.prefix = r->sp;
        ctx.branch = r->sb;
        ctx.D = r->D;
        ctx.N = o->rollouts;
        ctx.K = o->every;
        ctx.rng = rng;
        ctx.copy_prefix = o->copy_prefix;
        s = adv_rollout_values(&ctx, r->x, r->lens, r->B, r->T, r->Q);
    }
    double t2 = tg_now_sec();
    adv_opt_step os = {1e-5f, 1.0f, 0.0f, step};
    float pg, kl, ent;
    if (s == TG_OK)
        s = adv_pg_update(r->G, r->ref, r->x, r->lens, r->Q, r->B, r->T, 0.1f, 0.0f, &os, &pg, &kl, &ent,
                          r->tmp);
    double t3 = tg_now_sec();
    part[0] = t1 - t0;
    part[1] = t2 - t1;
    part[2] = t3 - t2;
    return s;
}

int main(int argc, char **argv)
{
    bench_opts o = parse_args(argc, argv);
    nn_set_threads(o.threads);
    nn_precision prec;
    if (nn_precision_parse(o.precision, &prec) != TG_OK || prec == NN_PRECISION_AUTO)
        usage_exit("--precision must be fp32 or bf16");
    if (nn_set_precision(prec) != TG_OK) {
        fprintf(stderr, "bench_rollouts: no bf16 on this CPU or build\n");
        return 77;
    }
    bench_run r;
    memset(&r, 0, sizeof r);
    tg_status s = setup(&r, &o);
    if (s != TG_OK) {
        fprintf(stderr, "bench_rollouts: set-up failed: %s\n", tg_status_str(s));
        teardown(&r);
        return 1;
    }
    tg_rng rng;
    tg_rng_seed(&rng, 2);
    double mle[100], gen[100], parts[3][100], gen_cpu[100], mle_cpu[100];
    for (int i = 0; i <= o.steps && s == TG_OK; i++) {
        if (i == 0 && !o.warmup) { /* the MLE step's warm-up only, on a sampled batch */
            s = adv_sample(r.sg, r.B, r.T, r.x, &rng, r.logits);
            if (s == TG_OK) mle_step(&r, 1);
            continue;
        }
        double part[3] = {0, 0, 0};
        double c0 = bench_cpu_sec();
        s = g_step(&r, &o, &rng, i + 1, part);
        double gc = bench_cpu_sec() - c0;
        c0 = bench_cpu_sec();
        double m = mle_step(&r, i + 1);
        double mc = bench_cpu_sec() - c0;
        if (i == 0) continue; /* warm-up */
        mle[i - 1] = m;
        mle_cpu[i - 1] = mc;
        gen[i - 1] = part[0] + part[1] + part[2];
        gen_cpu[i - 1] = gc;
        for (int k = 0; k < 3; k++) parts[k][i - 1] = part[k];
    }
    if (s != TG_OK) {
        fprintf(stderr, "bench_rollouts: a generator step failed: %s\n", tg_status_str(s));
        teardown(&r);
        return 1;
    }
    const double tokens = (double)r.B * r.T, tm = bench_median(mle, o.steps),
                 tg = bench_median(gen, o.steps);
    if (o.header)
        printf("| preset | precision, prefix | B x T | rollouts N | every K | threads | MLE step ms (tok/s) | "
               "g-step ms (tok/s) | sample / values (rollouts or dense D) / pg update ms | g-step / MLE step | g-step CPU ms | "
               "MLE step CPU ms | g-step / MLE step, CPU |\n"
               "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    const double cg = bench_median(gen_cpu, o.steps), cm = bench_median(mle_cpu, o.steps);
    printf("| %s | %s, %s | %d x %d | %d | %d | %d | %.1f (%.0f) | %.1f (%.0f) | %.1f / %.1f / %.1f | %.1fx | %.0f "
           "| %.0f | %.1fx |\n",
           o.preset, o.precision, o.dense ? "dense reward" : o.copy_prefix ? "copied" : "shared", r.B, r.T,
           o.dense ? 0 : o.rollouts, o.dense ? 0 : o.every, nn_get_threads(), tm * 1e3, tokens / tm, tg * 1e3,
           tokens / tg, bench_median(parts[0], o.steps) * 1e3, bench_median(parts[1], o.steps) * 1e3,
           bench_median(parts[2], o.steps) * 1e3, tg / tm, cg * 1e3, cm * 1e3, cg / cm);
    teardown(&r);
    return 0;
}
