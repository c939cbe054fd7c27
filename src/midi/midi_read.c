/*
 * midi_read.c: reading a Standard MIDI File, the container level. Unwraps a
 * RIFF RMID file, checks the MThd header, walks the chunk list and hands each
 * MTrk chunk to midi_track.c; afterwards it sets every track's program.
 *
 * Policy on damage (every case is warned through opt->logger and counted in
 * the report; only what cannot be read as MIDI at all is refused):
 *   - no MThd at the start (or in the RIFF data chunk): TG_ERR_NOT_MIDI;
 *     an MThd cut short, a format other than 0..2, a division of 0 ticks or
 *     0 ticks per SMPTE frame: TG_ERR_MIDI_DAMAGED;
 *   - chunks of unknown type are skipped;
 *   - bytes that form no chunk are skipped up to the next "MTrk" (or to the
 *     end) and counted as trailing bytes;
 *   - MThd's track count is only compared with the MTrk chunks present;
 *   - how a track's length field is checked against its events is described
 *     in midi_track.c.
 * What it leaves out: MacBinary and other wrappers than RIFF.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "midi.h"

tg_midi_read_options tg_midi_read_options_default(void)
{
    tg_midi_read_options o;
    memset(&o, 0, sizeof o);
    o.max_bytes = (size_t)256 << 20;
    o.max_events = (size_t)16 << 20;
    return o;
}

/* ------------------------------------------------------------------------ */
/* Messages. */

void midi_warn(midi_reader *r, int track, const char *fmt, ...)
{
    r->rep->warnings++;
    if (r->logged > MIDI_MAX_LOGGED_WARNINGS || !r->opt->logger.fn) return;
    const char *name = r->opt->name ? r->opt->name : "";
    const char *sep = r->opt->name ? ": " : "";
    if (r->logged == MIDI_MAX_LOGGED_WARNINGS) {
        tg_log(&r->opt->logger, TG_LOG_WARN, "%s%sfurther warnings about this file are not shown",
               name, sep);
        r->logged++;
        return;
    }
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (track >= 0)
        tg_log(&r->opt->logger, TG_LOG_WARN, "%s%strack %d: %s", name, sep, track, msg);
    else
        tg_log(&r->opt->logger, TG_LOG_WARN, "%s%s%s", name, sep, msg);
    r->logged++;
}

tg_status midi_fail(midi_reader *r, tg_status st, int track, int64_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err->what, sizeof r->err->what, fmt, ap);
    va_end(ap);
    r->err->track = track;
    r->err->byte_offset = offset;
    return st;
}

/* ------------------------------------------------------------------------ */
/* Byte helpers. */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

bool midi_chunk_at(const midi_reader *r, size_t pos)
{
    if (pos > r->end || r->end - pos < 8) return false;
    for (int i = 0; i < 4; i++)
        if (r->data[pos + i] < 0x20 || r->data[pos + i] > 0x7E) return false;
    return true;
}

size_t midi_find_mtrk(const midi_reader *r, size_t pos)
{
    for (; pos + 4 <= r->end; pos++)
        if (memcmp(r->data + pos, "MTrk", 4) == 0) return pos;
    return r->end;
}

/* ------------------------------------------------------------------------ */
/* RIFF RMID: "RIFF" size "RMID", then chunks (little-endian sizes, padded to
 * even lengths) among which "data" holds the SMF. Sizes are bounded by the
 * bytes present. Sets *start and r->end to the SMF inside. */
static tg_status unwrap_riff(midi_reader *r, size_t size, size_t *start)
{
    if (size < 12 || memcmp(r->data + 8, "RMID", 4) != 0)
        return midi_fail(r, TG_ERR_NOT_MIDI, -1, 0, "a RIFF file but not RIFF MIDI (RMID)");
    size_t pos = 12;
    while (size - pos >= 8) {
        uint32_t len = le32(r->data + pos + 4);
        size_t body = pos + 8;
        size_t avail = size - body;
        if (memcmp(r->data + pos, "data", 4) == 0) {
            if (len > avail) {
                midi_warn(r, -1, "RIFF data chunk claims %lu bytes but %zu remain",
                          (unsigned long)len, avail);
                len = (uint32_t)avail;
            }
            *start = body;
            r->end = body + len;
            return TG_OK;
        }
        if (len > avail) break;
        pos = body + len + (len & 1);
        if (pos > size) break;
    }
    return midi_fail(r, TG_ERR_NOT_MIDI, -1, (int64_t)pos, "RIFF MIDI file without a data chunk");
}

/* ------------------------------------------------------------------------ */
/* MThd. Sets format, tracks announced and the position of the first chunk. */
static tg_status read_header(midi_reader *r, size_t start, int *announced, size_t *first_chunk)
{
    size_t avail = r->end - start;
    const uint8_t *h = r->data + start;
    if (avail == 0) return midi_fail(r, TG_ERR_NOT_MIDI, -1, (int64_t)start, "empty file");
    if (avail < 4 || memcmp(h, "MThd", 4) != 0) {
        return midi_fail(r, TG_ERR_NOT_MIDI, -1, (int64_t)start,
                         "no MThd header at byte %zu: not a Standard MIDI File", start);
    }
    if (avail < 14)
        return midi_fail(r, TG_ERR_MIDI_DAMAGED, -1, (int64_t)(start + avail),
                         "the MThd header ends at byte %zu, before its 14 bytes", start + avail);
    uint32_t len = be32(h + 4);
    int format = be16(h + 8);
    *announced = be16(h + 10);
    uint16_t division = be16(h + 12);
    if (len < 6)
        return midi_fail(r, TG_ERR_MIDI_DAMAGED, -1, (int64_t)start + 4,
                         "the MThd length at byte %zu is %lu, less than 6", start + 4,
                         (unsigned long)len);
    if (format > 2)
        return midi_fail(r, TG_ERR_MIDI_DAMAGED, -1, (int64_t)start + 8,
                         "MThd gives format %d at byte %zu; only 0, 1 and 2 exist", format,
                         start + 8);
    *first_chunk = start + 14;
    if (len > 6) {
        /* Extra header bytes are allowed by the standard; a length that runs past
         * the data or lands where no chunk is, while a chunk follows the usual 6
         * bytes, is taken as damaged and ignored. */
        uint64_t declared = (uint64_t)start + 8 + len;
        if (declared <= r->end && (declared == r->end || midi_chunk_at(r, (size_t)declared)))
            *first_chunk = (size_t)declared;
        else
            midi_warn(r, -1, "the MThd length at byte %zu says %lu bytes; using 6", start + 4,
                      (unsigned long)len);
    }
    tg_score *s = NULL;
    tg_status st;
    if (division & 0x8000) {
        int fps = -(int)(int8_t)(division >> 8);
        int tpf = division & 0xFF;
        if (tpf == 0)
            return midi_fail(r, TG_ERR_MIDI_DAMAGED, -1, (int64_t)start + 12,
                             "SMPTE division at byte %zu has 0 ticks per frame", start + 12);
        /* 24, 25, 29 (for 29.97) and 30 are the rates in use; any other (1..128)
         * still defines ticks per second, so it is kept as it is. */
        st = tg_score_create(0, &s);
        if (st == TG_OK) {
            s->smpte_fps = fps;
            s->ticks_per_frame = tpf;
        }
    } else {
        if (division == 0)
            return midi_fail(r, TG_ERR_MIDI_DAMAGED, -1, (int64_t)start + 12,
                             "the division at byte %zu is 0 ticks per quarter note", start + 12);
        st = tg_score_create(division, &s);
    }
    if (st != TG_OK) return st;
    s->format = format;
    r->score = s;
    r->format = format;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* The chunk list. */
static tg_status read_chunks(midi_reader *r, size_t pos, int announced)
{
    int chunk = 0;
    while (pos < r->end) {
        size_t left = r->end - pos;
        const uint8_t *c = r->data + pos;
        uint32_t len = left >= 8 ? be32(c + 4) : 0;
        if (left >= 8 && memcmp(c, "MTrk", 4) == 0) {
            size_t next = pos;
            tg_status st = midi_read_track(r, chunk, pos + 8, len, &next);
            if (st != TG_OK) return st;
            chunk++;
            pos = next;
            continue;
        }
        if (midi_chunk_at(r, pos) && (uint64_t)len <= left - 8) {
            r->rep->unknown_chunks++;
            midi_warn(r, -1, "skipped a chunk of unknown type '%.4s' at byte %zu", (const char *)c,
                      pos);
            pos += 8 + (size_t)len;
            continue;
        }
        size_t found = midi_find_mtrk(r, pos + 1);
        r->rep->trailing_bytes += found - pos;
        if (found < r->end)
            midi_warn(r, -1, "skipped %zu bytes that form no chunk at byte %zu", found - pos, pos);
        else
            midi_warn(r, -1, "ignored %zu bytes after the last chunk at byte %zu", found - pos, pos);
        pos = found;
    }
    r->rep->track_chunks = (size_t)chunk;
    if (chunk != announced) {
        r->rep->track_count_mismatch = 1;
        midi_warn(r, -1, "MThd announces %d track%s but %d track chunk%s present", announced,
                  announced == 1 ? "" : "s", chunk, chunk == 1 ? " is" : "s are");
    }
    if (r->format == 0 && chunk > 1)
        midi_warn(r, -1, "a format 0 file with %d track chunks; reading them all", chunk);
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Entry points. */

tg_status tg_midi_read_memory(const uint8_t *data, size_t size, const tg_midi_read_options *opt,
                              tg_score **out, tg_midi_report *report, tg_midi_error *err)
{
    tg_midi_read_options defaults = tg_midi_read_options_default();
    tg_midi_report local_report;
    tg_midi_error local_err;
    if (!opt) opt = &defaults;
    if (!report) report = &local_report;
    if (!err) err = &local_err;
    memset(report, 0, sizeof *report);
    memset(err, 0, sizeof *err);
    err->byte_offset = -1;
    err->track = -1;
    *out = NULL;
    if (!data && size) return TG_ERR_ARG;

    midi_reader *r = calloc(1, sizeof *r);
    if (!r) return TG_ERR_NOMEM;
    r->data = data;
    r->end = size;
    r->opt = opt;
    r->rep = report;
    r->err = err;
    r->free_head = -1;

    tg_status st = TG_OK;
    size_t start = 0, first_chunk = 0;
    int announced = 0;
    if (size > opt->max_bytes) {
        st = midi_fail(r, TG_ERR_TOO_LARGE, -1, -1, "the file has %zu bytes, over the limit of %zu",
                       size, opt->max_bytes);
    } else if (size >= 4 && memcmp(data, "RIFF", 4) == 0) {
        st = unwrap_riff(r, size, &start);
    }
    if (st == TG_OK) st = read_header(r, start, &announced, &first_chunk);
    if (st == TG_OK) st = read_chunks(r, first_chunk, announced);
    if (st == TG_OK) st = midi_resolve_programs(r);
    if (st == TG_OK) {
        tg_score_sort(r->score);
        *out = r->score;
        r->score = NULL;
    } else if (st == TG_ERR_NOMEM && !err->what[0]) {
        snprintf(err->what, sizeof err->what, "out of memory");
    }
    tg_score_free(r->score);
    free(r->programs);
    free(r->firsts);
    free(r->pool);
    for (int c = 0; c < 16; c++) free(r->chan_notes[c]);
    free(r);
    return st;
}

tg_status tg_midi_read_file(const char *path, const tg_midi_read_options *opt, tg_score **out,
                            tg_midi_report *report, tg_midi_error *err)
{
    tg_midi_read_options o = opt ? *opt : tg_midi_read_options_default();
    if (!o.name) o.name = path;
    uint8_t *data = NULL;
    size_t size = 0;
    tg_status st = tg_file_read_all(path, o.max_bytes, &data, &size);
    if (st != TG_OK) {
        *out = NULL;
        if (report) memset(report, 0, sizeof *report);
        if (err) {
            memset(err, 0, sizeof *err);
            err->byte_offset = -1;
            err->track = -1;
            const char *what = st == TG_ERR_NOT_FOUND ? "no such file"
                               : st == TG_ERR_NOMEM   ? "out of memory"
                                                      : "cannot be read";
            if (st == TG_ERR_TOO_LARGE)
                snprintf(err->what, sizeof err->what, "the file is over the limit of %zu bytes",
                         o.max_bytes);
            else
                snprintf(err->what, sizeof err->what, "%s", what);
        }
        return st;
    }
    st = tg_midi_read_memory(data, size, &o, out, report, err);
    free(data);
    return st;
}
