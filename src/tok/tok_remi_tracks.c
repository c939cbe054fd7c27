/*
 * tok_remi_tracks.c: remi-tracks, the conditional tokenizer for any-track
 * generation (accompaniment, harmonisation, infilling). remi tells tracks
 * apart by program only, so Nottingham's melody and chords (both program 0)
 * or the four chorale voices (all program 52) decode into one track. Here
 * each track has an identity of its own, a slot k (Track_k), and every bar
 * lists its tracks one after the other:
 *
 *   BOS { Track_k Program_p }                      header: the slots, rising
 *   { Bar [TimeSig] { Position Tempo }             prelude: the bar's tempo changes
 *         ( Gap | { Track_k { Position { Pitch [Velocity] Duration } } } ) }
 *   [ Fill { Bar { Track_k ... } } ]               the Gap bars, in order
 *   EOS
 *
 * Why this order (and not the Anticipatory Music Transformer's interleaving):
 * the model's context is 256 tokens (about six Nottingham bars). With the
 * tracks of a bar written one after the other, a track written later in a
 * bar sees the earlier tracks of that bar and everything before it, and the
 * task decides the order: the tracks that are GIVEN come first in every
 * bar, so a generated track always sees the given tracks of its own bar at a
 * distance of a few dozen tokens, whatever the window. Infilling is MMM's
 * (Ens & Pasquier 2020, https://arxiv.org/abs/2008.06048) within a window:
 * the bars to fill stand as Gap bars among the bars before and after, and
 * come back at the end after Fill, so they are written seeing both sides.
 * Both are rewrites of a sequence's segments (tok_tracks_rewrite), which is
 * what the training mix and the commands use. Anticipation interleaves the
 * given notes a fixed time ahead; it needs no Fill section but a context
 * that holds the anticipated notes of every track, and its ordering is
 * harder to test note for note; this one reuses remi's bars and grammar.
 *
 * Within a segment, positions rise strictly and pitches rise strictly at a
 * position; a note's Velocity is written at the segment's first note and
 * when its bin changes (each Track_k begins with no bin in force), so every
 * segment decodes on its own. Slots are the note-bearing tracks in score
 * order (at most TOK_TRACKS_MAX); two notes of one track at one step and
 * pitch keep the longer one. Times, meters, tempo bins and durations are
 * remi's (tok.h), with the tempo changes in each bar's prelude.
 * What it leaves out: track names and channels (decoding names slot k
 * "Track k", channel k skipping 9; the commands carry names from the input
 * and the model's table of slots).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "tok.h"

#define DRUMS 128

/* ------------------------------------------------------------------------ */
/* Vocabulary: remi's, then Track_0..Track_{MAX-1}, Fill, Gap. */

static tg_status tracks_build(tok_tokenizer *tok)
{
    tg_status st = tok_remi_build(tok);
    char name[32];
    for (int k = 0; st == TG_OK && k < TOK_TRACKS_MAX; k++) {
        snprintf(name, sizeof name, "Track_%d", k);
        st = tok_add(tok, TOK_T_TRACK, k, name);
    }
    if (st == TG_OK) st = tok_add(tok, TOK_T_FILL, 0, "Fill");
    if (st == TG_OK) st = tok_add(tok, TOK_T_GAP, 0, "Gap");
    return st;
}

/* ------------------------------------------------------------------------ */
/* Encoding. */

typedef struct {
    int8_t slot;
    uint8_t pitch, vel_bin;
    int64_t step;
    int32_t dur;
} slot_note;

static int cmp_slot_note(const void *pa, const void *pb)
{
    const slot_note *a = pa, *b = pb;
    if (a->slot != b->slot) return a->slot - b->slot;
    if (a->step != b->step) return a->step < b->step ? -1 : 1;
    if (a->pitch != b->pitch) return (int)a->pitch - (int)b->pitch;
    if (a->dur != b->dur) return b->dur - a->dur; /* the longer first: it is kept */
    return (int)a->vel_bin - (int)b->vel_bin;
}

tg_status tok_tracks_canonical(const tg_score *s, int *slot_of, tok_tracks_slots *slots)
{
    int n = 0;
    for (int k = 0; k < TOK_TRACKS_MAX; k++) slots->program[k] = -1;
    for (size_t t = 0; t < s->n_tracks; t++) {
        slot_of[t] = -1;
        if (s->tracks[t].n_notes == 0) continue;
        if (n == TOK_TRACKS_MAX) return TG_ERR_TOO_LARGE;
        slots->program[n] = s->tracks[t].is_drum ? DRUMS : s->tracks[t].program;
        slot_of[t] = n++;
    }
    return TG_OK;
}

static tg_status collect(const tok_tokenizer *tok, const tg_score *s, const int *slot_of,
                         slot_note **out, size_t *n_out)
{
    size_t total = tg_score_note_count(s), n = 0;
    slot_note *v = malloc((total ? total : 1) * sizeof *v);
    if (!v) return TG_ERR_NOMEM;
    for (size_t t = 0; t < s->n_tracks; t++) {
        if (slot_of[t] < 0) continue;
        const tg_track *tr = &s->tracks[t];
        for (size_t i = 0; i < tr->n_notes; i++) {
            const tg_note *nt = &tr->notes[i];
            int64_t step;
            int32_t dur;
            tok_remi_note_steps(tok, s, nt, &step, &dur);
            v[n++] = (slot_note){(int8_t)slot_of[t], nt->pitch, tok->vel_bin[nt->velocity & 127], step, dur};
        }
    }
    qsort(v, n, sizeof *v, cmp_slot_note);
    size_t k = 0; /* one note per (slot, step, pitch): the longest */
    for (size_t i = 0; i < n; i++)
        if (k == 0 || v[i].slot != v[k - 1].slot || v[i].step != v[k - 1].step ||
            v[i].pitch != v[k - 1].pitch)
            v[k++] = v[i];
    *out = v;
    *n_out = k;
    return TG_OK;
}

#define PUSH(type, value)                                                      \
    do {                                                                       \
        st = tok_seq_push(seq, tok_id(tok, (type), (value)));                  \
        if (st != TG_OK) goto done;                                            \
    } while (0)

tg_status tok_tracks_encode(const tok_tokenizer *tok, const tg_score *score, const int *slot_of,
                            const tok_tracks_slots *slots, tok_seq *seq)
{
    tok_remi_frame f;
    tg_status st = tok_remi_frame_open(&f, score);
    if (st != TG_OK) return st;
    slot_note *notes = NULL;
    size_t nn = 0, cur[TOK_TRACKS_MAX] = {0};
    st = tok_seq_push(seq, TOK_BOS);
    if (st == TG_OK) st = collect(tok, f.score, slot_of, &notes, &nn);
    int64_t last = -1, bar_end;
    for (size_t i = 0; i < nn; i++)
        if (notes[i].step > last) last = notes[i].step;
    if (st == TG_OK && last > TOK_MAX_STEPS) st = TG_ERR_TOO_LARGE;
    if (st == TG_OK && nn > 0) st = tok_remi_frame_maps(&f, tok, last);
    if (st != TG_OK || nn == 0) goto done;
    for (int k = 0; k < TOK_TRACKS_MAX; k++) /* the header */
        if (slots->program[k] >= 0) {
            PUSH(TOK_T_TRACK, k);
            PUSH(TOK_T_PROGRAM, slots->program[k]);
        }
    for (size_t i = 0; i < nn; i++) /* each slot's first note */
        for (int k = notes[i].slot + 1; k < TOK_TRACKS_MAX; k++) cur[k] = i + 1;
    size_t ti = 0;
    for (int64_t p = 0; p <= last; p = bar_end) {
        st = tok_remi_frame_bar(&f, tok, p, seq, &bar_end);
        if (st != TG_OK) goto done;
        for (; ti < f.n_tempos && f.tempos[ti].step < bar_end; ti++) {
            PUSH(TOK_T_POSITION, (int)(f.tempos[ti].step - p));
            PUSH(TOK_T_TEMPO, f.tempos[ti].bin);
        }
        for (int k = 0; k < TOK_TRACKS_MAX; k++) {
            if (slots->program[k] < 0) continue;
            PUSH(TOK_T_TRACK, k);
            int64_t pos = -1;
            int vel = -1;
            for (size_t *c = &cur[k]; *c < nn && notes[*c].slot == k && notes[*c].step < bar_end;
                 ++*c) {
                const slot_note *nt = &notes[*c];
                if (nt->step != pos) PUSH(TOK_T_POSITION, (int)(nt->step - p));
                pos = nt->step;
                PUSH(TOK_T_PITCH, nt->pitch);
                if (nt->vel_bin != vel) PUSH(TOK_T_VELOCITY, nt->vel_bin);
                vel = nt->vel_bin;
                PUSH(TOK_T_DURATION, nt->dur);
            }
        }
    }
done:
    if (st == TG_OK) st = tok_seq_push(seq, TOK_EOS);
    free(notes);
    tok_remi_frame_free(&f);
    return st;
}

static tg_status tracks_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq)
{
    int *slot_of = malloc((score->n_tracks ? score->n_tracks : 1) * sizeof *slot_of);
    if (!slot_of) return TG_ERR_NOMEM;
    tok_tracks_slots slots;
    tg_status st = tok_tracks_canonical(score, slot_of, &slots);
    if (st == TG_OK) st = tok_tracks_encode(tok, score, slot_of, &slots, seq);
    free(slot_of);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Grammar (this file's opening comment; tok.h's rules for the shared parts). */

static void tracks_grammar_init(tok_grammar *g)
{
    g->tracks.meter = g->tracks.bar_meter = -1;
    g->tracks.pos = g->tracks.prev_pitch = g->tracks.velocity = -1;
    g->tracks.slot = -2;
    g->tracks.header_last = -1;
}

/* Whether the current bar is whole: a Gap, or every slot's segment written
 * and not inside a note or after a bare Position. */
static bool bar_done(const tok_grammar *g)
{
    if (g->tracks.bars == 0 || (g->tracks.fill && g->tracks.fill_bars == 0)) return false;
    if (g->tracks.gap_bar) return g->last == TOK_T_GAP;
    return g->tracks.seen == g->tracks.present &&
           (g->last == TOK_T_TRACK || g->last == TOK_T_DURATION);
}

static int bar_steps(const tok_grammar *g)
{
    return g->tok->meters[g->tracks.bar_meter].steps;
}

/* Right after the Bar (and its TimeSig): where a prelude, a Gap or a track may start. */
static bool bar_head(const tok_grammar *g)
{
    if (g->last == TOK_T_BAR) return g->tracks.meter >= 0;
    return g->last == TOK_T_TIMESIG || g->last == TOK_T_TEMPO;
}

static bool tracks_allows(const tok_grammar *g, tok_type type, int value)
{
    const int last = g->last, slot = g->tracks.slot;
    const bool header = slot == -2, in_main_bar = !header && !g->tracks.fill;
    switch (type) {
    case TOK_T_EOS:
        if (last == TOK_T_BOS) return true;
        if (!bar_done(g)) return false;
        return g->tracks.fill ? g->tracks.fill_bars == g->tracks.n_gaps : g->tracks.n_gaps == 0;
    case TOK_T_TRACK:
        if (header)
            return (last == TOK_T_BOS || last == TOK_T_PROGRAM) && value > g->tracks.header_last;
        if (g->tracks.gap_bar || !(g->tracks.present >> value & 1) || (g->tracks.seen >> value & 1))
            return false;
        if (g->tracks.fill && last == TOK_T_BAR) return true;
        return bar_head(g) || last == TOK_T_TRACK || last == TOK_T_DURATION;
    case TOK_T_PROGRAM:
        return header && last == TOK_T_TRACK;
    case TOK_T_BAR:
        if (header) return last == TOK_T_PROGRAM;
        if (last == TOK_T_FILL) return true;
        if (!bar_done(g)) return false;
        return !g->tracks.fill || g->tracks.fill_bars < g->tracks.n_gaps;
    case TOK_T_TIMESIG:
        return in_main_bar && last == TOK_T_BAR;
    case TOK_T_GAP:
        return in_main_bar && bar_head(g) && g->tracks.n_gaps < TOK_TRACKS_MAX_GAPS;
    case TOK_T_FILL:
        return in_main_bar && g->tracks.n_gaps > 0 && bar_done(g);
    case TOK_T_POSITION:
        if (header || g->tracks.gap_bar || g->tracks.bar_meter < 0 || value <= g->tracks.pos ||
            value >= bar_steps(g))
            return false;
        if (slot == -1) return in_main_bar && bar_head(g); /* a tempo change */
        return last == TOK_T_TRACK || last == TOK_T_DURATION;
    case TOK_T_TEMPO:
        return slot == -1 && last == TOK_T_POSITION;
    case TOK_T_PITCH:
        if (slot < 0) return false;
        if (last == TOK_T_POSITION) return true;
        return last == TOK_T_DURATION && value > g->tracks.prev_pitch;
    case TOK_T_VELOCITY:
        return slot >= 0 && last == TOK_T_PITCH && value != g->tracks.velocity;
    case TOK_T_DURATION:
        return slot >= 0 && (last == TOK_T_VELOCITY || (last == TOK_T_PITCH && g->tracks.velocity >= 0));
    default:
        return false;
    }
}

static void tracks_feed(tok_grammar *g, tok_type type, int value)
{
    switch (type) {
    case TOK_T_TRACK:
        if (g->tracks.slot == -2) {
            g->tracks.present |= (uint16_t)(1u << value);
            g->tracks.header_last = value;
            break;
        }
        g->tracks.slot = value;
        g->tracks.seen |= (uint16_t)(1u << value);
        g->tracks.pos = g->tracks.prev_pitch = g->tracks.velocity = -1;
        break;
    case TOK_T_BAR:
        if (g->tracks.fill) {
            int k = g->tracks.fill_bars++;
            g->tracks.bar_meter = g->tracks.gap_meter[k];
            g->tracks.bar_start = g->tracks.gap_start[k];
        } else {
            if (g->tracks.bars > 0) g->tracks.bar_start += g->tok->meters[g->tracks.bar_meter].steps;
            g->tracks.bar_meter = g->tracks.meter;
        }
        g->tracks.bars++;
        g->tracks.slot = -1;
        g->tracks.seen = 0;
        g->tracks.gap_bar = false;
        g->tracks.pos = -1;
        break;
    case TOK_T_TIMESIG: g->tracks.meter = g->tracks.bar_meter = value; break;
    case TOK_T_GAP:
        g->tracks.gap_bar = true;
        g->tracks.gap_meter[g->tracks.n_gaps] = (int8_t)g->tracks.bar_meter;
        g->tracks.gap_start[g->tracks.n_gaps++] = g->tracks.bar_start;
        break;
    case TOK_T_FILL: g->tracks.fill = true; break;
    case TOK_T_POSITION:
        g->tracks.pos = value;
        g->tracks.prev_pitch = -1;
        break;
    case TOK_T_PITCH: g->tracks.prev_pitch = value; break;
    case TOK_T_VELOCITY: g->tracks.velocity = value; break;
    case TOK_T_DURATION: g->notes++; break;
    default: break;
    }
}

static int64_t tracks_time(const tok_grammar *g)
{
    return g->tracks.bar_start + (g->tracks.pos > 0 ? g->tracks.pos : 0);
}

/* ------------------------------------------------------------------------ */
/* Decoding: the grammar's state machine, each note into its slot's list. */

typedef struct {
    tg_note *notes;
    size_t n, cap;
} note_list;

typedef struct {
    note_list slot[TOK_TRACKS_MAX];
    int program[TOK_TRACKS_MAX];  /* -1: not in the header */
    tok_remi_maps maps;
} tracks_out;

static tg_status build_score(const tok_tokenizer *tok, tracks_out *o, tg_score **out)
{
    tg_score *s;
    tg_status st = tok_remi_score_open(tok, &o->maps, &s);
    if (st != TG_OK) return st;
    int channel = 0;
    for (int k = 0; st == TG_OK && k < TOK_TRACKS_MAX; k++) {
        if (o->program[k] < 0 && o->slot[k].n == 0) continue;
        int program = o->program[k] < 0 ? 0 : o->program[k];
        int ch = program == DRUMS ? 9 : channel;
        if (program != DRUMS) channel = channel == 8 ? 10 : (channel + 1) & 15;
        char name[32];
        snprintf(name, sizeof name, "Track %d", k);
        st = tok_remi_add_track(s, name, ch, program == DRUMS ? 0 : program, o->slot[k].notes, o->slot[k].n);
    }
    return tok_remi_score_close(st, s, out);
}

static void free_out(tracks_out *o)
{
    for (int k = 0; k < TOK_TRACKS_MAX; k++) free(o->slot[k].notes);
    tok_remi_maps_free(&o->maps);
}

/* The decoder follows the grammar state: a token it does not allow is a
 * problem (strict: the error; lenient: dropped). EOS ends the piece
 * wherever it comes (a bar left incomplete keeps its notes). */
static tg_status tracks_decode(tok_dec *d, const uint16_t *ids, size_t n, tg_score **out)
{
    const tok_tokenizer *tok = d->tok;
    const int64_t tps = 40;
    tracks_out o;
    memset(&o, 0, sizeof o);
    for (int k = 0; k < TOK_TRACKS_MAX; k++) o.program[k] = -1;
    tok_grammar g;
    tok_grammar_init(&g, tok);
    tok_grammar_feed(&g, TOK_BOS);
    tg_status st = TG_OK;
    int pitch = 0;
    size_t note_at = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && ids[0] == TOK_BOS) continue;
        int r = tok_dec_common(d, ids, n, i, &st);
        if (st != TG_OK) goto fail;
        if (r == 2) break;
        if (r == 1) continue;
        tok_info info = tok->info[ids[i]];
        const char *name = tok->names[ids[i]];
        if (!tracks_allows(&g, info.type, info.value)) {
            bool lost = g.last == TOK_T_PITCH || g.last == TOK_T_VELOCITY;
            st = tok_dec_problem(d, i, lost ? "%s inside the note begun at token %zu: dropped"
                                            : "%s may not come here: dropped", name, note_at);
            if (st != TG_OK) goto fail;
            continue;
        }
        if (info.type == TOK_T_PROGRAM) o.program[g.tracks.header_last] = info.value;
        if (info.type == TOK_T_TIMESIG) {
            tg_timesig ts = {g.tracks.bar_start * tps, tok->meters[info.value].numerator,
                             tok->meters[info.value].denominator, -1};
            st = tg_grow((void **)&o.maps.ts, &o.maps.cap_ts, o.maps.n_ts + 1, sizeof *o.maps.ts);
            if (st != TG_OK) goto fail;
            o.maps.ts[o.maps.n_ts++] = ts;
        }
        if (info.type == TOK_T_TEMPO) {
            tg_tempo t = {(g.tracks.bar_start + g.tracks.pos) * tps,
                          tok_remi_tempo_usec(&tok->cfg.remi, info.value), -1};
            st = tg_grow((void **)&o.maps.tempos, &o.maps.cap_tempos, o.maps.n_tempos + 1, sizeof *o.maps.tempos);
            if (st != TG_OK) goto fail;
            o.maps.tempos[o.maps.n_tempos++] = t;
        }
        if (info.type == TOK_T_PITCH) pitch = info.value, note_at = i;
        if (info.type == TOK_T_DURATION) {
            note_list *l = &o.slot[g.tracks.slot];
            int vel = g.tracks.velocity;
            st = tg_grow((void **)&l->notes, &l->cap, l->n + 1, sizeof *l->notes);
            if (st != TG_OK) goto fail;
            int64_t start = (g.tracks.bar_start + g.tracks.pos) * tps;
            l->notes[l->n++] = (tg_note){start, start + info.value * tps, (uint8_t)pitch,
                                         tok->vel_centre[vel], 0};
        }
        tok_grammar_feed(&g, ids[i]);
    }
    if (g.last == TOK_T_PITCH || g.last == TOK_T_VELOCITY) {
        st = tok_dec_problem(d, n ? n - 1 : 0, "the sequence ends inside the note begun at token %zu: dropped",
                             note_at);
        if (st != TG_OK) goto fail;
    }
    st = build_score(tok, &o, out);
fail:
    free_out(&o);
    return st;
}

const tok_kind_ops tok_remi_tracks_ops = {
    .kind = TOK_REMI_TRACKS,
    .name = "remi-tracks",
    .keys = tok_remi_keys,
    .n_keys = TOK_REMI_N_KEYS,
    .music = true,
    .config_default = tok_remi_default,
    .config_check = tok_remi_check,
    .build = tracks_build,
    .encode = tracks_encode,
    .decode = tracks_decode,
    .grammar_init = tracks_grammar_init,
    .grammar_allows = tracks_allows,
    .grammar_feed = tracks_feed,
    .grammar_can_close = tok_grammar_can_end,
    .grammar_close = tok_grammar_close_none,
    .grammar_time = tracks_time,
    .grammar_pad = tok_grammar_pad_none,
    .steps_per_quarter = tok_remi_steps_per_quarter,
    .unit_sec = tok_no_unit,
};
