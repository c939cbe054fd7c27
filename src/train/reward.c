/*
 * reward.c: SeqGAN's reward and policy-gradient update (Yu et al. 2017,
 * https://arxiv.org/abs/1609.05473, eq. 4 and 8). The value of a prefix is
 * D's probability "real" averaged over N completions by the rollout policy;
 * the completions branch from the prefix's cached keys and values, which
 * they read in place (model_cache_share: no copy per completion), so the
 * prefix is encoded once for all N and once for every t (the prefix state
 * advances one token per t, past the positions the completions share). The update is
 * REINFORCE with the batch mean of Q at each position as the baseline, a KL
 * penalty to the frozen MLE model and an entropy bonus, both as
 * score-function terms on the sampled token (train.h).
 *
 * Data parallel (seqgan_dist.c): each completion draws from a stream of its own,
 * seeded from one draw of the caller's stream, the prefix length and the
 * completion's index in the whole batch, so the values of a sequence do not
 * depend on which rank computes them nor on the other rows beside it; the
 * gradient of the update can be taken on any rows of the batch
 * (adv_pg_backward), the baseline and normalisation coming from the whole.
 *
 * Left out: a learned value baseline; rollouts of finished sequences are
 * skipped only when every sequence of the batch has finished.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

/* The stream of completion c of sequence b (its index in the whole batch)
 * branching after prefix x[1..t]: base is one draw of the run's stream. */
static void rollout_stream(tg_rng *rng, uint64_t base, int t, int b, int N, int c)
{
    uint64_t key = (uint64_t)t << 32 | (uint64_t)((int64_t)b * N + c);
    tg_rng_seed(rng, base ^ (key * 0x9e3779b97f4a7c15ULL));
}

/* For every b, Q[b, T-1] = D's value of the finished sequence. */
static void final_values(adv_rollout_ctx *ctx, const int *x, const int *lengths, int B, int T,
                         float *probs, int *tmp, float *Q)
{
    adv_disc_probs(ctx->D, x, T + 1, lengths, B, T, probs, tmp);
    for (int b = 0; b < B; b++) Q[(size_t)b * T + T - 1] = probs[b];
}

/* t past the sequence's end: its own value; t not estimated: the next estimate. */
static void fill_values(const int *lengths, const uint8_t *est, int B, int T, float *Q)
{
    for (int b = 0; b < B; b++) {
        float *q = Q + (size_t)b * T;
        const float final = q[T - 1];
        float next = final;
        for (int t = T; t >= 1; t--) {
            if (t >= lengths[b]) q[t - 1] = final;
            else if (est[t]) next = q[t - 1];
            else q[t - 1] = next;
        }
    }
}

tg_status adv_rollout_values(adv_rollout_ctx *ctx, const int *x, const int *lengths, int B, int T,
                             float *Q)
{
    return adv_rollout_rows(ctx, x, lengths, B, T, 0, Q);
}

tg_status adv_rollout_rows(adv_rollout_ctx *ctx, const int *x, const int *lengths, int B, int T, int row0,
                           float *Q)
{
    /* one draw per call on every rank, whatever its share of the batch */
    const uint64_t base = tg_rng_u64(ctx->rng);
    if (B == 0) return TG_OK;
    model_cache *P = ctx->prefix, *S = ctx->branch;
    const int N = ctx->N, K = ctx->K > 0 ? ctx->K : 1, R = B * N;
    const int V = model_get_config(model_cache_model(P))->vocab_size;
    TG_ASSERT_OP(T, <=, model_get_config(model_cache_model(P))->context);
    TG_ASSERT_OP(R, <=, model_cache_max_batch(S));
    TG_ASSERT_OP(B, <=, model_cache_max_batch(P));
    float *lp = malloc((size_t)B * V * sizeof(float));
    float *lr = malloc((size_t)R * V * sizeof(float));
    int *xr = malloc((size_t)R * (T + 1) * sizeof(int));
    int *col = malloc((size_t)B * sizeof(int));
    int *lens = malloc((size_t)R * sizeof(int));
    int *tmp = malloc((size_t)model_max_batch(ctx->D) * T * sizeof(int));
    float *probs = malloc((size_t)R * sizeof(float));
    uint8_t *done = malloc((size_t)R);
    tg_rng *rngs = malloc((size_t)R * sizeof(tg_rng));
    uint8_t *est = calloc((size_t)T + 1, 1);
    tg_status s = TG_ERR_NOMEM;
    if (!lp || !lr || !xr || !col || !lens || !tmp || !probs || !done || !rngs || !est) goto out;
    final_values(ctx, x, lengths, B, T, probs, tmp, Q);
    int longest = 0;
    for (int b = 0; b < B; b++) longest = lengths[b] > longest ? lengths[b] : longest;

    s = TG_OK;
    model_cache_reset(P, B);
    for (int t = 0; t < longest && s == TG_OK; t++) {
        /* feed x[.,t]: the state then holds x[0..t] and lp the next token's logits */
        for (int b = 0; b < B; b++) col[b] = x[(size_t)b * (T + 1) + t];
        model_decode(P, col, 1, lp);
        if (t == 0 || t % K != 0 || t >= T) continue;
        est[t] = 1;
        if (ctx->copy_prefix) model_cache_fork(S, P, N);
        else model_cache_share(S, P, N);
        for (int r = 0; r < R; r++) {
            const int b = r / N;
            memcpy(lr + (size_t)r * V, lp + (size_t)b * V, (size_t)V * sizeof(float));
            memcpy(xr + (size_t)r * (T + 1), x + (size_t)b * (T + 1), (size_t)(t + 1) * sizeof(int));
            done[r] = lengths[b] <= t; /* the prefix already ends with EOS */
            rollout_stream(&rngs[r], base, t, row0 + b, N, r % N);
        }
        s = adv_complete(S, R, T, t + 1, xr, done, NULL, rngs, lr);
        adv_lengths(xr, T + 1, R, T, lens);
        adv_disc_probs(ctx->D, xr, T + 1, lens, R, T, probs, tmp);
        for (int b = 0; b < B; b++) {
            double sum = 0;
            for (int c = 0; c < N; c++) sum += probs[b * N + c];
            Q[(size_t)b * T + t - 1] = (float)(sum / N);
        }
    }
    if (s == TG_OK) fill_values(lengths, est, B, T, Q);
out:
    free(lp), free(lr), free(xr), free(col), free(lens), free(tmp), free(probs), free(done);
    free(rngs), free(est);
    return s;
}

float adv_pg_weights(float *dlosses, const float *Q, const float *loss_g, const float *loss_ref,
                     const int *lengths, int B, int T, float kl, float entropy)
{
    adv_pg_extra plain = {0}; /* the batch-mean baseline, no ratio (returns.c) */
    return (float)adv_pg_weights_ex(dlosses, Q, loss_g, loss_ref, lengths, B, T, 0, B, kl, entropy, &plain);
}

/* Adds to *kl_sum and *ent_sum the exact KL(p || q) and entropy of p at the
 * counted positions of logits (B,T,V) of both models (q may be NULL), and
 * their number to *count. */
void adv_kl_entropy(const float *lg, const float *lq, const int *lengths, int B, int T, int V, double *kl_sum,
                    double *ent_sum, double *count)
{
    double kl = 0, ent = 0;
    int n = 0;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < lengths[b]; t++) {
            const float *zp = lg + ((size_t)b * T + t) * V;
            const float *zq = lq ? lq + ((size_t)b * T + t) * V : NULL;
            double mp = zp[0], mq = zq ? zq[0] : 0, sp = 0, sq = 0;
            for (int v = 1; v < V; v++) {
                mp = zp[v] > mp ? zp[v] : mp;
                if (zq) mq = zq[v] > mq ? zq[v] : mq;
            }
            for (int v = 0; v < V; v++) {
                sp += exp(zp[v] - mp);
                if (zq) sq += exp(zq[v] - mq);
            }
            const double lzp = mp + log(sp), lzq = zq ? mq + log(sq) : 0;
            for (int v = 0; v < V; v++) {
                double lp = zp[v] - lzp, p = exp(lp);
                ent -= p * lp;
                if (zq) kl += p * (lp - (zq[v] - lzq));
            }
            n++;
        }
    *kl_sum += kl;
    *ent_sum += ent;
    *count += n;
}

void adv_pg_backward(tg_model *G, tg_model *ref, const int *x, const int *lengths, const float *Q, int B,
                     int T, int lo, int hi, float kl, float entropy, float *work, int *tmp,
                     adv_pg_sums *sums)
{
    adv_pg_extra plain = {0};
    adv_pg_backward_ex(G, ref, x, lengths, Q, B, T, lo, hi, kl, entropy, work, tmp, &plain, sums);
}

void adv_pg_means(const adv_pg_sums *sums, float *pg_loss, float *kl_out, float *entropy_out)
{
    *pg_loss = (float)sums->surrogate;
    *kl_out = sums->positions > 0 ? (float)(sums->kl / sums->positions) : 0.0f;
    *entropy_out = sums->positions > 0 ? (float)(sums->entropy / sums->positions) : 0.0f;
}

tg_status adv_pg_update(tg_model *G, tg_model *ref, const int *x, const int *lengths, const float *Q,
                   int B, int T, float kl, float entropy, const adv_opt_step *os, float *pg_loss,
                   float *kl_out, float *entropy_out, int *tmp)
{
    float *work = malloc((size_t)B * T * sizeof(float) * 2);
    if (!work) return TG_ERR_NOMEM;
    adv_pg_sums sums;
    model_zero_grad(G);
    adv_pg_backward(G, ref, x, lengths, Q, B, T, 0, B, kl, entropy, work, tmp, &sums);
    adv_pg_means(&sums, pg_loss, kl_out, entropy_out);
    adv_opt_apply(G, os);
    free(work);
    return TG_OK;
}
