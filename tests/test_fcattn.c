/*
 * test_fcattn.c: FC-attention (Museformer's fine- and coarse-grained bar
 * attention, src/nn/fcattn.c) against references.
 *
 * 1. The bar rule: nn_fc_keys (the fast kernel's walk over ranges and
 *    summaries) lists exactly the keys nn_fc_visible (the rule pair by pair)
 *    allows, on hand-made bar layouts and random ones; and a few pairs by
 *    hand (summary tokens, related bars, far bars, bar 0).
 * 2. The kernel: forward (outputs and log-sum-exp) and backward (dq, dk, dv,
 *    the table) equal the dense masked reference (nn_fc_dense_*: softmax
 *    over every earlier key with -inf where the rule refuses, double) within
 *    float tolerance; the backward equals central finite differences of
 *    L = sum(out * w) in double; backward adds.
 * 3. The model: a generator with attention "fc": the loss and every
 *    parameter gradient with the fast kernel equal those with the dense
 *    reference inside the whole model (model_set_naive_attention); cached
 *    decoding token by token, and in chunks, gives the full forward's logits
 *    at every position; so does the compact cache on a long tune (90 bars),
 *    with the bits of the cache that keeps every position, and its bytes
 *    stay bounded as bars go by; the config survives its JSON and a
 *    checkpoint; a bad distance list is refused.
 * 4. data_trim_padding: the padding every row shares is cut, the rest of it
 *    becomes Bar tokens.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"
#include "model/model.h"
#include "nn/nn.h"
#include "test.h"

static float frand(tg_rng *r) { return tg_rng_float(r) * 2.0f - 1.0f; }

static void fill(float *x, size_t n, tg_rng *r, float amp)
{
    for (size_t i = 0; i < n; i++) x[i] = amp * frand(r);
}

/* A batch's bar layout from its tokens (bar_token 1). */
typedef struct {
    int bar[2 * 64], start[2 * 66], n_bars[2];
    nn_fc_plan plan;
} layout;

static void make_layout(layout *L, const int *tokens, int B, int T, uint64_t dist, int near)
{
    for (int b = 0; b < B; b++)
        nn_fc_bars(L->bar + b * T, L->start + b * (T + 2), &L->n_bars[b], tokens + b * T, T, 1);
    nn_fc_plan p = {L->bar, L->start, L->n_bars, dist, near};
    L->plan = p;
}

/* Random tokens in [0,V) with Bar (1) every 1..maxlen tokens. */
static void random_tokens(int *tok, int n, int V, int maxlen, int bar_first, tg_rng *r)
{
    int left = bar_first ? 0 : 1 + (int)tg_rng_below(r, (uint32_t)maxlen);
    for (int i = 0; i < n; i++) {
        if (left-- == 0) {
            tok[i] = 1;
            left = (int)tg_rng_below(r, (uint32_t)maxlen);
        } else {
            tok[i] = 2 + (int)tg_rng_below(r, (uint32_t)(V - 2));
        }
    }
}

static uint64_t mask_of(const int *d, int n)
{
    uint64_t m = 0;
    for (int i = 0; i < n; i++) m |= (uint64_t)1 << d[i];
    return m;
}

/* ------------------------------------------------------------------------ */
/* 1. The rule */

static void test_rule_by_hand(void)
{
    /* 0:BOS 1:x | 2:Bar 3 4 | 5:Bar 6 | 7:Bar 8 9 | 10:Bar 11   distances {1} */
    const int T = 12;
    int tok[12] = {0, 5, 1, 5, 5, 1, 5, 1, 5, 5, 1, 5};
    layout L;
    const int d1[] = {1};
    make_layout(&L, tok, 1, T, mask_of(d1, 1), 4);
    CHECK_INT(L.n_bars[0], 5);
    CHECK_INT(L.bar[9], 3);
    const nn_fc_plan *p = &L.plan;
    /* token 11 (bar 4): own bar 10-11, bar 3 in full (7-9), summaries 0, 2 of bars 0, 1;
     * bar 2's first token 5 is a summary too */
    int keys[12], want[] = {0, 2, 5, 7, 8, 9, 10, 11};
    int n = nn_fc_keys(p, 0, T, 11, keys);
    CHECK_INT(n, 8);
    for (int c = 0; c < n && c < 8; c++) CHECK_INT(keys[c], want[c]);
    /* the summary token 7 (opens bar 3) sees bar 2 (5, 6) and itself only */
    n = nn_fc_keys(p, 0, T, 7, keys);
    CHECK_INT(n, 3);
    CHECK_INT(keys[0], 5);
    CHECK(nn_fc_visible(p, 0, T, 7, 6));
    CHECK(!nn_fc_visible(p, 0, T, 7, 0));
    CHECK(!nn_fc_visible(p, 0, T, 9, 1)); /* bar 0's second token: not a summary */
    CHECK(nn_fc_visible(p, 0, T, 9, 0));
    CHECK(!nn_fc_visible(p, 0, T, 3, 4)); /* the future */
    /* relative rows: near 4 -> token distance, then near + bar distance */
    CHECK_INT(nn_fc_rel_row(p, 0, T, 11, 10), 1);
    CHECK_INT(nn_fc_rel_row(p, 0, T, 11, 0), 4 + 4);
    CHECK_INT(nn_fc_rel_row(p, 0, T, 11, 7), 4 + 1);
    /* a sequence that opens with a Bar: bar 0 is empty */
    int tok2[4] = {1, 5, 1, 5};
    make_layout(&L, tok2, 1, 4, mask_of(d1, 1), 4);
    CHECK_INT(L.bar[0], 1);
    n = nn_fc_keys(&L.plan, 0, 4, 0, keys);
    CHECK_INT(n, 1);
    n = nn_fc_keys(&L.plan, 0, 4, 3, keys);
    CHECK_INT(n, 4);
}

static void test_rule_random(void)
{
    tg_rng r;
    tg_rng_seed(&r, 7);
    const int dists[][3] = {{1, 2, 4}, {2, 3, 0}, {1, 0, 0}};
    for (int trial = 0; trial < 60; trial++) {
        const int T = 64;
        int tok[64], keys[64];
        random_tokens(tok, T, 9, 1 + trial % 7, trial % 2, &r);
        layout L;
        const int *d = dists[trial % 3];
        int nd = d[2] ? 3 : d[1] ? 2 : 1;
        make_layout(&L, tok, 1, T, mask_of(d, nd), 5);
        for (int i = 0; i < T; i++) {
            int n = nn_fc_keys(&L.plan, 0, T, i, keys), c = 0;
            for (int j = 0; j <= i; j++) {
                if (!nn_fc_visible(&L.plan, 0, T, i, j)) continue;
                if (c >= n || keys[c] != j) {
                    CHECK(c < n && keys[c] == j);
                    return;
                }
                c++;
            }
            CHECK_INT(c, n);
            CHECK(n >= 1 && keys[n - 1] == i);
        }
    }
}

/* ------------------------------------------------------------------------ */
/* 2. The kernel */

enum { KB = 2, KT = 23, KC = 8, KH = 2, KD = 4, KNEAR = 5 };
#define KR (KNEAR + NN_FC_BAR_ROWS)

typedef struct {
    layout L;
    float qkv[KB * KT * 3 * KC], rel[KH * KR * KD], w[KB * KT * KC];
    float out[KB * KT * KC], lse[KB * KH * KT], *scratch;
    int keys[KH * KT];
} kcase;

static double kloss(kcase *k)
{
    nn_fc_attention_forward(k->out, k->lse, k->keys, k->scratch, k->qkv, k->rel, &k->L.plan, KB,
                            KT, KC, KH);
    double s = 0.0;
    for (int i = 0; i < KB * KT * KC; i++) s += (double)k->out[i] * k->w[i];
    return s;
}

static double max_rel_err(const float *a, const float *b, size_t n)
{
    double amax = 0.0, worst = 0.0;
    for (size_t i = 0; i < n; i++) amax = fmax(amax, fabs(a[i]));
    for (size_t i = 0; i < n; i++) {
        double den = fmax(fmax(fabs(a[i]), fabs(b[i])), 1e-2 * amax);
        if (den > 0) worst = fmax(worst, fabs(a[i] - b[i]) / den);
    }
    return worst;
}

/* dx by central differences with Richardson extrapolation on every element. */
static double fd_check(kcase *k, float *x, const float *g, size_t n)
{
    static float num[KB * KT * 3 * KC > KH * KR * KD ? KB * KT * 3 * KC : KH * KR * KD];
    for (size_t i = 0; i < n; i++) {
        const float x0 = x[i];
        double d[2];
        for (int s = 0; s < 2; s++) {
            float h = s == 0 ? 0.05f : 0.025f;
            x[i] = x0 + h;
            float hp = x[i] - x0;
            double lp = kloss(k);
            x[i] = x0 - h;
            float hm = x0 - x[i];
            double lm = kloss(k);
            d[s] = (lp - lm) / ((double)hp + hm);
        }
        x[i] = x0;
        num[i] = (float)((4.0 * d[1] - d[0]) / 3.0);
    }
    return max_rel_err(g, num, n);
}

static void test_kernel(void)
{
    static kcase k;
    tg_rng r;
    tg_rng_seed(&r, 11);
    int tok[KB * KT];
    random_tokens(tok, KT, 9, 4, 0, &r);
    random_tokens(tok + KT, KT, 9, 3, 1, &r);
    const int d[] = {1, 3};
    make_layout(&k.L, tok, KB, KT, mask_of(d, 2), KNEAR);
    k.scratch = malloc(nn_fc_scratch_floats(KT, KH, KD, KR) * sizeof(float));
    fill(k.qkv, TG_ARRAY_LEN(k.qkv), &r, 1.0f);
    fill(k.rel, TG_ARRAY_LEN(k.rel), &r, 0.5f);
    fill(k.w, TG_ARRAY_LEN(k.w), &r, 1.0f);

    /* forward against the dense reference */
    static float out_ref[KB * KT * KC], lse_ref[KB * KH * KT];
    kloss(&k);
    nn_fc_dense_forward(out_ref, lse_ref, k.qkv, k.rel, &k.L.plan, KB, KT, KC, KH);
    double e_out = max_rel_err(out_ref, k.out, TG_ARRAY_LEN(k.out));
    double e_lse = max_rel_err(lse_ref, k.lse, TG_ARRAY_LEN(k.lse));
    printf("kernel forward vs dense: out %.2e, lse %.2e\n", e_out, e_lse);
    CHECK(e_out < 1e-5);
    CHECK(e_lse < 1e-5);

    /* backward against the dense reference, and twice = double */
    static float dqkv[KB * KT * 3 * KC], drel[KH * KR * KD];
    static float dqkv_ref[KB * KT * 3 * KC], drel_ref[KH * KR * KD];
    memset(dqkv, 0, sizeof dqkv);
    memset(drel, 0, sizeof drel);
    memset(dqkv_ref, 0, sizeof dqkv_ref);
    memset(drel_ref, 0, sizeof drel_ref);
    nn_fc_attention_backward(dqkv, drel, k.keys, k.scratch, k.w, k.qkv, k.rel, k.out, k.lse,
                             &k.L.plan, KB, KT, KC, KH);
    nn_fc_dense_backward(dqkv_ref, drel_ref, k.w, k.qkv, k.rel, &k.L.plan, KB, KT, KC, KH);
    double e_dqkv = max_rel_err(dqkv_ref, dqkv, TG_ARRAY_LEN(dqkv));
    double e_drel = max_rel_err(drel_ref, drel, TG_ARRAY_LEN(drel));
    printf("kernel backward vs dense: dqkv %.2e, drel %.2e\n", e_dqkv, e_drel);
    CHECK(e_dqkv < 1e-4);
    CHECK(e_drel < 1e-4);
    /* the bar rows are used: some table row at or past near has a gradient */
    double far = 0.0;
    for (int h = 0; h < KH; h++)
        for (int i = KNEAR * KD; i < KR * KD; i++) far += fabs(drel[h * KR * KD + i]);
    CHECK(far > 0.0);

    static float dqkv2[KB * KT * 3 * KC], drel2[KH * KR * KD];
    memcpy(dqkv2, dqkv, sizeof dqkv);
    memcpy(drel2, drel, sizeof drel);
    nn_fc_attention_backward(dqkv2, drel2, k.keys, k.scratch, k.w, k.qkv, k.rel, k.out, k.lse,
                             &k.L.plan, KB, KT, KC, KH);
    double e2 = 0.0;
    for (size_t i = 0; i < TG_ARRAY_LEN(dqkv); i++) e2 = fmax(e2, fabs(dqkv2[i] - 2 * dqkv[i]));
    for (size_t i = 0; i < TG_ARRAY_LEN(drel); i++) e2 = fmax(e2, fabs(drel2[i] - 2 * drel[i]));
    CHECK(e2 < 1e-5);

    /* finite differences */
    double fd_qkv = fd_check(&k, k.qkv, dqkv, TG_ARRAY_LEN(k.qkv));
    double fd_rel = fd_check(&k, k.rel, drel, TG_ARRAY_LEN(k.rel));
    printf("kernel backward vs finite differences: dqkv %.2e, drel %.2e\n", fd_qkv, fd_rel);
    CHECK(fd_qkv < 2e-3);
    CHECK(fd_rel < 2e-3);
    free(k.scratch);
}

/* A bar longer than the kernel's block of queries (64), and bars without
 * Bar tokens in the distance set: forward and backward against the dense
 * reference. */
static void test_kernel_long_bar(void)
{
    enum { T = 200, H = 2, D = 4, C = H * D, NEAR = 16 };
    const int R = nn_fc_rows(NEAR);
    tg_rng r;
    tg_rng_seed(&r, 17);
    int tok[T];
    for (int i = 0; i < T; i++) tok[i] = i == 3 || i == 140 || (i > 140 && i % 6 == 0) ? 1 : 5;
    int bar[T], start[T + 2], nb;
    nn_fc_bars(bar, start, &nb, tok, T, 1);
    const int d[] = {2, 5};
    nn_fc_plan p = {bar, start, &nb, mask_of(d, 2), NEAR};
    float *qkv = malloc(sizeof(float) * T * 3 * C), *rel = malloc(sizeof(float) * H * R * D);
    float *w = malloc(sizeof(float) * T * C), *out = malloc(sizeof(float) * T * C);
    float *out_ref = malloc(sizeof(float) * T * C), *lse = malloc(sizeof(float) * H * T);
    float *dqkv = calloc(T * 3 * C, sizeof(float)), *dqkv_ref = calloc(T * 3 * C, sizeof(float));
    float *drel = calloc((size_t)H * R * D, sizeof(float));
    float *drel_ref = calloc((size_t)H * R * D, sizeof(float));
    float *scratch = malloc(nn_fc_scratch_floats(T, H, D, R) * sizeof(float));
    int keys[H * T];
    fill(qkv, T * 3 * C, &r, 1.0f);
    fill(rel, (size_t)H * R * D, &r, 0.5f);
    fill(w, T * C, &r, 1.0f);
    nn_fc_attention_forward(out, lse, keys, scratch, qkv, rel, &p, 1, T, C, H);
    nn_fc_dense_forward(out_ref, NULL, qkv, rel, &p, 1, T, C, H);
    nn_fc_attention_backward(dqkv, drel, keys, scratch, w, qkv, rel, out, lse, &p, 1, T, C, H);
    nn_fc_dense_backward(dqkv_ref, drel_ref, w, qkv, rel, &p, 1, T, C, H);
    double e_out = max_rel_err(out_ref, out, T * C), e_dqkv = max_rel_err(dqkv_ref, dqkv, T * 3 * C);
    double e_drel = max_rel_err(drel_ref, drel, (size_t)H * R * D);
    printf("long bar (137 tokens) vs dense: out %.2e, dqkv %.2e, drel %.2e\n", e_out, e_dqkv, e_drel);
    CHECK(e_out < 1e-5);
    CHECK(e_dqkv < 1e-4);
    CHECK(e_drel < 1e-4);
    free(qkv), free(rel), free(w), free(out), free(out_ref), free(lse);
    free(dqkv), free(dqkv_ref), free(drel), free(drel_ref), free(scratch);
}

/* ------------------------------------------------------------------------ */
/* 3. The model */

enum { MV = 12, MT = 40, MB = 2 };

static model_config fc_config(void)
{
    model_config c = model_config_default();
    c.attention = MODEL_ATTN_FC;
    c.vocab_size = MV;
    c.d_model = 16;
    c.n_layers = 2;
    c.n_heads = 2;
    c.context = MT;
    c.dropout = 0.0f;
    c.fc_bar_token = 1;
    CHECK_OK(model_fc_distances_parse("1,2", &c.fc_distances, NULL, 0));
    return c;
}

static void test_config(void)
{
    model_config c = fc_config();
    char json[512], why[256];
    CHECK_OK(model_config_to_json(&c, json, sizeof json));
    model_config back;
    CHECK_OK(model_config_from_json(json, &back, why, sizeof why));
    CHECK_INT(back.attention, MODEL_ATTN_FC);
    CHECK(back.fc_distances == c.fc_distances);
    CHECK_INT(back.fc_bar_token, 1);
    CHECK(strstr(json, "\"fc_distances\":\"1,2\"") != NULL);
    /* the default set, and refusals */
    uint64_t m = 0;
    CHECK_OK(model_fc_distances_parse(MODEL_FC_DISTANCES_DEFAULT, &m, NULL, 0));
    char buf[200];
    model_fc_distances_format(m, buf, sizeof buf);
    CHECK_STR(buf, MODEL_FC_DISTANCES_DEFAULT);
    CHECK_STATUS(model_fc_distances_parse("1,1", &m, why, sizeof why), TG_ERR_ARG);
    CHECK_STATUS(model_fc_distances_parse("0,2", &m, why, sizeof why), TG_ERR_ARG);
    CHECK_STATUS(model_fc_distances_parse("1,64", &m, why, sizeof why), TG_ERR_ARG);
    CHECK_STATUS(model_fc_distances_parse("1;2", &m, why, sizeof why), TG_ERR_ARG);
    CHECK_STATUS(model_fc_distances_parse("", &m, why, sizeof why), TG_ERR_ARG);
    model_config d = c;
    d.kind = MODEL_DISCRIMINATOR;
    CHECK_STATUS(model_config_check(&d, why, sizeof why), TG_ERR_ARG);
    d = c;
    d.fc_bar_token = -1;
    CHECK_STATUS(model_config_check(&d, why, sizeof why), TG_ERR_ARG);
    CHECK(strstr(why, "Bar") != NULL);
    /* fc keys on another kind are refused */
    const char *bad = "{\"version\":1,\"kind\":\"generator\",\"attention\":\"relative\","
                      "\"vocab_size\":12,\"d_model\":16,\"n_layers\":2,\"n_heads\":2,"
                      "\"context\":40,\"ff_mult\":4,\"dropout\":0,\"fc_bar_token\":1}";
    CHECK_STATUS(model_config_from_json(bad, &back, why, sizeof why), TG_ERR_ARG);
    /* the table: near + NN_FC_BAR_ROWS rows whatever the context */
    c.context = 8192;
    CHECK_INT(model_rel_rows(&c), MODEL_FC_NEAR + NN_FC_BAR_ROWS);
}

static tg_model *fc_model(uint64_t seed)
{
    model_config c = fc_config();
    tg_model *m = NULL;
    CHECK_OK(model_create(&c, MB, &m));
    tg_rng r;
    tg_rng_seed(&r, seed);
    model_init(m, &r);
    /* larger weights than the init's 0.02 so attention is far from uniform */
    float *w = model_param_data(m);
    for (size_t i = 0; i < model_param_count(m); i++) w[i] += 0.3f * frand(&r);
    return m;
}

static void batch_tokens(int *tok, int *tg, tg_rng *r)
{
    random_tokens(tok, MT, MV, 5, 0, r);
    random_tokens(tok + MT, MT, MV, 3, 1, r);
    tok[0] = 0;
    for (int i = 0; i < MB * MT; i++) tg[i] = (int)tg_rng_below(r, MV);
}

/* The whole model with the fast kernel against the dense reference. */
static void test_model_dense(void)
{
    tg_model *m = fc_model(3);
    tg_rng r;
    tg_rng_seed(&r, 5);
    int tok[MB * MT], tg[MB * MT];
    batch_tokens(tok, tg, &r);
    const size_t n = model_param_count(m);
    float *g_fast = malloc(n * sizeof(float)), *l_fast = malloc(MB * MT * MV * sizeof(float));
    model_zero_grad(m);
    float loss_fast = model_lm_forward(m, tok, tg, MB, MT, NULL);
    memcpy(l_fast, model_logits(m), MB * MT * MV * sizeof(float));
    model_lm_backward(m);
    memcpy(g_fast, model_grad_data(m), n * sizeof(float));

    CHECK_OK(model_set_naive_attention(m, 1));
    model_zero_grad(m);
    float loss_ref = model_lm_forward(m, tok, tg, MB, MT, NULL);
    double e_logits = max_rel_err(model_logits(m), l_fast, MB * MT * MV);
    model_lm_backward(m);
    double e_grad = max_rel_err(model_grad_data(m), g_fast, n);
    printf("model fast vs dense: loss %.6f vs %.6f, logits %.2e, gradients %.2e\n", loss_fast,
           loss_ref, e_logits, e_grad);
    CHECK_NEAR(loss_fast, loss_ref, 1e-5);
    CHECK(e_logits < 1e-4);
    CHECK(e_grad < 1e-3);
    /* the table's gradient is not zero (the relative term is in use) */
    const model_tensor *t = model_tensor_find(m, "blocks.0.attn.rel");
    CHECK(t != NULL);
    double s = 0.0;
    for (size_t i = 0; t && i < t->numel; i++) s += fabs(g_fast[t->offset + i]);
    CHECK(s > 0.0);
    CHECK(model_tensor_find(m, "wpe.weight") == NULL); /* positions: the table only */
    free(g_fast);
    free(l_fast);
    model_free(m);
}

/* Cached decoding, one token at a time and in chunks, against the full
 * forward's logits at every position, for two sequences with different bars. */
static void test_model_decode(void)
{
    tg_model *m = fc_model(9);
    tg_rng r;
    tg_rng_seed(&r, 13);
    int tok[MB * MT], tg[MB * MT];
    batch_tokens(tok, tg, &r);
    model_lm_forward(m, tok, NULL, MB, MT, NULL);
    float *full = malloc(MB * MT * MV * sizeof(float));
    memcpy(full, model_logits(m), MB * MT * MV * sizeof(float));
    for (int chunk = 1; chunk <= 7; chunk += 6) {
        model_cache *s = NULL;
        CHECK_OK(model_cache_create(m, MB, chunk, &s));
        model_cache_reset(s, MB);
        double worst = 0.0;
        float logits[MB * MV];
        int step[MB * 7];
        for (int t0 = 0; t0 < MT; t0 += chunk) {
            int n = MT - t0 < chunk ? MT - t0 : chunk;
            for (int b = 0; b < MB; b++)
                for (int i = 0; i < n; i++) step[b * n + i] = tok[b * MT + t0 + i];
            model_decode(s, step, n, logits);
            for (int b = 0; b < MB; b++)
                for (int v = 0; v < MV; v++) {
                    double want = full[((size_t)b * MT + t0 + n - 1) * MV + v];
                    worst = fmax(worst, fabs(logits[b * MV + v] - want) / fmax(1.0, fabs(want)));
                }
        }
        printf("cached decoding (chunks of %d) vs full forward: %.2e\n", chunk, worst);
        CHECK(worst < 1e-4);
        model_cache_free(s);
    }
    /* keep_rows and fork carry each sequence's bars: decode sequence 1's
     * prefix in a batch of two, keep row 1, fork it twice, go on, and compare */
    model_cache *s = NULL, *f = NULL;
    CHECK_OK(model_cache_create(m, MB, 8, &s));
    CHECK_OK(model_cache_create(m, MB, 8, &f));
    model_cache_reset(s, MB);
    const int cut = 23;
    int pre[MB * cut];
    for (int b = 0; b < MB; b++) memcpy(pre + b * cut, tok + b * MT, cut * sizeof(int));
    float logits[MB * MV];
    model_decode(s, pre, cut, logits);
    int row = 1;
    model_cache_keep_rows(s, &row, 1);
    model_cache_fork(f, s, 2);
    double worst = 0.0;
    for (int t = cut; t < MT; t++) {
        int next[2] = {tok[MT + t], tok[MT + t]};
        model_decode(f, next, 1, logits);
        for (int c = 0; c < 2; c++)
            for (int v = 0; v < MV; v++) {
                double want = full[((size_t)MT + t) * MV + v];
                worst = fmax(worst, fabs(logits[c * MV + v] - want) / fmax(1.0, fabs(want)));
            }
    }
    printf("cached decoding after keep_rows and fork vs full forward: %.2e\n", worst);
    CHECK(worst < 1e-4);
    model_cache_free(s);
    model_cache_free(f);
    free(full);
    model_free(m);
}

/* A long tune: 2 sequences of LT tokens (~60 bars of 3..10 tokens, one
 * opening with a Bar), distances 1,2,4: the compact cache drops the bodies
 * of old bars all along. Cached decoding, token by token and in chunks of 7,
 * gives the full forward's logits at every position, and the same bits as
 * the cache that keeps every position (model_cache_fc_keep_all), in less
 * memory; keep_rows and fork of a compacted state go on to the same logits. */
enum { LT = 600 };

static void long_tokens(int *tok, tg_rng *r)
{
    for (int b = 0; b < MB; b++) {
        int left = b; /* row 1 opens with a Bar: its bar 0 is empty */
        for (int i = 0; i < LT; i++) {
            if (left-- == 0) {
                tok[b * LT + i] = 1;
                left = 2 + (int)tg_rng_below(r, 8);
            } else {
                tok[b * LT + i] = 2 + (int)tg_rng_below(r, MV - 2);
            }
        }
    }
}

/* Feeds tok (MB,LT) in chunks into s; logits of every position into out (MB,LT,MV). */
static void decode_all(model_cache *s, const int *tok, int chunk, float *out)
{
    int step[MB * 7];
    float logits[MB * MV];
    model_cache_reset(s, MB);
    for (int t0 = 0; t0 < LT; t0 += chunk) {
        int n = LT - t0 < chunk ? LT - t0 : chunk;
        for (int b = 0; b < MB; b++)
            for (int i = 0; i < n; i++) step[b * n + i] = tok[b * LT + t0 + i];
        model_decode(s, step, n, logits);
        for (int b = 0; b < MB; b++)
            memcpy(out + ((size_t)b * LT + t0 + n - 1) * MV, logits + b * MV, MV * sizeof(float));
    }
}

static void test_model_decode_long(void)
{
    model_config c = fc_config();
    c.context = LT;
    CHECK_OK(model_fc_distances_parse("1,2,4", &c.fc_distances, NULL, 0));
    tg_model *m = NULL;
    CHECK_OK(model_create(&c, MB, &m));
    tg_rng r;
    tg_rng_seed(&r, 31);
    model_init(m, &r);
    float *w = model_param_data(m);
    for (size_t i = 0; i < model_param_count(m); i++) w[i] += 0.3f * frand(&r);
    int *tok = malloc(sizeof(int) * MB * LT);
    long_tokens(tok, &r);
    int bars = 0;
    for (int i = 0; i < LT; i++) bars += tok[i] == 1;
    model_lm_forward(m, tok, NULL, MB, LT, NULL);
    const size_t nl = (size_t)MB * LT * MV;
    float *full = malloc(nl * sizeof(float)), *comp = malloc(nl * sizeof(float));
    float *all = malloc(nl * sizeof(float));
    memcpy(full, model_logits(m), nl * sizeof(float));
    for (int chunk = 1; chunk <= 7; chunk += 6) {
        model_cache *s = NULL, *k = NULL;
        CHECK_OK(model_cache_create(m, MB, chunk, &s));
        CHECK_OK(model_cache_create(m, MB, chunk, &k));
        model_cache_fc_keep_all(k, 1);
        decode_all(s, tok, chunk, comp);
        decode_all(k, tok, chunk, all);
        double worst = 0.0;
        int same = 1;
        for (int t0 = 0; t0 < LT; t0 += chunk) {
            const int t = t0 + chunk <= LT ? t0 + chunk - 1 : LT - 1;
            for (int b = 0; b < MB; b++) {
                const size_t at = ((size_t)b * LT + t) * MV;
                same &= memcmp(comp + at, all + at, MV * sizeof(float)) == 0;
                for (int v = 0; v < MV; v++) {
                    const double want = full[at + v];
                    worst = fmax(worst, fabs(comp[at + v] - want) / fmax(1.0, fabs(want)));
                }
            }
        }
        const size_t kb = model_cache_kv_bytes(s), kb_all = model_cache_kv_bytes(k);
        printf("long tune (%d bars, %d tokens, chunks of %d): compact cache vs full forward %.2e, "
               "same bits as the full cache: %s; keys and values %zu vs %zu bytes\n",
               bars, LT, chunk, worst, same ? "yes" : "no", kb, kb_all);
        CHECK(worst < 1e-4);
        CHECK(same);
        CHECK(bars >= 40);
        /* slots: (4 + 2) bars of at most 10 tokens, ~60 summaries, a chunk, rounding */
        CHECK(kb * 2 <= kb_all);
        model_cache_free(s);
        model_cache_free(k);
    }
    /* keep_rows and fork of a compacted state: row 1 alone, forked twice */
    model_cache *s = NULL, *f = NULL;
    CHECK_OK(model_cache_create(m, MB, 8, &s));
    CHECK_OK(model_cache_create(m, MB, 8, &f));
    model_cache_reset(s, MB);
    const int cut = 300;
    int *pre = malloc(sizeof(int) * MB * cut);
    for (int b = 0; b < MB; b++) memcpy(pre + b * cut, tok + b * LT, cut * sizeof(int));
    float logits[MB * MV];
    model_decode(s, pre, cut, logits);
    int row = 1;
    model_cache_keep_rows(s, &row, 1);
    model_cache_fork(f, s, 2);
    double worst = 0.0;
    for (int t = cut; t < LT; t++) {
        int next[2] = {tok[LT + t], tok[LT + t]};
        model_decode(f, next, 1, logits);
        for (int cp = 0; cp < 2; cp++)
            for (int v = 0; v < MV; v++) {
                double want = full[((size_t)LT + t) * MV + v];
                worst = fmax(worst, fabs(logits[cp * MV + v] - want) / fmax(1.0, fabs(want)));
            }
    }
    printf("long tune after keep_rows and fork at %d vs full forward: %.2e\n", cut, worst);
    CHECK(worst < 1e-4);
    model_cache_free(s);
    model_cache_free(f);
    free(pre), free(tok), free(full), free(comp), free(all);
    model_free(m);
}

/* The cache's bytes stay bounded as bars go by: bars of 24 tokens, default
 * distances (the largest 32), batch 2; after 64 and after 128 bars the keys
 * and values fit in (32 + 2) bars of tokens (the bars up to the largest
 * distance and one more behind the newest, and the newest), one summary per
 * bar and a step of growth (64 slots) per row, while the full cache would need
 * a slot per token. */
static void test_cache_bounded(void)
{
    enum { BL = 24, NB = 128, T = NB * BL + 8 };
    model_config c = fc_config();
    c.context = T;
    c.fc_distances = 0;
    CHECK_OK(model_fc_distances_parse(MODEL_FC_DISTANCES_DEFAULT, &c.fc_distances, NULL, 0));
    tg_model *m = NULL;
    CHECK_OK(model_create(&c, MB, &m));
    tg_rng r;
    tg_rng_seed(&r, 41);
    model_init(m, &r);
    model_cache *s = NULL;
    CHECK_OK(model_cache_create(m, MB, 1, &s));
    model_cache_reset(s, MB);
    const size_t per_slot = 2 * (size_t)c.n_layers * MB * c.d_model * sizeof(float);
    int step[MB];
    for (int t = 0; t < NB * BL; t++) {
        for (int b = 0; b < MB; b++) step[b] = t % BL == 0 ? 1 : 2 + (int)tg_rng_below(&r, MV - 2);
        model_decode(s, step, 1, NULL);
        const int bars = t / BL + 1;
        if ((t + 1) % (64 * BL) == 0) {
            const size_t bound = per_slot * ((size_t)(32 + 2) * BL + bars + 64);
            const size_t got = model_cache_kv_bytes(s), full = per_slot * (size_t)(t + 1);
            printf("after %d bars (%d tokens): keys and values %zu bytes (bound %zu, every "
                   "position %zu)\n", bars, t + 1, got, bound, full);
            CHECK(got <= bound);
        }
    }
    model_cache_free(s);
    model_free(m);
}

/* A checkpoint keeps the kind, the distances and the Bar id: the loaded
 * model gives the same loss. */
static void test_checkpoint(void)
{
    tg_model *m = fc_model(21);
    tg_rng r;
    tg_rng_seed(&r, 23);
    int tok[MB * MT], tg[MB * MT];
    batch_tokens(tok, tg, &r);
    float loss = model_lm_forward(m, tok, tg, MB, MT, NULL);
    const char *path = "test_fcattn.safetensors";
    CHECK_OK(model_save(m, path, "remi-compact", 3, 1, NULL, 0));
    tg_model *back = NULL;
    char err[512] = "";
    CHECK_OK(model_load(path, MB, &back, NULL, err, sizeof err));
    if (back) {
        const model_config *c = model_get_config(back);
        CHECK_INT(c->attention, MODEL_ATTN_FC);
        CHECK(c->fc_distances == model_get_config(m)->fc_distances);
        CHECK_INT(c->fc_bar_token, 1);
        CHECK(model_lm_forward(back, tok, tg, MB, MT, NULL) == loss);
    }
    remove(path);
    model_free(back);
    model_free(m);
}

/* ------------------------------------------------------------------------ */
/* 4. Batches of whole pieces: the padding cut, and filled with Bars */

static void test_trim_padding(void)
{
    /* rows of 6: lengths 3 and 4 real inputs, then PAD (0) with ignored targets */
    int32_t in[12] = {7, 8, 9, 0, 0, 0, /**/ 7, 1, 8, 9, 0, 0};
    int32_t tg[12] = {8, 9, 3, -1, -1, -1, /**/ 1, 8, 9, 3, -1, -1};
    int T = data_trim_padding(in, tg, 2, 6, 1);
    CHECK_INT(T, 4);
    const int32_t want_in[8] = {7, 8, 9, 1, 7, 1, 8, 9}, want_tg[8] = {8, 9, 3, -1, 1, 8, 9, 3};
    for (int i = 0; i < 8; i++) {
        CHECK_INT(in[i], want_in[i]);
        CHECK_INT(tg[i], want_tg[i]);
    }
    /* nothing to cut, no fill */
    int32_t in2[3] = {7, 8, 9}, tg2[3] = {8, 9, 3};
    CHECK_INT(data_trim_padding(in2, tg2, 1, 3, -1), 3);
    CHECK_INT(in2[2], 9);
}

int main(void)
{
    test_rule_by_hand();
    test_rule_random();
    test_kernel();
    test_kernel_long_bar();
    test_config();
    test_model_dense();
    test_model_decode();
    test_model_decode_long();
    test_cache_bounded();
    test_checkpoint();
    test_trim_padding();
    return test_finish("fcattn");
}
