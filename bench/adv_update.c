/*
 * bench/adv_update.c: the cost of one adversarial update with a causal
 * ("dense") discriminator, --reward dense or bar (src/train/seqgan.c,
 * returns.c), against one MLE step of the generator on the same batch, and
 * the memory of both models at long contexts (a D that reads whole tunes).
 * With the reward "critic" the n-gram critic of --reward critic stands in
 * for D (critic_reward.c): its values of every prefix, and as its "D step"
 * one whole fit from zero on the batch (half labelled real), which is what
 * a d-step of the critic does on its set; its "arena" is its weights and
 * counts.
 *
 * The update is what a g-step of `tunegan train --reward dense|bar` runs:
 * sample B sequences of T tokens from G (adv_sample), D's p(real) at every
 * position (one teacher-forced forward of D), the returns (per token or per
 * bar, r = 2p - 1, gamma 0.9), one policy-gradient update of G with the KL
 * term against the reference (a forward of the reference, forward and
 * backward of G, AdamW). Beside it: one D step on the same batch (what D's
 * training costs per B sequences) and one MLE step of G (forward, backward,
 * clip, AdamW) on the same B x T tokens. Random weights; remi's vocabulary
 * (577); the samples get a Bar token every 42 tokens (remi's mean bar on
 * Nottingham) so that bar rewards and FC-attention see bars as in music.
 *
 *   bench_adv_update [preset] [attention] [B] [T] [steps] [reward]
 *   defaults:         tiny     relative    8   128  3       dense (or bar, critic)
 * attention: the generator's and the discriminator's (relative, absolute,
 * fc); D is the tiny preset. Times are this process's CPU seconds (the
 * machine is shared), medians over the steps after one warm-up. Prints one
 * Markdown table row, with the header first when BENCH_HEADER=1.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "model/model.h"
#include "nn/nn.h"
#include "train/train.h"

#include "bench.h"

enum { V = 577, BAR = 4, BAR_LEN = 42 };

typedef struct {
    tg_model *G, *ref, *D;
    adv_critic *C; /* --reward critic: in D's place */
    model_cache *sg;
    int B, T;
    int *x, *lens, *tmp, *inputs, *targets;
    float *Q, *R, *logits, *work;
} run;

static const char usage[] = "bench_adv_update [tiny|small|base] [relative|absolute|fc] [B] [T] [steps] [dense|bar|critic]";

static tg_model *make(const char *preset, model_attention att, model_kind kind, int T, int B, tg_rng *rng)
{
    model_config c = model_config_default();
    c.vocab_size = V;
    if (model_config_preset(preset, &c) != TG_OK) {
        fprintf(stderr, "usage: %s\n", usage);
        exit(2);
    }
    c.kind = kind;
    c.attention = att;
    c.context = T;
    c.dropout = 0.0f;
    if (att == MODEL_ATTN_FC) c.fc_bar_token = BAR;
    tg_model *m = NULL;
    if (model_create(&c, B, &m) != TG_OK) {
        fprintf(stderr, "bench_adv_update: cannot create a %s model of context %d\n", preset, T);
        exit(1);
    }
    model_init(m, rng);
    return m;
}

/* A Bar token every BAR_LEN tokens of the samples, and no EOS before T. */
static void bars(run *r)
{
    for (int b = 0; b < r->B; b++)
        for (int t = 1; t <= r->T; t++) {
            int *v = &r->x[(size_t)b * (r->T + 1) + t];
            if ((t - 1) % BAR_LEN == 0) *v = BAR;
            else if (*v == TOK_EOS || *v == TOK_PAD || *v == BAR) *v = 10;
        }
}

/* One adversarial update; CPU seconds of each part: sample, D values,
 * returns, pg update, D step. */
static void adv_update(run *r, int per_bar, tg_rng *rng, int step, double part[5])
{
    const int B = r->B, T = r->T;
    double c0 = bench_cpu_sec();
    adv_sample(r->sg, B, T, r->x, rng, r->logits);
    bars(r);
    adv_lengths(r->x, T + 1, B, T, r->lens);
    double c1 = bench_cpu_sec();
    if (r->C) {
        adv_critic_values(r->C, r->x, r->lens, B, T, r->Q);
    } else {
        for (int b = 0; b < B; b++)
            memcpy(r->tmp + (size_t)b * T, r->x + (size_t)b * (T + 1) + 1, (size_t)T * sizeof(int));
        adv_disc_fill_padding(r->D, r->tmp, r->lens, B, T);
        model_lm_forward(r->D, r->tmp, NULL, B, T, NULL);
        const float *lg = model_logits(r->D);
        for (size_t i = 0; i < (size_t)B * T; i++) r->Q[i] = adv_dense_prob(lg + i * V);
    }
    double c2 = bench_cpu_sec();
    adv_return_opts ro = {per_bar, ADV_SHAPE_CENTERED, 0.9f, BAR};
    adv_returns(r->R, r->Q, r->x, T + 1, r->lens, B, T, &ro);
    double c3 = bench_cpu_sec();
    adv_pg_sums sums;
    adv_pg_extra ex = {0};
    model_zero_grad(r->G);
    adv_pg_backward_ex(r->G, r->ref, r->x, r->lens, r->R, B, T, 0, B, 0.1f, 0.0f, r->work, r->tmp, &ex, &sums);
    adv_opt_step os = {1e-5f, 1.0f, 0.0f, step};
    adv_opt_apply(r->G, &os);
    double c4 = bench_cpu_sec();
    float labels[4096], acc;
    for (int b = 0; b < B; b++) labels[b] = (float)(b % 2);
    adv_opt_step od = {1e-4f, 1.0f, 0.01f, step};
    double fresh, fitted;
    if (r->C) adv_critic_fit(r->C, r->x, T + 1, r->lens, labels, B, B, &fresh, &fitted);
    else adv_disc_update(r->D, r->x, T + 1, r->lens, labels, B, T, NULL, &od, &acc, r->tmp);
    double c5 = bench_cpu_sec();
    part[0] = c1 - c0, part[1] = c2 - c1, part[2] = c3 - c2, part[3] = c4 - c3, part[4] = c5 - c4;
}

static double mle_step(run *r, int step)
{
    const int B = r->B, T = r->T;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            r->inputs[b * T + t] = r->x[b * (T + 1) + t];
            r->targets[b * T + t] = r->x[b * (T + 1) + t + 1];
        }
    nn_adamw_hparams hp = {1e-5f, 0.9f, 0.95f, 1e-8f, 0.0f};
    double c0 = bench_cpu_sec();
    model_zero_grad(r->G);
    model_lm_forward(r->G, r->inputs, r->targets, B, T, NULL);
    model_lm_backward(r->G);
    model_clip_grad(r->G, 1.0f);
    model_adamw_step(r->G, &hp, step);
    return bench_cpu_sec() - c0;
}

int main(int argc, char **argv)
{
    const char *preset = argc > 1 ? argv[1] : "tiny";
    model_attention att = MODEL_ATTN_RELATIVE;
    if (argc > 2 && model_attention_parse(argv[2], &att) != TG_OK) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    run r;
    memset(&r, 0, sizeof r);
    r.B = argc > 3 ? bench_int("bench_adv_update", "B", argv[3], 1, 4096, usage) : 8;
    r.T = argc > 4 ? bench_int("bench_adv_update", "T", argv[4], 2, 65536, usage) : 128;
    const int steps = argc > 5 ? bench_int("bench_adv_update", "steps", argv[5], 1, 100, usage) : 3;
    const char *reward = argc > 6 ? argv[6] : "dense";
    if (strcmp(reward, "dense") != 0 && strcmp(reward, "bar") != 0 && strcmp(reward, "critic") != 0) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    const int per_bar = strcmp(reward, "bar") == 0;
    nn_set_threads(1);
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    r.G = make(preset, att, MODEL_GENERATOR, r.T, r.B, &rng);
    r.ref = make(preset, att, MODEL_GENERATOR, r.T, r.B, &rng);
    model_copy_params(r.ref, r.G);
    r.D = make("tiny", att, MODEL_GENERATOR, r.T, r.B, &rng);
    if (strcmp(reward, "critic") == 0 && adv_critic_create(r.T, 0, &r.C) != TG_OK) return 1;
    if (model_cache_create(r.G, r.B, 1, &r.sg) != TG_OK) {
        fprintf(stderr, "bench_adv_update: cannot create the sampling state\n");
        return 1;
    }
    const size_t BT = (size_t)r.B * r.T;
    r.x = malloc((BT + (size_t)r.B) * sizeof(int));
    r.lens = malloc((size_t)r.B * sizeof(int));
    r.tmp = malloc(2 * BT * sizeof(int));
    r.inputs = malloc(BT * sizeof(int));
    r.targets = malloc(BT * sizeof(int));
    r.Q = malloc(BT * sizeof(float));
    r.R = malloc(BT * sizeof(float));
    r.work = malloc(2 * BT * sizeof(float));
    r.logits = malloc((size_t)r.B * V * sizeof(float));
    if (!r.x || !r.lens || !r.tmp || !r.inputs || !r.targets || !r.Q || !r.R || !r.work || !r.logits) return 1;
    double parts[5][100], mle[100], upd[100];
    for (int i = 0; i <= steps; i++) {
        double part[5];
        adv_update(&r, per_bar, &rng, i + 1, part);
        double m = mle_step(&r, i + 1);
        if (i == 0) continue; /* warm-up */
        mle[i - 1] = m;
        upd[i - 1] = part[0] + part[1] + part[2] + part[3];
        for (int k = 0; k < 5; k++) parts[k][i - 1] = part[k];
    }
    const double tm = bench_median(mle, steps), tu = bench_median(upd, steps), td = bench_median(parts[4], steps);
    const char *h = getenv("BENCH_HEADER");
    if (h && strcmp(h, "1") == 0)
        printf("| G preset | attention | reward | B x T | MLE step ms | G update ms | sample / D values / returns / pg "
               "ms | G update / MLE | D step ms | (G update + D step) / MLE | arenas G, D MB |\n"
               "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    printf("| %s | %s | %s | %d x %d | %.1f | %.1f | %.1f / %.1f / %.2f / %.1f | %.2fx | %.1f | %.2fx | %.0f, %.0f |\n",
           preset, model_attention_name(att), reward, r.B, r.T, tm * 1e3, tu * 1e3,
           bench_median(parts[0], steps) * 1e3, bench_median(parts[1], steps) * 1e3,
           bench_median(parts[2], steps) * 1e3, bench_median(parts[3], steps) * 1e3, tu / tm, td * 1e3,
           (tu + td) / tm, model_arena_bytes(r.G) / 1048576.0,
           (r.C ? 2.0 * adv_critic_weights(r.C) * sizeof(float) : (double)model_arena_bytes(r.D)) / 1048576.0);
    model_cache_free(r.sg);
    model_free(r.G), model_free(r.ref), model_free(r.D);
    adv_critic_free(r.C);
    free(r.x), free(r.lens), free(r.tmp), free(r.inputs), free(r.targets), free(r.Q), free(r.R), free(r.work);
    free(r.logits);
    return 0;
}
