/*
 * score.c: the in-memory music model. Tracks hold notes in ticks; the score
 * holds the tempo map (tick to seconds), the time-signature map (bar lines)
 * and key signatures. Quantisation rounds notes to a grid of steps per
 * quarter note. What it leaves out: controllers, pitch bends and lyrics are
 * not part of the score (the MIDI reader skips them).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "score.h"

tg_status tg_score_create(int ticks_per_quarter, tg_score **out)
{
    *out = NULL;
    if (ticks_per_quarter < 0 || ticks_per_quarter > 32767) return TG_ERR_RANGE;
    tg_score *s = calloc(1, sizeof *s);
    if (!s) return TG_ERR_NOMEM;
    s->format = 1;
    s->ticks_per_quarter = ticks_per_quarter;
    *out = s;
    return TG_OK;
}

void tg_score_free(tg_score *score)
{
    if (!score) return;
    for (size_t i = 0; i < score->n_tracks; i++) {
        free(score->tracks[i].name);
        free(score->tracks[i].notes);
    }
    free(score->tracks);
    free(score->tempos);
    free(score->timesigs);
    free(score->keysigs);
    free(score);
}

static void *dup_array(const void *src, size_t n, size_t elem)
{
    void *p = malloc(n ? n * elem : 1);
    if (p && n) memcpy(p, src, n * elem);
    return p;
}

tg_status tg_score_clone(const tg_score *src, tg_score **out)
{
    tg_score *s = calloc(1, sizeof *s);
    if (!s) return TG_ERR_NOMEM;
    *s = *src;
    s->tracks = NULL;
    s->n_tracks = s->cap_tracks = 0;
    s->tempos = dup_array(src->tempos, src->n_tempos, sizeof *src->tempos);
    s->timesigs = dup_array(src->timesigs, src->n_timesigs, sizeof *src->timesigs);
    s->keysigs = dup_array(src->keysigs, src->n_keysigs, sizeof *src->keysigs);
    s->cap_tempos = src->n_tempos;
    s->cap_timesigs = src->n_timesigs;
    s->cap_keysigs = src->n_keysigs;
    tg_status st = (s->tempos && s->timesigs && s->keysigs) ? TG_OK : TG_ERR_NOMEM;
    for (size_t i = 0; st == TG_OK && i < src->n_tracks; i++) {
        const tg_track *t = &src->tracks[i];
        size_t idx;
        st = tg_score_add_track(s, t->name, t->channel, t->program, t->chunk, &idx);
        if (st != TG_OK) break;
        tg_track *d = &s->tracks[idx];
        d->is_drum = t->is_drum;
        d->notes = dup_array(t->notes, t->n_notes, sizeof *t->notes);
        if (!d->notes) st = TG_ERR_NOMEM;
        d->n_notes = d->cap_notes = t->n_notes;
    }
    if (st != TG_OK) {
        tg_score_free(s);
        return st;
    }
    *out = s;
    return TG_OK;
}

tg_status tg_score_add_track(tg_score *score, const char *name, int channel, int program,
                             int chunk, size_t *index)
{
    if (channel < 0 || channel > 15 || program < 0 || program > 127) return TG_ERR_RANGE;
    tg_status st = tg_grow((void **)&score->tracks, &score->cap_tracks, score->n_tracks + 1,
                           sizeof *score->tracks);
    if (st != TG_OK) return st;
    char *copy = strdup(name ? name : "");
    if (!copy) return TG_ERR_NOMEM;
    tg_track *t = &score->tracks[score->n_tracks];
    memset(t, 0, sizeof *t);
    t->name = copy;
    t->chunk = chunk;
    t->channel = channel;
    t->program = program;
    t->is_drum = channel == 9;
    if (index) *index = score->n_tracks;
    score->n_tracks++;
    return TG_OK;
}

tg_status tg_score_add_note(tg_score *score, size_t track, tg_note note)
{
    if (track >= score->n_tracks) return TG_ERR_ARG;
    if (note.pitch > 127 || note.velocity < 1 || note.velocity > 127 || note.channel > 15)
        return TG_ERR_RANGE;
    if (note.start_ticks < 0 || note.end_ticks <= note.start_ticks) return TG_ERR_RANGE;
    tg_track *t = &score->tracks[track];
    tg_status st = tg_grow((void **)&t->notes, &t->cap_notes, t->n_notes + 1, sizeof *t->notes);
    if (st != TG_OK) return st;
    t->notes[t->n_notes++] = note;
    return TG_OK;
}

tg_status tg_score_add_tempo(tg_score *score, tg_tempo tempo)
{
    if (tempo.ticks < 0 || tempo.usec_per_quarter == 0 || tempo.usec_per_quarter > 0xFFFFFF)
        return TG_ERR_RANGE;
    tg_status st = tg_grow((void **)&score->tempos, &score->cap_tempos, score->n_tempos + 1,
                           sizeof *score->tempos);
    if (st == TG_OK) score->tempos[score->n_tempos++] = tempo;
    return st;
}

static bool power_of_two(unsigned v) { return v && !(v & (v - 1)); }

tg_status tg_score_add_timesig(tg_score *score, tg_timesig ts)
{
    if (ts.ticks < 0 || ts.numerator == 0 || !power_of_two(ts.denominator) || ts.denominator > 256)
        return TG_ERR_RANGE;
    tg_status st = tg_grow((void **)&score->timesigs, &score->cap_timesigs,
                           score->n_timesigs + 1, sizeof *score->timesigs);
    if (st == TG_OK) score->timesigs[score->n_timesigs++] = ts;
    return st;
}

tg_status tg_score_add_keysig(tg_score *score, tg_keysig ks)
{
    if (ks.ticks < 0 || ks.sharps < -7 || ks.sharps > 7 || ks.minor > 1) return TG_ERR_RANGE;
    tg_status st = tg_grow((void **)&score->keysigs, &score->cap_keysigs, score->n_keysigs + 1,
                           sizeof *score->keysigs);
    if (st == TG_OK) score->keysigs[score->n_keysigs++] = ks;
    return st;
}

/* ------------------------------------------------------------------------ */
/* Sorting. Notes compare on every field, so qsort's instability cannot show.
 * The maps are sorted by ticks alone and must keep equal ticks in order: a
 * stable merge sort, O(n log n) even on a hostile file (a million tempo
 * events in two chunks, each in order, made the insertion sort used before
 * quadratic). */

static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

static int cmp_note(const void *pa, const void *pb)
{
    const tg_note *a = pa, *b = pb;
    int c = cmp_i64(a->start_ticks, b->start_ticks);
    if (!c) c = (int)a->pitch - (int)b->pitch;
    if (!c) c = cmp_i64(a->end_ticks, b->end_ticks);
    if (!c) c = (int)a->velocity - (int)b->velocity;
    if (!c) c = (int)a->channel - (int)b->channel;
    return c;
}

static int64_t ticks_of(const uint8_t *p)
{
    int64_t t;
    memcpy(&t, p, sizeof t);
    return t;
}

_Static_assert(offsetof(tg_tempo, ticks) == 0, "map entries start with their ticks");
_Static_assert(offsetof(tg_timesig, ticks) == 0, "map entries start with their ticks");
_Static_assert(offsetof(tg_keysig, ticks) == 0, "map entries start with their ticks");
_Static_assert(sizeof(tg_tempo) <= 32 && sizeof(tg_timesig) <= 32 && sizeof(tg_keysig) <= 32,
               "sort_map's buffer holds any map entry");

tg_status score_sort_by_ticks(void *base, size_t n, size_t elem)
{
    if (n < 2) return TG_OK;
    uint8_t *a = base;
    uint8_t *tmp = malloc(n * elem);
    if (!tmp) return TG_ERR_NOMEM;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) {
                /* ties take the left run first: stable */
                if (ticks_of(a + j * elem) < ticks_of(a + i * elem))
                    memcpy(tmp + (k++) * elem, a + (j++) * elem, elem);
                else
                    memcpy(tmp + (k++) * elem, a + (i++) * elem, elem);
            }
            memcpy(tmp + k * elem, a + i * elem, (mid - i) * elem);
            k += mid - i;
            memcpy(tmp + k * elem, a + j * elem, (hi - j) * elem);
        }
        memcpy(a, tmp, n * elem);
    }
    free(tmp);
    return TG_OK;
}

/* Without memory for the merge, an insertion sort (the same order, slower). */
static void sort_map(void *base, size_t n, size_t elem)
{
    if (score_sort_by_ticks(base, n, elem) == TG_OK) return;
    uint8_t *a = base, v[32];
    for (size_t i = 1; i < n; i++) {
        memcpy(v, a + i * elem, elem);
        size_t j = i;
        for (; j > 0 && ticks_of(a + (j - 1) * elem) > ticks_of(v); j--)
            memcpy(a + j * elem, a + (j - 1) * elem, elem);
        memcpy(a + j * elem, v, elem);
    }
}

void tg_score_sort(tg_score *score)
{
    for (size_t i = 0; i < score->n_tracks; i++)
        if (score->tracks[i].n_notes > 1) /* qsort must not see a NULL array */
            qsort(score->tracks[i].notes, score->tracks[i].n_notes, sizeof(tg_note), cmp_note);
    sort_map(score->tempos, score->n_tempos, sizeof *score->tempos);
    sort_map(score->timesigs, score->n_timesigs, sizeof *score->timesigs);
    sort_map(score->keysigs, score->n_keysigs, sizeof *score->keysigs);
}

size_t tg_score_note_count(const tg_score *score)
{
    size_t n = 0;
    for (size_t i = 0; i < score->n_tracks; i++) n += score->tracks[i].n_notes;
    return n;
}

int64_t tg_score_end_ticks(const tg_score *score)
{
    int64_t end = 0;
    for (size_t i = 0; i < score->n_tracks; i++)
        for (size_t j = 0; j < score->tracks[i].n_notes; j++)
            if (score->tracks[i].notes[j].end_ticks > end) end = score->tracks[i].notes[j].end_ticks;
    return end;
}

/* ------------------------------------------------------------------------ */
/* Time. */

static bool tempo_applies(const tg_score *score, const tg_tempo *t, int chunk)
{
    return score->format != 2 || t->chunk == chunk || t->chunk < 0;
}

double tg_score_ticks_to_sec(const tg_score *score, int chunk, int64_t ticks)
{
    if (score->ticks_per_quarter <= 0) {
        double fps = score->smpte_fps == 29 ? 29.97 : (double)score->smpte_fps;
        double per_sec = fps * (double)score->ticks_per_frame;
        return per_sec > 0 ? (double)ticks / per_sec : 0.0;
    }
    double tpq = (double)score->ticks_per_quarter;
    double sec = 0.0;
    int64_t at = 0;
    uint32_t usec = TG_DEFAULT_USEC_PER_QUARTER;
    for (size_t i = 0; i < score->n_tempos; i++) {
        const tg_tempo *t = &score->tempos[i];
        if (!tempo_applies(score, t, chunk)) continue;
        if (t->ticks >= ticks) break;
        sec += (double)(t->ticks - at) * usec / (tpq * 1e6);
        at = t->ticks;
        usec = t->usec_per_quarter;
    }
    return sec + (double)(ticks - at) * usec / (tpq * 1e6);
}

uint32_t tg_score_tempo_at(const tg_score *score, int chunk, int64_t ticks)
{
    uint32_t usec = TG_DEFAULT_USEC_PER_QUARTER;
    for (size_t i = 0; i < score->n_tempos; i++) {
        const tg_tempo *t = &score->tempos[i];
        if (!tempo_applies(score, t, chunk)) continue;
        if (t->ticks > ticks) break;
        usec = t->usec_per_quarter;
    }
    return usec;
}

tg_timesig tg_score_timesig_at(const tg_score *score, int64_t ticks)
{
    tg_timesig ts = {0, 4, 4, -1};
    for (size_t i = 0; i < score->n_timesigs; i++) {
        if (score->timesigs[i].ticks > ticks) break;
        ts = score->timesigs[i];
    }
    return ts;
}

int64_t score_bar_ticks(const tg_score *score, tg_timesig ts)
{
    int64_t tpq = score->ticks_per_quarter > 0 ? score->ticks_per_quarter : 480;
    int64_t bar = (int64_t)ts.numerator * tpq * 4 / ts.denominator;
    return bar > 0 ? bar : 1;
}

/* A time signature that falls inside a bar starts a new bar there, as notation
 * programs do when a meter change is not on a bar line. */
tg_status tg_score_bar_lines(const tg_score *score, int64_t end_ticks, int64_t **bars, size_t *n_bars)
{
    *bars = NULL;
    *n_bars = 0;
    size_t cap = 0, n = 0;
    int64_t *out = NULL;
    int64_t t = 0;
    size_t next_ts = 0;
    tg_timesig ts = {0, 4, 4, -1};
    for (;;) {
        while (next_ts < score->n_timesigs && score->timesigs[next_ts].ticks <= t)
            ts = score->timesigs[next_ts++];
        tg_status st = tg_grow((void **)&out, &cap, n + 1, sizeof *out);
        if (st != TG_OK) {
            free(out);
            return st;
        }
        out[n++] = t;
        if (t >= end_ticks) break;
        int64_t next = t + score_bar_ticks(score, ts);
        if (next_ts < score->n_timesigs && score->timesigs[next_ts].ticks < next)
            next = score->timesigs[next_ts].ticks;
        t = next;
    }
    *bars = out;
    *n_bars = n;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Quantisation. */

/* Index of the grid step nearest to ticks, where step k starts at k*tpq/steps ticks
 * (rounded down): ties go to the later step. */
static int64_t nearest_step(int64_t ticks, int64_t tpq, int64_t steps)
{
    return (ticks * steps * 2 + tpq) / (2 * tpq);
}

static int64_t step_ticks(int64_t k, int64_t tpq, int64_t steps) { return k * tpq / steps; }

tg_status tg_score_quantize(tg_score *score, int steps_per_quarter)
{
    if (steps_per_quarter <= 0) return TG_ERR_ARG;
    if (score->ticks_per_quarter <= 0) return TG_ERR_UNSUPPORTED;
    int64_t tpq = score->ticks_per_quarter, steps = steps_per_quarter;
    for (size_t i = 0; i < score->n_tracks; i++) {
        tg_track *t = &score->tracks[i];
        for (size_t j = 0; j < t->n_notes; j++) {
            tg_note *n = &t->notes[j];
            int64_t ks = nearest_step(n->start_ticks, tpq, steps);
            int64_t ke = nearest_step(n->end_ticks, tpq, steps);
            if (ke <= ks) ke = ks + 1; /* a note never vanishes: it keeps one step */
            n->start_ticks = step_ticks(ks, tpq, steps);
            n->end_ticks = step_ticks(ke, tpq, steps);
            if (n->end_ticks <= n->start_ticks) n->end_ticks = n->start_ticks + 1;
        }
    }
    tg_score_sort(score);
    return TG_OK;
}
