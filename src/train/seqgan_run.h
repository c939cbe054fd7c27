/*
 * seqgan_run.h: the state of an adversarial run (seqgan.c) and the code of
 * its run folder (seqgan_run.c): opening a fresh or resumed run and sharing
 * it with the other ranks, checkpoints of every model and optimizer, the log,
 * and the agreement of the ranks on a failure. Internal to src/train.
 */
#ifndef TG_SEQGAN_RUN_H
#define TG_SEQGAN_RUN_H

#include <stdio.h>

#include "dist/dist.h"
#include "train.h"

typedef struct {
    const adv_options *o;
    int B, T, V;
    data_corpus *corpus;
    tg_model *G, *D, *roll, *ref;  /* D NULL with the critic */
    adv_critic *C;            /* --reward critic(-random): the n-gram critic, else NULL */
    model_cache *sg, *sp, *sb;
    tg_rng rng_sample, rng_rollout, rng_batch, rng_dropout;
    int cursor;               /* phases done */
    int g_step, d_step;       /* AdamW steps done */
    char path_g[1200], path_d[1200], path_roll[1200], path_ref[1200];
    char path_gopt[1200], path_dopt[1200], path_critic[1200], path_log[1024];
    char ref_init[1100];      /* the reference's "init" metadata: the pretrain run it copies */
    FILE *log;
    /* buffers */
    int *x;                   /* (M, T+1) sequences, M = max(B, 2*(d_samples + critic memory)) */
    int *lens;                /* (M) */
    float *labels;            /* (M) */
    int *xb, *lb;             /* a minibatch (B, T+1), (B) */
    float *yb;                /* (B) */
    int *perm;                /* (M) */
    int *tmp;                 /* 2 * max(B, B*N) * (T+1) ints */
    float *Q;                 /* (B, T) */
    float *logits;            /* (B, V) */
    float *work;              /* 2 * B * T floats: weights of a shard's losses */
    float *R;                 /* (B, T) returns (returns.c) */
    float *loss_old;          /* (B, T) PPO: -log pi_old of the batch (ppo_epochs > 1) */
    float *loss_q;            /* (B, T) -log q_T of a cold batch (--explore-temperature < 1) */
    float *probs;             /* (M) D's probabilities on a fresh set (--d-band) */
    int *idx;                 /* (B*T) positions shuffled by --reward random */
    double *base, *ema;       /* (T) the baseline used, the moving average kept (saved) */
    int *count;               /* (T) sequences running at each position */
    bool ema_set;             /* the moving average holds a batch (saved) */
    int bar_id;               /* the tokenizer's Bar id (-1: none) */
    adv_report *rep;
    dist_ctx *dist;           /* o->dist: NULL or the ranks */
    int rank, size;           /* 0 and 1 for one process */
    int lo, hi;               /* this rank's rows of a batch of B */
    int first_failed;         /* lowest failing rank once agreed, else -1 */
    char diverged[160];       /* which update's loss or gradient norm was not finite */
} adv_run;

/* Opens the run: rank 0 makes or resumes the run folder, every rank gets the
 * models, states and buffers (collective with several ranks). */
tg_status adv_run_open(adv_run *r, char *err, size_t err_len);
/* Frees everything the run holds (not r itself). */
void adv_run_close(adv_run *r);
/* Checkpoint of every model, optimizer and random state (rank 0 writes). */
tg_status adv_run_save(adv_run *r, char *err, size_t err_len);
/* A line of the log (rank 0 writes it and hands it to on_log). */
void adv_run_log(adv_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* With several ranks, the log field of the time in collectives since the
 * last call; empty for one process. buf is returned. */
const char *adv_run_comm(adv_run *r, char *buf, size_t n);
/* A failure agreed by the ranks (collective): every rank returns an error
 * when one failed, err kept on the lowest failing rank only. */
tg_status adv_run_agree(adv_run *r, tg_status s, const char *what, char *err, size_t err_len);

#endif /* TG_SEQGAN_RUN_H */
