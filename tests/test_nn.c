/*
 * test_nn.c: forward results of the nn kernels on inputs whose answers can be
 * worked out by hand, plus the properties the model relies on: the arena's
 * alignment and bounds; LayerNorm of a known vector; linear, embedding and
 * GELU values; dropout's mask and scaling; softmax cross-entropy of uniform
 * logits = log V, ignored targets, in-place backward; causal attention where
 * the output at t depends only on inputs at <= t; key padding; the skewed
 * relative attention equal to the naive one (forward and backward); results
 * that do not depend on the thread count; AdamW steps by hand; the schedule's
 * values; clipping to a given norm.
 */
#include "core/core.h"
#include "nn/nn.h"
#include "test.h"

static void fill(float *x, size_t n, tg_rng *rng, float scale)
{
    for (size_t i = 0; i < n; i++) x[i] = scale * (2.0f * tg_rng_float(rng) - 1.0f);
}

static float *alloc_floats(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

/* ------------------------------------------------------------------------ */

static void test_arena(void)
{
    tg_arena *a = NULL;
    CHECK_OK(tg_arena_create(1000, &a));
    CHECK_INT(tg_arena_size(a), 1024); /* rounded up to the alignment */
    unsigned char *p1 = tg_arena_alloc(a, 10);
    unsigned char *p2 = tg_arena_alloc(a, 100);
    CHECK(p1 && p2);
    CHECK_INT((uintptr_t)p1 % TG_ARENA_ALIGN, 0);
    CHECK_INT((uintptr_t)p2 % TG_ARENA_ALIGN, 0);
    CHECK_INT(p2 - p1, 64);
    CHECK_INT(tg_arena_used(a), 64 + 128);
    CHECK_INT(TG_ARENA_BYTES(10) + TG_ARENA_BYTES(100), 192);
    CHECK(p1[0] == 0 && p2[99] == 0); /* zeroed at creation */
    size_t mark = tg_arena_mark(a);
    CHECK(tg_arena_alloc(a, 2000) == NULL); /* does not fit: NULL, nothing taken */
    CHECK_INT(tg_arena_used(a), 192);
    float *f = tg_arena_alloc_floats(a, 200);
    CHECK(f != NULL);
    CHECK_INT(tg_arena_used(a), 192 + 832);
    CHECK(tg_arena_alloc(a, 1) == NULL); /* full */
    tg_arena_rewind(a, mark);
    CHECK_INT(tg_arena_used(a), 192);
    CHECK_INT(tg_arena_high_water(a), 1024);
    tg_arena_reset(a);
    CHECK_INT(tg_arena_used(a), 0);
    CHECK(tg_arena_alloc(a, 1024) == (void *)p1); /* the whole block again */
    tg_arena_free(a);
    tg_arena_free(NULL);
}

/* ------------------------------------------------------------------------ */

static void test_layernorm(void)
{
    /* x = (1,2,3,4): mean 2.5, variance 1.25 */
    const float x[4] = {1, 2, 3, 4}, w[4] = {1, 2, 1, 0.5f}, b[4] = {0, 1, -1, 0};
    float out[4], mean, rstd;
    nn_layernorm_forward(out, &mean, &rstd, x, w, b, 1, 1, 4);
    double s = 1.0 / sqrt(1.25 + 1e-5);
    CHECK_NEAR(mean, 2.5, 1e-7);
    CHECK_NEAR(rstd, s, 1e-6);
    CHECK_NEAR(out[0], -1.5 * s * 1 + 0, 1e-6);
    CHECK_NEAR(out[1], -0.5 * s * 2 + 1, 1e-6);
    CHECK_NEAR(out[2], 0.5 * s * 1 - 1, 1e-6);
    CHECK_NEAR(out[3], 1.5 * s * 0.5 + 0, 1e-6);
    /* a constant row normalises to zero: variance 0 is protected by eps */
    const float c[4] = {7, 7, 7, 7}, ones[4] = {1, 1, 1, 1}, zeros[4] = {0};
    nn_layernorm_forward(out, &mean, &rstd, c, ones, zeros, 1, 1, 4);
    for (int i = 0; i < 4; i++) CHECK(out[i] == 0.0f);
    CHECK_NEAR(rstd, 1.0 / sqrt(1e-5), 1e-6);
}

static void test_linear_embedding_gelu(void)
{
    /* out = inp w^T + bias with inp (1,1,2), w (3,2) */
    const float inp[2] = {1, 2}, w[6] = {1, 0, 0, 1, 1, 1}, bias[3] = {0.5f, 0, -1};
    float out[3];
    nn_linear_forward(out, inp, w, bias, 1, 1, 2, 3);
    CHECK_NEAR(out[0], 1.5, 1e-7);
    CHECK_NEAR(out[1], 2.0, 1e-7);
    CHECK_NEAR(out[2], 2.0, 1e-7);
    nn_linear_forward(out, inp, w, NULL, 1, 1, 2, 3);
    CHECK_NEAR(out[0], 1.0, 1e-7);
    CHECK_NEAR(out[2], 3.0, 1e-7);

    /* embedding: rows of wte by token, plus wpe by position */
    const float wte[3 * 2] = {0, 1, 10, 11, 20, 21}, wpe[2 * 2] = {0.5f, 0.25f, -1, -2};
    const int tokens[2 * 2] = {2, 0, 1, 1};
    float emb[2 * 2 * 2];
    nn_embedding_forward(emb, tokens, wte, wpe, 2, 2, 2, 3);
    const float want[8] = {20.5f, 21.25f, -1, -1, 10.5f, 11.25f, 9, 9};
    for (int i = 0; i < 8; i++) CHECK_NEAR(emb[i], want[i], 1e-7);
    nn_embedding_forward(emb, tokens, wte, NULL, 2, 2, 2, 3);
    CHECK_NEAR(emb[0], 20, 0);
    CHECK_NEAR(emb[7], 11, 0);

    /* GELU, tanh approximation: torch.nn.functional.gelu(x, approximate="tanh")
     * in double */
    const float gx[5] = {0, 1, -1, 3, -3};
    const double gwant[5] = {0.0, 0.8411919906082768, -0.15880800939172324, 2.996362607918227,
                             -0.0036373920817729943};
    float gy[5];
    nn_gelu_forward(gy, gx, 5);
    for (int i = 0; i < 5; i++) CHECK_NEAR(gy[i], gwant[i], 1e-6);
}

static void test_dropout(void)
{
    enum { N = 100000 };
    float *x = alloc_floats(N), *y = alloc_floats(N), *y2 = alloc_floats(N);
    uint8_t *mask = malloc(N), *mask2 = malloc(N);
    tg_rng rng;
    tg_rng_seed(&rng, 1);
    fill(x, N, &rng, 1.0f);
    /* p = 0: the identity, all kept, no draws */
    tg_rng_seed(&rng, 9);
    tg_rng before = rng;
    nn_dropout_forward(y, mask, x, 0.0f, &rng, N);
    CHECK(memcmp(x, y, sizeof(float) * N) == 0);
    CHECK(memcmp(&before, &rng, sizeof rng) == 0);
    int all = 1;
    for (int i = 0; i < N; i++) all &= mask[i] == 1;
    CHECK(all);
    /* p = 0.25: about 3/4 kept, each scaled by 4/3; same seed, same mask */
    nn_dropout_forward(y, mask, x, 0.25f, &rng, N);
    tg_rng_seed(&rng, 9);
    nn_dropout_forward(y2, mask2, x, 0.25f, &rng, N);
    CHECK(memcmp(mask, mask2, N) == 0);
    CHECK(memcmp(y, y2, sizeof(float) * N) == 0);
    int kept = 0, scaled_ok = 1;
    for (int i = 0; i < N; i++) {
        kept += mask[i];
        scaled_ok &= mask[i] ? y[i] == x[i] * (1.0f / 0.75f) : y[i] == 0.0f;
    }
    CHECK(scaled_ok);
    CHECK_NEAR(kept / (double)N, 0.75, 0.01);
    /* in place gives the same */
    tg_rng_seed(&rng, 9);
    memcpy(y2, x, sizeof(float) * N);
    nn_dropout_forward(y2, mask2, y2, 0.25f, &rng, N);
    CHECK(memcmp(y, y2, sizeof(float) * N) == 0);
    free(x);
    free(y);
    free(y2);
    free(mask);
    free(mask2);
}

/* ------------------------------------------------------------------------ */

static void test_crossentropy(void)
{
    enum { B = 2, T = 3, V = 7 };
    float logits[B * T * V], losses[B * T], dl[B * T * V];
    /* uniform logits (any constant): every loss is log V */
    for (int i = 0; i < B * T * V; i++) logits[i] = 3.7f;
    const int targets[B * T] = {0, 6, 3, -1, 2, -1};
    int n_valid = 0;
    float mean = nn_crossentropy_forward(losses, logits, targets, -1, &n_valid, B, T, V);
    CHECK_INT(n_valid, 4);
    CHECK_NEAR(mean, log(7.0), 1e-6);
    CHECK_NEAR(losses[1], log(7.0), 1e-6);
    CHECK(losses[3] == 0.0f && losses[5] == 0.0f);
    /* gradient of the mean: (1/V - onehot) / 4, zero rows where ignored */
    nn_crossentropy_backward(dl, logits, targets, NULL, -1, B, T, V);
    CHECK_NEAR(dl[0 * V + 0], (1.0 / 7 - 1) / 4, 1e-7);
    CHECK_NEAR(dl[0 * V + 1], (1.0 / 7) / 4, 1e-7);
    CHECK(dl[3 * V + 2] == 0.0f && dl[5 * V + 6] == 0.0f);

    /* logits log(1..4) and target 3: loss = -log(4/10) */
    const float l4[4] = {0.0f, logf(2), logf(3), logf(4)};
    const int t4 = 3;
    float loss4, d4[4], in_place[4];
    float m4 = nn_crossentropy_forward(&loss4, l4, &t4, -100, NULL, 1, 1, 4);
    CHECK_NEAR(m4, log(2.5), 1e-6);
    /* weighted backward: w = 2 */
    const float w = 2.0f;
    nn_crossentropy_backward(d4, l4, &t4, &w, -100, 1, 1, 4);
    CHECK_NEAR(d4[0], 2 * 0.1, 1e-6);
    CHECK_NEAR(d4[3], 2 * (0.4 - 1), 1e-6);
    /* in place over the logits gives the same */
    memcpy(in_place, l4, sizeof l4);
    nn_crossentropy_backward(in_place, in_place, &t4, &w, -100, 1, 1, 4);
    CHECK(memcmp(in_place, d4, sizeof d4) == 0);
    /* all ignored: mean 0, gradient 0 */
    const int none[2] = {-1, -1};
    int nv = 5;
    CHECK(nn_crossentropy_forward(losses, logits, none, -1, &nv, 1, 2, V) == 0.0f);
    CHECK_INT(nv, 0);
    /* large logits do not overflow */
    float big[3] = {1000.0f, 0.0f, -1000.0f};
    int t0 = 0;
    float lb = nn_crossentropy_forward(losses, big, &t0, -1, NULL, 1, 1, 3);
    CHECK(isfinite(lb) && lb >= 0.0f && lb < 1e-6f);
}

/* ------------------------------------------------------------------------ */
/* Attention */

typedef struct {
    int B, T, C, H, R, causal;
    int rel; /* 1: with a relative table */
    const int *lengths;
} att_case;

static void att_fast(const att_case *c, float *out, float *att, float *scratch,
                     const float *qkv, const float *rel)
{
    nn_attention_forward(out, att, scratch, qkv, c->rel ? rel : NULL, c->lengths, c->B, c->T,
                         c->C, c->H, c->R, c->causal);
}

/* Causal: out at t depends only on inputs at <= t, bit for bit; padding:
 * keys and values at >= length change nothing. */
static void test_attention_masks(int with_rel)
{
    enum { B = 2, T = 9, C = 8, H = 2, R = 12 };
    tg_rng rng;
    tg_rng_seed(&rng, 21);
    size_t nq = (size_t)B * T * 3 * C;
    float *qkv = alloc_floats(nq), *qkv2 = alloc_floats(nq);
    float *rel = alloc_floats((size_t)H * (2 * R - 1) * (C / H));
    float *out = alloc_floats(B * T * C), *out2 = alloc_floats(B * T * C);
    float *att = alloc_floats((size_t)B * H * T * T);
    float *scratch = alloc_floats(nn_attention_scratch_floats(B, T, H, 1, 0));
    fill(qkv, nq, &rng, 1.0f);
    fill(rel, (size_t)H * (2 * R - 1) * (C / H), &rng, 1.0f);

    att_case causal = {B, T, C, H, R, 1, with_rel, NULL};
    att_fast(&causal, out, att, scratch, qkv, rel);
    for (int tp = 1; tp < T; tp++) {
        /* change every q, k, v channel at time tp of sequence 1 */
        memcpy(qkv2, qkv, nq * sizeof(float));
        for (int c = 0; c < 3 * C; c++) qkv2[((size_t)1 * T + tp) * 3 * C + c] += 0.5f;
        att_fast(&causal, out2, att, scratch, qkv2, rel);
        int same_before = 1, changed_at = 0, seq0_same = 1;
        for (int t = 0; t < T; t++)
            for (int c = 0; c < C; c++) {
                size_t i1 = ((size_t)1 * T + t) * C + c, i0 = (size_t)t * C + c;
                if (t < tp) same_before &= out[i1] == out2[i1];
                if (t == tp) changed_at |= out[i1] != out2[i1];
                seq0_same &= out[i0] == out2[i0];
            }
        CHECK(same_before);
        CHECK(changed_at);
        CHECK(seq0_same);
    }
    /* causal attention probabilities: zero above the diagonal, rows sum to 1 */
    att_fast(&causal, out, att, scratch, qkv, rel);
    int upper_zero = 1;
    double worst_sum = 0;
    for (int bh = 0; bh < B * H; bh++)
        for (int i = 0; i < T; i++) {
            double s = 0;
            for (int j = 0; j < T; j++) {
                float a = att[((size_t)bh * T + i) * T + j];
                if (j > i) upper_zero &= a == 0.0f;
                s += a;
            }
            worst_sum = fmax(worst_sum, fabs(s - 1));
        }
    CHECK(upper_zero);
    CHECK(worst_sum < 1e-6);

    /* bidirectional: an earlier output does change with a later input */
    att_case bidir = {B, T, C, H, 2 * R - 1, 0, with_rel, NULL};
    att_fast(&bidir, out, att, scratch, qkv, rel);
    memcpy(qkv2, qkv, nq * sizeof(float));
    for (int c = C; c < 3 * C; c++) qkv2[((size_t)T - 1) * 3 * C + c] += 0.5f;
    att_fast(&bidir, out2, att, scratch, qkv2, rel);
    CHECK(out[0] != out2[0]);

    /* padding: keys and values at t >= length change nothing at all */
    const int lengths[B] = {4, T};
    att_case padded = {B, T, C, H, 2 * R - 1, 0, with_rel, lengths};
    att_fast(&padded, out, att, scratch, qkv, rel);
    memcpy(qkv2, qkv, nq * sizeof(float));
    for (int t = 4; t < T; t++)
        for (int c = C; c < 3 * C; c++) qkv2[(size_t)t * 3 * C + c] = 100.0f;
    float *att2 = alloc_floats((size_t)B * H * T * T);
    att_fast(&padded, out2, att2, scratch, qkv2, rel);
    CHECK(memcmp(out, out2, sizeof(float) * B * T * C) == 0);
    int pad_zero = 1;
    for (int h = 0; h < H; h++)
        for (int i = 0; i < T; i++)
            for (int j = 4; j < T; j++) pad_zero &= att2[((size_t)h * T + i) * T + j] == 0.0f;
    CHECK(pad_zero);

    /* q = 0: uniform attention over the keys seen, so out_i = mean of v_j */
    memcpy(qkv2, qkv, nq * sizeof(float));
    for (int bt = 0; bt < B * T; bt++)
        for (int c = 0; c < C; c++) qkv2[(size_t)bt * 3 * C + c] = 0.0f;
    att_fast(&causal, out, att, scratch, qkv2, rel);
    double worst = 0;
    for (int t = 0; t < T; t++)
        for (int c = 0; c < C; c++) {
            double m = 0;
            for (int j = 0; j <= t; j++) m += qkv2[(size_t)j * 3 * C + 2 * C + c];
            worst = fmax(worst, fabs(out[(size_t)t * C + c] - m / (t + 1)));
        }
    CHECK(worst < 1e-6);

    free(qkv);
    free(qkv2);
    free(rel);
    free(out);
    free(out2);
    free(att);
    free(att2);
    free(scratch);
}

/* worst |a - b| / max(1, |b|) */
static double worst_rel(const float *a, const float *b, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++) w = fmax(w, fabs((double)a[i] - b[i]) / fmax(1.0, fabs(b[i])));
    return w;
}

/* The fast kernels (blocked, skewed) against the naive pair-by-pair
 * reference, forward and backward. T = 37 crosses the causal row block (32);
 * the table is longer than T so the rows around distance 0 are found. */
static void test_attention_vs_naive(int causal, int with_rel, int padded, double *worst_out)
{
    enum { B = 2, T = 37, C = 32, H = 2, D = C / H, TMAX = 40 };
    const int R = causal ? TMAX : 2 * TMAX - 1;
    const int lengths[B] = {T, 23};
    tg_rng rng;
    tg_rng_seed(&rng, 100 + causal * 2 + with_rel);
    size_t nq = (size_t)B * T * 3 * C, nr = (size_t)H * R * D, no = (size_t)B * T * C;
    size_t na = (size_t)B * H * T * T;
    float *qkv = alloc_floats(nq), *rel = alloc_floats(nr), *dout = alloc_floats(no);
    float *o1 = alloc_floats(no), *o2 = alloc_floats(no);
    float *a1 = alloc_floats(na), *a2 = alloc_floats(na);
    float *dq1 = alloc_floats(nq), *dq2 = alloc_floats(nq);
    float *dr1 = alloc_floats(nr), *dr2 = alloc_floats(nr);
    float *scratch = alloc_floats(nn_attention_scratch_floats(B, T, H, with_rel, causal));
    float *naive_scratch = alloc_floats((size_t)T * T * D);
    fill(qkv, nq, &rng, 1.0f);
    fill(rel, nr, &rng, 1.0f);
    fill(dout, no, &rng, 1.0f);
    const float *r = with_rel ? rel : NULL;
    const int *len = padded ? lengths : NULL;

    nn_attention_forward(o1, a1, scratch, qkv, r, len, B, T, C, H, R, causal);
    nn_attention_naive_forward(o2, a2, naive_scratch, qkv, r, len, B, T, C, H, R, causal);
    nn_attention_backward(dq1, with_rel ? dr1 : NULL, scratch, dout, qkv, r, a1, len, B, T, C, H,
                          R, causal);
    nn_attention_naive_backward(dq2, with_rel ? dr2 : NULL, naive_scratch, dout, qkv, r, a2, len,
                                B, T, C, H, R, causal);
    double w_out = worst_rel(o1, o2, no), w_att = worst_rel(a1, a2, na);
    double w_dq = worst_rel(dq1, dq2, nq), w_dr = with_rel ? worst_rel(dr1, dr2, nr) : 0;
    CHECK(w_out < 1e-5);
    CHECK(w_att < 1e-5);
    CHECK(w_dq < 1e-5);
    CHECK(w_dr < 1e-5);
    printf("  %s %s%s vs naive: out %.1e, att %.1e, dqkv %.1e, drel %.1e\n",
           causal ? "causal" : "bidirectional", with_rel ? "relative" : "plain",
           padded ? " padded" : "", w_out, w_att, w_dq, w_dr);
    double w = fmax(fmax(w_out, w_att), fmax(w_dq, w_dr));
    if (w > *worst_out) *worst_out = w;
    /* rows of the table beyond the distances in use get no gradient */
    if (with_rel) {
        int z = causal ? R - 1 : (R - 1) / 2, untouched = 1;
        for (int h = 0; h < H; h++)
            for (int m = 0; m < R; m++)
                if (m < z - (T - 1) || m > z + (causal ? 0 : T - 1))
                    for (int d = 0; d < D; d++) untouched &= dr1[((size_t)h * R + m) * D + d] == 0;
        CHECK(untouched);
    }
    free(qkv);
    free(rel);
    free(dout);
    free(o1);
    free(o2);
    free(a1);
    free(a2);
    free(dq1);
    free(dq2);
    free(dr1);
    free(dr2);
    free(scratch);
    free(naive_scratch);
}

/* Same bits on 1 and 2 threads: attention forward and backward (relative,
 * bidirectional), LayerNorm forward and backward, the norm. Linear layers are
 * left out: through OpenBLAS they repeat only at a fixed thread count (the
 * plain loops' independence is checked in test_gemm). */
static void test_thread_independence(void)
{
    enum { B = 3, T = 40, C = 32, H = 4, R = 2 * T - 1 };
    tg_rng rng;
    tg_rng_seed(&rng, 77);
    size_t nq = (size_t)B * T * 3 * C, nr = (size_t)H * R * (C / H), no = (size_t)B * T * C;
    float *qkv = alloc_floats(nq), *rel = alloc_floats(nr), *dout = alloc_floats(no);
    float *res[2][4];
    size_t na = (size_t)B * H * T * T;
    float *scratch = alloc_floats(nn_attention_scratch_floats(B, T, H, 1, 0));
    fill(qkv, nq, &rng, 1.0f);
    fill(rel, nr, &rng, 1.0f);
    fill(dout, no, &rng, 1.0f);
    float *w = alloc_floats(C), *bb = alloc_floats(C), *mean = alloc_floats(B * T);
    float *rstd = alloc_floats(B * T), *dw = alloc_floats(C), *db = alloc_floats(C);
    fill(w, C, &rng, 1.0f);
    int saved = nn_get_threads();
    double norms[2];
    for (int run = 0; run < 2; run++) {
        nn_set_threads(run + 1);
        res[run][0] = alloc_floats(no);
        res[run][1] = alloc_floats(na);
        res[run][2] = alloc_floats(nq);
        res[run][3] = alloc_floats(nr);
        nn_attention_forward(res[run][0], res[run][1], scratch, qkv, rel, NULL, B, T, C, H, R, 0);
        nn_attention_backward(res[run][2], res[run][3], scratch, dout, qkv, rel, res[run][1], NULL,
                              B, T, C, H, R, 0);
        /* layernorm backward adds into the same qkv-sized buffer's first part */
        nn_layernorm_forward(res[run][0], mean, rstd, dout, w, bb, B, T, C);
        memset(dw, 0, sizeof(float) * C);
        memset(db, 0, sizeof(float) * C);
        nn_layernorm_backward(res[run][2], dw, db, dout, qkv, w, mean, rstd, B, T, C);
        /* dw summed over rows by channel blocks: check it too */
        memcpy(res[run][3] + nr - C, dw, sizeof(float) * C);
        norms[run] = nn_sum_squares(res[run][2], nq);
    }
    nn_set_threads(saved);
    CHECK(memcmp(res[0][0], res[1][0], no * sizeof(float)) == 0);
    CHECK(memcmp(res[0][1], res[1][1], na * sizeof(float)) == 0);
    CHECK(memcmp(res[0][2], res[1][2], nq * sizeof(float)) == 0);
    CHECK(memcmp(res[0][3], res[1][3], nr * sizeof(float)) == 0);
    CHECK(norms[0] == norms[1]);
    for (int run = 0; run < 2; run++)
        for (int i = 0; i < 4; i++) free(res[run][i]);
    free(qkv);
    free(rel);
    free(dout);
    free(scratch);
    free(w);
    free(bb);
    free(mean);
    free(rstd);
    free(dw);
    free(db);
}

/* ------------------------------------------------------------------------ */
/* Optimiser pieces */

static void test_adamw(void)
{
    nn_adamw_hparams hp = {.lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                           .weight_decay = 0.01f};
    float p[2] = {1.0f, -2.0f}, m[2] = {0}, v[2] = {0};
    const float g1[2] = {0.5f, -0.1f};
    /* Step 1 by hand: m = 0.1 g, v = 0.001 g^2; with the bias corrections
     * m/(1-0.9) = g and sqrt(v/(1-0.999)) = |g|, so the step is lr*sign(g)
     * (eps aside). Decay first: p * (1 - 0.1*0.01) = 0.999 p.
     *   p0 = 0.999 - 0.1 = 0.899;  p1 = -1.998 + 0.1 = -1.898 */
    nn_adamw_update(p, m, v, g1, &hp, 1, 1, 2);
    CHECK_NEAR(m[0], 0.05, 1e-7);
    CHECK_NEAR(v[1], 1e-5, 1e-9);
    CHECK_NEAR(p[0], 0.899, 1e-6);
    CHECK_NEAR(p[1], -1.898, 1e-6);
    /* Step 2 with g = (0.2, 0.3), written out:
     *   m0 = 0.9*0.05 + 0.1*0.2 = 0.065      v0 = 0.999*2.5e-4 + 0.001*0.04 = 2.8975e-4
     *   m1 = 0.9*-0.01 + 0.1*0.3 = 0.021     v1 = 0.999*1e-5 + 0.001*0.09 = 9.999e-5
     *   bc1 = 1-0.81 = 0.19, bc2 = 1-0.998001 = 0.001999
     *   p0 = 0.899*0.999 - 0.1/0.19 * 0.065 / (sqrt(2.8975e-4/0.001999) + 1e-8)
     *   p1 = -1.898*0.999 - 0.1/0.19 * 0.021 / (sqrt(9.999e-5/0.001999) + 1e-8) */
    const float g2[2] = {0.2f, 0.3f};
    nn_adamw_update(p, m, v, g2, &hp, 2, 1, 2);
    double p0 = 0.899 * 0.999 - 0.1 / 0.19 * 0.065 / (sqrt(2.8975e-4 / 0.001999) + 1e-8);
    double p1 = -1.898 * 0.999 - 0.1 / 0.19 * 0.021 / (sqrt(9.999e-5 / 0.001999) + 1e-8);
    CHECK_NEAR(m[0], 0.065, 1e-6);
    CHECK_NEAR(v[0], 2.8975e-4, 1e-8);
    CHECK_NEAR(p[0], p0, 1e-5);
    CHECK_NEAR(p[1], p1, 1e-5);
    /* not decayed: a zero gradient leaves the weight alone; decayed: it shrinks */
    float q[1] = {3.0f}, mq[1] = {0}, vq[1] = {0};
    const float g0[1] = {0.0f};
    nn_adamw_update(q, mq, vq, g0, &hp, 1, 0, 1);
    CHECK(q[0] == 3.0f);
    nn_adamw_update(q, mq, vq, g0, &hp, 2, 1, 1);
    CHECK_NEAR(q[0], 3.0 * 0.999, 1e-7);
}

static void test_schedule(void)
{
    /* warm-up 10, total 111: decay over steps 10..110 (100 steps) */
    const float hi = 1e-3f, lo = 1e-4f;
    CHECK_NEAR(nn_lr_schedule(0, 10, 111, hi, lo), 1e-4, 1e-9);
    CHECK_NEAR(nn_lr_schedule(4, 10, 111, hi, lo), 5e-4, 1e-9);
    CHECK_NEAR(nn_lr_schedule(9, 10, 111, hi, lo), 1e-3, 1e-9);  /* warm-up's last step */
    CHECK_NEAR(nn_lr_schedule(10, 10, 111, hi, lo), 1e-3, 1e-9); /* warm-up end: the peak */
    CHECK_NEAR(nn_lr_schedule(60, 10, 111, hi, lo), 5.5e-4, 1e-9); /* half way: the mean */
    CHECK_NEAR(nn_lr_schedule(35, 10, 111, hi, lo), 1e-4 + 9e-4 * 0.5 * (1 + cos(0.25 * 3.14159265358979323846)), 1e-9);
    CHECK_NEAR(nn_lr_schedule(110, 10, 111, hi, lo), 1e-4, 1e-9); /* last step: the floor */
    CHECK_NEAR(nn_lr_schedule(500, 10, 111, hi, lo), 1e-4, 1e-9);
    /* decreasing after the peak */
    int mono = 1;
    for (int s = 11; s < 111; s++)
        mono &= nn_lr_schedule(s, 10, 111, hi, lo) <= nn_lr_schedule(s - 1, 10, 111, hi, lo);
    CHECK(mono);
    /* no warm-up */
    CHECK_NEAR(nn_lr_schedule(0, 0, 101, hi, lo), 1e-3, 1e-9);
}

static void test_clip(void)
{
    float g[2] = {3.0f, 4.0f};
    CHECK_NEAR(nn_clip_grad_norm(g, 2, 10.0f), 5.0, 1e-7); /* under the limit: untouched */
    CHECK(g[0] == 3.0f && g[1] == 4.0f);
    CHECK_NEAR(nn_clip_grad_norm(g, 2, 1.0f), 5.0, 1e-7);
    CHECK_NEAR(g[0], 0.6, 1e-6);
    CHECK_NEAR(g[1], 0.8, 1e-6);
    CHECK_NEAR(sqrt(nn_sum_squares(g, 2)), 1.0, 1e-6);
    CHECK_NEAR(nn_clip_grad_norm(g, 2, 0.0f), 1.0, 1e-6); /* 0: norm only */
    /* a long vector: the fixed-order norm matches a double loop */
    enum { N = 100003 };
    float *x = alloc_floats(N);
    tg_rng rng;
    tg_rng_seed(&rng, 4);
    fill(x, N, &rng, 1.0f);
    double s = 0;
    for (int i = 0; i < N; i++) s += (double)x[i] * x[i];
    CHECK_NEAR(nn_sum_squares(x, N), s, 1e-12);
    float norm = nn_clip_grad_norm(x, N, 2.0f);
    CHECK_NEAR(norm, sqrt(s), 1e-6);
    CHECK_NEAR(sqrt(nn_sum_squares(x, N)), 2.0, 1e-5);
    free(x);
}

/* The OpenBLAS kernel decision: weak SSE-era kernels are replaced by what the CPU runs. */
static void test_blas_coretype(void)
{
    CHECK_STR(nn_blas_coretype_for("Prescott", true, true), "SkylakeX");
    CHECK_STR(nn_blas_coretype_for("prescott", false, true), "Haswell");
    CHECK(nn_blas_coretype_for("Prescott", false, false) == NULL);
    CHECK(nn_blas_coretype_for("Cooperlake", true, true) == NULL);
    CHECK(nn_blas_coretype_for("Haswell", true, true) == NULL);
    CHECK(nn_blas_coretype_for("Zen", true, true) == NULL);
    CHECK(nn_blas_coretype_for(NULL, true, true) == NULL);
    const char *better = nn_blas_better_coretype();
    printf("OpenBLAS kernel %s\n", better ? better : "kept");
}

int main(void)
{
    char info[256];
    printf("backend: %s\n", nn_blas_info(info, sizeof info));
    test_blas_coretype();
    test_arena();
    test_layernorm();
    test_linear_embedding_gelu();
    test_dropout();
    test_crossentropy();
    test_attention_masks(0);
    test_attention_masks(1);
    double worst = 0;
    for (int causal = 0; causal < 2; causal++)
        for (int rel = 0; rel < 2; rel++)
            for (int padded = 0; padded < 2; padded++)
                test_attention_vs_naive(causal, rel, padded, &worst);
    printf("  worst relative difference, fast vs naive attention: %.2e\n", worst);
    test_thread_independence();
    test_adamw();
    test_schedule();
    test_clip();
    return test_finish("test_nn");
}
