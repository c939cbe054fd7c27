/*
 * test_nn_fast.c: the fast paths of the nn kernels against their plain
 * references (issue 9, speed):
 * - nn_expf_fast against glibc's expf over its whole clamped range;
 * - the vectorised GELU pair against nn_gelu_forward_ref / _backward_ref;
 * - nn_matmul as it shares one product out over the threads (cut along the
 *   larger of M and N, serial BLAS per piece) against nn_matmul_plain at the
 *   model's shapes, on 1, 2 and 3 threads, and bit-identical when run twice
 *   at the same count;
 * - one-row products (the matrix-vector path used when decoding one
 *   sequence), all four transpose cases, beta = 0 ignoring NaNs in C;
 * - nn_matmul_local (the attention kernels' per-pair products) against the
 *   plain loops;
 * - nn_matvec (decoding's linear layer for a few rows): each kernel the CPU
 *   runs (plain, AVX2, AVX-512) against nn_matvec_ref at odd and model
 *   shapes, with and without bias, plain, GELU and residual epilogues; the
 *   same bits on 1 and 2 threads;
 * - attention's softmax rows (nn_softmax_row and its backward, 16 partial
 *   sums) against their scalar references;
 * - nn_adamw_update (AVX-512 / AVX2 kernels) against nn_adamw_update_ref, bit
 *   for bit;
 * - the column sums of nn_linear_backward's dbias and LayerNorm's dweight and
 *   dbias (wide blocks of channels) against serial sums in row order, bit
 *   for bit, on 1 and 2 threads;
 * - the writing forms nn_linear_backward_into and nn_gelu_backward_inplace
 *   against zeroing and the adding forms (equal values);
 * - LayerNorm forward and dinp (rows with 8 partial double sums) against the
 *   scalar references, at widths under, at and past the lanes.
 */
#include "nn/nn.h"
#include "test.h"

static void fill(float *x, size_t n, tg_rng *rng)
{
    for (size_t i = 0; i < n; i++) x[i] = 2.0f * tg_rng_float(rng) - 1.0f;
}

static void test_expf(void)
{
    double worst = 0;
    float worst_x = 0;
    for (float x = -87.3f; x <= 88.37f; x += 0.00137f) {
        double got = nn_expf_fast(x), want = expf(x);
        double rel = fabs(got - want) / want;
        if (rel > worst) {
            worst = rel;
            worst_x = x;
        }
    }
    printf("  nn_expf_fast: worst relative error %.2e (at x = %g)\n", worst, worst_x);
    CHECK(worst <= 2e-7);
    CHECK(nn_expf_fast(0.0f) == 1.0f);
    CHECK(isnan(nn_expf_fast(NAN))); /* and no undefined shift (UBSan) */
    /* clamped, never inf or 0 */
    CHECK(isfinite(nn_expf_fast(1000.0f)) && nn_expf_fast(1000.0f) > 2e38f);
    CHECK(nn_expf_fast(-1000.0f) > 0.0f && nn_expf_fast(-1000.0f) < 2e-38f);
}

static void test_gelu(void)
{
    enum { N = 40001 };
    float *x = malloc(sizeof(float) * N), *a = malloc(sizeof(float) * N),
          *b = malloc(sizeof(float) * N), *d = malloc(sizeof(float) * N);
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    for (int i = 0; i < N; i++) {
        x[i] = -20.0f + 40.0f * (float)i / (N - 1); /* past both saturations */
        d[i] = 2.0f * tg_rng_float(&rng) - 1.0f;
    }
    nn_gelu_forward(a, x, N);
    nn_gelu_forward_ref(b, x, N);
    double worst = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(a[i] - b[i]) / fmax(1.0, fabs(b[i])));
    printf("  gelu forward: worst difference from the expf reference %.2e\n", worst);
    CHECK(worst <= 1e-6);
    /* backward adds: start both from the same non-zero values */
    for (int i = 0; i < N; i++) a[i] = b[i] = 0.25f;
    nn_gelu_backward(a, d, x, N);
    nn_gelu_backward_ref(b, d, x, N);
    worst = 0;
    for (int i = 0; i < N; i++) worst = fmax(worst, fabs(a[i] - b[i]) / fmax(1.0, fabs(b[i])));
    printf("  gelu backward: worst difference from the expf reference %.2e\n", worst);
    CHECK(worst <= 1e-6);
    /* in place, as decoding uses it */
    memcpy(a, x, sizeof(float) * N);
    nn_gelu_forward(a, a, N);
    nn_gelu_forward(b, x, N);
    CHECK(memcmp(a, b, sizeof(float) * N) == 0);
    free(x);
    free(a);
    free(b);
    free(d);
}

/* Largest |got - want| over the scale of the terms (sum of |a||b| + |beta c|). */
static double compare_plain(int ta, int tb, int M, int N, int K, float alpha, float beta,
                            void (*fn)(int, int, int, int, int, float, const float *, int,
                                       const float *, int, float, float *, int),
                            tg_rng *rng)
{
    int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb,
           nc = (size_t)M * ldc;
    float *A = malloc(sizeof(float) * na), *B = malloc(sizeof(float) * nb);
    float *C1 = malloc(sizeof(float) * nc), *C2 = malloc(sizeof(float) * nc);
    fill(A, na, rng);
    fill(B, nb, rng);
    fill(C1, nc, rng);
    memcpy(C2, C1, sizeof(float) * nc);
    if (beta == 0.0f)
        for (size_t i = 0; i < nc; i++) C1[i] = NAN; /* must not be read */
    fn(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C1, ldc);
    nn_matmul_plain(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C2, ldc);
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double e = fabs((double)C1[(size_t)i * ldc + j] - C2[(size_t)i * ldc + j]);
            /* each term is at most 1 in magnitude: K terms and beta c */
            worst = fmax(worst, e / (fabs(alpha) * K + fabs(beta) + 1e-30));
        }
    free(A);
    free(B);
    free(C1);
    free(C2);
    return worst;
}

typedef void (*gemm_fn)(int, int, int, int, int, float, const float *, int, const float *, int,
                        float, float *, int);

static void test_shared_out(void)
{
    /* (M,N,K) as the model uses them: tokens x channels, weight gradients,
     * the vocabulary head, one row (decoding), and a few odd edges */
    static const int shapes[][3] = {
        {512, 768, 256}, {256, 256, 512}, {577, 256, 512}, {1, 768, 256}, {1, 577, 256},
        {3, 1024, 256},  {200, 33, 130},  {37, 300, 64},   {1, 5, 1},     {16, 16, 0},
    };
    int saved = nn_get_threads();
    double worst = 0;
    for (int threads = 1; threads <= 3; threads++) {
        nn_set_threads(threads);
        tg_rng rng;
        tg_rng_seed(&rng, 17);
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++)
                    for (int bz = 0; bz < 2; bz++) {
                        float beta = bz ? 0.5f : 0.0f;
                        int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                        double e = compare_plain(ta, tb, M, N, K, 1.5f, beta, nn_matmul, &rng);
                        double e2 = compare_plain(ta, tb, M, N, K, -1.0f, beta, nn_matmul_local,
                                                  &rng);
                        if (!(e <= 1e-6) || !(e2 <= 1e-6))
                            fprintf(stderr, "  M %d N %d K %d ta %d tb %d beta %g threads %d: "
                                    "%.2e %.2e\n", M, N, K, ta, tb, beta, threads, e, e2);
                        CHECK(e <= 1e-6);
                        CHECK(e2 <= 1e-6);
                        worst = fmax(worst, fmax(e, e2));
                    }
    }
    printf("  nn_matmul / nn_matmul_local against the plain loops: worst %.2e of K\n", worst);
    nn_set_threads(saved);
}

/* Same inputs, same thread count: the same bits. */
static void test_repeatable(void)
{
    int M = 1000, N = 300, K = 256;
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * N * K);
    float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
    fill(A, (size_t)M * K, &rng);
    fill(B, (size_t)N * K, &rng);
    int saved = nn_get_threads();
    for (int threads = 1; threads <= 2; threads++) {
        nn_set_threads(threads);
        nn_matmul(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C1, N);
        nn_matmul(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C2, N);
        CHECK(memcmp(C1, C2, sizeof(float) * M * N) == 0);
        /* and the transposed-A form of the weight gradients */
        nn_matmul(1, 0, N, K, M / 4, 1.0f, C1, N, A, K, 0.0f, B, K);
        memcpy(C2, B, sizeof(float) * N * K);
        nn_matmul(1, 0, N, K, M / 4, 1.0f, C1, N, A, K, 0.0f, B, K);
        CHECK(memcmp(C2, B, sizeof(float) * N * K) == 0);
    }
    nn_set_threads(saved);
    free(A);
    free(B);
    free(C1);
    free(C2);
}

/* Worst |got - want| of nn_matvec's kernel isa over the scale of the terms
 * (sum of |w||x| plus |bias| and |residual|) for one shape and epilogue. */
static double matvec_error(nn_matvec_isa isa, int B, int C, int OC, int flags, int with_bias,
                           tg_rng *rng)
{
    float *x = malloc(sizeof(float) * B * C), *w = malloc(sizeof(float) * OC * C);
    float *bias = malloc(sizeof(float) * OC), *got = malloc(sizeof(float) * B * OC);
    float *want = malloc(sizeof(float) * B * OC);
    fill(x, (size_t)B * C, rng);
    fill(w, (size_t)OC * C, rng);
    fill(bias, (size_t)OC, rng);
    fill(got, (size_t)B * OC, rng); /* the residual that NN_MV_ADD adds into */
    memcpy(want, got, sizeof(float) * B * OC);
    nn_matvec_isa_run(isa, got, x, w, with_bias ? bias : NULL, B, C, OC, flags);
    nn_matvec_ref(want, x, w, with_bias ? bias : NULL, B, C, OC, flags);
    double worst = 0;
    for (int b = 0; b < B; b++)
        for (int r = 0; r < OC; r++) {
            double scale = 1.0 + (with_bias ? fabs(bias[r]) : 0.0);
            for (int k = 0; k < C; k++) scale += fabs((double)w[(size_t)r * C + k] * x[(size_t)b * C + k]);
            double d = fabs((double)got[(size_t)b * OC + r] - want[(size_t)b * OC + r]) / scale;
            worst = d > worst ? d : worst;
        }
    free(x);
    free(w);
    free(bias);
    free(got);
    free(want);
    return worst;
}

static void test_matvec(void)
{
    static const int shapes[][3] = {{1, 1, 1},    {1, 7, 9},     {2, 17, 13},  {3, 256, 768},
                                    {1, 1024, 256}, {5, 64, 255}, {16, 256, 577}, {4, 33, 8},
                                    {7, 1024, 37},  {32, 96, 300}};
    static const int flags[] = {0, NN_MV_GELU, NN_MV_ADD};
    tg_rng rng;
    tg_rng_seed(&rng, 11);
    nn_matvec_isa best = nn_matvec_best_isa();
    printf("  nn_matvec: best kernel on this CPU: %s\n", nn_matvec_isa_name(best));
    for (int isa = NN_ISA_PLAIN; isa <= (int)best; isa++) {
        double worst = 0;
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            for (int f = 0; f < 3; f++)
                for (int with_bias = 0; with_bias <= 1; with_bias++) {
                    double e = matvec_error((nn_matvec_isa)isa, shapes[i][0], shapes[i][1],
                                            shapes[i][2], flags[f], with_bias, &rng);
                    worst = e > worst ? e : worst;
                }
        printf("  nn_matvec %s: worst error against the double reference %.2e\n",
               nn_matvec_isa_name((nn_matvec_isa)isa), worst);
        CHECK(worst <= 1e-6);
    }
}

/* A product large enough to be shared out over the threads: the same bits on
 * 1 and 2 threads (each output is summed by one thread in a fixed order). */
static void test_matvec_threads(void)
{
    int B = 16, C = 256, OC = 1030;
    tg_rng rng;
    tg_rng_seed(&rng, 12);
    float *x = malloc(sizeof(float) * B * C), *w = malloc(sizeof(float) * OC * C);
    float *y1 = malloc(sizeof(float) * B * OC), *y2 = malloc(sizeof(float) * B * OC);
    fill(x, (size_t)B * C, &rng);
    fill(w, (size_t)OC * C, &rng);
    int saved = nn_get_threads();
    nn_set_threads(1);
    nn_matvec(y1, x, w, NULL, B, C, OC, NN_MV_GELU);
    nn_set_threads(2);
    nn_matvec(y2, x, w, NULL, B, C, OC, NN_MV_GELU);
    CHECK(memcmp(y1, y2, sizeof(float) * B * OC) == 0);
    nn_set_threads(saved);
    free(x);
    free(w);
    free(y1);
    free(y2);
}

/* Rows of every length class (under, at and past the 16 lanes) and masked
 * tails; inputs spread like attention logits. */
static void test_softmax_rows(void)
{
    enum { TOTAL = 530 };
    static const int lens[] = {1, 2, 15, 16, 17, 31, 100, 512, 530};
    float x[TOTAL], a[TOTAL], b[TOTAL], ga[TOTAL], gb[TOTAL];
    tg_rng rng;
    tg_rng_seed(&rng, 21);
    double worst = 0, worst_b = 0;
    for (size_t t = 0; t < sizeof lens / sizeof lens[0]; t++) {
        int n = lens[t];
        for (int i = 0; i < TOTAL; i++) x[i] = 16.0f * tg_rng_float(&rng) - 8.0f;
        memcpy(a, x, sizeof x);
        memcpy(b, x, sizeof x);
        nn_softmax_row(a, n, TOTAL, 0.125f);
        nn_softmax_row_ref(b, n, TOTAL, 0.125f);
        for (int i = 0; i < TOTAL; i++) {
            ga[i] = gb[i] = 2.0f * tg_rng_float(&rng) - 1.0f;
            double e = fabs((double)a[i] - b[i]) / (fabs(b[i]) + 1e-30);
            worst = e > worst ? e : worst;
            if (i >= n) CHECK(a[i] == 0.0f);
        }
        nn_softmax_row_backward(ga, b, n, TOTAL, 0.125f);
        nn_softmax_row_backward_ref(gb, b, n, TOTAL, 0.125f);
        for (int i = 0; i < TOTAL; i++) {
            double e = fabs((double)ga[i] - gb[i]) / (fabs(gb[i]) + 1e-3 * 0.125 / n);
            worst_b = e > worst_b ? e : worst_b;
            if (i >= n) CHECK(ga[i] == 0.0f);
        }
    }
    printf("  softmax rows: worst relative error %.2e forward, %.2e backward\n", worst, worst_b);
    CHECK(worst <= 2e-6);
    CHECK(worst_b <= 2e-5);
}

static void test_adamw(void)
{
    enum { N = 100003 };
    float *p[2], *m[2], *v[2], *g = malloc(sizeof(float) * N);
    tg_rng rng;
    tg_rng_seed(&rng, 22);
    fill(g, N, &rng);
    for (int k = 0; k < 2; k++) {
        p[k] = malloc(sizeof(float) * N);
        m[k] = calloc(N, sizeof(float));
        v[k] = calloc(N, sizeof(float));
        tg_rng_seed(&rng, 23);
        fill(p[k], N, &rng);
    }
    nn_adamw_hparams hp = {3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f};
    for (int step = 1; step <= 3; step++) {
        nn_adamw_update(p[0], m[0], v[0], g, &hp, step, step != 2, N);
        nn_adamw_update_ref(p[1], m[1], v[1], g, &hp, step, step != 2, N);
    }
    CHECK(memcmp(p[0], p[1], sizeof(float) * N) == 0);
    CHECK(memcmp(m[0], m[1], sizeof(float) * N) == 0);
    CHECK(memcmp(v[0], v[1], sizeof(float) * N) == 0);
    for (int k = 0; k < 2; k++) {
        free(p[k]);
        free(m[k]);
        free(v[k]);
    }
    free(g);
}

/* dbias of a linear layer and LayerNorm's dweight, dbias: each column summed
 * over the rows in order, whatever the block width and thread count. */
static void test_col_sums(void)
{
    enum { BT = 257, OC = 1540, C = 520 };
    tg_rng rng;
    tg_rng_seed(&rng, 24);
    float *d = malloc(sizeof(float) * BT * OC), *x = malloc(sizeof(float) * BT * C);
    float *w = malloc(sizeof(float) * OC), *bias = malloc(sizeof(float) * C);
    float *ln = malloc(sizeof(float) * BT * C), *mean = malloc(sizeof(float) * BT),
          *rstd = malloc(sizeof(float) * BT), *dx = calloc((size_t)BT * C, sizeof(float));
    fill(d, (size_t)BT * OC, &rng);
    fill(x, (size_t)BT * C, &rng);
    fill(w, OC, &rng);
    fill(bias, C, &rng);
    nn_layernorm_forward(ln, mean, rstd, x, w, bias, 1, BT, C);
    float want_b[OC], want_w[C], want_lb[C];
    for (int j = 0; j < OC; j++) {
        float s = 0.0f;
        for (int r = 0; r < BT; r++) s += d[(size_t)r * OC + j];
        want_b[j] = s;
    }
    for (int c = 0; c < C; c++) {
        float sw = 0.0f, sb = 0.0f;
        for (int r = 0; r < BT; r++) {
            float dd = d[(size_t)r * C + c];
            sw += dd * ((x[(size_t)r * C + c] - mean[r]) * rstd[r]);
            sb += dd;
        }
        want_w[c] = sw;
        want_lb[c] = sb;
    }
    int saved = nn_get_threads();
    for (int threads = 1; threads <= 2; threads++) {
        nn_set_threads(threads);
        float db[OC] = {0}, dw1[OC] = {0}, lw[C] = {0}, lb[C] = {0};
        /* C = 1 input channel: the dw product is tiny, dbias is the point */
        nn_linear_backward(NULL, dw1, db, d, x, w, 1, BT, 1, OC);
        nn_layernorm_backward(dx, lw, lb, d, x, w, mean, rstd, 1, BT, C);
        CHECK(memcmp(db, want_b, sizeof db) == 0);
        CHECK(memcmp(lw, want_w, sizeof lw) == 0);
        CHECK(memcmp(lb, want_lb, sizeof lb) == 0);
    }
    nn_set_threads(saved);
    free(d);
    free(x);
    free(w);
    free(bias);
    free(ln);
    free(mean);
    free(rstd);
    free(dx);
}

static int same_values(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(a[i] == b[i])) return 0;
    return 1;
}

static void test_writing_forms(void)
{
    enum { BT = 70, C = 48, OC = 200 };
    tg_rng rng;
    tg_rng_seed(&rng, 25);
    float *x = malloc(sizeof(float) * BT * C), *w = malloc(sizeof(float) * OC * C);
    float *d = malloc(sizeof(float) * BT * OC), *dw = calloc((size_t)OC * C, sizeof(float));
    float *db = calloc(OC, sizeof(float));
    float *add = calloc((size_t)BT * C, sizeof(float)), *into = malloc(sizeof(float) * BT * C);
    fill(x, (size_t)BT * C, &rng);
    fill(w, (size_t)OC * C, &rng);
    fill(d, (size_t)BT * OC, &rng);
    for (size_t i = 0; i < (size_t)BT * C; i++) into[i] = NAN; /* not read */
    nn_linear_backward(add, dw, db, d, x, w, 1, BT, C, OC);
    nn_linear_backward_into(into, dw, db, d, x, w, 1, BT, C, OC);
    CHECK(same_values(add, into, (size_t)BT * C));
    /* GELU past both saturations, in place against the adding form */
    float *g = malloc(sizeof(float) * BT * OC), *gz = calloc((size_t)BT * OC, sizeof(float));
    memcpy(g, d, sizeof(float) * BT * OC);
    float *in = malloc(sizeof(float) * BT * OC);
    for (size_t i = 0; i < (size_t)BT * OC; i++) in[i] = 30.0f * tg_rng_float(&rng) - 15.0f;
    nn_gelu_backward(gz, d, in, (size_t)BT * OC);
    nn_gelu_backward_inplace(g, in, (size_t)BT * OC);
    CHECK(same_values(g, gz, (size_t)BT * OC));
    free(x);
    free(w);
    free(d);
    free(dw);
    free(db);
    free(add);
    free(into);
    free(g);
    free(gz);
    free(in);
}

static double worst_rel_err(const float *a, const float *b, size_t n, double floor)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]) / (fabs(b[i]) + floor);
        worst = e > worst ? e : worst;
    }
    return worst;
}

static void test_layernorm_rows(void)
{
    static const int widths[] = {1, 7, 8, 13, 64, 512, 517};
    enum { BT = 37 };
    tg_rng rng;
    tg_rng_seed(&rng, 26);
    double worst_f = 0, worst_b = 0;
    for (size_t t = 0; t < sizeof widths / sizeof widths[0]; t++) {
        int C = widths[t];
        size_t n = (size_t)BT * C;
        float *x = malloc(sizeof(float) * n), *d = malloc(sizeof(float) * n);
        float *o1 = malloc(sizeof(float) * n), *o2 = malloc(sizeof(float) * n);
        float *g1 = calloc(n, sizeof(float)), *g2 = calloc(n, sizeof(float));
        float *w = malloc(sizeof(float) * C), *b = malloc(sizeof(float) * C);
        float m1[BT], m2[BT], r1[BT], r2[BT], dw[517] = {0}, db[517] = {0};
        fill(x, n, &rng);
        for (size_t i = 0; i < n; i++) x[i] += 3.0f; /* an offset the mean removes */
        fill(d, n, &rng);
        fill(w, C, &rng);
        fill(b, C, &rng);
        nn_layernorm_forward(o1, m1, r1, x, w, b, 1, BT, C);
        nn_layernorm_forward_ref(o2, m2, r2, x, w, b, 1, BT, C);
        double e = fmax(worst_rel_err(o1, o2, n, 1e-3), worst_rel_err(r1, r2, BT, 0));
        worst_f = fmax(worst_f, fmax(e, worst_rel_err(m1, m2, BT, 1e-6)));
        nn_layernorm_backward(g1, dw, db, d, x, w, m2, r2, 1, BT, C);
        nn_layernorm_backward_ref(g2, d, x, w, m2, r2, 1, BT, C);
        worst_b = fmax(worst_b, worst_rel_err(g1, g2, n, 1e-3));
        free(x);
        free(d);
        free(o1);
        free(o2);
        free(g1);
        free(g2);
        free(w);
        free(b);
    }
    printf("  layernorm rows: worst relative error %.2e forward, %.2e backward\n", worst_f, worst_b);
    CHECK(worst_f <= 1e-6);
    CHECK(worst_b <= 1e-5);
}

int main(void)
{
    char info[256];
    printf("backend: %s\n", nn_blas_info(info, sizeof info));
    test_expf();
    test_gelu();
    test_shared_out();
    test_repeatable();
    test_matvec();
    test_matvec_threads();
    test_softmax_rows();
    test_adamw();
    test_col_sums();
    test_writing_forms();
    test_layernorm_rows();
    return test_finish("test_nn_fast");
}
