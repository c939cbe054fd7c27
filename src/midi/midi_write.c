/*
 * midi_write.c: writing a score as a Standard MIDI File, format 1 or 0.
 *
 * Format 1: a conductor track with the tempo map, time signatures and key
 * signatures, then one track per score track with its name (FF 03), a
 * program change on its channel at its first note, and its notes. Format 0:
 * all of that in one track, named after the first named score track.
 * At one tick, meta events come first, then note-offs, program changes and
 * note-ons, so that a note repeated on the same key survives; note-ons of one
 * key at one tick go shortest first, so that first-in first-out pairing gives
 * every note back. What cannot come back: same-key notes that nest (one inside
 * another) trade their ends when read (see midi_track.c), and a format 2
 * score's per-track tempo maps are merged into one. Running status is used
 * for channel messages. A gap over the 4-byte delta limit is bridged with
 * empty text events.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "midi.h"

tg_midi_write_options tg_midi_write_options_default(void)
{
    tg_midi_write_options o;
    memset(&o, 0, sizeof o);
    o.format = 1;
    return o;
}

/* ------------------------------------------------------------------------ */
/* A growing byte buffer; failures are remembered and reported once. */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} buffer;

static void put(buffer *b, const void *src, size_t n)
{
    if (b->oom) return;
    if (tg_grow((void **)&b->p, &b->cap, b->n + n, 1) != TG_OK) {
        b->oom = true;
        return;
    }
    memcpy(b->p + b->n, src, n);
    b->n += n;
}

static void put_byte(buffer *b, uint8_t v) { put(b, &v, 1); }

static void put_be(buffer *b, uint32_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) put_byte(b, (uint8_t)(v >> (8 * i)));
}

/* v <= MIDI_VLQ_MAX */
static void put_vlq(buffer *b, uint32_t v)
{
    uint8_t tmp[4];
    int n = 0;
    do {
        tmp[n++] = v & 0x7F;
        v >>= 7;
    } while (v);
    while (n > 1) put_byte(b, tmp[--n] | 0x80);
    put_byte(b, tmp[0]);
}

/* ------------------------------------------------------------------------ */
/* Events of one output track, sorted before writing. */

enum { CLS_NAME, CLS_TEMPO, CLS_TIMESIG, CLS_KEYSIG, CLS_OFF, CLS_PROGRAM, CLS_ON };

/* Events sort by (ticks, cls, channel, pitch, end, velocity, index); only notes
 * set channel, pitch, end and velocity, so other events keep their source order. */
typedef struct {
    int64_t ticks;
    int64_t end;      /* note-on: its note's end */
    size_t index;     /* position in the source */
    uint32_t value;   /* tempo in microseconds per quarter */
    uint8_t cls;
    uint8_t channel, pitch, velocity;
    uint8_t a, b;     /* program; numerator and log2 denominator; sharps and mode */
} wevent;

static int cmp_i64(int64_t a, int64_t b) { return (a > b) - (a < b); }

static int cmp_wevent(const void *pa, const void *pb)
{
    const wevent *x = pa, *y = pb;
    int c = cmp_i64(x->ticks, y->ticks);
    if (!c) c = (int)x->cls - (int)y->cls;
    if (!c) c = (int)x->channel - (int)y->channel;
    if (!c) c = (int)x->pitch - (int)y->pitch;
    if (!c) c = cmp_i64(x->end, y->end);
    if (!c) c = (int)x->velocity - (int)y->velocity;
    if (!c) c = (x->index > y->index) - (x->index < y->index);
    return c;
}

typedef struct {
    wevent *ev;
    size_t n, cap;
} wlist;

static tg_status add(wlist *l, wevent e)
{
    tg_status st = tg_grow((void **)&l->ev, &l->cap, l->n + 1, sizeof *l->ev);
    if (st == TG_OK) {
        e.index = l->n;
        l->ev[l->n++] = e;
    }
    return st;
}

static int log2_exact(unsigned v)
{
    int k = 0;
    while (v > 1) {
        v >>= 1;
        k++;
    }
    return k;
}

static tg_status add_maps(wlist *l, const tg_score *s)
{
    tg_status st = TG_OK;
    for (size_t i = 0; st == TG_OK && i < s->n_tempos; i++) {
        wevent e = {.ticks = s->tempos[i].ticks, .cls = CLS_TEMPO, .value = s->tempos[i].usec_per_quarter};
        if (e.ticks < 0 || e.value == 0 || e.value > 0xFFFFFF) return TG_ERR_RANGE;
        st = add(l, e);
    }
    for (size_t i = 0; st == TG_OK && i < s->n_timesigs; i++) {
        const tg_timesig *t = &s->timesigs[i];
        unsigned den = t->denominator;
        if (t->ticks < 0 || t->numerator == 0 || !den || (den & (den - 1)) || den > 256)
            return TG_ERR_RANGE;
        wevent e = {.ticks = t->ticks, .cls = CLS_TIMESIG, .a = t->numerator,
                    .b = (uint8_t)log2_exact(den)};
        st = add(l, e);
    }
    for (size_t i = 0; st == TG_OK && i < s->n_keysigs; i++) {
        const tg_keysig *k = &s->keysigs[i];
        if (k->ticks < 0 || k->sharps < -7 || k->sharps > 7 || k->minor > 1) return TG_ERR_RANGE;
        wevent e = {.ticks = k->ticks, .cls = CLS_KEYSIG, .a = (uint8_t)k->sharps, .b = k->minor};
        st = add(l, e);
    }
    return st;
}

static tg_status add_track(wlist *l, const tg_track *t)
{
    if (t->channel < 0 || t->channel > 15 || t->program < 0 || t->program > 127) return TG_ERR_RANGE;
    int64_t first = t->n_notes ? INT64_MAX : 0;
    tg_status st = TG_OK;
    for (size_t i = 0; st == TG_OK && i < t->n_notes; i++) {
        const tg_note *n = &t->notes[i];
        if (n->pitch > 127 || n->velocity < 1 || n->velocity > 127 || n->channel > 15 ||
            n->start_ticks < 0 || n->end_ticks <= n->start_ticks)
            return TG_ERR_RANGE;
        if (n->start_ticks < first) first = n->start_ticks;
        wevent on = {.ticks = n->start_ticks, .end = n->end_ticks, .cls = CLS_ON,
                     .channel = n->channel, .pitch = n->pitch, .velocity = n->velocity};
        wevent off = {.ticks = n->end_ticks, .cls = CLS_OFF, .channel = n->channel,
                      .pitch = n->pitch};
        st = add(l, on);
        if (st == TG_OK) st = add(l, off);
    }
    wevent pc = {.ticks = first, .cls = CLS_PROGRAM, .a = (uint8_t)t->channel,
                 .b = (uint8_t)t->program};
    return st == TG_OK ? add(l, pc) : st;
}

/* Writes one MTrk chunk from the events of l (sorted here). */
static tg_status write_chunk(buffer *b, wlist *l, const char *name)
{
    if (l->n) qsort(l->ev, l->n, sizeof *l->ev, cmp_wevent);
    put(b, "MTrk", 4);
    size_t len_at = b->n;
    put_be(b, 0, 4);
    size_t body = b->n;
    if (name && name[0]) {
        size_t len = strlen(name);
        if (len > MIDI_VLQ_MAX) return TG_ERR_TOO_LARGE;
        put_byte(b, 0);
        put(b, "\xFF\x03", 2);
        put_vlq(b, (uint32_t)len);
        put(b, name, len);
    }
    int64_t prev = 0;
    uint8_t running = 0;
    for (size_t i = 0; i < l->n && !b->oom; i++) {
        const wevent *e = &l->ev[i];
        int64_t delta = e->ticks - prev;
        while (delta > (int64_t)MIDI_VLQ_MAX) {
            put_vlq(b, MIDI_VLQ_MAX);
            put(b, "\xFF\x01\x00", 3); /* an empty text event carries the rest of the gap */
            running = 0;
            delta -= MIDI_VLQ_MAX;
        }
        put_vlq(b, (uint32_t)delta);
        prev = e->ticks;
        uint8_t status = 0;
        switch (e->cls) {
        case CLS_TEMPO:
            put(b, "\xFF\x51\x03", 3);
            put_be(b, e->value, 3);
            running = 0;
            break;
        case CLS_TIMESIG:
            put(b, "\xFF\x58\x04", 3);
            put_byte(b, e->a);
            put_byte(b, e->b);
            put_byte(b, 24); /* MIDI clocks per metronome click */
            put_byte(b, 8);  /* 32nd notes per quarter */
            running = 0;
            break;
        case CLS_KEYSIG:
            put(b, "\xFF\x59\x02", 3);
            put_byte(b, e->a);
            put_byte(b, e->b);
            running = 0;
            break;
        case CLS_PROGRAM:
            status = (uint8_t)(0xC0 | e->a);
            if (status != running) put_byte(b, status);
            running = status;
            put_byte(b, e->b);
            break;
        case CLS_OFF:
        case CLS_ON:
            status = (uint8_t)((e->cls == CLS_ON ? 0x90 : 0x80) | e->channel);
            if (status != running) put_byte(b, status);
            running = status;
            put_byte(b, e->pitch);
            put_byte(b, e->cls == CLS_ON ? e->velocity : 64);
            break;
        default: break;
        }
    }
    put(b, "\x00\xFF\x2F\x00", 4);
    if (b->oom) return TG_ERR_NOMEM;
    size_t len = b->n - body;
    if (len > 0xFFFFFFFFu) return TG_ERR_TOO_LARGE;
    for (int i = 0; i < 4; i++) b->p[len_at + (size_t)i] = (uint8_t)(len >> (8 * (3 - i)));
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Entry points. */

tg_status tg_midi_write_memory(const tg_score *score, const tg_midi_write_options *opt,
                               uint8_t **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    tg_midi_write_options defaults = tg_midi_write_options_default();
    if (!opt) opt = &defaults;
    if (!score || (opt->format != 0 && opt->format != 1)) return TG_ERR_ARG;
    uint16_t division;
    if (score->ticks_per_quarter > 0) {
        if (score->ticks_per_quarter > 32767) return TG_ERR_RANGE;
        division = (uint16_t)score->ticks_per_quarter;
    } else {
        if (score->smpte_fps < 1 || score->smpte_fps > 128 || score->ticks_per_frame < 1 ||
            score->ticks_per_frame > 255)
            return TG_ERR_RANGE;
        division = (uint16_t)(((256 - score->smpte_fps) & 0xFF) << 8 | score->ticks_per_frame);
    }
    size_t n_chunks = opt->format == 0 ? 1 : score->n_tracks + 1;
    if (n_chunks > 65535) return TG_ERR_TOO_LARGE;

    buffer b = {0};
    put(&b, "MThd\x00\x00\x00\x06", 8);
    put_be(&b, (uint32_t)opt->format, 2);
    put_be(&b, (uint32_t)n_chunks, 2);
    put_be(&b, division, 2);

    wlist l = {0};
    tg_status st = add_maps(&l, score);
    if (opt->format == 0) {
        const char *name = NULL;
        for (size_t i = 0; st == TG_OK && i < score->n_tracks; i++) {
            if (!name && score->tracks[i].name && score->tracks[i].name[0])
                name = score->tracks[i].name;
            st = add_track(&l, &score->tracks[i]);
        }
        if (st == TG_OK) st = write_chunk(&b, &l, name);
    } else {
        if (st == TG_OK) st = write_chunk(&b, &l, NULL);
        for (size_t i = 0; st == TG_OK && i < score->n_tracks; i++) {
            l.n = 0;
            st = add_track(&l, &score->tracks[i]);
            if (st == TG_OK) st = write_chunk(&b, &l, score->tracks[i].name);
        }
    }
    free(l.ev);
    if (st == TG_OK && b.oom) st = TG_ERR_NOMEM;
    if (st != TG_OK) {
        free(b.p);
        return st;
    }
    *data = b.p;
    *size = b.n;
    return TG_OK;
}

tg_status tg_midi_write_file(const char *path, const tg_score *score, const tg_midi_write_options *opt)
{
    uint8_t *data;
    size_t size;
    tg_status st = tg_midi_write_memory(score, opt, &data, &size);
    if (st != TG_OK) return st;
    st = tg_file_write_all(path, data, size);
    free(data);
    return st;
}
