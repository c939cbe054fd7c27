/*
 * test_cache_share.c: rollouts that share their prefix (model_cache_share)
 * against rollouts that copy it (model_cache_fork). Both branch N rows per
 * sequence from a prefix state, then decode the same tokens; the logits must
 * be the same bits in fp32 (relative and absolute attention, one token and
 * chunks of several at a time, rows dropped on the way, the prefix state fed
 * further meanwhile as SeqGAN's rollouts do), and in bf16 where it runs.
 */
#include <string.h>

#include "model/model.h"
#include "nn/nn.h"
#include "test.h"

enum { V = 29, B = 3, N = 4, R = B * N, PLEN = 7, MORE = 12 };

static void run_case(model_attention att, nn_precision prec, int chunk)
{
    model_config c = model_config_default();
    c.vocab_size = V;
    c.d_model = 32;
    c.n_layers = 2;
    c.n_heads = 4;
    c.context = 32;
    c.attention = att;
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
    model_cache_reset(P, B);
    model_decode(P, prefix, PLEN, NULL);
    model_cache_fork(Sf, P, N);
    model_cache_share(Ss, P, N);
    CHECK_INT(model_cache_len(Ss), PLEN);
    CHECK_INT(model_cache_batch(Ss), R);
    /* the prefix state goes on (the next prefix length of a rollout) */
    int col[B] = {1, 2, 3};
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
    if (!same)
        TEST_FAIL_("%s %s chunk %d: shared and copied prefixes gave different logits",
                   model_attention_name(att), nn_precision_name(prec), chunk);
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

int main(void)
{
    for (int att = 0; att < 2; att++)
        for (int chunk = 1; chunk <= 5; chunk += 4) {
            run_case((model_attention)att, NN_PRECISION_FP32, chunk);
            if (nn_bf16_available()) run_case((model_attention)att, NN_PRECISION_BF16, chunk);
        }
    if (!nn_bf16_available()) printf("test_cache_share: no bf16 on this CPU: fp32 only\n");
    return test_finish("test_cache_share");
}
