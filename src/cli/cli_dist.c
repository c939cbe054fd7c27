/*
 * cli_dist.c: the start of a training command that may run under mpirun
 * (pretrain, train): MPI up when launched by a launcher, the seed of rank 0
 * on every rank, the cores of a host shared among its ranks, and the opening
 * lines (seed, BLAS kernel, ranks) printed by rank 0 alone; and Ctrl-C,
 * which asks the trainer to save a checkpoint and stop.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "nn/nn.h"
#include "dist/dist.h"

struct dist_ctx *cli_dist_start(const char *cmd, int *argc, char ***argv, uint64_t *seed, int threads)
{
    dist_ctx *dist = NULL;
    char err[1024] = "";
    if (dist_init(argc, argv, cli_logger(), &dist, err, sizeof err) != TG_OK) {
        cli_error("%s: %s", cmd, err[0] ? err : "cannot start MPI");
        return NULL;
    }
    dist_bcast_bytes(dist, seed, sizeof *seed); /* rank 0's clock */
    int local = dist_local_size(dist);
    if (threads == 0 && local > 1) { /* the ranks on one host share its cores */
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > local ? (int)(cores / local) : 1;
    }
    nn_set_threads(threads);
    if (dist_is_root(dist)) {
        char blas[256];
        fprintf(stderr, "tunegan: seed %llu; %s\n", (unsigned long long)*seed, nn_blas_info(blas, sizeof blas));
        if (dist_size(dist) > 1)
            fprintf(stderr, "tunegan: %d MPI ranks (%d on this host), %d threads each\n", dist_size(dist), local,
                    nn_get_threads());
    }
    return dist;
}

static volatile sig_atomic_t stop_flag;

static void on_sigint(int sig)
{
    (void)sig;
    stop_flag = 1;
    signal(SIGINT, SIG_DFL); /* a second Ctrl-C ends the process at once */
}

volatile sig_atomic_t *cli_stop_on_sigint(void)
{
    stop_flag = 0;
    signal(SIGINT, on_sigint);
    return &stop_flag;
}

void cli_stop_release(void)
{
    signal(SIGINT, SIG_DFL);
}
