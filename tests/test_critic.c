/*
 * test_critic.c: the fresh critic of src/eval/critic.c and the distinct
 * windows of src/eval/structure.c.
 *
 *   Wilson intervals against Newcombe (1998, Statistics in Medicine 17:857,
 *   table II, method 3) to four decimals; AUC against counting every
 *   (positive, negative) pair, ties half; bar counting and cropping;
 *   the critic on synthetic token sequences: two sets from one
 *   distribution score about 50 % (over several seeds), a set whose pieces
 *   carry one extra bigram scores near 100 %, the same seed repeats the
 *   result, twins (paired sets) score below 50 % unless kept in one fold,
 *   real pieces are cut to their partners' bar counts, and bad
 *   configurations are refused; the tells name the planted n-grams (each
 *   set's own bigram first, its n-grams merged into one tell, with its
 *   counts: one a piece, none in the other set); distinct windows of
 *   hand-made scores; the critic as a reward: fitted on every item, its
 *   prefix logits of one pass against each prefix scored alone.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "test.h"

static void test_wilson(void)
{
    const struct { size_t k, n; double lo, hi; } t[] = {
        {81, 263, 0.2553, 0.3662}, {15, 148, 0.0624, 0.1605}, {0, 20, 0.0000, 0.1611}, {1, 29, 0.0061, 0.1718},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        double lo, hi;
        eval_wilson(t[i].k, t[i].n, &lo, &hi);
        CHECK_NEAR(lo, t[i].lo, 6e-5);
        CHECK_NEAR(hi, t[i].hi, 6e-5);
    }
    double lo, hi;
    eval_wilson(0, 0, &lo, &hi);
    CHECK(isnan(lo) && isnan(hi));
}

static void test_auc(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 5);
    enum { N = 300 };
    double z[N];
    float y[N];
    for (int i = 0; i < N; i++) {
        y[i] = tg_rng_below(&rng, 2) ? 1.0f : 0.0f;
        z[i] = (double)tg_rng_below(&rng, 20) + (y[i] > 0.5f ? 3 : 0); /* many ties */
    }
    double wins = 0, pairs = 0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            if (y[i] > 0.5f && y[j] < 0.5f) {
                wins += z[i] > z[j] ? 1 : z[i] == z[j] ? 0.5 : 0;
                pairs++;
            }
    CHECK_NEAR(eval_auc(z, y, N), wins / pairs, 1e-12);
    float one[3] = {1, 1, 1};
    CHECK(isnan(eval_auc(z, one, 3)));
}

enum { BAR = 3 };

static void test_bars(void)
{
    const uint16_t ids[] = {BAR, 10, 11, BAR, 12, BAR, BAR, 13};
    eval_seq s = {ids, 8};
    CHECK_INT((int)eval_count_bars(&s, BAR), 4);
    CHECK_INT((int)eval_crop_bars(s, BAR, 2).n, 5);
    CHECK_INT((int)eval_crop_bars(s, BAR, 0).n, 0);
    CHECK_INT((int)eval_crop_bars(s, BAR, 9).n, 8);
    eval_seq r = eval_crop_bar_range(s, BAR, 2, 3); /* Bar 12 Bar */
    CHECK_INT((int)r.n, 3);
    CHECK(r.ids == ids + 3);
    r = eval_crop_bar_range(s, BAR, 4, 9); /* Bar 13 */
    CHECK_INT((int)r.n, 2);
    CHECK(r.ids == ids + 6);
    CHECK_INT((int)eval_crop_bar_range(s, BAR, 1, 2).n, 5); /* as eval_crop_bars */
    CHECK_INT((int)eval_crop_bar_range(s, BAR, 5, 6).n, 0); /* no bar 5 */
}

/* n sequences of bars bars, each bar "Bar a b c d" with tokens drawn from
 * 10..29; with tell, one bar in each piece holds the bigram (40, 41). */
typedef struct {
    uint16_t *ids;
    eval_seq *seqs;
} seq_set;

static seq_set make_set(tg_rng *rng, int n, int bars, bool tell)
{
    seq_set s = {malloc((size_t)n * bars * 5 * sizeof(uint16_t)), malloc((size_t)n * sizeof(eval_seq))};
    for (int i = 0; i < n; i++) {
        uint16_t *p = s.ids + (size_t)i * bars * 5;
        int marked = (int)tg_rng_below(rng, (uint32_t)bars);
        for (int b = 0; b < bars; b++) {
            p[b * 5] = BAR;
            for (int k = 1; k < 5; k++) p[b * 5 + k] = (uint16_t)(10 + tg_rng_below(rng, 20));
            if (tell && b == marked) p[b * 5 + 1] = 40, p[b * 5 + 2] = 41;
        }
        s.seqs[i] = (eval_seq){p, (size_t)bars * 5};
    }
    return s;
}

/* One piece's bar b set to "Bar x y c d" (the planted bigram x y). */
static void plant(seq_set *s, int bars, int i, int b, uint16_t x, uint16_t y)
{
    s->ids[((size_t)i * bars + b) * 5 + 1] = x, s->ids[((size_t)i * bars + b) * 5 + 2] = y;
}

static void free_set(seq_set *s)
{
    free(s->ids);
    free(s->seqs);
}

static void test_critic_null_and_tell(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 11);
    eval_critic_config cfg = eval_critic_config_default();
    cfg.bar_id = BAR;
    cfg.hash_bits = 14;
    cfg.steps = 100;
    double sum = 0;
    for (int seed = 1; seed <= 4; seed++) {
        seq_set a = make_set(&rng, 120, 8, false), b = make_set(&rng, 120, 8, false);
        eval_critic_result r;
        cfg.seed = (uint64_t)seed;
        CHECK_STATUS(eval_critic(a.seqs, 120, b.seqs, 120, &cfg, &r), TG_OK);
        CHECK_INT((int)r.n, 240);
        CHECK(r.acc_lo < 0.5 + 0.1 && r.acc_hi > 0.5 - 0.1); /* an interval near 50 % */
        sum += r.accuracy;
        free_set(&a), free_set(&b);
    }
    CHECK_NEAR(sum / 4, 0.5, 0.06);
    seq_set a = make_set(&rng, 100, 8, false), b = make_set(&rng, 100, 8, true);
    eval_critic_result r, again;
    CHECK_STATUS(eval_critic(a.seqs, 100, b.seqs, 100, &cfg, &r), TG_OK);
    CHECK(r.accuracy > 0.9);
    CHECK(r.auc > 0.95);
    CHECK(r.acc_lo <= r.accuracy && r.accuracy <= r.acc_hi);
    CHECK_STATUS(eval_critic(a.seqs, 100, b.seqs, 100, &cfg, &again), TG_OK);
    CHECK(again.correct == r.correct && again.auc == r.auc);
    cfg.folds = 101;
    CHECK_STATUS(eval_critic(a.seqs, 100, b.seqs, 100, &cfg, &r), TG_ERR_ARG);
    cfg.folds = 5, cfg.steps = 0;
    CHECK_STATUS(eval_critic(a.seqs, 100, b.seqs, 100, &cfg, &r), TG_ERR_ARG);
    free_set(&a), free_set(&b);
}

/* Twins (b[i] is a[i] with its last half drawn again, as an infill of
 * a[i]) from one distribution: shuffled apart, a twin in the training folds
 * teaches the shared n-grams with the other label and the critic scores
 * below 50 %; paired, each pair in one fold, it scores about 50 %. */
static void test_critic_paired(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 23);
    const int n = 100, bars = 8;
    seq_set a = make_set(&rng, n, bars, false), b = make_set(&rng, n, bars, false);
    for (int i = 0; i < n; i++) memcpy(b.ids + (size_t)i * bars * 5, a.ids + (size_t)i * bars * 5, 4 * 5 * sizeof(uint16_t));
    eval_critic_config cfg = eval_critic_config_default();
    cfg.bar_id = BAR;
    cfg.hash_bits = 14;
    cfg.steps = 100;
    double apart = 0, paired = 0;
    for (int seed = 1; seed <= 3; seed++) {
        eval_critic_result r;
        cfg.seed = (uint64_t)seed;
        cfg.paired = false;
        CHECK_STATUS(eval_critic(a.seqs, n, b.seqs, n, &cfg, &r), TG_OK);
        apart += r.accuracy / 3;
        cfg.paired = true;
        CHECK_STATUS(eval_critic(a.seqs, n, b.seqs, n, &cfg, &r), TG_OK);
        paired += r.accuracy / 3;
    }
    CHECK(apart < 0.4);
    CHECK_NEAR(paired, 0.5, 0.06);
    eval_critic_result r;
    CHECK_STATUS(eval_critic(a.seqs, n, b.seqs, n - 1, &cfg, &r), TG_ERR_ARG); /* twins need equal counts */
    printf("test_critic_paired: accuracy %.3f shuffled apart, %.3f paired (3 seeds)\n", apart, paired);
    free_set(&a), free_set(&b);
}

static void test_critic_matching(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 3);
    seq_set real = make_set(&rng, 30, 12, false), fake = make_set(&rng, 20, 6, false);
    for (int i = 0; i < 20; i++) fake.seqs[i].n = (size_t)(5 * (3 + i % 4)); /* 3..6 bars */
    eval_critic_config cfg = eval_critic_config_default();
    cfg.bar_id = BAR, cfg.hash_bits = 12, cfg.steps = 20;
    eval_critic_result r;
    CHECK_STATUS(eval_critic(real.seqs, 30, fake.seqs, 20, &cfg, &r), TG_OK);
    CHECK_INT((int)r.per_class, 20);
    CHECK_NEAR(r.real_bars, r.fake_bars, 1e-12);
    CHECK_NEAR(r.fake_bars, 4.5, 1e-12);
    cfg.match_bars = false;
    CHECK_STATUS(eval_critic(real.seqs, 30, fake.seqs, 20, &cfg, &r), TG_OK);
    CHECK_NEAR(r.real_bars, 12, 1e-12);
    free_set(&real), free_set(&fake);
}

/* A one-track score of bars 4/4 bars at 480 ticks per quarter; bar b holds
 * one quarter note of pitch pitches[b % period]. */
static tg_score *cycle_score(int bars, const int *pitches, int period)
{
    tg_score *s = NULL;
    size_t t;
    CHECK_OK(tg_score_create(480, &s));
    if (!s) return NULL;
    CHECK_OK(tg_score_add_track(s, "melody", 0, 0, -1, &t));
    for (int b = 0; b < bars; b++)
        CHECK_OK(tg_score_add_note(s, t, (tg_note){(int64_t)b * 1920, (int64_t)b * 1920 + 480,
                                                   (uint8_t)pitches[b % period], 80, 0}));
    tg_score_sort(s);
    return s;
}

static void test_distinct_windows(void)
{
    const int cyc[4] = {60, 62, 64, 65}, rising[16] = {60, 61, 62, 63, 64, 65, 66, 67,
                                                        68, 69, 70, 71, 72, 73, 74, 75};
    eval_piece pieces[2] = {{.score = cycle_score(16, cyc, 4)}, {.score = cycle_score(16, rising, 16)}};
    eval_set set = {.pieces = pieces, .n = 1};
    eval_structure_config cfg = eval_structure_config_default();
    eval_distinct_result d;
    /* cycling through 4 bars: 13 windows, 4 distinct ones */
    CHECK_STATUS(eval_distinct_windows(&set, &cfg, &d), TG_OK);
    CHECK_INT((int)d.windows, 13);
    CHECK_INT((int)d.distinct, 4);
    CHECK_NEAR(d.share, 4.0 / 13, 1e-12);
    /* a rising line repeats nothing; the two pieces share nothing */
    set.n = 2;
    CHECK_STATUS(eval_distinct_windows(&set, &cfg, &d), TG_OK);
    CHECK_INT((int)d.windows, 26);
    CHECK_INT((int)d.distinct, 17);
    /* the same piece twice: nothing new */
    tg_score_free(pieces[1].score);
    pieces[1].score = pieces[0].score;
    CHECK_STATUS(eval_distinct_windows(&set, &cfg, &d), TG_OK);
    CHECK_INT((int)d.distinct, 4);
    cfg.max_bars = 8; /* windows starting in the first 8 bars only: 5, of which 4 distinct */
    set.n = 1;
    CHECK_STATUS(eval_distinct_windows(&set, &cfg, &d), TG_OK);
    CHECK_INT((int)d.windows, 5);
    CHECK_INT((int)d.distinct, 4);
    tg_score_free(pieces[0].score);
}

/* Whether a tell's n-gram holds token lo or hi. */
static bool holds(const eval_critic_tell *t, int lo, int hi)
{
    for (int i = 0; i < t->n; i++)
        if (t->ids[i] == lo || t->ids[i] == hi) return true;
    return false;
}

/* Real pieces carry (40, 41) in one bar, sampled ones (50, 51): the
 * strongest tell of each side is that bigram (one fact, however many of its
 * n-grams), counted once a piece in its own set and never in the other. */
static void test_critic_tells(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 12);
    seq_set a = make_set(&rng, 60, 8, true), b = make_set(&rng, 60, 8, false);
    for (int i = 0; i < 60; i++) plant(&b, 8, i, (int)tg_rng_below(&rng, 8), 50, 51);
    eval_critic_config cfg = eval_critic_config_default();
    cfg.bar_id = BAR;
    cfg.hash_bits = 14;
    cfg.steps = 100;
    eval_critic_tell t[6];
    int nr = 0, nf = 0;
    CHECK_STATUS(eval_critic_tells(a.seqs, 60, b.seqs, 60, &cfg, 3, t, &nr, &nf), TG_OK);
    CHECK_INT(nr, 3);
    CHECK_INT(nf, 3);
    for (int k = 0; k < 3; k++) {
        CHECK(t[k].weight > 0 && t[3 + k].weight < 0);
        CHECK(k == 0 || (t[k - 1].weight > t[k].weight && t[3 + k - 1].weight < t[3 + k].weight)); /* in order */
    }
    /* the strongest of each side: the planted bigram's n-grams (with the Bar
     * before it, all once a piece: one fact, equal weights) shown once, by a
     * single token of it, counted once a piece in its own set only */
    const eval_critic_tell *r = &t[0], *f = &t[3];
    CHECK(r->n == 1 && holds(r, 40, 41) && f->n == 1 && holds(f, 50, 51));
    CHECK(r->real_count == 60 && r->fake_count == 0);
    CHECK(f->fake_count == 60 && f->real_count == 0);
    CHECK(r->share > 0.9 && f->share > 0.9);
    for (int k = 1; k < 3; k++) CHECK(!holds(&t[k], 40, 41) && !holds(&t[3 + k], 50, 51)); /* merged */
    CHECK_STATUS(eval_critic_tells(a.seqs, 60, b.seqs, 60, &cfg, 0, t, &nr, &nf), TG_ERR_ARG);
    cfg.max_n = EVAL_TELL_MAX_N + 1;
    CHECK_STATUS(eval_critic_tells(a.seqs, 60, b.seqs, 60, &cfg, 3, t, &nr, &nf), TG_ERR_ARG);
    free_set(&a), free_set(&b);
}

/* The critic as a reward: fitted on every item, it reads the planted bigram
 * (sampled pieces without it score lower); the prefix logits of one pass
 * are the logits of each prefix scored alone, the counts given back zero;
 * a prefix that has seen the bigram scores higher than it did before. */
static void test_critic_prefix(void)
{
    tg_rng rng;
    tg_rng_seed(&rng, 23);
    eval_critic_config cfg = eval_critic_config_default();
    cfg.hash_bits = 12;
    cfg.steps = 100;
    const size_t D = (size_t)1 << cfg.hash_bits;
    seq_set a = make_set(&rng, 40, 6, true), b = make_set(&rng, 40, 6, false);
    eval_seq items[80];
    float y[80];
    for (int i = 0; i < 40; i++) items[i] = a.seqs[i], y[i] = 1, items[40 + i] = b.seqs[i], y[40 + i] = 0;
    float *w = malloc(D * sizeof *w);
    uint32_t *counts = calloc(D, sizeof *counts);
    double bias, z[30], zr = 0, zf = 0;
    CHECK_STATUS(eval_critic_fit(items, y, 80, &cfg, w, &bias, NULL, NULL), TG_OK);
    int right = 0;
    for (int i = 0; i < 80; i++) {
        double zi;
        CHECK_STATUS(eval_critic_logit(w, bias, &cfg, &items[i], &zi), TG_OK);
        right += (zi > 0) == (y[i] > 0.5f);
        *(i < 40 ? &zr : &zf) += zi / 40;
    }
    CHECK(right >= 76);
    CHECK(zr > zf + 1);
    double worst = 0;
    int rises = 0;
    for (int i = 0; i < 80; i += 7) {
        const eval_seq *s = &items[i];
        eval_critic_prefix_logits(w, bias, &cfg, s, z, counts);
        for (size_t p = 0; p < s->n; p++) {
            eval_seq pre = {s->ids, p + 1};
            double ref;
            CHECK_STATUS(eval_critic_logit(w, bias, &cfg, &pre, &ref), TG_OK);
            worst = fmax(worst, fabs(z[p] - ref) / (1 + fabs(ref)));
            if (p > 0 && s->ids[p - 1] == 40 && s->ids[p] == 41) rises += z[p] > z[p - 1];
        }
    }
    size_t nonzero = 0;
    for (size_t j = 0; j < D; j++) nonzero += counts[j] != 0;
    printf("critic prefix logits: worst relative difference %.2e from the one-piece logits; %d rises at the bigram\n",
           worst, rises);
    CHECK(worst < 1e-5);
    CHECK(rises >= 4);
    CHECK_INT((int)nonzero, 0);
    cfg.steps = 0;
    CHECK_STATUS(eval_critic_fit(items, y, 80, &cfg, w, &bias, NULL, NULL), TG_ERR_ARG);
    free(w), free(counts);
    free_set(&a), free_set(&b);
}

int main(void)
{
    test_wilson();
    test_auc();
    test_bars();
    test_critic_null_and_tell();
    test_critic_paired();
    test_critic_matching();
    test_critic_tells();
    test_critic_prefix();
    test_distinct_windows();
    return test_finish("test_critic");
}
