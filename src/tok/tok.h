/*
 * tok.h: the music tokenizers (remi, remi-compact, remi-tracks, grid, perf) and raw
 * (abstract ids, no music) behind one interface. A
 * tokenizer is made from a config; it owns a vocabulary (a name for every id,
 * lookup by name), encodes a score to ids and decodes ids to a new score.
 *
 * Every vocabulary starts with PAD = 0, BOS = 1, EOS = 2. encode() writes
 * BOS first and EOS last. decode() accepts a leading BOS, stops at EOS and
 * accepts PAD only at the end; in strict mode the first token that breaks the
 * grammar gives TG_ERR_GRAMMAR with its index, in lenient mode each such
 * token is dropped (or the broken note repaired) and reported to the logger.
 *
 * remi (Huang & Yang, "Pop Music Transformer", 2020; programs as in MidiTok's
 * REMI with programs), the default. Vocabulary, in id order (577 ids with the
 * default config):
 *   PAD BOS EOS Bar Position_0..Position_{B-1} TimeSig_n/d... Tempo_0..Tempo_31
 *   Program_0..Program_127 Program_drums Pitch_0..Pitch_127 Velocity_0..Velocity_31
 *   Duration_1..Duration_D
 * where B = 8 quarters of steps (96: the longest bar) and D = max_duration_steps
 * (96: two bars of 4/4). Time signatures with tokens: n/2 for n = 1..4, n/4 for
 * n = 1..8, n/8 for n = 1..16, n/16 for n = 1..32 (60 tokens; bars up to 8
 * quarter notes), keeping only those whose bar is a whole number of steps.
 * Grammar:
 *   [BOS] { Bar [TimeSig] { Position [Tempo] { Program Pitch Velocity Duration } } } [EOS] {PAD}
 * Positions rise strictly within a bar and stay below the bar's length.
 * The encoder emits TimeSig in the first bar and in every bar whose meter
 * differs from the previous bar's; Tempo at the position of every change of
 * tempo bin (and at position 0 of the first bar), so a Position may carry no
 * note. Notes of all tracks are interleaved by onset; within a position they
 * are sorted by program (drums last), pitch, duration, velocity. Bars follow
 * the score's bar lines (tg_score_bar_lines, in steps); a bar whose length is
 * no meter's nominal one (a meter change inside a bar, a pickup) gets the
 * meter token of its length (preferring /4, then /8, /2, /16: 36 steps is
 * 3/4); a bar longer than 8 quarters is split; a bar no token fits (length
 * not a multiple of the smallest meter) is cut to the longest that fits, so
 * note onsets stay exact and only the meter map moves. Durations longer than
 * D steps are clipped to D (the note's end moves earlier). Time in steps is
 * round(ticks * steps_per_quarter / ticks_per_quarter), ties up; an end that
 * rounds onto its start keeps one step. Scores in SMPTE time are read as 120 bpm.
 * Decoding writes one track per program, in program order with drums last
 * (named "Program p" / "Drums"); drums go on channel 9, the others take
 * channels 0..15 without 9 in program order (wrapping after 15). The score
 * has 40 * steps_per_quarter ticks per quarter (480 by default).
 * Round trip: decode(encode(s)) has, for every (program or drums) the notes of
 * s with start and end in steps as above (duration clipped to D), velocity at
 * its bin's centre; the meters bar by bar; tempo bins at their steps.
 *
 * remi-compact: remi saying each fact once. The same vocabulary, ids, bars,
 * positions, meters, tempos, note order and round trip as remi, but a note is
 *   [Program] Pitch [Velocity] Duration
 * with a Program only when the note's program differs from the previous
 * note's, and a Velocity only when its bin differs from the previous note's
 * (the first note of a piece has both). Both stay in force across positions
 * and bars until the next Program or Velocity token; they never reset within
 * a piece, so decoding stays a left-to-right state machine (a prefix, such
 * as a primer cut at a Bar, decodes as it is; a window cut from the middle
 * of a piece needs the tokens before it). A Pitch with no program in force,
 * or a Duration with no velocity in force, breaks the grammar (lenient
 * decoding assumes Program_0, or the bin of velocity 64).
 *
 * grid (Yu et al., SeqGAN, music experiment): PAD BOS EOS Rest Key_21..Key_108.
 * The melody sampled every step_sec seconds: at t = k * step_sec (k = 0, 1, ...
 * while t is before the end of the last note that counts), Key_p for the
 * highest pitch p in [pitch_min, pitch_max] sounding at t (start <= t < end) in
 * any track but drum tracks (their keys are not pitches), otherwise Rest;
 * trailing Rests are dropped. Times come from the tempo map, rounded to whole
 * microseconds. Decoding makes one note per run of equal keys, velocity 100.
 *
 * perf (Huang et al., "Music Transformer"; Oore et al. performance events):
 * PAD BOS EOS NoteOn_0..127 NoteOff_0..127 TimeShift_1..TimeShift_S Velocity_0..31
 * with shifts in shift_ms steps (10 ms, S = 100). Onsets and ends of all
 * non-drum notes are rounded to the step; an end that rounds onto its onset
 * keeps one step. At one instant NoteOffs come before NoteOns (each group by
 * pitch); a Velocity token precedes a NoteOn whose velocity bin differs from
 * the last one. Decoding pairs each NoteOff with the oldest open note of its
 * pitch. Round trip: per pitch, sorted onsets paired in order with sorted ends.
 *
 * grid and perf decode to one track (program 0, channel 0) of a score with
 * 500 ticks per quarter at 120 bpm (one tick per millisecond), 4/4.
 *
 * raw (abstract token sequences, for synthetic experiments such as SeqGAN's
 * oracle, experiments/seqgan-oracle): PAD BOS EOS Id_0..Id_{vocab-1}, no
 * music. Id_k is id k + 3. Any order of Ids is valid; the grammar allows BOS,
 * then Ids or EOS. encode and decode give TG_ERR_UNSUPPORTED (decode says why
 * in its error record): a raw corpus is written by its own tool
 * (tools/oracle.c), not from MIDI.
 *
 * Config string (corpus headers, checkpoint metadata): the kind, a colon, and
 * comma-separated key=value pairs, every parameter of the kind, e.g.
 *   remi:v=1,steps_per_quarter=12,tempo_bins=32,tempo_min_bpm=30,tempo_max_bpm=300,velocity_bins=32,max_duration_steps=96
 *   remi-compact:v=1,... (remi's keys)
 *   grid:v=1,step_sec=0.4,pitch_min=21,pitch_max=108
 *   perf:v=1,shift_ms=10,max_shift_steps=100,velocity_bins=32
 *   raw:v=1,vocab=5000
 * Parsing accepts a bare kind ("remi") and any subset of keys (the rest take
 * the kind's defaults); an unknown key, a bad number or another v= is an error.
 */
#ifndef TG_TOK_H
#define TG_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tunegan.h"

/* Values are stored in corpora and checkpoints: a new kind is appended. */
typedef enum {
    TOK_REMI = 0, TOK_GRID = 1, TOK_PERF = 2, TOK_RAW = 3, TOK_REMI_COMPACT = 4, TOK_REMI_TRACKS = 5
} tok_kind;

#define TOK_PAD 0
#define TOK_BOS 1
#define TOK_EOS 2
/* Version of the vocabularies and grammars; "v=" in the config string. */
#define TOK_VERSION 1
/* The longest remi bar, in quarter notes. */
#define TOK_REMI_MAX_BAR_QUARTERS 8
/* Velocity written by grid decoding. */
#define TOK_GRID_VELOCITY 100
/* Largest raw vocab: ids are u16 and tok_add stops at 65535 entries. */
#define TOK_RAW_MAX_VOCAB 65532
/* Ticks per quarter of scores decoded by grid and perf (at 120 bpm: 1 tick = 1 ms). */
#define TOK_TIMED_TPQ 500

typedef struct {
    int steps_per_quarter;   /* 12: positions and durations per quarter note */
    int tempo_bins;          /* 32, log-spaced from tempo_min_bpm to tempo_max_bpm */
    double tempo_min_bpm;    /* 30 */
    double tempo_max_bpm;    /* 300 */
    int velocity_bins;       /* 32 over velocities 1..127 */
    int max_duration_steps;  /* 96: two bars of 4/4 */
} tok_remi_config;

typedef struct {
    double step_sec;  /* 0.4 s between samples */
    int pitch_min;    /* 21 (A0) */
    int pitch_max;    /* 108 (C8) */
} tok_grid_config;

typedef struct {
    int shift_ms;         /* 10 ms per time-shift step */
    int max_shift_steps;  /* 100: TimeShift_1..TimeShift_100 */
    int velocity_bins;    /* 32 */
} tok_perf_config;

typedef struct {
    int vocab;            /* 5000: Id_0..Id_{vocab-1} (vocabulary size vocab + 3) */
} tok_raw_config;

typedef struct {
    tok_kind kind;
    tok_remi_config remi;  /* used when kind is TOK_REMI, TOK_REMI_COMPACT or TOK_REMI_TRACKS */
    tok_grid_config grid;  /* TOK_GRID */
    tok_perf_config perf;  /* TOK_PERF */
    tok_raw_config raw;    /* TOK_RAW */
} tok_config;

/* The default config of a kind (every part filled with its defaults). */
tok_config tok_config_default(tok_kind kind);
/* "remi", "grid", "perf", "raw", "remi-compact"; NULL for an unknown kind. */
const char *tok_kind_name(tok_kind kind);
/* Parses a kind name; TG_ERR_ARG when unknown. */
tg_status tok_kind_parse(const char *name, tok_kind *kind);
/* Checks every parameter's range; writes a reason to why (may be NULL). */
tg_status tok_config_check(const tok_config *cfg, char *why, size_t why_size);
/* Writes the config string (format above); TG_ERR_TOO_LARGE when it does not fit. */
tg_status tok_config_to_string(const tok_config *cfg, char *buf, size_t size);
/* Parses a config string; on error writes a reason to why (may be NULL). */
tg_status tok_config_parse(const char *text, tok_config *cfg, char *why, size_t why_size);
/* Sets the parameter of cfg's kind named key in the config string (an int
 * parameter gets value truncated); TG_ERR_ARG when the kind has no such key.
 * The value is not checked: tok_config_check does that. */
tg_status tok_config_set(tok_config *cfg, const char *key, double value);

/* ------------------------------------------------------------------------ */
/* Token types: what each id means, for decoders, statistics and samplers. */

typedef enum {
    TOK_T_PAD, TOK_T_BOS, TOK_T_EOS,
    TOK_T_BAR, TOK_T_POSITION, TOK_T_TIMESIG, TOK_T_TEMPO, TOK_T_PROGRAM, TOK_T_PITCH,
    TOK_T_VELOCITY, TOK_T_DURATION,               /* remi */
    TOK_T_REST, TOK_T_KEY,                        /* grid */
    TOK_T_NOTE_ON, TOK_T_NOTE_OFF, TOK_T_TIME_SHIFT, /* perf (and TOK_T_VELOCITY) */
    TOK_T_ID,                                     /* raw */
    TOK_T_TRACK, TOK_T_FILL, TOK_T_GAP,           /* remi-tracks */
    TOK_T_COUNT_
} tok_type;

/* One vocabulary entry. value: the number in the name (position, bin, pitch,
 * steps; 128 for Program_drums; the index in the meter list for TimeSig). */
typedef struct {
    tok_type type;
    int value;
} tok_info;

typedef struct tok_tokenizer tok_tokenizer;

tg_status tok_create(const tok_config *cfg, tok_tokenizer **out);
void tok_free(tok_tokenizer *tok);
/* Borrowed; valid while tok lives. */
const tok_config *tok_get_config(const tok_tokenizer *tok);

/* Vocabulary. */
int tok_vocab_size(const tok_tokenizer *tok);
/* Name of an id; "?" when out of range. Valid while tok lives. */
const char *tok_name(const tok_tokenizer *tok, int id);
/* Id of a name; -1 when unknown. */
int tok_lookup(const tok_tokenizer *tok, const char *name);
/* Type and value of an id (TOK_T_COUNT_ when out of range). */
tok_info tok_get_info(const tok_tokenizer *tok, int id);
/* Id of a type and value; -1 when the vocabulary has none. */
int tok_id(const tok_tokenizer *tok, tok_type type, int value);

/* A growable array of ids. */
typedef struct {
    uint16_t *ids;
    size_t n;
    size_t cap;
} tok_seq;

void tok_seq_free(tok_seq *seq);
tg_status tok_seq_push(tok_seq *seq, int id);

/* Encodes a score (sorted or not) into seq, which is cleared first. */
tg_status tok_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq);

typedef struct {
    bool lenient;       /* repair instead of failing */
    tg_logger logger;   /* each repair is a TG_LOG_WARN message */
    const char *name;   /* prefix of messages (a file name); may be NULL */
    const uint32_t *lines; /* when not NULL, line number of each token: messages say "line N" */
} tok_decode_options;

tok_decode_options tok_decode_options_default(void);

typedef struct {
    size_t index;      /* index of the offending token */
    char what[160];    /* what was wrong */
} tok_decode_error;

/* Decodes ids into a new score. opt and err may be NULL (strict). In lenient
 * mode *repairs (may be NULL) counts the repairs. */
tg_status tok_decode(const tok_tokenizer *tok, const uint16_t *ids, size_t n,
                     const tok_decode_options *opt, tg_score **out, tok_decode_error *err,
                     size_t *repairs);

/* ------------------------------------------------------------------------ */
/* remi-tracks (tok_remi_tracks.c, tok_tracks_task.c): track slots and the
 * conditional tasks of any-track generation. tok_remi_tracks.c's opening
 * comment gives the format:
 *   BOS { Track_k Program_p } { Bar [TimeSig] { Position Tempo }
 *   ( Gap | { Track_k { Position { Pitch [Velocity] Duration } } } ) }
 *   [ Fill { Bar { Track_k ... } } ] EOS
 * Vocabulary: remi's (577 ids), then Track_0..Track_7, Fill, Gap (587).
 * Round trip: per slot (the note-bearing tracks in order), remi's contract,
 * one note per (step, pitch) (the longest); decoding gives one track per
 * slot of the header, named "Track k", with the header's program. */

#define TOK_TRACKS_MAX 8
#define TOK_TRACKS_MAX_GAPS 32

typedef struct {
    int program[TOK_TRACKS_MAX];  /* per slot: 0..127, 128 drums; -1: no such slot */
} tok_tracks_slots;

/* The canonical slots of a score: its note-bearing tracks in order, slot_of
 * (n_tracks ints) gets each track's slot or -1. TG_ERR_TOO_LARGE with more
 * than TOK_TRACKS_MAX such tracks. */
tg_status tok_tracks_canonical(const tg_score *s, int *slot_of, tok_tracks_slots *slots);
/* Encodes score with the given slots: slot_of[t] is track t's slot (-1: left
 * out), every slot with a program is written in every bar (empty when no
 * track has it). seq is cleared first by the caller (tok_encode does). */
tg_status tok_tracks_encode(const tok_tokenizer *tok, const tg_score *score, const int *slot_of,
                            const tok_tracks_slots *slots, tok_seq *seq);

/* A conditional task, as a rewrite of a canonical sequence (no Gap, no Fill):
 * the slots in keep (0: all) are written, the others dropped; in every bar
 * the slots in given come first (each group in slot order); the slots in
 * clear are written empty (their Track_k alone) in the bars to generate:
 * every bar without a gap, the gap's bars with one. With gap_bars > 0, bars
 * gap_first .. gap_first+gap_bars-1 (0-based) become Gap bars and come back
 * after Fill; only `before` bars before the gap and `after` bars after it
 * are kept (-1: all). The first bar kept gets the meter and tempo in force. */
typedef struct {
    uint32_t keep, given, clear;
    int gap_first, gap_bars;
    int before, after;
} tok_tracks_task;

tok_tracks_task tok_tracks_task_default(void);
/* Writes the task's sequence (BOS .. EOS) to out (cleared first);
 * *first_bar and *start_step (may be NULL) get the first bar kept and its
 * start in steps. TG_ERR_ARG (why) when ids is not a canonical remi-tracks
 * sequence or the gap lies outside its bars. */
tg_status tok_tracks_rewrite(const tok_tokenizer *tok, const uint16_t *ids, size_t n,
                             const tok_tracks_task *task, tok_seq *out, int *first_bar,
                             int64_t *start_step, char *why, size_t why_size);
/* The same with a gap, keeping as many bars around it as fit max_len tokens
 * (at most 8 before and 4 after, or task's before/after when smaller),
 * giving up bars before the gap first; task's before/after get the bars kept.
 * TG_ERR_TOO_LARGE (why) when the gap alone does not fit. */
tg_status tok_tracks_fit(const tok_tokenizer *tok, const uint16_t *ids, size_t n, tok_tracks_task *task,
                         size_t max_len, tok_seq *out, int *first_bar, int64_t *start_step, char *why,
                         size_t why_size);
/* Bars of a canonical sequence (Bar tokens). */
int tok_tracks_bar_count(const tok_tokenizer *tok, const uint16_t *ids, size_t n);

/* ------------------------------------------------------------------------ */
/* What samplers and primers ask of a tokenizer, so that they need not know
 * its kind. */

/* Whether the tokens stand for music (false for raw's abstract ids). */
bool tok_is_music(const tok_tokenizer *tok);
/* Id of the Bar token; -1 when the kind has none (grid, perf, raw). */
int tok_bar_id(const tok_tokenizer *tok);
/* Whether lengths in bars are supported: the kind writes Bar tokens (remi). */
bool tok_has_bars(const tok_tokenizer *tok);
/* Steps per quarter note of a kind whose time (tok_grammar_time) counts steps
 * of a quarter note and which decodes in those steps, with the meters and
 * tempo bins of its tokens (remi: 12 by default); 0 for kinds timed in fixed
 * units of seconds (grid samples, perf shifts; decoded at one tick per
 * millisecond) and for raw. */
int tok_steps_per_quarter(const tok_tokenizer *tok);
/* Seconds from the start of score at time, in tok_grammar_time's unit:
 * steps through score's global tempo map (an SMPTE score is read at 120 bpm),
 * or samples and shifts of a fixed length (the score is not read); 0 for raw. */
double tok_time_sec(const tok_tokenizer *tok, const tg_score *score, int64_t time);
/* Whether the encoder may leave notes out (grid: drums and pitches out of
 * range; perf: drums). */
bool tok_drops_notes(const tok_tokenizer *tok);
/* Whether a held note and repeated ones of its pitch give the same tokens
 * (grid: a run of equal keys is one note). */
bool tok_merges_repeats(const tok_tokenizer *tok);

/* ------------------------------------------------------------------------ */
/* Internals shared by the tokenizer files (tok.c, tok_kind.c, tok_grammar.c,
 * and the kinds: tok_remi.c, tok_remi_compact.c, tok_grid.c, tok_perf.c,
 * tok_raw.c). */

#define TOK_MAX_METERS 64

typedef struct {
    uint8_t numerator;
    uint16_t denominator;
    int steps;  /* bar length in steps */
} tok_meter;

typedef struct tok_kind_ops tok_kind_ops; /* below: what differs between kinds */

struct tok_tokenizer {
    tok_config cfg;
    const tok_kind_ops *ops;   /* the table of cfg.kind */
    int size;                  /* vocabulary size */
    char **names;              /* size names */
    tok_info *info;            /* size entries */
    int base[TOK_T_COUNT_];    /* first id of each type; -1 when absent */
    int count[TOK_T_COUNT_];   /* ids of each type */
    int first_value[TOK_T_COUNT_]; /* value of the first id of each type */
    int32_t *hash;             /* open addressing over names: ids, -1 empty */
    size_t hash_cap;
    /* remi */
    tok_meter meters[TOK_MAX_METERS];
    int n_meters;
    int max_bar_steps;
    /* velocity bins (remi, perf): bin of each velocity, centre of each bin */
    uint8_t vel_bin[128];
    uint8_t vel_centre[128];
};

/* Adds a token of a type; value is its number. Used while building vocabularies. */
tg_status tok_add(tok_tokenizer *tok, tok_type type, int value, const char *name);

/* Shared decoding state: options, error, repair counting. */
typedef struct {
    const tok_tokenizer *tok;
    const tok_decode_options *opt;
    tok_decode_error *err;
    size_t repairs;
} tok_dec;

/* Strict: fills err and returns TG_ERR_GRAMMAR. Lenient: logs the repair and
 * returns TG_OK (the caller then drops or repairs the token). */
tg_status tok_dec_problem(tok_dec *d, size_t index, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Handles BOS, EOS and PAD and ids out of range at index i. Returns 1 when the
 * token was consumed (or dropped), 2 when the sequence ends here (EOS), 0 when
 * the caller handles it; *st gets TG_ERR_GRAMMAR in strict mode on a problem. */
int tok_dec_common(tok_dec *d, const uint16_t *ids, size_t n, size_t i, tg_status *st);

/* Velocity bins shared by remi and perf. */
void tok_velocity_bins(tok_tokenizer *tok, int bins);
/* Ticks to microseconds through the tempo map a track follows (its chunk's in
 * format 2), with the map's partial sums kept: the same sums in the same order
 * as tg_score_ticks_to_sec, found by binary search instead of a walk. */
typedef struct {
    const tg_score *score;
    int chunk;
    int64_t *ticks;    /* applicable tempo events, in map order */
    uint32_t *usec;
    double *sec;       /* seconds at each event */
    size_t n;
    bool walk;         /* the map is unsorted: fall back on tg_score_ticks_to_sec */
} tok_clock;

tg_status tok_clock_init(tok_clock *c, const tg_score *score, const tg_track *track);
int64_t tok_clock_usec(const tok_clock *c, int64_t ticks);
void tok_clock_free(tok_clock *c);
/* The score grid and perf decode to: TOK_TIMED_TPQ at 120 bpm, 4/4, one track
 * (program 0, channel 0) holding notes given in milliseconds (= ticks). */
tg_status tok_timed_score(const char *track_name, const tg_note *notes, size_t n, tg_score **out);

/* Longest time an encoder accepts, in its own steps (remi steps, grid samples,
 * perf shifts): longer pieces give TG_ERR_TOO_LARGE. */
#define TOK_MAX_STEPS ((int64_t)1 << 22)


/* ------------------------------------------------------------------------ */
/* Grammar states (tok_grammar.c, each kind's rules in its own file): which
 * ids may come next in a sequence, for masking a sampler's choices. A state
 * starts before BOS; feeding a token the state allows advances it. Every
 * sequence the encoder writes is accepted (BOS ... EOS), and every sequence
 * the state accepts up to EOS decodes strictly. The rules are those of the
 * decoders, tightened to the encoder's canonical order (so the model is never
 * offered a token the encoder would not write):
 *   remi: BOS, then { Bar [TimeSig] { Position [Tempo] { Program Pitch
 *     Velocity Duration } } }, EOS. The first Bar carries a TimeSig; TimeSig
 *     only right after a Bar; Positions rise strictly within a bar and stay
 *     below the bar's length (its meter); a Position is followed by a Tempo
 *     or a note; Tempo only right after a Position; within a position, notes
 *     in (program, pitch) order, drums last; EOS right after BOS, a Duration
 *     or a Tempo.
 *   remi-compact: as remi, with notes [Program] Pitch [Velocity] Duration: a
 *     Program differs from the program in force (so within a position it
 *     rises strictly); a Pitch without one needs a program in force; a
 *     Velocity differs from the bin in force; a Duration right after the
 *     Pitch needs a bin in force.
 *   grid: BOS, { Rest | Key }, EOS; EOS right after BOS or a Key (no
 *     trailing Rests).
 *   perf: BOS, then TimeShift, Velocity, NoteOn and NoteOff events: a
 *     TimeShift shorter than the longest is not followed by another; a
 *     Velocity differs from the one in force and is followed by a NoteOn; a
 *     NoteOn needs a Velocity before it; a NoteOff needs a note of its pitch
 *     begun at an earlier instant; at one instant NoteOffs come before
 *     NoteOns, each group in non-decreasing pitch; EOS right after BOS or a
 *     NoteOff, with no note sounding.
 *   raw: BOS, { Id }, EOS.
 * A state is a plain value (a few hundred bytes): copy it to keep a point to
 * come back to. */

typedef struct {
    const tok_tokenizer *tok; /* borrowed: must outlive the state */
    int last;                 /* type of the last token fed (TOK_T_COUNT_ before BOS) */
    bool ended;               /* EOS fed: only PAD may follow */
    int64_t tokens;           /* tokens fed */
    int64_t notes;            /* remi Durations, grid Keys, perf NoteOns, raw Ids fed */
    /* The state of the kind's own rules: one part per kind that needs one
     * (a new kind adds its part here). */
    union {
        struct {
            int meter;                /* meter index in force (-1 before the first TimeSig) */
            int bar_meter;            /* meter of the current bar */
            int64_t bar_start;        /* steps at the start of the current bar */
            int64_t bars;             /* Bar tokens fed */
            int pos;                  /* position in the bar (-1 before its first Position) */
            int program;              /* program of the note being read (remi-compact: in force) */
            int velocity;             /* remi-compact: bin in force (-1: none yet) */
            int prev_program, prev_pitch; /* last complete note at this position (-1: none) */
        } remi;
        struct {
            int64_t samples;          /* Rests and Keys fed */
        } grid;
        struct {
            int meter, bar_meter;     /* meter in force, meter of the current bar (-1: none) */
            int64_t bar_start;        /* steps at the start of the current bar */
            int64_t bars;             /* Bar tokens fed */
            int pos;                  /* position in the segment (-1 before its first) */
            int slot;                 /* segment: a track slot, -1 the bar's prelude, -2 the header */
            int prev_pitch;           /* last pitch at this position in this segment (-1: none) */
            int velocity;             /* bin in force in this segment (-1: none) */
            uint16_t present;         /* slots the header names */
            uint16_t seen;            /* slots written in the current bar */
            int header_last;          /* last slot of the header (-1: none) */
            bool gap_bar, fill;       /* the bar is a Gap; the Fill section has begun */
            int n_gaps, fill_bars;    /* Gap bars, and bars of the Fill section begun */
            int8_t gap_meter[32];     /* meter of each Gap bar */
            int64_t gap_start[32];    /* and its start in steps */
        } tracks;
        struct {
            int64_t now;              /* time-shift steps so far */
            int velocity;             /* bin in force (-1: none yet) */
            int last_shift;           /* value of the last TimeShift */
            int last_off, last_on;    /* highest NoteOff / NoteOn pitch at this instant (-1: none) */
            int64_t open_total;       /* notes sounding */
            int32_t open[128];        /* notes sounding per pitch */
        } perf;
    };
} tok_grammar;

/* A state before BOS. */
void tok_grammar_init(tok_grammar *g, const tok_tokenizer *tok);
/* Whether id may come next (false for ids outside the vocabulary). */
bool tok_grammar_allows(const tok_grammar *g, int id);
/* mask (V bytes) = 1 for every id that may come next, 0 for the others;
 * returns how many may. */
int tok_grammar_mask(const tok_grammar *g, uint8_t *mask);
/* Advances the state by id; TG_ERR_GRAMMAR (state unchanged) when it may not
 * come next. */
tg_status tok_grammar_feed(tok_grammar *g, int id);
/* Whether EOS may come next. */
bool tok_grammar_can_end(const tok_grammar *g);
/* Whether the piece can be ended from here by tokens that add no note
 * (tok_grammar_close): remi and grid when EOS may come next; perf unless a
 * Velocity waits for its NoteOn. */
bool tok_grammar_can_close(const tok_grammar *g);
/* Appends to seq the tokens (without EOS) after which EOS may come: perf
 * ends every sounding note (after a TimeShift_1 when needed), the others
 * append nothing. TG_ERR_GRAMMAR when tok_grammar_can_close is false. */
tg_status tok_grammar_close(const tok_grammar *g, tok_seq *seq);
/* The time reached, in the tokenizer's unit: remi steps (start of the
 * current bar, plus the current position), grid samples, perf shift steps,
 * raw Ids. */
int64_t tok_grammar_time(const tok_grammar *g);
/* Appends to seq the tokens that carry the time of a kind timed in fixed
 * units from the state's to usec microseconds: grid Rests up to the first
 * sample at or after usec, perf TimeShifts up to the shift nearest usec.
 * TG_ERR_UNSUPPORTED for the other kinds (remi: cut at a Bar instead). */
tg_status tok_grammar_pad(const tok_grammar *g, int64_t usec, tok_seq *seq);

/* ------------------------------------------------------------------------ */
/* Kinds: all that differs between tokenizers, one table of functions each.
 * Each kind's file defines its table (tok_remi_ops in tok_remi.c, ...) and
 * the registry in tok_kind.c lists them all: a new tokenizer is a new file,
 * a line in the registry and its value in tok_kind; when it has parameters
 * of its own, a part in tok_config (a variant of a kind may share the
 * kind's part and keys); when its grammar keeps state, a part in
 * tok_grammar. Every function is set (a kind without something to do points
 * at one of the shared helpers below). */

/* One parameter of the config string: its key and where its value lives. */
typedef struct {
    const char *key;  /* e.g. "steps_per_quarter" */
    size_t offset;    /* of the value in tok_config: offsetof(tok_config, remi.tempo_bins) */
    bool real;        /* a double; otherwise an int */
} tok_config_key;

struct tok_kind_ops {
    tok_kind kind;
    const char *name;            /* "remi": the config string's prefix */
    const tok_config_key *keys;  /* the parameters, in config-string order */
    int n_keys;
    bool music;                  /* tok_is_music */
    bool drops_notes;            /* tok_drops_notes */
    bool merges_repeats;         /* tok_merges_repeats */

    /* Config: fills the kind's part of c with its defaults (and nothing
     * else); checks the kind's part, a reason in why. */
    void (*config_default)(tok_config *c);
    tg_status (*config_check)(const tok_config *c, char *why, size_t why_size);

    /* Vocabulary after PAD BOS EOS (tok_add), and any tables the kind keeps
     * in the tokenizer. */
    tg_status (*build)(tok_tokenizer *tok);
    /* seq is empty; writes BOS ... EOS. */
    tg_status (*encode)(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq);
    tg_status (*decode)(tok_dec *d, const uint16_t *ids, size_t n, tg_score **out);

    /* Grammar (tok.h's rules): the kind's fields of a fresh state (the rest
     * are zero); whether type/value may come next after BOS (PAD, BOS and a
     * finished sequence are handled before); the bookkeeping of a token
     * allowed; the rest as tok_grammar_can_close, _close, _time and _pad
     * (can_close is asked only after BOS and before EOS, close only when
     * can_close holds). */
    void (*grammar_init)(tok_grammar *g);
    bool (*grammar_allows)(const tok_grammar *g, tok_type type, int value);
    void (*grammar_feed)(tok_grammar *g, tok_type type, int value);
    bool (*grammar_can_close)(const tok_grammar *g);
    tg_status (*grammar_close)(const tok_grammar *g, tok_seq *seq);
    int64_t (*grammar_time)(const tok_grammar *g);
    tg_status (*grammar_pad)(const tok_grammar *g, int64_t usec, tok_seq *seq);

    /* Time: tok_steps_per_quarter; seconds per unit of a kind timed in
     * fixed units (0 for the others). */
    int (*steps_per_quarter)(const tok_config *c);
    double (*unit_sec)(const tok_config *c);
};

extern const tok_kind_ops tok_remi_ops, tok_grid_ops, tok_perf_ops, tok_raw_ops,
    tok_remi_compact_ops, tok_remi_tracks_ops;

/* The registry: kinds in tok_kind order, tok_kind_count() of them. */
size_t tok_kind_count(void);
const tok_kind_ops *tok_kind_at(size_t i);
/* The table of a kind; NULL when unknown. */
const tok_kind_ops *tok_kind_get(tok_kind kind);

/* Shared helpers for kind tables (tok_grammar_can_end serves as a
 * can_close that holds when EOS may come). */
void tok_grammar_init_none(tok_grammar *g);                           /* no fields of its own */
tg_status tok_grammar_close_none(const tok_grammar *g, tok_seq *seq); /* appends nothing */
tg_status tok_grammar_pad_none(const tok_grammar *g, int64_t usec, tok_seq *seq); /* unsupported */
int tok_no_steps(const tok_config *c);    /* steps_per_quarter: 0 */
double tok_no_unit(const tok_config *c);  /* unit_sec: 0 */

/* remi's pieces, shared with its variant remi-compact (tok_remi_compact.c):
 * the config part and its keys, the vocabulary, the encoder and the decoder
 * (compact: a Program only when the program changes, a Velocity only when
 * the bin changes), and the grammar's rules, which remi-compact keeps for
 * all but the notes' tokens. */
#define TOK_REMI_N_KEYS 6
extern const tok_config_key tok_remi_keys[TOK_REMI_N_KEYS];
void tok_remi_default(tok_config *c);
tg_status tok_remi_check(const tok_config *c, char *why, size_t why_size);
int tok_remi_steps_per_quarter(const tok_config *c);
tg_status tok_remi_build(tok_tokenizer *tok);
tg_status tok_remi_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq, bool compact);
tg_status tok_remi_decode(tok_dec *d, const uint16_t *ids, size_t n, tg_score **out, bool compact);
void tok_remi_grammar_init(tok_grammar *g);
bool tok_remi_allows(const tok_grammar *g, tok_type type, int value);
void tok_remi_feed(tok_grammar *g, tok_type type, int value);
int64_t tok_remi_time(const tok_grammar *g);
/* remi's timing, shared with remi-tracks: the step nearest a tick (ties up;
 * SMPTE at 120 bpm); whether the tempo and meter maps are sorted; the tempo
 * changes in steps (the tempo at step 0, then each change of bin); the wanted
 * bar lines in steps with the nominal meter at each; the meter of a bar of
 * len steps (tok.h's rules); the tempo of a bin. */
typedef struct {
    int64_t step;
    int bin;
} tok_tempo_change;
int64_t tok_remi_step(const tg_score *s, int spq, int64_t ticks);
bool tok_remi_maps_sorted(const tg_score *s);
tg_status tok_remi_tempo_changes(const tok_tokenizer *tok, const tg_score *s, tok_tempo_change **out,
                                 size_t *n_out);
tg_status tok_remi_bar_lines(const tok_tokenizer *tok, const tg_score *s, int64_t last_step,
                             int64_t **lines_out, int **meters_out, size_t *n_out);
int tok_remi_choose_meter(const tok_tokenizer *tok, int64_t len, int nominal, bool aligned);
uint32_t tok_remi_tempo_usec(const tok_remi_config *c, int k);
/* The frame of a remi or remi-tracks encoding: the score read (the input,
 * or a sorted clone when its tempo or meter map is out of order), its tempo
 * changes and wanted bar lines up to the last note, and the walk over bars.
 * tok_remi_frame_open clones when needed; tok_remi_frame_maps (once the last
 * note's step is known) reads the maps; tok_remi_frame_bar pushes the Bar
 * starting at step p and its TimeSig when the meter changes, and gives the
 * bar's end; tok_remi_frame_free releases all (accepts a frame never opened
 * beyond memset 0). */
typedef struct {
    const tg_score *score;
    tg_score *sorted;
    tok_tempo_change *tempos;
    size_t n_tempos;
    int64_t *lines;
    int *nominal;
    size_t n_lines, line;
    int meter;
} tok_remi_frame;
tg_status tok_remi_frame_open(tok_remi_frame *f, const tg_score *score);
tg_status tok_remi_frame_maps(tok_remi_frame *f, const tok_tokenizer *tok, int64_t last_step);
tg_status tok_remi_frame_bar(tok_remi_frame *f, const tok_tokenizer *tok, int64_t p, tok_seq *seq,
                             int64_t *bar_end);
void tok_remi_frame_free(tok_remi_frame *f);
/* A note's step and its duration in steps (1 .. max_duration_steps). */
void tok_remi_note_steps(const tok_tokenizer *tok, const tg_score *s, const tg_note *nt, int64_t *step,
                         int32_t *dur);
/* A decoded track: added to s with its notes, each moved to channel. */
tg_status tok_remi_add_track(tg_score *s, const char *name, int channel, int program,
                             const tg_note *notes, size_t n);
/* The meter and tempo maps a remi decoder collects. */
typedef struct {
    tg_timesig *ts;
    size_t n_ts, cap_ts;
    tg_tempo *tempos;
    size_t n_tempos, cap_tempos;
} tok_remi_maps;
/* A new score at remi's resolution holding the maps (4/4 from the start
 * when they have no meter); the decoder then adds its tracks. */
tg_status tok_remi_score_open(const tok_tokenizer *tok, const tok_remi_maps *m, tg_score **out);
/* The decoded score: with st TG_OK, s sorted into *out; else s freed. Returns st. */
tg_status tok_remi_score_close(tg_status st, tg_score *s, tg_score **out);
void tok_remi_maps_free(tok_remi_maps *m);

#endif /* TG_TOK_H */
