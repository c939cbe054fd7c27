/*
 * test_bf16.c: mixed precision (src/nn/bf16.c, linear_bf16.c, matvec_bf16.c,
 * src/model/precision.c) against the fp32 reference.
 *
 * Tolerances. A bf16 number has 8 significant bits: rounding x to it is off
 * by at most |x| 2^-8 (half a unit in the last place). A product of rounded
 * inputs a~ b~ is off by at most about 2^-7 |a b|, so a dot product of
 * length K summed in fp32 differs from the fp32 one by at most
 * 2^-7 sum_k |a_k b_k| (+ fp32 rounding), and, with random signs, typically
 * by about 2^-8 sqrt(K) rms(a_k b_k). The kernel checks use
 * the worst-case bound per element; whole-model checks (a loss, logits,
 * gradients) use relative errors a few times the typical one.
 *
 * The conversions and the plain references run on every machine; the rest
 * needs bf16 products (AVX512-BF16 or AMX, and oneDNN): without them the
 * test says "no bf16 on this CPU" and exits 77 (skipped).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "model/model.h"
#include "nn/nn.h"
#include "test.h"

static void fill(float *x, size_t n, tg_rng *rng, float scale)
{
    for (size_t i = 0; i < n; i++) x[i] = scale * (2.0f * tg_rng_float(rng) - 1.0f);
}

static uint32_t bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}

static float from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, 4);
    return x;
}

/* ------------------------------------------------------------------------ */
/* Conversions (every machine) */

static void test_conversions(void)
{
    CHECK_INT(nn_bf16_from_f32(1.0f), 0x3f80);
    CHECK_INT(nn_bf16_from_f32(-2.0f), 0xc000);
    /* ties go to even: 1 + 2^-8 lies halfway between 1 and 1 + 2^-7 */
    CHECK_INT(nn_bf16_from_f32(from_bits(0x3f808000u)), 0x3f80);
    CHECK_INT(nn_bf16_from_f32(from_bits(0x3f818000u)), 0x3f82);
    CHECK_INT(nn_bf16_from_f32(from_bits(0x3f808001u)), 0x3f81); /* above the tie: up */
    CHECK_INT(nn_bf16_from_f32(INFINITY), 0x7f80);
    CHECK_INT(nn_bf16_from_f32(-INFINITY), 0xff80);
    CHECK(isnan(nn_bf16_to_f32(nn_bf16_from_f32(NAN))));
    /* a NaN whose payload is only in the low bits must not become infinity */
    CHECK(isnan(nn_bf16_to_f32(nn_bf16_from_f32(from_bits(0x7f800001u)))));
    /* the largest float rounds to infinity, as round-to-nearest says */
    CHECK_INT(nn_bf16_from_f32(from_bits(0x7f7fffffu)), 0x7f80);
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    double worst = 0;
    for (int i = 0; i < 100000; i++) {
        float x = (2.0f * tg_rng_float(&rng) - 1.0f) * powf(2.0f, (float)(i % 40 - 20));
        float y = nn_bf16_to_f32(nn_bf16_from_f32(x));
        double rel = fabs((double)y - x) / fabs((double)x);
        if (rel > worst) worst = rel;
        /* a bf16 value goes back and forth unchanged */
        CHECK_INT(nn_bf16_from_f32(y), nn_bf16_from_f32(x));
        CHECK_INT(bits(y) & 0xffffu, 0);
    }
    printf("conversion: worst relative error %.3g (bound 2^-8 = %.3g)\n", worst, ldexp(1.0, -8));
    CHECK(worst <= ldexp(1.0, -8));
    float in[37], back[37];
    nn_bf16 h[37];
    fill(in, 37, &rng, 3.0f);
    nn_bf16_from_f32_n(h, in, 37);
    nn_bf16_to_f32_n(back, h, 37);
    for (int i = 0; i < 37; i++) CHECK_INT(h[i], nn_bf16_from_f32(in[i]));
    for (int i = 0; i < 37; i++) CHECK(back[i] == nn_bf16_to_f32(h[i]));

    nn_precision p;
    CHECK_OK(nn_precision_parse("bf16", &p));
    CHECK_INT(p, NN_PRECISION_BF16);
    CHECK_STATUS(nn_precision_parse("fp16", &p), TG_ERR_ARG);
    char why[256];
    CHECK_INT(nn_precision_resolve(NN_PRECISION_FP32, why, sizeof why), NN_PRECISION_FP32);
    CHECK(strncmp(why, "precision fp32: fp32 (", 22) == 0);
    nn_precision autop = nn_precision_resolve(NN_PRECISION_AUTO, why, sizeof why);
    CHECK_INT(autop, nn_bf16_available() ? NN_PRECISION_BF16 : NN_PRECISION_FP32);
    printf("%s\n", why);
}

/* ------------------------------------------------------------------------ */
/* Kernels against fp32 */

/* op(X)[i][k] of a stored matrix */
static float at(const float *X, int ld, int trans, int i, int k)
{
    return trans ? X[(size_t)k * ld + i] : X[(size_t)i * ld + k];
}

static void test_matmul(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 7);
    const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {64, 48, 256}, {130, 70, 1000}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int beta_i = 0; beta_i < 2; beta_i++) {
                    const int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                    const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
                    const float alpha = beta_i ? 0.5f : 1.0f, beta = beta_i ? 1.0f : 0.0f;
                    size_t na = (size_t)(ta ? K : M) * lda, nb = (size_t)(tb ? N : K) * ldb;
                    size_t nc = (size_t)M * ldc;
                    float *A = malloc(na * 4), *B = malloc(nb * 4), *C0 = malloc(nc * 4);
                    float *C = malloc(nc * 4), *Cref = malloc(nc * 4);
                    nn_bf16 *Ah = malloc(na * 2), *Bh = malloc(nb * 2);
                    fill(A, na, &rng, 1.0f);
                    fill(B, nb, &rng, 1.0f);
                    fill(C0, nc, &rng, 1.0f);
                    nn_bf16_from_f32_n(Ah, A, na);
                    nn_bf16_from_f32_n(Bh, B, nb);
                    memcpy(C, C0, nc * 4);
                    memcpy(Cref, C0, nc * 4);
                    nn_matmul_bf16(ta, tb, M, N, K, alpha, Ah, lda, Bh, ldb, beta, C, ldc);
                    nn_matmul_bf16_ref(ta, tb, M, N, K, alpha, Ah, lda, Bh, ldb, beta, Cref, ldc);
                    int bad_ref = 0, bad_f32 = 0;
                    for (int i = 0; i < M; i++)
                        for (int j = 0; j < N; j++) {
                            double exact = 0, mag = 0;
                            for (int k = 0; k < K; k++) {
                                float a = at(A, lda, ta, i, k);
                                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                                exact += (double)a * b;
                                mag += fabs((double)a * b);
                            }
                            size_t o = (size_t)i * ldc + j;
                            double want = alpha * exact + beta * C0[o];
                            double scale = alpha * mag + fabs(beta * C0[o]);
                            /* same rounded inputs: fp32 sums against double sums */
                            if (fabs((double)C[o] - Cref[o]) > 1e-5 * scale + 1e-30) bad_ref++;
                            /* against the unrounded fp32 inputs: 2^-7 sum |a b| */
                            if (fabs((double)C[o] - want) > ldexp(1.0, -7) * alpha * mag + 1e-5 * scale)
                                bad_f32++;
                        }
                    if (bad_ref || bad_f32)
                        TEST_FAIL_("matmul_bf16 M %d N %d K %d ta %d tb %d beta %g: %d off the "
                                   "bf16 reference, %d beyond the fp32 bound", M, N, K, ta, tb,
                                   beta, bad_ref, bad_f32);
                    test_checks_++;
                    /* ldc's padding is not written */
                    for (int i = 0; i < M; i++)
                        for (int j = N; j < ldc; j++) CHECK(C[(size_t)i * ldc + j] == C0[(size_t)i * ldc + j]);
                    free(A), free(B), free(C0), free(C), free(Cref), free(Ah), free(Bh);
                }
}

static void test_matvec(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 11);
    const int Bs[] = {1, 2, 3, 4, 7, 16}, Cs[] = {1, 17, 64, 100, 256}, OCs[] = {1, 9, 40, 300};
    for (size_t bi = 0; bi < 6; bi++)
        for (size_t ci = 0; ci < 5; ci++)
            for (size_t oi = 0; oi < 4; oi++)
                for (int flags = 0; flags <= 2; flags++) {
                    const int B = Bs[bi], C = Cs[ci], OC = OCs[oi];
                    float *x = malloc((size_t)B * C * 4), *w = malloc((size_t)OC * C * 4);
                    float *bias = malloc((size_t)OC * 4), *o0 = malloc((size_t)B * OC * 4);
                    float *o = malloc((size_t)B * OC * 4), *op = malloc((size_t)B * OC * 4);
                    float *of = malloc((size_t)B * OC * 4);
                    nn_bf16 *wh = malloc((size_t)OC * C * 2);
                    fill(x, (size_t)B * C, &rng, 1.0f);
                    fill(w, (size_t)OC * C, &rng, 0.2f);
                    fill(bias, OC, &rng, 0.1f);
                    fill(o0, (size_t)B * OC, &rng, 1.0f);
                    nn_bf16_from_f32_n(wh, w, (size_t)OC * C);
                    const float *bs = (oi & 1) ? bias : NULL;
                    memcpy(o, o0, (size_t)B * OC * 4);
                    memcpy(op, o0, (size_t)B * OC * 4);
                    memcpy(of, o0, (size_t)B * OC * 4);
                    nn_matvec_bf16(o, x, wh, bs, B, C, OC, flags);
                    nn_matvec_bf16_plain(op, x, wh, bs, B, C, OC, flags);
                    nn_matvec_ref(of, x, w, bs, B, C, OC, flags);
                    int bad = 0, bad_f32 = 0;
                    for (int b = 0; b < B; b++)
                        for (int r = 0; r < OC; r++) {
                            double mag = 0;
                            for (int k = 0; k < C; k++)
                                mag += fabs((double)x[(size_t)b * C + k] * w[(size_t)r * C + k]);
                            size_t i = (size_t)b * OC + r;
                            double scale = mag + 1.0; /* bias, residual: O(1) */
                            /* the vector kernel against the plain loop: same rounded inputs */
                            if (fabs((double)o[i] - op[i]) > 1e-5 * scale) bad++;
                            /* against fp32 (GELU's slope is at most 1.13) */
                            if (fabs((double)o[i] - of[i]) > 1.13 * ldexp(1.0, -7) * mag + 1e-5 * scale)
                                bad_f32++;
                        }
                    if (bad || bad_f32)
                        TEST_FAIL_("matvec_bf16 B %d C %d OC %d flags %d: %d off the plain loop, "
                                   "%d beyond the fp32 bound", B, C, OC, flags, bad, bad_f32);
                    test_checks_++;
                    free(x), free(w), free(bias), free(o0), free(o), free(op), free(of), free(wh);
                }
}

static double rel_l2(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return sqrt(d / (s > 0 ? s : 1));
}

static void test_linear(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 13);
    const int B = 3, T = 20, C = 48, OC = 72;
    const size_t NI = (size_t)B * T * C, NO = (size_t)B * T * OC, NW = (size_t)OC * C;
    float *x = malloc(NI * 4), *w = malloc(NW * 4), *bias = malloc(OC * 4), *dout = malloc(NO * 4);
    float *y = malloc(NO * 4), *y16 = malloc(NO * 4);
    float *dx = calloc(NI, 4), *dx16 = calloc(NI, 4), *dw = calloc(NW, 4), *dw16 = calloc(NW, 4);
    float *db = calloc(OC, 4), *db16 = calloc(OC, 4);
    nn_bf16 *wh = malloc(NW * 2), *c1 = malloc(NO * 2), *c2 = malloc(NI * 2);
    fill(x, NI, &rng, 1.0f);
    fill(w, NW, &rng, 0.2f);
    fill(bias, OC, &rng, 0.1f);
    fill(dout, NO, &rng, 1.0f);
    nn_bf16_from_f32_n(wh, w, NW);
    nn_linear_forward(y, x, w, bias, B, T, C, OC);
    nn_linear_forward_bf16(y16, c2, x, wh, bias, B, T, C, OC);
    /* K = C = 48 random terms: typical relative error 2^-8 ~ 4e-3 */
    double ey = rel_l2(y16, y, NO);
    CHECK(ey < 1e-2);
    /* dw accumulates: start both from the same nonzero values */
    for (size_t i = 0; i < NW; i++) dw[i] = dw16[i] = 0.5f;
    nn_linear_backward_into(dx, dw, db, dout, x, w, B, T, C, OC);
    nn_linear_backward_bf16(dx16, dw16, db16, c1, c2, dout, x, wh, B, T, C, OC);
    double edx = rel_l2(dx16, dx, NI), edw = rel_l2(dw16, dw, NW);
    CHECK(edx < 1e-2);
    CHECK(edw < 1e-2);
    for (int j = 0; j < OC; j++) CHECK_NEAR(db16[j], db[j], 1e-5); /* fp32 both ways */
    printf("linear: relative L2 error out %.2e, dinp %.2e, dw %.2e\n", ey, edx, edw);
    free(x), free(w), free(bias), free(dout), free(y), free(y16), free(dx), free(dx16);
    free(dw), free(dw16), free(db), free(db16), free(wh), free(c1), free(c2);
}

/* ------------------------------------------------------------------------ */
/* The model */

static model_config tiny(model_attention att)
{
    model_config c = model_config_default();
    c.vocab_size = 37;
    c.d_model = 32;
    c.n_layers = 2;
    c.n_heads = 4;
    c.context = 24;
    c.dropout = 0.0f;
    c.attention = att;
    return c;
}

static void test_model_step(model_attention att)
{
    model_config c = tiny(att);
    tg_model *m32, *m16;
    CHECK_OK(model_create(&c, 3, &m32));
    CHECK_OK(model_create(&c, 3, &m16));
    tg_rng rng;
    tg_rng_seed(&rng, 17);
    model_init(m32, &rng);
    CHECK_OK(model_copy_params(m16, m32));
    CHECK_INT(model_precision(m32), NN_PRECISION_FP32);
    CHECK_OK(model_set_precision(m16, NN_PRECISION_BF16));
    CHECK_INT(model_precision(m16), NN_PRECISION_BF16);
    CHECK(model_bf16_bytes(m16) > 0);
    const int B = 3, T = 24;
    int tok[72], tgt[72];
    for (int i = 0; i < B * T; i++) tok[i] = (int)tg_rng_below(&rng, 37);
    for (int i = 0; i < B * T; i++) tgt[i] = i % T == T - 1 ? tok[(i + 1) % (B * T)] : tok[i + 1];
    const size_t n = model_param_count(m32);
    for (int step = 1; step <= 3; step++) {
        model_zero_grad(m32);
        model_zero_grad(m16);
        float l32 = model_lm_forward(m32, tok, tgt, B, T, NULL);
        float l16 = model_lm_forward(m16, tok, tgt, B, T, NULL);
        double el = rel_l2(model_logits(m16), model_logits(m32), (size_t)B * T * 37);
        model_lm_backward(m32);
        model_lm_backward(m16);
        double eg = rel_l2(model_grad_data(m16), model_grad_data(m32), n);
        printf("%s step %d: loss fp32 %.6f bf16 %.6f; logits rel err %.2e, gradient rel err %.2e\n",
               model_attention_name(att), step, l32, l16, el, eg);
        CHECK_NEAR(l16, l32, 1e-3);
        CHECK(el < 1e-2);
        CHECK(eg < 1e-2);
        /* the same AdamW step on both: the bf16 copies must follow the master weights */
        nn_adamw_hparams hp = {1e-2f, 0.9f, 0.95f, 1e-8f, 0.1f};
        model_adamw_step(m32, &hp, step);
        model_adamw_step(m16, &hp, step);
        /* compare the next step from the same weights (Adam's normalised
         * steps would otherwise amplify the small differences step by step) */
        CHECK_OK(model_copy_params(m32, m16));
    }
    /* a model given the bf16 model's weights now computes the same bits:
     * nothing stale is left in the copies */
    tg_model *fresh;
    CHECK_OK(model_create(&c, 3, &fresh));
    CHECK_OK(model_set_precision(fresh, NN_PRECISION_BF16));
    CHECK_OK(model_copy_params(fresh, m16));
    float la = model_lm_forward(m16, tok, tgt, B, T, NULL);
    float lb = model_lm_forward(fresh, tok, tgt, B, T, NULL);
    CHECK(la == lb);
    /* back to fp32: the same bits as a model that never was bf16 */
    CHECK_OK(model_set_precision(fresh, NN_PRECISION_FP32));
    CHECK_OK(model_copy_params(m32, m16));
    CHECK(model_lm_forward(fresh, tok, tgt, B, T, NULL) == model_lm_forward(m32, tok, tgt, B, T, NULL));
    model_free(fresh);

    /* decoding in bf16: cached logits against the full bf16 forward and fp32 */
    model_cache *s16, *s32;
    CHECK_OK(model_cache_create(m16, B, 5, &s16));
    CHECK_OK(model_cache_create(m32, B, 5, &s32));
    model_cache_reset(s16, B);
    model_cache_reset(s32, B);
    float lg16[3 * 37], lg32[3 * 37];
    for (int t = 0; t < T; t += 6) { /* chunks of 6 tokens cut into pieces of 5 */
        int chunk[3 * 6];
        for (int b = 0; b < B; b++)
            for (int i = 0; i < 6; i++) chunk[b * 6 + i] = tok[b * T + t + i];
        model_decode(s16, chunk, 6, lg16);
        model_decode(s32, chunk, 6, lg32);
    }
    model_lm_forward(m16, tok, NULL, B, T, NULL);
    float full16[3 * 37];
    for (int b = 0; b < B; b++)
        memcpy(full16 + b * 37, model_logits(m16) + ((size_t)b * T + T - 1) * 37, 37 * 4);
    double e_full = rel_l2(lg16, full16, 3 * 37), e_32 = rel_l2(lg16, lg32, 3 * 37);
    printf("%s decode: bf16 cached vs bf16 full %.2e, vs fp32 cached %.2e\n",
           model_attention_name(att), e_full, e_32);
    /* the bf16 cache rounds the keys, values and queries of attention,
     * which the full forward keeps in fp32 (6e-4 and 1e-3 measured, against
     * 1e-5 with the fp32 cache before; tests/test_cache_bf16.c) */
    CHECK(e_full < 5e-3);
    CHECK(e_32 < 1e-2);
    model_cache_free(s16);
    model_cache_free(s32);
    model_free(m32);
    model_free(m16);
}

static void test_disc(void)
{
    model_config c = tiny(MODEL_ATTN_RELATIVE);
    c.kind = MODEL_DISCRIMINATOR;
    tg_model *d32, *d16;
    CHECK_OK(model_create(&c, 4, &d32));
    CHECK_OK(model_create(&c, 4, &d16));
    tg_rng rng;
    tg_rng_seed(&rng, 19);
    model_init(d32, &rng);
    CHECK_OK(model_copy_params(d16, d32));
    CHECK_OK(model_set_precision(d16, NN_PRECISION_BF16));
    int tok[4 * 20], len[4] = {20, 7, 13, 1};
    float labels[4] = {1, 0, 1, 0};
    for (int i = 0; i < 80; i++) tok[i] = (int)tg_rng_below(&rng, 37);
    model_zero_grad(d32);
    model_zero_grad(d16);
    float l32 = model_disc_forward(d32, tok, len, labels, 4, 20, NULL);
    float l16 = model_disc_forward(d16, tok, len, labels, 4, 20, NULL);
    CHECK_NEAR(l16, l32, 1e-3);
    model_disc_backward(d32);
    model_disc_backward(d16);
    double eg = rel_l2(model_grad_data(d16), model_grad_data(d32), model_param_count(d32));
    printf("discriminator: loss fp32 %.6f bf16 %.6f, gradient rel err %.2e\n", l32, l16, eg);
    CHECK(eg < 1e-2);
    model_free(d32);
    model_free(d16);
}

int main(void)
{
    test_conversions();
    if (!nn_bf16_available()) {
        char feat[128];
        printf("test_bf16: no bf16 on this CPU (%s): the bf16 kernels are not tested\n",
               nn_bf16_info(feat, sizeof feat));
        if (test_failures_) return test_finish("test_bf16");
        return TEST_SKIP_CODE;
    }
    for (int threads = 1; threads <= 2; threads++) {
        nn_set_threads(threads);
        test_matmul();
        test_matvec();
    }
    test_linear();
    test_model_step(MODEL_ATTN_RELATIVE);
    test_model_step(MODEL_ATTN_ABSOLUTE);
    test_disc();
    /* the process-wide setting: new models take it */
    CHECK_OK(nn_set_precision(NN_PRECISION_BF16));
    model_config c = tiny(MODEL_ATTN_RELATIVE);
    tg_model *m;
    CHECK_OK(model_create(&c, 1, &m));
    CHECK_INT(model_precision(m), NN_PRECISION_BF16);
    model_free(m);
    CHECK_OK(nn_set_precision(NN_PRECISION_FP32));
    return test_finish("test_bf16");
}
