/*
 * test_returns.c: rewards, returns, baselines and PPO's clipped updates of
 * the adversarial trainer (src/train/returns.c) and the dense D's smoothed
 * targets (src/train/disc.c):
 *   - per-token and per-bar returns with shaping and discount against
 *     sums written out by hand; gamma 0 and shaping prob give Q bit for bit;
 *   - the random control permutes the counted values (same multiset) and
 *     leaves the padding alone;
 *   - the batch and moving-average baselines on a hand example;
 *   - PPO: a batch's first update (ratio 1, clip on) gives REINFORCE's
 *     gradient (adv_pg_backward, the update without a ratio) bit for bit;
 *     after the policy moved, the clipped objective's gradient against central finite differences, with some tokens clipped;
 *   - the dense D's loss with smoothed labels: its gradient against finite
 *     differences of the loss it reports;
 *   - ColdGANs' cold exploration: adv_sample_tempered at temperature 1 draws
 *     adv_sample's tokens bit for bit and at 0.5 the first token's counts
 *     follow softmax(z / 0.5); the importance weights pi / q_T against
 *     exp(log pi - log q_T) from a plain forward pass, their truncation at
 *     C, and q_T = pi giving REINFORCE's gradient bit for bit; the weighted
 *     surrogate's gradient with T 0.6 against central finite differences.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "tiny_model.h"
#include "train/train.h"

static tg_model *tiny(int V, int T, int B, uint64_t seed, float scale)
{
    return test_model_tiny(MODEL_GENERATOR, V, T, B, seed, scale);
}

static void test_token_returns(void)
{
    /* one row of length 3 in T 4: r = 2p - 1 = 0.2, -0.4, 0.6; gamma 0.5 */
    const float Q[4] = {0.6f, 0.3f, 0.8f, 0.1f};
    const int x[5] = {TOK_BOS, 7, 8, TOK_EOS, TOK_PAD}, len[1] = {3};
    float R[4];
    adv_return_opts o = {0, ADV_SHAPE_CENTERED, 0.5f, -1};
    adv_returns(R, Q, x, 5, len, 1, 4, &o);
    CHECK_NEAR(R[2], 0.6, 1e-6);
    CHECK_NEAR(R[1], -0.4 + 0.5 * 0.6, 1e-6);
    CHECK_NEAR(R[0], 0.2 + 0.5 * (-0.4) + 0.25 * 0.6, 1e-6);
    /* gamma 0, prob: the values themselves, bit for bit (today's dense reward) */
    adv_return_opts plain = {0, ADV_SHAPE_PROB, 0.0f, -1};
    adv_returns(R, Q, x, 5, len, 1, 4, &plain);
    CHECK(memcmp(R, Q, sizeof R) == 0);
}

static void test_bar_returns(void)
{
    /* Bar id 4; x[1..8] = 9 | Bar 9 9 | Bar 9 EOS (len 7): bars {1}, {2,3,4}, {5,6,7} */
    const int BAR = 4, T = 8;
    const int x[9] = {TOK_BOS, 9, BAR, 9, 9, BAR, 9, TOK_EOS, TOK_PAD}, len[1] = {7};
    float Q[8], R[8];
    for (int t = 0; t < T; t++) Q[t] = 0.1f * (float)(t + 1); /* Q[t-1] = t/10 */
    /* bar rewards p at their last tokens: t = 1, 4, 7: 0.1, 0.4, 0.7 */
    adv_return_opts o = {1, ADV_SHAPE_PROB, 0.9f, BAR};
    adv_returns(R, Q, x, 9, len, 1, T, &o);
    const double r3 = 0.7, r2 = 0.4 + 0.9 * r3, r1 = 0.1 + 0.9 * r2;
    CHECK_NEAR(R[0], r1, 1e-6);
    for (int t = 2; t <= 4; t++) CHECK_NEAR(R[t - 1], r2, 1e-6);
    for (int t = 5; t <= 7; t++) CHECK_NEAR(R[t - 1], r3, 1e-6);
    /* no discount, centered: each bar its own 2p - 1 */
    adv_return_opts c = {1, ADV_SHAPE_CENTERED, 0.0f, BAR};
    adv_returns(R, Q, x, 9, len, 1, T, &c);
    CHECK_NEAR(R[0], -0.8, 1e-6);
    CHECK_NEAR(R[2], -0.2, 1e-6);
    CHECK_NEAR(R[5], 0.4, 1e-6);
    /* a sequence opening with a Bar token: one bar from t = 1 */
    const int y[5] = {TOK_BOS, BAR, 9, 9, 9}, ly[1] = {4};
    adv_returns(R, Q, y, 5, ly, 1, 4, &o);
    for (int t = 1; t <= 4; t++) CHECK_NEAR(R[t - 1], 0.4, 1e-6);
}

/* Zero-mean shaping: the rewards of a batch sum to zero (per token over
 * the counted tokens, per bar over the bars), so a sequence's length earns
 * nothing by itself; a batch of equal values gives zero returns. */
static void test_zero_mean_returns(void)
{
    const int BAR = 4, T = 8, B = 2;
    const int x[2 * 9] = {TOK_BOS, 9, BAR, 9, 9, BAR, 9, TOK_EOS, TOK_PAD,
                          TOK_BOS, 9, 9, BAR, TOK_EOS, TOK_PAD, TOK_PAD, TOK_PAD, TOK_PAD};
    const int len[2] = {7, 4};
    float Q[2 * 8], R[2 * 8];
    for (int i = 0; i < B * T; i++) Q[i] = 0.05f + 0.11f * (float)((i * 5) % 8);
    adv_return_opts tok = {0, ADV_SHAPE_ZERO_MEAN, 0.0f, -1};
    adv_returns(R, Q, x, 9, len, B, T, &tok);
    double sum = 0.0, mean = 0.0;
    for (int b = 0; b < B; b++)
        for (int t = 1; t <= len[b]; t++) sum += R[b * T + t - 1], mean += Q[b * T + t - 1];
    mean /= 11.0;
    CHECK_NEAR(sum, 0.0, 1e-5);
    CHECK_NEAR(R[2], Q[2] - mean, 1e-6);
    /* per bar: row 0's bars end at t = 1, 4, 7, row 1's at 2 and 4 */
    adv_return_opts bar = {1, ADV_SHAPE_ZERO_MEAN, 0.0f, BAR};
    adv_returns(R, Q, x, 9, len, B, T, &bar);
    const int ends[5] = {0 * T + 0, 0 * T + 3, 0 * T + 6, 1 * T + 1, 1 * T + 3};
    double bmean = 0.0, bsum = 0.0;
    for (int k = 0; k < 5; k++) bmean += Q[ends[k]] / 5.0;
    for (int k = 0; k < 5; k++) {
        bsum += R[ends[k]];
        CHECK_NEAR(R[ends[k]], Q[ends[k]] - bmean, 1e-6);
    }
    CHECK_NEAR(bsum, 0.0, 1e-5);
    CHECK_NEAR(R[1], R[3], 1e-7); /* the bar's tokens share its return */
    /* equal values: zero everywhere, whatever the discount */
    for (int i = 0; i < B * T; i++) Q[i] = 0.3f;
    adv_return_opts disc = {0, ADV_SHAPE_ZERO_MEAN, 0.9f, -1};
    adv_returns(R, Q, x, 9, len, B, T, &disc);
    for (int b = 0; b < B; b++)
        for (int t = 1; t <= len[b]; t++) CHECK_NEAR(R[b * T + t - 1], 0.0, 1e-6);
    adv_shaping sh;
    CHECK_OK(adv_shaping_parse("zero-mean", &sh));
    CHECK(sh == ADV_SHAPE_ZERO_MEAN && strcmp(adv_shaping_name(sh), "zero-mean") == 0);
    CHECK_STATUS(adv_shaping_parse("zero", &sh), TG_ERR_ARG);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void test_shuffle(void)
{
    const int B = 4, T = 6, lens[4] = {6, 2, 5, 3};
    float Q[24], before[24], kept[24], moved[24];
    int idx[24], n = 0;
    for (int i = 0; i < B * T; i++) Q[i] = before[i] = (float)i;
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    adv_shuffle_values(Q, lens, B, T, &rng, idx);
    int changed = 0;
    for (int b = 0; b < B; b++)
        for (int t = 1; t <= T; t++) {
            const int i = b * T + t - 1;
            if (t > lens[b]) {
                CHECK(Q[i] == before[i]);
                continue;
            }
            kept[n] = before[i], moved[n] = Q[i], n++;
            changed += Q[i] != before[i];
        }
    qsort(kept, (size_t)n, sizeof(float), cmp_float);
    qsort(moved, (size_t)n, sizeof(float), cmp_float);
    CHECK(memcmp(kept, moved, (size_t)n * sizeof(float)) == 0);
    CHECK(changed > n / 2);
    /* only counted values move: none of the padding's values is found in a counted place */
    for (int b = 0; b < B; b++)
        for (int t = 1; t <= lens[b]; t++) {
            const int v = (int)Q[b * T + t - 1], vb = v / T, vt = v % T + 1;
            CHECK(vt <= lens[vb]);
        }
}

static void test_baselines(void)
{
    /* B 2, T 2; row 1 of length 1 */
    const float R1[4] = {0.8f, 0.6f, 0.2f, 0.9f}, R2[4] = {0.4f, 1.0f, 0.0f, 0.0f};
    const int lens[2] = {2, 1};
    double base[2], ema[2];
    int count[2];
    adv_batch_baseline(R1, lens, 2, 2, base, count);
    CHECK_NEAR(base[0], 0.5, 1e-7);
    CHECK_NEAR(base[1], 0.6, 1e-7);
    CHECK_INT(count[1], 1);
    bool set = false;
    adv_ema_baseline(ema, &set, R1, lens, 2, 2, 0.9f, base, count);
    CHECK(set);
    CHECK_NEAR(base[0], 0.5, 1e-7); /* the first batch: its own mean */
    CHECK_NEAR(ema[1], 0.6, 1e-7);
    adv_ema_baseline(ema, &set, R2, lens, 2, 2, 0.9f, base, count);
    CHECK_NEAR(base[0], 0.5, 1e-7); /* the ema before this batch */
    CHECK_NEAR(base[1], 0.6, 1e-7);
    CHECK_NEAR(ema[0], 0.9 * 0.5 + 0.1 * 0.2, 1e-6);
    CHECK_NEAR(ema[1], 0.9 * 0.6 + 0.1 * 1.0, 1e-6);
}

/* A batch x (B, T+1) of random tokens and values; lengths below T in some rows. */
static void make_batch(int V, int B, int T, int *x, int *lens, float *Q, uint64_t seed)
{
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    for (int b = 0; b < B; b++) {
        lens[b] = T - (b % 3);
        x[b * (T + 1)] = TOK_BOS;
        for (int t = 1; t <= T; t++) x[b * (T + 1) + t] = t <= lens[b] ? 3 + (int)tg_rng_below(&rng, V - 3) : TOK_PAD;
        for (int t = 0; t < T; t++) Q[b * T + t] = tg_rng_float(&rng);
    }
}

static void test_ppo_first_update(void)
{
    const int V = 9, T = 6, B = 4;
    tg_model *G = tiny(V, T, B, 61, 4.0f), *R = tiny(V, T, B, 62, 4.0f);
    int x[4 * 7], lens[4], tmp[2 * 4 * 6];
    float Q[24], work[2 * 24], old[24];
    make_batch(V, B, T, x, lens, Q, 7);
    const size_t n = model_param_count(G);
    float *g0 = malloc(n * sizeof(float));
    adv_pg_sums s0, s1;
    model_zero_grad(G);
    adv_pg_backward(G, R, x, lens, Q, B, T, 0, B, 0.2f, 0.05f, work, tmp, &s0);
    memcpy(g0, model_grad_data(G), n * sizeof(float));
    adv_pg_extra ex = {.loss_old = old, .store_old = 1, .clip = 0.2f};
    model_zero_grad(G);
    adv_pg_backward_ex(G, R, x, lens, Q, B, T, 0, B, 0.2f, 0.05f, work, tmp, &ex, &s1);
    CHECK(memcmp(g0, model_grad_data(G), n * sizeof(float)) == 0);
    CHECK(s0.surrogate == s1.surrogate);
    CHECK(ex.clipped == 0);
    free(g0);
    model_free(G);
    model_free(R);
}

/* Worst relative error between g and central differences of f (step h) over
 * every (n/60+1)-th parameter p[i]; *checked the parameters compared. */
static double fd_worst(float *p, const float *g, size_t n, float h, double (*f)(void *), void *ctx, int *checked)
{
    double worst = 0;
    *checked = 0;
    for (size_t i = 0; i < n; i += n / 60 + 1) {
        const float keep = p[i];
        p[i] = keep + h;
        double up = f(ctx);
        p[i] = keep - h;
        double down = f(ctx);
        p[i] = keep;
        double fd = (up - down) / (2.0 * h);
        double err = fabs(fd - g[i]) / fmax(2e-3, fabs(fd) + fabs(g[i]));
        if (err > worst) worst = err;
        (*checked)++;
    }
    return worst;
}

/* The arguments of the policy objectives below, for fd_worst. */
typedef struct {
    tg_model *G;
    const int *in, *tg, *lens;
    const float *Q, *old;
    const double *base;
    int B, T;
    float eps;
} pg_args;

/* The clipped objective -sum min(rho A, clip(rho) A) / n at the current
 * parameters, A = Q - base (no KL, no entropy), rho = exp(old - loss): with
 * old the sampling policy's -log pi_old, PPO's ratio; with -log q_T and eps
 * INFINITY (no clip), ColdGANs' untruncated weight -sum A pi / q_T / n. */
static double ppo_objective(tg_model *G, const int *in, const int *tg, const float *Q, const double *base,
                            const float *old, const int *lens, int B, int T, float eps)
{
    model_lm_forward(G, in, tg, B, T, NULL);
    const float *l = model_losses(G);
    int n = 0;
    for (int b = 0; b < B; b++) n += lens[b];
    double J = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < lens[b]; t++) {
            const int i = b * T + t;
            double a = Q[i] - base[t], rho = exp((double)old[i] - l[i]);
            double c = rho < 1 - eps ? 1 - eps : rho > 1 + eps ? 1 + eps : rho;
            J -= fmin(rho * a, c * a);
        }
    return J / n;
}

static double ppo_at(void *ctx)
{
    const pg_args *a = ctx;
    return ppo_objective(a->G, a->in, a->tg, a->Q, a->base, a->old, a->lens, a->B, a->T, a->eps);
}

static void test_ppo_gradient(void)
{
    const int V = 9, T = 6, B = 4;
    const float eps = 0.1f;
    tg_model *G = tiny(V, T, B, 71, 4.0f);
    int x[4 * 7], lens[4], tmp[2 * 4 * 6], in[24], tg[24];
    float Q[24], work[2 * 24], old[24];
    double base[6];
    make_batch(V, B, T, x, lens, Q, 8);
    adv_batch_baseline(Q, lens, B, T, base, NULL);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            in[b * T + t] = x[b * (T + 1) + t];
            tg[b * T + t] = t < lens[b] ? x[b * (T + 1) + t + 1] : MODEL_IGNORE_INDEX;
        }
    model_lm_forward(G, in, tg, B, T, NULL);
    memcpy(old, model_losses(G), sizeof old);
    /* the policy moves: the ratios leave 1, some beyond the clip */
    float *p = model_param_data(G);
    const size_t n = model_param_count(G);
    tg_rng rng;
    tg_rng_seed(&rng, 4);
    for (size_t i = 0; i < n; i++) p[i] += 0.08f * (tg_rng_float(&rng) - 0.5f);
    adv_pg_extra ex = {.base = base, .loss_old = old, .clip = eps};
    adv_pg_sums sums;
    model_zero_grad(G);
    adv_pg_backward_ex(G, NULL, x, lens, Q, B, T, 0, B, 0.0f, 0.0f, work, tmp, &ex, &sums);
    int counted = 0;
    for (int b = 0; b < B; b++) counted += lens[b];
    printf("ppo: %g of %d tokens clipped\n", ex.clipped, counted);
    CHECK(ex.clipped > 0 && ex.clipped < counted);
    pg_args a = {G, in, tg, lens, Q, old, base, B, T, eps};
    int checked;
    double worst = fd_worst(p, model_grad_data(G), n, 1e-3f, ppo_at, &a, &checked);
    printf("ppo gradient: %d parameters, worst relative error %.3g\n", checked, worst);
    CHECK(worst < 2e-2);
    model_free(G);
}

/* ------------------------------------------------------------------------ */
/* Cold exploration (ColdGANs). */

/* log softmax(z / temp)[y] in double, written out (no code of returns.c). */
static double log_tempered(const float *z, int V, int y, double temp)
{
    double m = -INFINITY, sum = 0;
    for (int v = 0; v < V; v++) m = fmax(m, z[v] / temp);
    for (int v = 0; v < V; v++) sum += exp(z[v] / temp - m);
    return z[y] / temp - m - log(sum);
}

static void test_cold_sampler(void)
{
    const int V = 9, T = 6, B = 50, rounds = 40;
    tg_model *G = tiny(V, T, B, 81, 4.0f);
    model_cache *c = NULL;
    CHECK_OK(model_cache_create(G, B, 1, &c));
    int *x1 = malloc(sizeof(int) * B * (T + 1)), *x2 = malloc(sizeof(int) * B * (T + 1));
    float *logits = malloc(sizeof(float) * B * V);
    tg_rng r1, r2;
    tg_rng_seed(&r1, 5);
    tg_rng_seed(&r2, 5);
    CHECK_OK(adv_sample(c, B, T, x1, &r1, logits));
    CHECK_OK(adv_sample_tempered(c, B, T, 1.0f, x2, &r2, logits));
    CHECK(memcmp(x1, x2, sizeof(int) * B * (T + 1)) == 0);
    /* the first token's distribution at 0.5: counts over B * rounds draws */
    int counts[9] = {0};
    for (int k = 0; k < rounds; k++) {
        CHECK_OK(adv_sample_tempered(c, B, T, 0.5f, x2, &r2, logits));
        for (int b = 0; b < B; b++) counts[x2[b * (T + 1) + 1]]++;
    }
    int bos = TOK_BOS;
    model_lm_forward(G, &bos, NULL, 1, 1, NULL);
    const float *z = model_logits(G);
    double chi2 = 0, ent_cold = 0;
    const double n = (double)B * rounds;
    for (int v = 0; v < V; v++) {
        double q = exp(log_tempered(z, V, v, 0.5)), p = exp(log_tempered(z, V, v, 1.0));
        ent_cold -= q > 0 ? q * log(q) : 0;
        (void)p;
        if (q * n >= 1) chi2 += (counts[v] - q * n) * (counts[v] - q * n) / (q * n);
        else CHECK(counts[v] <= 5);
    }
    printf("cold sampler: first-token chi-square %.2f over %d ids (entropy of q_0.5 %.3f)\n", chi2, V, ent_cold);
    CHECK(chi2 < 30.0); /* 8 degrees of freedom: p < 0.001 */
    free(x1), free(x2), free(logits);
    model_cache_free(c);
    model_free(G);
}

/* inputs and targets (B,T) of a batch x (B, T+1) */
static void split_batch(const int *x, const int *lens, int B, int T, int *in, int *tg)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            in[b * T + t] = x[b * (T + 1) + t];
            tg[b * T + t] = t < lens[b] ? x[b * (T + 1) + t + 1] : MODEL_IGNORE_INDEX;
        }
}

static void test_cold_weights(void)
{
    const int V = 9, T = 6, B = 4;
    const float temp = 0.6f;
    tg_model *G = tiny(V, T, B, 91, 4.0f);
    int x[4 * 7], lens[4], tmp[2 * 4 * 6], in[24], tg[24];
    float Q[24], work[2 * 24], lq[24], lq_ref[24], logp[24];
    double base[6];
    make_batch(V, B, T, x, lens, Q, 9);
    split_batch(x, lens, B, T, in, tg);
    adv_batch_baseline(Q, lens, B, T, base, NULL);
    /* the reference: a plain forward pass, log pi and log q_T written out */
    model_lm_forward(G, in, tg, B, T, NULL);
    const float *z = model_logits(G);
    int n = 0;
    for (int b = 0; b < B; b++) n += lens[b];
    double w_ref[24] = {0};
    for (int i = 0; i < B * T; i++) {
        if (tg[i] == MODEL_IGNORE_INDEX) continue;
        logp[i] = (float)log_tempered(z + (size_t)i * V, V, tg[i], 1.0);
        lq_ref[i] = (float)-log_tempered(z + (size_t)i * V, V, tg[i], temp);
        w_ref[i] = exp((double)logp[i] + lq_ref[i]);
    }
    /* C large: no truncation; this first update stores -log q_T */
    adv_pg_extra ex = {.base = base, .store_old = 1, .loss_q = lq, .temperature = temp, .is_clip = 1e6f};
    adv_pg_sums sums;
    model_zero_grad(G);
    adv_pg_backward_ex(G, NULL, x, lens, Q, B, T, 0, B, 0.0f, 0.0f, work, tmp, &ex, &sums);
    double worst_q = 0, worst_w = 0, sum = 0, mx = 0, below = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < lens[b]; t++) {
            const int i = b * T + t;
            worst_q = fmax(worst_q, fabs(lq[i] - lq_ref[i]));
            const double a = Q[i] - base[t], want = a * w_ref[i] / n;
            worst_w = fmax(worst_w, fabs(work[i] - want) / fmax(1e-6, fabs(want)));
            sum += w_ref[i];
            mx = fmax(mx, w_ref[i]);
            below += w_ref[i] < 1;
        }
    printf("cold weights: T %.1f, mean %.3f, max %.3f, %g of %d below 1; worst |d log q| %.2g, weight rel. %.2g\n",
           temp, sum / n, mx, below, n, worst_q, worst_w);
    CHECK(worst_q < 1e-5);
    CHECK(worst_w < 1e-4);
    CHECK_NEAR(ex.w_sum, sum, 1e-4 * sum);
    CHECK_NEAR(ex.w_max, mx, 1e-4 * mx);
    CHECK(ex.truncated == 0);
    CHECK(mx > 1.0 && below > 0); /* the test's batch has both sides of 1 */
    /* truncation at C: the weights above it count and weigh C */
    const float C = 1.0f;
    int above = 0;
    ex = (adv_pg_extra){.base = base, .loss_q = lq, .temperature = temp, .is_clip = C};
    model_zero_grad(G);
    adv_pg_backward_ex(G, NULL, x, lens, Q, B, T, 0, B, 0.0f, 0.0f, work, tmp, &ex, &sums);
    worst_w = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < lens[b]; t++) {
            const int i = b * T + t;
            above += w_ref[i] > C;
            const double want = (Q[i] - base[t]) * fmin(w_ref[i], C) / n;
            worst_w = fmax(worst_w, fabs(work[i] - want) / fmax(1e-6, fabs(want)));
        }
    printf("cold weights: %d of %d truncated at %.1f, worst rel. %.2g\n", above, n, (double)C, worst_w);
    CHECK(worst_w < 1e-4);
    CHECK_INT((int)ex.truncated, above);
    CHECK(above > 0 && above < n);
    /* q_T = pi (loss_q the model's own losses): REINFORCE's gradient bit for bit */
    const size_t np = model_param_count(G);
    float *g0 = malloc(np * sizeof(float));
    adv_pg_sums s0;
    model_zero_grad(G);
    adv_pg_backward(G, NULL, x, lens, Q, B, T, 0, B, 0.0f, 0.0f, work, tmp, &s0);
    memcpy(g0, model_grad_data(G), np * sizeof(float));
    memcpy(lq, model_losses(G), sizeof lq);
    ex = (adv_pg_extra){.loss_q = lq, .temperature = 1.0f, .is_clip = 5.0f};
    model_zero_grad(G);
    adv_pg_backward_ex(G, NULL, x, lens, Q, B, T, 0, B, 0.0f, 0.0f, work, tmp, &ex, &sums);
    CHECK(memcmp(g0, model_grad_data(G), np * sizeof(float)) == 0);
    CHECK(sums.surrogate == s0.surrogate);
    free(g0);
    model_free(G);
}

static double cold_at(void *ctx)
{
    const pg_args *a = ctx; /* old: the sampling policy's -log q_T */
    return ppo_objective(a->G, a->in, a->tg, a->Q, a->base, a->old, a->lens, a->B, a->T, INFINITY);
}

static void test_cold_gradient(void)
{
    const int V = 9, T = 6, B = 4;
    tg_model *G = tiny(V, T, B, 101, 4.0f);
    int x[4 * 7], lens[4], tmp[2 * 4 * 6], in[24], tg[24];
    float Q[24], work[2 * 24], lq[24];
    double base[6];
    make_batch(V, B, T, x, lens, Q, 10);
    split_batch(x, lens, B, T, in, tg);
    adv_batch_baseline(Q, lens, B, T, base, NULL);
    model_lm_forward(G, in, tg, B, T, NULL);
    adv_tempered_losses(lq, model_logits(G), tg, B * T, V, 0.6f);
    /* the policy moves from the one that sampled */
    float *p = model_param_data(G);
    const size_t n = model_param_count(G);
    tg_rng rng;
    tg_rng_seed(&rng, 6);
    for (size_t i = 0; i < n; i++) p[i] += 0.08f * (tg_rng_float(&rng) - 0.5f);
    adv_pg_extra ex = {.base = base, .loss_q = lq, .temperature = 0.6f, .is_clip = 1e6f};
    adv_pg_sums sums;
    model_zero_grad(G);
    adv_pg_backward_ex(G, NULL, x, lens, Q, B, T, 0, B, 0.0f, 0.0f, work, tmp, &ex, &sums);
    CHECK(ex.truncated == 0);
    pg_args a = {G, in, tg, lens, Q, lq, base, B, T, 0.0f};
    int checked;
    /* 3e-3: the weights (up to about 20) magnify the float losses' rounding */
    double worst = fd_worst(p, model_grad_data(G), n, 3e-3f, cold_at, &a, &checked);
    printf("cold gradient (T 0.6): %d parameters, worst relative error %.3g\n", checked, worst);
    CHECK(worst < 2e-2);
    model_free(G);
}

/* The dense D's reported mean loss on a batch with smoothed labels. */
static double smooth_loss(tg_model *D, const int *x, const int *lens, const float *y, int B, int T, float *work,
                          int *tmp)
{
    double sums[3];
    adv_disc_grad(D, x, T + 1, lens, y, B, T, 0, B, NULL, work, tmp, sums);
    return sums[0] / sums[1];
}

typedef struct {
    tg_model *D;
    const int *x, *lens;
    const float *y;
    int B, T;
    float *work;
    int *tmp;
} smooth_args;

static double smooth_at(void *ctx)
{
    const smooth_args *a = ctx;
    return smooth_loss(a->D, a->x, a->lens, a->y, a->B, a->T, a->work, a->tmp);
}

static void test_smoothed_dense_d(void)
{
    const int V = 9, T = 6, B = 4;
    tg_model *D = tiny(V, T, B, 81, 3.0f);
    int x[4 * 7], lens[4], tmp[2 * 4 * 6];
    float Q[24], work[24], y[4] = {0.9f, 0.1f, 0.9f, 0.1f};
    make_batch(V, B, T, x, lens, Q, 9);
    smooth_loss(D, x, lens, y, B, T, work, tmp);
    const size_t n = model_param_count(D);
    float *g = malloc(n * sizeof(float)), *p = model_param_data(D);
    memcpy(g, model_grad_data(D), n * sizeof(float));
    smooth_args a = {D, x, lens, y, B, T, work, tmp};
    int checked;
    double worst = fd_worst(p, g, n, 2e-3f, smooth_at, &a, &checked);
    printf("smoothed dense D: %d parameters, worst relative error %.3g\n", checked, worst);
    CHECK(worst < 2e-2);
    /* the soft loss is linear in the labels: y = 0.9 h + 0.1 (1 - h) */
    float hard[4] = {1, 0, 1, 0}, flip[4] = {0, 1, 0, 1};
    double ls = smooth_loss(D, x, lens, y, B, T, work, tmp), lh = smooth_loss(D, x, lens, hard, B, T, work, tmp),
           lf = smooth_loss(D, x, lens, flip, B, T, work, tmp);
    CHECK_NEAR(ls, 0.9 * lh + 0.1 * lf, 1e-5);
    free(g);
    model_free(D);
}

int main(void)
{
    nn_set_threads(1);
    test_token_returns();
    test_bar_returns();
    test_zero_mean_returns();
    test_shuffle();
    test_baselines();
    test_ppo_first_update();
    test_ppo_gradient();
    test_cold_sampler();
    test_cold_weights();
    test_cold_gradient();
    test_smoothed_dense_d();
    return test_finish("test_returns");
}
