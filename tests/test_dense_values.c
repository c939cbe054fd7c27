/*
 * test_dense_values.c: the dense reward's values of every prefix in one pass
 * (adv_dense_values, src/train/disc.c) against scoring each prefix alone.
 * The dense D is causal, so its p(real) at position t depends on x[1..t]
 * only: Q[b, t-1] must equal adv_disc_probs of the sequence cut to length t
 * (to the rounding of a pass over a different length), and past a
 * sequence's end (EOS at its length) every Q is the finished sequence's.
 */
#include "test.h"
#include "train/train.h"

enum { V = 23, B = 3, T = 9 };

int main(void)
{
    model_config c = model_config_default();
    c.vocab_size = V;
    c.d_model = 32;
    c.n_layers = 2;
    c.n_heads = 4;
    c.context = T;
    c.dropout = 0.0f;
    tg_model *D;
    CHECK_OK(model_create(&c, B, &D));
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    model_init(D, &rng);

    int x[B * (T + 1)], lens[B], tmp[B * T];
    for (int b = 0; b < B; b++) {
        x[b * (T + 1)] = TOK_BOS;
        for (int t = 1; t <= T; t++) x[b * (T + 1) + t] = 3 + (int)tg_rng_below(&rng, V - 3);
    }
    x[1 * (T + 1) + 4] = TOK_EOS; /* sequence 1 ends at 4 */
    for (int t = 5; t <= T; t++) x[1 * (T + 1) + t] = TOK_PAD;
    adv_lengths(x, T + 1, B, T, lens);
    CHECK_INT(lens[0], T);
    CHECK_INT(lens[1], 4);

    float Q[B * T];
    adv_dense_values(D, x, lens, B, T, Q, tmp);
    for (int b = 0; b < B; b++)
        for (int t = 1; t <= T; t++) {
            /* the prefix x[1..t] alone (its tail PAD): D's p(real) at its last position */
            int cut[B * (T + 1)], len[B];
            memcpy(cut, x, sizeof cut);
            const int upto = t < lens[b] ? t : lens[b];
            for (int u = upto + 1; u <= T; u++) cut[b * (T + 1) + u] = TOK_PAD;
            for (int k = 0; k < B; k++) len[k] = k == b ? upto : lens[k];
            float probs[B];
            adv_disc_probs(D, cut, T + 1, len, B, T, probs, tmp);
            CHECK_NEAR(Q[b * T + t - 1], probs[b], 1e-6);
            CHECK(Q[b * T + t - 1] > 0.0f && Q[b * T + t - 1] < 1.0f);
        }
    for (int t = 4; t <= T; t++) CHECK(Q[1 * T + t - 1] == Q[1 * T + 3]);
    model_free(D);
    return test_finish("test_dense_values");
}
