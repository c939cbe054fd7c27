/*
 * midi_track.c: reading one MTrk chunk: decoding its events, pairing notes
 * and collecting the tempo, time-signature and key-signature maps; and, once
 * every chunk is read, giving each track its program.
 *
 * Policies (README and tests/test_midi.c follow them):
 *   - Running status: channel messages set it; meta and sysex events cancel it
 *     in the standard, but a data byte right after one is read with the
 *     channel status in effect before it, with one warning per track (mido
 *     and most players do the same). A data byte with no channel status seen
 *     in the track yet is an undecodable event (see below).
 *   - Notes pair per (track chunk, channel, key), first in first out: a
 *     note-off ends the earliest sounding note of its key. A note-on with
 *     velocity 0 is a note-off. Note-offs with nothing sounding are counted
 *     and ignored. Notes still sounding when the track ends are closed at the
 *     track's last tick and counted. A note whose on and off share a tick is
 *     lengthened to 1 tick and counted (the score has no zero-length notes).
 *   - Meta events: tempo (FF 51), time signature (FF 58), key signature
 *     (FF 59) and track name (FF 03, the first non-empty one names every
 *     track of the chunk) are kept; one with a wrong length or an impossible
 *     value is skipped with a warning. Instrument names, text, lyrics,
 *     markers and all other meta events are skipped, as are sysex (F0, F7)
 *     events and controllers, aftertouch and pitch bends.
 *   - A track ends at its end-of-track event (FF 2F). Against its length field:
 *     when bytes follow the end-of-track inside the chunk they are ignored;
 *     when the declared end comes first and a chunk header (or the end of the
 *     data) is there, the track simply lacks its end-of-track, and an event
 *     that crosses the declared end is cut and dropped; when no chunk header is
 *     there, the length understates the track and reading goes on to its
 *     end-of-track. A length running past the data is read up to the end of
 *     the data, or to an "MTrk" met where an event would start.
 *   - System messages (F1-F6, F8-FE) belong to the wire, not to a file, but
 *     some files hold them, recorded along with the notes. Each is read as
 *     an event of its own (after its delta time) and skipped: real-time ones
 *     (F8-FE) are one byte; of the system common ones, F1 and F3 take one
 *     data byte and F2 two, as the MIDI 1.0 spec says (so does mido), F4
 *     and F5 (undefined) and F6 (tune request) none; a data byte the
 *     message should have is only taken when it is a data byte (< 0x80). A
 *     real-time byte inside a channel message is skipped too (the wire
 *     allows it anywhere). Running status is kept across them (real-time
 *     bytes never touch it; treating common ones the same spares the notes
 *     that follow). One warning per track counts them and names the first.
 *   - An undecodable event (a variable-length number over 4 bytes, a status
 *     byte other than a real-time one inside a channel message, a data byte
 *     with no running status) ends the track there with a warning naming the
 *     byte; reading resumes at the next chunk.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "midi.h"

/* One decoded event; positions are offsets into r->data. */
typedef struct {
    size_t pos;       /* where the event starts (its delta time) */
    size_t end;       /* one past its last byte */
    uint32_t delta;
    uint8_t status;   /* with running status applied */
    uint8_t d1, d2;   /* channel messages */
    uint8_t meta;     /* meta type when status is 0xFF */
    size_t body;      /* meta and sysex: offset of the payload */
    uint32_t len;     /* meta and sysex: payload length */
} event;

typedef enum { EV_OK, EV_CUT, EV_BAD } ev_result;

/* The state of the chunk being read. */
typedef struct {
    int chunk;
    int64_t ticks;
    uint8_t running;        /* last channel status, 0 when none */
    bool cancelled;         /* a meta or sysex event came after it */
    bool warned_running;
    bool have_name;
    char name[MIDI_MAX_NAME_BYTES + 1];
    size_t orphans, closed, zero;
    size_t system;          /* stray system messages skipped */
    size_t system_at;       /* where the first one is */
    uint8_t system_first;   /* and its status byte */
} track_state;

/* ------------------------------------------------------------------------ */
/* Decoding. */

/* A variable-length quantity of 1 to 4 bytes at *p, not reading at or past end. */
static ev_result read_vlq(const uint8_t *d, size_t *p, size_t end, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (*p >= end) return EV_CUT;
        uint8_t b = d[(*p)++];
        v = v << 7 | (b & 0x7F);
        if (!(b & 0x80)) {
            *out = v;
            return EV_OK;
        }
    }
    return EV_BAD;
}

static int channel_data_bytes(uint8_t status)
{
    uint8_t kind = status & 0xF0;
    return kind == 0xC0 || kind == 0xD0 ? 1 : 2;
}

/* Data bytes of a system common message (F1-F6) in MIDI 1.0; real-time
 * messages (F8-FE) have none. */
static int system_data_bytes(uint8_t status)
{
    return status == 0xF2 ? 2 : status == 0xF1 || status == 0xF3 ? 1 : 0;
}

static void count_system(track_state *t, uint8_t status, size_t pos)
{
    if (t->system++ == 0) {
        t->system_first = status;
        t->system_at = pos;
    }
}

/* Decodes the event at p. On EV_BAD, why says what and where. */
static ev_result decode_event(midi_reader *r, track_state *t, size_t p, event *ev, char *why,
                              size_t why_len)
{
    const uint8_t *d = r->data;
    size_t end = r->end;
    memset(ev, 0, sizeof *ev);
    ev->pos = p;
    ev_result res = read_vlq(d, &p, end, &ev->delta);
    if (res == EV_BAD) {
        snprintf(why, why_len, "a delta time longer than 4 bytes at byte %zu", ev->pos);
        return EV_BAD;
    }
    if (res == EV_CUT) return EV_CUT;
    if (p >= end) return EV_CUT;
    uint8_t b = d[p];
    if (b < 0x80) {
        if (!t->running) {
            snprintf(why, why_len, "a data byte 0x%02X where a status byte should be at byte %zu "
                     "(no running status)", b, p);
            return EV_BAD;
        }
        if (t->cancelled && !t->warned_running) {
            t->warned_running = true;
            midi_warn(r, t->chunk, "a data byte follows a meta or sysex event at byte %zu; read with "
                      "the running status 0x%02X in effect before it", p, t->running);
        }
        ev->status = t->running;
    } else {
        ev->status = b;
        p++;
    }
    uint8_t s = ev->status;
    if (s < 0xF0) {
        int n = channel_data_bytes(s);
        uint8_t bytes[2] = {0, 0};
        for (int i = 0; i < n; i++) {
            if (p >= end) return EV_CUT;
            bytes[i] = d[p];
            if (bytes[i] >= 0xF8) { /* a real-time byte, allowed anywhere on the wire */
                count_system(t, bytes[i], p++);
                i--;
                continue;
            }
            if (bytes[i] & 0x80) {
                snprintf(why, why_len, "a status byte 0x%02X inside a channel message at byte %zu",
                         bytes[i], p);
                return EV_BAD;
            }
            p++;
        }
        ev->d1 = bytes[0];
        ev->d2 = bytes[1];
        t->running = s;
        t->cancelled = false;
    } else if (s == 0xFF || s == 0xF0 || s == 0xF7) {
        if (s == 0xFF) {
            if (p >= end) return EV_CUT;
            ev->meta = d[p++];
        }
        size_t at = p;
        res = read_vlq(d, &p, end, &ev->len);
        if (res == EV_BAD) {
            snprintf(why, why_len, "a length longer than 4 bytes at byte %zu", at);
            return EV_BAD;
        }
        if (res == EV_CUT || ev->len > end - p) return EV_CUT;
        ev->body = p;
        p += ev->len;
        t->cancelled = true;
    } else { /* F1-F6, F8-FE: skipped, running status kept (policies above) */
        count_system(t, s, p - 1);
        for (int i = 0; i < system_data_bytes(s) && p < end && d[p] < 0x80; i++) p++;
    }
    ev->end = p;
    return EV_OK;
}

/* ------------------------------------------------------------------------ */
/* The end of a track. */

/* Closes what still sounds, then turns each channel with notes into a score track. */
static tg_status finish_track(midi_reader *r, track_state *t)
{
    for (size_t i = 0; i < r->n_touched; i++) {
        int key = r->touched[i];
        bool found = true;
        while (found) {
            tg_status st = midi_note_off(r, key, t->ticks, &t->zero, &found);
            if (st != TG_OK) return st;
            if (found) t->closed++;
        }
    }
    if (t->closed)
        midi_warn(r, t->chunk, "%zu note%s still sounding at the end of the track, closed at tick %lld",
                  t->closed, t->closed == 1 ? "" : "s", (long long)t->ticks);
    if (t->orphans)
        midi_warn(r, t->chunk, "%zu note-off%s with no sounding note ignored", t->orphans,
                  t->orphans == 1 ? "" : "s");
    if (t->system)
        midi_warn(r, t->chunk, "skipped %zu stray system message%s (the first, 0x%02X, at byte %zu): "
                  "they belong on a MIDI cable, not in a file; running status kept", t->system,
                  t->system == 1 ? "" : "s", t->system_first, t->system_at);
    r->rep->system_messages += t->system;
    r->rep->notes_closed_at_end += t->closed;
    r->rep->orphan_note_offs += t->orphans;
    r->rep->zero_length_notes += t->zero;

    /* The channel's note array becomes the track's (no copy: a big file's notes
     * are not held twice). Every note is valid by construction: 7-bit pitch,
     * velocity 1..127, end after start. */
    tg_score *s = r->score;
    for (int c = 0; c < 16; c++) {
        if (!r->n_chan[c]) continue;
        size_t idx;
        tg_status st = tg_score_add_track(s, t->name, c, 0, t->chunk, &idx);
        if (st == TG_OK)
            st = tg_grow((void **)&r->firsts, &r->cap_firsts, idx + 1, sizeof *r->firsts);
        if (st != TG_OK) return st;
        r->firsts[idx] = r->chan_first[c];
        tg_track *tr = &s->tracks[idx];
        tr->notes = r->chan_notes[c];
        tr->n_notes = r->n_chan[c];
        tr->cap_notes = r->cap_chan[c];
        r->chan_notes[c] = NULL;
        r->n_chan[c] = r->cap_chan[c] = 0;
    }
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Meta events. */

static tg_status apply_meta(midi_reader *r, track_state *t, const event *ev)
{
    const uint8_t *p = r->data + ev->body;
    int chunk = r->format == 2 ? t->chunk : -1;
    switch (ev->meta) {
    case 0x03:
        if (!t->have_name && ev->len > 0) {
            size_t n = ev->len < MIDI_MAX_NAME_BYTES ? ev->len : MIDI_MAX_NAME_BYTES;
            size_t k = 0;
            while (k < n && p[k]) k++;
            memcpy(t->name, p, k);
            t->name[k] = 0;
            t->have_name = k > 0;
        }
        return TG_OK;
    case 0x51: {
        uint32_t usec = ev->len == 3 ? (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2] : 0;
        if (ev->len != 3 || usec == 0) {
            midi_warn(r, t->chunk, "skipped a tempo event at byte %zu (%s)", ev->pos,
                      ev->len != 3 ? "its length is not 3" : "0 microseconds per quarter");
            return TG_OK;
        }
        tg_tempo tp = {t->ticks, usec, chunk};
        return tg_score_add_tempo(r->score, tp);
    }
    case 0x58: {
        if (ev->len != 4 || p[0] == 0 || p[1] > 8) {
            midi_warn(r, t->chunk, "skipped a time signature at byte %zu (%s)", ev->pos,
                      ev->len != 4 ? "its length is not 4"
                      : p[0] == 0  ? "0 beats per bar"
                                   : "the beat is shorter than a 256th");
            return TG_OK;
        }
        tg_timesig ts = {t->ticks, p[0], (uint16_t)(1u << p[1]), chunk};
        return tg_score_add_timesig(r->score, ts);
    }
    case 0x59: {
        int sf = ev->len == 2 ? (int8_t)p[0] : 0;
        if (ev->len != 2 || sf < -7 || sf > 7 || p[1] > 1) {
            midi_warn(r, t->chunk, "skipped a key signature at byte %zu (%s)", ev->pos,
                      ev->len != 2 ? "its length is not 2" : "no such key");
            return TG_OK;
        }
        tg_keysig ks = {t->ticks, (int8_t)sf, p[1], chunk};
        return tg_score_add_keysig(r->score, ks);
    }
    default: return TG_OK;
    }
}

/* ------------------------------------------------------------------------ */
/* The chunk. */

/* Where to look for the next chunk after an undecodable event at p. */
static size_t resume_after_damage(const midi_reader *r, size_t p, uint64_t decl)
{
    if (decl > p && decl <= r->end && (decl == r->end || midi_chunk_at(r, (size_t)decl)))
        return (size_t)decl;
    return midi_find_mtrk(r, p + 1);
}

static bool mtrk_at(const midi_reader *r, size_t p)
{
    return r->end - p >= 8 && memcmp(r->data + p, "MTrk", 4) == 0;
}

tg_status midi_read_track(midi_reader *r, int chunk, size_t body, uint32_t length, size_t *next)
{
    uint64_t decl = (uint64_t)body + length;
    bool overstated = decl > r->end;
    bool beyond = false;      /* reading past an understated length */
    bool bad_length = overstated;
    bool eot = false;
    track_state t;
    memset(&t, 0, sizeof t);
    t.chunk = chunk;
    midi_pairs_reset(r);
    if (overstated)
        midi_warn(r, chunk, "the length field says %lu bytes but %zu remain; reading to the end "
                  "of the data", (unsigned long)length, r->end - body);

    size_t p = body;
    tg_status st = TG_OK;
    for (;;) {
        if (p >= r->end) {
            *next = r->end;
            break;
        }
        if ((beyond || overstated) && mtrk_at(r, p)) {
            *next = p;
            break;
        }
        if (!beyond && !overstated && p == decl) {
            if (midi_chunk_at(r, p)) {
                *next = p;
                break;
            }
            beyond = bad_length = true;
            midi_warn(r, chunk, "the track's events go on past its length field of %lu bytes at "
                      "byte %zu; reading on to its end-of-track", (unsigned long)length, p);
        }
        event ev;
        char why[160] = "";
        ev_result res = decode_event(r, &t, p, &ev, why, sizeof why);
        bool within = !beyond && !overstated; /* p < decl here */
        if (res == EV_OK && within && ev.end > decl) {
            if (midi_chunk_at(r, (size_t)decl)) {
                res = EV_CUT; /* cut by the declared length */
            } else {
                beyond = bad_length = true;
                midi_warn(r, chunk, "an event at byte %zu runs past the track's length field of "
                          "%lu bytes; reading on to its end-of-track", p, (unsigned long)length);
            }
        }
        if (res == EV_CUT) {
            r->rep->truncated_events++;
            midi_warn(r, -1, "track %d ends inside an event at byte %zu; the event is dropped", chunk,
                      p);
            *next = within && midi_chunk_at(r, (size_t)decl) ? (size_t)decl : r->end;
            break;
        }
        if (res == EV_BAD || t.ticks + (int64_t)ev.delta > MIDI_MAX_TICKS) {
            if (res != EV_BAD) snprintf(why, sizeof why, "time past 2^52 ticks at byte %zu", p);
            r->rep->damaged_tracks++;
            midi_warn(r, chunk, "%s; the rest of the track is skipped", why);
            *next = resume_after_damage(r, p, overstated ? UINT64_MAX : decl);
            break;
        }
        if (++r->n_events > r->opt->max_events) {
            st = midi_fail(r, TG_ERR_TOO_LARGE, chunk, (int64_t)p,
                           "track %d has more events than the limit of %zu at byte %zu", chunk,
                           r->opt->max_events, p);
            break;
        }
        r->seq++;
        t.ticks += ev.delta;
        p = ev.end;
        uint8_t kind = ev.status & 0xF0;
        int key = ((ev.status & 0x0F) << 7) | ev.d1;
        if (kind == 0x90 && ev.d2 > 0) {
            st = midi_note_on(r, key, t.ticks, ev.d2);
        } else if (kind == 0x80 || kind == 0x90) {
            bool found;
            st = midi_note_off(r, key, t.ticks, &t.zero, &found);
            if (!found) t.orphans++;
        } else if (kind == 0xC0) {
            st = tg_grow((void **)&r->programs, &r->cap_programs, r->n_programs + 1,
                         sizeof *r->programs);
            if (st == TG_OK) {
                midi_program pc = {t.ticks, r->seq, r->format == 2 ? chunk : 0,
                                   (uint8_t)(ev.status & 0x0F), ev.d1};
                r->programs[r->n_programs++] = pc;
            }
        } else if (ev.status == 0xFF && ev.meta == 0x2F) {
            eot = true;
            if (ev.len != 0)
                midi_warn(r, chunk, "the end-of-track event at byte %zu has %lu data bytes", ev.pos,
                          (unsigned long)ev.len);
            if (beyond || overstated || p == decl) {
                *next = p;
            } else {
                bad_length = true;
                if (decl == r->end || midi_chunk_at(r, (size_t)decl) || !midi_chunk_at(r, p)) {
                    midi_warn(r, chunk, "ignored %zu bytes after the end-of-track event at byte %zu",
                              (size_t)decl - p, p);
                    *next = (size_t)decl;
                } else {
                    midi_warn(r, chunk, "the length field says %lu bytes but a chunk follows the "
                              "end-of-track at byte %zu", (unsigned long)length, p);
                    *next = p;
                }
            }
            break;
        } else if (ev.status == 0xFF) {
            st = apply_meta(r, &t, &ev);
        }
        if (st != TG_OK) break;
    }
    if (st != TG_OK) return st;
    if (!eot) {
        r->rep->missing_end_of_track++;
        midi_warn(r, chunk, "no end-of-track event");
    }
    if (bad_length) r->rep->bad_track_lengths++;
    return finish_track(r, &t);
}
