/*
 * test_gemm.c: the matrix-product wrapper (BLAS or plain loops, whichever this
 * build has), its plain-loop twin and the serial and batched forms, each
 * against a triple loop summed in double, for all four transpose cases, odd
 * shapes that cross the plain loops' tile edges, padded leading dimensions and
 * several alpha and beta. Also: beta = 0 ignores NaNs already in C, and the
 * plain loops give bit-identical results on 1 and 2 threads.
 */
#include "nn/nn.h"
#include "test.h"

static double worst_err; /* largest error seen, in units of the error bound's scale */

static void fill(float *x, size_t n, tg_rng *rng)
{
    for (size_t i = 0; i < n; i++) x[i] = 2.0f * tg_rng_float(rng) - 1.0f;
}

/* C = alpha op(A) op(B) + beta C in double; also returns in mag the sum of the
 * magnitudes of the terms of each element, the scale of float rounding. */
static void ref_gemm(int ta, int tb, int M, int N, int K, double alpha, const float *A, int lda,
                     const float *B, int ldb, double beta, const float *C, int ldc, double *out,
                     double *mag)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, m = 0;
            for (int k = 0; k < K; k++) {
                double a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                double b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
                m += fabs(a * b);
            }
            double c = beta == 0.0 ? 0.0 : C[(size_t)i * ldc + j];
            out[(size_t)i * N + j] = alpha * s + beta * c;
            mag[(size_t)i * N + j] = fabs(alpha) * m + fabs(beta * c);
        }
}

typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *, int,
                        float, float *, int);

static void check_against_ref(const char *what, gemm_fn fn, int ta, int tb, int M, int N, int K,
                              float alpha, float beta, tg_rng *rng)
{
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb;
    size_t nc = (size_t)M * ldc;
    float *A = malloc((na + 1) * sizeof *A), *B = malloc((nb + 1) * sizeof *B);
    float *C = malloc((nc + 1) * sizeof *C), *C0 = malloc((nc + 1) * sizeof *C0);
    double *ref = malloc(((size_t)M * N + 1) * sizeof *ref);
    double *mag = malloc(((size_t)M * N + 1) * sizeof *mag);
    fill(A, na, rng);
    fill(B, nb, rng);
    fill(C0, nc, rng);
    /* beta = 0 must not read C: NaNs there may not show in the result */
    if (beta == 0.0f)
        for (size_t i = 0; i < nc; i++) C0[i] = NAN;
    memcpy(C, C0, nc * sizeof *C);
    ref_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C0, ldc, ref, mag);
    fn(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    int bad = 0;
    for (int i = 0; i < M && !bad; i++) {
        for (int j = 0; j < N; j++) {
            double got = C[(size_t)i * ldc + j], want = ref[(size_t)i * N + j];
            double scale = mag[(size_t)i * N + j] + 1e-30;
            double e = fabs(got - want) / scale;
            if (e > worst_err) worst_err = e;
            if (!(e <= 1e-5)) {
                TEST_FAIL_("%s ta=%d tb=%d M=%d N=%d K=%d alpha=%g beta=%g: C[%d][%d] = %.9g, "
                           "want %.9g", what, ta, tb, M, N, K, alpha, beta, i, j, got, want);
                bad = 1;
                break;
            }
        }
    }
    /* the padding columns of C beyond N stay untouched */
    for (int i = 0; i < M && !bad; i++)
        for (int j = N; j < ldc; j++)
            if (memcmp(&C[(size_t)i * ldc + j], &C0[(size_t)i * ldc + j], sizeof(float)) != 0) {
                TEST_FAIL_("%s wrote C[%d][%d] beyond N=%d", what, i, j, N);
                bad = 1;
                break;
            }
    test_checks_++;
    free(A);
    free(B);
    free(C);
    free(C0);
    free(ref);
    free(mag);
}

static void test_all_cases(void)
{
    static const int shapes[][3] = {
        {1, 1, 1},    {1, 7, 3},     {5, 1, 9},     {7, 13, 5},     {3, 4, 0},
        {17, 33, 129}, {64, 128, 128}, {65, 129, 257}, {130, 20, 300}, {200, 150, 31},
    };
    static const float alphas[] = {1.0f, 0.5f, -2.0f};
    static const float betas[] = {0.0f, 1.0f, 0.3f};
    tg_rng rng;
    tg_rng_seed(&rng, 7);
    for (size_t s = 0; s < (sizeof shapes / sizeof shapes[0]); s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (size_t a = 0; a < (sizeof alphas / sizeof alphas[0]); a++)
                    for (size_t b = 0; b < (sizeof betas / sizeof betas[0]); b++) {
                        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                        check_against_ref("nn_matmul", nn_matmul, ta, tb, M, N, K, alphas[a],
                                          betas[b], &rng);
                        check_against_ref("nn_matmul_plain", nn_matmul_plain, ta, tb, M, N, K,
                                          alphas[a], betas[b], &rng);
                        check_against_ref("nn_matmul_serial", nn_matmul_serial, ta, tb, M, N,
                                          K, alphas[a], betas[b], &rng);
                    }
}

/* The wrapper against the plain twin directly, at a model-like shape. */
static void test_wrapper_vs_plain(void)
{
    int M = 300, N = 96, K = 80;
    tg_rng rng;
    tg_rng_seed(&rng, 11);
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * N * K);
    float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
    fill(A, (size_t)M * K, &rng);
    fill(B, (size_t)N * K, &rng);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            fill(C1, (size_t)M * N, &rng);
            memcpy(C2, C1, sizeof(float) * M * N);
            /* A read as (M,K) or (K,M), B as (K,N) or (N,K): same storage */
            nn_matmul(ta, tb, M, N, K, 0.75f, A, ta ? M : K, B, tb ? K : N, -0.5f, C1, N);
            nn_matmul_plain(ta, tb, M, N, K, 0.75f, A, ta ? M : K, B, tb ? K : N, -0.5f, C2, N);
            double worst = 0;
            for (int i = 0; i < M * N; i++) {
                double e = fabs((double)C1[i] - C2[i]) / fmax(1.0, fabs(C2[i]));
                if (e > worst) worst = e;
            }
            CHECK(worst < 1e-5);
            printf("  wrapper vs plain ta=%d tb=%d: worst relative difference %.2e\n", ta, tb,
                   worst);
        }
    free(A);
    free(B);
    free(C1);
    free(C2);
}

/* Plain loops: identical bits on 1 and 2 threads, and from the serial form. */
static void test_thread_independence(void)
{
    int M = 190, N = 300, K = 140;
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N);
    float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
    float *C3 = malloc(sizeof(float) * M * N);
    fill(A, (size_t)M * K, &rng);
    fill(B, (size_t)K * N, &rng);
    int saved = nn_get_threads();
    nn_set_threads(1);
    nn_matmul_plain(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C1, N);
    nn_set_threads(2);
    nn_matmul_plain(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C2, N);
    nn_matmul_serial(0, 0, M, N, K, 1.0f, A, K, B, N, 0.0f, C3, N);
    nn_set_threads(saved);
    CHECK(memcmp(C1, C2, sizeof(float) * M * N) == 0);
    CHECK(memcmp(C1, C3, sizeof(float) * M * N) == 0);
    free(A);
    free(B);
    free(C1);
    free(C2);
    free(C3);
}

static void test_batched(void)
{
    enum { CNT = 3, M = 9, N = 21, K = 13 };
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    /* strides larger than one matrix, so the batches do not touch */
    ptrdiff_t sa = M * K + 5, sb = K * N + 7, sc = M * N + 3;
    float *A = malloc(sizeof(float) * sa * CNT), *B = malloc(sizeof(float) * sb * CNT);
    float *C = malloc(sizeof(float) * sc * CNT), *C0 = malloc(sizeof(float) * sc * CNT);
    double ref[M * N], mag[M * N];
    fill(A, (size_t)sa * CNT, &rng);
    fill(B, (size_t)sb * CNT, &rng);
    fill(C0, (size_t)sc * CNT, &rng);
    for (int ta = 0; ta < 2; ta++) {
        memcpy(C, C0, sizeof(float) * sc * CNT);
        nn_matmul_batched(ta, 1, M, N, K, 1.5f, A, ta ? M : K, sa, B, K, sb, 0.5f, C, N, sc, CNT);
        for (int i = 0; i < CNT; i++) {
            ref_gemm(ta, 1, M, N, K, 1.5, A + i * sa, ta ? M : K, B + i * sb, K, 0.5, C0 + i * sc,
                     N, ref, mag);
            double worst = 0;
            for (int e = 0; e < M * N; e++)
                worst = fmax(worst, fabs(C[i * sc + e] - ref[e]) / (mag[e] + 1e-30));
            CHECK(worst <= 1e-5);
            /* the gap between batches is untouched */
            for (ptrdiff_t g = M * N; g < sc; g++) CHECK(C[i * sc + g] == C0[i * sc + g]);
        }
    }
    free(A);
    free(B);
    free(C);
    free(C0);
}

int main(void)
{
    char info[256];
    printf("backend: %s\n", nn_blas_info(info, sizeof info));
    CHECK(strlen(info) > 0);
    test_all_cases();
    printf("  worst error against the double reference: %.2e of the terms' magnitude\n",
           worst_err);
    test_wrapper_vs_plain();
    test_thread_independence();
    test_batched();
    return test_finish("test_gemm");
}
