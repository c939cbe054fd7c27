/*
 * eval.h: the evaluation suite. Sets of pieces (a folder of MIDI files or a
 * corpus split, each piece as tokens and as the score its tokens decode to)
 * and the metrics `tunegan eval` prints:
 *
 *   set.c         loading sets; every piece goes through the tokenizer, so
 *                 both sides of a comparison are seen at the same resolution
 *   bleu.c        BLEU as NLTK's corpus_bleu, Texygen's mean sentence BLEU
 *                 and self-BLEU, with n-gram count tables (hashing)
 *   musstats.c    per-piece statistics as MusPy defines them, and their mean
 *                 and spread over a set
 *   zipf.c        SeqGAN's music MSE read through Manaris et al. 2007's Zipf
 *                 metrics, and a plain pitch MSE beside it
 *   overlap.c     Yang & Lerch 2020: intra-/inter-set distances of seven
 *                 features, Gaussian KDE, overlapping area, KL divergence
 *   likelihood.c  strided NLL of a generator on a corpus split
 *   structure.c   Museformer's bar-similarity profile and similarity error,
 *                 the rate of 4-bar windows copied from training pieces, and
 *                 the share of distinct 4-bar windows within a set
 *   harmony.c     harmonic fit of a melody on its accompaniment, and the
 *                 voice leading of four-voice scores (issue 20)
 *   critic.c      a fresh critic: logistic regression on token n-grams,
 *                 cross-validated accuracy (Wilson interval) and AUC of
 *                 telling real pieces from sampled ones
 *
 * Each file's opening comment gives its definitions exactly; DESIGN.md
 * names the papers. Nothing here prints: messages go to the logger.
 */
#ifndef TG_EVAL_H
#define TG_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "data/data.h"
#include "model/model.h"
#include "tok/tok.h"
#include "tunegan.h"

/* ------------------------------------------------------------------------ */
/* Sets of pieces (set.c). */

typedef struct {
    char *name;         /* file path, or "CORPUS:split/relative path" */
    uint16_t *ids;      /* tokens as encoded, BOS..EOS */
    size_t n_ids;
    tg_score *score;    /* the score the tokens decode to (lenient decoding) */
    tg_score *source;   /* the MIDI file as read, tracks intact (folders only; NULL for
                           corpus pieces): what harmony.c measures when present */
} eval_piece;

typedef struct eval_set {
    eval_piece *pieces;
    size_t n, cap;
    size_t files_found;     /* MIDI files found (folders) or pieces listed (corpora) */
    size_t skipped;         /* unreadable, untokenizable or empty files, each logged */
    size_t transposed;      /* corpus pieces left out because they are transposed copies */
    size_t repairs;         /* lenient-decoding repairs over the set */
} eval_set;

/* Reads every .mid/.midi under dir (recursively, sorted by path). A file that
 * cannot be read, holds no note or cannot be tokenized is skipped and named
 * through the logger ("skipped PATH: why"). ERR_NOT_FOUND for a missing
 * folder; an empty result is not an error here (the caller says so). */
tg_status eval_set_from_dir(const char *dir, const tok_tokenizer *tok, const tg_logger *logger,
                            eval_set *set);
/* The pieces of one split of a corpus, leaving out transposed copies. tok
 * must be the corpus's tokenizer. */
tg_status eval_set_from_corpus(const data_corpus *c, const char *corpus_name, int split,
                               const tok_tokenizer *tok, const tg_logger *logger, eval_set *set);
/* Adds one piece from its tokens (copied); the score is decoded leniently. */
tg_status eval_set_add_tokens(eval_set *set, const char *name, const uint16_t *ids, size_t n,
                              const tok_tokenizer *tok, const tg_logger *logger);
void eval_set_free(eval_set *set);

/* A token sequence, borrowed. */
typedef struct {
    const uint16_t *ids;
    size_t n;
} eval_seq;

/* The sequences BLEU sees: each piece's tokens without BOS, EOS and PAD, cut
 * into consecutive segments of segment tokens when segment > 0 (the last,
 * shorter one kept when it has at least one token; SeqGAN's music data were
 * sequences of 32). *seqs is malloc'ed and points into the set. */
tg_status eval_set_sequences(const eval_set *set, int segment, eval_seq **seqs, size_t *n);

/* ------------------------------------------------------------------------ */
/* BLEU (bleu.c). */

#define EVAL_BLEU_MAX_N 4

typedef struct {
    double bleu;                 /* NLTK corpus_bleu, uniform weights 1/max_n, method1 */
    double bleu_sentence_mean;   /* mean over hypotheses of NLTK sentence_bleu (Texygen's BLEU) */
    uint64_t matches[EVAL_BLEU_MAX_N];  /* clipped n-gram matches, summed over hypotheses */
    uint64_t totals[EVAL_BLEU_MAX_N];   /* sum over hypotheses of max(1, n-grams) */
    uint64_t hyp_len, ref_len;   /* summed lengths, and closest reference lengths */
    double brevity_penalty;
} eval_bleu_result;

/* Every hypothesis against the same references (all of refs). max_n 1..4.
 * ERR_ARG when there is no hypothesis or no reference. */
tg_status eval_bleu(const eval_seq *hyps, size_t n_hyps, const eval_seq *refs, size_t n_refs,
                    int max_n, eval_bleu_result *out);
/* Texygen's self-BLEU: the mean over i of sentence_bleu(seqs without i, seqs[i])
 * (method1); out->bleu holds the corpus BLEU of the same pairs. Needs n >= 2. */
tg_status eval_self_bleu(const eval_seq *seqs, size_t n, int max_n, eval_bleu_result *out);

/* ------------------------------------------------------------------------ */
/* Music statistics per piece (musstats.c), as MusPy defines them. */

typedef enum {
    EVAL_PITCH_RANGE,
    EVAL_N_PITCHES_USED,
    EVAL_N_PITCH_CLASSES_USED,
    EVAL_POLYPHONY,
    EVAL_POLYPHONY_RATE,
    EVAL_SCALE_CONSISTENCY,
    EVAL_PITCH_ENTROPY,
    EVAL_PITCH_CLASS_ENTROPY,
    EVAL_EMPTY_BEAT_RATE,
    EVAL_GROOVE_CONSISTENCY,
    EVAL_N_STATS
} eval_stat_id;

/* MusPy's name of a statistic ("pitch_range", ...). */
const char *eval_stat_name(int id);
/* Every statistic of one score; NaN where MusPy returns NaN (no note, too
 * short). ERR_NOMEM only. */
tg_status eval_music_stats(const tg_score *score, double out[EVAL_N_STATS]);

/* Mean and spread of a value over a set, NaNs left out. */
typedef struct {
    double mean, sd;    /* sd: sample standard deviation (n - 1); 0 for one value */
    size_t n;           /* values that were not NaN */
} eval_summary;

eval_summary eval_summarize(const double *values, size_t n, size_t stride);

/* ------------------------------------------------------------------------ */
/* Zipf metrics and SeqGAN's MSE (zipf.c). */

#define EVAL_ZIPF_ATTRS 7
#define EVAL_ZIPF_DIMS (2 * EVAL_ZIPF_ATTRS)

/* "pitch", "pitch_class", "duration", ... */
const char *eval_zipf_attr_name(int attr);
/* Slope and R^2 of each attribute's rank-frequency distribution: v[2a] the
 * slope, v[2a+1] the R^2. */
tg_status eval_zipf_vector(const tg_score *score, double v[EVAL_ZIPF_DIMS]);
/* Least-squares line through (log10 rank, log10 frequency) of counts (any
 * order; zeros ignored): the slope and R^2 (both 0 with fewer than two
 * nonzero counts; R^2 1 when all counts are equal). */
void eval_zipf_fit(const uint64_t *counts, size_t n, double *slope, double *r2);

typedef struct {
    double zipf_mse;          /* the set-mean reading (zipf.c) */
    double zipf_mse_nearest;  /* the per-piece nearest reading */
    double pitch_mse;         /* plain pitch MSE (zipf.c) */
} eval_mse_result;

tg_status eval_mse(const eval_set *gen, const eval_set *ref, eval_mse_result *out);

/* The melody the pitch MSE compares: the highest non-drum pitch at each
 * onset, in onset order, at most max_n values. Returns how many were written. */
size_t eval_melody(const tg_score *score, int *pitches, size_t max_n);

/* ------------------------------------------------------------------------ */
/* Distribution overlap (overlap.c), Yang & Lerch 2020. */

typedef enum {
    EVAL_F_PITCH_COUNT,
    EVAL_F_PITCH_CLASS_HIST,
    EVAL_F_PITCH_RANGE,
    EVAL_F_AVG_PITCH_INTERVAL,
    EVAL_F_NOTE_COUNT,
    EVAL_F_AVG_IOI,
    EVAL_F_NOTE_LENGTH_HIST,
    EVAL_N_FEATURES
} eval_feature_id;

#define EVAL_FEATURE_MAX_DIM 12

const char *eval_feature_name(int id);
int eval_feature_dim(int id);
/* The features of one score: feature f occupies out[f][0..dim-1]. */
void eval_features(const tg_score *score, double out[EVAL_N_FEATURES][EVAL_FEATURE_MAX_DIM]);

typedef struct {
    double oa;        /* overlapping area of the reference's intra-set PDF and the inter-set PDF */
    double kld;       /* KL(reference intra-set || inter-set) */
    double oa_intra;  /* overlapping area of the two intra-set PDFs (1 for identical sets) */
    double intra_gen_mean, intra_ref_mean, inter_mean; /* mean distances */
} eval_overlap_result;

/* For every feature; NaN where a set has fewer than two pieces. */
tg_status eval_overlap(const eval_set *gen, const eval_set *ref,
                       eval_overlap_result out[EVAL_N_FEATURES]);

/* Gaussian KDE with Scott's bandwidth, evaluated on a grid (exposed for
 * tests). pdf[g] at x0 + g*dx for g < n_grid. binned: linear binning of the
 * data onto the grid first (fast for many points), else the exact sum. */
typedef struct {
    double bandwidth;  /* the kernel's standard deviation */
    double lo, hi;     /* data range */
} eval_kde_info;

tg_status eval_kde(const double *x, size_t n, double x0, double dx, size_t n_grid, bool binned,
                   double *pdf, eval_kde_info *info);
/* Overlapping area and KL(A || B) of two samples' KDEs on a common grid that
 * covers both data ranges widened by four bandwidths (2048 points). */
tg_status eval_oa_kld(const double *a, size_t na, const double *b, size_t nb, double *oa,
                      double *kld);

/* ------------------------------------------------------------------------ */
/* Likelihood (likelihood.c). */

typedef struct {
    double nll;           /* mean NLL per token, nats */
    double perplexity;    /* exp(nll) */
    uint64_t tokens;      /* targets scored: every token of every piece but its BOS */
    uint64_t windows;     /* forward rows run */
    int stride, context;
} eval_nll_result;

/* Mean NLL of a generator on a split, each token scored once: windows of the
 * model's context T start every stride tokens; the first window of a piece
 * scores all its targets, each later one only the targets past the previous
 * window's end, so a token gets at least T - stride tokens of context (all it
 * can have when stride is 1). stride == T gives train_eval_nll's consecutive
 * windows. progress (may be NULL) is called after each batch. */
tg_status eval_nll(tg_model *m, const data_corpus *c, int split, int stride, eval_nll_result *out,
                   void (*progress)(void *user, uint64_t done, uint64_t total), void *user);
/* Number of windows eval_nll runs for a split and stride. */
uint64_t eval_nll_window_count(const data_corpus *c, int split, int T, int stride);

/* ------------------------------------------------------------------------ */
/* Structure (structure.c): bar similarity (Museformer, Yu et al. 2022) and
 * verbatim copies. */

#define EVAL_SIM_MAX_D 64

typedef struct {
    int max_distance;      /* D: the profile covers d = 1..D (16) */
    int max_bars;          /* only the first N bars of each piece (32; 0: all) */
    int steps_per_quarter; /* grid of onsets and durations (12: remi's) */
    int window_bars;       /* bars per window of the copy rate (4) */
} eval_structure_config;

eval_structure_config eval_structure_config_default(void);

typedef struct {
    int max_distance;
    double sim[EVAL_SIM_MAX_D + 1];        /* [d], d = 1..D: mean similarity over every pair of the
                                              set at distance d; NaN when there is none */
    double piece_mean[EVAL_SIM_MAX_D + 1]; /* [d]: mean over pieces of each piece's mean */
    uint64_t pairs[EVAL_SIM_MAX_D + 1];  /* pairs counted (both-empty pairs left out) */
    size_t pieces[EVAL_SIM_MAX_D + 1];   /* pieces with at least one pair at d */
    uint64_t bars;                       /* bars seen over the set */
} eval_bar_profile;

/* The bar-similarity profile of a set (structure.c gives the definitions). */
tg_status eval_bar_similarity(const eval_set *set, const eval_structure_config *cfg, eval_bar_profile *out);
/* Mean over d = 1..D of |a->sim[d] - b->sim[d]| (the d where both are
 * defined; NaN when none is). */
double eval_similarity_error(const eval_bar_profile *a, const eval_bar_profile *b);

typedef struct {
    double rate;              /* copied / windows; NaN without a window */
    uint64_t windows;         /* the samples' windows holding a note */
    uint64_t copied;          /* of these, found note for note in a training piece */
    uint64_t train_windows;   /* the training pieces' windows holding a note */
    size_t pieces_with_copy;  /* samples with at least one copied window */
} eval_copy_result;

/* The fraction of the samples' windows of cfg->window_bars bars (every start
 * bar within the first cfg->max_bars) found in train (whole pieces). */
tg_status eval_copy_rate(const eval_set *samples, const eval_set *train, const eval_structure_config *cfg,
                         eval_copy_result *out);

/* ------------------------------------------------------------------------ */
/* Harmony and voice leading (harmony.c gives the definitions). */

typedef struct {
    uint64_t onsets;  /* melody notes */
    uint64_t silent;  /* of these, onsets where no accompaniment note sounds (left out) */
    uint64_t fits;    /* onsets whose pitch class sounds in the accompaniment */
} eval_fit_counts;

/* Harmonic fit of one score. melody_track >= 0: that track is the melody and
 * the other non-drum tracks the accompaniment; -1: the top line of all
 * non-drum tracks is the melody. ERR_ARG for a track the score lacks. */
tg_status eval_harmonic_fit(const tg_score *score, int melody_track, eval_fit_counts *out);

#define EVAL_VOICES 4

/* Each voice's lowest and highest pitch, top voice first (MIDI pitches). */
typedef struct {
    int low[EVAL_VOICES], high[EVAL_VOICES];
} eval_voice_ranges;

/* Soprano 60-79 (C4-G5), alto 55-74 (G3-D5), tenor 48-67 (C3-G4), bass
 * 40-60 (E2-C4). */
eval_voice_ranges eval_voice_ranges_default(void);

typedef struct {
    double beats;            /* quarter notes, tick 0 to the last note's end */
    uint64_t notes;
    uint64_t fifths, octaves;            /* parallel motion, all six pairs */
    uint64_t crossings;                  /* crossed steps of adjacent voices where one starts a note */
    uint64_t crossings_begun;            /* steps where a crossing of adjacent voices begins */
    uint64_t out_of_range[EVAL_VOICES];  /* notes outside their voice's range */
} eval_voice_counts;

/* True when the score has metrical time and exactly four non-drum tracks
 * holding notes (the voices, top first). */
bool eval_is_four_voices(const tg_score *score);
/* Voice leading of a four-voice score on a 16th-note grid. ERR_ARG when the
 * score is not four voices (eval_is_four_voices), ERR_RANGE past 2^24 steps. */
tg_status eval_voice_leading(const tg_score *score, const eval_voice_ranges *ranges, eval_voice_counts *out);

/* The score harmony.c measures: the source when the piece has one, else the
 * decoded score. */
const tg_score *eval_piece_source(const eval_piece *p);

typedef struct {
    size_t pieces;           /* pieces measured */
    size_t skipped;          /* pieces without the melody track asked for */
    eval_fit_counts counts;  /* summed over the pieces */
    double fit;              /* fits / (onsets - silent), pooled; NaN without onsets */
    double silent_share;     /* silent / onsets */
    eval_summary piece_fit;  /* each piece's own rate: mean and spread */
} eval_harmony_result;

tg_status eval_harmony_set(const eval_set *set, int melody_track, eval_harmony_result *out);

typedef struct {
    size_t pieces;            /* four-voice pieces measured */
    size_t skipped;           /* pieces that are not four voices (or past the grid's 2^24 steps) */
    eval_voice_counts counts; /* summed */
    double fifths, octaves, crossings, crossings_begun, out_of_range; /* per 100 beats, pooled */
} eval_voice_result;

tg_status eval_voice_set(const eval_set *set, const eval_voice_ranges *ranges, eval_voice_result *out);

/* The share of distinct windows of cfg->window_bars bars among all the
 * windows (holding a note, every start bar within the first cfg->max_bars)
 * of a set's pieces: 1 when no window repeats, within a piece or across
 * pieces; a diversity measure beside self-BLEU. */
typedef struct {
    double share;         /* distinct / windows; NaN without a window */
    uint64_t windows, distinct;
} eval_distinct_result;

tg_status eval_distinct_windows(const eval_set *set, const eval_structure_config *cfg,
                                eval_distinct_result *out);

/* ------------------------------------------------------------------------ */
/* A fresh critic (critic.c): logistic regression on hashed token n-grams,
 * trained afresh to tell real pieces from sampled ones, scored by k-fold
 * cross-validation; 50 % accuracy: the sets cannot be told apart. */

typedef struct {
    int max_n;         /* n-grams of 1..max_n tokens (4) */
    int hash_bits;     /* 2^bits feature buckets (18) */
    int folds;         /* cross-validation folds (5) */
    int steps;         /* full-batch gradient steps per fold (300) */
    double lr;         /* step size, momentum 0.9 (4) */
    double l2;         /* weight decay of the loss, l2/2 |w|^2 (1e-4) */
    bool match_bars;   /* cut real piece i to sampled piece i's bar count (true) */
    int bar_id;        /* the tokenizer's Bar token; -1: no bars (no matching) */
    uint64_t seed;     /* the balancing subsample and the pairing (1) */
    bool paired;       /* real[i] and fake[i] are twins (an accompaniment or infill of the same
                        * piece: they share notes): one shuffle for both, each pair in one
                        * fold; needs nr == nf (false) */
} eval_critic_config;

eval_critic_config eval_critic_config_default(void);

typedef struct {
    size_t per_class;          /* items of each class after balancing */
    size_t n, correct;         /* held-out guesses (every item once) and right ones */
    double accuracy, acc_lo, acc_hi;  /* Wilson 95 % interval */
    double auc, auc_lo, auc_hi;       /* Hanley-McNeil 95 % interval */
    double train_accuracy;     /* mean over folds, on the folds trained on */
    double real_bars, fake_bars;  /* mean bars per item after matching (NaN without bars) */
} eval_critic_result;

/* real and fake: content tokens (eval_set_sequences), borrowed. ERR_ARG for
 * a bad config or fewer items per class than folds; ERR_NOMEM. */
tg_status eval_critic(const eval_seq *real, size_t nr, const eval_seq *fake, size_t nf,
                      const eval_critic_config *cfg, eval_critic_result *out);
/* What gives the pieces away: the critic trained on every balanced item (no
 * held-out part), its k largest weights (tells of real pieces) and k
 * smallest (tells of sampled ones), each bucket named by the n-gram that
 * falls in it most often; n-grams that always occur together (the same
 * counts in both sets, tokens in common: one fact) are shown once, by the
 * shortest, with the group's strongest weight. tells:
 * room for 2k; *n_real of them first, in order, then *n_fake (nonzero
 * weights only). ERR_ARG as eval_critic, or k
 * outside 1..EVAL_MAX_TELLS, or max_n above EVAL_TELL_MAX_N. */
#define EVAL_MAX_TELLS 64
#define EVAL_TELL_MAX_N 8
typedef struct {
    double weight;                   /* > 0: reads as real; < 0: as sampled */
    int n;                           /* the n-gram's tokens (0: no item has one in the bucket) */
    uint16_t ids[EVAL_TELL_MAX_N];   /* the bucket's most frequent n-gram */
    size_t real_count, fake_count;   /* its occurrences in the real and the sampled items */
    double share;                    /* of the bucket's occurrences (below 1: hash collisions) */
} eval_critic_tell;
tg_status eval_critic_tells(const eval_seq *real, size_t nr, const eval_seq *fake, size_t nf,
                            const eval_critic_config *cfg, int k, eval_critic_tell *tells, int *n_real,
                            int *n_fake);
/* The critic as a reward (src/train/critic_reward.c). eval_critic_fit trains
 * on all n items (labels y: 1 real, 0 sampled; no balancing, no folds) into
 * w (2^hash_bits floats) and *b, as each fold of eval_critic is trained;
 * z_before and z_after (n each, either may be NULL) get every item's logit
 * under the weights as they came and as fitted.
 * eval_critic_logit is the logit of one piece; eval_critic_prefix_logits
 * z[p] that of every prefix s[0..p] (p < s->n) in one pass, the n-grams
 * ending at p joining the counts and the norm as p grows: the same numbers
 * up to rounding (test_critic checks). counts: 2^hash_bits zeros, given
 * back zero. ERR_ARG for a bad config or no item; ERR_NOMEM. */
tg_status eval_critic_fit(const eval_seq *items, const float *y, size_t n, const eval_critic_config *cfg,
                          float *w, double *b, double *z_before, double *z_after);
tg_status eval_critic_logit(const float *w, double b, const eval_critic_config *cfg, const eval_seq *s, double *z);
void eval_critic_prefix_logits(const float *w, double b, const eval_critic_config *cfg, const eval_seq *s, double *z,
                               uint32_t *counts);
/* Bar tokens in a sequence; the sequence cut before its (bars+1)-th Bar. */
size_t eval_count_bars(const eval_seq *s, int bar_id);
eval_seq eval_crop_bars(eval_seq s, int bar_id, size_t bars);
/* Bars first..last (from 1) of a sequence: from the Bar that opens bar first
 * (the sequence's start when first is 1, as eval_crop_bars keeps it) to
 * the one that opens bar last + 1; empty (n 0) when it has fewer than first
 * bars. */
eval_seq eval_crop_bar_range(eval_seq s, int bar_id, size_t first, size_t last);
/* Wilson's 95 % interval of k successes in n trials (NaN for n = 0). */
void eval_wilson(size_t k, size_t n, double *lo, double *hi);
/* Area under the ROC curve of scores z against labels y (1 positive), ties
 * counted half; NaN when a class is missing or memory runs out. */
double eval_auc(const double *z, const float *y, size_t n);

#endif /* TG_EVAL_H */
