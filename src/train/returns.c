/*
 * returns.c: what the policy gradient of seqgan.c multiplies, past the
 * values Q of reward.c and seqgan.c: rewards shaped from a causal D's
 * values, per token or per bar, their discounted returns, the shuffled
 * control, the baseline (batch mean or moving average), and PPO's clipped
 * ratio (Schulman et al. 2017, https://arxiv.org/abs/1707.06347) over a
 * batch of samples reused for several updates, and ColdGANs' importance
 * weights (Scialom et al. 2020, https://arxiv.org/abs/2006.04643) when the
 * batch was drawn at a lower temperature. ScratchGAN (de Masson
 * d'Autume et al. 2019, https://arxiv.org/abs/1905.09922) is the model for
 * the shaping r = 2 sigma(D) - 1, the discount and the moving-average
 * baseline; train.h tells the whole story.
 *
 * Positions: Q[b*T + t-1] and R[b*T + t-1] belong to token x[b, t] (t =
 * 1..T), counted while t <= lengths[b].
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

/* shift: the batch's mean value (zero-mean shaping only) */
static double shape(float p, adv_shaping s, double shift)
{
    if (s == ADV_SHAPE_ZERO_MEAN) return (double)p - shift;
    return s == ADV_SHAPE_CENTERED ? 2.0 * (double)p - 1.0 : (double)p;
}

/* The last token of each bar of a row: t with t == len or x[t + 1] a Bar
 * token (a bar runs from a Bar token, or the first token, to the token
 * before the next Bar token, or the length). reward_mean and bar_returns
 * both read bar ends through it. */
static bool bar_end(const int *row, int t, int len, int bar_id)
{
    return t == len || (t < len && row[t + 1] == bar_id);
}

/* The mean of the values that become rewards: every counted token's, or
 * every bar's last token's. */
static double reward_mean(const float *Q, const int *x, int ld, const int *lengths, int B, int T,
                          const adv_return_opts *o)
{
    double sum = 0.0;
    long n = 0;
    for (int b = 0; b < B; b++)
        for (int t = 1; t <= lengths[b] && t <= T; t++)
            if (!o->per_bar || bar_end(x + (size_t)b * ld, t, lengths[b], o->bar_id))
                sum += Q[(size_t)b * T + t - 1], n++;
    return n ? sum / (double)n : 0.0;
}

/* Per token: r_t = shape(Q_t), R_t = r_t + gamma R_{t+1} up to the length;
 * past it R = Q (no weight reads it). */
static void token_returns(float *R, const float *Q, int len, int T, adv_shaping s, double shift, float gamma)
{
    double next = 0;
    for (int t = T; t >= 1; t--) {
        if (t > len) {
            R[t - 1] = Q[t - 1];
            continue;
        }
        double r = shape(Q[t - 1], s, shift);
        next = t == len || gamma == 0.0f ? r : r + (double)gamma * next;
        R[t - 1] = (float)next;
    }
}

/* Per bar: a bar's reward is the shaped value at its last token (bar_end),
 * and every token of the bar gets the bar's return R_k = r_k + gamma R_{k+1}:
 * walking back, a token takes the return of the first bar end at or after
 * it. */
static void bar_returns(float *R, const float *Q, const int *row, int len, int T, adv_shaping s, double shift,
                        float gamma, int bar_id)
{
    double next = 0;
    bool last = true;
    for (int t = len; t >= 1; t--) {
        if (bar_end(row, t, len, bar_id)) {
            double r = shape(Q[t - 1], s, shift);
            next = last || gamma == 0.0f ? r : r + (double)gamma * next;
            last = false;
        }
        R[t - 1] = (float)next;
    }
    for (int t = len + 1; t <= T; t++) R[t - 1] = len >= 1 ? R[len - 1] : Q[t - 1];
}

void adv_returns(float *R, const float *Q, const int *x, int ld, const int *lengths, int B, int T,
                 const adv_return_opts *o)
{
    const double shift = o->shaping == ADV_SHAPE_ZERO_MEAN ? reward_mean(Q, x, ld, lengths, B, T, o) : 0.0;
    for (int b = 0; b < B; b++) {
        const float *q = Q + (size_t)b * T;
        float *r = R + (size_t)b * T;
        if (o->per_bar)
            bar_returns(r, q, x + (size_t)b * ld, lengths[b], T, o->shaping, shift, o->discount, o->bar_id);
        else
            token_returns(r, q, lengths[b], T, o->shaping, shift, o->discount);
    }
}

void adv_shuffle_values(float *Q, const int *lengths, int B, int T, tg_rng *rng, int *idx)
{
    int n = 0;
    for (int b = 0; b < B; b++)
        for (int t = 1; t <= lengths[b] && t <= T; t++) idx[n++] = b * T + t - 1;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)tg_rng_below(rng, (uint32_t)(i + 1));
        float v = Q[idx[i]];
        Q[idx[i]] = Q[idx[j]];
        Q[idx[j]] = v;
    }
}

/* ------------------------------------------------------------------------ */
/* Baselines. */

void adv_batch_baseline(const float *R, const int *lengths, int B, int T, double *base, int *count)
{
    for (int t = 1; t <= T; t++) {
        double s = 0;
        int m = 0;
        for (int b = 0; b < B; b++)
            if (t <= lengths[b]) s += R[(size_t)b * T + t - 1], m++;
        base[t - 1] = m ? s / m : 0;
        if (count) count[t - 1] = m;
    }
}

void adv_ema_baseline(double *ema, bool *ema_set, const float *R, const int *lengths, int B, int T, float decay,
                      double *base, int *count)
{
    adv_batch_baseline(R, lengths, B, T, base, count);
    if (!*ema_set) {
        memcpy(ema, base, (size_t)T * sizeof(double));
        *ema_set = true;
        return; /* the first batch: its own mean */
    }
    for (int t = 0; t < T; t++) {
        const double mean = base[t];
        base[t] = ema[t];
        if (count[t]) ema[t] = (double)decay * ema[t] + (1.0 - (double)decay) * mean;
    }
}

/* ------------------------------------------------------------------------ */
/* The policy-gradient weights with a given baseline and PPO's ratio. */

/* Weight of the loss -log pi of one token with advantage a, the count n and
 * the ratio rho = pi / pi_old (NULL: none); clipped (no gradient) when the
 * ratio has left [1-eps, 1+eps] on the side the advantage pushes it. With
 * loss_q (a cold batch) the weight is a min(pi / q_T, C) / n instead of
 * a rho / n (truncated: counted in ex->truncated; sum and max in ex). */
static float ratio_weight(double a, int n, const float *loss_old, const float *loss_q, float loss, float eps,
                          adv_pg_extra *ex)
{
    if (!loss_old && !loss_q) return (float)(a / n);
    if (loss_old) {
        const double rho = exp((double)*loss_old - (double)loss);
        if (eps > 0 && ((a > 0 && rho > 1.0 + eps) || (a < 0 && rho < 1.0 - eps))) {
            ex->clipped += 1;
            return 0.0f;
        }
        if (!loss_q) return (float)(a * rho / n);
    }
    double w = exp((double)*loss_q - (double)loss);
    ex->w_sum += w;
    if (w > ex->w_max) ex->w_max = w;
    if (w > ex->is_clip) {
        ex->truncated += 1;
        w = ex->is_clip;
    }
    return (float)(a * w / n);
}

void adv_tempered_losses(float *loss_q, const float *logits, const int *targets, int n, int V, float temperature)
{
    const double inv_t = 1.0 / (double)temperature;
    for (int i = 0; i < n; i++) {
        if (targets[i] == MODEL_IGNORE_INDEX) {
            loss_q[i] = 0.0f;
            continue;
        }
        const float *z = logits + (size_t)i * V;
        double m = z[0];
        for (int v = 1; v < V; v++) m = z[v] > m ? z[v] : m;
        double sum = 0;
        for (int v = 0; v < V; v++) sum += exp(((double)z[v] - m) * inv_t);
        loss_q[i] = (float)(log(sum) - ((double)z[targets[i]] - m) * inv_t);
    }
}

double adv_pg_weights_ex(float *dlosses, const float *Q, const float *loss_g, const float *loss_ref,
                         const int *lengths, int B, int T, int lo, int hi, float kl, float entropy,
                         adv_pg_extra *ex)
{
    int n = 0;
    for (int b = 0; b < B; b++) n += lengths[b];
    double surrogate = 0;
    for (int t = 1; t <= T; t++) {
        double base;
        if (ex->base) {
            base = ex->base[t - 1];
        } else { /* the batch mean, as adv_pg_weights has always taken it */
            base = 0;
            int m = 0;
            for (int b = 0; b < B; b++)
                if (t <= lengths[b]) base += Q[(size_t)b * T + t - 1], m++;
            if (m) base /= m;
        }
        for (int b = lo; b < hi; b++) {
            size_t i = (size_t)(b - lo) * T + t - 1;
            if (t > lengths[b]) {
                dlosses[i] = 0.0f;
                continue;
            }
            double logp = -(double)loss_g[i];
            double a = Q[(size_t)b * T + t - 1] - base - entropy * logp;
            if (loss_ref && kl != 0.0f) a -= kl * (logp + (double)loss_ref[i]);
            const float *old = ex->loss_old ? ex->loss_old + (size_t)b * T + t - 1 : NULL;
            const float *lq = ex->loss_q ? ex->loss_q + (size_t)b * T + t - 1 : NULL;
            dlosses[i] = ratio_weight(a, n, old, lq, loss_g[i], ex->clip, ex);
            surrogate += (double)dlosses[i] * loss_g[i];
        }
    }
    return surrogate;
}

void adv_pg_backward_ex(tg_model *G, tg_model *ref, const int *x, const int *lengths, const float *Q, int B, int T,
                        int lo, int hi, float kl, float entropy, float *work, int *tmp, adv_pg_extra *ex,
                        adv_pg_sums *sums)
{
    memset(sums, 0, sizeof *sums);
    ex->clipped = ex->w_sum = ex->w_max = ex->truncated = 0;
    const int n = hi - lo;
    if (n <= 0) return;
    int *inputs = tmp, *targets = tmp + (size_t)n * T;
    float *dl = work, *loss_ref = NULL;
    for (int b = lo; b < hi; b++)
        for (int t = 0; t < T; t++) {
            size_t i = (size_t)(b - lo) * T + t;
            inputs[i] = x[(size_t)b * (T + 1) + t];
            targets[i] = t < lengths[b] ? x[(size_t)b * (T + 1) + t + 1] : MODEL_IGNORE_INDEX;
        }
    if (ref) {
        model_lm_forward(ref, inputs, targets, n, T, NULL);
        loss_ref = work + (size_t)n * T;
        memcpy(loss_ref, model_losses(ref), (size_t)n * T * sizeof(float));
    }
    model_lm_forward(G, inputs, targets, n, T, NULL);
    const float *loss_g = model_losses(G);
    if (ex->loss_old && ex->store_old) /* the sampling policy's losses: G has not moved since */
        memcpy(ex->loss_old + (size_t)lo * T, loss_g, (size_t)n * T * sizeof(float));
    if (ex->loss_q && ex->store_old) /* the sampling policy q_T: G's logits at its temperature */
        adv_tempered_losses(ex->loss_q + (size_t)lo * T, model_logits(G), targets, n * T,
                            model_get_config(G)->vocab_size, ex->temperature);
    adv_kl_entropy(model_logits(G), ref ? model_logits(ref) : NULL, lengths + lo, n, T,
                   model_get_config(G)->vocab_size, &sums->kl, &sums->entropy, &sums->positions);
    sums->surrogate = adv_pg_weights_ex(dl, Q, loss_g, loss_ref, lengths, B, T, lo, hi, kl, entropy, ex);
    model_lm_backward_weighted(G, dl);
}

/* ------------------------------------------------------------------------ */
/* Names. */

static const char *const shaping_names[] = {"prob", "centered", "zero-mean"};
enum { N_SHAPINGS = sizeof shaping_names / sizeof *shaping_names };
static const char *const baseline_names[] = {"batch", "ema"};
enum { N_BASELINES = sizeof baseline_names / sizeof *baseline_names };

const char *adv_shaping_name(adv_shaping s)
{
    return (unsigned)s < N_SHAPINGS ? shaping_names[s] : "?";
}

tg_status adv_shaping_parse(const char *name, adv_shaping *s)
{
    for (int i = 0; i < N_SHAPINGS; i++)
        if (strcmp(name, shaping_names[i]) == 0) return *s = (adv_shaping)i, TG_OK;
    return TG_ERR_ARG;
}

const char *adv_baseline_name(adv_baseline b)
{
    return (unsigned)b < N_BASELINES ? baseline_names[b] : "?";
}

tg_status adv_baseline_parse(const char *name, adv_baseline *b)
{
    for (int i = 0; i < N_BASELINES; i++)
        if (strcmp(name, baseline_names[i]) == 0) return *b = (adv_baseline)i, TG_OK;
    return TG_ERR_ARG;
}
