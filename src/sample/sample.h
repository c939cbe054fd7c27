/*
 * sample.h: generation from a trained generator. Incremental decoding with a
 * key/value cache kept apart from the weights (llama2.c's RunState idea), for
 * both relative (Music Transformer) and absolute attention; sampling controls
 * (temperature, top-k, top-p) after the tokenizer's grammar mask; primers; and
 * the batched generation loop with a sliding window past the context.
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
/* The run state: KV cache and activations of incremental decoding
 * (kvcache.c, decode.c). */

typedef struct sample_state sample_state;

/* A run state for a generator: a cache of (L, max_batch, H, T_ctx, D) keys
 * and as many values, and activations for up to max_batch x max_chunk tokens
 * fed in one piece (longer feeds are cut into chunks; 0: 64). The model is
 * borrowed: it must outlive the state and its weights must not change while
 * the cache holds tokens. TG_ERR_ARG for a discriminator or bad sizes,
 * TG_ERR_NOMEM. */
tg_status sample_state_create(const tg_model *model, int max_batch, int max_chunk,
                              sample_state **out);
void sample_state_free(sample_state *s); /* accepts NULL */
/* Empties the cache and sets the number of sequences (1..max_batch) the next
 * feeds carry. */
void sample_state_reset(sample_state *s, int B);
/* Keeps the sequences rows[0..n-1] (increasing indices into the current
 * batch) as sequences 0..n-1, dropping the others from the cache: for
 * batches whose sequences stop at different times. 1 <= n <= B. */
void sample_state_keep_rows(sample_state *s, const int *rows, int n);
/* Tokens per sequence in the cache (0..T_ctx). */
int sample_state_len(const sample_state *s);
int sample_state_batch(const sample_state *s);
/* Bytes of the cache and of the activations. */
size_t sample_state_bytes(const sample_state *s);

/* Feeds tokens (B,T) (row b: the next T tokens of sequence b, ids in [0,V))
 * at positions len..len+T-1, appending their keys and values to the cache,
 * and writes logits (B,V) of the last position when logits is not NULL.
 * Needs len + T <= T_ctx (assertion). Attention of a new token at position i:
 * keys j <= i with logit_ij = (q_i.k_j + q_i.E[j-i]) / sqrt(D) (the relative
 * term only with relative attention; absolute adds wpe[i] to the input). */
void sample_forward(sample_state *s, const int *tokens, int T, float *logits);

/* ------------------------------------------------------------------------ */
/* Sampling controls (sampler.c). */

typedef struct {
    float temperature; /* 1; 0 = greedy (argmax, lowest id on ties) */
    int top_k;         /* 0 = off; else keep the k most probable ids */
    float top_p;       /* 1 = off; nucleus in (0,1]: the fewest ids whose mass reaches p */
} sample_params;

sample_params sample_params_default(void);
/* TG_ERR_RANGE with a reason for a negative or non-finite temperature,
 * top_k < 0, top_p outside (0,1]. */
tg_status sample_params_check(const sample_params *p, char *why, size_t why_size);

/* Bytes of scratch sample_pick needs for a vocabulary of V. */
size_t sample_pick_scratch_bytes(int V);
/* Picks an id from logits (V) among the ids with allowed[id] != 0 (all when
 * allowed is NULL): masked logits count as -inf, then temperature, then
 * top-k, then top-p (Holtzman et al., "The Curious Case of Neural Text
 * Degeneration", https://arxiv.org/abs/1904.09751), then one uniform draw
 * from rng (none when greedy). Ties are broken by id, so the result depends
 * only on the inputs and the rng. Returns -1 when no id is allowed.
 * scratch: sample_pick_scratch_bytes(V) bytes. */
int sample_pick(const float *logits, const uint8_t *allowed, int V, const sample_params *p,
                tg_rng *rng, void *scratch);

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
/* The generation loop (generate.c). */

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
    /* called after each batch; may be NULL */
    void (*on_batch)(void *user, int done, int num, double tok_per_s);
    void *user;
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
/* Branching from a cached prefix (rollout.c), for SeqGAN's rollouts. */

/* dst's cache becomes src's with every sequence repeated `copies` times:
 * src's row b goes to dst's rows b*copies .. b*copies + copies - 1, at the
 * same length, so that the copies continue the prefix without encoding it
 * again. Both states must belong to the same model (assertion) and dst must
 * hold src's batch times copies rows. The logits of the prefix's last token
 * are the caller's to copy. */
void sample_state_fork(sample_state *dst, const sample_state *src, int copies);

/* ------------------------------------------------------------------------ */
/* Internals shared by kvcache.c and decode.c (other code uses the functions
 * above, not these fields). */

struct sample_state {
    const tg_model *model;    /* borrowed */
    const model_params *p;    /* its named weight pointers */
    int C, H, D, F, L, V, T_ctx;
    int R;                    /* relative-table rows (0: absolute attention) */
    int max_batch, max_chunk;
    int B;                    /* sequences in the cache now */
    int len;                  /* tokens per sequence in the cache */
    /* the cache: layer l, sequence b, head h, position t at
     * (((l * max_batch + b) * H + h) * T_ctx + t) * D */
    float *k, *v;
    /* activations of one chunk of n <= max_chunk tokens per sequence */
    float *x;                 /* (B,n,C) residual stream */
    float *ln;                /* (B,n,C) LayerNorm output */
    float *qkv;               /* (B,n,3C) */
    float *atty;              /* (B,n,C) attention output */
    float *tmp;               /* (B,n,C) branch output */
    float *fch;               /* (B,n,F) */
    float *mean, *rstd;       /* (B,n) LayerNorm statistics (not needed, the kernel writes them) */
    float *last;              /* (B,C) final LayerNorm of each sequence's last token */
    float *scores;            /* (B,H,T_ctx) attention logits of one query per (b,h) */
    float *qh;                /* (H,B,D) one query of every sequence, grouped by head */
    float *relsc;             /* (H,B,T_ctx) its relative terms q . E[j - i] */
    int *tokens;              /* (B,n) the chunk's tokens */
    size_t cache_bytes, act_bytes;
};

#endif /* TG_SAMPLE_H */
