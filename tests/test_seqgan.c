/*
 * test_seqgan.c: the adversarial trainer (src/train/disc.c, reward.c,
 * seqgan.c) and the rollout branch (src/sample/rollout.c):
 *   - the baseline and advantages of adv_pg_weights on a hand example;
 *   - the policy-gradient surrogate's gradient (KL and entropy terms
 *     included) against central finite differences;
 *   - on a toy task whose reward is the share of one token, policy-gradient
 *     updates raise that token's probability;
 *   - a forked cache continues exactly as the original; rollout values are
 *     repeatable from a seed, differ with another, lie in [0,1], and follow
 *     the --rollout-every rule;
 *   - D (pooled and dense) learns an easily separable task;
 *   - train_adv stopped after each phase and resumed writes the same files
 *     (with every reward, the n-gram critic's among them)
 *     and log as an uninterrupted run (corpus from tests/data fixtures),
 *     also with cold exploration (--explore-temperature 0.5, rollout and
 *     dense rewards, PPO epochs); --explore-temperature 1 with any --is-clip
 *     trains the same generator as the default, bit for bit; bad
 *     --explore-temperature and --is-clip values are refused.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"
#include "tiny_model.h"
#include "train/ckpt.h"
#include "train/train.h"

static void test_weights(void)
{
    /* B 2, T 2; row 0 length 2, row 1 length 1 */
    const float Q[4] = {0.8f, 0.6f, 0.2f, 0.9f};
    const float lg[4] = {1.0f, 2.0f, 0.5f, 3.0f}, lr[4] = {1.5f, 2.0f, 0.25f, 0.0f};
    const int lens[2] = {2, 1};
    float d[4];
    adv_pg_weights(d, Q, lg, NULL, lens, 2, 2, 0.0f, 0.0f);
    /* t=1: baseline (0.8+0.2)/2 = 0.5; t=2: only row 0, baseline 0.6; n = 3 */
    CHECK_NEAR(d[0], 0.3 / 3, 1e-6);
    CHECK_NEAR(d[2], -0.3 / 3, 1e-6);
    CHECK_NEAR(d[1], 0.0, 1e-6);
    CHECK_NEAR(d[3], 0.0, 1e-7);
    /* KL and entropy: A -= kl*(logp - logq) + ent*logp, logp = -lg, logq = -lr */
    adv_pg_weights(d, Q, lg, lr, lens, 2, 2, 0.5f, 0.1f);
    CHECK_NEAR(d[0], (0.3 - 0.5 * (-1.0 + 1.5) - 0.1 * (-1.0)) / 3, 1e-6);
    CHECK_NEAR(d[2], (-0.3 - 0.5 * (-0.5 + 0.25) - 0.1 * (-0.5)) / 3, 1e-6);
}

/* The surrogate sum w * loss at the current parameters. */
static double surrogate(tg_model *G, const int *in, const int *tg, const float *w, int B, int T)
{
    model_lm_forward(G, in, tg, B, T, NULL);
    const float *l = model_losses(G);
    double s = 0;
    for (int i = 0; i < B * T; i++) s += (double)w[i] * l[i];
    return s;
}

static void test_pg_gradient(void)
{
    const int V = 7, T = 5, B = 3;
    tg_model *G = test_model_tiny(MODEL_GENERATOR, V, T, B, 11, 4.0f);
    tg_model *R = test_model_tiny(MODEL_GENERATOR, V, T, B, 12, 4.0f);
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    int x[3 * 6], lens[3] = {5, 3, 4}, in[15], tg[15];
    float Q[15], w[15], lref[15];
    for (int b = 0; b < B; b++) {
        x[b * 6] = TOK_BOS;
        for (int t = 1; t <= T; t++) x[b * 6 + t] = 3 + (int)tg_rng_below(&rng, V - 3);
        for (int t = 0; t < T; t++) {
            in[b * T + t] = x[b * 6 + t];
            tg[b * T + t] = t < lens[b] ? x[b * 6 + t + 1] : MODEL_IGNORE_INDEX;
            Q[b * T + t] = tg_rng_float(&rng);
        }
    }
    model_lm_forward(R, in, tg, B, T, NULL);
    memcpy(lref, model_losses(R), sizeof lref);
    model_zero_grad(G);
    model_lm_forward(G, in, tg, B, T, NULL);
    adv_pg_weights(w, Q, model_losses(G), lref, lens, B, T, 0.3f, 0.2f);
    model_lm_backward_weighted(G, w);
    /* finite differences on a spread of parameters */
    float *p = model_param_data(G);
    const float *g = model_grad_data(G);
    const size_t n = model_param_count(G);
    double worst = 0;
    int checked = 0;
    for (size_t i = 0; i < n; i += n / 60 + 1) {
        const float h = 2e-3f, keep = p[i];
        p[i] = keep + h;
        double up = surrogate(G, in, tg, w, B, T);
        p[i] = keep - h;
        double down = surrogate(G, in, tg, w, B, T);
        p[i] = keep;
        double fd = (up - down) / (2.0 * h);
        /* relative, with a floor for gradients near zero (float32 forward passes) */
        double err = fabs(fd - g[i]) / fmax(2e-3, fabs(fd) + fabs(g[i]));
        if (err > worst) worst = err;
        checked++;
    }
    printf("pg gradient: %d parameters, worst relative error %.3g\n", checked, worst);
    CHECK(worst < 2e-2);
    model_free(G);
    model_free(R);
}

/* p(token) at the first position after BOS */
static double first_prob(tg_model *G, int token)
{
    int in[1] = {TOK_BOS};
    model_lm_forward(G, in, NULL, 1, 1, NULL);
    const float *z = model_logits(G);
    const int V = model_get_config(G)->vocab_size;
    double mx = z[0], s = 0;
    for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
    for (int v = 0; v < V; v++) s += exp(z[v] - mx);
    return exp(z[token] - mx) / s;
}

static void test_toy_reward(void)
{
    const int V = 8, T = 4, B = 16, FAV = 5;
    tg_model *G = test_model_tiny(MODEL_GENERATOR, V, T, B, 21, 1.0f);
    model_cache *s = NULL;
    CHECK_OK(model_cache_create(G, B, 1, &s));
    tg_rng rng;
    tg_rng_seed(&rng, 9);
    int x[16 * 5], lens[16], tmp[2 * 16 * 4];
    float Q[16 * 4], logits[16 * 8];
    const double p0 = first_prob(G, FAV);
    double share0 = -1, share = 0;
    for (int step = 1; step <= 60; step++) {
        CHECK_OK(adv_sample(s, B, T, x, &rng, logits));
        adv_lengths(x, T + 1, B, T, lens);
        share = 0;
        for (int b = 0; b < B; b++) {
            int hits = 0;
            for (int t = 1; t <= lens[b]; t++) hits += x[b * (T + 1) + t] == FAV;
            float r = (float)hits / (float)lens[b];
            share += r / B;
            for (int t = 0; t < T; t++) Q[b * T + t] = r;
        }
        if (share0 < 0) share0 = share;
        adv_opt_step os = {3e-2f, 1.0f, 0.0f, step};
        float pg, kl, ent;
        CHECK_OK(adv_pg_update(G, NULL, x, lens, Q, B, T, 0.0f, 0.0f, &os, &pg, &kl, &ent, tmp));
    }
    const double p1 = first_prob(G, FAV);
    printf("toy reward: p(favoured token) %.3f -> %.3f; its share of samples %.3f -> %.3f\n", p0, p1, share0, share);
    CHECK(p1 > p0 + 0.3);
    CHECK(share > share0);
    model_cache_free(s);
    model_free(G);
}

static void test_fork(void)
{
    const int V = 9, T = 8;
    tg_model *G = test_model_tiny(MODEL_GENERATOR, V, T, 2, 31, 5.0f);
    model_cache *P = NULL, *S = NULL;
    CHECK_OK(model_cache_create(G, 2, 1, &P));
    CHECK_OK(model_cache_create(G, 6, 1, &S));
    model_cache_reset(P, 2);
    int pre[2 * 3] = {1, 4, 5, 1, 7, 3};
    float lp[2 * 9], ls[6 * 9];
    model_decode(P, pre, 3, lp);
    model_cache_fork(S, P, 3);
    CHECK_INT(model_cache_len(S), 3);
    CHECK_INT(model_cache_batch(S), 6);
    int nextp[2] = {6, 8}, nexts[6] = {6, 6, 6, 8, 8, 8};
    model_decode(P, nextp, 1, lp);
    model_decode(S, nexts, 1, ls);
    int same = 1;
    for (int r = 0; r < 6; r++)
        if (memcmp(ls + r * V, lp + (r / 3) * V, sizeof(float) * V) != 0) same = 0;
    CHECK(same);
    model_cache_free(P);
    model_cache_free(S);
    model_free(G);
}

static void rollout_q(tg_model *G, tg_model *D, const int *x, const int *lens, int B, int T, int N, int K,
                      uint64_t seed, float *Q)
{
    model_cache *P = NULL, *S = NULL;
    CHECK_OK(model_cache_create(G, B, 1, &P));
    CHECK_OK(model_cache_create(G, B * N, 1, &S));
    tg_rng rng;
    tg_rng_seed(&rng, seed);
    adv_rollout_ctx ctx = {P, S, D, N, K, &rng, 0};
    CHECK_OK(adv_rollout_values(&ctx, x, lens, B, T, Q));
    model_cache_free(P);
    model_cache_free(S);
}

static void test_rollouts(void)
{
    const int V = 9, T = 6, B = 3, N = 4;
    tg_model *G = test_model_tiny(MODEL_GENERATOR, V, T, B, 41, 5.0f);
    tg_model *D = test_model_tiny(MODEL_DISCRIMINATOR, V, T, 4, 42, 20.0f);
    model_cache *s = NULL;
    CHECK_OK(model_cache_create(G, B, 1, &s));
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    int x[3 * 7], lens[3];
    float logits[3 * 9], Q1[18], Q2[18], Q3[18], Qk[18], probs[3];
    int tmp[4 * 6];
    CHECK_OK(adv_sample(s, B, T, x, &rng, logits));
    adv_lengths(x, T + 1, B, T, lens);
    rollout_q(G, D, x, lens, B, T, N, 1, 77, Q1);
    rollout_q(G, D, x, lens, B, T, N, 1, 77, Q2);
    rollout_q(G, D, x, lens, B, T, N, 1, 78, Q3);
    CHECK(memcmp(Q1, Q2, sizeof Q1) == 0);
    int differ = 0, in_range = 1;
    for (int i = 0; i < B * T; i++) {
        differ |= Q1[i] != Q3[i];
        in_range &= Q1[i] >= 0 && Q1[i] <= 1;
    }
    CHECK(differ);
    CHECK(in_range);
    adv_disc_probs(D, x, T + 1, lens, B, T, probs, tmp);
    for (int b = 0; b < B; b++) CHECK_NEAR(Q1[b * T + lens[b] - 1], probs[b], 1e-7);
    /* every 4th: t = 1..3 take t = 4's estimate, t = 5 the final value */
    rollout_q(G, D, x, lens, B, T, N, 4, 77, Qk);
    for (int b = 0; b < B; b++) {
        if (lens[b] < T) continue;
        CHECK(Qk[b * T + 0] == Qk[b * T + 3]);
        CHECK(Qk[b * T + 2] == Qk[b * T + 3]);
        CHECK(Qk[b * T + 4] == Qk[b * T + 5]);
    }
    model_cache_free(s);
    model_free(G);
    model_free(D);
}

static void test_disc(model_kind kind)
{
    const int V = 8, T = 6, B = 16;
    tg_model *D = test_model_tiny(kind, V, T, B, 51, 1.0f);
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    int x[16 * 7], lens[16], tmp[2 * 16 * 6];
    float y[16], acc = 0;
    for (int step = 1; step <= 80; step++) {
        for (int b = 0; b < B; b++) {
            y[b] = (float)(b % 2);
            x[b * 7] = TOK_BOS;
            /* real: tokens 4 and 6; generated: 5 and 7 */
            for (int t = 1; t <= T; t++) x[b * 7 + t] = (b % 2 ? 4 : 5) + 2 * (int)tg_rng_below(&rng, 2);
            lens[b] = 3 + (int)tg_rng_below(&rng, 4);
            for (int t = lens[b] + 1; t <= T; t++) x[b * 7 + t] = TOK_PAD;
        }
        adv_opt_step os = {3e-3f, 1.0f, 0.0f, step};
        adv_disc_update(D, x, 7, lens, y, B, T, NULL, &os, &acc, tmp);
    }
    float p[16];
    adv_disc_probs(D, x, 7, lens, B, T, p, tmp);
    int right = 0;
    for (int b = 0; b < B; b++) right += (p[b] > 0.5f) == (y[b] > 0.5f);
    printf("%s discriminator: training accuracy %.3f, fresh batch %d/%d\n", kind == MODEL_DISCRIMINATOR ? "pooled" : "dense",
           acc, right, B);
    CHECK(acc >= 0.95f);
    CHECK_INT(right, B);
    model_free(D);
}

/* ------------------------------------------------------------------------ */
/* Resume, end to end on a corpus of fixtures. */

static char dir[256];

static void copy_file(const char *from, const char *to)
{
    uint8_t *data = NULL;
    size_t n = 0;
    CHECK_OK(tg_file_read_all(from, 1 << 20, &data, &n));
    CHECK_OK(tg_file_write_all(to, data, n));
    free(data);
}

static int same_file(const char *a, const char *b)
{
    uint8_t *x = NULL, *y = NULL;
    size_t nx = 0, ny = 0;
    if (tg_file_read_all(a, 1 << 26, &x, &nx) != TG_OK || tg_file_read_all(b, 1 << 26, &y, &ny) != TG_OK) {
        free(x);
        free(y);
        return 0;
    }
    int same = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

/* the log without its "seconds" fields */
static char *log_text(const char *path)
{
    uint8_t *data = NULL;
    size_t n = 0;
    if (tg_file_read_all(path, 1 << 24, &data, &n) != TG_OK) return NULL;
    char *s = realloc(data, n + 1), *w;
    s[n] = 0;
    for (char *p = strstr(s, ",\"seconds\":"); p; p = strstr(p, ",\"seconds\":")) {
        char *e = p + 11;
        while (*e && *e != '}') e++;
        memmove(p, e, strlen(e) + 1);
    }
    (void)w;
    return s;
}

/* Options of the newer recipes (returns.c) set on top of adv_opts', or NULL;
 * tag names their run folders beside the reward's number. */
static void (*tweak)(adv_options *o);
static const char *tag = "";

static adv_options adv_opts(const char *corpus, const char *init, const char *run)
{
    adv_options o = adv_options_default();
    o.corpus_path = corpus;
    o.init_path = init;
    o.run_dir = run;
    o.rounds = 2;
    o.d_pretrain = 2;
    o.d_steps = 1;
    o.d_epochs = 2;
    o.d_samples = 6;
    o.rollouts = 3;
    o.rollout_every = 2;
    o.mle_mix = 1;
    o.batch = 3;
    o.seq_len = 10;
    o.lr_g = 1e-3f;
    o.entropy = 0.01f;
    o.disc.d_model = 16;
    o.disc.n_layers = 1;
    o.disc.n_heads = 2;
    o.seed = 17;
    if (tweak) tweak(&o);
    return o;
}

/* Per-bar rewards, shaped and discounted, the ema baseline (state in the
 * checkpoint), two PPO epochs, D with fc attention, smoothed labels and a band. */
static void recipes_bar(adv_options *o)
{
    o->shaping = ADV_SHAPE_CENTERED;
    o->discount = 0.9f;
    o->baseline = ADV_BASELINE_EMA;
    o->baseline_decay = 0.5f;
    o->ppo_epochs = 2;
    o->ppo_clip = 0.2f;
    o->label_smooth = 0.1f;
    o->d_band_lo = 0.3f;
    o->d_band_hi = 0.9f;
    o->disc.attention = MODEL_ATTN_FC;
}

/* The random control with a band [0, 0]: D above it on every fresh set, never updated. */
static void recipes_random(adv_options *o)
{
    o->d_band_lo = 0.0f;
    o->d_band_hi = 0.0f;
}

/* ColdGANs: the g-step's batch at temperature 0.5, weights truncated at 3,
 * two PPO epochs (the ratio against q_T at both). */
static void recipes_cold(adv_options *o)
{
    o->explore_temperature = 0.5f;
    o->is_clip = 3.0f;
    o->ppo_epochs = 2;
    o->ppo_clip = 0.2f;
}

/* Temperature 1: the generator's own samples, whatever the clip. */
static void recipes_warm(adv_options *o)
{
    o->explore_temperature = 1.0f;
    o->is_clip = 0.7f;
}

/* The causal D a copy of G: the run's windows at G's context (16). */
static void disc_from_g(adv_options *o)
{
    o->disc_from_generator = true;
    o->seq_len = 16;
}

/* The critic's control as the remi-long recipes run it: zero-mean shaping,
 * a discount, the ema baseline and two PPO epochs. */
static void recipes_critic(adv_options *o)
{
    o->shaping = ADV_SHAPE_ZERO_MEAN;
    o->discount = 0.9f;
    o->baseline = ADV_BASELINE_EMA;
    o->ppo_epochs = 2;
    o->ppo_clip = 0.2f;
}

/* The critic's memory: 5 sequences kept of every fit's, so that it fills
 * in the first round and then turns over. */
static void recipes_memory(adv_options *o)
{
    recipes_critic(o);
    o->critic_memory = 5;
}

static int count_of(const char *text, const char *what)
{
    int n = 0;
    for (const char *p = strstr(text, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

static void test_resume(adv_reward reward)
{
    char midi[300], corpus[300], pre[300], one[300], two[300], a[400], b[400];
    snprintf(midi, sizeof midi, "%s/midi", dir);
    snprintf(corpus, sizeof corpus, "%s/c.corpus", dir);
    snprintf(pre, sizeof pre, "%s/pre", dir);
    snprintf(one, sizeof one, "%s/one-%d%s", dir, (int)reward, tweak == disc_from_g ? "-from-g" : tag);
    snprintf(two, sizeof two, "%s/two-%d%s", dir, (int)reward, tweak == disc_from_g ? "-from-g" : tag);
    if (access(corpus, F_OK) != 0) {
        CHECK(mkdir(midi, 0777) == 0);
        const char *files[] = {"format0.mid", "format1.mid", "overlap.mid", "tempo_map_f1.mid", "running_status.mid"};
        for (int i = 0; i < 5; i++) {
            snprintf(a, sizeof a, "%s/%s", TG_TEST_DATA, files[i]);
            snprintf(b, sizeof b, "%s/%s", midi, files[i]);
            copy_file(a, b);
        }
        data_build_options bo = data_build_options_default();
        bo.threads = 1;
        data_build_report br;
        data_error de = {{0}};
        const char *dirs[1] = {midi};
        CHECK_OK(data_build(dirs, 1, corpus, &bo, &br, &de));
        train_options to = train_options_default();
        to.corpus_path = corpus;
        to.run_dir = pre;
        to.model.d_model = 16;
        to.model.n_layers = 1;
        to.model.n_heads = 2;
        to.model.context = 16;
        to.batch = 3;
        to.steps = 4;
        to.warmup = 1;
        to.eval_every = 4;
        train_report tr;
        char err[512] = "";
        tg_status s = train_mle(&to, &tr, err, sizeof err);
        if (s != TG_OK) printf("pretrain: %s\n", err);
        CHECK_OK(s);
    }
    adv_report rep;
    char err[512] = "";
    adv_options o = adv_opts(corpus, pre, one);
    o.reward = reward;
    tg_status s = train_adv(&o, &rep, err, sizeof err);
    if (s != TG_OK) printf("train_adv: %s\n", err);
    CHECK_OK(s);
    CHECK_INT(rep.phases_done, 5);
    CHECK(!rep.interrupted);
    for (int stop = 1; stop <= 5; stop++) {
        adv_options p = adv_opts(corpus, pre, two);
        p.reward = reward;
        p.resume = stop > 1;
        p.stop_after = stop < 5 ? stop : 0;
        s = train_adv(&p, &rep, err, sizeof err);
        if (s != TG_OK) printf("train_adv (stop %d): %s\n", stop, err);
        CHECK_OK(s);
        CHECK_INT(rep.phases_done, stop);
    }
    const char *files[] = {"model", "disc", "rollout", "reference", "optimizer", "disc_optimizer"};
    if (adv_reward_critic(reward)) files[1] = "critic", files[5] = "critic"; /* the critic has no optimizer */
    for (int i = 0; i < 6; i++) {
        snprintf(a, sizeof a, "%s/%s.safetensors", one, files[i]);
        snprintf(b, sizeof b, "%s/%s.safetensors", two, files[i]);
        if (!same_file(a, b)) TEST_FAIL_("%s reward: %s differs after resuming", adv_reward_name(reward), files[i]);
        test_checks_++;
    }
    snprintf(a, sizeof a, "%s/log.jsonl", one);
    snprintf(b, sizeof b, "%s/log.jsonl", two);
    char *la = log_text(a), *lb = log_text(b);
    CHECK(la && lb && strcmp(la, lb) == 0);
    CHECK(la && strstr(la, "\"phase\":\"disc\"") && strstr(la, "\"phase\":\"adv\"") && strstr(la, "\"phase\":\"eval\""));
    free(la);
    free(lb);
    /* a finished run refuses to go on without more rounds */
    adv_options p = adv_opts(corpus, pre, two);
    p.reward = reward;
    p.resume = true;
    CHECK_STATUS(train_adv(&p, &rep, err, sizeof err), TG_ERR_ARG);
    CHECK(strstr(err, "--rounds") != NULL);
}

/* The cold runs log their weights; temperature 1 is the default run bit for
 * bit; the flags' bad values are refused with their names. */
static void test_cold(void)
{
    char a[400], b[400], err[512] = "";
    snprintf(a, sizeof a, "%s/one-%d-cold/log.jsonl", dir, (int)ADV_REWARD_DENSE);
    char *log = log_text(a);
    CHECK(log && count_of(log, "\"is_w_mean\"") == 2 && count_of(log, "\"is_truncated\"") == 2);
    if (log) {
        const char *w = strstr(log, "\"is_w_max\":");
        printf("cold: %.50s\n", w ? w : "(no weights)");
    }
    free(log);
    snprintf(a, sizeof a, "%s/one-%d/model.safetensors", dir, (int)ADV_REWARD_DENSE);
    snprintf(b, sizeof b, "%s/one-%d-cold/model.safetensors", dir, (int)ADV_REWARD_DENSE);
    CHECK(!same_file(a, b)); /* the cold run trained another generator */
    snprintf(b, sizeof b, "%s/one-%d-warm/model.safetensors", dir, (int)ADV_REWARD_DENSE);
    CHECK(same_file(a, b));
    snprintf(a, sizeof a, "%s/one-%d/log.jsonl", dir, (int)ADV_REWARD_DENSE);
    snprintf(b, sizeof b, "%s/one-%d-warm/log.jsonl", dir, (int)ADV_REWARD_DENSE);
    char *la = log_text(a), *lb = log_text(b);
    CHECK(la && lb && strcmp(la, lb) == 0);
    free(la), free(lb);
    const struct {
        float t, c;
        const char *word;
    } bad[] = {{0.0f, 5.0f, "--explore-temperature"}, {1.5f, 5.0f, "--explore-temperature"},
               {-0.5f, 5.0f, "--explore-temperature"}, {NAN, 5.0f, "--explore-temperature"},
               {0.5f, 0.0f, "--is-clip"}, {0.5f, -1.0f, "--is-clip"}, {0.5f, INFINITY, "--is-clip"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        adv_options o = adv_opts("/nonexistent.corpus", "/nonexistent", "/nonexistent-run");
        o.explore_temperature = bad[i].t;
        o.is_clip = bad[i].c;
        adv_report rep;
        err[0] = 0;
        CHECK_STATUS(train_adv(&o, &rep, err, sizeof err), TG_ERR_ARG);
        if (!strstr(err, bad[i].word)) TEST_FAIL_("T %g, C %g: \"%s\" does not name %s", bad[i].t, bad[i].c, err, bad[i].word);
        test_checks_++;
    }
    printf("cold: refused with \"%s\"\n", err);
}

/* --disc-init generator: the causal D starts as G (after a phase without
 * D training its checkpoint holds G's weights, at the run's context), trains
 * and resumes bit for bit as any D; refused where it cannot work. */
static void test_disc_from_generator(void)
{
    char corpus[300], pre[300], run[300], ck[400], path[450];
    snprintf(corpus, sizeof corpus, "%s/c.corpus", dir);
    snprintf(pre, sizeof pre, "%s/pre", dir);
    snprintf(run, sizeof run, "%s/from-g", dir);
    adv_report rep;
    char err[600] = "";
    adv_options o = adv_opts(corpus, pre, run);
    o.reward = ADV_REWARD_DENSE;
    o.disc_from_generator = true;
    /* relative attention sizes its table by the context: 10 tokens cannot take G's 16 */
    CHECK_STATUS(train_adv(&o, &rep, err, sizeof err), TG_ERR_ARG);
    CHECK(strstr(err, "--seq-len 16") != NULL);
    o.seq_len = 16;
    o.reward = ADV_REWARD_ROLLOUT;
    CHECK_STATUS(train_adv(&o, &rep, err, sizeof err), TG_ERR_ARG);
    CHECK(strstr(err, "causal") != NULL);
    o.reward = ADV_REWARD_DENSE;
    o.d_pretrain = 0;
    o.stop_after = 1;
    tg_status s = train_adv(&o, &rep, err, sizeof err);
    if (s != TG_OK) printf("train_adv (from the generator): %s\n", err);
    CHECK_OK(s);
    CHECK_OK(ckpt_resume_dir(run, "phase", ck, sizeof ck));
    tg_model *g = NULL, *d = NULL;
    size_t n_params = 0;
    char init[400];
    model_checkpoint_path(pre, init, sizeof init);
    snprintf(path, sizeof path, "%s/disc.safetensors", ck);
    CHECK_OK(model_load(init, 1, &g, NULL, err, sizeof err));
    CHECK_OK(model_load(path, 1, &d, NULL, err, sizeof err));
    if (g && d) {
        CHECK_INT((int)model_param_count(d), (int)model_param_count(g));
        CHECK(memcmp(model_param_data(d), model_param_data(g), model_param_count(g) * sizeof(float)) == 0);
        CHECK_INT(model_get_config(d)->context, 16);
        CHECK_INT(model_get_config(d)->kind, MODEL_GENERATOR);
        n_params = model_param_count(d);
    }
    model_free(g);
    model_free(d);
    printf("disc from the generator: D = G after phase 1 (%zu parameters)\n", n_params);
}

/* The options of a run to be refused, on test_resume's corpus and
 * pretrain run, in dir/name (the paths are static: one such run at a time). */
static adv_options refused_opts(const char *name)
{
    static char corpus[300], pre[300], run[300];
    snprintf(corpus, sizeof corpus, "%s/c.corpus", dir);
    snprintf(pre, sizeof pre, "%s/pre", dir);
    snprintf(run, sizeof run, "%s/%s", dir, name);
    return adv_opts(corpus, pre, run);
}

/* The critic's run (test_resume's, one process): its file instead of D's,
 * a first fit without a fresh accuracy and later ones with it, fits that
 * separate their sets, values that are probabilities; refused with the
 * options of a Transformer D. */
static void test_critic_run(void)
{
    char path[400], err[512] = "";
    snprintf(path, sizeof path, "%s/one-%d", dir, (int)ADV_REWARD_CRITIC);
    char f[480];
    snprintf(f, sizeof f, "%s/critic.safetensors", path);
    CHECK(access(f, F_OK) == 0);
    snprintf(f, sizeof f, "%s/disc.safetensors", path);
    CHECK(access(f, F_OK) != 0);
    snprintf(f, sizeof f, "%s/log.jsonl", path);
    char *log = log_text(f);
    CHECK(log != NULL);
    if (log) {
        CHECK_INT(count_of(log, "\"phase\":\"disc\""), 4); /* 2 pre-training, 1 a round */
        CHECK_INT(count_of(log, "\"acc_fresh\":null"), 1);
        CHECK(strstr(log, "\"d_acc\":1.0000") != NULL); /* 12 short sequences: the fit separates them */
        printf("critic run: %d disc lines, %d adv lines\n", count_of(log, "\"phase\":\"disc\""),
               count_of(log, "\"phase\":\"adv\""));
    }
    free(log);
    adv_report rep;
    adv_options o = refused_opts("critic-band");
    o.reward = ADV_REWARD_CRITIC;
    o.d_band_lo = 0.3f;
    CHECK_STATUS(train_adv(&o, &rep, err, sizeof err), TG_ERR_ARG);
    CHECK(strstr(err, "--d-band") != NULL);
    o.d_band_lo = 0.0f;
    o.disc_from_generator = true;
    CHECK_STATUS(train_adv(&o, &rep, err, sizeof err), TG_ERR_ARG);
    CHECK(strstr(err, "--disc-init generator") != NULL);
}

/* The critic's memory alone: a ring that keeps the latest rows, oldest
 * first, through a file and back; a file of another memory is refused. */
static void test_critic_memory(void)
{
    enum { T = 4, LD = T + 1 };
    adv_critic *c = NULL, *d = NULL, *none = NULL;
    CHECK_OK(adv_critic_create(T, 3, &c));
    int x[5 * LD], lens[5], back[3 * LD], back_lens[3];
    for (int i = 0; i < 5; i++) {
        for (int t = 0; t < LD; t++) x[i * LD + t] = 100 * i + t;
        lens[i] = 1 + i % T;
    }
    int n = adv_critic_recall(c, back, back_lens);
    CHECK_INT(n, 0);
    adv_critic_remember(c, x, lens, 2);
    CHECK_INT(adv_critic_recall(c, back, back_lens), 2);
    CHECK_INT(back[LD], 100);
    adv_critic_remember(c, x + 2 * LD, lens + 2, 3); /* rows 2-4: row 0 and 1 make way */
    n = adv_critic_recall(c, back, back_lens);
    CHECK_INT(n, 3);
    for (int i = 0; i < n; i++) {
        CHECK(memcmp(back + i * LD, x + (i + 2) * LD, sizeof(int) * LD) == 0);
        CHECK_INT(back_lens[i], lens[i + 2]);
    }
    char path[400], err[512] = "";
    snprintf(path, sizeof path, "%s/critic-memory.safetensors", dir);
    st_meta meta[] = {{"cursor", "7"}};
    CHECK_OK(adv_critic_save(c, path, meta, 1));
    CHECK_OK(adv_critic_create(T, 3, &d));
    int cursor = 0;
    CHECK_OK(adv_critic_load(d, path, &cursor, err, sizeof err));
    CHECK_INT(cursor, 7);
    int again[3 * LD], again_lens[3];
    CHECK_INT(adv_critic_recall(d, again, again_lens), 3);
    CHECK(memcmp(again, back, sizeof back) == 0 && memcmp(again_lens, back_lens, sizeof back_lens) == 0);
    adv_critic_remember(d, x, lens, 1); /* the next slot is the oldest's: row 2 makes way for row 0 */
    CHECK_INT(adv_critic_recall(d, again, again_lens), 3);
    CHECK(memcmp(again, x + 3 * LD, sizeof(int) * LD) == 0 && memcmp(again + 2 * LD, x, sizeof(int) * LD) == 0);
    CHECK_OK(adv_critic_create(T, 0, &none));
    CHECK_STATUS(adv_critic_load(none, path, &cursor, err, sizeof err), TG_ERR_FORMAT);
    CHECK(strstr(err, "--critic-memory") != NULL);
    snprintf(path, sizeof path, "%s/critic-none.safetensors", dir);
    CHECK_OK(adv_critic_save(none, path, meta, 1));
    CHECK_STATUS(adv_critic_load(d, path, &cursor, err, sizeof err), TG_ERR_FORMAT);
    CHECK(strstr(err, "memory") != NULL);
    adv_critic_free(c);
    adv_critic_free(d);
    adv_critic_free(none);
}

/* The memory's run (test_resume's): every fit after the first reads the
 * remembered sequences, as many as the ring holds; refused without the
 * critic. */
static void test_critic_memory_run(void)
{
    char path[400], err[512] = "";
    snprintf(path, sizeof path, "%s/one-%d-memory/log.jsonl", dir, (int)ADV_REWARD_CRITIC);
    char *log = log_text(path);
    CHECK(log != NULL);
    if (log) {
        /* pre-training: 0, then 5 (6 negatives, the ring keeps 5); every round's g-step adds 3 */
        CHECK_INT(count_of(log, "\"remembered\":0}"), 1);
        CHECK_INT(count_of(log, "\"remembered\":5}"), 3);
        printf("critic memory run: %d fits\n", count_of(log, "\"phase\":\"disc\""));
    }
    free(log);
    adv_options o = refused_opts("memory-dense");
    o.reward = ADV_REWARD_DENSE;
    o.critic_memory = 4;
    adv_report rep;
    CHECK_STATUS(train_adv(&o, &rep, err, sizeof err), TG_ERR_ARG);
    CHECK(strstr(err, "--critic-memory") != NULL);
}

int main(void)
{
    nn_set_threads(1);
    test_weights();
    test_pg_gradient();
    test_toy_reward();
    test_fork();
    test_rollouts();
    test_disc(MODEL_DISCRIMINATOR);
    test_disc(MODEL_GENERATOR);
    snprintf(dir, sizeof dir, "/tmp/tg_test_seqgan.XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    test_resume(ADV_REWARD_ROLLOUT);
    test_resume(ADV_REWARD_DENSE);
    tweak = recipes_bar;
    test_resume(ADV_REWARD_BAR);
    tweak = recipes_random;
    test_resume(ADV_REWARD_RANDOM);
    tweak = disc_from_g;
    test_resume(ADV_REWARD_DENSE);
    tweak = recipes_cold;
    tag = "-cold";
    test_resume(ADV_REWARD_ROLLOUT);
    test_resume(ADV_REWARD_DENSE);
    tweak = recipes_warm;
    tag = "-warm";
    test_resume(ADV_REWARD_DENSE);
    tag = "";
    tweak = NULL;
    test_resume(ADV_REWARD_CRITIC);
    tweak = recipes_critic;
    tag = "-zero-mean";
    test_resume(ADV_REWARD_CRITIC_RANDOM);
    tweak = recipes_memory;
    tag = "-memory";
    test_resume(ADV_REWARD_CRITIC);
    tag = "";
    tweak = NULL;
    test_critic_run();
    test_critic_memory();
    test_critic_memory_run();
    test_disc_from_generator();
    test_cold();
    char path[400];
    snprintf(path, sizeof path, "%s/one-%d/log.jsonl", dir, (int)ADV_REWARD_RANDOM);
    char *log = log_text(path);
    CHECK(log != NULL);
    if (log) {
        printf("band [0,0]: %d of %d d-steps without an update\n", count_of(log, "\"epochs\":0"),
               count_of(log, "\"phase\":\"disc\""));
        CHECK_INT(count_of(log, "\"epochs\":0"), count_of(log, "\"phase\":\"disc\""));
        CHECK(count_of(log, "\"phase\":\"disc\"") > 0);
    }
    free(log);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    return test_finish("test_seqgan");
}
