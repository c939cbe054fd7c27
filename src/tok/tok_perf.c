/*
 * tok_perf.c: the perf tokenizer, the performance events of Music Transformer
 * (Huang et al. 2018, https://arxiv.org/abs/1809.04281, after Oore et al.,
 * "This time with feeling"): NoteOn, NoteOff, TimeShift in 10 ms steps up to
 * one second, and Velocity bins. tok.h gives the ordering rules and the
 * round-trip contract; this file holds the kind's table (tok_perf_ops).
 * What it leaves out: programs and tracks (all non-drum notes play on one
 * instrument), the sustain pedal.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "tok.h"

/* ------------------------------------------------------------------------ */
/* Config and vocabulary. */

static void perf_default(tok_config *c)
{
    c->perf.shift_ms = 10;
    c->perf.max_shift_steps = 100;
    c->perf.velocity_bins = 32;
}

static tg_status perf_check(const tok_config *c, char *why, size_t n)
{
    const tok_perf_config *p = &c->perf;
    if (p->shift_ms < 1 || p->shift_ms > 1000)
        return tg_fail(why, n, TG_ERR_RANGE, "shift_ms must be 1..1000, got %d", p->shift_ms);
    if (p->max_shift_steps < 1 || p->max_shift_steps > 1000)
        return tg_fail(why, n, TG_ERR_RANGE, "max_shift_steps must be 1..1000, got %d",
                    p->max_shift_steps);
    if (p->velocity_bins < 1 || p->velocity_bins > 127)
        return tg_fail(why, n, TG_ERR_RANGE, "velocity_bins must be 1..127, got %d",
                    p->velocity_bins);
    return TG_OK;
}

static double perf_unit_sec(const tok_config *c) { return c->perf.shift_ms / 1000.0; }

static tg_status perf_build(tok_tokenizer *tok)
{
    const tok_perf_config *c = &tok->cfg.perf;
    char name[32];
    tg_status st = TG_OK;
    for (int p = 0; st == TG_OK && p < 128; p++) {
        snprintf(name, sizeof name, "NoteOn_%d", p);
        st = tok_add(tok, TOK_T_NOTE_ON, p, name);
    }
    for (int p = 0; st == TG_OK && p < 128; p++) {
        snprintf(name, sizeof name, "NoteOff_%d", p);
        st = tok_add(tok, TOK_T_NOTE_OFF, p, name);
    }
    for (int k = 1; st == TG_OK && k <= c->max_shift_steps; k++) {
        snprintf(name, sizeof name, "TimeShift_%d", k);
        st = tok_add(tok, TOK_T_TIME_SHIFT, k, name);
    }
    for (int k = 0; st == TG_OK && k < c->velocity_bins; k++) {
        snprintf(name, sizeof name, "Velocity_%d", k);
        st = tok_add(tok, TOK_T_VELOCITY, k, name);
    }
    tok_velocity_bins(tok, c->velocity_bins);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Encoding and decoding. */

typedef struct {
    int64_t step;
    uint8_t on;      /* 0 NoteOff, 1 NoteOn: offs sort first at one instant */
    uint8_t pitch;
    uint8_t vel_bin;
} perf_event;

static int cmp_event(const void *pa, const void *pb)
{
    const perf_event *a = pa, *b = pb;
    if (a->step != b->step) return a->step < b->step ? -1 : 1;
    if (a->on != b->on) return (int)a->on - (int)b->on;
    if (a->pitch != b->pitch) return (int)a->pitch - (int)b->pitch;
    return (int)a->vel_bin - (int)b->vel_bin;
}

static tg_status perf_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq)
{
    const tok_perf_config *c = &tok->cfg.perf;
    int64_t shift_us = (int64_t)c->shift_ms * 1000;
    size_t total = tg_score_note_count(score);
    perf_event *ev = malloc((2 * total + 1) * sizeof *ev);
    if (!ev) return TG_ERR_NOMEM;
    size_t n = 0;
    for (size_t t = 0; t < score->n_tracks; t++) {
        const tg_track *tr = &score->tracks[t];
        if (tr->is_drum) continue;
        tok_clock clock;
        if (tok_clock_init(&clock, score, tr) != TG_OK) {
            free(ev);
            return TG_ERR_NOMEM;
        }
        for (size_t i = 0; i < tr->n_notes; i++) {
            const tg_note *nt = &tr->notes[i];
            int64_t a = (tok_clock_usec(&clock, nt->start_ticks) + shift_us / 2) / shift_us;
            int64_t b = (tok_clock_usec(&clock, nt->end_ticks) + shift_us / 2) / shift_us;
            if (b <= a) b = a + 1;
            uint8_t vb = tok->vel_bin[nt->velocity & 127];
            ev[n++] = (perf_event){a, 1, nt->pitch, vb};
            ev[n++] = (perf_event){b, 0, nt->pitch, vb};
        }
        tok_clock_free(&clock);
    }
    qsort(ev, n, sizeof *ev, cmp_event);
    tg_status st = TG_OK;
    if (n > 0 && ev[n - 1].step > TOK_MAX_STEPS) st = TG_ERR_TOO_LARGE;
    if (st == TG_OK) st = tok_seq_push(seq, TOK_BOS);
    int64_t now = 0;
    int vel = -1;
    for (size_t i = 0; st == TG_OK && i < n; i++) {
        while (st == TG_OK && now < ev[i].step) {
            int64_t s = ev[i].step - now;
            if (s > c->max_shift_steps) s = c->max_shift_steps;
            st = tok_seq_push(seq, tok_id(tok, TOK_T_TIME_SHIFT, (int)s));
            now += s;
        }
        if (st == TG_OK && ev[i].on && ev[i].vel_bin != vel) {
            vel = ev[i].vel_bin;
            st = tok_seq_push(seq, tok_id(tok, TOK_T_VELOCITY, vel));
        }
        if (st == TG_OK)
            st = tok_seq_push(seq, tok_id(tok, ev[i].on ? TOK_T_NOTE_ON : TOK_T_NOTE_OFF,
                                          ev[i].pitch));
    }
    if (st == TG_OK) st = tok_seq_push(seq, TOK_EOS);
    free(ev);
    return st;
}

/* Notes still sounding, per pitch, oldest first. */
typedef struct {
    int64_t step;
    size_t index;   /* of the NoteOn */
    uint8_t vel_bin;
} open_note;

typedef struct {
    open_note *items;
    size_t head, n, cap;
} open_queue;

static tg_status perf_decode(tok_dec *d, const uint16_t *ids, size_t n, tg_score **out)
{
    const tok_tokenizer *tok = d->tok;
    int64_t ms = tok->cfg.perf.shift_ms; /* ticks per step of the decoded score */
    open_queue q[128];
    memset(q, 0, sizeof q);
    tg_note *notes = NULL;
    size_t nn = 0, cap = 0;
    int64_t now = 0;
    int vel = -1;
    tg_status st = TG_OK;
    for (size_t i = 0; i < n; i++) {
        int r = tok_dec_common(d, ids, n, i, &st);
        if (st != TG_OK) goto fail;
        if (r == 2) break;
        if (r == 1) continue;
        tok_info info = tok->info[ids[i]];
        const char *name = tok->names[ids[i]];
        switch (info.type) {
        case TOK_T_TIME_SHIFT: now += info.value; break;
        case TOK_T_VELOCITY: vel = info.value; break;
        case TOK_T_NOTE_ON: {
            if (vel < 0) {
                st = tok_dec_problem(d, i, "%s before any Velocity: velocity 64 assumed", name);
                if (st != TG_OK) goto fail;
                vel = tok->vel_bin[64];
            }
            open_queue *oq = &q[info.value];
            if (oq->head == oq->n) oq->head = oq->n = 0;
            st = tg_grow((void **)&oq->items, &oq->cap, oq->n + 1, sizeof *oq->items);
            if (st != TG_OK) goto fail;
            oq->items[oq->n++] = (open_note){now, i, (uint8_t)vel};
            break;
        }
        case TOK_T_NOTE_OFF: {
            open_queue *oq = &q[info.value];
            if (oq->head == oq->n) {
                st = tok_dec_problem(d, i, "%s with no sounding note of that pitch: dropped", name);
                if (st != TG_OK) goto fail;
                break;
            }
            open_note on = oq->items[oq->head];
            int64_t end = now;
            if (end <= on.step) {
                st = tok_dec_problem(d, i, "%s at the instant of its NoteOn: the note keeps one step",
                                     name);
                if (st != TG_OK) goto fail;
                end = on.step + 1;
            }
            oq->head++;
            st = tg_grow((void **)&notes, &cap, nn + 1, sizeof *notes);
            if (st != TG_OK) goto fail;
            notes[nn++] = (tg_note){on.step * ms, end * ms, (uint8_t)info.value,
                                    tok->vel_centre[on.vel_bin], 0};
            break;
        }
        default:
            st = tok_dec_problem(d, i, "%s is not a perf token: dropped", name);
            if (st != TG_OK) goto fail;
            break;
        }
    }
    /* notes never ended: an error, or closed at the last instant */
    for (;;) {
        int oldest = -1;
        for (int p = 0; p < 128; p++)
            if (q[p].head < q[p].n &&
                (oldest < 0 || q[p].items[q[p].head].index < q[oldest].items[q[oldest].head].index))
                oldest = p;
        if (oldest < 0) break;
        open_note on = q[oldest].items[q[oldest].head++];
        st = tok_dec_problem(d, on.index, "%s is never ended: closed at the end",
                             tok->names[ids[on.index]]);
        if (st != TG_OK) goto fail;
        int64_t end = now > on.step ? now : on.step + 1;
        st = tg_grow((void **)&notes, &cap, nn + 1, sizeof *notes);
        if (st != TG_OK) goto fail;
        notes[nn++] = (tg_note){on.step * ms, end * ms, (uint8_t)oldest, tok->vel_centre[on.vel_bin], 0};
    }
    st = tok_timed_score("Piano", notes, nn, out);
fail:
    for (int p = 0; p < 128; p++) free(q[p].items);
    free(notes);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Grammar (tok.h): events in the encoder's order, EOS with no note sounding. */

static void perf_grammar_init(tok_grammar *g)
{
    g->perf.velocity = -1;
    g->perf.last_off = g->perf.last_on = -1;
}

static bool perf_allows(const tok_grammar *g, tok_type type, int value)
{
    int last = g->last;
    switch (type) {
    case TOK_T_EOS:
        return (last == TOK_T_BOS || last == TOK_T_NOTE_OFF) && g->perf.open_total == 0;
    case TOK_T_TIME_SHIFT:
        if (last == TOK_T_VELOCITY) return false;
        return last != TOK_T_TIME_SHIFT || g->perf.last_shift == g->tok->cfg.perf.max_shift_steps;
    case TOK_T_VELOCITY:
        return last != TOK_T_VELOCITY && value != g->perf.velocity;
    case TOK_T_NOTE_ON:
        return g->perf.velocity >= 0 && value >= g->perf.last_on;
    case TOK_T_NOTE_OFF:
        /* no NoteOn yet at this instant, so every sounding note began earlier */
        if (last == TOK_T_VELOCITY || g->perf.last_on >= 0) return false;
        return value >= g->perf.last_off && g->perf.open[value] > 0;
    default:
        return false;
    }
}

static void perf_feed(tok_grammar *g, tok_type type, int value)
{
    switch (type) {
    case TOK_T_TIME_SHIFT:
        g->perf.now += value;
        g->perf.last_shift = value;
        g->perf.last_on = g->perf.last_off = -1;
        break;
    case TOK_T_VELOCITY: g->perf.velocity = value; break;
    case TOK_T_NOTE_ON:
        g->notes++;
        g->perf.open[value]++;
        g->perf.open_total++;
        g->perf.last_on = value;
        break;
    case TOK_T_NOTE_OFF:
        g->perf.open[value]--;
        g->perf.open_total--;
        g->perf.last_off = value;
        break;
    default: break;
    }
}

/* EOS wants the last token to be a NoteOff (or BOS): sounding notes can be
 * ended unless a Velocity waits for its NoteOn. */
static bool perf_can_close(const tok_grammar *g)
{
    if (g->last == TOK_T_VELOCITY) return false;
    return g->perf.open_total > 0 || g->last == TOK_T_NOTE_OFF || g->last == TOK_T_BOS;
}

static tg_status perf_close(const tok_grammar *g, tok_seq *seq)
{
    if (g->perf.open_total == 0) return TG_OK;
    /* A TimeShift first when a note began at this instant or when a sounding
     * pitch lies below a NoteOff already written at this instant. */
    bool shift = g->perf.last_on >= 0;
    for (int p = 0; p < g->perf.last_off && !shift; p++) shift = g->perf.open[p] > 0;
    tg_status st = TG_OK;
    if (shift) st = tok_seq_push(seq, tok_id(g->tok, TOK_T_TIME_SHIFT, 1));
    for (int p = 0; p < 128 && st == TG_OK; p++)
        for (int32_t k = 0; k < g->perf.open[p] && st == TG_OK; k++)
            st = tok_seq_push(seq, tok_id(g->tok, TOK_T_NOTE_OFF, p));
    return st;
}

static int64_t perf_time(const tok_grammar *g) { return g->perf.now; }

/* TimeShifts (the longest first) up to the shift nearest usec. */
static tg_status perf_pad(const tok_grammar *g, int64_t usec, tok_seq *seq)
{
    const tok_perf_config *c = &g->tok->cfg.perf;
    int64_t shift_us = (int64_t)c->shift_ms * 1000;
    int64_t want = (usec + shift_us / 2) / shift_us;
    int max = c->max_shift_steps;
    tg_status st = TG_OK;
    for (int64_t now = g->perf.now; now < want && st == TG_OK;) {
        int64_t sft = want - now < max ? want - now : max;
        st = tok_seq_push(seq, tok_id(g->tok, TOK_T_TIME_SHIFT, (int)sft));
        now += sft;
    }
    return st;
}

static const tok_config_key perf_keys[] = {
    {"shift_ms", offsetof(tok_config, perf.shift_ms), false},
    {"max_shift_steps", offsetof(tok_config, perf.max_shift_steps), false},
    {"velocity_bins", offsetof(tok_config, perf.velocity_bins), false},
};

const tok_kind_ops tok_perf_ops = {
    .kind = TOK_PERF,
    .name = "perf",
    .keys = perf_keys,
    .n_keys = (int)TG_ARRAY_LEN(perf_keys),
    .music = true,
    .drops_notes = true,
    .config_default = perf_default,
    .config_check = perf_check,
    .build = perf_build,
    .encode = perf_encode,
    .decode = perf_decode,
    .grammar_init = perf_grammar_init,
    .grammar_allows = perf_allows,
    .grammar_feed = perf_feed,
    .grammar_can_close = perf_can_close,
    .grammar_close = perf_close,
    .grammar_time = perf_time,
    .grammar_pad = perf_pad,
    .steps_per_quarter = tok_no_steps,
    .unit_sec = perf_unit_sec,
};
