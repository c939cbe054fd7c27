/*
 * matmul.c: the one matrix-product wrapper (BLAS-shaped, row-major), its
 * plain-loop twin, a batched form, the thread-count setting and the line that
 * says which backend is in use.
 *
 * The plain loops follow the usual packed-panel scheme (as in BLIS and
 * OpenBLAS's own kernels, much simplified): C is cut into MC x NC tiles, the
 * threads share the tiles out, and for each KC-deep slice a tile packs its
 * pieces of op(A) and op(B) into small contiguous buffers on the stack, then
 * computes MR x NR register blocks from them. Packing handles the transposes,
 * so all four cases run the same inner loop. It leaves out everything that
 * makes BLAS fast beyond that (hand-written SIMD, prefetching, cache-size
 * tuning); it aims at "reasonable" and at being easy to trust.
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#ifdef TG_HAVE_OPENMP
#include <omp.h>
#endif
#ifdef TG_HAVE_OPENBLAS
#include <cblas.h>
#endif

#include "nn.h"

/* ------------------------------------------------------------------------ */
/* Threads and backend description */

void nn_set_threads(int n)
{
#ifdef TG_HAVE_OPENMP
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
#endif
#ifdef TG_HAVE_OPENBLAS
    /* One pool only: OpenBLAS runs on the calling thread and nn_matmul shares a
     * product out over our OpenMP threads itself. Two pools (OpenBLAS's
     * pthreads spinning after each call while our OpenMP threads start the next
     * loop) fought over the cores: 2 threads ran slower than 1 on this 2-core
     * machine (bench/RESULTS.md). Without OpenMP, OpenBLAS keeps the n threads. */
#ifdef TG_HAVE_OPENMP
    openblas_set_num_threads(1);
#else
    if (n <= 0) n = openblas_get_num_procs();
    openblas_set_num_threads(n);
#endif
#endif
    (void)n;
}

int nn_get_threads(void)
{
#ifdef TG_HAVE_OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

const char *nn_blas_info(char *buf, size_t size)
{
    if (!buf || size == 0) return buf;
#ifdef TG_HAVE_OPENBLAS
    const char *config = openblas_get_config();
    const char *core = openblas_get_corename();
    /* openblas_get_config() ends with a space in some versions */
    int len = (int)strlen(config);
    while (len > 0 && config[len - 1] == ' ') len--;
#ifdef TG_HAVE_OPENMP
    int n = omp_get_max_threads();
    snprintf(buf, size, "%.*s (core %s, serial calls shared out over %d OpenMP thread%s)", len,
             config, core, n, n == 1 ? "" : "s");
#else
    int n = openblas_get_num_threads();
    snprintf(buf, size, "%.*s (core %s, %d thread%s)", len, config, core, n, n == 1 ? "" : "s");
#endif
#elif defined(TG_HAVE_OPENMP)
    int n = omp_get_max_threads();
    snprintf(buf, size, "plain loops (%d OpenMP thread%s)", n, n == 1 ? "" : "s");
#else
    snprintf(buf, size, "plain loops (no OpenMP, 1 thread)");
#endif
    return buf;
}

/* ------------------------------------------------------------------------ */
/* OpenBLAS's kernel choice. Debian's OpenBLAS 0.3.21 does not recognise some
 * newer CPUs and falls back to its SSE3 kernel ("Prescott"), several times
 * slower than the AVX2 (Haswell) or AVX-512 (SkylakeX) kernels the CPU can run.
 * The choice is made when the library loads, from OPENBLAS_CORETYPE, so the
 * command line re-executes itself with that variable set (src/cli/main.c);
 * these functions only decide. */

static bool weak_core(const char *core)
{
    static const char *const weak[] = {"prescott", "core2", "penryn", "dunnington", "nehalem",
                                       "katmai", "coppermine", "northwood", "banias", "atom",
                                       "nano", "unknown", "generic"};
    for (size_t i = 0; i < sizeof weak / sizeof weak[0]; i++)
        if (strcasecmp(core, weak[i]) == 0) return true;
    return false;
}

const char *nn_blas_coretype_for(const char *current, bool avx512, bool avx2)
{
    if (!current || !weak_core(current)) return NULL;
    if (avx512) return "SkylakeX";
    if (avx2) return "Haswell";
    return NULL;
}

const char *nn_blas_better_coretype(void)
{
#if defined(TG_HAVE_OPENBLAS) && defined(__x86_64__)
    __builtin_cpu_init();
    bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return nn_blas_coretype_for(openblas_get_corename(), avx512, avx2);
#else
    return NULL;
#endif
}

/* ------------------------------------------------------------------------ */
/* Plain loops */

enum {
    MR = 4,   /* rows of a register block */
    NR = 16,  /* columns of a register block: one AVX-512 or two AVX vectors */
    MC = 64,  /* rows of a tile (multiple of MR) */
    NC = 128, /* columns of a tile (multiple of NR) */
    KC = 128  /* depth of a packed slice; packs take (MC + NC) * KC floats = 96 KiB */
};

/* Multiply-add that uses the FMA instruction where the build targets one: with
 * -std=c11 GCC does not contract a*b+c by itself, and fmaf() without hardware
 * support is a slow library call. */
#ifdef __FMA__
#define NN_FMA(a, b, c) fmaf((a), (b), (c))
#else
#define NN_FMA(a, b, c) ((a) * (b) + (c))
#endif

/* op(A)[i][k] for i in [i0, i0+mc), k in [k0, k0+kc), packed as MR-row panels:
 * ap[(p*kc + k)*MR + r] = op(A)[i0 + p*MR + r][k0 + k], zero beyond mc. */
static void pack_a(float *restrict ap, const float *A, int lda, int trans, int i0, int mc,
                   int k0, int kc)
{
    int panels = (mc + MR - 1) / MR;
    if (trans) {
        /* op(A)[i][k] = A[k][i]: read each stored row k once, contiguously */
        for (int k = 0; k < kc; k++) {
            const float *src = A + (size_t)(k0 + k) * lda + i0;
            for (int ii = 0; ii < panels * MR; ii++)
                ap[((size_t)(ii / MR) * kc + k) * MR + ii % MR] = ii < mc ? src[ii] : 0.0f;
        }
        return;
    }
    for (int p = 0; p < panels; p++) {
        float *dst = ap + (size_t)p * kc * MR;
        for (int r = 0; r < MR; r++) {
            if (p * MR + r >= mc) {
                for (int k = 0; k < kc; k++) dst[k * MR + r] = 0.0f;
                continue;
            }
            const float *src = A + (size_t)(i0 + p * MR + r) * lda + k0;
            for (int k = 0; k < kc; k++) dst[k * MR + r] = src[k];
        }
    }
}

/* op(B)[k][j] for k in [k0, k0+kc), j in [j0, j0+nc), packed as NR-column
 * panels: bp[(q*kc + k)*NR + c] = op(B)[k0 + k][j0 + q*NR + c], zero beyond nc. */
static void pack_b(float *restrict bp, const float *B, int ldb, int trans, int k0, int kc,
                   int j0, int nc)
{
    for (int q = 0; q * NR < nc; q++) {
        float *dst = bp + (size_t)q * kc * NR;
        int ncols = nc - q * NR < NR ? nc - q * NR : NR;
        if (!trans) {
            for (int k = 0; k < kc; k++) {
                const float *src = B + (size_t)(k0 + k) * ldb + j0 + q * NR;
                int c = 0;
                for (; c < ncols; c++) dst[k * NR + c] = src[c];
                for (; c < NR; c++) dst[k * NR + c] = 0.0f;
            }
        } else {
            for (int c = 0; c < NR; c++) {
                if (c >= ncols) {
                    for (int k = 0; k < kc; k++) dst[k * NR + c] = 0.0f;
                    continue;
                }
                const float *src = B + (size_t)(j0 + q * NR + c) * ldb + k0;
                for (int k = 0; k < kc; k++) dst[k * NR + c] = src[k];
            }
        }
    }
}

/* acc (MR,NR) = sum over k < kc of ap[k] (MR) outer bp[k] (NR). The fixed trip
 * counts let the compiler keep acc in vector registers. */
static void micro_kernel(float acc[MR][NR], const float *restrict ap, const float *restrict bp,
                         int kc)
{
    float c0[NR] = {0}, c1[NR] = {0}, c2[NR] = {0}, c3[NR] = {0};
    for (int k = 0; k < kc; k++) {
        const float *restrict b = bp + k * NR;
        float a0 = ap[k * MR], a1 = ap[k * MR + 1], a2 = ap[k * MR + 2], a3 = ap[k * MR + 3];
        for (int j = 0; j < NR; j++) {
            c0[j] = NN_FMA(a0, b[j], c0[j]);
            c1[j] = NN_FMA(a1, b[j], c1[j]);
            c2[j] = NN_FMA(a2, b[j], c2[j]);
            c3[j] = NN_FMA(a3, b[j], c3[j]);
        }
    }
    memcpy(acc[0], c0, sizeof c0);
    memcpy(acc[1], c1, sizeof c1);
    memcpy(acc[2], c2, sizeof c2);
    memcpy(acc[3], c3, sizeof c3);
}

/* One MC x NC tile of C: scale by beta, then add alpha * op(A) op(B) slice by
 * slice of KC. Each element's sum runs over k in increasing order whatever
 * thread computes the tile. */
static void gemm_tile(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc, int i0, int j0)
{
    _Alignas(64) float ap[MC * KC];
    _Alignas(64) float bp[KC * NC];
    int mc = M - i0 < MC ? M - i0 : MC;
    int nc = N - j0 < NC ? N - j0 : NC;

    for (int i = 0; i < mc; i++) {
        float *c = C + (size_t)(i0 + i) * ldc + j0;
        if (beta == 0.0f)
            for (int j = 0; j < nc; j++) c[j] = 0.0f;
        else if (beta != 1.0f)
            for (int j = 0; j < nc; j++) c[j] *= beta;
    }
    if (alpha == 0.0f) return;

    for (int k0 = 0; k0 < K; k0 += KC) {
        int kc = K - k0 < KC ? K - k0 : KC;
        pack_a(ap, A, lda, ta, i0, mc, k0, kc);
        pack_b(bp, B, ldb, tb, k0, kc, j0, nc);
        for (int p = 0; p * MR < mc; p++) {
            for (int q = 0; q * NR < nc; q++) {
                float acc[MR][NR];
                micro_kernel(acc, ap + (size_t)p * kc * MR, bp + (size_t)q * kc * NR, kc);
                int rows = mc - p * MR < MR ? mc - p * MR : MR;
                int cols = nc - q * NR < NR ? nc - q * NR : NR;
                for (int r = 0; r < rows; r++) {
                    float *c = C + (size_t)(i0 + p * MR + r) * ldc + j0 + q * NR;
                    for (int j = 0; j < cols; j++) c[j] += alpha * acc[r][j];
                }
            }
        }
    }
}

static void check_args(int ta, int tb, int M, int N, int K, int lda, int ldb, int ldc)
{
    TG_ASSERT(ta == 0 || ta == 1);
    TG_ASSERT(tb == 0 || tb == 1);
    TG_ASSERT(M >= 0 && N >= 0 && K >= 0);
    TG_ASSERT_OP(lda, >=, (ta ? M : K) > 1 ? (ta ? M : K) : 1);
    TG_ASSERT_OP(ldb, >=, (tb ? K : N) > 1 ? (tb ? K : N) : 1);
    TG_ASSERT_OP(ldc, >=, N > 1 ? N : 1);
}

static void gemm_plain(int parallel, int ta, int tb, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C,
                       int ldc)
{
    check_args(ta, tb, M, N, K, lda, ldb, ldc);
    if (M == 0 || N == 0) return;
    int mt = (M + MC - 1) / MC, nt = (N + NC - 1) / NC;
    int tiles = mt * nt;
    /* small products are not worth waking the threads for */
    parallel = parallel && tiles > 1 && (double)M * N * K > 32768.0;
    (void)parallel;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if (parallel)
#endif
    for (int t = 0; t < tiles; t++)
        gemm_tile(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, (t / nt) * MC,
                  (t % nt) * NC);
}

void nn_matmul_plain(int trans_a, int trans_b, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc)
{
    gemm_plain(1, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void nn_matmul_serial(int trans_a, int trans_b, int M, int N, int K, float alpha,
                      const float *A, int lda, const float *B, int ldb, float beta, float *C,
                      int ldc)
{
    gemm_plain(0, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* ------------------------------------------------------------------------ */
/* The wrapper */

#ifdef TG_HAVE_OPENBLAS
/* One cblas_sgemm on the calling thread (OpenBLAS is set to one thread). */
static void blas_call(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M == 1 && K > 0) {
        /* one row (decoding a single sequence): a matrix-vector product
         * streams op(B) once; sgemm's packing would copy it first.
         * C (1,N)^T = op(B)^T a^T, a = row of A (a column when transposed). */
        if (beta == 0.0f) memset(C, 0, (size_t)N * sizeof(float)); /* NaNs must not survive */
        cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, tb ? N : K, tb ? K : N, alpha,
                    B, ldb, A, ta ? lda : 1, beta, C, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M,
                N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
#endif

#ifdef TG_HAVE_OPENBLAS
/* Rows (or columns) per share when a product is cut into `parts` pieces:
 * a multiple of 16 so that every piece but the last starts on a whole
 * register block. */
static int share_size(int n, int parts)
{
    int s = (n + parts - 1) / parts;
    return (s + 15) / 16 * 16;
}
#endif

void nn_matmul(int trans_a, int trans_b, int M, int N, int K, float alpha, const float *A,
               int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
#ifdef TG_HAVE_OPENBLAS
    check_args(trans_a, trans_b, M, N, K, lda, ldb, ldc);
    if (M == 0 || N == 0) return;
    int parts = 1;
#ifdef TG_HAVE_OPENMP
    /* Share the product out over our threads: the larger of M and N is cut
     * into one contiguous piece per thread, each a serial BLAS call. Inside
     * one of our parallel loops (attention) the call stays on its thread.
     * The pieces depend on the thread count only, so results are repeatable
     * at a fixed count. Products under 2M multiply-adds (a few tens of
     * microseconds; one row when decoding) stay whole. */
    if (!omp_in_parallel() && (double)M * N * K >= 2097152.0) parts = omp_get_max_threads();
#endif
    int by_rows = M >= N;
    int span = by_rows ? M : N;
    int share = share_size(span, parts);
    parts = (span + share - 1) / share;
    if (parts <= 1) {
        blas_call(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) num_threads(parts)
#endif
    for (int p = 0; p < parts; p++) {
        int lo = p * share, n = span - lo < share ? span - lo : share;
        if (by_rows)
            blas_call(trans_a, trans_b, n, N, K, alpha, trans_a ? A + lo : A + (size_t)lo * lda,
                      lda, B, ldb, beta, C + (size_t)lo * ldc, ldc);
        else
            blas_call(trans_a, trans_b, M, n, K, alpha, A, lda,
                      trans_b ? B + (size_t)lo * ldb : B + lo, ldb, beta, C + lo, ldc);
    }
#else
    nn_matmul_plain(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

/* The same product on the calling thread only: BLAS when built with it, the
 * serial plain loops otherwise. For use inside our own parallel loops. */
void nn_matmul_local(int trans_a, int trans_b, int M, int N, int K, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc)
{
#ifdef TG_HAVE_OPENBLAS
    check_args(trans_a, trans_b, M, N, K, lda, ldb, ldc);
    if (M == 0 || N == 0) return;
    blas_call(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#else
    nn_matmul_serial(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

void nn_matmul_batched(int trans_a, int trans_b, int M, int N, int K, float alpha,
                       const float *A, int lda, ptrdiff_t stride_a, const float *B, int ldb,
                       ptrdiff_t stride_b, float beta, float *C, int ldc, ptrdiff_t stride_c,
                       int count)
{
    TG_ASSERT(count >= 0);
    /* one product: the product itself is shared out over the threads; many:
     * one serial call per product (BLAS, or the serial plain loops), the
     * products shared out */
    if (count == 1) {
        nn_matmul(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int i = 0; i < count; i++)
        nn_matmul_local(trans_a, trans_b, M, N, K, alpha, A + i * stride_a, lda,
                        B + i * stride_b, ldb, beta, C + i * stride_c, ldc);
}
