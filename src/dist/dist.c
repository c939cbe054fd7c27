/*
 * dist.c: data-parallel collectives over MPI (see dist.h), or their
 * single-process stand-ins when the build has no MPI or the process was not
 * started by an MPI launcher. Calls are made from the main thread only
 * (MPI_THREAD_FUNNELED); OpenMP threads never call MPI.
 */
#define _POSIX_C_SOURCE 200809L
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef TG_HAVE_MPI
#include <mpi.h>
#endif

#include "core/core.h"
#include "dist.h"

struct dist_ctx {
    int rank, size, local_size;
    bool mpi;              /* MPI_Init was called here */
    tg_logger logger;
    double comm_sec;       /* time in the sums since dist_comm_take */
};

/* Environment variables that MPI launchers set in every rank they start. */
static bool launched_by_mpi(void)
{
    const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPI_LOCALNRANKS"};
    for (size_t i = 0; i < TG_ARRAY_LEN(vars); i++)
        if (getenv(vars[i])) return true;
    return false;
}

#ifndef TG_HAVE_MPI
static int launcher_size(void)
{
    const char *s = getenv("OMPI_COMM_WORLD_SIZE");
    if (!s) s = getenv("PMI_SIZE");
    return s ? atoi(s) : 1;
}
#endif

tg_status dist_init(int *argc, char ***argv, tg_logger logger, dist_ctx **out, char *err,
                    size_t err_len)
{
    *out = NULL;
    dist_ctx *d = calloc(1, sizeof *d);
    if (!d) return TG_ERR_NOMEM;
    d->rank = 0;
    d->size = 1;
    d->local_size = 1;
    d->logger = logger;
    if (!launched_by_mpi()) {
        *out = d;
        return TG_OK;
    }
#ifdef TG_HAVE_MPI
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        free(d);
        return tg_fail(err, err_len, TG_ERR_IO, "MPI_Init failed");
    }
    d->mpi = true;
    /* failed calls return here and abort with a message naming the operation */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    MPI_Comm local;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &local) ==
        MPI_SUCCESS) {
        MPI_Comm_size(local, &d->local_size);
        MPI_Comm_free(&local);
    }
#else
    (void)argc;
    (void)argv;
    if (launcher_size() > 1) {
        free(d);
        return tg_fail(err, err_len, TG_ERR_UNSUPPORTED,
                       "started by mpirun with %d ranks, but this tunegan was built without MPI "
                       "(install libopenmpi-dev and configure with -DTG_WITH_MPI=ON)",
                       launcher_size());
    }
#endif
    *out = d;
    return TG_OK;
}

void dist_finalize(dist_ctx *d)
{
    if (!d) return;
#ifdef TG_HAVE_MPI
    if (d->mpi) MPI_Finalize();
#endif
    free(d);
}

int dist_rank(const dist_ctx *d) { return d ? d->rank : 0; }
int dist_size(const dist_ctx *d) { return d ? d->size : 1; }
bool dist_is_root(const dist_ctx *d) { return dist_rank(d) == 0; }
int dist_local_size(const dist_ctx *d) { return d ? d->local_size : 1; }
bool dist_active(const dist_ctx *d) { return d && d->mpi; }

void dist_abort(dist_ctx *d, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!d) return;
    tg_log(&d->logger, TG_LOG_ERROR, "rank %d of %d: %s; stopping every rank", d->rank, d->size, msg);
#ifdef TG_HAVE_MPI
    if (d->mpi) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
}

double dist_comm_take(dist_ctx *d)
{
    if (!d) return 0;
    double t = d->comm_sec;
    d->comm_sec = 0;
    return t;
}

/* ------------------------------------------------------------------------ */
/* Collectives. Each is a no-op for a single process. */

#ifdef TG_HAVE_MPI
/* A failed MPI call: nothing can be returned to the peers, so the job ends. */
static void check(dist_ctx *d, int rc, const char *what)
{
    if (rc == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", rc);
    dist_abort(d, "%s failed: %s", what, text);
}

/* Completes a non-blocking request, polling; aborts after timeout_sec. */
static void wait_for(dist_ctx *d, MPI_Request *req, double timeout_sec, const char *what)
{
    double t0 = tg_now_sec();
    for (;;) {
        int done = 0;
        check(d, MPI_Test(req, &done, MPI_STATUS_IGNORE), what);
        if (done) return;
        if (timeout_sec > 0 && tg_now_sec() - t0 > timeout_sec)
            dist_abort(d, "the other ranks did not reach %s within %.0f s", what, timeout_sec);
        struct timespec ts = {0, 200000}; /* 0.2 ms: a waiting rank leaves its core to others */
        nanosleep(&ts, NULL);
    }
}

/* Non-blocking, completed by wait_for: a rank that arrives first sleeps
 * between polls instead of spinning on a core its peers may need. */
static void sum_typed(dist_ctx *d, void *buf, size_t n, size_t bucket, MPI_Datatype type, size_t elem,
                      MPI_Op op, const char *what)
{
    size_t step = bucket > 0 && bucket < (size_t)INT_MAX ? bucket : (size_t)INT_MAX;
    for (size_t i = 0; i < n; i += step) {
        size_t len = n - i < step ? n - i : step;
        MPI_Request req;
        check(d, MPI_Iallreduce(MPI_IN_PLACE, (char *)buf + i * elem, (int)len, type, op, MPI_COMM_WORLD, &req),
              what);
        wait_for(d, &req, 0, what);
    }
}
#endif

void dist_sum_floats(dist_ctx *d, float *buf, size_t n, size_t bucket_floats)
{
#ifdef TG_HAVE_MPI
    if (!dist_active(d) || d->size == 1) return;
    double t0 = tg_now_sec();
    sum_typed(d, buf, n, bucket_floats, MPI_FLOAT, sizeof(float), MPI_SUM, "MPI_Allreduce (floats)");
    d->comm_sec += tg_now_sec() - t0;
#else
    (void)d, (void)buf, (void)n, (void)bucket_floats;
#endif
}

void dist_mean_floats(dist_ctx *d, float *buf, size_t n, size_t bucket_floats)
{
    if (dist_size(d) == 1) return;
    dist_sum_floats(d, buf, n, bucket_floats);
    float inv = 1.0f / (float)dist_size(d);
    for (size_t i = 0; i < n; i++) buf[i] *= inv;
}

void dist_sum_doubles(dist_ctx *d, double *buf, size_t n)
{
#ifdef TG_HAVE_MPI
    if (!dist_active(d) || d->size == 1) return;
    double t0 = tg_now_sec();
    sum_typed(d, buf, n, 0, MPI_DOUBLE, sizeof(double), MPI_SUM, "MPI_Allreduce (doubles)");
    d->comm_sec += tg_now_sec() - t0;
#else
    (void)d, (void)buf, (void)n;
#endif
}

void dist_max_u64(dist_ctx *d, uint64_t *buf, size_t n)
{
#ifdef TG_HAVE_MPI
    if (!dist_active(d) || d->size == 1) return;
    sum_typed(d, buf, n, 0, MPI_UINT64_T, sizeof(uint64_t), MPI_MAX, "MPI_Allreduce (max)");
#else
    (void)d, (void)buf, (void)n;
#endif
}

void dist_share(const dist_ctx *d, int n, int *lo, int *hi)
{
    const int64_t r = dist_rank(d), size = dist_size(d);
    *lo = (int)(r * n / size);
    *hi = (int)((r + 1) * n / size);
}

#ifdef TG_HAVE_MPI
/* Allgatherv of rows with a datatype of one row, so counts stay small;
 * non-blocking and completed by wait_for, as the sums. */
static void gather_rows(dist_ctx *d, float *buf, int n, size_t row_len)
{
    int *counts = malloc(sizeof(int) * (size_t)d->size * 2);
    if (!counts) dist_abort(d, "out of memory for the gather of %d rows", n);
    int *displs = counts + d->size;
    for (int r = 0; r < d->size; r++) {
        displs[r] = (int)((int64_t)r * n / d->size);
        counts[r] = (int)((int64_t)(r + 1) * n / d->size) - displs[r];
    }
    MPI_Datatype row;
    check(d, MPI_Type_contiguous((int)row_len, MPI_FLOAT, &row), "MPI_Type_contiguous");
    check(d, MPI_Type_commit(&row), "MPI_Type_commit");
    MPI_Request req;
    check(d, MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, counts, displs, row, MPI_COMM_WORLD, &req),
          "MPI_Iallgatherv");
    wait_for(d, &req, 0, "MPI_Iallgatherv");
    MPI_Type_free(&row);
    free(counts);
}
#endif

void dist_gather_rows(dist_ctx *d, float *buf, int n, size_t row_len)
{
#ifdef TG_HAVE_MPI
    if (!dist_active(d) || d->size == 1 || n <= 0) return;
    if (row_len == 0 || row_len > (size_t)INT_MAX)
        dist_abort(d, "dist_gather_rows: a row of %zu floats", row_len);
    double t0 = tg_now_sec();
    gather_rows(d, buf, n, row_len);
    d->comm_sec += tg_now_sec() - t0;
#else
    (void)d, (void)buf, (void)n, (void)row_len;
#endif
}

void dist_bcast_bytes(dist_ctx *d, void *buf, size_t n)
{
#ifdef TG_HAVE_MPI
    if (!dist_active(d) || d->size == 1) return;
    for (size_t i = 0; i < n; i += (size_t)INT_MAX) {
        size_t len = n - i < (size_t)INT_MAX ? n - i : (size_t)INT_MAX;
        check(d, MPI_Bcast((char *)buf + i, (int)len, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
    }
#else
    (void)d, (void)buf, (void)n;
#endif
}

void dist_bcast_floats(dist_ctx *d, float *buf, size_t n) { dist_bcast_bytes(d, buf, n * sizeof(float)); }

void dist_barrier(dist_ctx *d, double timeout_sec, const char *what)
{
#ifdef TG_HAVE_MPI
    if (!dist_active(d) || d->size == 1) return;
    MPI_Request req;
    check(d, MPI_Ibarrier(MPI_COMM_WORLD, &req), "MPI_Ibarrier");
    wait_for(d, &req, timeout_sec, what);
#else
    (void)d, (void)timeout_sec, (void)what;
#endif
}

tg_status dist_agree(dist_ctx *d, tg_status s, double timeout_sec, const char *what, int *first_failed)
{
    if (first_failed) *first_failed = s == TG_OK ? -1 : dist_rank(d);
#ifdef TG_HAVE_MPI
    if (!dist_active(d) || d->size == 1) return s;
    /* the lowest failing rank as the minimum of (rank if failed, else size) */
    int mine = s == TG_OK ? d->size : d->rank, lowest = d->size;
    MPI_Request req;
    check(d, MPI_Iallreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD, &req), "MPI_Iallreduce");
    wait_for(d, &req, timeout_sec, what);
    if (first_failed) *first_failed = lowest < d->size ? lowest : -1;
    if (s != TG_OK) return s;
    return lowest < d->size ? TG_ERR_INTERRUPTED : TG_OK;
#else
    (void)timeout_sec, (void)what;
    return s;
#endif
}
