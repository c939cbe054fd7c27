/*
 * tunegan.h: the public API of the tunegan library.
 *
 * tunegan learns from a folder of MIDI files with a Transformer generator
 * (maximum likelihood, then SeqGAN policy gradients against a Transformer
 * discriminator) and writes new music. This header is what programs that
 * embed the library see; everything under src/ is internal.
 *
 * Conventions: functions return a tg_status (TG_OK is 0); objects that own
 * memory come in create/free pairs and free accepts NULL; units live in
 * names (_ticks, _sec, _hz); pitch and velocity are 0..127.
 */
#ifndef TUNEGAN_H
#define TUNEGAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TG_VERSION_MAJOR 0
#define TG_VERSION_MINOR 1
#define TG_VERSION_PATCH 0
#define TG_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------------ */
/* Status codes: one table, the enum and tg_status_str() come from it. */

#define TG_STATUS_MAP(X)                                                      \
    X(OK, "success")                                                          \
    X(ERR_NOMEM, "out of memory")                                             \
    X(ERR_IO, "input/output error")                                           \
    X(ERR_NOT_FOUND, "file or folder not found")                              \
    X(ERR_ARG, "invalid argument")                                            \
    X(ERR_RANGE, "value out of range")                                        \
    X(ERR_TOO_LARGE, "input exceeds a size limit")                            \
    X(ERR_NOT_MIDI, "not a Standard MIDI File")                               \
    X(ERR_MIDI_DAMAGED, "MIDI file damaged beyond recovery")                  \
    X(ERR_FORMAT, "malformed input")                                          \
    X(ERR_VERSION, "file written by an incompatible version")                 \
    X(ERR_GRAMMAR, "token sequence breaks the tokenizer's grammar")           \
    X(ERR_SHAPE, "shapes do not match")                                       \
    X(ERR_UNSUPPORTED, "not supported by this build")                         \
    X(ERR_INTERRUPTED, "interrupted")

typedef enum {
#define TG_STATUS_ENUM_(name, msg) TG_##name,
    TG_STATUS_MAP(TG_STATUS_ENUM_)
#undef TG_STATUS_ENUM_
    TG_STATUS_COUNT_
} tg_status;

/* A short English message for a status; never NULL. */
const char *tg_status_str(tg_status s);
/* The status's short name, e.g. "ERR_NOMEM"; never NULL. */
const char *tg_status_name(tg_status s);

/* ------------------------------------------------------------------------ */
/* Logging: library code never prints; it calls the application's hook. */

typedef enum { TG_LOG_ERROR = 0, TG_LOG_WARN = 1, TG_LOG_INFO = 2, TG_LOG_DEBUG = 3 } tg_log_level;
typedef void (*tg_log_fn)(void *user, tg_log_level level, const char *msg);

typedef struct {
    tg_log_fn fn;   /* NULL: messages are dropped */
    void *user;     /* handed back to fn */
} tg_logger;

/* ------------------------------------------------------------------------ */
/* Random numbers: an explicit stream handed to whoever needs it. */

typedef struct {
    uint64_t state[4]; /* xoshiro256** state */
} tg_rng;

void tg_rng_seed(tg_rng *rng, uint64_t seed);
uint64_t tg_rng_u64(tg_rng *rng);
uint32_t tg_rng_below(tg_rng *rng, uint32_t n); /* uniform in [0, n), n > 0 */
float tg_rng_float(tg_rng *rng);                /* uniform in [0, 1) */
float tg_rng_normal(tg_rng *rng);               /* standard normal */

/* ------------------------------------------------------------------------ */
/* The score: the in-memory music every part of tunegan works with. */

typedef struct {
    int64_t start_ticks;
    int64_t end_ticks;  /* > start_ticks */
    uint8_t pitch;      /* 0..127 */
    uint8_t velocity;   /* 1..127 */
    uint8_t channel;    /* 0..15 */
} tg_note;

typedef struct {
    int64_t ticks;
    uint32_t usec_per_quarter; /* 500000 is 120 bpm */
    int chunk;                 /* format 2: the track chunk it belongs to; otherwise -1 */
} tg_tempo;

typedef struct {
    int64_t ticks;
    uint8_t numerator;   /* beats per bar */
    uint16_t denominator; /* beat unit as a note value: 4 is a quarter */
    int chunk;
} tg_timesig;

typedef struct {
    int64_t ticks;
    int8_t sharps;  /* -7..7, negative for flats */
    uint8_t minor;  /* 0 major, 1 minor */
    int chunk;
} tg_keysig;

typedef struct {
    char *name;      /* owned, never NULL ("" when unnamed) */
    int chunk;       /* index of the MIDI track chunk it came from; -1 when built in memory */
    int channel;     /* 0..15 */
    int program;     /* General MIDI program 0..127 */
    bool is_drum;    /* channel 10 (index 9) */
    tg_note *notes;  /* sorted by (start, pitch, end, velocity) after tg_score_sort */
    size_t n_notes;
    size_t cap_notes;
} tg_track;

/* Read the fields; change them only through the functions below. */
typedef struct tg_score {
    int format;               /* SMF format 0, 1 or 2 it came from (1 when built in memory) */
    int ticks_per_quarter;    /* > 0 for metrical time; 0 when SMPTE */
    int smpte_fps;            /* SMPTE frames per second (24, 25, 29 for 29.97, 30), else 0 */
    int ticks_per_frame;      /* SMPTE subdivisions of a frame, else 0 */
    tg_track *tracks;
    size_t n_tracks;
    tg_tempo *tempos;         /* sorted by ticks after tg_score_sort */
    size_t n_tempos;
    tg_timesig *timesigs;
    size_t n_timesigs;
    tg_keysig *keysigs;
    size_t n_keysigs;
    size_t cap_tracks, cap_tempos, cap_timesigs, cap_keysigs;
} tg_score;

tg_status tg_score_create(int ticks_per_quarter, tg_score **out);
void tg_score_free(tg_score *score);
/* Deep copy. */
tg_status tg_score_clone(const tg_score *src, tg_score **out);
/* Appends a track; its index is written to *index when index is not NULL. */
tg_status tg_score_add_track(tg_score *score, const char *name, int channel, int program,
                             int chunk, size_t *index);
/* Checks pitch 0..127, velocity 1..127, channel 0..15, end > start >= 0. */
tg_status tg_score_add_note(tg_score *score, size_t track, tg_note note);
tg_status tg_score_add_tempo(tg_score *score, tg_tempo tempo);
tg_status tg_score_add_timesig(tg_score *score, tg_timesig ts);
tg_status tg_score_add_keysig(tg_score *score, tg_keysig ks);
/* Sorts notes of every track and the tempo, meter and key maps by time (stable). */
void tg_score_sort(tg_score *score);
/* Total notes over all tracks. */
size_t tg_score_note_count(const tg_score *score);
/* The tick at which the last note ends (0 for an empty score). */
int64_t tg_score_end_ticks(const tg_score *score);
/* Seconds at a tick, through the tempo map (format 2: the map of chunk; others pass -1).
 * Default tempo is 120 bpm until the first tempo event. SMPTE time ignores tempo. */
double tg_score_ticks_to_sec(const tg_score *score, int chunk, int64_t ticks);
/* Tempo in effect at a tick, in microseconds per quarter note. */
uint32_t tg_score_tempo_at(const tg_score *score, int chunk, int64_t ticks);
/* Time signature in effect at a tick (4/4 before the first one). */
tg_timesig tg_score_timesig_at(const tg_score *score, int64_t ticks);
/* Ticks of every bar line from 0 up to and including the first at or after end_ticks,
 * following the time-signature map. *bars is malloc'ed; the caller frees it. */
tg_status tg_score_bar_lines(const tg_score *score, int64_t end_ticks, int64_t **bars, size_t *n_bars);
/* Rounds every note's start and end to the nearest of steps_per_quarter steps per quarter
 * note (ties away from zero); a note that would vanish keeps one step. Needs metrical time. */
tg_status tg_score_quantize(tg_score *score, int steps_per_quarter);

/* ------------------------------------------------------------------------ */
/* Standard MIDI Files. */

/* What the reader noticed while recovering from damage; all counts, no judgement. */
typedef struct {
    size_t notes_closed_at_end;   /* notes still sounding when their track ended */
    size_t orphan_note_offs;      /* note-offs with no sounding note */
    size_t unknown_chunks;        /* chunks skipped because their type is unknown */
    size_t missing_end_of_track;  /* tracks without an end-of-track meta event */
    size_t bad_track_lengths;     /* tracks whose length field disagreed with their content */
    size_t track_count_mismatch;  /* 1 when MThd's count disagrees with the chunks present */
    size_t trailing_bytes;        /* bytes that form no chunk (after the last chunk or between chunks) */
    size_t truncated_events;      /* events cut off by the end of the data or of their chunk */
    size_t damaged_tracks;        /* tracks cut short by an undecodable event (rest skipped) */
    size_t system_messages;       /* stray system messages (F1-F6, F8-FE) skipped inside tracks */
    size_t zero_length_notes;     /* notes whose on and off share a tick (lengthened to 1 tick) */
    size_t track_chunks;          /* MTrk chunks read (not a damage count: for `tunegan notes`) */
    size_t warnings;              /* total warnings (the logger receives the first 100) */
} tg_midi_report;

/* Where a fatal error happened, for messages like "track 3 ends inside an event at byte 5121". */
typedef struct {
    int64_t byte_offset;  /* -1 when not applicable */
    int track;            /* track chunk index, -1 when not in a track */
    char what[160];       /* what was wrong and where, a sentence without the file name */
} tg_midi_error;

typedef struct {
    tg_logger logger;       /* warnings go here, prefixed with the file name when given */
    const char *name;       /* file name used in messages; may be NULL */
    size_t max_bytes;       /* files larger are refused: default 256 MiB */
    size_t max_events;      /* more events are refused: default 16 Mi */
} tg_midi_read_options;

tg_midi_read_options tg_midi_read_options_default(void);

/* Parses a Standard MIDI File (format 0, 1 or 2, optionally inside a RIFF RMID wrapper)
 * into a new score. report and err may be NULL. */
tg_status tg_midi_read_memory(const uint8_t *data, size_t size, const tg_midi_read_options *opt,
                              tg_score **out, tg_midi_report *report, tg_midi_error *err);
tg_status tg_midi_read_file(const char *path, const tg_midi_read_options *opt, tg_score **out,
                            tg_midi_report *report, tg_midi_error *err);

typedef struct {
    int format;  /* 0 or 1 (default 1) */
} tg_midi_write_options;

tg_midi_write_options tg_midi_write_options_default(void);

/* Writes to memory; *data is malloc'ed and the caller frees it. */
tg_status tg_midi_write_memory(const tg_score *score, const tg_midi_write_options *opt,
                               uint8_t **data, size_t *size);
/* Writes under a temporary name in the same folder and renames when complete. */
tg_status tg_midi_write_file(const char *path, const tg_score *score, const tg_midi_write_options *opt);

/* ------------------------------------------------------------------------ */
/* Sheet music: MusicXML 3.1 (partwise), as MuseScore 3 and later read it.
 *
 * Quantisation (tuplet-free): the grid has steps_per_quarter steps per
 * quarter (MusicXML's divisions; default 12, the remi tokenizer's). Notes are
 * written on its finest binary sub-grid, whose unit is steps_per_quarter over
 * the largest power of two dividing it (at most 32 per quarter): at 12 the
 * unit is 3 steps, a 16th note. A note's onset and end are each rounded to
 * the nearest unit (a tie goes to the later one); a note that would then be
 * shorter than one unit is lengthened to one unit. Bar lines come from the
 * meter map as tg_score_bar_lines gives them (a meter change inside a bar
 * starts a new, shorter bar) and are rounded the same way; there is no pickup
 * detection: an anacrusis is a short first bar only when the meter map says
 * so (e.g. 1/4 then 4/4), otherwise the first bar starts with rests.
 * Within a track, two notes of one pitch never overlap: an exact duplicate
 * (or a note starting with one of its pitch) merges into the longer, and a
 * note cut by a later onset of its pitch ends there (as a MIDI synthesizer
 * plays it). These quantised notes are what the file holds, every one of
 * them: read back, each pitch, onset and duration in grid steps is equal.
 *
 * Layout: one part per track with notes (a score without notes gets one
 * empty part); part-name from the track's name, else the General MIDI
 * program's; a MIDI instrument with its channel and program. Notes that start
 * and end together form a chord; overlapping notes of different lengths go
 * to further voices (the first voice whose last note has ended), four per
 * staff, more staves when a track needs more (a bar writes the voices that
 * sound in it; a staff where none does gets one bar rest). A track whose
 * lowest eighth of notes lies below middle C and highest eighth at or above
 * it, more than 18 semitones apart, gets a grand staff (treble from middle C
 * up, bass below); another gets a bass clef when most of its notes lie below
 * middle C. Notes cross bar lines as tied notes; a duration is written as
 * the longest notatable values that fit (breve to 128th, dotted or not)
 * joined by ties, in compound meters (6/8, 9/8, 12/8...) a note longer than
 * the beat (a dotted quarter) in whole beats. Rests fill every gap: within
 * a beat the longest plain value that starts on a multiple of itself and
 * stays in the beat, beyond it whole beats from a beat (dotted only in
 * compound meters); an empty bar is one bar rest. Drum tracks (channel 10) become percussion
 * parts (unpitched notes, one instrument per key with its MIDI number).
 * Keys come from the key map (a change between bar lines takes effect at
 * the next bar line); a score without key signatures gets the key estimated
 * from its pitch classes (Krumhansl-Kessler profiles). Pitches are spelled
 * in the key: its own notes as the key writes them; another note as the
 * key's note a semitone below raised or the one above lowered, whichever
 * needs the smaller accidental (E natural, not F flat, in B flat major), and
 * when equal with a flat in flat keys, a sharp otherwise; in a minor key the
 * raised leading tone always as the seventh degree raised. The tempo at the
 * start becomes a metronome mark; later tempo changes are left out. */

#define TG_MUSICXML_MAX_GRID 960
/* Longer scores are refused (TG_ERR_TOO_LARGE): a stray note far away would
 * otherwise fill the file with bar rests. */
#define TG_MUSICXML_MAX_BARS 100000

typedef struct {
    int steps_per_quarter;  /* the grid, 1..TG_MUSICXML_MAX_GRID (12) */
    const char *title;      /* work title; NULL or "": none */
} tg_musicxml_options;

tg_musicxml_options tg_musicxml_options_default(void);

/* Writes the score as MusicXML to path, under a temporary name renamed when
 * complete. opt NULL: defaults. err (may be NULL) gets a sentence naming the
 * cause (a bad option, SMPTE time, the file's error). */
tg_status tg_musicxml_write_file(const char *path, const tg_score *score, const tg_musicxml_options *opt,
                                 char *err, size_t err_len);
/* The same text in memory: *out is malloc'ed (0-terminated, *len bytes
 * without the 0) and the caller frees it. */
tg_status tg_musicxml_write_memory(const tg_score *score, const tg_musicxml_options *opt, char **out,
                                   size_t *len, char *err, size_t err_len);

/* ------------------------------------------------------------------------ */
/* A trained run: open it, generate or continue a primer, write MIDI.
 *
 *     tg_run *run;
 *     char err[512];
 *     if (tg_run_open("runs/mine", &run, err, sizeof err) != TG_OK) { puts(err); return 1; }
 *     tg_generate_options go = tg_generate_options_default();
 *     go.num = 2; go.bars = 16; go.seed = 7;
 *     tg_take takes[2];
 *     if (tg_run_generate(run, &go, takes, NULL, err, sizeof err) == TG_OK)
 *         for (int i = 0; i < 2; i++) {
 *             tg_midi_write_file(i ? "b.mid" : "a.mid", takes[i].score, NULL);
 *             tg_take_free(&takes[i]);
 *         }
 *     tg_run_free(run);
 */

typedef struct tg_run tg_run;

/* Opens the generator of a run folder (its model.safetensors) or of a
 * checkpoint file, with the tokenizer it was trained with. On failure err
 * (err_len bytes) says what is wrong, starting with the path. */
tg_status tg_run_open(const char *run_or_file, tg_run **out, char *err, size_t err_len);
void tg_run_free(tg_run *run); /* accepts NULL */
/* The generator's checkpoint file; valid until tg_run_free. */
const char *tg_run_checkpoint(const tg_run *run);

/* One generated piece. */
typedef struct {
    tg_score *score;          /* owned: tg_take_free frees it */
    size_t tokens;            /* its tokens, BOS and EOS included */
    size_t new_tokens;        /* those after the primer */
    size_t repairs;           /* lenient decoding's repairs (0 with the grammar on) */
    double realism;           /* with rerank: the discriminator's mean p(real), else -1 */
    int64_t primer_end_ticks; /* where the primer ends in score's ticks (0: none) */
    /* tg_run_accompany, with rerank > 1 or score_takes: log p(given | written)
     * (accompaniment: the given tracks' tokens with the written tracks placed
     * first; infilling: the bars after the gap, the take in it) and the
     * take's own log p(written | given), in nats, over the tokens counted
     * (the latter only when rerank_weight != 0 or score_takes); else 0 */
    double given_logp, written_logp;
    size_t given_tokens, written_tokens;
    int candidate;            /* with rerank: the candidate kept, 0..rerank-1 (-1: spliced bar by bar) */
    int spliced_from;         /* spliced bar by bar: how many candidates gave a bar (else 0) */
} tg_take;

typedef struct {
    float temperature;       /* 1; 0 = greedy */
    int top_k;               /* 0 = off */
    float top_p;             /* 1 = off; nucleus in (0,1] */
    /* > 0: the temperature of which pitch a note takes, the rest (rhythm,
     * density, when a note comes) at temperature (0 = off: temperature) */
    float pitch_temperature;
    int num;                 /* samples (1) */
    int batch;               /* sequences decoded together (16) */
    int length;              /* new tokens per sample (512); 0: no limit but bars */
    int bars;                /* remi: new bars per sample (0: off) */
    bool grammar;            /* mask what the tokenizer's grammar forbids (true) */
    int keep;                /* tokens kept when the window slides (0: half the context) */
    uint64_t seed;           /* sample i draws from its own stream, seeded from (seed, i) */
    const tg_score *primer;  /* continue this piece (NULL: new pieces); borrowed for the call */
    int primer_bars;         /* keep the primer's first bars (0: all) */
    const char *primer_name; /* its file name in messages (NULL: "the primer") */
    int rerank;              /* > 1: draw this many candidates per sample and keep the one
                                the run's discriminator rates most real (1: off) */
    tg_logger logger;        /* warnings (a sample decoded leniently); none by default */
    /* Each take as soon as its batch is decoded, in order (may be NULL: the
     * takes are stored in the caller's array). The take is handed over: the
     * hook frees it with tg_take_free. Nonzero stops generation. */
    int (*on_take)(void *user, int index, tg_take *take);
    /* After each batch: samples done of num, decoding speed (may be NULL).
     * Nonzero stops generation. */
    int (*on_batch)(void *user, int done, int num, double tok_per_s);
    void *user;              /* handed to both hooks */
} tg_generate_options;

tg_generate_options tg_generate_options_default(void);


typedef struct {
    size_t new_tokens;        /* tokens sampled, over all candidates */
    double seconds, tok_per_s;
    int slides;               /* times the window slid */
    int ended_by_eos, hit_length, hit_bars;
    int primer_bars;          /* bars of the primer kept */
    size_t primer_tokens;     /* its tokens, BOS excluded */
    double primer_sec;        /* its length in seconds */
    int takes;                /* takes handed over (to the array or on_take) */
    /* tg_run_accompany's voice leading (tg_voice_leading): on for these takes,
     * the voices' pitches drawn, drawn again for breaking a rule, and drawn
     * with a rule relaxed (range, crossings, parallels) */
    bool voice_leading;
    size_t voiced, redrawn, relaxed[3];
    size_t held_redrawn;      /* durations drawn again: a voice would cross the held note */
    /* tg_run_accompany's infilling: the bars around the gap the model saw,
     * as many as fit its context with the gap (at most 8 before, 4 after) */
    int bars_before, bars_after;
    /* infilling with a whole-tune (remi) model (left_to_right): it writes
     * hearing every bar before the gap and none after (bars_after 0); with
     * rerank all the bars after choose among the candidates */
    bool left_to_right;
} tg_generate_stats;

/* Generates o->num takes into takes[0..num-1] (the caller frees each with
 * tg_take_free), or hands each to o->on_take (takes may then be NULL).
 * stats (may be NULL) receives the figures. A hook's nonzero answer stops
 * generation with TG_ERR_INTERRUPTED; the takes handed over until then
 * (stats->takes) stay the caller's. On any other failure err says why and no
 * take is left in the array to free. */
tg_status tg_run_generate(tg_run *run, const tg_generate_options *o, tg_take *takes,
                          tg_generate_stats *stats, char *err, size_t err_len);
void tg_take_free(tg_take *take); /* accepts NULL */

/* Any-track generation with a model of the remi-tracks tokenizer (its
 * tracks.tsv names its tracks): write some tracks of a piece given the
 * others (accompaniment: chords for a melody, three voices for a soprano),
 * or write bars bar_first..bar_last again given the bars around them
 * (infilling; with `tracks`, only those tracks of those bars). Each take is
 * the input score itself, its tempo map, meters, track names and given notes
 * untouched, with the written tracks' notes replaced in the bars written or
 * added as new tracks (named and voiced as the model's table says). */
typedef struct {
    tg_generate_options gen;  /* temperature, top_k, top_p, num, batch, keep, seed, rerank, on_take,
                                 user (length, bars, grammar and primer are not used) */
    const tg_score *score;    /* the input; borrowed for the call */
    const char *tracks;       /* tracks to write, by name or slot, comma-separated ("alto,tenor,bass");
                                 NULL: the model's tracks the input lacks (infilling: every track) */
    int bar_first, bar_last;  /* infilling: bars from 1, inclusive; 0: accompaniment of the whole piece */
    int voice_leading;        /* tg_voice_leading (AUTO) */
    /* gen.rerank > 1: draw that many candidates per take (the streams --num
     * would use) and keep the one with the highest
     * given_logp + rerank_weight * written_logp (the model scoring itself,
     * a "noisy channel"; not the discriminator of tg_run_generate's rerank);
     * default 0: given_logp alone, the best rule measured */
    double rerank_weight;
    /* rank by log-likelihoods per token instead: given_logp / given_tokens
     * + rerank_weight * written_logp / written_tokens (a score over 0
     * tokens counts 0); with rerank_weight 1, 16 candidates and the larger
     * Nottingham model, the best rule measured (experiments/any-track) */
    bool rerank_per_token;
    /* how the candidates are ranked (tg_rerank_by; TAKE by default) */
    int rerank_by;
    bool score_takes;         /* score every take (given_logp ...) even without rerank */
} tg_accompany_options;

/* Voice leading while the voices of a four-voice piece are written: a
 * voice's pitch that would make a parallel fifth or octave with a voice
 * known at its onset, cross an adjacent voice, or leave its range is drawn
 * again among the pitches that do not (the model's odds renormalised over
 * them; when none is left, the range is relaxed, then crossings, then
 * parallels). AUTO: STRICT when the output's four tracks are the model's
 * slots named soprano, alto, tenor and bass (in that order), else OFF;
 * STRICT on any other piece is TG_ERR_ARG unless it has exactly four
 * tracks (voices top first, in the model's slot order, SATB ranges). */
typedef enum { TG_VOICE_LEADING_AUTO = 0, TG_VOICE_LEADING_STRICT, TG_VOICE_LEADING_OFF } tg_voice_leading;

/* How accompaniment ranks its candidates (gen.rerank > 1): the best whole
 * candidate, or bar by bar, the take spliced from each bar's best candidate
 * (accompaniment only: TG_ERR_ARG with bar_first). With voice leading, BAR
 * is TG_ERR_ARG (the bars of different candidates could meet in parallels
 * or crossings at the bar line) and BAR_OR_TAKE ranks whole takes. */
typedef enum { TG_RERANK_BY_TAKE = 0, TG_RERANK_BY_BAR, TG_RERANK_BY_BAR_OR_TAKE } tg_rerank_by;

tg_accompany_options tg_accompany_options_default(void);
/* The quality setting (`accompany --quality`, the studio's "closest fit"):
 * the one measured closest to the real chords for a Nottingham melody
 * (experiments/any-track/RESULTS.md, "Reranking bar by bar"): gen.rerank
 * candidates ranked bar by bar (rerank_by; whole takes with voice leading),
 * at the model's own sampling. */
#define TG_ACCOMPANY_QUALITY_RERANK 8
#define TG_ACCOMPANY_QUALITY_BY TG_RERANK_BY_BAR_OR_TAKE
/* As tg_run_generate: o->gen.num takes into takes (or to gen.on_take). */
tg_status tg_run_accompany(tg_run *run, const tg_accompany_options *o, tg_take *takes,
                           tg_generate_stats *stats, char *err, size_t err_len);

/* ------------------------------------------------------------------------ */
/* Build information. */

const char *tg_version(void);
/* A line naming the optional dependencies compiled in, e.g. "openblas openmp". */
const char *tg_build_features(void);

#ifdef __cplusplus
}
#endif
#endif /* TUNEGAN_H */
