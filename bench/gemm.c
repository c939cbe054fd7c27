/*
 * bench/gemm.c: times the matrix-product wrapper (cblas_sgemm when built with
 * OpenBLAS) and its plain-loop twin at the shapes a small model's linear layers
 * use (B*T = 4096 rows, C = 256): the fused QKV projection (C -> 3C), the
 * feed-forward up (C -> 4C) and down (4C -> C) projections and the output head
 * (C -> V ~ 400) in the forward form out = inp w^T, and the backward forms
 * dinp = dout w and dw = dout^T inp of two of them. Prints GFLOP/s from the
 * median of several repetitions, and the backend line. Where bf16 products
 * run (nn_bf16_available), two more columns: nn_matmul_bf16 (oneDNN) on
 * inputs already in bf16, and the same plus rounding the fp32 activation
 * operand to bf16 first (what a training step pays: its weights are cast
 * once per step, activations per product).
 *
 *   bench_gemm [threads] [repetitions]      (defaults: all cores, 7)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "nn/nn.h"

#include "bench.h"

typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *, int,
                        float, float *, int);

/* Median seconds of reps calls (after one warm-up call). */
static double time_gemm(gemm_fn fn, int ta, int tb, int M, int N, int K, const float *A,
                        const float *B, float *C, int reps)
{
    double t[64];
    fn(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N);
    for (int r = 0; r < reps; r++) {
        double t0 = tg_now_sec();
        fn(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N);
        t[r] = tg_now_sec() - t0;
    }
    return bench_median(t, reps);
}

/* The same for the bf16 product; cast_from (when not NULL) is rounded into A
 * first, inside the timing: an fp32 activation becoming the bf16 operand. */
static double time_bf16(int ta, int tb, int M, int N, int K, nn_bf16 *A, const nn_bf16 *B,
                        float *C, const float *cast_from, int reps)
{
    double t[64];
    for (int r = -1; r < reps; r++) {
        double t0 = tg_now_sec();
        if (cast_from) nn_bf16_from_f32_n(A, cast_from, (size_t)M * K);
        nn_matmul_bf16(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C, N);
        if (r >= 0) t[r] = tg_now_sec() - t0;
    }
    return bench_median(t, reps);
}

int main(int argc, char **argv)
{
    static const char usage[] = "bench_gemm [threads (0: all cores)] [repetitions]";
    int threads = argc > 1 ? bench_int("bench_gemm", "threads", argv[1], 0, 1024, usage) : 0;
    int reps = argc > 2 ? bench_int("bench_gemm", "repetitions", argv[2], 1, 64, usage) : 7;
    nn_set_threads(threads);
    char info[256];
    printf("backend: %s\n", nn_blas_info(info, sizeof info));
    printf("threads: %d, median of %d repetitions\n", nn_get_threads(), reps);
    const int bf16 = nn_bf16_available();
    printf("bf16: %s\n\n", bf16 ? nn_bf16_info(info, sizeof info) : "not available here");

    const int BT = 4096, C = 256, V = 400;
    /* name, M, N, K, ta, tb: forward out = inp w^T (NT), backward dinp = dout w
     * (NN) and dw = dout^T inp (TN) */
    struct {
        const char *name;
        int M, N, K, ta, tb;
    } shapes[] = {
        {"qkv   fwd  (BT,C)x(3C,C)^T", BT, 3 * C, C, 0, 1},
        {"qkv   dinp (BT,3C)x(3C,C) ", BT, C, 3 * C, 0, 0},
        {"qkv   dw   (BT,3C)^Tx(BT,C)", 3 * C, C, BT, 1, 0},
        {"ff up fwd  (BT,C)x(4C,C)^T", BT, 4 * C, C, 0, 1},
        {"ff dn fwd  (BT,4C)x(C,4C)^T", BT, C, 4 * C, 0, 1},
        {"head  fwd  (BT,C)x(V,C)^T ", BT, V, C, 0, 1},
        {"head  dw   (BT,V)^Tx(BT,C)", V, C, BT, 1, 0},
    };
    size_t max_elems = (size_t)BT * 4 * C;
    float *A = malloc(max_elems * sizeof *A), *B = malloc(max_elems * sizeof *B);
    float *Cm = malloc(max_elems * sizeof *Cm);
    nn_bf16 *Ah = malloc(max_elems * sizeof *Ah), *Bh = malloc(max_elems * sizeof *Bh);
    if (!A || !B || !Cm || !Ah || !Bh) {
        fprintf(stderr, "bench_gemm: out of memory\n");
        return 1;
    }
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    for (size_t i = 0; i < max_elems; i++) {
        A[i] = tg_rng_float(&rng) - 0.5f;
        B[i] = tg_rng_float(&rng) - 0.5f;
    }
    nn_bf16_from_f32_n(Ah, A, max_elems);
    nn_bf16_from_f32_n(Bh, B, max_elems);
    printf("%-30s %10s %12s %12s %12s %12s\n", "product (M,K)x(K,N)", "GFLOP", "wrapper",
           "plain", "bf16", "bf16+cast");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int M = shapes[s].M, N = shapes[s].N, K = shapes[s].K;
        double flop = 2.0 * M * N * K;
        double tw = time_gemm(nn_matmul, shapes[s].ta, shapes[s].tb, M, N, K, A, B, Cm, reps);
        double tp =
            time_gemm(nn_matmul_plain, shapes[s].ta, shapes[s].tb, M, N, K, A, B, Cm, reps);
        printf("%-30s %10.2f %7.1f GF/s %7.1f GF/s", shapes[s].name, flop * 1e-9,
               flop * 1e-9 / tw, flop * 1e-9 / tp);
        if (bf16) {
            double th = time_bf16(shapes[s].ta, shapes[s].tb, M, N, K, Ah, Bh, Cm, NULL, reps);
            double tc = time_bf16(shapes[s].ta, shapes[s].tb, M, N, K, Ah, Bh, Cm, A, reps);
            printf(" %7.1f GF/s %7.1f GF/s", flop * 1e-9 / th, flop * 1e-9 / tc);
        }
        printf("\n");
    }
    free(A);
    free(B);
    free(Cm);
    free(Ah);
    free(Bh);
    return 0;
}
