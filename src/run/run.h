/*
 * run.h: a trained run as one object: its generator, the tokenizer it was
 * trained with, its checkpoint's metadata and, for an adversarial run, its
 * discriminator. Opened once, from a run folder or a checkpoint file, by the
 * command line, training, the tools and any front end; the public face is
 * tg_run in include/tunegan.h (open, generate or continue a primer, then
 * tg_midi_write_file), this header adds what the programs of the project
 * need besides (the model and tokenizer themselves, realism scores).
 *
 * The checkpoint names its tokenizer in its metadata ("tokenizer", the
 * config string of tok.h); this is the one place that reads it.
 */
#ifndef TG_RUN_H
#define TG_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "sample/sample.h"
#include "tok/tok.h"
#include "tunegan.h"

/* ------------------------------------------------------------------------ */
/* Opening (run.c) */

typedef struct {
    int max_batch;        /* rows of the generator's training-shaped passes (1: sampling only) */
    bool need_tokenizer;  /* a checkpoint naming no tokenizer is an error (else tok is NULL) */
} run_open_options;

run_open_options run_open_options_default(void);

/* Opens the generator of a run folder (its model.safetensors) or of a
 * checkpoint file, and makes its tokenizer. On failure err says what is
 * wrong, starting with the checkpoint's path: missing or damaged file, a
 * discriminator where a generator is needed, an unknown tokenizer, a
 * vocabulary that is not the tokenizer's. */
tg_status run_open(const char *run_or_file, const run_open_options *o, tg_run **out, char *err,
                   size_t err_len);

/* Borrowed: valid until tg_run_free. */
tg_model *run_generator(const tg_run *run);
tok_tokenizer *run_tokenizer(const tg_run *run);          /* NULL: the checkpoint names none */
const char *run_tokenizer_spec(const tg_run *run);         /* "" when none */
/* Hands the generator over to the caller (who frees it with model_free);
 * the run keeps its tokenizer and metadata. */
tg_model *run_release_generator(tg_run *run);

/* Tokenizer config strings that mean the same tokenizer (defaults spelt out
 * or not). */
bool run_same_tokenizer(const char *a, const char *b);

/* ------------------------------------------------------------------------ */
/* The discriminator of an adversarial run (realism.c) */

/* Loads the discriminator beside the run's generator (disc.safetensors of
 * the run folder, or the file's neighbour) for batches of up to max_batch
 * windows. TG_ERR_NOT_FOUND when the run has none ("... has no
 * discriminator ..."); TG_ERR_FORMAT when it is not one of `tunegan train`
 * or its tokenizer is not the generator's. */
tg_status run_load_disc(tg_run *run, int max_batch, char *err, size_t err_len);
/* The same for a folder or file that need not hold a generator (`score`). */
tg_status run_open_disc(const char *run_or_file, int max_batch, tg_run **out, char *err,
                        size_t err_len);
tg_model *run_discriminator(const tg_run *run); /* NULL until loaded */

/* The discriminator's probability "real" of a token sequence (BOS first)
 * over consecutive windows of its length, each given BOS (as in training). */
typedef struct {
    double mean, min, max, first; /* over the windows; first: the opening's */
    int windows;
} run_realism;

/* TG_ERR_ARG when the sequence has no token after BOS, TG_ERR_NOMEM. */
tg_status run_realism_of(const tg_run *run, const uint16_t *ids, size_t n, run_realism *out);

/* ------------------------------------------------------------------------ */
/* A model's sampling defaults (sampling.c): sampling.tsv beside its
 * checkpoint, lines "key<TAB>value" ('#' comments), keys temperature,
 * pitch_temperature and top_p, e.g. "temperature<TAB>0.95". */

#define RUN_MAX_RERANK 1000 /* candidates per take of accompany and infill */

typedef struct {
    bool has_temperature, has_top_p, has_pitch_temperature, has_rerank, has_rerank_bars;
    double temperature, top_p;   /* 1.0 when not given */
    double pitch_temperature;    /* 0 (off) when not given */
    int rerank;                  /* accompany's candidates per take (1 when not given) */
    bool rerank_bars;            /* accompany ranks them bar by bar (false when not given) */
    char path[4200];             /* the file looked for */
} run_sampling;

/* TG_OK with nothing set when the file is missing; TG_ERR_FORMAT (err names
 * the file and line) for an unknown key or a bad value, TG_ERR_IO when it
 * cannot be read. */
tg_status run_sampling_read(const char *checkpoint, run_sampling *out, char *err, size_t err_len);
/* The path of name in the checkpoint's folder. */
void run_beside(const char *checkpoint, const char *name, char *out, size_t n);

/* ------------------------------------------------------------------------ */
/* Any-track models (accompany.c): the table of slots beside the checkpoint,
 * tracks.tsv, lines "slot<TAB>name<TAB>program" ('#' comments), e.g.
 * "0<TAB>melody<TAB>0". */

typedef struct {
    int n;                                /* slots 0..n-1 */
    char name[TOK_TRACKS_MAX][64];
    int program[TOK_TRACKS_MAX];          /* 0..127, 128 drums */
} run_slots;

/* TG_ERR_NOT_FOUND (err names the file) when the model has no table. */
tg_status run_slots_read(const tg_run *run, run_slots *out, char *err, size_t err_len);
/* The same from a checkpoint's path (its tracks.tsv beside it). */
tg_status run_slots_read_file(const char *checkpoint, run_slots *out, char *err, size_t err_len);

/* The bundled any-track model that fits a piece (`tunegan accompany` and
 * `infill` without --model, `tunegan serve`): four voices or voice names
 * (soprano, alto, tenor, bass; or three tracks or more) take
 * models_dir/accompany-chorales, one or two tracks accompany-nottingham.
 * TG_ERR_ARG past four tracks with notes, TG_ERR_NOT_FOUND when the model
 * file is missing; err says which. */
typedef struct {
    char path[4200];  /* models_dir/accompany-X/model.safetensors */
    int tracks;       /* the piece's tracks with notes */
    int voices;       /* of them, named as voices */
} run_accompany_pick;

tg_status run_pick_accompany(const tg_score *s, const char *models_dir, run_accompany_pick *out, char *err,
                             size_t err_len);
/* The bundled model that infills bars from bar_first (from 1) of a piece
 * (`tunegan infill` without --model, the studio's infill): a piece of
 * melody and chords on one instrument (two tracks of one program, or one
 * track that holds chords) with bars before the gap and no tracks named
 * takes the whole-tune model, models_dir/default
 * (it writes every track left to right and brings phrases back:
 * experiments/any-track/RESULTS.md); an opening (bar_first 1: nothing before
 * it to hear), any other piece, or named tracks, the any-track model
 * run_pick_accompany picks, which hears the bars after. whole_tune says
 * which; the errors are run_pick_accompany's. */
typedef struct {
    run_accompany_pick pick;
    bool whole_tune;
} run_infill_pick;

tg_status run_pick_infill(const tg_score *s, const char *models_dir, int bar_first, bool tracks_named,
                          run_infill_pick *out, char *err, size_t err_len);
/* The slot of a name (any case) or of a number; -1 when none. */
int run_slot_by_name(const run_slots *sl, const char *name);

/* ------------------------------------------------------------------------ */
/* Any-track takes scored by the model itself (channel.c): `accompany
 * --rerank`, `infill --rerank`. */

/* What a candidate is scored against: the plan it followed, the slots given
 * and written, and whether it fills a gap (infilling). */
typedef struct {
    const sample_plan *plan;
    uint32_t given, targets;
    bool gap;
    /* infilling: the piece in canonical order, its gap (bars from 0) and the
     * bars after it the channel scores */
    const tok_seq *canon;
    int gap_first, gap_bars, after_bars;
    bool direct;        /* score log p(written | given) too (else 0 over 0 tokens) */
} run_channel_task;

typedef struct {
    double channel;         /* log p(given | written), nats (infilling: the bars after the gap) */
    double direct;          /* log p(written | given): the tokens the model drew in the plan */
    size_t channel_tokens, direct_tokens;
} run_channel_score;

/* mask[i] = 1 for the tokens of ids (a sequence sample_fill wrote following
 * plan) that the model drew: inside open segments, and the plan's token that
 * closed each. */
void run_written_mask(const tok_tokenizer *tok, const sample_plan *plan, const uint16_t *ids, size_t n,
                      uint8_t *mask);
/* Sum of log p(ids[i] | ids[..i]) over the i with mask[i] (windows of the
 * context, a new one every half context, each token once), and their count;
 * each (n floats, or NULL): every token's own, 0 where not scored.
 * TG_ERR_NOMEM. */
tg_status run_logp_masked(tg_model *m, const uint16_t *ids, size_t n, const uint8_t *mask, double *sum,
                          size_t *count, float *each);
/* The sequence the channel scores, and its mask: accompaniment: the
 * candidate with the written slots first in every bar, the given slots'
 * tokens scored; infilling: the whole piece with the candidate's bars in
 * place of the gap's, the after_bars bars after it scored. */
tg_status run_channel_sequence(const tok_tokenizer *tok, const run_channel_task *t, const tok_seq *cand,
                               tok_seq *out, uint8_t **mask, char *why, size_t why_len);
/* A candidate's scores bar by bar (arrays of n_bars, the caller's): bar k
 * holds the scored tokens after the k-th Bar up to and including the next
 * Bar or EOS (the token that closes its last segment), in the candidate for
 * direct and in the channel's sequence for channel. */
typedef struct {
    int n_bars;
    double *channel, *direct;
    size_t *channel_tokens, *direct_tokens;
} run_bar_scores;
/* A candidate's scores; with by (accompaniment), also bar by bar. */
tg_status run_channel_score_of(tg_model *m, const tok_tokenizer *tok, const run_channel_task *t,
                               const tok_seq *cand, run_channel_score *out, run_bar_scores *by, char *err,
                               size_t err_len);
/* Reranking bar by bar (splice.c): the per candidates of one take, each
 * scored bar by bar and ranked as run_channel_rank ranks a candidate; out
 * (a new sequence) takes each bar from a candidate, the sum of the bars'
 * ranks the largest among the choices that change candidate only at bar
 * lines no written note of either is held over. score: the sums of the
 * chosen bars' scores, in the candidates they came from; used: how many
 * candidates gave a bar. Accompaniment only (no gap). */
tg_status run_splice_bars(tg_model *m, const tok_tokenizer *tok, const run_channel_task *ct, const tok_seq *cands,
                          int per, double weight, bool per_token, tok_seq *out, run_channel_score *score,
                          int *used, char *err, size_t err_len);
/* A candidate's rank (higher is better): channel + weight * direct, or
 * with per_token each over its tokens (0 over 0 tokens). */
double run_channel_rank(const run_channel_score *s, double weight, bool per_token);

/* ------------------------------------------------------------------------ */
/* Infilling with a whole-tune (left-to-right remi or remi-compact) model
 * (infill.c): tg_run_accompany with bars on such a run. */

/* Whether the run's model infills left to right (its tokenizer is remi or
 * remi-compact). */
bool run_infills_forward(const tg_run *run);
/* tg_run_accompany's infilling for such a run, after its checks of the
 * input and of rerank: every track of bars bar_first..bar_last written from
 * every bar before them, the best of gen.rerank candidates by log p(the
 * bars after | the take). TG_ERR_ARG for tracks (any-track models only),
 * bars past the piece, or bars before the gap longer than the context. */
tg_status run_infill_forward(tg_run *run, const tg_accompany_options *o, tg_take *takes, tg_generate_stats *stats,
                             char *err, size_t err_len);

/* ------------------------------------------------------------------------ */
/* Internals shared by the files of src/run. */

/* A track's program, 128 for drums (as the tokenizers and tracks.tsv count). */
int run_track_program(const tg_track *tr);
/* Ticks of a step on a score of tpq ticks per quarter (spq steps a quarter). */
int64_t run_step_ticks(int64_t step, int tpq, int spq);
/* A channel for a new track of s: want if free, else the first free one
 * (not 9); 0 when none is. */
int run_free_channel(const tg_score *s, int want);

/* tg_run_accompany's checks of rerank, num and rerank_weight. */
tg_status run_check_rerank(const tg_accompany_options *o, char *err, size_t err_len);
/* Whether a written note may join s without disturbing the notes there:
 * false when a note of its channel and pitch sounds at its start; else its
 * end is moved to the next such onset. */
bool run_settle_note(const tg_score *s, tg_note *g);

struct tg_run {
    char *arg;            /* what the user named: a run folder or a checkpoint */
    char *path;           /* the generator's checkpoint */
    tg_model *gen;        /* NULL for a run opened for its discriminator alone */
    model_meta *meta;     /* the generator's (else the discriminator's) metadata */
    tok_tokenizer *tok;
    tg_model *disc;       /* after run_load_disc */
};

/* A run with arg and path set, nothing loaded. */
tg_status run_alloc(const char *arg, tg_run **out);
/* The tokenizer a checkpoint names in its metadata; *tok NULL without an
 * error when it names none and need is false. err starts with path. */
tg_status run_tokenizer_from_meta(const char *path, const model_meta *meta, bool need,
                                  tok_tokenizer **tok, char *err, size_t err_len);

#endif /* TG_RUN_H */
