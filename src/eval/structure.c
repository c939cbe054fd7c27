/*
 * structure.c: musical form, measured by bar similarity (Museformer: Yu et
 * al., "Museformer: Transformer with Fine- and Coarse-Grained Attention for
 * Music Generation", NeurIPS 2022, section 4.2), and how much of a set of
 * samples is copied verbatim from the training pieces.
 *
 * Notes. A note is the triple (onset within its bar, pitch, duration), both
 * times in steps of a grid (steps_per_quarter, 12 by default: remi's, so a
 * decoded score is measured exactly); tracks are merged and a triple counts
 * once per bar however many tracks play it (Nottingham's melody and chords
 * are both program 0, so a track or program field would change nothing
 * there); drum notes keep a flag, so a drum hit never equals a pitched note.
 * A note belongs to the bar its onset falls in; its duration is kept whole,
 * not cut at the bar line. Bar lines come from the score's meter map
 * (tg_score_bar_lines: 4/4 until the first time signature, the first bar at
 * tick 0); a piece has bars up to the one holding its last onset, and only
 * its first max_bars of them are used (32 by default; 0: all).
 *
 * Bar similarity of bars i and j: |N_i ∩ N_j| / |N_i ∪ N_j|, N the bar's set
 * of triples; a pair where both bars are empty is skipped, a pair with one
 * empty bar counts as 0. The profile at distance d: the mean over every pair
 * (i, i + d) of every piece of the set, pooled, so a piece weighs by its
 * number of pairs. This is the reading that reproduces issue 18's figures for
 * Nottingham's test split (d = 16: 0.349 pooled against its 0.348; the mean
 * of per-piece means, kept in `piece_mean`, gives 0.322, since pieces shorter
 * than 32 bars have few pairs at large d and each would weigh as much as a
 * whole one). Similarity error (Museformer's SE):
 * the mean over d = 1..D of |profile_a(d) - profile_b(d)|, over the d where
 * both profiles are defined.
 *
 * Verbatim-copy rate: every window of 4 consecutive bars of a sample (every
 * start bar, inside its first max_bars), its notes as triples relative to the
 * window's start, is looked up among the windows of the training pieces
 * (whole pieces: every start bar). The rate is the fraction of the samples'
 * windows found; a window without a note is not counted (an empty stretch
 * would match any other). Windows are compared by a 64-bit hash of their
 * sorted triples (splitmix64 chained), so a false match has probability about
 * n_windows * 2^-64.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

eval_structure_config eval_structure_config_default(void)
{
    return (eval_structure_config){.max_distance = 16, .max_bars = 32, .steps_per_quarter = 12,
                                   .window_bars = 4};
}

/* ------------------------------------------------------------------------ */
/* A piece as bars of note keys. */

/* A key packs a triple so that keys sort by onset first:
 * onset (24 bits) | drum (1) | pitch (7) | duration (32). */
#define KEY_ONSET_SHIFT 40
#define KEY_MAX_ONSET ((1LL << 24) - 1)
#define KEY_MAX_DUR ((1LL << 32) - 1)

typedef struct {
    uint64_t *keys;      /* sorted and distinct within each bar */
    size_t *first;       /* bar b holds keys[first[b] .. first[b + 1]) */
    int64_t *start_step; /* bar b starts at this step */
    size_t n_bars;
} bar_notes;

static void bar_notes_free(bar_notes *b)
{
    free(b->keys);
    free(b->first);
    free(b->start_step);
    memset(b, 0, sizeof *b);
}

static int64_t to_step(const tg_score *s, int64_t ticks, int spq)
{
    if (s->ticks_per_quarter <= 0) return ticks; /* SMPTE: ticks are the grid */
    int64_t tpq = s->ticks_per_quarter;
    return (ticks * spq * 2 + tpq) / (2 * tpq);
}

typedef struct {
    size_t bar;
    uint64_t key;
} bar_key;

static int cmp_bar_key(const void *pa, const void *pb)
{
    const bar_key *a = pa, *b = pb;
    if (a->bar != b->bar) return (a->bar > b->bar) - (a->bar < b->bar);
    return (a->key > b->key) - (a->key < b->key);
}

/* The notes of the first max_bars bars (0: all) of a score, by bar. */
static tg_status piece_bars(const tg_score *s, int max_bars, int spq, bar_notes *out)
{
    memset(out, 0, sizeof *out);
    size_t n = tg_score_note_count(s);
    if (n == 0) return TG_OK;
    int64_t last = 0;
    for (size_t t = 0; t < s->n_tracks; t++)
        for (size_t i = 0; i < s->tracks[t].n_notes; i++)
            if (s->tracks[t].notes[i].start_ticks > last) last = s->tracks[t].notes[i].start_ticks;
    int64_t *lines = NULL;
    size_t n_lines = 0;
    tg_status st = tg_score_bar_lines(s, last + 1, &lines, &n_lines);
    if (st != TG_OK) return st;
    /* lines[0] = 0 < ... and the last line lies past the last onset */
    size_t n_bars = n_lines - 1;
    if (max_bars > 0 && n_bars > (size_t)max_bars) n_bars = (size_t)max_bars;
    bar_key *v = malloc(n * sizeof *v);
    out->first = calloc(n_bars + 1, sizeof *out->first);
    out->start_step = malloc(n_bars * sizeof *out->start_step);
    out->keys = malloc(n * sizeof *out->keys);
    if (!v || !out->first || !out->start_step || !out->keys) {
        free(v);
        free(lines);
        bar_notes_free(out);
        return TG_ERR_NOMEM;
    }
    size_t k = 0;
    for (size_t t = 0; t < s->n_tracks; t++) {
        const tg_track *tr = &s->tracks[t];
        for (size_t i = 0; i < tr->n_notes; i++) {
            const tg_note *no = &tr->notes[i];
            /* the bar holding the onset: the last line at or before it */
            size_t lo = 0, hi = n_lines - 1; /* lines[lo] <= start < lines[hi] */
            while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (lines[mid] <= no->start_ticks) lo = mid;
                else hi = mid;
            }
            if (lo >= n_bars) continue;
            int64_t on = to_step(s, no->start_ticks, spq), off = to_step(s, no->end_ticks, spq);
            int64_t onset = on - to_step(s, lines[lo], spq), dur = off - on;
            if (onset < 0) onset = 0;
            if (onset > KEY_MAX_ONSET) onset = KEY_MAX_ONSET;
            if (dur < 1) dur = 1;
            if (dur > KEY_MAX_DUR) dur = KEY_MAX_DUR;
            uint64_t key = (uint64_t)onset << KEY_ONSET_SHIFT | (uint64_t)(tr->is_drum ? 1 : 0) << 39 |
                           (uint64_t)(no->pitch & 127) << 32 | (uint64_t)dur;
            v[k++] = (bar_key){lo, key};
        }
    }
    qsort(v, k, sizeof *v, cmp_bar_key);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        if (i > 0 && v[i].bar == v[i - 1].bar && v[i].key == v[i - 1].key) continue; /* counted once */
        out->keys[m++] = v[i].key;
        out->first[v[i].bar + 1]++;
    }
    for (size_t b = 0; b < n_bars; b++) {
        out->first[b + 1] += out->first[b];
        out->start_step[b] = to_step(s, lines[b], spq);
    }
    out->n_bars = n_bars;
    free(v);
    free(lines);
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Bar-similarity profile. */

/* |a ∩ b| of two sorted distinct arrays. */
static size_t intersection(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    size_t i = 0, j = 0, c = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) i++;
        else if (a[i] > b[j]) j++;
        else {
            c++;
            i++;
            j++;
        }
    }
    return c;
}

tg_status eval_bar_similarity(const eval_set *set, const eval_structure_config *cfg, eval_bar_profile *out)
{
    memset(out, 0, sizeof *out);
    int D = cfg->max_distance;
    if (D < 1 || D > EVAL_SIM_MAX_D || cfg->max_bars < 0 || cfg->steps_per_quarter < 1) return TG_ERR_ARG;
    out->max_distance = D;
    double piece_sum[EVAL_SIM_MAX_D + 1] = {0}, pair_sum[EVAL_SIM_MAX_D + 1] = {0};
    tg_status st = TG_OK;
    for (size_t p = 0; p < set->n && st == TG_OK; p++) {
        bar_notes b;
        st = piece_bars(set->pieces[p].score, cfg->max_bars, cfg->steps_per_quarter, &b);
        if (st != TG_OK) break;
        out->bars += b.n_bars;
        for (int d = 1; d <= D; d++) {
            double s = 0;
            uint64_t cnt = 0;
            for (size_t i = 0; i + (size_t)d < b.n_bars; i++) {
                size_t j = i + (size_t)d;
                size_t na = b.first[i + 1] - b.first[i], nb = b.first[j + 1] - b.first[j];
                if (na == 0 && nb == 0) continue; /* both empty: skipped */
                size_t c = intersection(b.keys + b.first[i], na, b.keys + b.first[j], nb);
                s += (double)c / (double)(na + nb - c);
                cnt++;
            }
            if (cnt == 0) continue;
            piece_sum[d] += s / (double)cnt; /* this piece's mean */
            pair_sum[d] += s;
            out->pieces[d]++;
            out->pairs[d] += cnt;
        }
        bar_notes_free(&b);
    }
    for (int d = 0; d <= EVAL_SIM_MAX_D; d++) {
        bool ok = d >= 1 && d <= D && out->pieces[d] > 0;
        out->sim[d] = ok ? pair_sum[d] / (double)out->pairs[d] : NAN;
        out->piece_mean[d] = ok ? piece_sum[d] / (double)out->pieces[d] : NAN;
    }
    return st;
}

double eval_similarity_error(const eval_bar_profile *a, const eval_bar_profile *b)
{
    int D = a->max_distance < b->max_distance ? a->max_distance : b->max_distance, n = 0;
    double s = 0;
    for (int d = 1; d <= D; d++) {
        if (isnan(a->sim[d]) || isnan(b->sim[d])) continue;
        s += fabs(a->sim[d] - b->sim[d]);
        n++;
    }
    return n ? s / n : NAN;
}

/* ------------------------------------------------------------------------ */
/* Verbatim copies. */

static uint64_t splitmix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* The hash of the window of w bars from bar s, or 0 when it holds no note.
 * Keys are taken relative to the window's start: onsets shift by the bar's
 * offset in the window, which keeps them sorted. */
static uint64_t window_hash(const bar_notes *b, size_t s, int w)
{
    uint64_t h = 0x243f6a8885a308d3ULL;
    size_t n = 0;
    for (size_t bar = s; bar < s + (size_t)w; bar++) {
        uint64_t shift = (uint64_t)(b->start_step[bar] - b->start_step[s]);
        for (size_t k = b->first[bar]; k < b->first[bar + 1]; k++) {
            uint64_t key = b->keys[k] + (shift << KEY_ONSET_SHIFT);
            h = splitmix(h ^ key);
            n++;
        }
    }
    if (n == 0) return 0;
    h = splitmix(h ^ n);
    return h ? h : 1;
}

typedef struct {
    uint64_t *slot; /* 0: empty */
    size_t mask;
} hash_set;

static void hash_set_put(hash_set *hs, uint64_t h)
{
    size_t i = (size_t)h & hs->mask;
    while (hs->slot[i] && hs->slot[i] != h) i = (i + 1) & hs->mask;
    hs->slot[i] = h;
}

static bool hash_set_has(const hash_set *hs, uint64_t h)
{
    size_t i = (size_t)h & hs->mask;
    while (hs->slot[i]) {
        if (hs->slot[i] == h) return true;
        i = (i + 1) & hs->mask;
    }
    return false;
}

/* The bar notes of every piece of set (its first max_bars bars; 0: all)
 * into *bars_out (set->n of them, free with set_bars_free), and an empty
 * hash set with room for all their w-bar windows. */
static tg_status set_bars(const eval_set *set, int max_bars, int spq, int w, bar_notes **bars_out, hash_set *hs)
{
    memset(hs, 0, sizeof *hs);
    bar_notes *b = calloc(set->n ? set->n : 1, sizeof *b);
    *bars_out = b;
    if (!b) return TG_ERR_NOMEM;
    tg_status st = TG_OK;
    size_t total = 0;
    for (size_t p = 0; p < set->n && st == TG_OK; p++) {
        st = piece_bars(set->pieces[p].score, max_bars, spq, &b[p]);
        if (b[p].n_bars >= (size_t)w) total += b[p].n_bars - (size_t)w + 1;
    }
    size_t cap = 16;
    while (cap < 2 * total) cap *= 2;
    if (st == TG_OK && !(hs->slot = calloc(cap, sizeof *hs->slot))) st = TG_ERR_NOMEM;
    hs->mask = cap - 1;
    return st;
}

static void set_bars_free(const eval_set *set, bar_notes *b)
{
    if (b)
        for (size_t p = 0; p < set->n; p++) bar_notes_free(&b[p]);
    free(b);
}

tg_status eval_copy_rate(const eval_set *samples, const eval_set *train, const eval_structure_config *cfg,
                         eval_copy_result *out)
{
    memset(out, 0, sizeof *out);
    out->rate = NAN;
    int w = cfg->window_bars, spq = cfg->steps_per_quarter;
    if (w < 1 || spq < 1 || cfg->max_bars < 0) return TG_ERR_ARG;
    bar_notes *tb;
    hash_set hs;
    tg_status st = set_bars(train, 0, spq, w, &tb, &hs);
    for (size_t p = 0; p < train->n && st == TG_OK; p++)
        for (size_t s = 0; s + (size_t)w <= tb[p].n_bars; s++) {
            uint64_t h = window_hash(&tb[p], s, w);
            if (!h) continue;
            hash_set_put(&hs, h);
            out->train_windows++;
        }
    set_bars_free(train, tb);
    for (size_t p = 0; p < samples->n && st == TG_OK; p++) {
        bar_notes b;
        st = piece_bars(samples->pieces[p].score, cfg->max_bars, spq, &b);
        if (st != TG_OK) break;
        bool any = false;
        for (size_t s = 0; s + (size_t)w <= b.n_bars; s++) {
            uint64_t h = window_hash(&b, s, w);
            if (!h) continue;
            out->windows++;
            if (hash_set_has(&hs, h)) {
                out->copied++;
                any = true;
            }
        }
        out->pieces_with_copy += any;
        bar_notes_free(&b);
    }
    free(hs.slot);
    if (st == TG_OK && out->windows) out->rate = (double)out->copied / (double)out->windows;
    return st;
}

/* ------------------------------------------------------------------------ */
/* Distinct windows: the same hashed windows as the copy rate, counted within
 * the set itself. */

tg_status eval_distinct_windows(const eval_set *set, const eval_structure_config *cfg,
                                eval_distinct_result *out)
{
    memset(out, 0, sizeof *out);
    out->share = NAN;
    int w = cfg->window_bars, spq = cfg->steps_per_quarter;
    if (w < 1 || spq < 1 || cfg->max_bars < 0) return TG_ERR_ARG;
    bar_notes *b;
    hash_set hs;
    tg_status st = set_bars(set, cfg->max_bars, spq, w, &b, &hs);
    for (size_t p = 0; p < set->n && st == TG_OK; p++)
        for (size_t s = 0; s + (size_t)w <= b[p].n_bars; s++) {
            uint64_t h = window_hash(&b[p], s, w);
            if (!h) continue;
            out->windows++;
            if (!hash_set_has(&hs, h)) out->distinct++;
            hash_set_put(&hs, h);
        }
    set_bars_free(set, b);
    free(hs.slot);
    if (st == TG_OK && out->windows) out->share = (double)out->distinct / (double)out->windows;
    return st;
}
