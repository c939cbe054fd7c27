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
#include "model/model.h"
#include "nn/nn.h"

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

/* Mean NLL per token (nats) of the model on a split, over consecutive windows
 * of the model's context (each token scored once); *n_tokens gets the count.
 * max_windows 0: all. */
tg_status train_eval_nll(tg_model *m, const data_corpus *c, int split, int max_windows,
                         double *nll, uint64_t *n_tokens);

/* NLL on a split of the unigram distribution of the training split (add-one
 * smoothed), the baseline a model must beat. */
double train_unigram_nll(const data_corpus *c, int split);

#endif /* TG_TRAIN_H */
