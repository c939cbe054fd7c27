/*
 * seqgan.c: the adversarial trainer, SeqGAN (Yu et al. 2017,
 * https://arxiv.org/abs/1609.05473; train.h describes the algorithm, the run
 * folder and the log), as one process runs it:
 *
 *   pre-train D: d_pretrain d-steps on negatives sampled from G
 *   for each round:
 *     g_steps times: sample B sequences from G (at --explore-temperature
 *       T < 1: from softmax(logits / T), each token then weighed by its
 *       truncated importance weight in returns.c), value every prefix (Q, by
 *       rollouts or a dense D: reward.c), one policy-gradient update of G,
 *       then mle_mix teacher-forced updates on real windows; evaluate G
 *     d_steps times: fresh negatives against as many real openings, d_epochs
 *       epochs of D updates over them (disc.c)
 *     move the rollout policy towards G: roll <- r roll + (1-r) G
 *
 * with a checkpoint after every phase and bit-exact resumption from it (the
 * run folder itself: seqgan_run.c). Nothing here prints: log lines go to the
 * caller's on_log, messages to its logger.
 *
 * Phases are numbered from 1: phase 1 is D's pre-training, phase 2r round
 * r's g-phase (then an evaluation), phase 2r+1 its d-phase and the rollout
 * update. The "cursor" in every checkpoint file is the number of phases done.
 *
 * Every update reads "gradient of my rows, combine, apply": adv_ranks_rows
 * gives my rows of the batch, adv_ranks_sum combines the gradients and loss
 * sums, adv_opt_apply clips and takes the AdamW step. For one process my
 * rows are the whole batch and the combination is the identity; the
 * adv_ranks_* calls (seqgan_dist.c) are where N data-parallel ranks share
 * the work, and where the rest of their story is told.
 *
 * Randomness: four streams from the seed (samples of G, rollouts, batches of
 * real data and shuffles, dropout), saved in optimizer.safetensors.
 * Optimizers: AdamW with constant learning rates, betas (0.9, 0.999); no
 * weight decay for G (the policy should stay near its MLE start, which the
 * KL term handles), 0.01 for D.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seqgan_dist.h"
#include "train.h"

#define ADV_D_WEIGHT_DECAY 0.01f

static const char *const reward_names[] = {"rollout", "dense", "constant", "bar", "random", "critic", "critic-random"};
#define N_REWARDS ((int)(sizeof reward_names / sizeof reward_names[0]))

const char *adv_reward_name(adv_reward r)
{
    return (unsigned)r < (unsigned)N_REWARDS ? reward_names[r] : "?";
}

bool adv_reward_dense_d(adv_reward r)
{
    return r == ADV_REWARD_DENSE || r == ADV_REWARD_BAR || r == ADV_REWARD_RANDOM;
}

bool adv_reward_critic(adv_reward r)
{
    return r == ADV_REWARD_CRITIC || r == ADV_REWARD_CRITIC_RANDOM;
}

tg_status adv_reward_parse(const char *name, adv_reward *r)
{
    for (int i = 0; i < N_REWARDS; i++)
        if (strcmp(name, reward_names[i]) == 0) {
            *r = (adv_reward)i;
            return TG_OK;
        }
    return TG_ERR_ARG;
}

adv_options adv_options_default(void)
{
    adv_options o;
    memset(&o, 0, sizeof o);
    o.rounds = 10;
    o.g_steps = 1;
    o.d_steps = 5;
    o.d_epochs = 3;
    o.d_pretrain = 10;
    o.d_samples = 64;
    o.rollouts = 16;
    o.rollout_update = 0.8f;
    o.rollout_every = 1;
    o.kl = 0.1f;
    o.entropy = 0.0f;
    o.mle_mix = 0;
    o.reward = ADV_REWARD_ROLLOUT;
    o.shaping = ADV_SHAPE_PROB;
    o.discount = 0.0f;
    o.baseline = ADV_BASELINE_BATCH;
    o.baseline_decay = 0.9f;
    o.ppo_epochs = 1;
    o.ppo_clip = 0.0f;
    o.explore_temperature = 1.0f;
    o.is_clip = 5.0f;
    o.d_band_lo = 0.0f;
    o.d_band_hi = 1.0f;
    o.label_smooth = 0.0f;
    o.disc = model_config_default();
    model_config_preset("tiny", &o.disc);
    o.disc.kind = MODEL_DISCRIMINATOR;
    o.batch = 16;
    o.seq_len = 32;
    o.lr_g = 1e-5f;
    o.lr_d = 1e-4f;
    o.clip = 1.0f;
    o.eval_max_windows = 64;
    o.seed = 1;
    return o;
}


/* ------------------------------------------------------------------------ */
/* The discriminator's phase. */

/* n sequences from G at a temperature (1: G's own softmax) into x (n, T+1),
 * in batches of B. */
static tg_status sample_g(adv_run *r, int *x, int n, float temperature)
{
    tg_status s = TG_OK;
    for (int i = 0; i < n && s == TG_OK; i += r->B) {
        int m = n - i < r->B ? n - i : r->B;
        s = adv_sample_tempered(r->sg, m, r->T, temperature, x + (size_t)i * (r->T + 1), &r->rng_sample,
                                r->logits);
    }
    return s;
}

/* Whether an update's loss and gradient norm are finite (the same on every
 * rank); if not, r->diverged names the model, its step and both values. */
static bool finite_update(adv_run *r, const char *what, int step, float loss, float norm)
{
    if (isfinite(loss) && isfinite(norm)) return true;
    snprintf(r->diverged, sizeof r->diverged, "%s step %d: the %s is not finite (loss %g, gradient norm %g)", what,
             step, isfinite(loss) ? "gradient norm" : "loss", loss, norm);
    return false;
}

/* One update of D on the minibatch xb (m rows); the batch's mean loss, *acc
 * its accuracy, *norm the gradient norm. */
static float d_update(adv_run *r, int m, float *acc, float *norm)
{
    const adv_options *o = r->o;
    int lo, hi;
    adv_ranks_rows(r, m, &lo, &hi);
    tg_rng local;
    double sums[3];
    adv_disc_grad(r->D, r->xb, r->T + 1, r->lb, r->yb, m, r->T, lo, hi, adv_ranks_dropout(r, r->D, &local),
                  r->work, r->tmp, sums);
    adv_ranks_sum(r, r->D, sums, 3);
    adv_opt_step os = {o->lr_d, o->clip, ADV_D_WEIGHT_DECAY, ++r->d_step};
    *norm = adv_opt_apply(r->D, &os);
    *acc = (float)sums[2] / (float)m;
    return (float)(sums[0] / sums[1]);
}

/* The order of the d-step's M sequences for one epoch. */
static void shuffle(adv_run *r, int M)
{
    for (int i = 0; i < M; i++) r->perm[i] = i;
    for (int i = M - 1; i > 0; i--) {
        int j = (int)tg_rng_below(&r->rng_batch, (uint32_t)(i + 1));
        int t = r->perm[i];
        r->perm[i] = r->perm[j];
        r->perm[j] = t;
    }
}

/* Whether D is kept in an accuracy band (--d-band other than 0,1). */
static bool band_on(const adv_options *o)
{
    return o->d_band_lo > 0.0f || o->d_band_hi < 1.0f;
}

/* D's accuracy (p > 0.5 against the label) on the M sequences of r->x
 * before any update on them. */
static double fresh_accuracy(adv_run *r, int M)
{
    adv_disc_probs(r->D, r->x, r->T + 1, r->lens, M, r->T, r->probs, r->tmp);
    int right = 0;
    for (int i = 0; i < M; i++) right += (r->probs[i] > 0.5f) == (r->labels[i] > 0.5f);
    return (double)right / M;
}

/* One epoch of D over the M sequences in minibatches of B; adds the loss
 * and accuracy summed over sequences. Labels are smoothed to 1-s and s. */
static tg_status d_epoch(adv_run *r, int M, double *loss, double *acc)
{
    const int B = r->B, ld = r->T + 1;
    const float s = r->o->label_smooth;
    shuffle(r, M);
    *loss = *acc = 0;
    for (int i = 0; i < M; i += B) {
        int m = M - i < B ? M - i : B;
        for (int b = 0; b < m; b++) {
            int src = r->perm[i + b];
            memcpy(r->xb + (size_t)b * ld, r->x + (size_t)src * ld, (size_t)ld * sizeof(int));
            r->lb[b] = r->lens[src];
            r->yb[b] = s > 0.0f ? (r->labels[src] > 0.5f ? 1.0f - s : s) : r->labels[src];
        }
        float a, norm, l = d_update(r, m, &a, &norm);
        if (!finite_update(r, "D", r->d_step, l, norm)) return TG_ERR_RANGE;
        *loss += (double)l * m;
        *acc += (double)a * m;
    }
    return TG_OK;
}

/* The critic's d-step (--reward critic): r->x holds n real openings and n
 * fresh samples; with a memory, its K remembered samples and K more real
 * openings follow. The critic's accuracy on the fresh 2n, then its refit on
 * all; the disc line carries both. The fresh samples are remembered. */
static tg_status critic_step(adv_run *r, int round, int n, double t0)
{
    const int T = r->T, ld = T + 1, fresh = 2 * n;
    int *more = r->x + (size_t)fresh * ld;
    const int K = r->C->mem_count;
    adv_real_openings(r->corpus, &r->rng_batch, K, T, more);
    adv_lengths(r->x, ld, fresh + K, T, r->lens);
    adv_critic_recall(r->C, more + (size_t)K * ld, r->lens + fresh + K); /* with their lengths */
    const int M = fresh + 2 * K;
    for (int i = 0; i < M; i++) r->labels[i] = i < n || (i >= fresh && i < fresh + K) ? 1.0f : 0.0f;
    double acc_fresh, acc;
    tg_status s = adv_critic_fit(r->C, r->x, ld, r->lens, r->labels, M, fresh, &acc_fresh, &acc);
    if (s != TG_OK) return s;
    adv_critic_remember(r->C, r->x + (size_t)n * ld, r->lens + n, n);
    r->d_step++;
    r->rep->d_loss = NAN;
    r->rep->d_acc = acc;
    char comm[48], mem[32] = "";
    if (r->C->memory) snprintf(mem, sizeof mem, ",\"remembered\":%d", K);
    adv_run_log(r, "{\"step\":%d,\"round\":%d,\"phase\":\"disc\",\"d_acc\":%.4f,\"acc_fresh\":%.4f%s,\"seconds\":%.2f%s}",
                r->d_step, round, acc, acc_fresh, mem, tg_now_sec() - t0, adv_run_comm(r, comm, sizeof comm));
    return TG_OK;
}

/* steps d-steps: each samples d_samples negatives from G against as many
 * real openings and trains D on them for d_epochs epochs of minibatches.
 * With a band [lo, hi]: D's accuracy on the fresh set decides first: above
 * hi, no update on this set; below lo, up to d_epochs more epochs, until an
 * epoch's accuracy reaches lo. */
static tg_status d_phase(adv_run *r, int round, int steps)
{
    const adv_options *o = r->o;
    const int T = r->T, M = 2 * o->d_samples, ld = T + 1;
    for (int k = 0; k < steps; k++) {
        double t0 = tg_now_sec();
        adv_ranks_step_start(r);
        adv_real_openings(r->corpus, &r->rng_batch, o->d_samples, T, r->x);
        tg_status s = sample_g(r, r->x + (size_t)o->d_samples * ld, o->d_samples, 1.0f);
        if (s != TG_OK) return s;
        if (r->C) {
            s = critic_step(r, round, o->d_samples, t0);
            if (s != TG_OK) return s;
            continue;
        }
        adv_lengths(r->x, ld, M, T, r->lens);
        for (int i = 0; i < M; i++) r->labels[i] = i < o->d_samples ? 1.0f : 0.0f;
        int epochs = o->d_epochs, extra = 0, done = 0;
        double fresh = -1, loss = NAN, acc = NAN;
        if (band_on(o)) {
            fresh = fresh_accuracy(r, M);
            if (fresh > o->d_band_hi) epochs = 0;
            else if (fresh < o->d_band_lo) extra = o->d_epochs;
            acc = fresh;
        }
        for (int e = 0; e < epochs + extra; e++) {
            if (e >= epochs && acc >= o->d_band_lo) break;
            s = d_epoch(r, M, &loss, &acc);
            if (s != TG_OK) return s;
            loss /= M;
            acc /= M;
            done++;
        }
        r->rep->d_loss = loss;
        r->rep->d_acc = acc;
        char comm[48], band[64] = "";
        if (band_on(o)) snprintf(band, sizeof band, ",\"acc_fresh\":%.4f,\"epochs\":%d", fresh, done);
        adv_run_log(r, "{\"step\":%d,\"round\":%d,\"phase\":\"disc\",\"d_loss\":%.6f,\"d_acc\":%.4f%s,\"seconds\":%.2f%s}",
                 r->d_step, round, loss, acc, band, tg_now_sec() - t0, adv_run_comm(r, comm, sizeof comm));
    }
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* The generator's phase. */

/* Values of every prefix of the batch x (B, T+1) into Q: my rows, then
 * every rank's rows gathered. */
static tg_status values(adv_run *r, const int *x, const int *lens)
{
    const int B = r->B, T = r->T;
    if (r->o->reward == ADV_REWARD_CONSTANT) {
        for (size_t i = 0; i < (size_t)B * T; i++) r->Q[i] = 0.5f;
        return TG_OK;
    }
    int lo, hi;
    adv_ranks_rows(r, B, &lo, &hi);
    tg_status s = TG_OK;
    if (r->C) {
        adv_critic_values(r->C, x + (size_t)lo * (T + 1), lens + lo, hi - lo, T, r->Q + (size_t)lo * T);
    } else if (adv_reward_dense_d(r->o->reward)) {
        adv_dense_values(r->D, x + (size_t)lo * (T + 1), lens + lo, hi - lo, T, r->Q + (size_t)lo * T, r->tmp);
    } else {
        adv_rollout_ctx ctx = {r->sp, r->sb, r->D, r->o->rollouts, r->o->rollout_every, &r->rng_rollout, 0};
        s = adv_rollout_rows(&ctx, x + (size_t)lo * (T + 1), lens + lo, hi - lo, T, lo, r->Q + (size_t)lo * T);
    }
    return adv_ranks_gather_values(r, s, r->Q);
}

/* The validation NLL of G, logged (by the one process that logs). */
static tg_status evaluate(adv_run *r, int round, double *nll)
{
    *nll = NAN;
    if (!adv_ranks_root(r) || r->corpus->split_count[DATA_VALID] == 0) return TG_OK;
    uint64_t n = 0;
    tg_status s = train_eval_nll(r->G, r->corpus, DATA_VALID, r->o->eval_max_windows, nll, &n);
    if (s != TG_OK) return s;
    adv_run_log(r, "{\"step\":%d,\"round\":%d,\"phase\":\"eval\",\"val_nll\":%.6f,\"val_tokens\":%llu}", r->g_step, round,
             *nll, (unsigned long long)n);
    return TG_OK;
}

/* What the policy gradient multiplies (returns.c), in place of r->Q: the
 * random control's shuffle, shaped and discounted returns per token or per
 * bar (every reward but rollout), and the baseline (ema: into r->base).
 * The same on every rank: each holds the whole Q. */
static void returns(adv_run *r)
{
    const adv_options *o = r->o;
    const int B = r->B, T = r->T;
    if (o->reward == ADV_REWARD_RANDOM || o->reward == ADV_REWARD_CRITIC_RANDOM)
        adv_shuffle_values(r->Q, r->lens, B, T, &r->rng_rollout, r->idx);
    /* rollouts' values are returns already: shaped token by token, no discount */
    const bool rollout = o->reward == ADV_REWARD_ROLLOUT;
    adv_return_opts ro = {o->reward == ADV_REWARD_BAR, o->shaping, rollout ? 0.0f : o->discount, r->bar_id};
    adv_returns(r->R, r->Q, r->x, T + 1, r->lens, B, T, &ro);
    memcpy(r->Q, r->R, (size_t)B * T * sizeof(float));
    if (o->baseline == ADV_BASELINE_EMA)
        adv_ema_baseline(r->ema, &r->ema_set, r->Q, r->lens, B, T, o->baseline_decay, r->base, r->count);
}

/* Whether the g-step explores at a lower temperature (ColdGANs). */
static bool cold(const adv_options *o)
{
    return o->explore_temperature != 1.0f;
}

/* One policy-gradient update of G on the batch in r->x with returns r->Q;
 * the surrogate loss, KL and entropy; returns the gradient norm. epoch:
 * 0 for a batch's first update (PPO's old log-probs and the cold sampling
 * policy's are stored then). st: [0] tokens clipped, [1] the importance
 * weights' sum, [2] their max, [3] tokens truncated, [4] tokens counted. */
static float pg_update(adv_run *r, int epoch, float *pg, float *kl, float *ent, double st[5])
{
    const adv_options *o = r->o;
    int lo, hi;
    adv_ranks_rows(r, r->B, &lo, &hi);
    adv_pg_sums ps;
    adv_pg_extra ex = {.base = o->baseline == ADV_BASELINE_EMA ? r->base : NULL,
                       .loss_old = o->ppo_epochs > 1 ? r->loss_old : NULL, .store_old = epoch == 0,
                       .clip = o->ppo_clip};
    if (cold(o)) {
        ex.loss_q = r->loss_q;
        ex.temperature = o->explore_temperature;
        ex.is_clip = o->is_clip;
    }
    model_zero_grad(r->G);
    adv_pg_backward_ex(r->G, r->ref, r->x, r->lens, r->Q, r->B, r->T, lo, hi, o->kl, o->entropy, r->work, r->tmp,
                       &ex, &ps);
    double sums[7] = {ps.surrogate, ps.kl, ps.entropy, ps.positions, ex.clipped, ex.w_sum, ex.truncated};
    adv_ranks_sum(r, r->G, sums, cold(o) ? 7 : o->ppo_epochs > 1 ? 5 : 4);
    if (cold(o)) adv_ranks_max(r, &ex.w_max);
    ps = (adv_pg_sums){sums[0], sums[1], sums[2], sums[3]};
    st[0] = sums[4], st[1] = sums[5], st[2] = ex.w_max, st[3] = sums[6], st[4] = sums[3];
    adv_pg_means(&ps, pg, kl, ent);
    adv_opt_step os = {o->lr_g, o->clip, 0.0f, ++r->g_step};
    return adv_opt_apply(r->G, &os);
}

/* G's gradient of the mean loss of the windows (B,T) from their rows
 * lo..hi-1, whose n targets (counted on the whole batch) each weigh 1/n,
 * as in mle.c; returns the rows' sum of losses. The whole batch takes the
 * plain mean. drop: the rows' dropout stream. */
static double mle_grad(adv_run *r, const int32_t *in, const int32_t *tg, int lo, int hi, int n, tg_rng *drop)
{
    const int B = r->B, T = r->T;
    if (lo == 0 && hi == B) {
        float mean = model_lm_forward(r->G, in, tg, B, T, drop);
        model_lm_backward(r->G);
        return (double)mean * n;
    }
    int n_mine = 0;
    for (int i = lo * T; i < hi * T; i++) n_mine += tg[i] != MODEL_IGNORE_INDEX;
    if (n_mine == 0) return 0;
    float mean = model_lm_forward(r->G, in + (size_t)lo * T, tg + (size_t)lo * T, hi - lo, T, drop);
    for (int i = 0; i < (hi - lo) * T; i++) r->work[i] = 1.0f / (float)n;
    model_lm_backward_weighted(r->G, r->work);
    return (double)mean * n_mine;
}

/* One teacher-forced step of G on real windows; the batch's mean loss,
 * *norm the gradient norm. */
static float mle_update(adv_run *r, float *norm)
{
    const int B = r->B, T = r->T;
    int32_t *in = r->tmp, *tg = r->tmp + (size_t)B * T;
    data_train_batch(r->corpus, &r->rng_batch, B, T, in, tg);
    model_zero_grad(r->G);
    int lo, hi, n = 0;
    adv_ranks_rows(r, B, &lo, &hi);
    for (int i = 0; i < B * T; i++) n += tg[i] != MODEL_IGNORE_INDEX;
    tg_rng local;
    double sum = mle_grad(r, in, tg, lo, hi, n, adv_ranks_dropout(r, r->G, &local));
    adv_ranks_sum(r, r->G, &sum, 1);
    adv_opt_step os = {r->o->lr_g, r->o->clip, 0.0f, ++r->g_step};
    *norm = adv_opt_apply(r->G, &os);
    /* the whole batch: (float)(mean * n / n) is mean, bit for bit */
    return n ? (float)(sum / n) : 0.0f;
}

/* g_steps policy-gradient steps of G, each followed by mle_mix MLE steps;
 * then the evaluation. */
static tg_status g_phase(adv_run *r, int round)
{
    const adv_options *o = r->o;
    const int B = r->B, T = r->T;
    char comm[48];
    for (int k = 0; k < o->g_steps; k++) {
        double t0 = tg_now_sec();
        adv_ranks_step_start(r);
        tg_status s = sample_g(r, r->x, B, o->explore_temperature);
        if (s != TG_OK) return s;
        adv_lengths(r->x, T + 1, B, T, r->lens);
        if (r->C && !cold(o)) adv_critic_remember(r->C, r->x, r->lens, B); /* G's own samples: negatives */
        s = values(r, r->x, r->lens);
        if (s != TG_OK) return s;
        double reward = 0;
        for (int b = 0; b < B; b++) reward += r->Q[(size_t)b * T + r->lens[b] - 1];
        reward /= B;
        returns(r);
        float pg = 0, kl = 0, ent = 0, norm = 0;
        double st[5] = {0}; /* the last epoch's: clipped, weights' sum, max, truncated, counted */
        for (int e = 0; e < o->ppo_epochs; e++) {
            norm = pg_update(r, e, &pg, &kl, &ent, st);
            if (!finite_update(r, "G", r->g_step, pg, norm)) return TG_ERR_RANGE;
        }
        r->rep->reward_mean = reward;
        int len_sum = 0;
        for (int b = 0; b < B; b++) len_sum += r->lens[b];
        char ppo[160] = "";
        int used = 0;
        if (o->ppo_epochs > 1) used = snprintf(ppo, sizeof ppo, ",\"clipped\":%.4f", st[0] / len_sum);
        if (cold(o))
            snprintf(ppo + used, sizeof ppo - (size_t)used, ",\"is_w_mean\":%.4f,\"is_w_max\":%.4g,\"is_truncated\":%.4f",
                     st[4] > 0 ? st[1] / st[4] : 0.0, st[2], st[4] > 0 ? st[3] / st[4] : 0.0);
        adv_run_log(r,
                 "{\"step\":%d,\"round\":%d,\"phase\":\"adv\",\"reward_mean\":%.6f,\"pg_loss\":%.6g,\"kl\":%.6g,"
                 "\"entropy\":%.6f,\"len_mean\":%.2f%s,\"seconds\":%.2f%s}",
                 r->g_step, round, reward, pg, kl, ent, (double)len_sum / B, ppo, tg_now_sec() - t0,
                 adv_run_comm(r, comm, sizeof comm));
        for (int m = 0; m < o->mle_mix; m++) {
            float loss = mle_update(r, &norm);
            if (!finite_update(r, "G (MLE mix)", r->g_step, loss, norm)) return TG_ERR_RANGE;
            adv_run_log(r, "{\"step\":%d,\"round\":%d,\"phase\":\"mle\",\"loss\":%.6f%s}", r->g_step, round, loss,
                     adv_run_comm(r, comm, sizeof comm));
        }
    }
    return evaluate(r, round, &r->rep->val_nll);
}

/* ------------------------------------------------------------------------ */
/* The loop over phases. */

/* The words for a failed phase, then the ranks' agreement on its outcome. */
static tg_status end_phase(adv_run *r, tg_status s, int phase, char *err, size_t err_len)
{
    if (s == TG_ERR_RANGE)
        tg_fail(err, err_len, s, "phase %d, %s: stopped without saving the phase (%s); lower --lr-g or --lr-d",
                phase, r->diverged, phase > 1 ? "the run folder keeps the checkpoint of the phase before" : "nothing saved");
    else if (s != TG_OK && err && !err[0])
        tg_fail(err, err_len, s, "phase %d: %s", phase, tg_status_str(s));
    return adv_run_agree(r, s, "the end of a phase", err, err_len);
}

static tg_status run_phase(adv_run *r, int phase)
{
    const adv_options *o = r->o;
    if (phase == 1) return d_phase(r, 0, o->d_pretrain);
    if (phase % 2 == 0) return g_phase(r, phase / 2);
    tg_status s = d_phase(r, phase / 2, o->d_steps);
    if (s == TG_OK) s = model_lerp_params(r->roll, r->G, o->rollout_update);
    return s;
}

/* Whether to stop after this phase's checkpoint: interrupted (on any rank),
 * or --stop-after reached. */
static bool should_stop(adv_run *r)
{
    const adv_options *o = r->o;
    return adv_ranks_any(r, (o->stop && *o->stop) || (o->stop_after > 0 && r->cursor >= o->stop_after));
}

static tg_status check_options(const adv_options *o, char *err, size_t err_len)
{
    if (o->rounds < 1 || o->g_steps < 1 || o->d_steps < 0 || o->d_epochs < 1 || o->d_pretrain < 0 ||
        o->d_samples < 1 || o->rollouts < 1 || o->rollout_every < 1 || o->batch < 1 || o->seq_len < 1 ||
        o->mle_mix < 0 || !(o->lr_g > 0) || !(o->lr_d > 0) || !(o->rollout_update >= 0 && o->rollout_update <= 1) ||
        !(o->kl >= 0) || !(o->entropy >= 0))
        return tg_fail(err, err_len, TG_ERR_ARG,
                    "rounds, g-steps, d-epochs, d-samples, rollouts, rollout-every, batch and seq-len must be positive; "
                    "learning rates above 0; rollout-update in [0,1]; kl and entropy >= 0");
    if (!(o->discount >= 0 && o->discount <= 1) || !(o->baseline_decay >= 0 && o->baseline_decay < 1) ||
        o->ppo_epochs < 1 || !(o->ppo_clip >= 0 && o->ppo_clip < 1) ||
        !(o->d_band_lo >= 0 && o->d_band_lo <= o->d_band_hi && o->d_band_hi <= 1) ||
        !(o->label_smooth >= 0 && o->label_smooth < 0.5f))
        return tg_fail(err, err_len, TG_ERR_ARG,
                    "discount in [0,1], baseline-decay in [0,1), ppo-epochs >= 1, ppo-clip in [0,1), "
                    "d-band LO,HI with 0 <= LO <= HI <= 1, label-smooth in [0,0.5)");
    if (!(o->explore_temperature > 0 && o->explore_temperature <= 1))
        return tg_fail(err, err_len, TG_ERR_ARG,
                    "--explore-temperature must be in (0, 1] (1: sample from the generator itself), got %g",
                    (double)o->explore_temperature);
    if (!(o->is_clip > 0) || !isfinite(o->is_clip))
        return tg_fail(err, err_len, TG_ERR_ARG, "--is-clip must be a finite number above 0, got %g",
                    (double)o->is_clip);
    if (o->reward == ADV_REWARD_ROLLOUT && o->discount > 0)
        return tg_fail(err, err_len, TG_ERR_ARG,
                    "--discount needs a reward per token or per bar (dense, bar, random, critic): rollout values are "
                    "already the expected final reward");
    if (adv_reward_critic(o->reward) && (o->disc_from_generator || o->d_band_lo > 0 || o->d_band_hi < 1))
        return tg_fail(err, err_len, TG_ERR_ARG,
                    "--reward %s refits an n-gram critic every d-step: --disc-init generator and --d-band are for a "
                    "Transformer discriminator", adv_reward_name(o->reward));
    if (o->critic_memory < 0 || (o->critic_memory > 0 && !adv_reward_critic(o->reward)))
        return tg_fail(err, err_len, TG_ERR_ARG,
                    "--critic-memory is the n-gram critic's (--reward critic or critic-random), and at least 0");
    if (!o->corpus_path || !o->run_dir) return tg_fail(err, err_len, TG_ERR_ARG, "a corpus and a run folder are required");
    return TG_OK;
}

tg_status train_adv(const adv_options *o, adv_report *rep, char *err, size_t err_len)
{
    memset(rep, 0, sizeof *rep);
    rep->val_nll = rep->val_nll_init = NAN;
    if (err && err_len) err[0] = '\0';
    tg_status s = check_options(o, err, err_len);
    if (s != TG_OK) return s;
    adv_run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.B = o->batch;
    r.T = o->seq_len;
    r.rep = rep;
    adv_ranks_begin(&r, o->dist);
    s = adv_run_open(&r, err, err_len);
    const int total = 1 + 2 * o->rounds;
    rep->phases_total = total;
    if (s == TG_OK) {
        char d_what[96];
        if (r.C)
            snprintf(d_what, sizeof d_what, "an n-gram critic of %zu weights", adv_critic_weights(r.C));
        else
            snprintf(d_what, sizeof d_what, "discriminator %zu", model_param_count(r.D));
        tg_log(&o->logger, TG_LOG_INFO, "generator %zu parameters, %s (%s reward); %s at phase %d of %d",
               model_param_count(r.G), d_what, adv_reward_name(o->reward), o->resume ? "resuming" : "starting",
               r.cursor, total);
        adv_ranks_announce(&r);
        if (r.cursor == 0) s = adv_run_agree(&r, evaluate(&r, 0, &rep->val_nll_init), "the first evaluation", err, err_len);
    }
    while (s == TG_OK && r.cursor < total) {
        const int phase = r.cursor + 1;
        s = end_phase(&r, run_phase(&r, phase), phase, err, err_len);
        if (s != TG_OK) break;
        r.cursor = phase;
        if (adv_ranks_root(&r)) s = adv_run_save(&r, err, err_len);
        s = adv_run_agree(&r, s, "the checkpoint", err, err_len);
        if (s != TG_OK) break;
        if (should_stop(&r)) {
            rep->interrupted = r.cursor < total;
            break;
        }
    }
    rep->phases_done = r.cursor;
    rep->rounds_done = r.cursor > 0 ? (r.cursor - 1) / 2 : 0;
    adv_run_close(&r);
    return s;
}
