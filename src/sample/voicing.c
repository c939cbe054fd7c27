/*
 * voicing.c: the voice-leading rules of four voices (soprano, alto, tenor,
 * bass), one definition for the measure (src/eval/harmony.c counts them on a
 * score) and for the sampler (fill.c keeps them while a voice's Pitch token
 * is drawn):
 *   - a parallel fifth or octave: voices u (upper by voice order) and l both
 *     change pitch in the same direction from one 16th step to the next, and
 *     (u - l) mod 12 is 7 (fifths) or 0 (octaves, unisons) at both steps; the
 *     interval is read from the voice order, so a crossed fourth counts as a
 *     fifth (harmony.c says why);
 *   - a crossing: the lower of two adjacent voices sounds above the upper;
 *   - a range: each voice's lowest and highest pitch (textbook ranges).
 *
 * The sampler's side: a row's notes so far, per voice, on harmony.c's grid
 * (a note of steps [a, b) in the tokenizer's unit covers the 16ths from
 * floor(a * 4 / spq) to ceil(b * 4 / spq) - 1; at a 16th a voice sounds the
 * note begun last among those covering it, the highest on a tie), and the
 * rules a candidate pitch would break at its onset against the voices already
 * known there. A voice is known at a 16th of the current bar once it has been
 * written in that bar (its Track_k came); before the bar, always. A note's
 * duration is drawn after its pitch: a duration over which an adjacent voice
 * known there starts a note above it (below, for the lower voice) is a
 * crossing too (voicing_held_crosses). What the sampler cannot see: the
 * voices written after it in the bar (they are checked when they come: each
 * pair is checked by the later voice; for crossings, a voice not yet written
 * in the bar is taken to hold the note it carries over the bar line), the
 * next bar's written notes under a note held over the bar line, and the next
 * note after an infilled gap. The
 * given voices (the soprano of a harmonisation) are known ahead, the whole
 * plan: a note held over a bar line is not crossed by them either.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "sample.h"

voicing_parallel voicing_parallel_motion(int u0, int u1, int l0, int l1)
{
    if (u0 < 0 || u1 < 0 || l0 < 0 || l1 < 0) return VOICING_FREE;
    const int du = u1 - u0, dl = l1 - l0;
    if (du == 0 || dl == 0 || (du > 0) != (dl > 0)) return VOICING_FREE;
    const int before = ((u0 - l0) % 12 + 12) % 12, after = ((u1 - l1) % 12 + 12) % 12;
    if (before == 7 && after == 7) return VOICING_FIFTHS;
    if (before == 0 && after == 0) return VOICING_OCTAVES;
    return VOICING_FREE;
}

bool voicing_crossed(int upper, int lower)
{
    return upper >= 0 && lower >= 0 && lower > upper;
}

void voicing_ranges_default(int low[SAMPLE_VOICES], int high[SAMPLE_VOICES])
{
    /* soprano C4-G5, alto G3-D5, tenor C3-G4, bass E2-C4 (MIDI pitches) */
    static const int lo[SAMPLE_VOICES] = {60, 55, 48, 40}, hi[SAMPLE_VOICES] = {79, 74, 67, 60};
    memcpy(low, lo, sizeof lo);
    memcpy(high, hi, sizeof hi);
}

/* ------------------------------------------------------------------------ */
/* A row's notes. */

void voicing_row_init(voicing_row *r, const sample_voicing *v, int steps_per_quarter)
{
    memset(r, 0, sizeof *r);
    r->rules = v;
    r->spq = steps_per_quarter > 0 ? steps_per_quarter : 4;
    r->pending_voice = -1;
}

void voicing_row_free(voicing_row *r)
{
    for (int k = 0; k < SAMPLE_VOICES; k++) free(r->notes[k]);
    memset(r, 0, sizeof *r);
}

static int64_t sixteenth_floor(const voicing_row *r, int64_t step)
{
    return step * 4 / r->spq;
}

static int64_t sixteenth_ceil(const voicing_row *r, int64_t step)
{
    return (step * 4 + r->spq - 1) / r->spq;
}

/* The voice's pitch at 16th i (-1: it rests), harmony.c's reading, among
 * its notes begun before 16th before. */
static int pitch_before(const voicing_row *r, int voice, int64_t i, int64_t before)
{
    const voicing_note *best = NULL;
    for (size_t k = 0; k < r->n[voice]; k++) {
        const voicing_note *nt = &r->notes[voice][k];
        if (i < nt->from || i >= nt->to || nt->from >= before) continue;
        if (!best || nt->onset > best->onset || (nt->onset == best->onset && nt->pitch > best->pitch)) best = nt;
    }
    return best ? best->pitch : -1;
}

static int pitch_at(const voicing_row *r, int voice, int64_t i)
{
    return pitch_before(r, voice, i, INT64_MAX);
}

tg_status voicing_row_feed(voicing_row *r, const tok_grammar *g, int id, bool given)
{
    const tok_info info = tok_get_info(g->tok, id);
    const int slot = g->tracks.slot;
    const int voice = slot >= 0 && slot < TOK_TRACKS_MAX ? r->rules->voice_of_slot[slot] : -1;
    if (voice >= 0 && r->rules->given[voice] != given) return TG_OK; /* recorded by the other pass */
    if (info.type == TOK_T_PITCH) {
        r->pending_voice = voice;
        r->pending_pitch = info.value;
        r->pending_step = tok_grammar_time(g);
    } else if (info.type == TOK_T_DURATION && r->pending_voice >= 0) {
        const int v = r->pending_voice;
        tg_status st = tg_grow((void **)&r->notes[v], &r->cap[v], r->n[v] + 1, sizeof *r->notes[v]);
        if (st != TG_OK) return st;
        const int64_t a = r->pending_step, b = a + (info.value > 0 ? info.value : 1);
        int64_t from = sixteenth_floor(r, a), to = sixteenth_ceil(r, b);
        if (to <= from) to = from + 1;
        r->notes[v][r->n[v]++] = (voicing_note){a, from, to, r->pending_pitch};
        r->pending_voice = -1;
    }
    return TG_OK;
}

int voicing_voice_at(const voicing_row *r, const tok_grammar *g)
{
    const int slot = g->tracks.slot;
    return slot >= 0 && slot < TOK_TRACKS_MAX ? r->rules->voice_of_slot[slot] : -1;
}

/* Whether voice w is known at 16th i for a note of the bar g is in: a given
 * voice always; a written one before the bar, and in it once written there. */
static bool known(const voicing_row *r, const tok_grammar *g, int w, int64_t i)
{
    if (r->rules->given[w] || i < sixteenth_floor(r, g->tracks.bar_start)) return true;
    for (int s = 0; s < TOK_TRACKS_MAX; s++)
        if (r->rules->voice_of_slot[s] == w) return (g->tracks.seen >> s & 1) != 0;
    return false;
}

void voicing_judge(const voicing_row *r, const tok_grammar *g, uint8_t flags[128])
{
    memset(flags, 0, 128);
    const int v = voicing_voice_at(r, g);
    if (v < 0) return;
    const int64_t s = sixteenth_floor(r, tok_grammar_time(g));
    const int v0 = pitch_at(r, v, s - 1);
    /* w1c: what a crossing is read against; a voice not yet written in this
     * bar holds there the note it carries over the bar line, if any (should
     * it start another there, its own draw keeps the rules then) */
    const int64_t bar16 = sixteenth_floor(r, g->tracks.bar_start);
    int w0[SAMPLE_VOICES], w1[SAMPLE_VOICES], w1c[SAMPLE_VOICES];
    for (int w = 0; w < SAMPLE_VOICES; w++) {
        w0[w] = w != v && known(r, g, w, s - 1) ? pitch_at(r, w, s - 1) : -1;
        w1[w] = w != v && known(r, g, w, s) ? pitch_at(r, w, s) : -1;
        w1c[w] = w == v ? -1 : w1[w] >= 0 || known(r, g, w, s) ? w1[w] : pitch_before(r, w, s, bar16);
    }
    const sample_voicing *rules = r->rules;
    for (int p = 0; p < 128; p++) {
        uint8_t f = 0;
        if (p < rules->low[v] || p > rules->high[v]) f |= VOICING_RANGE;
        if ((v > 0 && voicing_crossed(w1c[v - 1], p)) || (v + 1 < SAMPLE_VOICES && voicing_crossed(p, w1c[v + 1])))
            f |= VOICING_CROSSING;
        for (int w = 0; w < SAMPLE_VOICES && !(f & VOICING_PARALLELS); w++) {
            if (w == v) continue;
            voicing_parallel m = v < w ? voicing_parallel_motion(v0, p, w0[w], w1[w])
                                       : voicing_parallel_motion(w0[w], w1[w], v0, p);
            if (m != VOICING_FREE) f |= VOICING_PARALLELS;
        }
        flags[p] = f;
    }
}

/* Whether voice w starts a note at 16th i. */
static bool starts_at(const voicing_row *r, int w, int64_t i)
{
    for (size_t k = 0; k < r->n[w]; k++)
        if (r->notes[w][k].from == i) return true;
    return false;
}

bool voicing_held_crosses(const voicing_row *r, const tok_grammar *g, int duration)
{
    const int v = r->pending_voice;
    if (v < 0) return false;
    const int64_t a = r->pending_step, from = sixteenth_floor(r, a);
    const int64_t bar_end = sixteenth_floor(r, g->tracks.bar_start + g->tok->meters[g->tracks.bar_meter].steps);
    const int64_t to = sixteenth_ceil(r, a + (duration > 0 ? duration : 1));
    for (int64_t i = from + 1; i < to; i++)
        for (int w = v - 1; w <= v + 1; w += 2) {
            if (w < 0 || w >= SAMPLE_VOICES || !known(r, g, w, i) || !starts_at(r, w, i)) continue;
            if (i >= bar_end && !r->rules->given[w]) continue; /* a written voice's next bar: not yet */
            const int pw = pitch_at(r, w, i);
            if (w < v ? voicing_crossed(pw, r->pending_pitch) : voicing_crossed(r->pending_pitch, pw)) return true;
        }
    return false;
}

/* The rules kept, strict first, then relaxed in this order: the range, then
 * crossings, then parallels. */
static const uint8_t relax_order[] = {VOICING_RANGE | VOICING_CROSSING | VOICING_PARALLELS,
                                      VOICING_CROSSING | VOICING_PARALLELS, VOICING_PARALLELS, 0};

uint8_t voicing_rules_kept(const tok_tokenizer *tok, const uint8_t *mask, const uint8_t flags[128], bool *other)
{
    const int V = tok_vocab_size(tok);
    uint8_t pitches[128] = {0};
    bool others = false;
    for (int id = 0; id < V; id++) {
        if (!mask[id]) continue;
        const tok_info info = tok_get_info(tok, id);
        if (info.type == TOK_T_PITCH && info.value >= 0 && info.value < 128)
            pitches[info.value] = 1;
        else
            others = true;
    }
    if (other) *other = others;
    if (others) return relax_order[0]; /* another token may come: no pitch is forced */
    for (size_t k = 0; k < TG_ARRAY_LEN(relax_order); k++)
        for (int p = 0; p < 128; p++)
            if (pitches[p] && !(flags[p] & relax_order[k])) return relax_order[k];
    return 0;
}
