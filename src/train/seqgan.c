/*
 * seqgan.c: the adversarial trainer (train.h describes the algorithm, the
 * run folder and the log): D pre-training, then rounds of policy-gradient
 * updates of G and D training on fresh negatives, the rollout policy moved
 * towards G after each round, a checkpoint after every phase and bit-exact
 * resumption from it. Nothing here prints: log lines go to the caller's
 * on_log, messages to its logger.
 *
 * Phases are numbered from 1: phase 1 is D's pre-training, phase 2r round
 * r's g-phase (then an evaluation), phase 2r+1 its d-phase and the rollout
 * update. The "cursor" in every checkpoint file is the number of phases done.
 *
 * Randomness: four streams from the seed (samples of G, rollouts, batches of
 * real data and shuffles, dropout), saved in optimizer.safetensors.
 * Optimizers: AdamW with constant learning rates, betas (0.9, 0.999); no
 * weight decay for G (the policy should stay near its MLE start, which the
 * KL term handles), 0.01 for D.
 *
 * Data parallel (o->dist with N > 1 ranks, src/train/dist.h), designed so
 * that N ranks compute what one process does, up to the order of float sums:
 *  - every rank draws everything random from the same streams as one
 *    process: G's samples (all B of a g-step, all negatives of a d-step),
 *    the real openings, the shuffles, the MLE windows; these are cheap next
 *    to the rollouts, and it leaves every rank holding the whole batch (the
 *    d-step's sampling of negatives is the largest part not shared out);
 *  - rows are cut by dist_share (rank r: r*n/N .. (r+1)*n/N - 1): the
 *    rollouts of the g-step's sequences and their D scores (each completion
 *    draws from a stream of its own, seeded from one draw of the rollout
 *    stream, the prefix and its index in the whole batch: reward.c), after
 *    which the rows of Q are gathered on every rank (the baseline needs
 *    them all); the forward and backward passes of the policy-gradient and
 *    MLE updates; the rows of each of D's minibatches;
 *  - each rank weights its rows' losses by the whole batch's normalisation
 *    (adv_pg_backward, adv_disc_grad, mle_shard), the gradients are summed
 *    with one MPI_Allreduce of the flat block, and every rank clips and
 *    applies the same AdamW step, so the weights stay equal on every rank;
 *  - dropout (when G or D has it) cannot follow one process's masks: one
 *    u64 per update from the dropout stream, mixed with the rank, seeds the
 *    rank's masks (repeatable for a given N, as in mle.c);
 *  - rank 0 alone reads and writes the run folder and evaluates; it sends
 *    the others the models' configs, weights and moments, the random states
 *    and counters, so a run resumes with any N. Failures are agreed
 *    (dist_agree) at the end of every phase and before the gather of Q, so
 *    every rank returns an error and err is set on the lowest failing rank.
 * One process (no dist, or N = 1) takes the same code with its single share
 * (all rows) and the run's own dropout stream. The per-completion rollout
 * streams are new with data parallelism: a seed gives other rollouts than
 * before them (a checkpoint from before resumes, on the new streams).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dist.h"
#include "train.h"

#define ADV_D_WEIGHT_DECAY 0.01f

static const char *const reward_names[] = {"rollout", "dense", "constant"};

const char *adv_reward_name(adv_reward r)
{
    return (unsigned)r < 3 ? reward_names[r] : "?";
}

tg_status adv_reward_parse(const char *name, adv_reward *r)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(name, reward_names[i]) == 0) {
            *r = (adv_reward)i;
            return TG_OK;
        }
    return TG_ERR_ARG;
}

adv_options adv_options_default(void)
{
    adv_options o;
    memset(&o, 0, sizeof o);
    o.rounds = 10;
    o.g_steps = 1;
    o.d_steps = 5;
    o.d_epochs = 3;
    o.d_pretrain = 10;
    o.d_samples = 64;
    o.rollouts = 16;
    o.rollout_update = 0.8f;
    o.rollout_every = 1;
    o.kl = 0.1f;
    o.entropy = 0.0f;
    o.mle_mix = 0;
    o.reward = ADV_REWARD_ROLLOUT;
    o.disc = model_config_default();
    model_config_preset("tiny", &o.disc);
    o.disc.kind = MODEL_DISCRIMINATOR;
    o.batch = 16;
    o.seq_len = 32;
    o.lr_g = 1e-5f;
    o.lr_d = 1e-4f;
    o.clip = 1.0f;
    o.eval_max_windows = 64;
    o.seed = 1;
    return o;
}

/* ------------------------------------------------------------------------ */
/* The run. */

typedef struct {
    const adv_options *o;
    int B, T, V;
    data_corpus *corpus;
    tg_model *G, *D, *roll, *ref;
    sample_state *sg, *sp, *sb;
    tg_rng rng_sample, rng_rollout, rng_batch, rng_dropout;
    int cursor;               /* phases done */
    int g_step, d_step;       /* AdamW steps done */
    char path_g[1024], path_d[1024], path_roll[1024], path_ref[1024];
    char path_gopt[1024], path_dopt[1024], path_log[1024];
    FILE *log;
    /* buffers */
    int *x;                   /* (M, T+1) sequences, M = max(B, 2*d_samples) */
    int *lens;                /* (M) */
    float *labels;            /* (M) */
    int *xb, *lb;             /* a minibatch (B, T+1), (B) */
    float *yb;                /* (B) */
    int *perm;                /* (M) */
    int *tmp;                 /* 2 * max(B, B*N) * (T+1) ints */
    float *Q;                 /* (B, T) */
    float *logits;            /* (B, V) */
    void *scratch;
    float *work;              /* 2 * B * T floats: weights of a shard's losses */
    adv_report *rep;
    dist_ctx *dist;           /* o->dist: NULL or the ranks */
    int rank, size;           /* 0 and 1 for one process */
    int lo, hi;               /* this rank's rows of a batch of B */
    int first_failed;         /* lowest failing rank once agreed, else -1 */
} adv_run;

static void paths(adv_run *r)
{
    const char *d = r->o->run_dir;
    snprintf(r->path_g, sizeof r->path_g, "%s/model.safetensors", d);
    snprintf(r->path_d, sizeof r->path_d, "%s/disc.safetensors", d);
    snprintf(r->path_roll, sizeof r->path_roll, "%s/rollout.safetensors", d);
    snprintf(r->path_ref, sizeof r->path_ref, "%s/reference.safetensors", d);
    snprintf(r->path_gopt, sizeof r->path_gopt, "%s/optimizer.safetensors", d);
    snprintf(r->path_dopt, sizeof r->path_dopt, "%s/disc_optimizer.safetensors", d);
    snprintf(r->path_log, sizeof r->path_log, "%s/log.jsonl", d);
}

static bool exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* What must not change across a resume: the shapes of the buffers and data. */
static void signature(const adv_run *r, char *buf, size_t n)
{
    snprintf(buf, n, "seq_len=%d,batch=%d,reward=%s,rollouts=%d,d_samples=%d", r->T, r->B,
             adv_reward_name(r->o->reward), r->o->rollouts, r->o->d_samples);
}

static void log_line(adv_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void log_line(adv_run *r, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (!r->log) return; /* ranks other than 0 */
    fprintf(r->log, "%s\n", line);
    fflush(r->log);
    if (r->o->on_log) r->o->on_log(r->o->user, line);
}

/* With several ranks, the log field of the time in collectives since the
 * last call; empty for one process. */
static const char *comm_field(adv_run *r, char *buf, size_t n)
{
    buf[0] = '\0';
    if (r->size > 1) snprintf(buf, n, ",\"comm_ms\":%.3f", dist_comm_take(r->dist) * 1e3);
    return buf;
}

/* A failure agreed by the ranks (collective): every rank returns an error
 * when one failed, and err is kept on the lowest failing rank only. Once a
 * failure is agreed, every rank is on its way out: no more collectives. */
static tg_status agree(adv_run *r, tg_status s, const char *what, char *err, size_t err_len)
{
    if (r->size == 1) return s;
    if (r->first_failed >= 0) {
        if (err && err_len && r->rank != r->first_failed) err[0] = '\0';
        return s;
    }
    int first;
    s = dist_agree(r->dist, s, DIST_TIMEOUT_SEC, what, &first);
    if (s != TG_OK) r->first_failed = first;
    if (s == TG_OK || !err || !err_len) return s;
    if (r->rank != first) err[0] = '\0';
    else if (!err[0]) tg_fail(err, err_len, s, "%s: %s", what, tg_status_str(s));
    return s;
}

/* ------------------------------------------------------------------------ */
/* Checkpoints. */

static tg_status save_all(adv_run *r, char *err, size_t err_len)
{
    char cur[32], rs[80], rr[80], rb[80], rd[80], ds[32], lb[32], sig[256];
    fflush(r->log);
    long bytes = ftell(r->log);
    snprintf(cur, sizeof cur, "%d", r->cursor);
    snprintf(ds, sizeof ds, "%d", r->d_step);
    snprintf(lb, sizeof lb, "%ld", bytes);
    model_rng_format(&r->rng_sample, rs, sizeof rs);
    model_rng_format(&r->rng_rollout, rr, sizeof rr);
    model_rng_format(&r->rng_batch, rb, sizeof rb);
    model_rng_format(&r->rng_dropout, rd, sizeof rd);
    signature(r, sig, sizeof sig);
    const char *cfg = r->corpus->config;
    const uint64_t seed = r->o->seed;
    st_meta gx[] = {{"cursor", cur}, {"phase", "seqgan"}};
    st_meta dx[] = {{"cursor", cur}, {"reward", adv_reward_name(r->o->reward)}};
    st_meta ox[] = {{"cursor", cur},     {"rng_sample", rs}, {"rng_rollout", rr}, {"rng_batch", rb},
                    {"rng_dropout", rd}, {"d_step", ds},     {"log_bytes", lb},   {"signature", sig}};
    tg_status s = model_save(r->G, r->path_g, cfg, r->g_step, seed, gx, 2);
    if (s == TG_OK) s = model_save(r->roll, r->path_roll, cfg, r->g_step, seed, gx, 2);
    if (s == TG_OK) s = model_save(r->D, r->path_d, cfg, r->d_step, seed, dx, 2);
    if (s == TG_OK) s = model_save_optimizer(r->D, r->path_dopt, r->d_step, dx, 1);
    if (s == TG_OK) s = model_save_optimizer(r->G, r->path_gopt, r->g_step, ox, 8);
    if (s != TG_OK)
        return tg_fail(err, err_len, s, "%s: cannot save the checkpoint: %s", r->o->run_dir, tg_status_str(s));
    return TG_OK;
}

/* The model of a checkpoint with its cursor; err names the file. */
static tg_status load_part(const char *path, int max_batch, tg_model **m, int *cursor, char *err,
                           size_t err_len)
{
    model_meta *meta = NULL;
    tg_status s = model_load(path, max_batch, m, &meta, err, err_len);
    if (s != TG_OK) return s;
    const char *c = model_meta_get(meta, "cursor");
    *cursor = c ? atoi(c) : -1;
    model_meta_free(meta);
    if (!c) return tg_fail(err, err_len, TG_ERR_FORMAT, "%s: not a checkpoint of `tunegan train` (no cursor)", path);
    return TG_OK;
}

static tg_status resume_run(adv_run *r, char *err, size_t err_len)
{
    const int B = r->B;
    int cg, cd, cr, cdo = -1;
    model_meta *meta = NULL;
    tg_status s = load_part(r->path_g, B, &r->G, &cg, err, err_len);
    if (s == TG_OK) s = load_part(r->path_roll, B, &r->roll, &cr, err, err_len);
    if (s == TG_OK) s = load_part(r->path_d, B, &r->D, &cd, err, err_len);
    if (s == TG_OK) s = model_load(r->path_ref, B, &r->ref, NULL, err, err_len);
    if (s != TG_OK) return s;
    long step = 0;
    s = model_load_optimizer(r->D, r->path_dopt, &step, &meta, err, err_len);
    if (s != TG_OK) return s;
    const char *c = model_meta_get(meta, "cursor");
    cdo = c ? atoi(c) : -1;
    model_meta_free(meta);
    meta = NULL;
    s = model_load_optimizer(r->G, r->path_gopt, &step, &meta, err, err_len);
    if (s != TG_OK) return s;
    r->g_step = (int)step;
    const char *keys[] = {"cursor", "rng_sample", "rng_rollout", "rng_batch", "rng_dropout", "d_step",
                          "log_bytes", "signature"};
    const char *v[8];
    for (int i = 0; i < 8; i++) {
        v[i] = model_meta_get(meta, keys[i]);
        if (!v[i]) s = tg_fail(err, err_len, TG_ERR_FORMAT, "%s: \"%s\" is missing from the metadata", r->path_gopt, keys[i]);
    }
    char sig[256];
    signature(r, sig, sizeof sig);
    if (s == TG_OK && (model_rng_parse(v[1], &r->rng_sample) != TG_OK || model_rng_parse(v[2], &r->rng_rollout) != TG_OK ||
                       model_rng_parse(v[3], &r->rng_batch) != TG_OK || model_rng_parse(v[4], &r->rng_dropout) != TG_OK))
        s = tg_fail(err, err_len, TG_ERR_FORMAT, "%s: the random-number states are damaged", r->path_gopt);
    if (s == TG_OK && strcmp(sig, v[7]) != 0)
        s = tg_fail(err, err_len, TG_ERR_ARG, "%s: the run was made with %s; this command asks for %s: give the same flags",
                 r->o->run_dir, v[7], sig);
    int co = s == TG_OK ? atoi(v[0]) : -1;
    long log_bytes = s == TG_OK ? atol(v[6]) : 0;
    if (s == TG_OK) r->d_step = atoi(v[5]);
    model_meta_free(meta);
    if (s != TG_OK) return s;
    if (cg != co || cr != co || cd != co || cdo != co)
        return tg_fail(err, err_len, TG_ERR_FORMAT,
                    "%s: the checkpoint files are from different phases (G %d, rollout %d, D %d, optimizers %d/%d): an interrupted save?",
                    r->o->run_dir, cg, cr, cd, co, cdo);
    r->cursor = co;
    const model_config *gc = model_get_config(r->G), *dc = model_get_config(r->D);
    if (gc->vocab_size != r->V)
        return tg_fail(err, err_len, TG_ERR_SHAPE, "%s: the model's vocabulary (%d) differs from the corpus's (%d)",
                    r->path_g, gc->vocab_size, r->V);
    if ((r->o->reward == ADV_REWARD_DENSE) != (dc->kind == MODEL_GENERATOR))
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: the discriminator does not match --reward %s", r->path_d,
                    adv_reward_name(r->o->reward));
    if (r->cursor >= 1 + 2 * r->o->rounds)
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: the run already did %d round%s: raise --rounds to go on",
                    r->o->run_dir, (r->cursor - 1) / 2, (r->cursor - 1) / 2 == 1 ? "" : "s");
    if (truncate(r->path_log, log_bytes) != 0)
        return tg_fail(err, err_len, TG_ERR_IO, "%s: cannot cut the log back to the checkpoint", r->path_log);
    return TG_OK;
}

static tg_status fresh_run(adv_run *r, char *err, size_t err_len)
{
    const adv_options *o = r->o;
    if (exists(r->path_g))
        return tg_fail(err, err_len, TG_ERR_ARG,
                    "%s already holds a run: pass --resume to continue it, or choose another folder", o->run_dir);
    if (!o->init_path)
        return tg_fail(err, err_len, TG_ERR_ARG, "--init PRETRAIN_RUN_DIR is required: the generator starts from a pretrain run");
    char init[1100];
    if (is_dir(o->init_path)) snprintf(init, sizeof init, "%s/model.safetensors", o->init_path);
    else snprintf(init, sizeof init, "%s", o->init_path);
    model_meta *meta = NULL;
    tg_status s = model_load(init, r->B, &r->G, &meta, err, err_len);
    if (s != TG_OK) return s;
    const char *tk = model_meta_get(meta, "tokenizer");
    bool same_tok = tk && strcmp(tk, r->corpus->config) == 0;
    model_meta_free(meta);
    const model_config *gc = model_get_config(r->G);
    if (gc->kind != MODEL_GENERATOR)
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: --init needs a generator, this is a discriminator", init);
    if (gc->vocab_size != r->V || !same_tok)
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: the generator was trained with tokenizer %s (vocabulary %d), the corpus uses %s (%d)",
                    init, tk ? tk : "?", gc->vocab_size, r->corpus->config, r->V);
    if (r->T > gc->context)
        return tg_fail(err, err_len, TG_ERR_ARG, "--seq-len %d is longer than the generator's context (%d)", r->T, gc->context);
    s = model_load(init, r->B, &r->ref, NULL, err, err_len);
    if (s == TG_OK) s = model_load(init, r->B, &r->roll, NULL, err, err_len);
    if (s != TG_OK) return s;
    model_config dc = o->disc;
    dc.vocab_size = r->V;
    dc.context = r->T;
    dc.kind = o->reward == ADV_REWARD_DENSE ? MODEL_GENERATOR : MODEL_DISCRIMINATOR;
    char why[256];
    if (model_config_check(&dc, why, sizeof why) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_ARG, "discriminator: %s", why);
    s = model_create(&dc, r->B, &r->D);
    if (s != TG_OK) return tg_fail(err, err_len, s, "cannot create the discriminator: %s", tg_status_str(s));
    tg_rng rng_init;
    tg_rng_seed(&rng_init, o->seed ^ 0x646973635f696e69ULL);
    model_init(r->D, &rng_init);
    st_meta rx[] = {{"phase", "reference"}, {"init", init}};
    s = model_save(r->ref, r->path_ref, r->corpus->config, 0, o->seed, rx, 2);
    if (s != TG_OK) return tg_fail(err, err_len, s, "%s: cannot write: %s", r->path_ref, tg_status_str(s));
    remove(r->path_log);
    return TG_OK;
}

/* This rank's part of opening: the corpus and the streams, and on rank 0
 * the run folder, its models and the log. */
static tg_status open_local(adv_run *r, char *err, size_t err_len)
{
    const adv_options *o = r->o;
    if (r->B < r->size)
        return tg_fail(err, err_len, TG_ERR_ARG, "--batch %d is smaller than the number of ranks (%d)", r->B,
                       r->size);
    data_error derr = {{0}};
    tg_status s = data_corpus_open(o->corpus_path, &r->corpus, &derr);
    if (s != TG_OK) return tg_fail(err, err_len, s, "%s: %s", o->corpus_path, derr.what);
    if (r->corpus->split_count[DATA_TRAIN] == 0)
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: the corpus has no training piece", o->corpus_path);
    r->V = (int)r->corpus->vocab_size;
    tg_rng_seed(&r->rng_sample, o->seed ^ 0x73616d706c6573ULL);
    tg_rng_seed(&r->rng_rollout, o->seed ^ 0x726f6c6c6f7574ULL);
    tg_rng_seed(&r->rng_batch, o->seed ^ 0x62617463686573ULL);
    tg_rng_seed(&r->rng_dropout, o->seed ^ 0x64726f706f7574ULL);
    if (r->rank != 0) return TG_OK;
    if (tg_make_dirs(o->run_dir) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_IO, "%s: cannot create the run folder: %s", o->run_dir,
                       errno == EEXIST ? "a file of that name is in the way" : strerror(errno));
    paths(r);
    s = o->resume ? resume_run(r, err, err_len) : fresh_run(r, err, err_len);
    if (s != TG_OK) return s;
    r->log = fopen(r->path_log, "a");
    if (!r->log) return tg_fail(err, err_len, TG_ERR_IO, "%s: cannot open the log", r->path_log);
    return TG_OK;
}

/* Rank 0's models (configs, weights, AdamW moments), counters and random
 * states to every rank. */
static tg_status share_run(adv_run *r, char *err, size_t err_len)
{
    tg_model **ms[4] = {&r->G, &r->roll, &r->ref, &r->D};
    struct {
        model_config cfg[4];
        int cursor, g_step, d_step;
        tg_rng sample, rollout, batch, dropout;
    } head;
    memset(&head, 0, sizeof head);
    if (r->rank == 0) {
        for (int i = 0; i < 4; i++) head.cfg[i] = *model_get_config(*ms[i]);
        head.cursor = r->cursor, head.g_step = r->g_step, head.d_step = r->d_step;
        head.sample = r->rng_sample, head.rollout = r->rng_rollout;
        head.batch = r->rng_batch, head.dropout = r->rng_dropout;
    }
    dist_bcast_bytes(r->dist, &head, sizeof head);
    tg_status s = TG_OK;
    if (r->rank != 0) {
        r->cursor = head.cursor, r->g_step = head.g_step, r->d_step = head.d_step;
        r->rng_sample = head.sample, r->rng_rollout = head.rollout;
        r->rng_batch = head.batch, r->rng_dropout = head.dropout;
        for (int i = 0; i < 4 && s == TG_OK; i++) s = model_create(&head.cfg[i], r->B, ms[i]);
        if (s != TG_OK) tg_fail(err, err_len, s, "cannot create the models: %s", tg_status_str(s));
    }
    s = agree(r, s, "the models' creation", err, err_len);
    if (s != TG_OK) return s;
    for (int i = 0; i < 4; i++) {
        size_t n = model_param_count(*ms[i]);
        dist_bcast_floats(r->dist, model_param_data(*ms[i]), n);
        if (i == 1 || i == 2) continue; /* the rollout policy and the reference have no optimizer */
        dist_bcast_floats(r->dist, model_adam_m(*ms[i]), n);
        dist_bcast_floats(r->dist, model_adam_v(*ms[i]), n);
    }
    return TG_OK;
}

/* The sampling states (the rollouts' for this rank's rows) and buffers. */
static tg_status open_buffers(adv_run *r, char *err, size_t err_len)
{
    const adv_options *o = r->o;
    const int B = r->B, T = r->T, N = o->rollouts, rows = r->hi - r->lo;
    tg_status s = sample_state_create(r->G, B, 1, &r->sg);
    if (s == TG_OK && o->reward == ADV_REWARD_ROLLOUT) s = sample_state_create(r->roll, rows, 1, &r->sp);
    if (s == TG_OK && o->reward == ADV_REWARD_ROLLOUT) s = sample_state_create(r->roll, rows * N, 1, &r->sb);
    if (s != TG_OK) return tg_fail(err, err_len, s, "cannot create the sampling states: %s", tg_status_str(s));
    const size_t M = (size_t)(2 * o->d_samples > B ? 2 * o->d_samples : B);
    const size_t W = (size_t)B * (N > 1 ? N : 1) * (T + 1) * 2;
    r->x = malloc(M * (T + 1) * sizeof(int));
    r->lens = malloc(M * sizeof(int));
    r->labels = malloc(M * sizeof(float));
    r->perm = malloc(M * sizeof(int));
    r->xb = malloc((size_t)B * (T + 1) * sizeof(int));
    r->lb = malloc((size_t)B * sizeof(int));
    r->yb = malloc((size_t)B * sizeof(float));
    r->tmp = malloc(W * sizeof(int));
    r->Q = malloc((size_t)B * T * sizeof(float));
    r->logits = malloc((size_t)B * r->V * sizeof(float));
    r->scratch = malloc(sample_pick_scratch_bytes(r->V));
    r->work = malloc((size_t)B * T * 2 * sizeof(float));
    if (!r->x || !r->lens || !r->labels || !r->perm || !r->xb || !r->lb || !r->yb || !r->tmp || !r->Q ||
        !r->logits || !r->scratch || !r->work)
        return TG_ERR_NOMEM;
    return TG_OK;
}

static tg_status open_run(adv_run *r, char *err, size_t err_len)
{
    tg_status s = agree(r, open_local(r, err, err_len), "the start of the run", err, err_len);
    if (s == TG_OK && r->size > 1) s = share_run(r, err, err_len);
    if (s == TG_OK) s = open_buffers(r, err, err_len);
    return agree(r, s, "the start of the run", err, err_len);
}

static void close_run(adv_run *r)
{
    if (r->log) fclose(r->log);
    sample_state_free(r->sg);
    sample_state_free(r->sp);
    sample_state_free(r->sb);
    model_free(r->G);
    model_free(r->D);
    model_free(r->roll);
    model_free(r->ref);
    data_corpus_close(r->corpus);
    free(r->x), free(r->lens), free(r->labels), free(r->perm), free(r->xb), free(r->lb), free(r->yb);
    free(r->tmp), free(r->Q), free(r->logits), free(r->scratch), free(r->work);
}

/* ------------------------------------------------------------------------ */
/* Phases. */

/* n sequences from G into x (n, T+1), in batches of B. */
static void sample_g(adv_run *r, int *x, int n)
{
    for (int i = 0; i < n; i += r->B) {
        int m = n - i < r->B ? n - i : r->B;
        adv_sample(r->sg, m, r->T, x + (size_t)i * (r->T + 1), &r->rng_sample, r->logits, r->scratch);
    }
}

/* The dropout stream of this rank's part of an update of m: the run's own
 * stream for one process or a model without dropout; with several ranks,
 * local seeded from one draw of it mixed with the rank. */
static tg_rng *shard_dropout(adv_run *r, const tg_model *m, tg_rng *local)
{
    if (r->size == 1 || !(model_get_config(m)->dropout > 0)) return &r->rng_dropout;
    tg_rng_seed(local, tg_rng_u64(&r->rng_dropout) ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(r->rank + 1)));
    return local;
}

/* Several ranks: m's gradients and the n doubles of sums are summed. */
static void sum_shards(adv_run *r, tg_model *m, double *sums, int n)
{
    if (r->size == 1) return;
    dist_sum_floats(r->dist, model_grad_data(m), model_param_count(m), 0);
    dist_sum_doubles(r->dist, sums, (size_t)n);
}

/* One update of D on the minibatch xb (m rows), this rank taking its share
 * of the rows; the batch's mean loss, *acc its accuracy. */
static float d_update(adv_run *r, int m, float *acc)
{
    const adv_options *o = r->o;
    int lo, hi;
    dist_share(r->dist, m, &lo, &hi);
    tg_rng local;
    double sums[3];
    adv_disc_grad(r->D, r->xb, r->T + 1, r->lb, r->yb, m, r->T, lo, hi, shard_dropout(r, r->D, &local), r->work,
                  r->tmp, sums);
    sum_shards(r, r->D, sums, 3);
    adv_opt_step os = {o->lr_d, o->clip, ADV_D_WEIGHT_DECAY, ++r->d_step};
    adv_opt_apply(r->D, &os);
    *acc = (float)sums[2] / (float)m;
    return (float)(sums[0] / sums[1]);
}

/* The order of the d-step's M sequences for one epoch. */
static void shuffle(adv_run *r, int M)
{
    for (int i = 0; i < M; i++) r->perm[i] = i;
    for (int i = M - 1; i > 0; i--) {
        int j = (int)tg_rng_below(&r->rng_batch, (uint32_t)(i + 1));
        int t = r->perm[i];
        r->perm[i] = r->perm[j];
        r->perm[j] = t;
    }
}

static tg_status d_phase(adv_run *r, int round, int steps)
{
    const adv_options *o = r->o;
    const int B = r->B, T = r->T, M = 2 * o->d_samples, ld = T + 1;
    for (int k = 0; k < steps; k++) {
        double t0 = tg_now_sec();
        dist_comm_take(r->dist);
        adv_real_openings(r->corpus, &r->rng_batch, o->d_samples, T, r->x);
        sample_g(r, r->x + (size_t)o->d_samples * ld, o->d_samples);
        adv_lengths(r->x, ld, M, T, r->lens);
        for (int i = 0; i < M; i++) r->labels[i] = i < o->d_samples ? 1.0f : 0.0f;
        double loss = 0, acc = 0;
        for (int e = 0; e < o->d_epochs; e++) {
            shuffle(r, M);
            loss = acc = 0;
            for (int i = 0; i < M; i += B) {
                int m = M - i < B ? M - i : B;
                for (int b = 0; b < m; b++) {
                    int src = r->perm[i + b];
                    memcpy(r->xb + (size_t)b * ld, r->x + (size_t)src * ld, (size_t)ld * sizeof(int));
                    r->lb[b] = r->lens[src];
                    r->yb[b] = r->labels[src];
                }
                float a, l = d_update(r, m, &a);
                if (!isfinite(l)) return TG_ERR_RANGE; /* the same on every rank */
                loss += (double)l * m;
                acc += (double)a * m;
            }
        }
        loss /= M;
        acc /= M;
        r->rep->d_loss = loss;
        r->rep->d_acc = acc;
        char comm[48];
        log_line(r, "{\"step\":%d,\"round\":%d,\"phase\":\"disc\",\"d_loss\":%.6f,\"d_acc\":%.4f,\"seconds\":%.2f%s}",
                 r->d_step, round, loss, acc, tg_now_sec() - t0, comm_field(r, comm, sizeof comm));
    }
    return TG_OK;
}

/* Q of this rank's rows of x by the dense discriminator. */
static void dense_values(adv_run *r, const int *x, const int *lens)
{
    const int T = r->T, n = r->hi - r->lo;
    int *tok = r->tmp;
    for (int b = 0; b < n; b++)
        memcpy(tok + (size_t)b * T, x + (size_t)(r->lo + b) * (T + 1) + 1, (size_t)T * sizeof(int));
    model_lm_forward(r->D, tok, NULL, n, T, NULL);
    const float *lg = model_logits(r->D);
    for (int b = 0; b < n; b++) {
        const int len = lens[r->lo + b];
        for (int t = 1; t <= T; t++) {
            int at = t < len ? t : len;
            r->Q[(size_t)(r->lo + b) * T + t - 1] = adv_dense_prob(lg + ((size_t)b * T + at - 1) * r->V);
        }
    }
}

/* Values of every prefix of the batch x (B, T+1) into Q: each rank computes
 * its rows, then they are gathered on every rank. */
static tg_status values(adv_run *r, const int *x, const int *lens)
{
    const int B = r->B, T = r->T;
    if (r->o->reward == ADV_REWARD_CONSTANT) {
        for (size_t i = 0; i < (size_t)B * T; i++) r->Q[i] = 0.5f;
        return TG_OK;
    }
    tg_status s = TG_OK;
    if (r->o->reward == ADV_REWARD_DENSE) {
        dense_values(r, x, lens);
    } else {
        adv_rollout_ctx ctx = {r->sp, r->sb, r->D, r->o->rollouts, r->o->rollout_every, &r->rng_rollout};
        s = adv_rollout_rows(&ctx, x + (size_t)r->lo * (T + 1), lens + r->lo, r->hi - r->lo, T, r->lo,
                             r->Q + (size_t)r->lo * T);
    }
    s = agree(r, s, "the rollouts", NULL, 0);
    if (s == TG_OK) dist_gather_rows(r->dist, r->Q, B, (size_t)T);
    return s;
}

/* Rank 0 alone evaluates and logs (the others have no log). */
static tg_status evaluate(adv_run *r, int round, double *nll)
{
    *nll = NAN;
    if (r->rank != 0 || r->corpus->split_count[DATA_VALID] == 0) return TG_OK;
    uint64_t n = 0;
    tg_status s = train_eval_nll(r->G, r->corpus, DATA_VALID, r->o->eval_max_windows, nll, &n);
    if (s != TG_OK) return s;
    log_line(r, "{\"step\":%d,\"round\":%d,\"phase\":\"eval\",\"val_nll\":%.6f,\"val_tokens\":%llu}", r->g_step, round,
             *nll, (unsigned long long)n);
    return TG_OK;
}

/* One policy-gradient update of G on the batch in r->x with values r->Q,
 * this rank taking its rows; the surrogate loss, KL and entropy. */
static void pg_update(adv_run *r, float *pg, float *kl, float *ent)
{
    const adv_options *o = r->o;
    adv_pg_sums ps;
    model_zero_grad(r->G);
    adv_pg_backward(r->G, r->ref, r->x, r->lens, r->Q, r->B, r->T, r->lo, r->hi, o->kl, o->entropy, r->work,
                    r->tmp, &ps);
    double sums[4] = {ps.surrogate, ps.kl, ps.entropy, ps.positions};
    sum_shards(r, r->G, sums, 4);
    ps = (adv_pg_sums){sums[0], sums[1], sums[2], sums[3]};
    adv_pg_means(&ps, pg, kl, ent);
    adv_opt_step os = {o->lr_g, o->clip, 0.0f, ++r->g_step};
    adv_opt_apply(r->G, &os);
}

/* Several ranks: G's gradient of the mean loss of the windows (B,T) from
 * this rank's rows, each target weighted 1/n (n counted on the whole batch),
 * as in mle.c; returns the batch's mean loss. */
static float mle_shard(adv_run *r, const int32_t *in, const int32_t *tg)
{
    const int B = r->B, T = r->T, lo = r->lo, hi = r->hi;
    int n_all = 0, n_mine = 0;
    for (int i = 0; i < B * T; i++)
        if (tg[i] != MODEL_IGNORE_INDEX) {
            n_all++;
            n_mine += i >= lo * T && i < hi * T;
        }
    tg_rng local, *drop = shard_dropout(r, r->G, &local);
    double sum = 0;
    if (n_mine > 0) {
        float mean = model_lm_forward(r->G, in + (size_t)lo * T, tg + (size_t)lo * T, hi - lo, T, drop);
        for (int i = 0; i < (hi - lo) * T; i++) r->work[i] = 1.0f / (float)n_all;
        model_lm_backward_weighted(r->G, r->work);
        sum = (double)mean * n_mine;
    }
    sum_shards(r, r->G, &sum, 1);
    return n_all ? (float)(sum / n_all) : 0.0f;
}

/* One teacher-forced step of G on real windows; its loss. */
static float mle_update(adv_run *r)
{
    const int B = r->B, T = r->T;
    int32_t *in = r->tmp, *tg = r->tmp + (size_t)B * T;
    data_train_batch(r->corpus, &r->rng_batch, B, T, in, tg);
    model_zero_grad(r->G);
    float loss;
    if (r->size > 1) {
        loss = mle_shard(r, in, tg);
    } else {
        loss = model_lm_forward(r->G, in, tg, B, T, &r->rng_dropout);
        model_lm_backward(r->G);
    }
    adv_opt_step os = {r->o->lr_g, r->o->clip, 0.0f, ++r->g_step};
    adv_opt_apply(r->G, &os);
    return loss;
}

static tg_status g_phase(adv_run *r, int round)
{
    const adv_options *o = r->o;
    const int B = r->B, T = r->T;
    char comm[48];
    for (int k = 0; k < o->g_steps; k++) {
        double t0 = tg_now_sec();
        dist_comm_take(r->dist);
        sample_g(r, r->x, B);
        adv_lengths(r->x, T + 1, B, T, r->lens);
        tg_status s = values(r, r->x, r->lens);
        if (s != TG_OK) return s;
        double reward = 0;
        for (int b = 0; b < B; b++) reward += r->Q[(size_t)b * T + r->lens[b] - 1];
        reward /= B;
        float pg, kl, ent;
        pg_update(r, &pg, &kl, &ent);
        if (!isfinite(pg)) return TG_ERR_RANGE; /* the same on every rank */
        r->rep->reward_mean = reward;
        int len_sum = 0;
        for (int b = 0; b < B; b++) len_sum += r->lens[b];
        log_line(r,
                 "{\"step\":%d,\"round\":%d,\"phase\":\"adv\",\"reward_mean\":%.6f,\"pg_loss\":%.6g,\"kl\":%.6g,"
                 "\"entropy\":%.6f,\"len_mean\":%.2f,\"seconds\":%.2f%s}",
                 r->g_step, round, reward, pg, kl, ent, (double)len_sum / B, tg_now_sec() - t0,
                 comm_field(r, comm, sizeof comm));
        for (int m = 0; m < o->mle_mix; m++) {
            float loss = mle_update(r);
            log_line(r, "{\"step\":%d,\"round\":%d,\"phase\":\"mle\",\"loss\":%.6f%s}", r->g_step, round, loss,
                     comm_field(r, comm, sizeof comm));
        }
    }
    return evaluate(r, round, &r->rep->val_nll);
}

/* The words for a failed phase on this rank, then the ranks' agreement on
 * the phase's outcome. */
static tg_status end_phase(adv_run *r, tg_status s, int phase, char *err, size_t err_len)
{
    if (s == TG_ERR_RANGE)
        tg_fail(err, err_len, s, "phase %d: a loss is not finite: lower --lr-g or --lr-d", phase);
    else if (s != TG_OK && err && !err[0])
        tg_fail(err, err_len, s, "phase %d: %s", phase, tg_status_str(s));
    return agree(r, s, "the end of a phase", err, err_len);
}

static tg_status run_phase(adv_run *r, int phase)
{
    const adv_options *o = r->o;
    if (phase == 1) return d_phase(r, 0, o->d_pretrain);
    if (phase % 2 == 0) return g_phase(r, phase / 2);
    tg_status s = d_phase(r, phase / 2, o->d_steps);
    if (s == TG_OK) s = model_lerp_params(r->roll, r->G, o->rollout_update);
    return s;
}

/* Whether to stop after this phase's checkpoint: any rank interrupted, or
 * --stop-after reached. */
static bool should_stop(adv_run *r)
{
    const adv_options *o = r->o;
    uint64_t stop = (o->stop && *o->stop) || (o->stop_after > 0 && r->cursor >= o->stop_after);
    dist_max_u64(r->dist, &stop, 1);
    return stop != 0;
}

static tg_status check_options(const adv_options *o, char *err, size_t err_len)
{
    if (o->rounds < 1 || o->g_steps < 1 || o->d_steps < 0 || o->d_epochs < 1 || o->d_pretrain < 0 ||
        o->d_samples < 1 || o->rollouts < 1 || o->rollout_every < 1 || o->batch < 1 || o->seq_len < 1 ||
        o->mle_mix < 0 || !(o->lr_g > 0) || !(o->lr_d > 0) || !(o->rollout_update >= 0 && o->rollout_update <= 1) ||
        !(o->kl >= 0) || !(o->entropy >= 0))
        return tg_fail(err, err_len, TG_ERR_ARG,
                    "rounds, g-steps, d-epochs, d-samples, rollouts, rollout-every, batch and seq-len must be positive; "
                    "learning rates above 0; rollout-update in [0,1]; kl and entropy >= 0");
    if (!o->corpus_path || !o->run_dir) return tg_fail(err, err_len, TG_ERR_ARG, "a corpus and a run folder are required");
    return TG_OK;
}

tg_status train_adv(const adv_options *o, adv_report *rep, char *err, size_t err_len)
{
    memset(rep, 0, sizeof *rep);
    rep->val_nll = rep->val_nll_init = NAN;
    if (err && err_len) err[0] = '\0';
    tg_status s = check_options(o, err, err_len);
    if (s != TG_OK) return s;
    adv_run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.B = o->batch;
    r.T = o->seq_len;
    r.rep = rep;
    r.dist = o->dist;
    r.rank = dist_rank(o->dist);
    r.size = dist_size(o->dist);
    r.first_failed = -1;
    dist_share(o->dist, r.B, &r.lo, &r.hi);
    s = open_run(&r, err, err_len);
    const int total = 1 + 2 * o->rounds;
    rep->phases_total = total;
    if (s == TG_OK) {
        tg_log(&o->logger, TG_LOG_INFO,
               "generator %zu parameters, discriminator %zu (%s reward); %s at phase %d of %d", model_param_count(r.G),
               model_param_count(r.D), adv_reward_name(o->reward), o->resume ? "resuming" : "starting", r.cursor,
               total);
        if (r.size > 1)
            tg_log(&o->logger, TG_LOG_INFO, "data parallel: %d ranks, each runs %d or %d of the batch's %d rows",
                   r.size, r.B / r.size, (r.B + r.size - 1) / r.size, r.B);
        if (r.cursor == 0) s = agree(&r, evaluate(&r, 0, &rep->val_nll_init), "the first evaluation", err, err_len);
    }
    while (s == TG_OK && r.cursor < total) {
        const int phase = r.cursor + 1;
        s = end_phase(&r, run_phase(&r, phase), phase, err, err_len);
        if (s != TG_OK) break;
        r.cursor = phase;
        if (r.rank == 0) s = save_all(&r, err, err_len);
        s = agree(&r, s, "the checkpoint", err, err_len);
        if (s != TG_OK) break;
        if (should_stop(&r)) {
            rep->interrupted = r.cursor < total;
            break;
        }
    }
    rep->phases_done = r.cursor;
    rep->rounds_done = r.cursor > 0 ? (r.cursor - 1) / 2 : 0;
    close_run(&r);
    return s;
}
