/*
 * sample.h: generation policy over the model's cached decoding
 * (model_cache, model_decode in src/model): sampling controls (temperature,
 * top-k, top-p) after the tokenizer's grammar mask; primers; the one batch
 * sampling loop that generation, SeqGAN's negatives and its rollouts share;
 * and the generation loop with a sliding window past the context.
 *
 * Size letters as in src/nn/nn.h: B sequences decoded together, T tokens fed
 * in one call, T_ctx the model's context, C, H, D = C/H, F, L, V.
 *
 * Sliding window: the cache holds at most T_ctx tokens per sequence. When it
 * is full and another token must be fed, the oldest tokens are dropped and
 * the newest `keep` (T_ctx/2 by default) are encoded again from scratch, at
 * positions 0..keep-1, before the new token: exact for the shortened context
 * (the same logits as model_lm_forward on those keep+1 tokens), at the cost
 * of one prefill every T_ctx - keep tokens. A piece's length is therefore not
 * limited by the context; what the model sees is its last keep..T_ctx tokens.
 */
#ifndef TG_SAMPLE_H
#define TG_SAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "tok/tok.h"
#include "tunegan.h"

/* ------------------------------------------------------------------------ */
/* Sampling controls (sampler.c). */

typedef struct {
    float temperature; /* 1; 0 = greedy (argmax, lowest id on ties) */
    int top_k;         /* 0 = off; else keep the k most probable ids */
    float top_p;       /* 1 = off; nucleus in (0,1]: the fewest ids whose mass reaches p */
    /* > 0: the temperature of which pitch a note takes (0 = off: the
     * temperature's). The allowed Pitch ids keep the probability they have at
     * the temperature, as one event, and share it among themselves at this
     * one: a step whose choice is between pitches only (remi after a Program)
     * is drawn at it outright. Needs pitch below; ignored when greedy. */
    float pitch_temperature;
    const uint8_t *pitch; /* V bytes, nonzero for an id that names a new note's
                             pitch (remi's Pitch, perf's NoteOn, grid's Key):
                             sample_generate and sample_fill set it from the
                             tokenizer (NULL: none) */
} sample_params;

sample_params sample_params_default(void);
/* TG_ERR_RANGE with a reason for a negative or non-finite temperature or
 * pitch temperature, top_k < 0, top_p outside (0,1]. */
tg_status sample_params_check(const sample_params *p, char *why, size_t why_size);

/* Bytes of scratch sample_pick needs for a vocabulary of V. */
size_t sample_pick_scratch_bytes(int V);
/* Picks an id from logits (V) among the ids with allowed[id] != 0 (all when
 * allowed is NULL): masked logits count as -inf, then temperature (and the
 * pitch temperature among the pitches), then
 * top-k, then top-p (Holtzman et al., "The Curious Case of Neural Text
 * Degeneration", https://arxiv.org/abs/1904.09751), then one uniform draw
 * from rng (none when greedy). Ties are broken by id, so the result depends
 * only on the inputs and the rng. Returns -1 when no id is allowed.
 * scratch: sample_pick_scratch_bytes(V) bytes. */
int sample_pick(const float *logits, const uint8_t *allowed, int V, const sample_params *p,
                tg_rng *rng, void *scratch);
/* When p asks for a pitch temperature, points p->pitch at a new V-byte mask
 * of the tokenizer's pitch ids, handed to *mask for the caller to free;
 * else *mask is NULL. TG_ERR_NOMEM. */
tg_status sample_params_bind(const tok_tokenizer *tok, sample_params *p, uint8_t **mask);
/* out = logits, except that the probability of the ids with pool[id] != 0
 * goes to id into: out[into] = log(exp(logits[into]) + sum exp(logits[pool]))
 * (at temperature 1: the event counts as one token before the sampling
 * controls) and the pooled ids get -inf. out may not alias logits. */
void sample_pool_logits(const float *logits, const uint8_t *pool, int into, int V, float *out);

/* ------------------------------------------------------------------------ */
/* Primers (primer.c): the opening a sample continues. */

typedef struct {
    tok_seq tokens;       /* BOS and the primer's tokens, no EOS: what is fed first */
    int64_t end_time;     /* where the continuation starts, in the tokenizer's unit
                             (tok_grammar_time) */
    double end_sec;       /* the same in seconds from the primer's start */
    int bars;             /* bars kept (remi: Bar tokens; grid, perf: as asked, 0: all) */
} sample_primer;

/* Tokenizes a primer score, keeping its first `bars` bars (0: all):
 *   remi: the tokens up to the (bars+1)-th Bar token; then a Bar, so the
 *         continuation starts on the next bar line;
 *   grid, perf: notes starting in the first `bars` bars of the primer's own
 *         meter and tempo map are kept, cut at the bar line; then Rests
 *         (grid) or TimeShifts (perf) up to that line.
 * Without a cut, remi ends with the next Bar as above, grid and perf where
 * the encoding ends. TG_ERR_ARG (with why) when the primer has no notes. */
tg_status sample_primer_make(const tok_tokenizer *tok, const tg_score *score, int bars,
                             sample_primer *out, char *why, size_t why_size);
void sample_primer_free(sample_primer *p);

/* A copy of a decoded sample with the primer's timing: remi keeps its ticks
 * and meters, and its tempo map before the primer's end is replaced by the
 * primer's exact one (Tempo tokens are bins); grid and perf (decoded at 120
 * bpm, one tick per ms) move onto the primer's ticks per quarter, tempo map
 * and meters, each note keeping its time in seconds (rounded to the nearest
 * tick; grid: down, so that a note begun on a sample time sounds at it). An
 * SMPTE primer leaves the decoded timing. grid: a key held across the
 * primer's end is split there (a run of equal keys is one note). *end_ticks gets the primer's end
 * in the new score's ticks (for shading it in a piano roll). */
tg_status sample_apply_primer_timing(const tok_tokenizer *tok, const tg_score *primer,
                                     const sample_primer *pr, const tg_score *sample,
                                     tg_score **out, int64_t *end_ticks);

/* ------------------------------------------------------------------------ */
/* The batch-sampling loop (loop.c), shared by generation, SeqGAN's negatives
 * and its rollouts. */

typedef enum { SAMPLE_GO = 0, SAMPLE_STOP = 1 } sample_verdict;

/* The caller's policy. Rows are the caller's sequence indices 0..B-1. */
typedef struct {
    sample_params params;
    /* fills mask (V bytes) with the row's allowed ids and returns it, or
     * returns NULL: every id (the hook may be NULL: every id, every row) */
    const uint8_t *(*allowed)(void *user, int row, uint8_t *mask);
    /* the row's random stream */
    tg_rng *(*rng)(void *user, int row);
    /* the row drew id (-1 when no id was allowed): SAMPLE_GO feeds it next,
     * SAMPLE_STOP ends the row */
    sample_verdict (*took)(void *user, int row, int id);
    void *user;
    bool drop_stopped;  /* stopped rows leave the cache; else they stay and are fed PAD */
    int keep;           /* > 0: keep each row's tokens and slide the window, keeping
                           this many, when the cache is full (needs a prefix) */
    /* may be NULL: the row drew id from the allowed ids; returns NULL to keep
     * it, or fills mask with a narrower set (without id) from which the loop
     * draws once more, from the same logits and stream, and keeps that draw
     * (rejection: the draw is then the distribution renormalised over the
     * narrower set; with top-k or top-p, each draw's own nucleus) */
    const uint8_t *(*recheck)(void *user, int row, int id, uint8_t *mask);
    /* may be NULL: returns an id into which the probability of the ids it
     * sets in mask is pooled before the draw (sample_pool_logits), or -1:
     * none. For a token that stands for several the model may predict (any
     * token that ends a segment, where the plan says which one comes). */
    int (*pooled)(void *user, int row, uint8_t *mask);
} sample_loop;

/* Decodes B rows until every row has stopped. With prefix (B,plen), the
 * cache is emptied and the prefix encoded first; without (NULL), the cache
 * already holds the rows' prefixes and logits (B,V) their next-token logits,
 * and no row may outgrow the context (assertion) unless a window is set.
 * stopped (B, may be NULL): rows that start stopped (only without
 * drop_stopped). *slides (may be NULL) counts the window's slides.
 * TG_ERR_NOMEM. */
tg_status sample_loop_run(model_cache *s, const sample_loop *lp, int B, const int *prefix,
                          int plen, const uint8_t *stopped, float *logits, int *slides);

/* What sample_loop_run needs for batches of up to max_batch rows with a
 * prefix of plen tokens: the cache, the logits (max_batch, V) and the
 * prefixes (max_batch, plen). open gives TG_ERR_NOMEM (or the cache's
 * error) with everything freed; close accepts a half-open one. */
typedef struct {
    model_cache *cache;
    float *logits;
    int *prefixes;
    int max_batch;
} sample_buffers;
tg_status sample_buffers_open(const tg_model *model, int max_batch, size_t plen, sample_buffers *b);
void sample_buffers_close(sample_buffers *b);
/* Sample i's own stream, seeded from (seed, i): the same for a sample
 * whatever the batch it is decoded in. */
void sample_row_seed(tg_rng *rng, uint64_t seed, int i);

/* ------------------------------------------------------------------------ */
/* The generation loop (generate.c). */

/* Voice-leading rules of four voices for fill.c (voicing.c); declared below. */
typedef struct sample_voicing sample_voicing;

typedef struct {
    sample_params params;
    int num;              /* samples (1) */
    int batch;            /* sequences decoded together (16) */
    int length;           /* new tokens per sample (512); 0: no limit but bars */
    int bars;             /* remi: stop before the (bars+1)-th new bar (0: off) */
    bool grammar;         /* mask what the grammar forbids (true) */
    int keep;             /* tokens kept when the window slides (0: T_ctx/2) */
    uint64_t seed;        /* sample i draws from its own stream, seeded from (seed, i) */
    const uint16_t *prefix; /* tokens fed first (BOS and the primer); NULL: BOS alone */
    size_t prefix_len;
    /* called after each batch, when out[0..done-1] are complete; may be NULL.
     * Nonzero stops generation: sample_generate then returns
     * TG_ERR_INTERRUPTED (and frees out, as on any failure). */
    int (*on_batch)(void *user, int done, int num, double tok_per_s);
    void *user;
    const sample_voicing *voicing; /* fill.c: the voices' rules while their pitches are drawn (NULL: off) */
    /* with the grammar on: no meter token is drawn (remi: the prefix's meter
     * goes on, so that written bars line up with a piece's bars), and no EOS
     * (the sample ends at bars or length: the piece goes on after it) */
    bool keep_meter, no_end;
} sample_gen_options;

sample_gen_options sample_gen_options_default(void);

typedef struct {
    size_t new_tokens;    /* tokens sampled, over all samples */
    double seconds;       /* wall time of decoding */
    double tok_per_s;     /* new_tokens / seconds */
    int slides;           /* times the window slid */
    int ended_by_eos;     /* samples that ended with EOS */
    int hit_length;       /* samples stopped by --length */
    int hit_bars;         /* samples stopped by --bars */
    size_t cut_tokens;    /* sampled tokens dropped to end on a boundary */
    /* fill.c with voicing: pitches drawn for the voices, drawn again because
     * the first draw broke a rule, and drawn with a rule relaxed (range,
     * crossings, parallels: each relaxation counts the rules it dropped;
     * crossings also count a duration kept though crossed) */
    size_t voiced, redrawn, relaxed[3];
    size_t held_redrawn;  /* durations drawn again: a voice would cross the note held */
} sample_gen_stats;

/* Generates opt->num samples from the model and writes them to out[0..num-1]
 * (the caller zero-initialises them and frees each with tok_seq_free): each
 * is the prefix, the new tokens, and EOS. With the grammar on, EOS is masked
 * until the sample has a note after the prefix, and a sample that
 * stops before EOS is ended cleanly: tokens after the last point where it
 * could end are dropped and tok_grammar_close's tokens appended, so every
 * sample decodes strictly. TG_ERR_ARG (with err) for bad options, a prefix
 * longer than the context, or a prefix the grammar rejects. */
tg_status sample_generate(const tg_model *model, const tok_tokenizer *tok,
                          const sample_gen_options *opt, tok_seq *out, sample_gen_stats *stats,
                          char *err, size_t err_len);

/* ------------------------------------------------------------------------ */
/* Generation with given tokens (fill.c): any-track generation. */

/* A plan: BOS .. EOS, every token given except where open[i] is set: after
 * token i the model writes (notes' tokens under the grammar) until it picks
 * the plan's token i+1. */
typedef struct {
    const uint16_t *ids;
    const uint8_t *open;
    size_t n;
} sample_plan;

/* Writes opt->num sequences (the caller zero-initialises out and frees each)
 * following the plan: its tokens forced, its open segments sampled with
 * opt->params and the grammar mask, each sequence from its own stream
 * seeded from (opt->seed, i); the window slides past the context (keep).
 * opt's length, bars, grammar and prefix are not used. stats: new_tokens
 * counts the sampled tokens. TG_ERR_GRAMMAR (err) when the plan breaks the
 * grammar. */
tg_status sample_fill(const tg_model *model, const tok_tokenizer *tok, const sample_plan *plan,
                      const sample_gen_options *opt, tok_seq *out, sample_gen_stats *stats, char *err,
                      size_t err_len);

/* ------------------------------------------------------------------------ */
/* Voice leading of four voices (voicing.c): the rules harmony.c counts and
 * fill.c keeps. Voices are numbered top first: 0 soprano .. 3 bass. */

#define SAMPLE_VOICES 4

typedef enum { VOICING_FREE = 0, VOICING_FIFTHS, VOICING_OCTAVES } voicing_parallel;
/* The perfect parallel voices u (upper by voice order) and l make from one
 * 16th to the next (pitches u0 -> u1, l0 -> l1; -1: a rest, never one): both
 * change pitch the same way and (u - l) mod 12 is 7, or 0, at both. */
voicing_parallel voicing_parallel_motion(int u0, int u1, int l0, int l1);
/* Whether the lower of two adjacent voices sounds above the upper (-1: a rest, never). */
bool voicing_crossed(int upper, int lower);
/* Textbook ranges, top voice first: soprano C4-G5, alto G3-D5, tenor C3-G4, bass E2-C4. */
void voicing_ranges_default(int low[SAMPLE_VOICES], int high[SAMPLE_VOICES]);

/* The rules a pitch breaks (bits). */
enum { VOICING_RANGE = 1, VOICING_CROSSING = 2, VOICING_PARALLELS = 4 };

struct sample_voicing {
    int voice_of_slot[TOK_TRACKS_MAX];  /* remi-tracks slot -> voice 0..3, -1: not a voice */
    int low[SAMPLE_VOICES], high[SAMPLE_VOICES]; /* ranges (voicing_ranges_default) */
    bool given[SAMPLE_VOICES];          /* never written: every note is in the plan, known ahead */
};

/* One note of a voice: onset in the tokenizer's steps (for "begun last"),
 * the 16ths [from, to) it covers, its pitch. */
typedef struct {
    int64_t onset, from, to;
    int pitch;
} voicing_note;

/* A row's notes so far, per voice (given and written alike). */
typedef struct {
    const sample_voicing *rules;  /* borrowed */
    int spq;                      /* the tokenizer's steps per quarter */
    voicing_note *notes[SAMPLE_VOICES];
    size_t n[SAMPLE_VOICES], cap[SAMPLE_VOICES];
    int pending_voice, pending_pitch;  /* a Pitch waiting for its Duration */
    int64_t pending_step;
} voicing_row;

void voicing_row_init(voicing_row *r, const sample_voicing *v, int steps_per_quarter);
void voicing_row_free(voicing_row *r);
/* Records token id of a remi-tracks sequence; g is the grammar state before
 * id is fed (it says the slot and the time). Notes are recorded for the
 * given voices when given is set (the whole plan, read ahead), else for the
 * others (the tokens as they come). TG_ERR_NOMEM. */
tg_status voicing_row_feed(voicing_row *r, const tok_grammar *g, int id, bool given);
/* The voice whose segment g is in (-1: none). */
int voicing_voice_at(const voicing_row *r, const tok_grammar *g);
/* flags[p]: the rules (VOICING_* bits) pitch p would break as the next note
 * of the voice g is in, at g's time, against the voices known there; all 0
 * outside a voice. */
void voicing_judge(const voicing_row *r, const tok_grammar *g, uint8_t flags[128]);
/* Whether the note whose Pitch was fed last, held for duration steps, would
 * be crossed by an adjacent voice known there starting a note within it (in
 * the current bar). */
bool voicing_held_crosses(const voicing_row *r, const tok_grammar *g, int duration);
/* The rules kept for a draw among mask's ids: all of them when some other
 * token than a Pitch is allowed (no pitch is forced) or some allowed pitch
 * keeps them; else relaxed in order, the range first, then crossings, then
 * parallels, to the first set some allowed pitch keeps (0: none kept).
 * *other (may be NULL): whether a token other than a Pitch is allowed. */
uint8_t voicing_rules_kept(const tok_tokenizer *tok, const uint8_t *mask, const uint8_t flags[128], bool *other);

#endif /* TG_SAMPLE_H */
