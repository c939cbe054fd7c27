/*
 * musstats.c: statistics of one piece as MusPy 0.5 (muspy/metrics/metrics.py,
 * Dong et al. 2020) defines them. MusPy counts time in steps of its Music
 * object's resolution; statistics such as groove consistency depend on it, so
 * the score is first brought to MusPy's default resolution, 24 steps per
 * quarter note (muspy.DEFAULT_RESOLUTION; each start and end rounded to the
 * nearest step, ties away from zero, as muspy's adjust_resolution rounds;
 * SMPTE scores count a quarter as 0.5 s), whatever resolution it came with.
 * Then, in those steps:
 *
 *   pitch_range          highest minus lowest pitch; 0 without notes
 *   n_pitches_used       distinct pitches
 *   n_pitch_classes_used distinct pitch classes (pitch mod 12)
 *   polyphony            piano-roll cells on / time steps with any pitch on:
 *                        the mean number of distinct pitches sounding, over
 *                        the ticks where at least one sounds (NaN: none)
 *   polyphony_rate       ticks where more than 2 distinct pitches sound /
 *                        ticks from 0 to the end of the last note (NaN: 0)
 *   scale_consistency    the largest fraction of notes whose pitch class lies
 *                        in one of the 24 major and natural-minor scales
 *   pitch_entropy        Shannon entropy (bits) of the notes' pitch histogram
 *   pitch_class_entropy  the same over the 12 pitch classes
 *   empty_beat_rate      1 - marked beats / beats, with beats of one quarter
 *                        (24 steps), length // 24 + 1 of them, and a note
 *                        marking beats start // 24 to end // 24 inclusive
 *                        (so a note ending on a beat line marks the next
 *                        beat: MusPy's rule)
 *   groove_consistency   1 - (sum over adjacent bars of the Hamming distance
 *                        of their onset vectors) / (bar_ticks * (bars - 1)),
 *                        bars = length // bar_ticks + 1, NaN with fewer than 2
 *                        (bar_ticks: a bar in steps)
 *
 * As in MusPy, drum tracks are ignored by every pitch statistic and counted by
 * empty_beat_rate and groove_consistency, whose length is the end of the last
 * note of any track. Where MusPy needs an argument we fix it: polyphony_rate's
 * threshold is 2 (its default) and groove_consistency's measure resolution is
 * the length of a bar of the time signature in force at tick 0. The piano roll
 * is never built: each statistic is a sweep over note starts and ends, so a
 * piece's cost is O(notes log notes). Departure from MusPy: with only drum
 * notes, pitch_range is 0 (MusPy gives -127).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"

static const char *const stat_names[EVAL_N_STATS] = {
    "pitch_range",        "n_pitches_used", "n_pitch_classes_used", "polyphony",
    "polyphony_rate",     "scale_consistency", "pitch_entropy",     "pitch_class_entropy",
    "empty_beat_rate",    "groove_consistency",
};

const char *eval_stat_name(int id)
{
    return id >= 0 && id < EVAL_N_STATS ? stat_names[id] : "?";
}

/* ------------------------------------------------------------------------ */

#define STEPS_PER_QUARTER 24

/* A note at MusPy's default resolution. */
typedef struct {
    int64_t start, end;  /* steps; end >= start (rounding may make a note empty) */
    int pitch;
    bool drum;
} mnote;

typedef struct {
    int64_t t;
    int delta;   /* +1 start, -1 end */
    int pitch;
} pitch_event;

static int cmp_event(const void *pa, const void *pb)
{
    const pitch_event *a = pa, *b = pb;
    return (a->t > b->t) - (a->t < b->t);
}

typedef struct {
    int64_t a, b;
} span;

static int cmp_span(const void *pa, const void *pb)
{
    const span *x = pa, *y = pb;
    if (x->a != y->a) return (x->a > y->a) - (x->a < y->a);
    return (x->b > y->b) - (x->b < y->b);
}

static int cmp_i64(const void *pa, const void *pb)
{
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

static double entropy_bits(const uint64_t *counts, int n, uint64_t total)
{
    double h = 0;
    for (int i = 0; i < n; i++)
        if (counts[i]) {
            double p = (double)counts[i] / (double)total;
            h -= p * log2(p);
        }
    return h;
}

static int64_t to_steps(const tg_score *s, int64_t ticks)
{
    if (s->ticks_per_quarter > 0)
        return (int64_t)llround((double)ticks * STEPS_PER_QUARTER / s->ticks_per_quarter);
    return (int64_t)llround(tg_score_ticks_to_sec(s, -1, ticks) * 2.0 * STEPS_PER_QUARTER);
}

/* polyphony and polyphony_rate by a sweep over pitched note starts and ends. */
static tg_status polyphony_stats(const mnote *v, size_t n_notes, int64_t length, double *poly, double *rate)
{
    *poly = NAN;
    *rate = length >= 1 ? 0 : NAN;
    pitch_event *ev = malloc((2 * n_notes + 1) * sizeof *ev);
    if (!ev) return TG_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < n_notes; i++) {
        if (v[i].drum || v[i].end == v[i].start) continue;
        ev[n++] = (pitch_event){v[i].start, +1, v[i].pitch};
        ev[n++] = (pitch_event){v[i].end, -1, v[i].pitch};
    }
    qsort(ev, n, sizeof *ev, cmp_event);
    int active[128] = {0}, distinct = 0;
    double cells = 0, steps_on = 0, steps_poly = 0;
    for (size_t i = 0; i < n;) {
        int64_t t = ev[i].t;
        for (; i < n && ev[i].t == t; i++) {
            int before = active[ev[i].pitch];
            active[ev[i].pitch] += ev[i].delta;
            if (before == 0 && active[ev[i].pitch] > 0) distinct++;
            if (before > 0 && active[ev[i].pitch] == 0) distinct--;
        }
        if (i < n) {
            double dt = (double)(ev[i].t - t);
            cells += distinct * dt;
            if (distinct > 0) steps_on += dt;
            if (distinct > 2) steps_poly += dt;
        }
    }
    free(ev);
    if (steps_on > 0) *poly = cells / steps_on;
    if (length >= 1) *rate = steps_poly / (double)length;
    return TG_OK;
}

/* empty_beat_rate: the beats covered by the union of [start//q, end//q]. */
static tg_status empty_beat_rate(const mnote *v, size_t n, int64_t length, double *out)
{
    *out = NAN;
    const int64_t q = STEPS_PER_QUARTER;
    if (length < 1) return TG_OK;
    span *sp = malloc((n ? n : 1) * sizeof *sp);
    if (!sp) return TG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) sp[i] = (span){v[i].start / q, v[i].end / q};
    qsort(sp, n, sizeof *sp, cmp_span);
    int64_t covered = 0, cur_a = 0, cur_b = -1;
    for (size_t i = 0; i < n; i++) {
        if (cur_b < 0 || sp[i].a > cur_b + 1) { /* a new run of beats (adjacent runs merge) */
            if (cur_b >= cur_a) covered += cur_b - cur_a + 1;
            cur_a = sp[i].a;
            cur_b = sp[i].b;
        } else if (sp[i].b > cur_b) {
            cur_b = sp[i].b;
        }
    }
    if (cur_b >= cur_a) covered += cur_b - cur_a + 1;
    free(sp);
    int64_t beats = length / q + 1;
    *out = 1.0 - (double)covered / (double)beats;
    return TG_OK;
}

/* groove_consistency from the distinct onset steps: bar m holds position p
 * when an onset is at m * bar + p. */
static tg_status groove_consistency(const mnote *v, size_t n, int64_t length, int64_t bar, double *out)
{
    *out = NAN;
    if (length < 1 || bar <= 0) return TG_OK;
    int64_t bars = length / bar + 1;
    if (bars < 2) return TG_OK;
    int64_t *on = malloc((n ? n : 1) * sizeof *on);
    if (!on) return TG_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) on[i] = v[i].start;
    qsort(on, n, sizeof *on, cmp_i64);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || on[i] != on[u - 1]) on[u++] = on[i];
    /* sum over adjacent bars of |A| + |B| - 2|A and B| */
    int64_t first = 0, last = 0, shared = 0;
    for (size_t i = 0; i < u; i++) {
        int64_t m = on[i] / bar;
        if (m == 0) first++;
        if (m == bars - 1) last++;
        if (m < bars - 1 && bsearch(&(int64_t){on[i] + bar}, on, u, sizeof *on, cmp_i64)) shared++;
    }
    free(on);
    int64_t hamming = 2 * (int64_t)u - first - last - 2 * shared;
    *out = 1.0 - (double)hamming / ((double)bar * (double)(bars - 1));
    return TG_OK;
}

tg_status eval_music_stats(const tg_score *s, double out[EVAL_N_STATS])
{
    for (int i = 0; i < EVAL_N_STATS; i++) out[i] = NAN;
    size_t n = tg_score_note_count(s);
    mnote *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return TG_ERR_NOMEM;
    uint64_t pitch_hist[128] = {0}, pc_hist[12] = {0};
    size_t n_pitched = 0, k = 0;
    int64_t length = 0;
    for (size_t t = 0; t < s->n_tracks; t++) {
        const tg_track *tr = &s->tracks[t];
        for (size_t i = 0; i < tr->n_notes; i++) {
            const tg_note *no = &tr->notes[i];
            mnote m = {to_steps(s, no->start_ticks), to_steps(s, no->end_ticks), no->pitch, tr->is_drum};
            if (m.end < m.start) m.end = m.start;
            v[k++] = m;
            if (m.end > length) length = m.end;
            if (tr->is_drum) continue;
            n_pitched++;
            pitch_hist[no->pitch]++;
            pc_hist[no->pitch % 12]++;
        }
    }
    int lo = -1, hi = -1, n_p = 0, n_pc = 0;
    for (int p = 0; p < 128; p++)
        if (pitch_hist[p]) {
            if (lo < 0) lo = p;
            hi = p;
            n_p++;
        }
    for (int c = 0; c < 12; c++) n_pc += pc_hist[c] != 0;
    out[EVAL_PITCH_RANGE] = lo >= 0 ? hi - lo : 0;
    out[EVAL_N_PITCHES_USED] = n_p;
    out[EVAL_N_PITCH_CLASSES_USED] = n_pc;
    if (n_pitched) {
        /* the C major and C natural minor scales, rotated to every root */
        static const int major[12] = {1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1};
        static const int minor[12] = {1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0};
        uint64_t best = 0;
        for (int root = 0; root < 12; root++) {
            uint64_t in_major = 0, in_minor = 0;
            for (int c = 0; c < 12; c++) {
                int d = (c - root + 12) % 12;
                if (major[d]) in_major += pc_hist[c];
                if (minor[d]) in_minor += pc_hist[c];
            }
            if (in_major > best) best = in_major;
            if (in_minor > best) best = in_minor;
        }
        out[EVAL_SCALE_CONSISTENCY] = (double)best / (double)n_pitched;
        out[EVAL_PITCH_ENTROPY] = entropy_bits(pitch_hist, 128, n_pitched);
        out[EVAL_PITCH_CLASS_ENTROPY] = entropy_bits(pc_hist, 12, n_pitched);
    }
    /* a bar of the meter in force at the start, in steps */
    tg_timesig ts = tg_score_timesig_at(s, 0);
    int64_t bar = ts.denominator ? (int64_t)llround(4.0 * STEPS_PER_QUARTER * ts.numerator / ts.denominator) : 0;
    tg_status st = polyphony_stats(v, n, length, &out[EVAL_POLYPHONY], &out[EVAL_POLYPHONY_RATE]);
    if (st == TG_OK) st = empty_beat_rate(v, n, length, &out[EVAL_EMPTY_BEAT_RATE]);
    if (st == TG_OK) st = groove_consistency(v, n, length, bar, &out[EVAL_GROOVE_CONSISTENCY]);
    free(v);
    return st;
}

eval_summary eval_summarize(const double *values, size_t n, size_t stride)
{
    eval_summary s = {NAN, NAN, 0};
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double v = values[i * stride];
        if (isnan(v)) continue;
        sum += v;
        s.n++;
    }
    if (s.n == 0) return s;
    s.mean = sum / (double)s.n;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double v = values[i * stride];
        if (!isnan(v)) ss += (v - s.mean) * (v - s.mean);
    }
    s.sd = s.n > 1 ? sqrt(ss / (double)(s.n - 1)) : 0;
    return s;
}
