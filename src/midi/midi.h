/*
 * midi.h: internals of the Standard MIDI File reader and writer (src/midi).
 * The public functions are declared in include/tunegan.h.
 *
 * The reader: midi_read.c walks the container (RIFF RMID wrapper, MThd, the
 * chunk list, damaged chunk lengths), midi_track.c decodes the events of one
 * MTrk chunk, and midi_pair.c pairs its notes and resolves programs.
 * midi_write.c writes format 0 or 1. midi_notes.c flattens a score's notes
 * for comparisons.
 */
#ifndef TG_MIDI_H
#define TG_MIDI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunegan.h"

/* At most this many warnings reach the logger per file; the rest are counted only. */
#define MIDI_MAX_LOGGED_WARNINGS 100
/* Track names longer than this are cut (a meta event may be megabytes long). */
#define MIDI_MAX_NAME_BYTES 255
/* The largest value a 4-byte variable-length quantity holds. */
#define MIDI_VLQ_MAX 0x0FFFFFFFu
/* Ticks beyond this are refused, far below int64 overflow. */
#define MIDI_MAX_TICKS (INT64_C(1) << 52)

/* A program change, kept until every chunk is read: in formats 0 and 1 the
 * channels are shared by all chunks, so the program in effect at a track's
 * first note may come from another chunk. */
typedef struct {
    int64_t ticks;
    uint64_t seq;    /* position of the event in the whole file, across chunks */
    int group;       /* format 2: the chunk; otherwise 0 (one shared set of channels) */
    uint8_t channel;
    uint8_t program;
} midi_program;

/* A note-on waiting for its note-off; a pool entry of a per-key FIFO list. */
typedef struct {
    int64_t start_ticks;
    uint64_t seq;
    int32_t next;    /* next entry of the same key, or of the free list; -1 ends */
    uint8_t velocity;
} midi_pending;

/* Where a score track's first note starts, to resolve its program. */
typedef struct {
    int64_t ticks;
    uint64_t seq;
} midi_first;

#define MIDI_KEYS (16 * 128) /* channel * 128 + pitch */

/* The reader's state for one file. Offsets in every message count from the
 * start of data, also when the SMF sits inside a RIFF wrapper. */
typedef struct {
    const uint8_t *data;
    size_t end;                     /* end of the SMF inside data */
    const tg_midi_read_options *opt;
    tg_midi_report *rep;            /* never NULL */
    tg_midi_error *err;             /* never NULL */
    tg_score *score;
    int format;
    size_t n_events;                /* every event of every chunk, against opt->max_events */
    uint64_t seq;
    size_t logged;                  /* warnings handed to the logger */

    midi_program *programs;
    size_t n_programs, cap_programs;
    midi_first *firsts;             /* one per score track */
    size_t cap_firsts;

    /* Scratch for the chunk being read, reused from chunk to chunk. */
    midi_pending *pool;
    size_t n_pool, cap_pool;
    int32_t free_head;
    int32_t head[MIDI_KEYS], tail[MIDI_KEYS];
    uint16_t touched[MIDI_KEYS];    /* keys whose lists are in use */
    bool is_touched[MIDI_KEYS];
    size_t n_touched;
    tg_note *chan_notes[16];
    size_t n_chan[16], cap_chan[16];
    midi_first chan_first[16];
} midi_reader;

/* Sends a warning to the logger, prefixed with the file name (and "track N: "
 * when track >= 0), and counts it. */
void midi_warn(midi_reader *r, int track, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Fills r->err (what holds the whole sentence, without the file name) and returns st. */
tg_status midi_fail(midi_reader *r, tg_status st, int track, int64_t offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Whether 8 bytes at pos look like a chunk header: 4 printable ASCII bytes and a length. */
bool midi_chunk_at(const midi_reader *r, size_t pos);
/* Offset of the next "MTrk" at or after pos, or r->end when there is none. */
size_t midi_find_mtrk(const midi_reader *r, size_t pos);

/* Reads the MTrk chunk whose body starts at body and whose length field says
 * length bytes. Writes to *next where the next chunk should be looked for.
 * Returns TG_OK after reading or recovering, or a fatal status (limits, memory). */
tg_status midi_read_track(midi_reader *r, int chunk, size_t body, uint32_t length, size_t *next);

/* Note pairing (midi_pair.c). reset empties the lists before a chunk; note_on
 * queues a note on key (channel * 128 + pitch); note_off ends the earliest
 * sounding note of key into r->chan_notes, lengthening it to 1 tick (and
 * counting it in *zero) when it would have none, and sets *found. */
void midi_pairs_reset(midi_reader *r);
tg_status midi_note_on(midi_reader *r, int key, int64_t ticks, uint8_t velocity);
tg_status midi_note_off(midi_reader *r, int key, int64_t ticks, size_t *zero, bool *found);

/* Sets every track's program from the program changes of the whole file. */
tg_status midi_resolve_programs(midi_reader *r);

/* ------------------------------------------------------------------------ */
/* Comparisons (midi_notes.c), used by the tests and the fuzzer. */

/* One note with the channel it sounds on. */
typedef struct {
    int64_t start_ticks, end_ticks;
    uint8_t channel, pitch, velocity;
} midi_flat_note;

/* Every note of score, sorted by (start, channel, pitch, end, velocity);
 * *out is malloc'ed and the caller frees it.
 * With fifo, the notes are given as they come back after writing and reading
 * again: notes of one key that nest (one inside another) trade their ends,
 * because first-in first-out pairing cannot tell them apart. per_track says
 * whether pairing happens per track (format 1 output) or over the whole
 * score (format 0 output, where every track shares one chunk). */
tg_status midi_flat_notes(const tg_score *score, bool fifo, bool per_track, midi_flat_note **out,
                          size_t *n);

#endif /* TG_MIDI_H */
