/*
 * seqgan_dist.c: data-parallel SeqGAN, the layer around seqgan.c's loop
 * (seqgan_dist.h). With o->dist of N > 1 ranks (dist.h), N ranks compute
 * what one process does, up to the order of float sums:
 *  - every rank draws everything random from the same streams as one
 *    process: G's samples (all B of a g-step, all negatives of a d-step),
 *    the real openings, the shuffles, the MLE windows; these are cheap next
 *    to the rollouts, and it leaves every rank holding the whole batch (the
 *    d-step's sampling of negatives is the largest part not shared out);
 *  - rows are cut by dist_share (rank r: r*n/N .. (r+1)*n/N - 1,
 *    adv_ranks_rows): the rollouts of the g-step's sequences and their D
 *    scores (each completion draws from a stream of its own, seeded from one
 *    draw of the rollout stream, the prefix and its index in the whole
 *    batch: reward.c), after which the rows of Q are gathered on every rank
 *    (the baseline needs them all: adv_ranks_gather_values); the forward
 *    and backward passes of the policy-gradient and MLE updates; the rows of
 *    each of D's minibatches;
 *  - each rank weights its rows' losses by the whole batch's normalisation
 *    (adv_pg_backward, adv_disc_grad, seqgan.c's mle_grad), the gradients
 *    are summed with one MPI_Allreduce of the flat block (adv_ranks_sum),
 *    and every rank clips and applies the same AdamW step, so the weights
 *    stay equal on every rank;
 *  - dropout (when G or D has it) cannot follow one process's masks: one
 *    u64 per update from the dropout stream, mixed with the rank, seeds the
 *    rank's masks (adv_ranks_dropout; repeatable for a given N, as in
 *    mle.c);
 *  - rank 0 alone reads and writes the run folder and evaluates
 *    (adv_ranks_root); it sends the others the models' configs, weights and
 *    moments, the random states and counters (seqgan_run.c), so a run
 *    resumes with any N. Failures are agreed (seqgan_run.c's adv_run_agree)
 *    at the end of every phase and before the gather of Q, so every rank
 *    returns an error and err is set on the lowest failing rank; a stop
 *    asked on any rank stops all (adv_ranks_any).
 * One process (no dist, or N = 1) takes the same code with its single share
 * (all rows) and the run's own dropout stream, and no call here reaches MPI.
 * The per-completion rollout streams are new with data parallelism: a seed
 * gives other rollouts than before them (a checkpoint from before resumes,
 * on the new streams).
 */
#include <string.h>

#include "seqgan_dist.h"

void adv_ranks_begin(adv_run *r, dist_ctx *dist)
{
    r->dist = dist;
    r->rank = dist_rank(dist);
    r->size = dist_size(dist);
    r->first_failed = -1;
    dist_share(dist, r->B, &r->lo, &r->hi);
}

void adv_ranks_announce(const adv_run *r)
{
    if (r->size > 1)
        tg_log(&r->o->logger, TG_LOG_INFO, "data parallel: %d ranks, each runs %d or %d of the batch's %d rows",
               r->size, r->B / r->size, (r->B + r->size - 1) / r->size, r->B);
}

bool adv_ranks_root(const adv_run *r) { return r->rank == 0; }

void adv_ranks_rows(const adv_run *r, int n, int *lo, int *hi)
{
    if (r->size == 1) {
        *lo = 0, *hi = n;
        return;
    }
    dist_share(r->dist, n, lo, hi);
}

tg_rng *adv_ranks_dropout(adv_run *r, const tg_model *m, tg_rng *local)
{
    if (r->size == 1 || !(model_get_config(m)->dropout > 0)) return &r->rng_dropout;
    tg_rng_seed(local, tg_rng_u64(&r->rng_dropout) ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(r->rank + 1)));
    return local;
}

void adv_ranks_sum(adv_run *r, tg_model *m, double *sums, int n)
{
    if (r->size == 1) return;
    dist_sum_floats(r->dist, model_grad_data(m), model_param_count(m), 0);
    dist_sum_doubles(r->dist, sums, (size_t)n);
}

tg_status adv_ranks_gather_values(adv_run *r, tg_status s, float *Q)
{
    if (r->size == 1) return s;
    s = adv_run_agree(r, s, "the rollouts", NULL, 0);
    if (s == TG_OK) dist_gather_rows(r->dist, Q, r->B, (size_t)r->T);
    return s;
}

void adv_ranks_max(adv_run *r, double *v)
{
    if (r->size == 1) return;
    uint64_t bits; /* a non-negative double's bits order as the double does */
    memcpy(&bits, v, sizeof bits);
    dist_max_u64(r->dist, &bits, 1);
    memcpy(v, &bits, sizeof bits);
}

bool adv_ranks_any(adv_run *r, bool mine)
{
    if (r->size == 1) return mine;
    uint64_t any = mine;
    dist_max_u64(r->dist, &any, 1);
    return any != 0;
}

void adv_ranks_step_start(adv_run *r)
{
    if (r->size > 1) dist_comm_take(r->dist);
}
