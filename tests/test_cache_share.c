/*
 * test_cache_share.c: rollouts that share their prefix (model_cache_share)
 * against rollouts that copy it (model_cache_fork). Both branch N rows per
 * sequence from a prefix state, then decode the same tokens; the logits must
 * be the same bits in fp32 (relative, absolute and fc attention, one token
 * and chunks of several at a time, rows dropped on the way, the prefix state
 * fed further meanwhile as SeqGAN's rollouts do), and in bf16 where it runs.
 * With fc (distance 1 and a Bar about every third token) both the prefix
 * state and the rows drop old bars from their caches on the way, and the
 * prefix state's next token opens a bar in one row; the rows' greedy tokens
 * from the two are the same too. And SeqGAN's rollout values of an fc
 * generator (adv_rollout_values: sampled completions scored by a
 * discriminator) are the same bits shared and copied.
 */
#include <string.h>

#include "model/model.h"
#include "nn/nn.h"
#include "test.h"
#include "tiny_model.h"
#include "train/train.h"

enum { V = 29, B = 3, N = 4, R = B * N, PLEN = 7, MORE = 12 };

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++) best = x[i] > x[best] ? i : best;
    return best;
}

/* fc: bars 1 a Bar about every third token (old bars are dropped), 0 one
 * bar only (each query's keys are one run of positions, which the shared
 * rows read as two pieces of slots: nn_matvec on runs of 16 and more) */
static void run_case(model_attention att, nn_precision prec, int chunk, int bars)
{
    model_config c = model_config_default();
    c.vocab_size = V;
    c.d_model = 32;
    c.n_layers = 2;
    c.n_heads = 4;
    c.context = 32;
    c.attention = att;
    if (att == MODEL_ATTN_FC) {
        c.fc_bar_token = 1;
        CHECK_OK(model_fc_distances_parse("1", &c.fc_distances, NULL, 0));
    }
    tg_model *m;
    CHECK_OK(model_create(&c, R, &m));
    CHECK_OK(model_set_precision(m, prec));
    tg_rng rng;
    tg_rng_seed(&rng, 23);
    model_init(m, &rng);
    model_cache *P, *Sf, *Ss;
    CHECK_OK(model_cache_create(m, B, 0, &P));
    CHECK_OK(model_cache_create(m, R, 0, &Sf));
    CHECK_OK(model_cache_create(m, R, 0, &Ss));
    int prefix[B * PLEN], more[R * MORE];
    for (int i = 0; i < B * PLEN; i++) prefix[i] = (int)tg_rng_below(&rng, V);
    for (int i = 0; i < R * MORE; i++) more[i] = (int)tg_rng_below(&rng, V);
    if (att == MODEL_ATTN_FC) { /* Bar: 1 */
        for (int i = 0; i < B * PLEN; i++)
            prefix[i] = bars && !tg_rng_below(&rng, 3) ? 1 : 2 + prefix[i] % (V - 2);
        for (int i = 0; i < R * MORE; i++)
            more[i] = bars && !tg_rng_below(&rng, 3) ? 1 : 2 + more[i] % (V - 2);
    }
    model_cache_reset(P, B);
    model_decode(P, prefix, PLEN, NULL);
    model_cache_fork(Sf, P, N);
    model_cache_share(Ss, P, N);
    CHECK_INT(model_cache_len(Ss), PLEN);
    CHECK_INT(model_cache_batch(Ss), R);
    /* the prefix state goes on (the next prefix length of a rollout) */
    int col[B] = {1, 2, 3};
    if (att == MODEL_ATTN_FC && !bars) col[0] = 4;
    model_decode(P, col, 1, NULL);

    float lf[R * V], ls[R * V];
    int rows = R, same = 1, fed = 0, orig[R];
    for (int r = 0; r < R; r++) orig[r] = r; /* row r continues more's row orig[r] */
    while (fed < MORE) {
        int n = fed + chunk <= MORE ? chunk : MORE - fed;
        int feed[R * MORE];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < n; i++) feed[r * n + i] = more[orig[r] * MORE + fed + i];
        model_decode(Sf, feed, n, lf);
        model_decode(Ss, feed, n, ls);
        same &= memcmp(lf, ls, (size_t)rows * V * sizeof(float)) == 0;
        for (int r = 0; r < rows; r++) /* the greedy token of each row */
            same &= argmax(lf + r * V, V) == argmax(ls + r * V, V);
        fed += n;
        if (fed >= 5 && rows == R) { /* drop rows 0, 5 and 6: the others move down */
            int keep[R - 3], k = 0;
            for (int r = 0; r < R; r++)
                if (r != 0 && r != 5 && r != 6) orig[k] = r, keep[k++] = r;
            model_cache_keep_rows(Sf, keep, k);
            model_cache_keep_rows(Ss, keep, k);
            rows = k;
        }
    }
    if (att == MODEL_ATTN_FC && bars) {
        /* the case is worth its name: bars were dropped by the prefix state
         * and by the rows (the layout fields of cache.c, model.h) */
        int dropped_p = 0, dropped_s = 0;
        for (int b = 0; b < B; b++) dropped_p |= P->fc_j0[b] > 0;
        for (int r = 0; r < rows; r++) dropped_s |= Ss->fc_j0[r] > P->fc_j0[Ss->shared_row[r]];
        CHECK(dropped_p && dropped_s);
    }
    if (!same)
        TEST_FAIL_("%s %s chunk %d bars %d: shared and copied prefixes gave different logits",
                   model_attention_name(att), nn_precision_name(prec), chunk, bars);
    test_checks_++;
    /* and they are the logits of decoding each row from scratch (to rounding:
     * a longer chunk takes the prefill's sgemm path) */
    model_cache_reset(Sf, 1);
    model_decode(Sf, prefix + PLEN * 1, PLEN, NULL); /* sequence 1 */
    float l1[V];
    model_decode(Sf, more + 4 * MORE, MORE, l1);      /* row 4 = sequence 1, copy 0; kept as row 3 */
    double d = 0, s = 0;
    for (int v = 0; v < V; v++) d += (l1[v] - ls[3 * V + v]) * (l1[v] - ls[3 * V + v]), s += l1[v] * l1[v];
    CHECK(d <= 1e-6 * s);
    model_cache_free(P);
    model_cache_free(Sf);
    model_cache_free(Ss);
    model_free(m);
}

/* A generator or discriminator of 1 layer with weights far from uniform. */
static tg_model *small_model(model_kind kind, model_attention att, int rows, int T, uint64_t seed)
{
    model_config c = model_config_default();
    c.kind = kind;
    c.attention = att;
    c.vocab_size = V;
    c.d_model = 16;
    c.n_layers = 1;
    c.n_heads = 2;
    c.context = T;
    c.dropout = 0.0f;
    if (att == MODEL_ATTN_FC) {
        c.fc_bar_token = 1;
        CHECK_OK(model_fc_distances_parse("1", &c.fc_distances, NULL, 0));
    }
    return test_model_make(&c, rows, seed, 5.0f);
}

/* Rollout values of every prefix of B sequences of RT tokens (a Bar every
 * 3), N completions each, shared against copied prefixes. */
static void test_fc_rollouts(void)
{
    enum { RT = 24 };
    tg_model *G = small_model(MODEL_GENERATOR, MODEL_ATTN_FC, R, RT, 61);
    tg_model *D = small_model(MODEL_DISCRIMINATOR, MODEL_ATTN_RELATIVE, 4, RT, 62);
    int x[B * (RT + 1)], lens[B];
    for (int b = 0; b < B; b++) {
        lens[b] = RT;
        for (int t = 0; t <= RT; t++)
            x[b * (RT + 1) + t] = t % 3 == b % 3 ? 1 : 2 + (b * 7 + t * 5) % (V - 2);
    }
    float Q[2][B * RT];
    for (int copy = 0; copy < 2; copy++) {
        model_cache *P = NULL, *S = NULL;
        CHECK_OK(model_cache_create(G, B, 1, &P));
        CHECK_OK(model_cache_create(G, R, 1, &S));
        tg_rng rng;
        tg_rng_seed(&rng, 63);
        adv_rollout_ctx ctx = {P, S, D, N, 1, &rng, copy};
        CHECK_OK(adv_rollout_values(&ctx, x, lens, B, RT, Q[copy]));
        model_cache_free(P);
        model_cache_free(S);
    }
    CHECK(memcmp(Q[0], Q[1], sizeof Q[0]) == 0);
    model_free(G);
    model_free(D);
}

int main(void)
{
    test_fc_rollouts();
    for (int att = 0; att < 3; att++)
        for (int chunk = 1; chunk <= 5; chunk += 4) {
            for (int bars = 1; bars >= (att == MODEL_ATTN_FC ? 0 : 1); bars--) {
                run_case((model_attention)att, NN_PRECISION_FP32, chunk, bars);
                if (nn_bf16_available())
                    run_case((model_attention)att, NN_PRECISION_BF16, chunk, bars);
            }
        }
    if (!nn_bf16_available()) printf("test_cache_share: no bf16 on this CPU: fp32 only\n");
    return test_finish("test_cache_share");
}
