/*
 * test_cache_group.c: decode.c reads a shared prefix once for a group of
 * rows (attend_shared: the completions of one prefix, up to 16 rows at a
 * time, their logits over the prefix's keys in one product and its values in
 * one pass) and must give the bits of the row-by-row path, which reads a
 * copied prefix (model_cache_fork). B = 4 sequences of N = 5 copies each:
 * the groups are cut by the blocks of 16 rows (rows 15 and 16 share a
 * prefix), rows are dropped on the way (groups of 4 and 3), the prefix
 * state is fed further meanwhile. Shapes: head sizes 8, 24 (a vector and a
 * half) and 64 with a prefix of 140 keys (two products of its keys), and 160,
 * which takes the row-by-row path; relative and absolute attention, fp32 and
 * (where it runs) bf16, one token at a time as rollouts decode.
 */
#include <string.h>

#include "model/model.h"
#include "nn/nn.h"
#include "test.h"

enum { V = 29, B = 4, N = 5, R = B * N, PLEN_MAX = 140, MORE = 9 };

/* A model's shape and the prefix length of one case. */
typedef struct {
    int d_model, heads, context, plen;
} group_shape;

static void run_case(model_attention att, nn_precision prec, group_shape sh)
{
    model_config c = model_config_default();
    c.vocab_size = V;
    c.d_model = sh.d_model;
    c.n_layers = 2;
    c.n_heads = sh.heads;
    c.context = sh.context;
    c.attention = att;
    tg_model *m;
    CHECK_OK(model_create(&c, R, &m));
    CHECK_OK(model_set_precision(m, prec));
    tg_rng rng;
    tg_rng_seed(&rng, 31);
    model_init(m, &rng);
    model_cache *P, *Sf, *Ss;
    CHECK_OK(model_cache_create(m, B, 0, &P));
    CHECK_OK(model_cache_create(m, R, 1, &Sf));
    CHECK_OK(model_cache_create(m, R, 1, &Ss));
    static int prefix[B * PLEN_MAX];
    int more[R * MORE];
    for (int i = 0; i < B * sh.plen; i++) prefix[i] = (int)tg_rng_below(&rng, V);
    for (int i = 0; i < R * MORE; i++) more[i] = (int)tg_rng_below(&rng, V);
    model_cache_reset(P, B);
    model_decode(P, prefix, sh.plen, NULL);
    model_cache_fork(Sf, P, N);
    model_cache_share(Ss, P, N);
    int col[B] = {1, 2, 3, 4};
    model_decode(P, col, 1, NULL); /* the prefix state goes on */

    float lf[R * V], ls[R * V];
    int rows = R, same = 1, orig[R];
    for (int r = 0; r < R; r++) orig[r] = r;
    for (int t = 0; t < MORE; t++) {
        int feed[R];
        for (int r = 0; r < rows; r++) feed[r] = more[orig[r] * MORE + t];
        model_decode(Sf, feed, 1, lf);
        model_decode(Ss, feed, 1, ls);
        same &= memcmp(lf, ls, (size_t)rows * V * sizeof(float)) == 0;
        if (t == 3) { /* drop rows 0 and 6, 7: groups of 4, 3, 5 and 5 move down */
            int keep[R], k = 0;
            for (int r = 0; r < R; r++)
                if (r != 0 && r != 6 && r != 7) orig[k] = r, keep[k++] = r;
            model_cache_keep_rows(Sf, keep, k);
            model_cache_keep_rows(Ss, keep, k);
            rows = k;
        }
    }
    if (!same)
        TEST_FAIL_("%s %s, d_model %d, %d heads, prefix %d: grouped and row-by-row attention gave "
                   "different logits",
                   model_attention_name(att), nn_precision_name(prec), sh.d_model, sh.heads, sh.plen);
    test_checks_++;
    model_cache_free(P);
    model_cache_free(Sf);
    model_cache_free(Ss);
    model_free(m);
}

int main(void)
{
    const group_shape shapes[] = {{32, 4, 24, 7}, {96, 4, 24, 7}, {128, 2, 152, 140}, {320, 2, 24, 7}};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
        for (int att = 0; att < 2; att++) {
            run_case((model_attention)att, NN_PRECISION_FP32, shapes[k]);
            if (nn_bf16_available()) run_case((model_attention)att, NN_PRECISION_BF16, shapes[k]);
        }
    if (!nn_bf16_available()) printf("test_cache_group: no bf16 on this CPU: fp32 only\n");
    return test_finish("test_cache_group");
}
