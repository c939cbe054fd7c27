/*
 * dist.h: the small layer between the trainers and MPI for data-parallel
 * training (dist.c): start and stop, rank and size, sums of float and double
 * blocks over all ranks, broadcasts from rank 0, and agreement on a status
 * with a timeout. Built without MPI (TG_HAVE_MPI undefined), or run without a
 * launcher (no mpirun environment), it is a single process: rank 0 of 1,
 * every collective a no-op, and MPI is never initialised. A NULL context
 * means the same everywhere, so a trainer given no context behaves exactly
 * as one that never heard of MPI.
 *
 * Errors: a failed MPI call or a collective that times out cannot be
 * returned (the other ranks would wait for ever), so they stop the whole job
 * with MPI_Abort after a message through the context's logger naming the
 * rank and the operation. Everything else is agreed (dist_agree): every rank
 * learns that some rank failed and returns an error of its own.
 *
 * What is left out: overlap of communication with the backward pass (the
 * model's backward is one call, with no per-layer hook to start a bucket's
 * sum early), and fault tolerance (a dead rank ends the job).
 */
#ifndef TG_DIST_H
#define TG_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunegan.h"

/* Seconds a rank waits in dist_agree and dist_barrier for the others before
 * it aborts the job (a rank still loading a huge corpus is not stuck). */
#define DIST_TIMEOUT_SEC 600.0

typedef struct dist_ctx dist_ctx;

/* Starts MPI when the process was launched by an MPI launcher (mpirun,
 * mpiexec, srun: detected from their environment variables) and the build
 * has MPI; otherwise makes a single-process context. logger: where abort
 * messages go (copied). TG_ERR_NOMEM; TG_ERR_UNSUPPORTED when launched by
 * mpirun with more than one rank but built without MPI (err says so). */
tg_status dist_init(int *argc, char ***argv, tg_logger logger, dist_ctx **out, char *err,
                    size_t err_len);
/* Ends MPI (when dist_init started it) and frees; accepts NULL. */
void dist_finalize(dist_ctx *d);

int dist_rank(const dist_ctx *d);       /* 0 for NULL */
int dist_size(const dist_ctx *d);       /* 1 for NULL */
bool dist_is_root(const dist_ctx *d);   /* rank 0 */
/* Ranks on this host (1 for NULL), to share its cores among them. */
int dist_local_size(const dist_ctx *d);
/* Whether MPI is running (more than a single-process context). */
bool dist_active(const dist_ctx *d);

/* In place: buf (n) becomes the element-wise sum over all ranks (mean: the
 * sum divided by the rank count). Every rank gets the same values. The sum
 * is cut into calls of at most bucket_floats floats (0: one call when n fits
 * an int), the same cut on every rank. Adds the time spent to
 * dist_comm_sec. */
void dist_sum_floats(dist_ctx *d, float *buf, size_t n, size_t bucket_floats);
void dist_mean_floats(dist_ctx *d, float *buf, size_t n, size_t bucket_floats);
void dist_sum_doubles(dist_ctx *d, double *buf, size_t n);
/* Element-wise maximum of n unsigned 64-bit integers. */
void dist_max_u64(dist_ctx *d, uint64_t *buf, size_t n);

/* The rows lo..hi-1 of n that this rank takes when a batch is cut among the
 * ranks: rank*n/size .. (rank+1)*n/size - 1 (all n for one process; none
 * for some ranks when n < size). */
void dist_share(const dist_ctx *d, int n, int *lo, int *hi);
/* In place: buf holds n rows of row_len floats of which each rank has filled
 * its share (dist_share); afterwards every rank holds all n rows (one
 * MPI_Allgatherv). Adds the time spent to dist_comm_sec. */
void dist_gather_rows(dist_ctx *d, float *buf, int n, size_t row_len);

/* Rank 0's n bytes (or floats) are copied to every other rank. */
void dist_bcast_bytes(dist_ctx *d, void *buf, size_t n);
void dist_bcast_floats(dist_ctx *d, float *buf, size_t n);

/* Waits until every rank arrives; a rank that waits more than timeout_sec
 * (<= 0: for ever) aborts the job with a message naming `what`. */
void dist_barrier(dist_ctx *d, double timeout_sec, const char *what);

/* Agreement on a status, collective: returns TG_OK when every rank passed
 * TG_OK; otherwise the rank's own status when it failed, else
 * TG_ERR_INTERRUPTED, and *first_failed (may be NULL) gets the lowest rank
 * that failed. Waits at most timeout_sec as dist_barrier does. */
tg_status dist_agree(dist_ctx *d, tg_status s, double timeout_sec, const char *what,
                     int *first_failed);

/* Logs "rank R of N: <message>; stopping every rank" and ends the job with
 * MPI_Abort (exit status 1). Without MPI it only logs and returns. */
void dist_abort(dist_ctx *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Seconds spent in dist_sum_*, dist_mean_* and dist_gather_rows since the last call of
 * dist_comm_take (which resets the count). */
double dist_comm_take(dist_ctx *d);

#endif /* TG_DIST_H */
