/*
 * seqgan_dist.h: the rank layer of the adversarial trainer (seqgan_dist.c).
 * seqgan.c is SeqGAN as one process runs it; every step that N ranks must
 * share goes through one of these calls: "my rows" of a batch, "combine"
 * (sum the gradients and the loss sums), the gather of the values Q, the
 * dropout stream of my rows, who writes and evaluates, and whether any rank
 * wants to stop. For one process (no dist, or N = 1) each is the identity:
 * my rows are all the rows, a sum over one process is itself, nothing is
 * gathered, and no MPI call is made. Internal to src/train.
 */
#ifndef TG_SEQGAN_DIST_H
#define TG_SEQGAN_DIST_H

#include <stdbool.h>

#include "seqgan_run.h"

/* Sets the run's ranks from dist (NULL: one process): r->dist, rank, size,
 * first_failed, and r->lo..hi, this rank's rows of a batch of r->B (the
 * rollout states of seqgan_run.c are sized by them). */
void adv_ranks_begin(adv_run *r, dist_ctx *dist);
/* Says through the run's logger how the batch is cut (several ranks only). */
void adv_ranks_announce(const adv_run *r);
/* Whether this process reads and writes the run folder, logs and evaluates
 * (rank 0; always for one process). */
bool adv_ranks_root(const adv_run *r);

/* My rows lo..hi-1 of a batch of n: all n for one process. */
void adv_ranks_rows(const adv_run *r, int n, int *lo, int *hi);
/* The dropout stream of my rows of an update of m: the run's own stream for
 * one process or a model without dropout; else local, seeded from one draw
 * of the run's stream mixed with the rank. */
tg_rng *adv_ranks_dropout(adv_run *r, const tg_model *m, tg_rng *local);
/* Combine: m's gradients and the n doubles of sums become their sums over
 * the ranks (one MPI_Allreduce each); nothing for one process. */
void adv_ranks_sum(adv_run *r, tg_model *m, double *sums, int n);
/* The values Q (B, T) after each rank filled its rows with status s: the
 * ranks agree on s, then every rank gets every row. Returns s for one
 * process; TG_ERR_INTERRUPTED on a rank whose peer failed. */
tg_status adv_ranks_gather_values(adv_run *r, tg_status s, float *Q);
/* *v (>= 0) becomes its maximum over the ranks; nothing for one process. */
void adv_ranks_max(adv_run *r, double *v);
/* Whether mine or any other rank's answer is true. */
bool adv_ranks_any(adv_run *r, bool mine);
/* Starts a step's count of time in collectives (the log's "comm_ms",
 * adv_run_comm). */
void adv_ranks_step_start(adv_run *r);

#endif /* TG_SEQGAN_DIST_H */
