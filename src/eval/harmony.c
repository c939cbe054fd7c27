/*
 * harmony.c: how a melody sits on its accompaniment, and how four voices
 * move against one another (issue 20's measures for any-track generation:
 * accompany a melody, harmonise a chorale).
 *
 * Harmonic fit. The melody is either one track (melody_track >= 0; the other
 * tracks are the accompaniment) or, by default, the top line: a note is a
 * melody note when no sounding note is higher at its onset (notes of every
 * non-drum track merged; a note sounds at t when start <= t < end). This
 * reading needs no track layout: remi decodes Nottingham's melody and chords
 * (both program 0) into one track, and the bundled model's samples are one
 * track in 97 of 100. On Nottingham's test tunes the top line is the melody
 * track for 99.7 % of its notes. Every other non-drum note is
 * accompaniment. For each melody note, its pitch class fits when it is among
 * the pitch classes of the accompaniment notes sounding at its onset; onsets
 * where no accompaniment note sounds are left out of the rate and counted
 * (`silent`). The rate pools the onsets of a set: fits / (onsets - silent).
 * This reproduces issue 20's 0.743 on Nottingham's test tunes (0.7427 with
 * the top line, 0.7426 with the first track as melody).
 *
 * Voice leading. A four-voice score (exactly four non-drum tracks holding
 * notes, top voice first: soprano, alto, tenor, bass) is read on a grid of
 * 16th notes: step i covers [i, i + 1) sixteenths; a note covers the steps
 * from floor(start) to ceil(end) - 1, and a voice's pitch at a step is that of
 * the note started last among those covering it (the highest on a tie); a
 * voice without a note there rests. Beats are quarter notes: steps / 4,
 * steps running from tick 0 to the end of the last note. Per 100 beats:
 *   - parallel fifths / octaves (the rules themselves are defined once, in
 *     src/sample/voicing.c, for this count and for the sampler that keeps
 *     them): every pair of voices (upper u, lower l; six
 *     pairs), every two consecutive steps where all four pitches sound, both
 *     voices change pitch in the same direction, and (u - l) mod 12 is 7
 *     (fifths) or 0 (octaves and unisons) at both steps. The interval is
 *     taken from the voice order, not from which voice sounds higher, so a
 *     crossed fourth counts as a fifth: this is the reading that gives the
 *     issue's figure for Bach's test chorales (0.381; |u - l| mod 12 gives
 *     0.317);
 *   - voice crossings: adjacent voices (S-A, A-T, T-B), every step where the
 *     lower voice sounds above the upper one and either of the two starts a
 *     note (each new note of a crossing counts; 3.302 on Bach's test
 *     chorales, the 3.30); `crossings_begun` counts only the steps
 *     where a crossing begins (the pair was not crossed at the step before);
 *   - notes out of range: notes of a voice outside its range (eval_voice_ranges
 *     gives the textbook ranges used by default).
 * The Bach files hold a held and a repeated note alike (one note), so a
 * change of pitch is what counts as motion here.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval/eval.h"
#include "sample/sample.h"

/* ------------------------------------------------------------------------ */
/* Harmonic fit. */

typedef struct {
    int64_t start, end;
    int pitch;
    int track;
    bool melody;
} fit_note;

static int cmp_fit_note(const void *a, const void *b)
{
    const fit_note *x = a, *y = b;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return x->pitch - y->pitch;
}

/* The non-drum notes of a score, sorted by onset. */
static tg_status gather_notes(const tg_score *score, fit_note **out, size_t *n_out)
{
    size_t n = 0;
    for (size_t t = 0; t < score->n_tracks; t++)
        if (!score->tracks[t].is_drum) n += score->tracks[t].n_notes;
    fit_note *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return TG_ERR_NOMEM;
    size_t k = 0;
    for (size_t t = 0; t < score->n_tracks; t++) {
        const tg_track *tr = &score->tracks[t];
        if (tr->is_drum) continue;
        for (size_t i = 0; i < tr->n_notes; i++)
            v[k++] = (fit_note){tr->notes[i].start_ticks, tr->notes[i].end_ticks, tr->notes[i].pitch, (int)t, false};
    }
    qsort(v, n, sizeof *v, cmp_fit_note);
    *out = v;
    *n_out = n;
    return TG_OK;
}

tg_status eval_harmonic_fit(const tg_score *score, int melody_track, eval_fit_counts *out)
{
    memset(out, 0, sizeof *out);
    if (melody_track >= 0 && (size_t)melody_track >= score->n_tracks) return TG_ERR_ARG;
    fit_note *v = NULL;
    size_t n = 0;
    tg_status st = gather_notes(score, &v, &n);
    if (st != TG_OK) return st;
    size_t *active = malloc((n ? n : 1) * sizeof *active), n_active = 0;
    if (!active) {
        free(v);
        return TG_ERR_NOMEM;
    }
    for (size_t i = 0; i < n; i++) v[i].melody = v[i].track == melody_track;
    /* sweep the distinct onsets: active holds the notes sounding at t */
    for (size_t i = 0; i < n;) {
        int64_t t = v[i].start;
        size_t j = i;
        while (j < n && v[j].start == t) j++;
        size_t keep = 0;
        for (size_t a = 0; a < n_active; a++)
            if (v[active[a]].end > t) active[keep++] = active[a];
        n_active = keep;
        for (size_t k = i; k < j; k++) active[n_active++] = k;
        if (melody_track < 0) {
            int top = -1;
            for (size_t a = 0; a < n_active; a++)
                if (v[active[a]].pitch > top) top = v[active[a]].pitch;
            for (size_t k = i; k < j; k++) v[k].melody = v[k].pitch == top;
        }
        unsigned pcs = 0; /* bit c: pitch class c sounds in the accompaniment */
        for (size_t a = 0; a < n_active; a++)
            if (!v[active[a]].melody) pcs |= 1u << (v[active[a]].pitch % 12);
        for (size_t k = i; k < j; k++) {
            if (!v[k].melody) continue;
            out->onsets++;
            if (!pcs) out->silent++;
            else if (pcs & (1u << (v[k].pitch % 12))) out->fits++;
        }
        i = j;
    }
    free(active);
    free(v);
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Voice leading. */

eval_voice_ranges eval_voice_ranges_default(void)
{
    eval_voice_ranges r;
    voicing_ranges_default(r.low, r.high); /* the sampler's ranges (src/sample/voicing.c) */
    return r;
}

/* The tracks of a four-voice score, top voice first; false unless exactly
 * four non-drum tracks hold notes. */
static bool find_voices(const tg_score *score, size_t voice[EVAL_VOICES])
{
    int k = 0;
    for (size_t t = 0; t < score->n_tracks; t++) {
        const tg_track *tr = &score->tracks[t];
        if (tr->is_drum || tr->n_notes == 0) continue;
        if (k == EVAL_VOICES) return false;
        voice[k++] = t;
    }
    return k == EVAL_VOICES;
}

bool eval_is_four_voices(const tg_score *score)
{
    size_t voice[EVAL_VOICES];
    return score->ticks_per_quarter > 0 && find_voices(score, voice);
}

/* Longest piece the grid takes: 2^24 sixteenths (about 4 million beats). */
#define MAX_STEPS (1LL << 24)

/* Fills pitch[step] (-1: rest) and onset[step] of one voice. */
static void voice_grid(const tg_track *tr, int64_t tpq, int16_t *pitch, uint8_t *onset, int64_t n_steps)
{
    for (int64_t i = 0; i < n_steps; i++) pitch[i] = -1;
    memset(onset, 0, (size_t)n_steps);
    /* notes are sorted by (start, pitch): later ones overwrite */
    for (size_t k = 0; k < tr->n_notes; k++) {
        const tg_note *nt = &tr->notes[k];
        int64_t a = nt->start_ticks * 4 / tpq, b = (nt->end_ticks * 4 + tpq - 1) / tpq;
        if (a < 0) a = 0;
        if (b > n_steps) b = n_steps;
        for (int64_t i = a; i < b; i++) pitch[i] = nt->pitch;
        if (a < n_steps) onset[a] = 1;
    }
}

/* Parallel fifths and octaves of voices u (upper) and l over the grid
 * (voicing_parallel_motion: the sampler's definition). */
static void count_parallels(const int16_t *u, const int16_t *l, int64_t n, eval_voice_counts *out)
{
    for (int64_t i = 1; i < n; i++) {
        voicing_parallel m = voicing_parallel_motion(u[i - 1], u[i], l[i - 1], l[i]);
        if (m == VOICING_FIFTHS) out->fifths++;
        if (m == VOICING_OCTAVES) out->octaves++;
    }
}

/* Crossings of adjacent voices u (upper) and l. */
static void count_crossings(const int16_t *u, const int16_t *l, const uint8_t *on_u, const uint8_t *on_l,
                            int64_t n, eval_voice_counts *out)
{
    bool before = false;
    for (int64_t i = 0; i < n; i++) {
        bool crossed = voicing_crossed(u[i], l[i]);
        if (crossed && (on_u[i] || on_l[i])) out->crossings++;
        if (crossed && !before) out->crossings_begun++;
        before = crossed;
    }
}

tg_status eval_voice_leading(const tg_score *score, const eval_voice_ranges *ranges, eval_voice_counts *out)
{
    memset(out, 0, sizeof *out);
    size_t voice[EVAL_VOICES];
    if (score->ticks_per_quarter <= 0 || !find_voices(score, voice)) return TG_ERR_ARG;
    int64_t tpq = score->ticks_per_quarter, end = tg_score_end_ticks(score);
    if (end / tpq >= MAX_STEPS / 4) return TG_ERR_RANGE;
    int64_t n = (end * 4 + tpq - 1) / tpq;
    int16_t *pitch = malloc((size_t)(n ? n : 1) * EVAL_VOICES * sizeof *pitch);
    uint8_t *onset = malloc((size_t)(n ? n : 1) * EVAL_VOICES);
    if (!pitch || !onset) {
        free(pitch);
        free(onset);
        return TG_ERR_NOMEM;
    }
    for (int k = 0; k < EVAL_VOICES; k++) {
        const tg_track *tr = &score->tracks[voice[k]];
        voice_grid(tr, tpq, pitch + k * n, onset + k * n, n);
        for (size_t j = 0; j < tr->n_notes; j++) {
            int p = tr->notes[j].pitch;
            out->notes++;
            if (p < ranges->low[k] || p > ranges->high[k]) out->out_of_range[k]++;
        }
    }
    for (int a = 0; a < EVAL_VOICES; a++)
        for (int b = a + 1; b < EVAL_VOICES; b++) count_parallels(pitch + a * n, pitch + b * n, n, out);
    for (int a = 0; a + 1 < EVAL_VOICES; a++)
        count_crossings(pitch + a * n, pitch + (a + 1) * n, onset + a * n, onset + (a + 1) * n, n, out);
    out->beats = (double)n / 4.0;
    free(pitch);
    free(onset);
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Sets. */

const tg_score *eval_piece_source(const eval_piece *p)
{
    return p->source ? p->source : p->score;
}

tg_status eval_harmony_set(const eval_set *set, int melody_track, eval_harmony_result *out)
{
    memset(out, 0, sizeof *out);
    double *rate = malloc((set->n ? set->n : 1) * sizeof *rate);
    if (!rate) return TG_ERR_NOMEM;
    tg_status st = TG_OK;
    for (size_t i = 0; i < set->n && st == TG_OK; i++) {
        const tg_score *s = eval_piece_source(&set->pieces[i]);
        eval_fit_counts c;
        rate[i] = NAN;
        if (melody_track >= 0 && (size_t)melody_track >= s->n_tracks) {
            out->skipped++;
            continue;
        }
        st = eval_harmonic_fit(s, melody_track, &c);
        if (st != TG_OK) break;
        out->pieces++;
        out->counts.onsets += c.onsets;
        out->counts.silent += c.silent;
        out->counts.fits += c.fits;
        if (c.onsets > c.silent) rate[i] = (double)c.fits / (double)(c.onsets - c.silent);
    }
    const eval_fit_counts *c = &out->counts;
    out->fit = c->onsets > c->silent ? (double)c->fits / (double)(c->onsets - c->silent) : NAN;
    out->silent_share = c->onsets ? (double)c->silent / (double)c->onsets : NAN;
    out->piece_fit = eval_summarize(rate, set->n, 1);
    free(rate);
    return st;
}

tg_status eval_voice_set(const eval_set *set, const eval_voice_ranges *ranges, eval_voice_result *out)
{
    memset(out, 0, sizeof *out);
    eval_voice_counts *sum = &out->counts;
    for (size_t i = 0; i < set->n; i++) {
        const tg_score *s = eval_piece_source(&set->pieces[i]);
        eval_voice_counts c;
        tg_status st = eval_voice_leading(s, ranges, &c);
        if (st == TG_ERR_ARG || st == TG_ERR_RANGE) { /* not four voices, or too long for the grid */
            out->skipped++;
            continue;
        }
        if (st != TG_OK) return st;
        out->pieces++;
        sum->beats += c.beats;
        sum->notes += c.notes;
        sum->fifths += c.fifths;
        sum->octaves += c.octaves;
        sum->crossings += c.crossings;
        sum->crossings_begun += c.crossings_begun;
        for (int k = 0; k < EVAL_VOICES; k++) sum->out_of_range[k] += c.out_of_range[k];
    }
    double per = sum->beats > 0 ? 100.0 / sum->beats : NAN;
    uint64_t oor = 0;
    for (int k = 0; k < EVAL_VOICES; k++) oor += sum->out_of_range[k];
    out->fifths = (double)sum->fifths * per;
    out->octaves = (double)sum->octaves * per;
    out->crossings = (double)sum->crossings * per;
    out->crossings_begun = (double)sum->crossings_begun * per;
    out->out_of_range = (double)oor * per;
    return TG_OK;
}
