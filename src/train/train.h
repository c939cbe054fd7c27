/*
 * train.h: training the generator by maximum likelihood (mle.c) on a corpus,
 * with evaluation on the valid split, checkpoints in a run folder, a JSON
 * log, and bit-exact resumption.
 *
 * A run folder holds:
 *   model.safetensors      weights; metadata: model config, tokenizer, step, seed
 *   optimizer.safetensors  AdamW moments; metadata: step, RNG states, options
 *   log.jsonl              one JSON object per line:
 *     {"step":S,"phase":"mle","loss":L,"lr":X,"grad_norm":G,"tok_per_s":R}
 *       (with several MPI ranks also "comm_ms": the step's time in allreduce)
 *     {"step":S,"phase":"eval","val_nll":N,"val_tokens":K}
 * All three are written under temporary names and renamed.
 *
 * Randomness: three tg_rng streams derived from the seed (init, batches,
 * dropout); their states go into the optimizer file so that a resumed run
 * draws exactly what an uninterrupted one would.
 */
#ifndef TG_TRAIN_H
#define TG_TRAIN_H

#include <signal.h>
#include <stdbool.h>

#include "data/data.h"
#include "eval/eval.h"
#include "model/model.h"
#include "nn/nn.h"
#include "sample/sample.h"

typedef struct {
    const char *corpus_path;
    const char *run_dir;
    model_config model;      /* vocab_size is taken from the corpus */
    int batch;               /* sequences per step (16) */
    int steps;               /* total optimizer steps of the run (2000) */
    float lr;                /* peak learning rate (3e-4) */
    float lr_min_ratio;      /* floor of the cosine decay, as a fraction of lr (0.1) */
    int warmup;              /* warm-up steps (100) */
    float weight_decay;      /* AdamW decoupled weight decay (0.1) */
    float beta1, beta2;      /* (0.9, 0.95) */
    float clip;              /* global gradient-norm clip, <= 0 off (1.0) */
    int eval_every;          /* steps between validation passes and checkpoints (250) */
    int eval_max_windows;    /* 0: the whole valid split */
    uint64_t seed;
    bool resume;             /* continue from run_dir's checkpoint */
    int stop_at;             /* > 0: stop after this step, as if interrupted (checkpoint saved) */
    const char *init_from;   /* NULL, or a checkpoint whose weights start the run */
    tg_logger logger;
    /* called after every step with the step just done (1-based) */
    void (*on_step)(void *user, int step, int steps, float loss, float tok_per_s);
    /* called after every evaluation */
    void (*on_eval)(void *user, int step, double val_nll);
    void *user;
    volatile sig_atomic_t *stop; /* set (e.g. by SIGINT) to save and stop after the current step */
    struct dist_ctx *dist;   /* NULL (one process) or data-parallel ranks (dist.h; see mle.c) */
} train_options;

train_options train_options_default(void);

typedef struct {
    int first_step;          /* 1, or one past the resumed step */
    int last_step;           /* the last step done */
    double final_loss;       /* mean training loss over the last 50 steps */
    double val_nll;          /* the last evaluation (NAN when none) */
    double unigram_nll;      /* NLL of the training split's unigram distribution on valid */
    double tok_per_s;        /* median over the run's steps */
    bool interrupted;        /* stopped by opt->stop or stop_at */
    size_t params, arena_bytes;
} train_report;

/* Runs (or resumes) maximum-likelihood training. err gets a sentence for the
 * user on failure. */
tg_status train_mle(const train_options *opt, train_report *rep, char *err, size_t err_len);

/* Opens the corpus of a training run and checks what both trainers need: a
 * batch of at least one row per rank, and training pieces. err names the
 * file. */
tg_status train_open_corpus(const char *path, int batch, int ranks, data_corpus **corpus, char *err,
                            size_t err_len);

/* Mean NLL per token (nats) of the model on a split, over consecutive windows
 * of the model's context (each token scored once); *n_tokens gets the count.
 * max_windows 0: all. */
tg_status train_eval_nll(tg_model *m, const data_corpus *c, int split, int max_windows,
                         double *nll, uint64_t *n_tokens);

/* NLL on a split of the unigram distribution of the training split (add-one
 * smoothed), the baseline a model must beat. */
double train_unigram_nll(const data_corpus *c, int split);

/* ------------------------------------------------------------------------ */
/* Adversarial training (disc.c, reward.c, seqgan.c): SeqGAN (Yu et al. 2017,
 * https://arxiv.org/abs/1609.05473) with a Transformer discriminator (TTS-GAN,
 * Li et al. 2021). The generator G starts from a pretrain run (--init); the
 * discriminator D is pre-trained on negatives sampled from G against real
 * sequences, then each round does g_steps policy-gradient updates of G and
 * d_steps of fresh negatives with d_epochs epochs of D training each, and
 * moves the rollout policy towards G: theta_roll <- r theta_roll + (1-r) theta_G.
 *
 * Sequences: x[0] = BOS, x[1..T] (T = seq_len <= G's context) sampled from
 * G's softmax at temperature 1 WITHOUT the grammar mask (the policy whose
 * gradient is taken is the model's own distribution; D learns to punish what
 * the grammar would forbid). A sequence ends at EOS: its length is the EOS's
 * index e (D sees x[1..e], EOS included), else T; later tokens are PAD and
 * have no target. Real sequences are the openings of training pieces (BOS and
 * the next T tokens), so real and generated sequences both start at a
 * piece's beginning: a window cut from a piece's middle would differ from
 * every sample in where it starts, and D would learn that instead of music.
 *
 * Reward: Q[b,t] is the value of the prefix x[1..t] (t = 1..T):
 *   rollout:  D's probability "real" of the finished sequence at t = len, and
 *             for a shorter prefix the mean over N Monte-Carlo completions by
 *             the rollout policy (branched from the prefix's cache); with
 *             rollout_every K only t = K, 2K, ... are estimated and every
 *             other t takes the next estimate after it (the finished
 *             sequence's value past the last multiple of K);
 *   dense:    a causal discriminator (the generator's architecture with
 *             the vocabulary head read as a classifier: p(real at t) =
 *             sigmoid(z_PAD - z_BOS) of the logits at position t, trained by
 *             cross-entropy with target PAD for real and BOS for generated
 *             sequences at every position) scores every prefix at once;
 *   constant: Q = 0.5 everywhere (the control: with the mean baseline the
 *             advantage is zero and only the KL, entropy and MLE terms act);
 *   bar:      the dense D read at the last token of every bar (the token
 *             before each Bar token of the corpus's tokenizer, and the EOS
 *             or the last token), given to every token of that bar, so that
 *             D can reward a bar for how it follows the bars before it
 *             (a repeated phrase where real tunes repeat one);
 *   random:   the control of the same variance: the dense D's values,
 *             permuted over the batch's positions (rng_rollout's stream,
 *             which the dense D leaves unused), then treated as dense;
 *   critic:   no Transformer D: the fresh critic of src/eval/critic.c
 *             (logistic regression on hashed n-grams of 1-4 tokens, unit
 *             norm), refitted from zero weights on every d-step's set of
 *             d_samples real openings and as many fresh samples, gives
 *             every prefix its p(real) = sigmoid(logit of the prefix's
 *             n-grams), treated as dense. A critic sees the distribution
 *             (how often a held chord comes) where a per-bar D rewards each
 *             bar alone, and what G overdoes becomes the next fit's tell;
 *             D's options (--disc-*, --lr-d, --d-epochs, --d-band,
 *             --label-smooth) do not apply. disc.safetensors and
 *             disc_optimizer.safetensors give way to critic.safetensors
 *             (weights, bias; experiments/gan/RESULTS.md). Unfitted (before
 *             the first d-step, as with --d-pretrain 0) its weights are zero
 *             and every value 0.5: the constant reward until it is fitted.
 *             With --critic-memory N the fit also reads the N latest
 *             generated sequences (each g-step's batch, when sampled at
 *             temperature 1, and the earlier d-steps' negatives) against
 *             as many more real openings: hundreds of whole tunes a fit
 *             without sampling them anew (a fit needs hundreds to see what
 *             whole tunes give away; experiments/gan/RESULTS.md). The
 *             memory goes into critic.safetensors;
 *   critic-random: its control, the critic's values permuted as random's.
 * Returns (returns.c; every reward but rollout): r = p (--reward-shaping
 * prob, the default), 2p - 1 (centered, ScratchGAN's) or p - the batch's
 * mean value (zero-mean: over the values that become rewards, every
 * token's or every bar's last; a sequence's return then carries no reward
 * for its length: with a negative mean, as 2p - 1 has against a D that wins,
 * an early EOS cuts the sum of negative rewards and is learnt as good; the
 * random control collapsed to one-token sequences that way,
 * experiments/gan/RESULTS.md), and with
 * --discount gamma the return of a token is sum_{s>=t} gamma^(s-t) r_s over
 * the tokens (dense, random, constant) or over the bars (bar: bar k's
 * return sum_{j>=k} gamma^(j-k) r_j); gamma 0 leaves r. These returns take
 * Q's place below. The discriminator's attention is --disc-attention
 * (relative, absolute, or fc for the causal D: bar attention over seq_len
 * tokens, whose padding after EOS it reads as one-token bars).
 * Update (REINFORCE with a baseline): with logp = log pi(x_t | x_<t),
 * logq the frozen MLE model's, b_t the batch mean of Q[.,t] over the
 * sequences still running at t (--baseline batch), or its moving average
 * per position (--baseline ema, decay --baseline-decay, adv_ema_baseline),
 *   A[b,t] = (Q[b,t] - b_t) - kl * (logp - logq) - entropy * logp
 * and the surrogate loss sum A * (-logp) / n (A held constant). With
 * --ppo-epochs K > 1 each batch of samples makes K updates, the gradient
 * being that of -sum min(rho A, clip(rho, 1-eps, 1+eps) A) / n with rho =
 * pi/pi_old (--ppo-clip eps; 0: no clip), pi_old the sampling policy's
 * probabilities, stored by the batch's first update (where rho = 1, so that
 * update is REINFORCE's bit for bit); the KL and entropy terms of A are
 * taken at the current policy in every epoch. K = 1 is REINFORCE.
 * D's training: --label-smooth s makes its targets 1-s and s; --d-band
 * LO,HI measures D's accuracy on each fresh set before training on it:
 * above HI the set trains nothing, below LO up to d_epochs more epochs run
 * until an epoch's accuracy reaches LO (the disc line then carries
 * "acc_fresh" and "epochs"). The KL and
 * entropy terms are the score-function estimates on the sampled token, whose
 * expectations are the gradients of the per-position KL(pi || pi_MLE) and
 * entropy (states held fixed); the log reports the exact per-position values
 * from the logits. mle_mix teacher-forced steps on real windows follow each
 * policy-gradient step (same optimizer).
 *
 * A run folder (RUN_DIR) holds:
 *   model.safetensors            G (so `generate --model RUN_DIR` works)
 *   disc.safetensors             D (metadata "reward": rollout or dense)
 *   rollout.safetensors          the rollout policy
 *   reference.safetensors        the frozen MLE generator (a copy of --init)
 *   optimizer.safetensors        G's AdamW moments, RNG states, the phase
 *                                cursor, the log's length, and with
 *                                --baseline ema the moving average
 *                                ("baseline_ema"); PPO's old log-probs
 *                                live for one batch and are not saved
 *   disc_optimizer.safetensors   D's AdamW moments
 *   critic.safetensors           with --reward critic(-random), in place of
 *                                both: the critic's weights and bias
 *   log.jsonl                    lines with "phase": "disc" (d_loss, d_acc),
 *                                "adv" (reward_mean, pg_loss, kl, entropy),
 *                                "mle" (loss of a mixed-in MLE step), "eval"
 *                                (val_nll)
 * A checkpoint is written after every phase (D pre-training; each round's
 * g-phase; each round's d-phase with the rollout update), every file with the
 * same "cursor", as one unit: the folder RUN_DIR/checkpoints/phase-NNNNNNN
 * (NNNNNNN the cursor) committed by a rename, whose files are then linked
 * into RUN_DIR (src/train/ckpt.h); --resume continues from the newest
 * complete one bit for bit (the log is cut back to its length at that
 * checkpoint), or starts over when a kill came before the first.
 *
 * Data parallel (opt->dist with N > 1 ranks, dist.h; seqgan_dist.c):
 * every rank draws the same sequences from the same streams (G's samples,
 * real openings, shuffles, MLE windows), so each holds the whole batch; the
 * costly parts are cut by rows, rank r taking rows r*n/N .. (r+1)*n/N - 1
 * of a batch of n: the rollouts and their D scores (Q gathered on every
 * rank), the policy-gradient and MLE forward and backward passes, and each
 * of D's minibatches. Gradients are summed with MPI_Allreduce, weighted so
 * the sum is one process's gradient, and every rank applies the same update.
 * Each rollout draws from a stream of its own (reward.c), so N ranks give one
 * process's weights up to the summation order (tests/test_mpi.sh measures
 * the difference); dropout, where a model has it, draws per rank and step
 * (repeatable for a given N only). Rank 0 alone reads and writes the run
 * folder and evaluates; the log's adv, mle and disc lines then carry
 * "comm_ms", the time of that step in collectives.
 */

typedef enum {
    ADV_REWARD_ROLLOUT = 0,
    ADV_REWARD_DENSE = 1,
    ADV_REWARD_CONSTANT = 2,
    ADV_REWARD_BAR = 3,      /* the dense D read at the end of every bar (returns.c) */
    ADV_REWARD_RANDOM = 4,   /* the dense D's values shuffled over the batch (control) */
    ADV_REWARD_CRITIC = 5,   /* the n-gram critic, refitted every d-step (critic_reward.c) */
    ADV_REWARD_CRITIC_RANDOM = 6, /* the critic's values shuffled over the batch (its control) */
} adv_reward;

/* Whether a reward uses the dense (causal) discriminator: dense, bar, random. */
bool adv_reward_dense_d(adv_reward r);
/* Whether it uses the n-gram critic instead of a Transformer D: critic,
 * critic-random. */
bool adv_reward_critic(adv_reward r);

/* Shaping of a D value p into a reward (returns.c): p itself, or ScratchGAN's
 * 2p - 1. */
typedef enum { ADV_SHAPE_PROB = 0, ADV_SHAPE_CENTERED = 1, ADV_SHAPE_ZERO_MEAN = 2 } adv_shaping;
/* The baseline of the advantage: the batch mean of the return at each
 * position (SeqGAN's, the default), or a moving average of it per position
 * (ScratchGAN's): b_t <- decay b_t + (1 - decay) (batch mean at t), the
 * advantage taking b_t before the batch's own update, the first batch its
 * own mean. */
typedef enum { ADV_BASELINE_BATCH = 0, ADV_BASELINE_EMA = 1 } adv_baseline;

/* "rollout", "dense", "constant", "bar", "random", "critic",
 * "critic-random"; parse gives TG_ERR_ARG
 * for another name. */
const char *adv_reward_name(adv_reward r);
tg_status adv_reward_parse(const char *name, adv_reward *r);

typedef struct {
    const char *corpus_path;
    const char *run_dir;
    const char *init_path;   /* pretrain run folder or its model.safetensors (fresh runs) */
    int rounds;              /* adversarial rounds (10) */
    int g_steps;             /* policy-gradient updates per round (1, as SeqGAN) */
    int d_steps;             /* fresh negative sets per round (5) */
    int d_epochs;            /* epochs over each set (3) */
    int d_pretrain;          /* d-steps of D pre-training before round 1 (10) */
    int d_samples;           /* negatives (and as many real sequences) per d-step (64) */
    int critic_memory;       /* --reward critic(-random): the critic also fits on the latest N generated
                              * sequences (g-step batches sampled at temperature 1, earlier d-steps'
                              * negatives) against as many more real openings (0: none) */
    int rollouts;            /* N Monte-Carlo rollouts per prefix (16) */
    float rollout_update;    /* r (0.8) */
    int rollout_every;       /* K (1) */
    float kl;                /* KL penalty weight (0.1) */
    float entropy;           /* entropy bonus weight (0) */
    int mle_mix;             /* teacher-forced MLE steps after each policy step (0) */
    adv_reward reward;
    adv_shaping shaping;     /* r = p (default) or 2p - 1 */
    float discount;          /* gamma of the returns (0: none, today's values) */
    adv_baseline baseline;   /* batch (default) or ema */
    float baseline_decay;    /* the ema's decay (0.9) */
    int ppo_epochs;          /* updates of G per batch of samples (1) */
    float ppo_clip;          /* epsilon of the clipped ratio (0: no clip) */
    float explore_temperature; /* T in (0,1] of the g-step's samples q_T (1: G's own softmax);
                              * D's negatives and the rollouts' completions stay at 1 */
    float is_clip;           /* C > 0: the importance weights pi/q_T are truncated at C (5) */
    float d_band_lo, d_band_hi; /* D's accuracy band (0, 1: off) */
    float label_smooth;      /* D's targets 1-s (real) and s (generated) (0) */
    model_config disc;       /* D's size (a preset) and attention; kind, vocab, context set by the run */
    bool disc_from_generator; /* a causal D starts as a copy of the generator (its shape and weights;
                                 disc's dropout); the preset and attention of disc are then unused */
    int batch;               /* sequences per G and D step (16) */
    int seq_len;             /* T (32); <= G's context */
    float lr_g, lr_d;        /* (1e-5, 1e-4), constant */
    float clip;              /* gradient-norm clip for both (1.0) */
    int eval_max_windows;    /* validation windows per eval (64; 0: all) */
    uint64_t seed;
    bool resume;
    int stop_after;          /* > 0: stop after this many phases of the run (tests) */
    tg_logger logger;
    /* called with every log line written (no newline) */
    void (*on_log)(void *user, const char *line);
    void *user;
    volatile sig_atomic_t *stop; /* set to stop at the next checkpoint */
    struct dist_ctx *dist;   /* NULL (one process) or data-parallel ranks (see above) */
} adv_options;

adv_options adv_options_default(void);

typedef struct {
    int rounds_done;
    int phases_done, phases_total;
    double d_acc, d_loss;    /* the last disc line */
    double reward_mean;      /* the last adv line */
    double val_nll_init, val_nll; /* before the first round, after the last */
    bool interrupted;
} adv_report;

/* The n-gram critic as D (critic_reward.c). */
typedef struct {
    eval_critic_config cfg;  /* eval's defaults: n-grams of 1..4 tokens, 2^18 buckets */
    float *w;                /* 2^hash_bits weights */
    double b;
    bool fitted;             /* false until the first d-step */
    uint32_t *counts;        /* work of the prefix logits (zeros) */
    uint16_t *ids;           /* (T) a row's content */
    double *z;               /* (T) its prefix logits */
    /* --critic-memory: the latest generated sequences, kept for the next fits */
    int memory;              /* capacity (0: none) */
    int ld;                  /* T + 1 */
    int *mem_x, *mem_lens;   /* (memory, ld), (memory): a ring */
    int mem_count, mem_next; /* rows held, the slot the next one takes */
} adv_critic;
/* A critic for sequences of T tokens after BOS that remembers up to memory
 * generated ones (0: none). ERR_NOMEM. */
tg_status adv_critic_create(int T, int memory, adv_critic **out);
void adv_critic_free(adv_critic *c);
size_t adv_critic_weights(const adv_critic *c);
/* The d-step's fit on x (M, ld) with lengths and labels (1 real, 0
 * sampled): *fresh_acc the accuracy of the weights before it on the first
 * fresh items (the new ones; NaN before the first fit), then the weights
 * refitted from zero on all M, *train_acc theirs on them. ERR_NOMEM. */
tg_status adv_critic_fit(adv_critic *c, const int *x, int ld, const int *lens, const float *labels, int M,
                         int fresh, double *fresh_acc, double *train_acc);
/* Keeps the n generated rows of x (n, ld) with their lengths, the oldest
 * making way once the memory is full; nothing without a memory. */
void adv_critic_remember(adv_critic *c, const int *x, const int *lens, int n);
/* The rows remembered, oldest first, into x (mem_count, ld) and lens;
 * returns how many. */
int adv_critic_recall(const adv_critic *c, int *x, int *lens);
/* Q (B, T) of every prefix of x (B, T+1), as adv_dense_values: token t's
 * value is p(real) of the content (EOS and PAD left out) up to it. */
void adv_critic_values(adv_critic *c, const int *x, const int *lens, int B, int T, float *Q);
/* The critic as a safetensors file (critic.weight; metadata "bias" in a
 * hex float, "fitted", and the caller's, "cursor" among them; with a
 * memory, memory.tokens (memory, ld) and memory.lengths, metadata
 * "memory_count" and "memory_next"), and back; err names the file. */
tg_status adv_critic_save(const adv_critic *c, const char *path, const st_meta *meta, size_t n_meta);
tg_status adv_critic_load(adv_critic *c, const char *path, int *cursor, char *err, size_t err_len);

/* Runs (or resumes) adversarial training; err gets a sentence on failure. */
tg_status train_adv(const adv_options *opt, adv_report *rep, char *err, size_t err_len);

/* --- pieces, exposed for tests and for `score` / `generate --rerank` --- */

/* Lengths (B) of sequences x (B, ld) with x[b*ld] = BOS: the index of the
 * first EOS in x[b*ld+1 .. b*ld+T], else T. */
void adv_lengths(const int *x, int ld, int B, int T, int *lengths);

/* Samples B sequences x (B, T+1) from a generator: x[.,0] = BOS, then T
 * tokens from its softmax (temperature 1, no grammar mask) drawn from rng in
 * row order; PAD after EOS. state: a run state of the model with >= B rows;
 * logits: (B,V) floats of room. TG_ERR_NOMEM. */
tg_status adv_sample(model_cache *state, int B, int T, int *x, tg_rng *rng, float *logits);
/* adv_sample from the tempered softmax q_T = softmax(logits / temperature)
 * (temperature > 0; 1 is adv_sample, bit for bit): the g-step's cold
 * exploration (--explore-temperature). */
tg_status adv_sample_tempered(model_cache *state, int B, int T, float temperature, int *x, tg_rng *rng,
                              float *logits);
/* Completes rows x (R, T+1) from column t0 to T through the batch-sampling
 * loop, the cache holding their first t0 tokens and logits (R,V) those of the
 * next: temperature 1, no grammar; PAD after EOS and in the rows that start
 * done (done (R) may be NULL). Row r draws from rngs[r], or all rows from rng
 * in row order when rngs is NULL. TG_ERR_NOMEM. */
tg_status adv_complete(model_cache *s, int R, int T, int t0, int *x, const uint8_t *done,
                       tg_rng *rng, tg_rng *rngs, float *logits);

/* D's probabilities "real" (B) of sequences x (B, ld) with x[.,0] = BOS and
 * lengths (B), D seeing x[.,1..T]: the pooled head of a discriminator, or
 * the last position's p(real) of a dense one. Any B: fed in chunks of D's
 * batch. tmp: >= max_batch * T ints. */
void adv_disc_probs(tg_model *D, const int *x, int ld, const int *lengths, int B, int T,
                    float *probs, int *tmp);
/* The dense reward: Q (B, T) of every prefix of x (B, T+1) by a dense D in
 * one pass, Q[b*T + t-1] = p(real) at position min(t, lengths[b]) (the
 * finished sequence's value past its end; an fc D reads the padding as
 * adv_disc_fill_padding says); B <= D's batch. tmp: B*T ints. */
void adv_dense_values(tg_model *D, const int *x, const int *lengths, int B, int T, float *Q, int *tmp);

/* One D update on (B) sequences with labels (1 real, 0 generated): loss and
 * accuracy (p > 0.5 against the label) of the batch before the update. */
typedef struct {
    float lr, clip, weight_decay;
    int step;                /* AdamW step, 1-based */
} adv_opt_step;
float adv_disc_update(tg_model *D, const int *x, int ld, const int *lengths, const float *labels,
                      int B, int T, tg_rng *dropout_rng, const adv_opt_step *os, float *acc,
                      int *tmp);
/* Gradient-norm clip and AdamW step of an update (betas 0.9, 0.999);
 * returns the gradient norm before clipping. */
float adv_opt_apply(tg_model *m, const adv_opt_step *os);
/* D's gradients (replacing them) of the mean loss of the whole batch x (B,
 * ld) taken from its rows lo..hi-1 only (none when hi <= lo), so that the
 * sum over a partition of the rows is the gradient of adv_disc_update. Sets
 * sums[0] = the rows' loss times their count, sums[1] = the count (rows for
 * the pooled D, targets for the dense one), sums[2] = correct guesses.
 * Labels other than 0 and 1 (--label-smooth) are soft targets: the pooled
 * D's BCE takes them as they are, the dense D's cross-entropy goes towards
 * y PAD + (1-y) BOS. work: (hi-lo)*T floats (dense D; NULL when lo = 0, hi
 * = B and every label is 0 or 1); tmp: 2*(hi-lo)*T ints. */
void adv_disc_grad(tg_model *D, const int *x, int ld, const int *lengths, const float *labels, int B,
                   int T, int lo, int hi, tg_rng *dropout_rng, float *work, int *tmp, double sums[3]);

/* The value Q (B, T) of every prefix (Q[b*T + t-1] for prefix x[1..t]) of
 * sequences x (B, T+1) by rollouts: prefix is a run state of the rollout
 * policy (>= B rows), branch one of the same model with >= B*N rows, D the
 * discriminator. Draws one u64 from rng per call; the completion c of row b
 * after prefix t draws from its own stream seeded from that draw, t, b and
 * c. TG_ERR_NOMEM. */
typedef struct {
    model_cache *prefix, *branch;
    tg_model *D;
    int N, K;
    tg_rng *rng;
    int copy_prefix; /* 1: copy the prefix's cache per completion (model_cache_fork, the
                      * old way; bench/rollouts.c's baseline); 0: read it in place (the same values) */
} adv_rollout_ctx;
tg_status adv_rollout_values(adv_rollout_ctx *ctx, const int *x, const int *lengths, int B, int T,
                             float *Q);
/* The same for rows row0 .. row0+B-1 of a larger batch (x, lengths and Q
 * point at row row0): they get the values they would get in the whole
 * batch, whoever computes the other rows. B may be 0 (the draw is made). */
tg_status adv_rollout_rows(adv_rollout_ctx *ctx, const int *x, const int *lengths, int B, int T, int row0,
                           float *Q);

/* Advantages into dlosses (B,T) for model_lm_backward_weighted, from the
 * values Q (B,T), the losses of G (-logp) and of the reference (-logq; NULL
 * when kl is 0), and lengths (positions t <= lengths[b] count); returns the
 * surrogate loss sum(dlosses * losses). */
float adv_pg_weights(float *dlosses, const float *Q, const float *loss_g, const float *loss_ref,
                     const int *lengths, int B, int T, float kl, float entropy);

/* One policy-gradient update of G on sequences x (B, T+1) with values Q:
 * forward (no dropout), weights, backward, clip, AdamW. ref may be NULL
 * (kl 0). Writes the surrogate loss, the mean exact KL(pi||pi_ref) and
 * entropy per position (kl_out 0 without ref). TG_ERR_NOMEM. tmp: >= 2*B*T
 * ints. */
tg_status adv_pg_update(tg_model *G, tg_model *ref, const int *x, const int *lengths, const float *Q,
                   int B, int T, float kl, float entropy, const adv_opt_step *os, float *pg_loss,
                   float *kl_out, float *entropy_out, int *tmp);

/* Sums of a policy-gradient shard that ranks add up. */
typedef struct {
    double surrogate;        /* sum of dlosses * losses */
    double kl, entropy;      /* sums of the exact per-position values */
    double positions;        /* positions counted */
} adv_pg_sums;
/* Adds to G's gradients the surrogate's gradient from rows lo..hi-1 of the
 * batch x (B, T+1) with values Q (B,T) and lengths (B): the baseline and the
 * normalisation come from the whole batch, so the sum over a partition of
 * the rows is the whole batch's gradient. Forward passes of G and ref (may
 * be NULL) without dropout. sums: the rows' parts. work: 2*(hi-lo)*T
 * floats; tmp: 2*(hi-lo)*T ints. */
void adv_pg_backward(tg_model *G, tg_model *ref, const int *x, const int *lengths, const float *Q, int B,
                     int T, int lo, int hi, float kl, float entropy, float *work, int *tmp,
                     adv_pg_sums *sums);
/* The surrogate loss and mean KL and entropy per position from summed parts. */
void adv_pg_means(const adv_pg_sums *sums, float *pg_loss, float *kl_out, float *entropy_out);

/* --- returns.c: rewards, returns, baselines and PPO's clipped ratio --- */

const char *adv_shaping_name(adv_shaping s);      /* "prob", "centered", "zero-mean" */
tg_status adv_shaping_parse(const char *name, adv_shaping *s);
const char *adv_baseline_name(adv_baseline b);    /* "batch", "ema" */
tg_status adv_baseline_parse(const char *name, adv_baseline *b);

typedef struct {
    int per_bar;             /* 1: one reward per bar (--reward bar), else per token */
    adv_shaping shaping;
    float discount;          /* gamma in [0,1] */
    int bar_id;              /* the tokenizer's Bar id (per bar) */
} adv_return_opts;
/* Returns R (B,T) of sequences x (B, ld) (x[.,0] = BOS) from the values Q
 * (B,T) of a causal D (Q[b*T+t-1]: p(real) of the prefix x[1..t]), counted
 * for t <= lengths[b]:
 *   per token: r_t = shape(Q_t), R_t = sum_{s=t..len} gamma^(s-t) r_s
 *              (zero-mean: shape(Q_t) = Q_t - the mean of the counted Q);
 *   per bar:   a bar runs from a Bar token (or x[1]) to the token before the
 *              next Bar token (or x[len], the EOS when there is one); its
 *              reward r_k = shape(Q at its last token) (zero-mean: less the
 *              mean of every bar's last Q in the batch), its return R_k =
 *              sum_{j>=k} gamma^(j-k) r_j, given to every token of the bar.
 * Positions past the length get Q (per token) or the last return (per bar),
 * which no weight reads. With gamma 0 and shaping prob, per token R = Q
 * bit for bit. */
void adv_returns(float *R, const float *Q, const int *x, int ld, const int *lengths, int B, int T,
                 const adv_return_opts *o);
/* The random-reward control: permutes the values of the counted positions
 * (t <= lengths[b]) of Q (B,T) among themselves (Fisher-Yates from rng), so
 * that their mean and variance are the dense D's. idx: B*T ints of room. */
void adv_shuffle_values(float *Q, const int *lengths, int B, int T, tg_rng *rng, int *idx);
/* The batch mean base (T) of R (B,T) at each position over the sequences
 * still running there (0 where none); count (T, may be NULL) their number. */
void adv_batch_baseline(const float *R, const int *lengths, int B, int T, double *base, int *count);
/* The moving-average baseline: base (T) gets ema (T) before this batch
 * (the batch mean on the first, *ema_set false), then ema_t <- decay ema_t +
 * (1-decay) mean_t at the positions some sequence reaches. count: T ints. */
void adv_ema_baseline(double *ema, bool *ema_set, const float *R, const int *lengths, int B, int T, float decay,
                      double *base, int *count);

/* The extras of a policy-gradient update beyond adv_pg_backward. */
typedef struct {
    const double *base;      /* (T) the baseline, or NULL: the batch mean of Q (adv_pg_weights') */
    float *loss_old;         /* (B,T) -log pi_old of the batch, or NULL: REINFORCE (no ratio) */
    int store_old;           /* 1: this (first) update stores its rows' losses into loss_old */
    float clip;              /* epsilon > 0: PPO's clip of the ratio, 0: none */
    double clipped;          /* out: tokens of the rows whose gradient the clip removed */
    /* ColdGANs' cold exploration: the batch was drawn from q_T = softmax(logits / T) */
    float *loss_q;           /* (B,T) -log q_T of the sampled tokens, or NULL: drawn from pi */
    float temperature;       /* T; with store_old this update fills loss_q from G's logits */
    float is_clip;           /* C > 0: the weight pi/q_T is truncated at C */
    double w_sum, w_max;     /* out: the rows' weights pi/q_T (before truncation): sum, max */
    double truncated;        /* out: tokens whose weight was truncated at C */
} adv_pg_extra;
/* adv_pg_weights for rows lo..hi-1 with a baseline and PPO's ratio: with
 * rho = pi / pi_old = exp(loss_old - loss), the weight of a counted token's
 * loss is A rho / n (the gradient of -min(rho A, clip(rho, 1-eps, 1+eps) A)
 * / n with A held), or 0 where the clip is active (A > 0 and rho > 1+eps,
 * or A < 0 and rho < 1-eps). Without loss_old the weight is A / n, exactly
 * adv_pg_weights'; with rho 1 (the first update of a batch) too. Returns the
 * rows' sum of dlosses * losses. */
double adv_pg_weights_ex(float *dlosses, const float *Q, const float *loss_g, const float *loss_ref,
                         const int *lengths, int B, int T, int lo, int hi, float kl, float entropy,
                         adv_pg_extra *ex);
/* With loss_q (ColdGANs, Scialom et al. 2020, https://arxiv.org/abs/2006.04643):
 * each counted token also weighs w = min(pi / q_T, C), pi / q_T = exp(loss_q -
 * loss) against the sampling policy at every epoch, held as a coefficient
 * (the truncated importance-weighted policy gradient w A grad log pi / n,
 * the gradient of -pi/q_T A / n where w < C); PPO's clip, when on, still
 * judges pi / pi_old. Per token, as PPO's ratio: the product over a prefix
 * would multiply up to T ratios and its variance with them. */
void adv_pg_backward_ex(tg_model *G, tg_model *ref, const int *x, const int *lengths, const float *Q, int B, int T,
                        int lo, int hi, float kl, float entropy, float *work, int *tmp, adv_pg_extra *ex,
                        adv_pg_sums *sums);
/* -log q_T(target) under q_T = softmax(logits / temperature) for n
 * positions of logits (n, V); 0 where the target is MODEL_IGNORE_INDEX. */
void adv_tempered_losses(float *loss_q, const float *logits, const int *targets, int n, int V, float temperature);
/* Adds the exact KL(p || q) and entropy of p summed over the counted
 * positions of logits (B,T,V) (q may be NULL) and their number (reward.c). */
void adv_kl_entropy(const float *lg, const float *lq, const int *lengths, int B, int T, int V, double *kl_sum,
                    double *ent_sum, double *count);

/* A causal D with fc attention reads the padding after a sequence's end
 * (tokens (B,T), lengths (B)) as Bar tokens, one-token bars that read a few
 * keys instead of all the padding before them (as data_trim_padding does
 * for training); no value read depends on them. Other D: nothing. */
void adv_disc_fill_padding(const tg_model *D, int *tokens, const int *lengths, int B, int T);

/* Internals shared by the files of the adversarial trainer. */
/* B real sequences x (B, T+1): openings of training pieces drawn uniformly,
 * PAD after EOS. */
void adv_real_openings(const data_corpus *c, tg_rng *rng, int B, int T, int *x);
/* sigmoid(z_PAD - z_BOS): a dense discriminator's p(real) from logits (V). */
float adv_dense_prob(const float *logits);

#endif /* TG_TRAIN_H */
