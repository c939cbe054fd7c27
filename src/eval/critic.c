/*
 * critic.c: a fresh critic, the two-sample test of issue 19. A classifier
 * that never took part in training learns to tell real pieces from sampled
 * ones; its accuracy on pieces it did not train on says how far apart the
 * two sets are (50 %: it cannot tell them apart). Unlike the training
 * discriminator, it starts from nothing for every comparison, so a generator
 * cannot have learnt to fool it, and unlike one statistic, it looks at every
 * n-gram of tokens at once. (Lopez-Paz & Oquab, "Revisiting Classifier
 * Two-Sample Tests", ICLR 2017, is the test; Caccia et al., "Language GANs
 * Falling Short", ICLR 2020, the reason to run it over temperatures.)
 *
 * The classifier: logistic regression on hashed n-gram counts. A piece's
 * content tokens (BOS, EOS, PAD left out) give every n-gram of 1..max_n
 * tokens; each is hashed (splitmix64 over n and the ids) into one of
 * 2^hash_bits buckets; a piece's vector is its bucket counts scaled to unit
 * L2 norm (so length alone is no feature). Training: the mean binary
 * cross-entropy plus l2/2 |w|^2, full-batch gradient descent with momentum
 * for `steps` steps from zero weights, so training draws no random numbers.
 *
 * The protocol: both sets are cut to the same size first (the larger one
 * subsampled with the seed), so accuracy has a 50 % floor and its count of
 * right guesses is binomial; with match_bars each real piece i is cut to the
 * bar count of sampled piece i (pairs in the shuffled order), so that length
 * is not a tell. Then k-fold cross-validation: item j of each class (after
 * the shuffle) falls in fold j mod k; the model trained on the other folds
 * scores it. Paired sets (an accompaniment or an infill beside the piece it
 * came from) share notes with their twin: shuffled apart, the twin in the
 * training folds teaches the shared n-grams with the other label and the
 * held-out piece is scored wrong (accuracy below 50 %); `paired` shuffles
 * both sets alike, so that a pair falls in one fold. Accuracy (logit > 0) over every held-out item with a Wilson 95 %
 * interval; AUC of the pooled held-out logits (Mann-Whitney, ties half) with
 * Hanley & McNeil's standard error.
 *
 * What it leaves out: a Transformer critic (the discriminator of
 * src/train/disc.c trained afresh). Per sample set and fold that is minutes
 * of one core, against a fraction of a second here; it is the next critic to
 * add where cores allow.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "eval/eval.h"

eval_critic_config eval_critic_config_default(void)
{
    return (eval_critic_config){.max_n = 4, .hash_bits = 18, .folds = 5, .steps = 300, .lr = 4,
                                .l2 = 1e-4, .match_bars = true, .bar_id = -1, .seed = 1};
}

/* ------------------------------------------------------------------------ */
/* Features. */

typedef struct {
    uint32_t *idx;  /* buckets, ascending and distinct */
    float *val;     /* unit L2 norm over the piece */
    size_t n;
} sparse_vec;

static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static tg_status ngram_vector(const eval_seq *s, int max_n, int bits, sparse_vec *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = s->n * (size_t)max_n;
    uint32_t *h = malloc((cap ? cap : 1) * sizeof *h);
    if (!h) return TG_ERR_NOMEM;
    size_t m = 0;
    const uint32_t mask = (uint32_t)((1ULL << bits) - 1);
    for (size_t i = 0; i < s->n; i++) {
        uint64_t x = 0;
        for (int n = 1; n <= max_n && i + (size_t)n <= s->n; n++) {
            x = mix(x ^ ((uint64_t)s->ids[i + n - 1] << 8 | (uint64_t)n));
            h[m++] = (uint32_t)(x >> 20) & mask;
        }
    }
    qsort(h, m, sizeof *h, cmp_u32);
    out->idx = malloc((m ? m : 1) * sizeof *out->idx);
    out->val = malloc((m ? m : 1) * sizeof *out->val);
    if (!out->idx || !out->val) {
        free(h);
        return TG_ERR_NOMEM;
    }
    double norm = 0;
    for (size_t i = 0; i < m;) {
        size_t j = i;
        while (j < m && h[j] == h[i]) j++;
        out->idx[out->n] = h[i];
        out->val[out->n++] = (float)(j - i);
        norm += (double)(j - i) * (double)(j - i);
        i = j;
    }
    for (size_t k = 0; k < out->n; k++) out->val[k] = (float)(out->val[k] / sqrt(norm));
    free(h);
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Bars. */

size_t eval_count_bars(const eval_seq *s, int bar_id)
{
    size_t bars = 0;
    for (size_t i = 0; i < s->n; i++) bars += s->ids[i] == bar_id;
    return bars;
}

eval_seq eval_crop_bars(eval_seq s, int bar_id, size_t bars)
{
    size_t seen = 0;
    for (size_t i = 0; i < s.n; i++)
        if (s.ids[i] == bar_id && ++seen > bars) {
            s.n = i;
            break;
        }
    return s;
}

/* ------------------------------------------------------------------------ */
/* Logistic regression. */

typedef struct {
    const sparse_vec *x;
    const float *y;        /* 1 real, 0 sampled */
    const uint8_t *use;    /* items trained on */
    size_t n;
} lr_data;

static double logit(const float *w, double b, const sparse_vec *x)
{
    double z = b;
    for (size_t k = 0; k < x->n; k++) z += w[x->idx[k]] * x->val[k];
    return z;
}

static double sigmoid(double z) { return z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z)); }

/* Full-batch gradient descent with heavy-ball momentum (0.9) on the items
 * d->use marks; w (D) and *b start at zero. Not Adam: Adam's per-weight
 * scaling moves a weight seen in one piece as fast as one seen in every
 * piece, so the critic learnt each training piece's own n-grams by heart
 * (held-out accuracy 0.80 on the synthetic tell of test_critic.c, against
 * 1.00 here). With unit-norm features the loss's curvature is at most 1/4,
 * so steps up to lr = 8 are stable; 4 is the default. */
static tg_status lr_train(const lr_data *d, const eval_critic_config *cfg, float *w, double *b)
{
    const size_t D = (size_t)1 << cfg->hash_bits;
    float *g = calloc(D, sizeof *g), *v = calloc(D, sizeof *v);
    if (!g || !v) {
        free(g), free(v);
        return TG_ERR_NOMEM;
    }
    memset(w, 0, D * sizeof *w);
    *b = 0;
    double vb = 0, n_used = 0;
    for (size_t i = 0; i < d->n; i++) n_used += d->use[i];
    for (int step = 1; step <= cfg->steps; step++) {
        memset(g, 0, D * sizeof *g);
        double gb = 0;
        for (size_t i = 0; i < d->n; i++) {
            if (!d->use[i]) continue;
            double r = (sigmoid(logit(w, *b, &d->x[i])) - d->y[i]) / n_used;
            for (size_t k = 0; k < d->x[i].n; k++) g[d->x[i].idx[k]] += (float)(r * d->x[i].val[k]);
            gb += r;
        }
        for (size_t j = 0; j < D; j++) {
            v[j] = 0.9f * v[j] + g[j] + (float)cfg->l2 * w[j];
            w[j] -= (float)cfg->lr * v[j];
        }
        vb = 0.9 * vb + gb;
        *b -= cfg->lr * vb;
    }
    free(g), free(v);
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Held-out measures. */

void eval_wilson(size_t k, size_t n, double *lo, double *hi)
{
    if (n == 0) {
        *lo = *hi = NAN;
        return;
    }
    const double z = 1.959964, p = (double)k / (double)n, nn = (double)n;
    double centre = (p + z * z / (2 * nn)) / (1 + z * z / nn);
    double half = z * sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn)) / (1 + z * z / nn);
    *lo = k == 0 ? 0 : centre - half; /* exact at the ends, where rounding would leave 1e-17 */
    *hi = k == n ? 1 : centre + half;
}

typedef struct {
    double z;
    float y;
} scored;

static int cmp_scored(const void *a, const void *b)
{
    double x = ((const scored *)a)->z, y = ((const scored *)b)->z;
    return (x > y) - (x < y);
}

double eval_auc(const double *z, const float *y, size_t n)
{
    scored *s = malloc((n ? n : 1) * sizeof *s);
    if (!s) return NAN;
    for (size_t i = 0; i < n; i++) s[i] = (scored){z[i], y[i]};
    qsort(s, n, sizeof *s, cmp_scored);
    /* Mann-Whitney: the mean rank of the positives, ties given their mean rank */
    double rank_sum = 0, n_pos = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && s[j].z == s[i].z) j++;
        double mean_rank = (double)(i + j + 1) / 2; /* ranks i+1 .. j */
        for (size_t k = i; k < j; k++)
            if (s[k].y > 0.5f) rank_sum += mean_rank, n_pos++;
        i = j;
    }
    free(s);
    double n_neg = (double)n - n_pos;
    if (n_pos == 0 || n_neg == 0) return NAN;
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg);
}

/* Hanley & McNeil (1982): the standard error of an AUC a from n1 positives
 * and n2 negatives. */
static double auc_se(double a, double n1, double n2)
{
    double q1 = a / (2 - a), q2 = 2 * a * a / (1 + a);
    double var = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n2 - 1) * (q2 - a * a)) / (n1 * n2);
    return var > 0 ? sqrt(var) : 0;
}

/* ------------------------------------------------------------------------ */
/* The test. */

/* A seeded shuffle of 0..total-1. */
static tg_status shuffled(size_t total, tg_rng *rng, size_t **out)
{
    size_t *p = malloc((total ? total : 1) * sizeof *p);
    if (!p) return TG_ERR_NOMEM;
    for (size_t i = 0; i < total; i++) p[i] = i;
    for (size_t i = total; i > 1; i--) {
        size_t j = tg_rng_below(rng, (uint32_t)i);
        size_t t = p[i - 1];
        p[i - 1] = p[j];
        p[j] = t;
    }
    *out = p;
    return TG_OK;
}

/* The balanced items: real[0..m), sampled[0..m) in shuffled order, real
 * ones cut to their partner's bars when asked. items (2m): reals first. */
static tg_status balance(const eval_seq *real, size_t nr, const eval_seq *fake, size_t nf,
                         const eval_critic_config *cfg, eval_seq *items, eval_critic_result *out)
{
    tg_rng rng;
    tg_rng_seed(&rng, cfg->seed);
    size_t m = nr < nf ? nr : nf, *pr = NULL, *pf = NULL;
    tg_status st = shuffled(nr, &rng, &pr);
    if (st == TG_OK) st = shuffled(nf, &rng, &pf);
    if (st == TG_OK && cfg->paired) memcpy(pf, pr, m * sizeof *pf); /* twins stay together */
    double bars_r = 0, bars_f = 0;
    for (size_t i = 0; st == TG_OK && i < m; i++) {
        items[m + i] = fake[pf[i]];
        items[i] = real[pr[i]];
        if (cfg->bar_id >= 0) {
            size_t want = eval_count_bars(&items[m + i], cfg->bar_id);
            if (cfg->match_bars) items[i] = eval_crop_bars(items[i], cfg->bar_id, want);
            bars_f += (double)want;
            bars_r += (double)eval_count_bars(&items[i], cfg->bar_id);
        }
    }
    out->real_bars = cfg->bar_id >= 0 ? bars_r / (double)m : NAN;
    out->fake_bars = cfg->bar_id >= 0 ? bars_f / (double)m : NAN;
    free(pr);
    free(pf);
    return st;
}

/* Trains on every fold but f, scores fold f's items into z. */
static tg_status run_fold(const lr_data *d, const eval_critic_config *cfg, int f, const int *fold, float *w,
                          uint8_t *use, double *z, double *train_acc)
{
    for (size_t i = 0; i < d->n; i++) use[i] = fold[i] != f;
    double b;
    tg_status st = lr_train(d, cfg, w, &b);
    if (st != TG_OK) return st;
    size_t right = 0, n = 0;
    for (size_t i = 0; i < d->n; i++) {
        double zi = logit(w, b, &d->x[i]);
        if (use[i]) right += (zi > 0) == (d->y[i] > 0.5f), n++;
        else z[i] = zi;
    }
    *train_acc = n ? (double)right / (double)n : NAN;
    return TG_OK;
}

static void summarize(const double *z, const float *y, size_t n, eval_critic_result *out)
{
    for (size_t i = 0; i < n; i++) out->correct += (z[i] > 0) == (y[i] > 0.5f);
    out->n = n;
    out->accuracy = (double)out->correct / (double)n;
    eval_wilson(out->correct, n, &out->acc_lo, &out->acc_hi);
    out->auc = eval_auc(z, y, n);
    double se = auc_se(out->auc, (double)n / 2, (double)n / 2);
    out->auc_lo = out->auc - 1.959964 * se;
    out->auc_hi = out->auc + 1.959964 * se;
}

tg_status eval_critic(const eval_seq *real, size_t nr, const eval_seq *fake, size_t nf,
                      const eval_critic_config *cfg, eval_critic_result *out)
{
    memset(out, 0, sizeof *out);
    size_t m = nr < nf ? nr : nf;
    if (cfg->folds < 2 || (size_t)cfg->folds > m || cfg->max_n < 1 || cfg->hash_bits < 4 || (cfg->paired && nr != nf) ||
        cfg->hash_bits > 26 || cfg->steps < 1 || !(cfg->lr > 0) || cfg->l2 < 0)
        return TG_ERR_ARG;
    const size_t n = 2 * m, D = (size_t)1 << cfg->hash_bits;
    out->per_class = m;
    eval_seq *items = malloc(n * sizeof *items);
    sparse_vec *x = calloc(n, sizeof *x);
    float *y = malloc(n * sizeof *y), *w = malloc(D * sizeof *w);
    int *fold = malloc(n * sizeof *fold);
    uint8_t *use = malloc(n);
    double *z = malloc(n * sizeof *z);
    tg_status st = items && x && y && w && fold && use && z ? TG_OK : TG_ERR_NOMEM;
    if (st == TG_OK) st = balance(real, nr, fake, nf, cfg, items, out);
    for (size_t i = 0; st == TG_OK && i < n; i++) {
        y[i] = i < m ? 1.0f : 0.0f;
        fold[i] = (int)((i % m) % (size_t)cfg->folds);
        st = ngram_vector(&items[i], cfg->max_n, cfg->hash_bits, &x[i]);
    }
    const lr_data d = {x, y, use, n};
    double acc_sum = 0;
    for (int f = 0; st == TG_OK && f < cfg->folds; f++) {
        double a;
        st = run_fold(&d, cfg, f, fold, w, use, z, &a);
        acc_sum += a;
    }
    if (st == TG_OK) {
        summarize(z, y, n, out);
        out->train_accuracy = acc_sum / cfg->folds;
    }
    for (size_t i = 0; x && i < n; i++) free(x[i].idx), free(x[i].val);
    free(items), free(x), free(y), free(w), free(fold), free(use), free(z);
    return st;
}
