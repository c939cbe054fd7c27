/*
 * seqgan.c: the adversarial trainer (train.h describes the algorithm, the
 * run folder and the log): D pre-training, then rounds of policy-gradient
 * updates of G and D training on fresh negatives, the rollout policy moved
 * towards G after each round, a checkpoint after every phase and bit-exact
 * resumption from it (the run folder itself: seqgan_run.c). Nothing here
 * prints: log lines go to the caller's on_log, messages to its logger.
 *
 * Phases are numbered from 1: phase 1 is D's pre-training, phase 2r round
 * r's g-phase (then an evaluation), phase 2r+1 its d-phase and the rollout
 * update. The "cursor" in every checkpoint file is the number of phases done.
 *
 * Randomness: four streams from the seed (samples of G, rollouts, batches of
 * real data and shuffles, dropout), saved in optimizer.safetensors.
 * Optimizers: AdamW with constant learning rates, betas (0.9, 0.999); no
 * weight decay for G (the policy should stay near its MLE start, which the
 * KL term handles), 0.01 for D.
 *
 * Data parallel (o->dist with N > 1 ranks, src/train/dist.h), designed so
 * that N ranks compute what one process does, up to the order of float sums:
 *  - every rank draws everything random from the same streams as one
 *    process: G's samples (all B of a g-step, all negatives of a d-step),
 *    the real openings, the shuffles, the MLE windows; these are cheap next
 *    to the rollouts, and it leaves every rank holding the whole batch (the
 *    d-step's sampling of negatives is the largest part not shared out);
 *  - rows are cut by dist_share (rank r: r*n/N .. (r+1)*n/N - 1): the
 *    rollouts of the g-step's sequences and their D scores (each completion
 *    draws from a stream of its own, seeded from one draw of the rollout
 *    stream, the prefix and its index in the whole batch: reward.c), after
 *    which the rows of Q are gathered on every rank (the baseline needs
 *    them all); the forward and backward passes of the policy-gradient and
 *    MLE updates; the rows of each of D's minibatches;
 *  - each rank weights its rows' losses by the whole batch's normalisation
 *    (adv_pg_backward, adv_disc_grad, mle_shard), the gradients are summed
 *    with one MPI_Allreduce of the flat block, and every rank clips and
 *    applies the same AdamW step, so the weights stay equal on every rank;
 *  - dropout (when G or D has it) cannot follow one process's masks: one
 *    u64 per update from the dropout stream, mixed with the rank, seeds the
 *    rank's masks (repeatable for a given N, as in mle.c);
 *  - rank 0 alone reads and writes the run folder and evaluates; it sends
 *    the others the models' configs, weights and moments, the random states
 *    and counters, so a run resumes with any N. Failures are agreed
 *    (dist_agree) at the end of every phase and before the gather of Q, so
 *    every rank returns an error and err is set on the lowest failing rank.
 * One process (no dist, or N = 1) takes the same code with its single share
 * (all rows) and the run's own dropout stream. The per-completion rollout
 * streams are new with data parallelism: a seed gives other rollouts than
 * before them (a checkpoint from before resumes, on the new streams).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist.h"
#include "seqgan_run.h"
#include "train.h"

#define ADV_D_WEIGHT_DECAY 0.01f

static const char *const reward_names[] = {"rollout", "dense", "constant"};

const char *adv_reward_name(adv_reward r)
{
    return (unsigned)r < 3 ? reward_names[r] : "?";
}

tg_status adv_reward_parse(const char *name, adv_reward *r)
{
    for (int i = 0; i < 3; i++)
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
/* Phases. */

/* n sequences from G into x (n, T+1), in batches of B. */
static void sample_g(adv_run *r, int *x, int n)
{
    for (int i = 0; i < n; i += r->B) {
        int m = n - i < r->B ? n - i : r->B;
        adv_sample(r->sg, m, r->T, x + (size_t)i * (r->T + 1), &r->rng_sample, r->logits, r->scratch);
    }
}

/* The dropout stream of this rank's part of an update of m: the run's own
 * stream for one process or a model without dropout; with several ranks,
 * local seeded from one draw of it mixed with the rank. */
static tg_rng *shard_dropout(adv_run *r, const tg_model *m, tg_rng *local)
{
    if (r->size == 1 || !(model_get_config(m)->dropout > 0)) return &r->rng_dropout;
    tg_rng_seed(local, tg_rng_u64(&r->rng_dropout) ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(r->rank + 1)));
    return local;
}

/* Several ranks: m's gradients and the n doubles of sums are summed. */
static void sum_shards(adv_run *r, tg_model *m, double *sums, int n)
{
    if (r->size == 1) return;
    dist_sum_floats(r->dist, model_grad_data(m), model_param_count(m), 0);
    dist_sum_doubles(r->dist, sums, (size_t)n);
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

/* One update of D on the minibatch xb (m rows), this rank taking its share
 * of the rows; the batch's mean loss, *acc its accuracy, *norm the gradient
 * norm. */
static float d_update(adv_run *r, int m, float *acc, float *norm)
{
    const adv_options *o = r->o;
    int lo, hi;
    dist_share(r->dist, m, &lo, &hi);
    tg_rng local;
    double sums[3];
    adv_disc_grad(r->D, r->xb, r->T + 1, r->lb, r->yb, m, r->T, lo, hi, shard_dropout(r, r->D, &local), r->work,
                  r->tmp, sums);
    sum_shards(r, r->D, sums, 3);
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

static tg_status d_phase(adv_run *r, int round, int steps)
{
    const adv_options *o = r->o;
    const int B = r->B, T = r->T, M = 2 * o->d_samples, ld = T + 1;
    for (int k = 0; k < steps; k++) {
        double t0 = tg_now_sec();
        dist_comm_take(r->dist);
        adv_real_openings(r->corpus, &r->rng_batch, o->d_samples, T, r->x);
        sample_g(r, r->x + (size_t)o->d_samples * ld, o->d_samples);
        adv_lengths(r->x, ld, M, T, r->lens);
        for (int i = 0; i < M; i++) r->labels[i] = i < o->d_samples ? 1.0f : 0.0f;
        double loss = 0, acc = 0;
        for (int e = 0; e < o->d_epochs; e++) {
            shuffle(r, M);
            loss = acc = 0;
            for (int i = 0; i < M; i += B) {
                int m = M - i < B ? M - i : B;
                for (int b = 0; b < m; b++) {
                    int src = r->perm[i + b];
                    memcpy(r->xb + (size_t)b * ld, r->x + (size_t)src * ld, (size_t)ld * sizeof(int));
                    r->lb[b] = r->lens[src];
                    r->yb[b] = r->labels[src];
                }
                float a, norm, l = d_update(r, m, &a, &norm);
                if (!finite_update(r, "D", r->d_step, l, norm)) return TG_ERR_RANGE;
                loss += (double)l * m;
                acc += (double)a * m;
            }
        }
        loss /= M;
        acc /= M;
        r->rep->d_loss = loss;
        r->rep->d_acc = acc;
        char comm[48];
        adv_run_log(r, "{\"step\":%d,\"round\":%d,\"phase\":\"disc\",\"d_loss\":%.6f,\"d_acc\":%.4f,\"seconds\":%.2f%s}",
                 r->d_step, round, loss, acc, tg_now_sec() - t0, adv_run_comm(r, comm, sizeof comm));
    }
    return TG_OK;
}

/* Q of this rank's rows of x by the dense discriminator. */
static void dense_values(adv_run *r, const int *x, const int *lens)
{
    const int T = r->T, n = r->hi - r->lo;
    int *tok = r->tmp;
    for (int b = 0; b < n; b++)
        memcpy(tok + (size_t)b * T, x + (size_t)(r->lo + b) * (T + 1) + 1, (size_t)T * sizeof(int));
    model_lm_forward(r->D, tok, NULL, n, T, NULL);
    const float *lg = model_logits(r->D);
    for (int b = 0; b < n; b++) {
        const int len = lens[r->lo + b];
        for (int t = 1; t <= T; t++) {
            int at = t < len ? t : len;
            r->Q[(size_t)(r->lo + b) * T + t - 1] = adv_dense_prob(lg + ((size_t)b * T + at - 1) * r->V);
        }
    }
}

/* Values of every prefix of the batch x (B, T+1) into Q: each rank computes
 * its rows, then they are gathered on every rank. */
static tg_status values(adv_run *r, const int *x, const int *lens)
{
    const int B = r->B, T = r->T;
    if (r->o->reward == ADV_REWARD_CONSTANT) {
        for (size_t i = 0; i < (size_t)B * T; i++) r->Q[i] = 0.5f;
        return TG_OK;
    }
    tg_status s = TG_OK;
    if (r->o->reward == ADV_REWARD_DENSE) {
        dense_values(r, x, lens);
    } else {
        adv_rollout_ctx ctx = {r->sp, r->sb, r->D, r->o->rollouts, r->o->rollout_every, &r->rng_rollout};
        s = adv_rollout_rows(&ctx, x + (size_t)r->lo * (T + 1), lens + r->lo, r->hi - r->lo, T, r->lo,
                             r->Q + (size_t)r->lo * T);
    }
    s = adv_run_agree(r, s, "the rollouts", NULL, 0);
    if (s == TG_OK) dist_gather_rows(r->dist, r->Q, B, (size_t)T);
    return s;
}

/* Rank 0 alone evaluates and logs (the others have no log). */
static tg_status evaluate(adv_run *r, int round, double *nll)
{
    *nll = NAN;
    if (r->rank != 0 || r->corpus->split_count[DATA_VALID] == 0) return TG_OK;
    uint64_t n = 0;
    tg_status s = train_eval_nll(r->G, r->corpus, DATA_VALID, r->o->eval_max_windows, nll, &n);
    if (s != TG_OK) return s;
    adv_run_log(r, "{\"step\":%d,\"round\":%d,\"phase\":\"eval\",\"val_nll\":%.6f,\"val_tokens\":%llu}", r->g_step, round,
             *nll, (unsigned long long)n);
    return TG_OK;
}

/* One policy-gradient update of G on the batch in r->x with values r->Q,
 * this rank taking its rows; the surrogate loss, KL and entropy; returns
 * the gradient norm. */
static float pg_update(adv_run *r, float *pg, float *kl, float *ent)
{
    const adv_options *o = r->o;
    adv_pg_sums ps;
    model_zero_grad(r->G);
    adv_pg_backward(r->G, r->ref, r->x, r->lens, r->Q, r->B, r->T, r->lo, r->hi, o->kl, o->entropy, r->work,
                    r->tmp, &ps);
    double sums[4] = {ps.surrogate, ps.kl, ps.entropy, ps.positions};
    sum_shards(r, r->G, sums, 4);
    ps = (adv_pg_sums){sums[0], sums[1], sums[2], sums[3]};
    adv_pg_means(&ps, pg, kl, ent);
    adv_opt_step os = {o->lr_g, o->clip, 0.0f, ++r->g_step};
    return adv_opt_apply(r->G, &os);
}

/* Several ranks: G's gradient of the mean loss of the windows (B,T) from
 * this rank's rows, each target weighted 1/n (n counted on the whole batch),
 * as in mle.c; returns the batch's mean loss. */
static float mle_shard(adv_run *r, const int32_t *in, const int32_t *tg)
{
    const int B = r->B, T = r->T, lo = r->lo, hi = r->hi;
    int n_all = 0, n_mine = 0;
    for (int i = 0; i < B * T; i++)
        if (tg[i] != MODEL_IGNORE_INDEX) {
            n_all++;
            n_mine += i >= lo * T && i < hi * T;
        }
    tg_rng local, *drop = shard_dropout(r, r->G, &local);
    double sum = 0;
    if (n_mine > 0) {
        float mean = model_lm_forward(r->G, in + (size_t)lo * T, tg + (size_t)lo * T, hi - lo, T, drop);
        for (int i = 0; i < (hi - lo) * T; i++) r->work[i] = 1.0f / (float)n_all;
        model_lm_backward_weighted(r->G, r->work);
        sum = (double)mean * n_mine;
    }
    sum_shards(r, r->G, &sum, 1);
    return n_all ? (float)(sum / n_all) : 0.0f;
}

/* One teacher-forced step of G on real windows; its loss, *norm the
 * gradient norm. */
static float mle_update(adv_run *r, float *norm)
{
    const int B = r->B, T = r->T;
    int32_t *in = r->tmp, *tg = r->tmp + (size_t)B * T;
    data_train_batch(r->corpus, &r->rng_batch, B, T, in, tg);
    model_zero_grad(r->G);
    float loss;
    if (r->size > 1) {
        loss = mle_shard(r, in, tg);
    } else {
        loss = model_lm_forward(r->G, in, tg, B, T, &r->rng_dropout);
        model_lm_backward(r->G);
    }
    adv_opt_step os = {r->o->lr_g, r->o->clip, 0.0f, ++r->g_step};
    *norm = adv_opt_apply(r->G, &os);
    return loss;
}

static tg_status g_phase(adv_run *r, int round)
{
    const adv_options *o = r->o;
    const int B = r->B, T = r->T;
    char comm[48];
    for (int k = 0; k < o->g_steps; k++) {
        double t0 = tg_now_sec();
        dist_comm_take(r->dist);
        sample_g(r, r->x, B);
        adv_lengths(r->x, T + 1, B, T, r->lens);
        tg_status s = values(r, r->x, r->lens);
        if (s != TG_OK) return s;
        double reward = 0;
        for (int b = 0; b < B; b++) reward += r->Q[(size_t)b * T + r->lens[b] - 1];
        reward /= B;
        float pg, kl, ent;
        float norm = pg_update(r, &pg, &kl, &ent);
        if (!finite_update(r, "G", r->g_step, pg, norm)) return TG_ERR_RANGE;
        r->rep->reward_mean = reward;
        int len_sum = 0;
        for (int b = 0; b < B; b++) len_sum += r->lens[b];
        adv_run_log(r,
                 "{\"step\":%d,\"round\":%d,\"phase\":\"adv\",\"reward_mean\":%.6f,\"pg_loss\":%.6g,\"kl\":%.6g,"
                 "\"entropy\":%.6f,\"len_mean\":%.2f,\"seconds\":%.2f%s}",
                 r->g_step, round, reward, pg, kl, ent, (double)len_sum / B, tg_now_sec() - t0,
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

/* The words for a failed phase on this rank, then the ranks' agreement on
 * the phase's outcome. */
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

/* Whether to stop after this phase's checkpoint: any rank interrupted, or
 * --stop-after reached. */
static bool should_stop(adv_run *r)
{
    const adv_options *o = r->o;
    uint64_t stop = (o->stop && *o->stop) || (o->stop_after > 0 && r->cursor >= o->stop_after);
    dist_max_u64(r->dist, &stop, 1);
    return stop != 0;
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
    r.dist = o->dist;
    r.rank = dist_rank(o->dist);
    r.size = dist_size(o->dist);
    r.first_failed = -1;
    dist_share(o->dist, r.B, &r.lo, &r.hi);
    s = adv_run_open(&r, err, err_len);
    const int total = 1 + 2 * o->rounds;
    rep->phases_total = total;
    if (s == TG_OK) {
        tg_log(&o->logger, TG_LOG_INFO,
               "generator %zu parameters, discriminator %zu (%s reward); %s at phase %d of %d", model_param_count(r.G),
               model_param_count(r.D), adv_reward_name(o->reward), o->resume ? "resuming" : "starting", r.cursor,
               total);
        if (r.size > 1)
            tg_log(&o->logger, TG_LOG_INFO, "data parallel: %d ranks, each runs %d or %d of the batch's %d rows",
                   r.size, r.B / r.size, (r.B + r.size - 1) / r.size, r.B);
        if (r.cursor == 0) s = adv_run_agree(&r, evaluate(&r, 0, &rep->val_nll_init), "the first evaluation", err, err_len);
    }
    while (s == TG_OK && r.cursor < total) {
        const int phase = r.cursor + 1;
        s = end_phase(&r, run_phase(&r, phase), phase, err, err_len);
        if (s != TG_OK) break;
        r.cursor = phase;
        if (r.rank == 0) s = adv_run_save(&r, err, err_len);
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
