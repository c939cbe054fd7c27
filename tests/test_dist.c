/*
 * test_dist.c: the data-parallel layer (src/dist/dist.c). Run plainly it
 * checks the single-process stand-ins (rank 0 of 1, sums and broadcasts
 * leave the data alone, agreement returns the rank's own status). Run under
 * mpirun (tests/test_mpi.sh) it checks the collectives on every rank: sums in
 * one call and in buckets, the mean, the maximum, broadcasts from rank 0, the
 * cut of a batch into shares and the gather of the shares' rows (with fewer
 * rows than ranks too), and agreement when one rank fails. `test_dist timeout` makes rank 1 late at a
 * barrier with a 1 s timeout, which must end the job through MPI_Abort with a
 * message naming the barrier (the script checks mpirun's exit and stderr).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "dist/dist.h"

static void print_log(void *user, tg_log_level level, const char *msg)
{
    (void)user, (void)level;
    fprintf(stderr, "test_dist: %s\n", msg);
}

int main(int argc, char **argv)
{
    tg_logger logger = {print_log, NULL};
    dist_ctx *d = NULL;
    char err[256] = "";
    CHECK_OK(dist_init(&argc, &argv, logger, &d, err, sizeof err));
    if (!d) return test_finish("dist");
    int rank = dist_rank(d), size = dist_size(d);
    CHECK(rank >= 0 && rank < size);
    CHECK_INT(dist_is_root(d), rank == 0);
    CHECK(dist_local_size(d) >= 1 && dist_local_size(d) <= size);
    CHECK_INT(dist_rank(NULL), 0);
    CHECK_INT(dist_size(NULL), 1);

    if (argc > 1 && strcmp(argv[1], "timeout") == 0) {
        if (rank == 1) {
            struct timespec ts = {4, 0};
            nanosleep(&ts, NULL);
        }
        dist_barrier(d, 1.0, "the test barrier");
        /* only reached without the abort: rank 0 must not get here with 2 ranks */
        fprintf(stderr, "test_dist: rank %d passed the barrier\n", rank);
        dist_finalize(d);
        return size > 1 ? 3 : 0;
    }

    /* sums: element i of rank r is r + i/4, so the sum is size*i/4 + size*(size-1)/2 */
    enum { N = 103 };
    float a[N], b[N];
    for (int i = 0; i < N; i++) a[i] = b[i] = (float)rank + (float)i / 4;
    dist_sum_floats(d, a, N, 0);
    dist_sum_floats(d, b, N, 7); /* buckets of 7 floats, the last one short */
    for (int i = 0; i < N; i++) {
        float want = (float)size * (float)i / 4 + (float)(size * (size - 1) / 2);
        CHECK_NEAR(a[i], want, 1e-6);
        CHECK(a[i] == b[i]);
    }
    for (int i = 0; i < N; i++) a[i] = (float)(rank + 1);
    dist_mean_floats(d, a, N, 0);
    CHECK_NEAR(a[N - 1], (size + 1) / 2.0, 1e-6);
    double s[2] = {1.0, (double)rank};
    dist_sum_doubles(d, s, 2);
    CHECK_NEAR(s[0], size, 1e-12);
    CHECK_NEAR(s[1], size * (size - 1) / 2.0, 1e-12);
    uint64_t m[2] = {(uint64_t)rank, ~(uint64_t)rank};
    dist_max_u64(d, m, 2);
    CHECK_INT(m[0], size - 1);
    CHECK(m[1] == ~(uint64_t)0);
    double tsum = dist_comm_take(d);
    CHECK(tsum >= 0);
    CHECK(dist_comm_take(d) == 0);

    /* broadcasts from rank 0 */
    char text[16];
    snprintf(text, sizeof text, "rank %d", rank);
    dist_bcast_bytes(d, text, sizeof text);
    CHECK_STR(text, "rank 0");
    float f[3] = {(float)rank, 2.0f * rank, 0.5f};
    dist_bcast_floats(d, f, 3);
    CHECK(f[0] == 0.0f && f[1] == 0.0f && f[2] == 0.5f);

    /* shares: every row taken by exactly one rank; the gather gives all rows */
    for (int n = 0; n <= 9; n += 3) {
        int lo, hi;
        dist_share(d, n, &lo, &hi);
        CHECK(lo >= 0 && lo <= hi && hi <= n);
        CHECK_INT(lo, rank * n / size);
        double taken = hi - lo;
        dist_sum_doubles(d, &taken, 1);
        CHECK_INT((int)taken, n);
        enum { ROW = 3 };
        float rows[9 * ROW];
        for (int i = 0; i < n * ROW; i++) rows[i] = -1.0f;
        for (int i = lo * ROW; i < hi * ROW; i++) rows[i] = (float)i + 0.5f;
        dist_gather_rows(d, rows, n, ROW);
        int right = 0;
        for (int i = 0; i < n * ROW; i++) right += rows[i] == (float)i + 0.5f;
        CHECK_INT(right, n * ROW);
    }

    /* agreement: all well; then rank size-1 fails (the only rank without MPI) */
    int first = 7;
    CHECK_INT(dist_agree(d, TG_OK, 30, "the first agreement", &first), TG_OK);
    CHECK_INT(first, -1);
    tg_status mine = rank == size - 1 ? TG_ERR_IO : TG_OK;
    tg_status got = dist_agree(d, mine, 30, "the second agreement", &first);
    CHECK_INT(first, size - 1);
    CHECK_INT(got, rank == size - 1 ? TG_ERR_IO : TG_ERR_INTERRUPTED);
    dist_barrier(d, 30, "the final barrier");

    char name[32];
    snprintf(name, sizeof name, "dist (rank %d of %d)", rank, size);
    int rc = test_finish(name);
    dist_finalize(d);
    return rc;
}
