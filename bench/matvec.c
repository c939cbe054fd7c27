/*
 * bench/matvec.c: the decoder's linear layer for a few rows (one new token of
 * B sequences), out (B,OC) = inp (B,C) w^T + bias, at the small preset's
 * shapes (d_model 256: QKV 256 -> 768, projection 256 -> 256, feed-forward
 * 256 -> 1024 and 1024 -> 256, head 256 -> 577), for B = 1 .. 64: each
 * nn_matvec kernel this CPU runs (plain, AVX2, AVX-512) against
 * nn_linear_forward (cblas_sgemm with OpenBLAS). GFLOP/s of the sum over the
 * five layers, median of the repetitions; a whole layer set is timed at
 * once, as decoding calls them, so the weights (3.1 MB) come from L2/L3.
 *
 *   bench_matvec [threads] [repetitions]      (defaults: 1, 9)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "nn/nn.h"

#include "bench.h"

enum { N_LAYERS = 5, MAX_B = 64, INNER = 20 };

static const int shapes[N_LAYERS][2] = {{256, 768}, {256, 256}, {256, 1024}, {1024, 256}, {256, 577}};

typedef struct {
    float *w[N_LAYERS], *bias[N_LAYERS], *x, *out;
} layer_set;

/* isa >= 0: that nn_matvec kernel; -1: nn_linear_forward. */
static void run_layers(const layer_set *ls, int isa, int B)
{
    for (int l = 0; l < N_LAYERS; l++) {
        int C = shapes[l][0], OC = shapes[l][1];
        if (isa < 0)
            nn_linear_forward(ls->out, ls->x, ls->w[l], ls->bias[l], B, 1, C, OC);
        else
            nn_matvec_isa_run((nn_matvec_isa)isa, ls->out, ls->x, ls->w[l], ls->bias[l], B, C, OC,
                              0);
    }
}

/* Median seconds of INNER passes over the layer set. */
static double time_layers(const layer_set *ls, int isa, int B, int reps)
{
    double t[64];
    run_layers(ls, isa, B);
    for (int r = 0; r < reps; r++) {
        double t0 = tg_now_sec();
        for (int i = 0; i < INNER; i++) run_layers(ls, isa, B);
        t[r] = (tg_now_sec() - t0) / INNER;
    }
    return bench_median(t, reps);
}

static float *random_floats(tg_rng *rng, size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "bench_matvec: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) p[i] = tg_rng_float(rng) - 0.5f;
    return p;
}

int main(int argc, char **argv)
{
    static const char usage[] = "bench_matvec [threads (0: all cores)] [repetitions]";
    int threads = argc > 1 ? bench_int("bench_matvec", "threads", argv[1], 0, 1024, usage) : 1;
    int reps = argc > 2 ? bench_int("bench_matvec", "repetitions", argv[2], 1, 64, usage) : 9;
    nn_set_threads(threads);
    char info[256];
    printf("backend: %s\n", nn_blas_info(info, sizeof info));
    printf("threads: %d, median of %d repetitions of %d passes; GFLOP/s over the 5 layers\n\n",
           nn_get_threads(), reps, INNER);

    tg_rng rng;
    tg_rng_seed(&rng, 1);
    layer_set ls;
    for (int l = 0; l < N_LAYERS; l++) {
        ls.w[l] = random_floats(&rng, (size_t)shapes[l][0] * shapes[l][1]);
        ls.bias[l] = random_floats(&rng, (size_t)shapes[l][1]);
    }
    ls.x = random_floats(&rng, (size_t)MAX_B * 1024);
    ls.out = random_floats(&rng, (size_t)MAX_B * 1024);

    double flop_per_row = 0;
    for (int l = 0; l < N_LAYERS; l++) flop_per_row += 2.0 * shapes[l][0] * shapes[l][1];
    nn_matvec_isa best = nn_matvec_best_isa();
    printf("| B | sgemm |");
    for (int isa = 0; isa <= (int)best; isa++) printf(" %s |", nn_matvec_isa_name((nn_matvec_isa)isa));
    printf(" best / sgemm |\n|---|---|");
    for (int isa = 0; isa <= (int)best; isa++) printf("---|");
    printf("---|\n");
    const int batches[] = {1, 2, 4, 8, 16, 32, 64};
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        int B = batches[i];
        double gf = flop_per_row * B * 1e-9;
        double ts = time_layers(&ls, -1, B, reps), tb = ts;
        printf("| %d | %.1f |", B, gf / ts);
        for (int isa = 0; isa <= (int)best; isa++) {
            double t = time_layers(&ls, isa, B, reps);
            if (isa == (int)best) tb = t;
            printf(" %.1f |", gf / t);
        }
        printf(" %.2f |\n", ts / tb);
    }
    for (int l = 0; l < N_LAYERS; l++) {
        free(ls.w[l]);
        free(ls.bias[l]);
    }
    free(ls.x);
    free(ls.out);
    return 0;
}
