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

/* An n-gram's hash grows a token at a time: x of its first n - 1 tokens and
 * its n-th; its bucket is the top bits of x. */
static uint64_t ngram_step(uint64_t x, uint16_t id, int n) { return mix(x ^ ((uint64_t)id << 8 | (uint64_t)n)); }
static uint32_t ngram_bucket(uint64_t x, uint32_t mask) { return (uint32_t)(x >> 20) & mask; }

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
            x = ngram_step(x, s->ids[i + n - 1], n);
            h[m++] = ngram_bucket(x, mask);
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

eval_seq eval_crop_bar_range(eval_seq s, int bar_id, size_t first, size_t last)
{
    if (first <= 1) return eval_crop_bars(s, bar_id, last);
    size_t seen = 0, start = 0;
    while (start < s.n && !(s.ids[start] == bar_id && ++seen == first)) start++;
    s.ids += start;
    s.n -= start;
    return eval_crop_bars(s, bar_id, last >= first ? last - first + 1 : 0);
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
            double r = (tg_sigmoid(logit(w, *b, &d->x[i])) - d->y[i]) / n_used;
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

/* ------------------------------------------------------------------------ */
/* The balanced items and their features, for the held-out measure and for
 * the tells. */

typedef struct {
    size_t m, n;          /* items per class, in all */
    eval_seq *items;      /* n: reals first */
    sparse_vec *x;
    float *y;
    uint8_t *use;
} critic_data;

static bool config_ok(const eval_critic_config *cfg, size_t nr, size_t nf)
{
    size_t m = nr < nf ? nr : nf;
    return cfg->folds >= 2 && (size_t)cfg->folds <= m && cfg->max_n >= 1 && cfg->hash_bits >= 4 &&
           !(cfg->paired && nr != nf) && cfg->hash_bits <= 26 && cfg->steps >= 1 && cfg->lr > 0 && cfg->l2 >= 0;
}

static void critic_data_free(critic_data *cd)
{
    for (size_t i = 0; cd->x && i < cd->n; i++) free(cd->x[i].idx), free(cd->x[i].val);
    free(cd->items), free(cd->x), free(cd->y), free(cd->use);
}

static tg_status critic_prepare(const eval_seq *real, size_t nr, const eval_seq *fake, size_t nf,
                                const eval_critic_config *cfg, critic_data *cd, eval_critic_result *out)
{
    memset(cd, 0, sizeof *cd);
    cd->m = nr < nf ? nr : nf;
    cd->n = 2 * cd->m;
    out->per_class = cd->m;
    cd->items = malloc(cd->n * sizeof *cd->items);
    cd->x = calloc(cd->n, sizeof *cd->x);
    cd->y = malloc(cd->n * sizeof *cd->y);
    cd->use = malloc(cd->n);
    tg_status st = cd->items && cd->x && cd->y && cd->use ? TG_OK : TG_ERR_NOMEM;
    if (st == TG_OK) st = balance(real, nr, fake, nf, cfg, cd->items, out);
    for (size_t i = 0; st == TG_OK && i < cd->n; i++) {
        cd->y[i] = i < cd->m ? 1.0f : 0.0f;
        st = ngram_vector(&cd->items[i], cfg->max_n, cfg->hash_bits, &cd->x[i]);
    }
    return st;
}

tg_status eval_critic(const eval_seq *real, size_t nr, const eval_seq *fake, size_t nf,
                      const eval_critic_config *cfg, eval_critic_result *out)
{
    memset(out, 0, sizeof *out);
    if (!config_ok(cfg, nr, nf)) return TG_ERR_ARG;
    critic_data cd;
    tg_status st = critic_prepare(real, nr, fake, nf, cfg, &cd, out);
    const size_t n = cd.n, m = cd.m, D = (size_t)1 << cfg->hash_bits;
    float *w = malloc(D * sizeof *w);
    int *fold = malloc((n ? n : 1) * sizeof *fold);
    double *z = malloc((n ? n : 1) * sizeof *z);
    if (st == TG_OK && !(w && fold && z)) st = TG_ERR_NOMEM;
    for (size_t i = 0; st == TG_OK && i < n; i++) fold[i] = (int)((i % m) % (size_t)cfg->folds);
    const lr_data d = {cd.x, cd.y, cd.use, n};
    double acc_sum = 0;
    for (int f = 0; st == TG_OK && f < cfg->folds; f++) {
        double a;
        st = run_fold(&d, cfg, f, fold, w, cd.use, z, &a);
        acc_sum += a;
    }
    if (st == TG_OK) {
        summarize(z, cd.y, n, out);
        out->train_accuracy = acc_sum / cfg->folds;
    }
    critic_data_free(&cd);
    free(w), free(fold), free(z);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Tells: what the critic, trained on every item, reads as real or sampled. */

/* The k buckets of largest weight (sign +1) or smallest (sign -1), nonzero,
 * in order, into top; returns how many. */
static int pick_buckets(const float *w, size_t D, int k, int sign, uint32_t *top)
{
    int n = 0;
    for (size_t j = 0; j < D; j++) {
        const float v = sign * w[j];
        if (!(v > 0) || (n == k && v <= sign * w[top[n - 1]])) continue;
        int at = n < k ? n++ : k - 1;
        while (at > 0 && sign * w[top[at - 1]] < v) top[at] = top[at - 1], at--;
        top[at] = (uint32_t)j;
    }
    return n;
}

typedef struct {
    uint16_t tell, n, cls;
    uint16_t ids[EVAL_TELL_MAX_N];
} tell_hit;

static int cmp_hit(const void *pa, const void *pb)
{
    const tell_hit *a = pa, *b = pb;
    if (a->tell != b->tell) return (a->tell > b->tell) - (a->tell < b->tell);
    if (a->n != b->n) return (a->n > b->n) - (a->n < b->n);
    return memcmp(a->ids, b->ids, sizeof a->ids);
}

/* Every n-gram of the items that falls in one of the tells' buckets. */
static tg_status collect_hits(const critic_data *cd, int max_n, int bits, const uint32_t *top, int nt,
                              tell_hit **out, size_t *n_out)
{
    const size_t D = (size_t)1 << bits;
    uint16_t *tell_of = calloc(D, sizeof *tell_of); /* bucket -> its tell + 1, 0: none */
    size_t cap = 1024, n = 0;
    tell_hit *h = malloc(cap * sizeof *h);
    if (!tell_of || !h) {
        free(tell_of), free(h);
        return TG_ERR_NOMEM;
    }
    for (int t = 0; t < nt; t++) tell_of[top[t]] = (uint16_t)(t + 1);
    const uint32_t mask = (uint32_t)(D - 1);
    for (size_t i = 0; i < cd->n; i++) {
        const eval_seq *s = &cd->items[i];
        for (size_t p = 0; p < s->n; p++) {
            uint64_t x = 0;
            for (int k = 1; k <= max_n && p + (size_t)k <= s->n; k++) {
                x = ngram_step(x, s->ids[p + k - 1], k);
                const int t = tell_of[ngram_bucket(x, mask)] - 1;
                if (t < 0) continue;
                if (n == cap) {
                    tell_hit *g = realloc(h, 2 * cap * sizeof *h);
                    if (!g) {
                        free(tell_of), free(h);
                        return TG_ERR_NOMEM;
                    }
                    h = g, cap *= 2;
                }
                memset(&h[n], 0, sizeof h[n]);
                h[n].tell = (uint16_t)t, h[n].n = (uint16_t)k, h[n].cls = cd->y[i] > 0.5f;
                memcpy(h[n].ids, s->ids + p, (size_t)k * sizeof *s->ids);
                n++;
            }
        }
    }
    free(tell_of);
    *out = h, *n_out = n;
    return TG_OK;
}

/* For each tell (a run of hits sorted by tell, n-gram), the most frequent
 * n-gram among its hits, its counts per class, and its share of the hits. */
static void name_tells(const tell_hit *h, size_t n, eval_critic_tell *tells)
{
    for (size_t g0 = 0; g0 < n;) {
        size_t g1 = g0, best = 0;
        while (g1 < n && h[g1].tell == h[g0].tell) g1++;
        eval_critic_tell *t = &tells[h[g0].tell];
        for (size_t i = g0; i < g1;) {
            size_t j = i, real = 0;
            while (j < g1 && cmp_hit(&h[i], &h[j]) == 0) real += h[j].cls, j++;
            if (j - i > best) {
                best = j - i;
                t->n = h[i].n;
                memcpy(t->ids, h[i].ids, sizeof t->ids);
                t->real_count = real, t->fake_count = j - i - real;
            }
            i = j;
        }
        t->share = (double)best / (double)(g1 - g0);
        g0 = g1;
    }
}

/* n-grams that occur together wherever they occur (a Program and a Velocity
 * before every note, a Pitch with either; a bigram and its two tokens) are
 * one fact to the critic, their weight shared among their buckets: tells
 * with the same counts in both sets whose n-grams share a token with the
 * group, or whose weights are equal (equal feature columns), are merged,
 * the group named by its shortest n-gram. */
enum { TELL_SPARE = 4, GROUP_IDS = 4 * EVAL_TELL_MAX_N };

typedef struct {
    uint16_t ids[GROUP_IDS]; /* the tokens of the group's n-grams (the first GROUP_IDS) */
    int n;
} tell_group;

static bool joins(const tell_group *g, const eval_critic_tell *kept, const eval_critic_tell *t)
{
    if (t->real_count != kept->real_count || t->fake_count != kept->fake_count) return false;
    if (fabs(t->weight - kept->weight) <= 1e-6 * fabs(kept->weight)) return true; /* equal columns */
    for (int i = 0; i < t->n; i++)
        for (int j = 0; j < g->n; j++)
            if (t->ids[i] == g->ids[j]) return true;
    return false;
}

static void add_ids(tell_group *g, const eval_critic_tell *t)
{
    for (int i = 0; i < t->n && g->n < GROUP_IDS; i++) g->ids[g->n++] = t->ids[i];
}

/* The first k facts of cand (in weight order) into out; returns how many. */
static int merge_repeats(const eval_critic_tell *cand, int n, int k, eval_critic_tell *out)
{
    tell_group g[EVAL_MAX_TELLS];
    int m = 0;
    for (int i = 0; i < n; i++) {
        int j = 0;
        while (j < m && !joins(&g[j], &out[j], &cand[i])) j++;
        if (j < m) {
            add_ids(&g[j], &cand[i]);
            if (cand[i].n > 0 && cand[i].n < out[j].n) {
                const double w = out[j].weight; /* the group keeps its strongest weight */
                out[j] = cand[i];
                out[j].weight = w;
            }
        } else if (m < k) {
            g[m].n = 0;
            add_ids(&g[m], &cand[i]);
            out[m++] = cand[i];
        }
    }
    return m;
}

tg_status eval_critic_tells(const eval_seq *real, size_t nr, const eval_seq *fake, size_t nf,
                            const eval_critic_config *cfg, int k, eval_critic_tell *tells, int *n_real,
                            int *n_fake)
{
    *n_real = *n_fake = 0;
    if (!config_ok(cfg, nr, nf) || k < 1 || k > EVAL_MAX_TELLS || cfg->max_n > EVAL_TELL_MAX_N) return TG_ERR_ARG;
    eval_critic_result res;
    memset(&res, 0, sizeof res);
    critic_data cd;
    tg_status st = critic_prepare(real, nr, fake, nf, cfg, &cd, &res);
    const size_t D = (size_t)1 << cfg->hash_bits;
    float *w = malloc(D * sizeof *w);
    if (st == TG_OK && !w) st = TG_ERR_NOMEM;
    double b;
    if (st == TG_OK) {
        memset(cd.use, 1, cd.n);
        const lr_data d = {cd.x, cd.y, cd.use, cd.n};
        st = lr_train(&d, cfg, w, &b);
    }
    /* TELL_SPARE times the buckets asked for, so that after the repeats are
     * merged there are k left */
    enum { CAND = TELL_SPARE * EVAL_MAX_TELLS };
    uint32_t top[2 * CAND];
    eval_critic_tell cand[2 * CAND];
    tell_hit *hits = NULL;
    size_t n_hits = 0;
    int c_real = 0, c_fake = 0;
    if (st == TG_OK) {
        c_real = pick_buckets(w, D, TELL_SPARE * k, +1, top);
        c_fake = pick_buckets(w, D, TELL_SPARE * k, -1, top + c_real);
        st = collect_hits(&cd, cfg->max_n, cfg->hash_bits, top, c_real + c_fake, &hits, &n_hits);
    }
    if (st == TG_OK) {
        memset(cand, 0, (size_t)(c_real + c_fake) * sizeof *cand);
        for (int t = 0; t < c_real + c_fake; t++) cand[t].weight = w[top[t]];
        qsort(hits, n_hits, sizeof *hits, cmp_hit);
        name_tells(hits, n_hits, cand);
        *n_real = merge_repeats(cand, c_real, k, tells);
        *n_fake = merge_repeats(cand + c_real, c_fake, k, tells + *n_real);
    }
    free(hits);
    free(w);
    critic_data_free(&cd);
    return st;
}

/* ------------------------------------------------------------------------ */
/* The critic as a reward (src/train/critic_reward.c): fitted on every item,
 * then read at every prefix. */

tg_status eval_critic_fit(const eval_seq *items, const float *y, size_t n, const eval_critic_config *cfg,
                          float *w, double *b, double *z_before, double *z_after)
{
    if (n == 0 || cfg->max_n < 1 || cfg->hash_bits < 4 || cfg->hash_bits > 26 || cfg->steps < 1 || !(cfg->lr > 0) ||
        !(cfg->l2 >= 0))
        return TG_ERR_ARG;
    sparse_vec *x = calloc(n, sizeof *x);
    uint8_t *use = malloc(n);
    tg_status st = x && use ? TG_OK : TG_ERR_NOMEM;
    for (size_t i = 0; st == TG_OK && i < n; i++) st = ngram_vector(&items[i], cfg->max_n, cfg->hash_bits, &x[i]);
    for (size_t i = 0; st == TG_OK && z_before && i < n; i++) z_before[i] = logit(w, *b, &x[i]);
    if (st == TG_OK) {
        memset(use, 1, n);
        const lr_data d = {x, y, use, n};
        st = lr_train(&d, cfg, w, b);
    }
    for (size_t i = 0; st == TG_OK && z_after && i < n; i++) z_after[i] = logit(w, *b, &x[i]);
    for (size_t i = 0; x && i < n; i++) free(x[i].idx), free(x[i].val);
    free(x), free(use);
    return st;
}

tg_status eval_critic_logit(const float *w, double b, const eval_critic_config *cfg, const eval_seq *s, double *z)
{
    sparse_vec x;
    tg_status st = ngram_vector(s, cfg->max_n, cfg->hash_bits, &x);
    if (st == TG_OK) *z = x.n ? logit(w, b, &x) : b;
    free(x.idx), free(x.val);
    return st;
}

/* The bucket of the n-gram s[start..p]; the first start of an n-gram ending
 * at p. */
static uint32_t ngram_bucket_of(const eval_seq *s, size_t start, size_t p, uint32_t mask)
{
    uint64_t x = 0;
    for (size_t k = start; k <= p; k++) x = ngram_step(x, s->ids[k], (int)(k - start + 1));
    return ngram_bucket(x, mask);
}
static size_t first_start(size_t p, int max_n) { return p + 1 >= (size_t)max_n ? p + 1 - (size_t)max_n : 0; }

void eval_critic_prefix_logits(const float *w, double b, const eval_critic_config *cfg, const eval_seq *s, double *z,
                               uint32_t *counts)
{
    const uint32_t mask = (uint32_t)((1ULL << cfg->hash_bits) - 1);
    double dot = 0, sumsq = 0; /* w . counts and |counts|^2, as the n-grams ending at p join */
    for (size_t p = 0; p < s->n; p++) {
        for (size_t start = first_start(p, cfg->max_n); start <= p; start++) {
            const uint32_t j = ngram_bucket_of(s, start, p, mask);
            dot += w[j];
            sumsq += 2.0 * counts[j] + 1.0;
            counts[j]++;
        }
        z[p] = b + dot / sqrt(sumsq);
    }
    for (size_t p = 0; p < s->n; p++) /* the counts back to zero */
        for (size_t start = first_start(p, cfg->max_n); start <= p; start++) counts[ngram_bucket_of(s, start, p, mask)] = 0;
}
