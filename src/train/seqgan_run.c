/*
 * seqgan_run.c: the run folder of the adversarial trainer (seqgan.c; the
 * folder's files and the log are described in train.h): paths, a fresh run
 * from a pretrain checkpoint or the resumption of one, the broadcast of the
 * run to the other ranks, the buffers, checkpoints after every phase, log
 * lines, and the agreement of the ranks on a failure.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt.h"
#include "seqgan_run.h"
#include "tok/tok.h"

/* The checkpoint's files in folder d (the run folder, or on resume the
 * checkpoint read); the log is always the run folder's. */
static void paths(adv_run *r, const char *d)
{
    snprintf(r->path_g, sizeof r->path_g, "%s/model.safetensors", d);
    snprintf(r->path_d, sizeof r->path_d, "%s/disc.safetensors", d);
    snprintf(r->path_roll, sizeof r->path_roll, "%s/rollout.safetensors", d);
    snprintf(r->path_ref, sizeof r->path_ref, "%s/reference.safetensors", d);
    snprintf(r->path_gopt, sizeof r->path_gopt, "%s/optimizer.safetensors", d);
    snprintf(r->path_dopt, sizeof r->path_dopt, "%s/disc_optimizer.safetensors", d);
    snprintf(r->path_critic, sizeof r->path_critic, "%s/critic.safetensors", d);
    snprintf(r->path_log, sizeof r->path_log, "%s/log.jsonl", r->o->run_dir);
}

/* What must not change across a resume: the shapes of the buffers and data. */
static void signature(const adv_run *r, char *buf, size_t n)
{
    int k = snprintf(buf, n, "seq_len=%d,batch=%d,reward=%s,rollouts=%d,d_samples=%d", r->T, r->B,
                     adv_reward_name(r->o->reward), r->o->rollouts, r->o->d_samples);
    /* state the checkpoint holds beyond today's (absent for the defaults, so older runs resume) */
    if (r->o->baseline == ADV_BASELINE_EMA && k > 0 && (size_t)k < n)
        k += snprintf(buf + k, n - (size_t)k, ",baseline=ema");
    if (r->o->critic_memory > 0 && k > 0 && (size_t)k < n)
        k += snprintf(buf + k, n - (size_t)k, ",critic_memory=%d", r->o->critic_memory);
    /* cold exploration: its sampling policy and truncation (%.9g: a float exactly) */
    if (r->o->explore_temperature != 1.0f && k > 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, ",explore_temperature=%.9g,is_clip=%.9g", (double)r->o->explore_temperature,
                 (double)r->o->is_clip);
}

/* The moving-average baseline as metadata: "-" before its first batch, else
 * its T values in C99 hex floats (exact), comma-separated; malloc'd. */
static char *ema_format(const adv_run *r)
{
    char *text = malloc((size_t)r->T * 32 + 2);
    if (!text) return NULL;
    if (!r->ema_set) return strcpy(text, "-");
    size_t k = 0;
    for (int t = 0; t < r->T; t++) k += (size_t)sprintf(text + k, "%s%a", t ? "," : "", r->ema[t]);
    return text;
}

/* Parses ema_format's text into r->ema; false when damaged. */
static bool ema_parse(adv_run *r, const char *text)
{
    r->ema_set = strcmp(text, "-") != 0;
    if (!r->ema_set) return true;
    const char *p = text;
    for (int t = 0; t < r->T; t++) {
        char *end;
        r->ema[t] = strtod(p, &end);
        if (end == p || (t < r->T - 1 ? *end != ',' : *end != '\0')) return false;
        p = end + 1;
    }
    return true;
}

void adv_run_log(adv_run *r, const char *fmt, ...)
{
    if (!r->log) return; /* ranks other than 0 */
    char raw[1024], line[1100];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    tg_json_null_nonfinite(raw, line, sizeof line); /* a failing step's nan: null */
    fprintf(r->log, "%s\n", line);
    fflush(r->log);
    if (r->o->on_log) r->o->on_log(r->o->user, line);
}

/* With several ranks, the log field of the time in collectives since the
 * last call; empty for one process. */
const char *adv_run_comm(adv_run *r, char *buf, size_t n)
{
    buf[0] = '\0';
    if (r->size > 1) snprintf(buf, n, ",\"comm_ms\":%.3f", dist_comm_take(r->dist) * 1e3);
    return buf;
}

/* A failure agreed by the ranks (collective): every rank returns an error
 * when one failed, and err is kept on the lowest failing rank only. Once a
 * failure is agreed, every rank is on its way out: no more collectives. */
tg_status adv_run_agree(adv_run *r, tg_status s, const char *what, char *err, size_t err_len)
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

tg_status adv_run_save(adv_run *r, char *err, size_t err_len)
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
    char *ema = r->o->baseline == ADV_BASELINE_EMA ? ema_format(r) : NULL;
    if (r->o->baseline == ADV_BASELINE_EMA && !ema) return tg_fail(err, err_len, TG_ERR_NOMEM, "out of memory");
    st_meta ox[] = {{"cursor", cur},     {"rng_sample", rs}, {"rng_rollout", rr}, {"rng_batch", rb},
                    {"rng_dropout", rd}, {"d_step", ds},     {"log_bytes", lb},   {"signature", sig},
                    {"baseline_ema", ema}};
    st_meta rx[] = {{"phase", "reference"}, {"init", r->ref_init}};
    /* one checkpoint folder (ckpt.h), linked into the run folder once complete */
    ckpt_writer w;
    tg_status s = ckpt_begin(&w, r->o->run_dir, "phase", r->cursor);
    if (s == TG_OK) s = model_save(r->G, ckpt_file(&w, "model.safetensors"), cfg, r->g_step, seed, gx, 2);
    if (s == TG_OK) s = model_save(r->roll, ckpt_file(&w, "rollout.safetensors"), cfg, r->g_step, seed, gx, 2);
    if (s == TG_OK && r->C) s = adv_critic_save(r->C, ckpt_file(&w, "critic.safetensors"), dx, 2);
    if (s == TG_OK && !r->C) s = model_save(r->D, ckpt_file(&w, "disc.safetensors"), cfg, r->d_step, seed, dx, 2);
    if (s == TG_OK && !r->C)
        s = model_save_optimizer(r->D, ckpt_file(&w, "disc_optimizer.safetensors"), r->d_step, dx, 1);
    if (s == TG_OK) s = model_save_optimizer(r->G, ckpt_file(&w, "optimizer.safetensors"), r->g_step, ox, ema ? 9 : 8);
    free(ema);
    if (s == TG_OK) s = model_save(r->ref, ckpt_file(&w, "reference.safetensors"), cfg, 0, seed, rx, 2);
    s = ckpt_end(&w, s);
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

static tg_status fresh_run(adv_run *r, char *err, size_t err_len);

/* From the newest complete checkpoint (ckpt.h); none yet: a fresh start. */
static tg_status resume_run(adv_run *r, char *err, size_t err_len)
{
    const int B = r->B;
    char dir[1100];
    tg_status s = ckpt_resume_dir(r->o->run_dir, "phase", dir, sizeof dir);
    if (s == TG_ERR_NOT_FOUND) {
        tg_log(&r->o->logger, TG_LOG_WARN, "%s has no complete checkpoint (stopped before the first): starting the run over",
               r->o->run_dir);
        return fresh_run(r, err, err_len);
    }
    if (s != TG_OK) return tg_fail(err, err_len, s, "%s: cannot read the checkpoints: %s", r->o->run_dir, tg_status_str(s));
    paths(r, dir);
    int cg, cd, cr, cdo = -1;
    model_meta *meta = NULL;
    s = load_part(r->path_g, B, &r->G, &cg, err, err_len);
    if (s == TG_OK) s = load_part(r->path_roll, B, &r->roll, &cr, err, err_len);
    if (s == TG_OK && r->C) s = adv_critic_load(r->C, r->path_critic, &cd, err, err_len);
    if (s == TG_OK && !r->C) s = load_part(r->path_d, B, &r->D, &cd, err, err_len);
    if (s == TG_OK) s = model_load(r->path_ref, B, &r->ref, &meta, err, err_len);
    if (s != TG_OK) return s;
    const char *init = model_meta_get(meta, "init");
    snprintf(r->ref_init, sizeof r->ref_init, "%s", init ? init : "");
    model_meta_free(meta);
    meta = NULL;
    long step = 0;
    if (r->C) {
        cdo = cd; /* the critic has no optimizer */
    } else {
        s = model_load_optimizer(r->D, r->path_dopt, &step, &meta, err, err_len);
        if (s != TG_OK) return s;
        const char *c = model_meta_get(meta, "cursor");
        cdo = c ? atoi(c) : -1;
        model_meta_free(meta);
        meta = NULL;
    }
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
    if (s == TG_OK && r->o->baseline == ADV_BASELINE_EMA) {
        const char *e = model_meta_get(meta, "baseline_ema");
        if (!e || !ema_parse(r, e))
            s = tg_fail(err, err_len, TG_ERR_FORMAT, "%s: the moving-average baseline (\"baseline_ema\") is %s", r->path_gopt,
                        e ? "damaged" : "missing");
    }
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
    const model_config *gc = model_get_config(r->G);
    if (gc->vocab_size != r->V)
        return tg_fail(err, err_len, TG_ERR_SHAPE, "%s: the model's vocabulary (%d) differs from the corpus's (%d)",
                    r->path_g, gc->vocab_size, r->V);
    if (!r->C && adv_reward_dense_d(r->o->reward) != (model_get_config(r->D)->kind == MODEL_GENERATOR))
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: the discriminator does not match --reward %s", r->path_d,
                    adv_reward_name(r->o->reward));
    if (r->cursor >= 1 + 2 * r->o->rounds)
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: the run already did %d round%s: raise --rounds to go on",
                    r->o->run_dir, (r->cursor - 1) / 2, (r->cursor - 1) / 2 == 1 ? "" : "s");
    if (truncate(r->path_log, log_bytes) != 0)
        return tg_fail(err, err_len, TG_ERR_IO, "%s: cannot cut the log back to the checkpoint", r->path_log);
    return TG_OK;
}

/* The end of a fresh start, shared by both kinds of D. */
static tg_status fresh_done(adv_run *r, const char *init)
{
    snprintf(r->ref_init, sizeof r->ref_init, "%s", init); /* the reference is saved with every checkpoint */
    remove(r->path_log);
    return TG_OK;
}

/* A causal D that starts as the generator: its shape and weights at context
 * T, the dropout of --disc-dropout. Its language-model head learns to put
 * its mass on the two label tokens (PAD real, BOS generated) over features
 * that already know the music, where a D from scratch must learn both. */
static tg_status disc_from_generator(adv_run *r, const char *init, char *err, size_t err_len)
{
    if (!adv_reward_dense_d(r->o->reward))
        return tg_fail(err, err_len, TG_ERR_ARG,
                       "--disc-init generator needs a causal discriminator: --reward dense, bar or random");
    model_config dc = *model_get_config(r->G);
    dc.context = r->T;
    dc.dropout = r->o->disc.dropout;
    tg_status s = model_create(&dc, r->B, &r->D);
    if (s != TG_OK) return tg_fail(err, err_len, s, "cannot create the discriminator: %s", tg_status_str(s));
    const int gT = model_get_config(r->G)->context;
    if (model_copy_params_any_context(r->D, r->G) != TG_OK) {
        char fix[64];
        if (dc.attention == MODEL_ATTN_FC)
            snprintf(fix, sizeof fix, "%d or more", gT < MODEL_FC_NEAR ? gT : MODEL_FC_NEAR);
        else
            snprintf(fix, sizeof fix, "%d", gT);
        return tg_fail(err, err_len, TG_ERR_ARG,
                       "--disc-init generator: the tables of %s's %s attention have the size of its context (%d%s), "
                       "so a discriminator of --seq-len %d cannot take its weights: give --seq-len %s, or leave the "
                       "discriminator to start from scratch",
                       init, model_attention_name(dc.attention), gT,
                       dc.attention == MODEL_ATTN_FC ? ", up to 256 tokens" : "", r->T, fix);
    }
    return fresh_done(r, init);
}

static tg_status fresh_run(adv_run *r, char *err, size_t err_len)
{
    const adv_options *o = r->o;
    tg_status refused = ckpt_refuse_existing(o->run_dir, err, err_len);
    if (refused != TG_OK) return refused;
    if (!o->init_path)
        return tg_fail(err, err_len, TG_ERR_ARG, "--init PRETRAIN_RUN_DIR is required: the generator starts from a pretrain run");
    char init[1100];
    model_checkpoint_path(o->init_path, init, sizeof init);
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
    if (r->C) return fresh_done(r, init); /* the critic starts unfitted, its weights zero */
    if (o->disc_from_generator) return disc_from_generator(r, init, err, err_len);
    model_config dc = o->disc;
    dc.vocab_size = r->V;
    dc.context = r->T;
    dc.kind = adv_reward_dense_d(o->reward) ? MODEL_GENERATOR : MODEL_DISCRIMINATOR;
    if (dc.attention == MODEL_ATTN_FC) {
        if (dc.kind != MODEL_GENERATOR)
            return tg_fail(err, err_len, TG_ERR_ARG,
                        "--disc-attention fc needs a causal discriminator: --reward dense, bar or random");
        if (r->bar_id < 0)
            return tg_fail(err, err_len, TG_ERR_ARG, "%s: --disc-attention fc needs a tokenizer with Bar tokens (remi, "
                        "remi-compact); this corpus uses \"%s\"", o->corpus_path, r->corpus->config);
        dc.fc_bar_token = r->bar_id;
    }
    char why[256];
    if (model_config_check(&dc, why, sizeof why) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_ARG, "discriminator: %s", why);
    s = model_create(&dc, r->B, &r->D);
    if (s != TG_OK) return tg_fail(err, err_len, s, "cannot create the discriminator: %s", tg_status_str(s));
    tg_rng rng_init;
    tg_rng_seed(&rng_init, o->seed ^ 0x646973635f696e69ULL);
    model_init(r->D, &rng_init);
    return fresh_done(r, init);
}

/* The Bar token's id of the corpus's tokenizer, -1 when it has none. */
static int corpus_bar_id(const data_corpus *c)
{
    tok_config tc;
    tok_tokenizer *tok = NULL;
    if (tok_config_parse(c->config, &tc, NULL, 0) != TG_OK || tok_create(&tc, &tok) != TG_OK) return -1;
    int id = tok_bar_id(tok);
    tok_free(tok);
    return id;
}

/* This rank's part of opening: the corpus and the streams, and on rank 0
 * the run folder, its models and the log. */
static tg_status open_local(adv_run *r, char *err, size_t err_len)
{
    const adv_options *o = r->o;
    tg_status s = train_open_corpus(o->corpus_path, r->B, r->size, &r->corpus, err, err_len);
    if (s != TG_OK) return s;
    r->V = (int)r->corpus->vocab_size;
    r->bar_id = corpus_bar_id(r->corpus);
    r->ema = calloc((size_t)r->T, sizeof(double)); /* before resume_run, which may fill it */
    if (!r->ema) return TG_ERR_NOMEM;
    if (adv_reward_critic(o->reward) && adv_critic_create(r->T, o->critic_memory, &r->C) != TG_OK) return TG_ERR_NOMEM;
    if (o->reward == ADV_REWARD_BAR && r->bar_id < 0)
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: --reward bar needs a tokenizer with Bar tokens (remi, remi-compact); "
                       "this corpus uses \"%s\"", o->corpus_path, r->corpus->config);
    tg_rng_seed(&r->rng_sample, o->seed ^ 0x73616d706c6573ULL);
    tg_rng_seed(&r->rng_rollout, o->seed ^ 0x726f6c6c6f7574ULL);
    tg_rng_seed(&r->rng_batch, o->seed ^ 0x62617463686573ULL);
    tg_rng_seed(&r->rng_dropout, o->seed ^ 0x64726f706f7574ULL);
    if (r->rank != 0) return TG_OK;
    if (tg_make_dirs(o->run_dir) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_IO, "%s: cannot create the run folder: %s", o->run_dir,
                       errno == EEXIST ? "a file of that name is in the way" : strerror(errno));
    paths(r, o->run_dir);
    ckpt_clean_stale(o->run_dir);
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
    const int n_models = r->C ? 3 : 4; /* the critic's weights go on their own */
    struct {
        model_config cfg[4];
        int cursor, g_step, d_step;
        tg_rng sample, rollout, batch, dropout;
        bool ema_set;
    } head;
    memset(&head, 0, sizeof head);
    if (r->rank == 0) {
        for (int i = 0; i < n_models; i++) head.cfg[i] = *model_get_config(*ms[i]);
        head.cursor = r->cursor, head.g_step = r->g_step, head.d_step = r->d_step;
        head.sample = r->rng_sample, head.rollout = r->rng_rollout;
        head.batch = r->rng_batch, head.dropout = r->rng_dropout;
        head.ema_set = r->ema_set;
    }
    dist_bcast_bytes(r->dist, &head, sizeof head);
    dist_bcast_bytes(r->dist, r->ema, (size_t)r->T * sizeof(double));
    r->ema_set = head.ema_set;
    tg_status s = TG_OK;
    if (r->rank != 0) {
        r->cursor = head.cursor, r->g_step = head.g_step, r->d_step = head.d_step;
        r->rng_sample = head.sample, r->rng_rollout = head.rollout;
        r->rng_batch = head.batch, r->rng_dropout = head.dropout;
        for (int i = 0; i < n_models && s == TG_OK; i++) s = model_create(&head.cfg[i], r->B, ms[i]);
        if (s != TG_OK) tg_fail(err, err_len, s, "cannot create the models: %s", tg_status_str(s));
    }
    s = adv_run_agree(r, s, "the models' creation", err, err_len);
    if (s != TG_OK) return s;
    if (r->C) {
        dist_bcast_floats(r->dist, r->C->w, adv_critic_weights(r->C));
        dist_bcast_bytes(r->dist, &r->C->b, sizeof r->C->b);
        dist_bcast_bytes(r->dist, &r->C->fitted, sizeof r->C->fitted);
        if (r->C->memory) {
            dist_bcast_bytes(r->dist, r->C->mem_x, (size_t)r->C->memory * (size_t)r->C->ld * sizeof *r->C->mem_x);
            dist_bcast_bytes(r->dist, r->C->mem_lens, (size_t)r->C->memory * sizeof *r->C->mem_lens);
            int ring[2] = {r->C->mem_count, r->C->mem_next};
            dist_bcast_bytes(r->dist, ring, sizeof ring);
            r->C->mem_count = ring[0], r->C->mem_next = ring[1];
        }
    }
    for (int i = 0; i < n_models; i++) {
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
    tg_status s = model_cache_create(r->G, B, 1, &r->sg);
    if (s == TG_OK && o->reward == ADV_REWARD_ROLLOUT) s = model_cache_create(r->roll, rows, 1, &r->sp);
    if (s == TG_OK && o->reward == ADV_REWARD_ROLLOUT) s = model_cache_create(r->roll, rows * N, 1, &r->sb);
    if (s != TG_OK) return tg_fail(err, err_len, s, "cannot create the sampling states: %s", tg_status_str(s));
    const size_t D = 2 * ((size_t)o->d_samples + (r->C ? (size_t)o->critic_memory : 0)); /* a d-step's set */
    const size_t M = D > (size_t)B ? D : (size_t)B;
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
    r->work = malloc((size_t)B * T * 2 * sizeof(float));
    r->R = malloc((size_t)B * T * sizeof(float));
    r->loss_old = malloc((size_t)B * T * sizeof(float));
    r->loss_q = malloc((size_t)B * T * sizeof(float));
    r->probs = malloc(M * sizeof(float));
    r->idx = malloc((size_t)B * T * sizeof(int));
    r->base = malloc((size_t)T * sizeof(double));
    if (!r->ema) r->ema = calloc((size_t)T, sizeof(double)); /* resume_run may have filled it */
    r->count = malloc((size_t)T * sizeof(int));
    if (!r->x || !r->lens || !r->labels || !r->perm || !r->xb || !r->lb || !r->yb || !r->tmp || !r->Q ||
        !r->logits || !r->work || !r->R || !r->loss_old || !r->loss_q || !r->probs || !r->idx || !r->base || !r->ema || !r->count)
        return TG_ERR_NOMEM;
    return TG_OK;
}

tg_status adv_run_open(adv_run *r, char *err, size_t err_len)
{
    tg_status s = adv_run_agree(r, open_local(r, err, err_len), "the start of the run", err, err_len);
    if (s == TG_OK && r->size > 1) s = share_run(r, err, err_len);
    if (s == TG_OK) s = open_buffers(r, err, err_len);
    return adv_run_agree(r, s, "the start of the run", err, err_len);
}

void adv_run_close(adv_run *r)
{
    if (r->log) fclose(r->log);
    model_cache_free(r->sg);
    model_cache_free(r->sp);
    model_cache_free(r->sb);
    model_free(r->G);
    model_free(r->D);
    adv_critic_free(r->C);
    model_free(r->roll);
    model_free(r->ref);
    data_corpus_close(r->corpus);
    free(r->x), free(r->lens), free(r->labels), free(r->perm), free(r->xb), free(r->lb), free(r->yb);
    free(r->tmp), free(r->Q), free(r->logits), free(r->work);
    free(r->R), free(r->loss_old), free(r->loss_q), free(r->probs), free(r->idx), free(r->base), free(r->ema), free(r->count);
}
