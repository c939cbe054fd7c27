/*
 * notation.c: a score laid out for sheet music. Notes are rounded to the
 * notation grid (the rule is in tunegan.h, beside tg_musicxml_options),
 * grouped into chords and voices per track; bar lines, meters and keys come
 * from the score's maps. musicxml.c writes what this builds.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "render/render.h"
#include "score/score.h"

/* A note on the notation grid, times in steps. */
typedef struct {
    int64_t start, end;
    uint8_t pitch;
} grid_note;

static void say(char *err, size_t err_len, const char *fmt, ...)
{
    if (!err || !err_len) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_len, fmt, ap);
    va_end(ap);
}

int notation_unit(int steps_per_quarter)
{
    int binary = 1;
    while (binary < 32 && steps_per_quarter % (binary * 2) == 0) binary *= 2;
    return steps_per_quarter / binary;
}

/* ticks rounded to the nearest unit (ties to the later), in steps. */
static int64_t ticks_to_steps(int64_t ticks, int64_t tpq, int steps_per_quarter, int unit)
{
    int64_t per_quarter = steps_per_quarter / unit;
    int64_t k = (ticks * per_quarter * 2 + tpq) / (2 * tpq);
    return k * unit;
}

/* ------------------------------------------------------------------------ */
/* Notes of one track on the grid. */

static int by_pitch_start_longest(const void *a, const void *b)
{
    const grid_note *x = a, *y = b;
    if (x->pitch != y->pitch) return x->pitch < y->pitch ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end > y->end ? -1 : 1;
    return 0;
}

static int by_start_end_pitch(const void *a, const void *b)
{
    const grid_note *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    if (x->pitch != y->pitch) return x->pitch < y->pitch ? -1 : 1;
    return 0;
}

/* Two notes of one pitch never overlap: a note starting with another of its
 * pitch merges into the longer; an earlier one ends where the next starts.
 * Sorts by (pitch, start, longest first) and returns how many are kept. */
static size_t separate_same_pitch(grid_note *n, size_t count)
{
    if (!count) return 0;
    qsort(n, count, sizeof *n, by_pitch_start_longest);
    size_t kept = 1;
    for (size_t i = 1; i < count; i++) {
        grid_note *prev = &n[kept - 1];
        if (n[i].pitch == prev->pitch && n[i].start == prev->start) continue;
        if (n[i].pitch == prev->pitch && n[i].start < prev->end) prev->end = n[i].start;
        n[kept++] = n[i];
    }
    return kept;
}

/* The track's notes rounded to the grid, merged as above and sorted by
 * (start, end, pitch); *out is malloc'ed (NULL when the track has none). */
static tg_status grid_notes(const tg_track *t, int64_t tpq, int spq, int unit, grid_note **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    if (!t->n_notes) return TG_OK;
    grid_note *n = malloc(t->n_notes * sizeof *n);
    if (!n) return TG_ERR_NOMEM;
    for (size_t i = 0; i < t->n_notes; i++) {
        n[i].start = ticks_to_steps(t->notes[i].start_ticks, tpq, spq, unit);
        n[i].end = ticks_to_steps(t->notes[i].end_ticks, tpq, spq, unit);
        if (n[i].end < n[i].start + unit) n[i].end = n[i].start + unit;
        n[i].pitch = t->notes[i].pitch;
    }
    size_t kept = separate_same_pitch(n, t->n_notes);
    qsort(n, kept, sizeof *n, by_start_end_pitch);
    *out = n;
    *n_out = kept;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Chords and voices. */

static tg_status voice_push(notation_voice *v, notation_chord c)
{
    tg_status st = tg_grow((void **)&v->chords, &v->cap, v->n + 1, sizeof *v->chords);
    if (st == TG_OK) v->chords[v->n++] = c;
    return st;
}

/* The first voice from index first on whose last chord has ended by start;
 * a new one when none has. */
static tg_status voice_for(notation_part *p, int first, int64_t start, notation_voice **out)
{
    for (int v = first; v < p->n_voices; v++) {
        notation_voice *voice = &p->voices[v];
        if (!voice->n || voice->chords[voice->n - 1].end <= start) {
            *out = voice;
            return TG_OK;
        }
    }
    notation_voice *more = realloc(p->voices, (size_t)(p->n_voices + 1) * sizeof *more);
    if (!more) return TG_ERR_NOMEM;
    p->voices = more;
    more[p->n_voices] = (notation_voice){0};
    *out = &more[p->n_voices++];
    return TG_OK;
}

static tg_status add_staff(notation_part *p, char clef)
{
    char *more = realloc(p->clefs, (size_t)p->n_staves + 1);
    if (!more) return TG_ERR_NOMEM;
    p->clefs = more;
    more[p->n_staves++] = clef;
    return TG_OK;
}

/* The notes of [lo, hi) among n (sorted by (start, end, pitch)): runs of equal
 * (start, end) become chords, chords go to voices, four voices to a staff of
 * the clef (more staves when there are more voices). */
static tg_status fill_register(notation_part *p, const grid_note *n, size_t count, int lo, int hi, char clef)
{
    int first = p->n_voices;
    for (size_t i = 0; i < count;) {
        if (n[i].pitch < lo || n[i].pitch >= hi) {
            i++;
            continue;
        }
        notation_chord c = {n[i].start, n[i].end, p->n_pitches, 0};
        for (; i < count && n[i].start == c.start && n[i].end == c.end; i++)
            if (n[i].pitch >= lo && n[i].pitch < hi) p->pitches[p->n_pitches++] = n[i].pitch;
        c.count = p->n_pitches - c.first;
        notation_voice *v;
        tg_status st = voice_for(p, first, c.start, &v);
        if (st == TG_OK) st = voice_push(v, c);
        if (st != TG_OK) return st;
    }
    for (int v = first; v < p->n_voices; v++) {
        if ((v - first) % 4 == 0) {
            tg_status st = add_staff(p, clef);
            if (st != TG_OK) return st;
        }
        p->voices[v].staff = p->n_staves;
    }
    return TG_OK;
}

/* The pitch at rank k (0-based) of the notes sorted by pitch. */
static int pitch_at_rank(const size_t hist[128], size_t k)
{
    size_t seen = 0;
    for (int p = 0; p < 128; p++) {
        seen += hist[p];
        if (seen > k) return p;
    }
    return 127;
}

/* Drums on a percussion staff. Pitched notes on a grand staff (treble from
 * middle C up, bass below) when the lowest eighth of them lies below middle
 * C, the highest eighth at or above it, and the two are more than an octave
 * and a half apart; else on one staff, bass when most are below middle C. */
static tg_status fill_part(notation_part *p, const grid_note *n, size_t count)
{
    p->pitches = malloc(count ? count : 1);
    if (!p->pitches) return TG_ERR_NOMEM;
    p->cap_pitches = count;
    if (p->track && p->track->is_drum) return fill_register(p, n, count, 0, 128, 'P');
    size_t hist[128] = {0}, low = 0;
    for (size_t i = 0; i < count; i++) hist[n[i].pitch]++, low += n[i].pitch < 60;
    int bottom = pitch_at_rank(hist, count / 8), top = pitch_at_rank(hist, count - 1 - count / 8);
    if (count && bottom < 60 && top >= 60 && top - bottom > 18) {
        tg_status st = fill_register(p, n, count, 60, 128, 'G');
        return st == TG_OK ? fill_register(p, n, count, 0, 60, 'F') : st;
    }
    return fill_register(p, n, count, 0, 128, low > count - low ? 'F' : 'G');
}

static tg_status build_parts(const tg_score *score, notation_sheet *s)
{
    size_t with_notes = 0;
    for (size_t i = 0; i < score->n_tracks; i++) with_notes += score->tracks[i].n_notes > 0;
    s->parts = calloc(with_notes ? with_notes : 1, sizeof *s->parts);
    if (!s->parts) return TG_ERR_NOMEM;
    if (!with_notes) {
        s->n_parts = 1;
        return add_staff(&s->parts[0], 'G');
    }
    for (size_t i = 0; i < score->n_tracks; i++) {
        const tg_track *t = &score->tracks[i];
        if (!t->n_notes) continue;
        notation_part *p = &s->parts[s->n_parts++];
        p->track = t;
        grid_note *n;
        size_t count;
        tg_status st = grid_notes(t, score->ticks_per_quarter, s->steps_per_quarter, s->unit, &n, &count);
        if (st == TG_OK) st = fill_part(p, n, count);
        free(n);
        if (st != TG_OK) return st;
    }
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Keys. */

static const int natural_pc[7] = {0, 2, 4, 5, 7, 9, 11}; /* C D E F G A B */

/* The alteration the key signature gives a letter (0 = C .. 6 = B). */
static int key_alter(int letter, int fifths)
{
    static const int sharp_order[7] = {3, 0, 4, 1, 5, 2, 6}; /* F C G D A E B */
    for (int i = 0; i < abs(fifths) && i < 7; i++) {
        int l = fifths > 0 ? sharp_order[i] : sharp_order[6 - i];
        if (l == letter) return fifths > 0 ? 1 : -1;
    }
    return 0;
}

static int mod(int a, int m) { return ((a % m) + m) % m; }

static void spell_as(int pitch, int letter, int alter, char *step, int *alter_out, int *octave)
{
    *step = "CDEFGAB"[letter];
    *alter_out = alter;
    int natural = pitch - alter;
    *octave = (natural >= 0 ? natural / 12 : (natural - 11) / 12) - 1;
}

void notation_spell(int pitch, int fifths, bool minor, char *step, int *alter, int *octave)
{
    int pc = mod(pitch, 12);
    if (minor) {
        int tonic_letter = mod(4 * fifths - 2, 7); /* the relative major's tonic, a sixth up */
        int tonic_pc = mod(fifths * 7 + 9, 12);
        int leading = mod(tonic_letter - 1, 7);
        if (pc == mod(tonic_pc - 1, 12)) {
            spell_as(pitch, leading, mod(pc - natural_pc[leading] + 6, 12) - 6, step, alter, octave);
            return;
        }
    }
    for (int l = 0; l < 7; l++)
        if (mod(natural_pc[l] + key_alter(l, fifths), 12) == pc) {
            spell_as(pitch, l, key_alter(l, fifths), step, alter, octave);
            return;
        }
    /* chromatic: the key's note a semitone below raised, or the one above
     * lowered; the one with the smaller accidental, flats in flat keys when equal */
    int up = -1, down = -1;
    for (int l = 0; l < 7; l++) {
        if (mod(natural_pc[l] + key_alter(l, fifths) + 1, 12) == pc) up = l;
        if (mod(natural_pc[l] + key_alter(l, fifths) - 1, 12) == pc) down = l;
    }
    int up_alter = up >= 0 ? key_alter(up, fifths) + 1 : 9, down_alter = down >= 0 ? key_alter(down, fifths) - 1 : 9;
    bool use_down = abs(down_alter) < abs(up_alter) || (abs(down_alter) == abs(up_alter) && fifths < 0);
    if (use_down) spell_as(pitch, down, down_alter, step, alter, octave);
    else spell_as(pitch, up, up_alter, step, alter, octave);
}

static double correlation(const double *x, const double *y, int shift)
{
    double mx = 0, my = 0;
    for (int i = 0; i < 12; i++) mx += x[i] / 12, my += y[i] / 12;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < 12; i++) {
        double a = x[(i + shift) % 12] - mx, b = y[i] - my;
        sxy += a * b, sxx += a * a, syy += b * b;
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0;
}

void notation_estimate_key(const tg_score *score, int *fifths, bool *minor)
{
    static const double major[12] = {6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88};
    static const double minor_p[12] = {6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17};
    double hist[12] = {0};
    for (size_t i = 0; i < score->n_tracks; i++) {
        const tg_track *t = &score->tracks[i];
        if (t->is_drum) continue;
        for (size_t j = 0; j < t->n_notes; j++)
            hist[t->notes[j].pitch % 12] += (double)(t->notes[j].end_ticks - t->notes[j].start_ticks);
    }
    double best = -2;
    *fifths = 0;
    *minor = false;
    for (int tonic = 0; tonic < 12; tonic++)
        for (int m = 0; m < 2; m++) {
            double r = correlation(hist, m ? minor_p : major, tonic);
            if (r <= best) continue;
            best = r;
            int major_tonic = m ? (tonic + 3) % 12 : tonic;
            int f = major_tonic * 7 % 12;
            *fifths = f > 6 ? f - 12 : f;
            *minor = m;
        }
}

/* The key signature in force at a tick (last at or before it); false when none. */
static bool key_at(const tg_score *score, int64_t ticks, int *fifths, bool *minor)
{
    bool found = false;
    for (size_t i = 0; i < score->n_keysigs && score->keysigs[i].ticks <= ticks; i++) {
        *fifths = score->keysigs[i].sharps;
        *minor = score->keysigs[i].minor != 0;
        found = true;
    }
    return found;
}

/* ------------------------------------------------------------------------ */
/* Bars. */

static int64_t sheet_end_steps(const notation_sheet *s)
{
    int64_t end = 0;
    for (size_t i = 0; i < s->n_parts; i++)
        for (int v = 0; v < s->parts[i].n_voices; v++) {
            const notation_voice *voice = &s->parts[i].voices[v];
            if (voice->n && voice->chords[voice->n - 1].end > end) end = voice->chords[voice->n - 1].end;
        }
    return end;
}

static tg_status push_bar(notation_sheet *s, size_t *cap, int64_t start, int64_t len, tg_timesig ts)
{
    tg_status st = tg_grow((void **)&s->bars, cap, s->n_bars + 1, sizeof *s->bars);
    if (st != TG_OK) return st;
    s->bars[s->n_bars++] = (notation_bar){start, len, ts.numerator, ts.denominator, 0, false};
    return TG_OK;
}

/* Bar lines of the meter map (a meter change inside a bar starts a new bar,
 * as tg_score_bar_lines draws them) on the grid, a bar that rounds to
 * nothing left out, until every note is inside a bar. */
static tg_status build_bars(const tg_score *score, notation_sheet *s)
{
    int64_t tpq = score->ticks_per_quarter, end = sheet_end_steps(s), ticks = 0, at = 0;
    size_t cap = 0, next_ts = 0;
    tg_timesig ts = {0, 4, 4, -1};
    while (at < end || !s->n_bars) {
        if (s->n_bars >= TG_MUSICXML_MAX_BARS) return TG_ERR_TOO_LARGE;
        while (next_ts < score->n_timesigs && score->timesigs[next_ts].ticks <= ticks) ts = score->timesigs[next_ts++];
        int64_t next = ticks + score_bar_ticks(score, ts);
        if (next_ts < score->n_timesigs && score->timesigs[next_ts].ticks < next) next = score->timesigs[next_ts].ticks;
        int64_t to = ticks_to_steps(next, tpq, s->steps_per_quarter, s->unit);
        if (to > at) {
            tg_status st = push_bar(s, &cap, at, to - at, ts);
            if (st != TG_OK) return st;
            at = to;
        }
        ticks = next;
    }
    return TG_OK;
}

static void set_keys(const tg_score *score, notation_sheet *s, const int64_t *bar_ticks)
{
    int fifths = 0;
    bool minor = false;
    s->key_estimated = !score->n_keysigs;
    if (s->key_estimated) notation_estimate_key(score, &fifths, &minor);
    for (size_t b = 0; b < s->n_bars; b++) {
        if (!s->key_estimated) key_at(score, bar_ticks[b], &fifths, &minor);
        s->bars[b].fifths = fifths < -7 ? -7 : fifths > 7 ? 7 : fifths;
        s->bars[b].minor = minor;
    }
}

/* The tick of each bar's start: steps back to ticks (exact at the grid's lines). */
static tg_status bar_ticks(const tg_score *score, const notation_sheet *s, int64_t **out)
{
    *out = malloc(s->n_bars * sizeof **out);
    if (!*out) return TG_ERR_NOMEM;
    for (size_t b = 0; b < s->n_bars; b++)
        (*out)[b] = s->bars[b].start * score->ticks_per_quarter / s->steps_per_quarter;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */

void notation_free(notation_sheet *s)
{
    for (size_t i = 0; i < s->n_parts; i++) {
        for (int v = 0; v < s->parts[i].n_voices; v++) free(s->parts[i].voices[v].chords);
        free(s->parts[i].voices);
        free(s->parts[i].pitches);
        free(s->parts[i].clefs);
    }
    free(s->parts);
    free(s->bars);
    memset(s, 0, sizeof *s);
}

tg_status notation_build(const tg_score *score, int steps_per_quarter, notation_sheet *out,
                         char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (steps_per_quarter < 1 || steps_per_quarter > TG_MUSICXML_MAX_GRID) {
        say(err, err_len, "the grid must have 1 to %d steps per quarter, not %d", TG_MUSICXML_MAX_GRID,
            steps_per_quarter);
        return TG_ERR_ARG;
    }
    if (score->ticks_per_quarter <= 0) {
        say(err, err_len, "the score is in SMPTE time (seconds, no beats): sheet music needs beats");
        return TG_ERR_UNSUPPORTED;
    }
    out->steps_per_quarter = steps_per_quarter;
    out->unit = notation_unit(steps_per_quarter);
    out->bpm = 60e6 / tg_score_tempo_at(score, -1, 0);
    int64_t *ticks = NULL;
    tg_status st = build_parts(score, out);
    if (st == TG_OK) st = build_bars(score, out);
    if (st == TG_OK) st = bar_ticks(score, out, &ticks);
    if (st == TG_OK) set_keys(score, out, ticks);
    free(ticks);
    if (st == TG_ERR_TOO_LARGE)
        say(err, err_len, "the score lasts more than %d bars (its last note ends at tick %lld)", TG_MUSICXML_MAX_BARS,
            (long long)tg_score_end_ticks(score));
    else if (st != TG_OK)
        say(err, err_len, "%s", tg_status_str(st));
    if (st != TG_OK) notation_free(out);
    return st;
}
