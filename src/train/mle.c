/*
 * mle.c: maximum-likelihood training of the generator (teacher forcing on
 * random windows of the training split), AdamW with warm-up and cosine decay,
 * global gradient clipping, evaluation on the valid split, checkpoints and
 * bit-exact resumption. Nothing here prints: progress goes to the caller's
 * callbacks, messages to its logger.
 *
 * Data parallel (opt->dist with N > 1 ranks, src/dist/dist.h): every rank
 * draws the SAME global batch of B windows from the batch stream (cheap) and
 * runs only its rows r*B/N .. (r+1)*B/N - 1, so the data is one process's.
 * The loss of one process is a mean over the batch's n non-ignored targets;
 * each rank backpropagates its targets' losses with the weight 1/n (n
 * counted on the whole batch, which every rank holds), so each logit's
 * gradient is bit for bit one process's and the sum of the ranks' gradients
 * (one MPI_Allreduce of the flat block) is the gradient of the global mean;
 * only the summation order of the weight gradients differs. Every rank then
 * clips and applies the same AdamW update. Dropout: one u64 per step from
 * the shared dropout stream, mixed with the rank, seeds the rank's masks for
 * that step (repeatable for a given N; with N = 1 the masks are drawn from
 * the stream itself, as without MPI). Rank 0 alone reads and writes the run
 * folder; the others receive its config, step, random states, weights and
 * moments, so a checkpoint knows nothing of N and resumes with any N. Ranks
 * split the validation windows and sum their losses. Every failure is
 * agreed (dist_agree) so all ranks return an error; err is set on the
 * lowest failing rank only.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt.h"
#include "dist/dist.h"
#include "train.h"

train_options train_options_default(void)
{
    train_options o;
    memset(&o, 0, sizeof o);
    o.model = model_config_default();
    model_config_preset("small", &o.model);
    o.batch = 16;
    o.steps = 2000;
    o.lr = 3e-4f;
    o.lr_min_ratio = 0.1f;
    o.warmup = 100;
    o.weight_decay = 0.1f;
    o.beta1 = 0.9f;
    o.beta2 = 0.95f;
    o.clip = 1.0f;
    o.eval_every = 250;
    o.seed = 1;
    return o;
}

/* ------------------------------------------------------------------------ */
/* Evaluation. */

/* The loss sum and target count of the chunks of windows (model_max_batch
 * each) whose index is rank modulo size. */
static tg_status eval_sums(tg_model *m, const data_corpus *c, int split, int max_windows, int rank,
                           int size, double *sum_out, uint64_t *count_out)
{
    const model_config *cfg = model_get_config(m);
    int B = model_max_batch(m), T = cfg->context;
    int32_t *inputs = malloc(sizeof(int32_t) * (size_t)B * T);
    int32_t *targets = malloc(sizeof(int32_t) * (size_t)B * T);
    if (!inputs || !targets) {
        free(inputs);
        free(targets);
        return TG_ERR_NOMEM;
    }
    data_eval_iter it = data_eval_begin(c, split, T);
    double sum = 0;
    uint64_t count = 0;
    int windows = 0, rows;
    for (int chunk = 0;; chunk++) {
        int want = B;
        if (max_windows > 0 && windows + want > max_windows) want = max_windows - windows;
        if (want <= 0) break;
        data_eval_next(&it, want, inputs, targets, &rows);
        if (rows == 0) break;
        if (chunk % size != rank) {
            windows += rows;
            continue;
        }
        int T_eff = T;
        if (cfg->attention == MODEL_ATTN_FC) T_eff = data_trim_padding(inputs, targets, rows, T, cfg->fc_bar_token);
        float mean = model_lm_forward(m, (const int *)inputs, (const int *)targets, rows, T_eff, NULL);
        int n = model_loss_count(m);
        sum += (double)mean * n;
        count += (uint64_t)n;
        windows += rows;
    }
    free(inputs);
    free(targets);
    *sum_out = sum;
    *count_out = count;
    return TG_OK;
}

tg_status train_eval_nll(tg_model *m, const data_corpus *c, int split, int max_windows,
                         double *nll, uint64_t *n_tokens)
{
    double sum;
    uint64_t count;
    tg_status s = eval_sums(m, c, split, max_windows, 0, 1, &sum, &count);
    if (s != TG_OK) return s;
    *nll = count ? sum / (double)count : NAN;
    if (n_tokens) *n_tokens = count;
    return TG_OK;
}

double train_unigram_nll(const data_corpus *c, int split)
{
    uint32_t V = c->vocab_size;
    double *counts = calloc(V, sizeof *counts);
    if (!counts) return NAN;
    double total = 0;
    for (uint64_t k = 0; k < c->split_count[DATA_TRAIN]; k++) {
        const data_piece *p = &c->pieces[c->split_pieces[DATA_TRAIN][k]];
        for (uint32_t i = 1; i < p->length; i++) counts[c->tokens[p->offset + i]] += 1, total += 1;
    }
    double nll = 0;
    uint64_t n = 0;
    for (uint64_t k = 0; k < c->split_count[split]; k++) {
        const data_piece *p = &c->pieces[c->split_pieces[split][k]];
        for (uint32_t i = 1; i < p->length; i++, n++)
            nll -= log((counts[c->tokens[p->offset + i]] + 1.0) / (total + V));
    }
    free(counts);
    return n ? nll / (double)n : NAN;
}

/* ------------------------------------------------------------------------ */
/* The run folder. */

typedef struct {
    const train_options *opt;
    data_corpus *corpus;
    tg_model *model;
    tg_rng rng_batch, rng_dropout;
    char model_path[1200], optim_path[1200], log_path[1024];
    FILE *log;
    int step;                 /* steps done */
    float *rates;             /* tok/s per step of this process */
    int n_rates;
    dist_ctx *dist;           /* opt->dist: NULL or the ranks */
    int rank, size;           /* 0 and 1 for one process */
    int rows;                 /* the model's batch: this rank's share of opt->batch */
    float *dlosses;           /* (rows,T) the weights 1/n of the shard's losses */
} run_state;

static void run_paths(run_state *r)
{
    snprintf(r->model_path, sizeof r->model_path, "%s/model.safetensors", r->opt->run_dir);
    snprintf(r->optim_path, sizeof r->optim_path, "%s/optimizer.safetensors", r->opt->run_dir);
    snprintf(r->log_path, sizeof r->log_path, "%s/log.jsonl", r->opt->run_dir);
}

/* One checkpoint folder (ckpt.h): the optimizer with the random states, the
 * model; RUN/model.safetensors and RUN/optimizer.safetensors are linked to
 * them once both are complete. */
static tg_status save_checkpoint(run_state *r, char *err, size_t err_len)
{
    char rb[80], rd[80];
    model_rng_format(&r->rng_batch, rb, sizeof rb);
    model_rng_format(&r->rng_dropout, rd, sizeof rd);
    st_meta extra[] = {{"rng_batch", rb}, {"rng_dropout", rd}, {"phase", "mle"}};
    /* the precision the run trained in (its weights are fp32 either way) */
    st_meta mextra[] = {{"phase", "mle"}, {"precision", nn_precision_name(model_precision(r->model))}};
    ckpt_writer w;
    tg_status s = ckpt_begin(&w, r->opt->run_dir, "step", r->step);
    if (s == TG_OK) s = model_save_optimizer(r->model, ckpt_file(&w, "optimizer.safetensors"), r->step, extra, 3);
    if (s == TG_OK)
        s = model_save(r->model, ckpt_file(&w, "model.safetensors"), r->corpus->config, r->step, r->opt->seed,
                       mextra, 2);
    s = ckpt_end(&w, s);
    if (s != TG_OK) return tg_fail(err, err_len, s, "%s: cannot save the checkpoint: %s", r->opt->run_dir, tg_status_cause(s));
    return TG_OK;
}

/* Keeps the log lines of steps up to `step` (a resumed run repeats the rest). */
static tg_status trim_log(const char *path, int step)
{
    FILE *in = fopen(path, "r");
    if (!in) return TG_OK;
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.trim", path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fclose(in);
        return TG_ERR_IO;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, in) > 0) {
        cJSON *o = cJSON_Parse(line);
        const cJSON *s = o ? cJSON_GetObjectItemCaseSensitive(o, "step") : NULL;
        if (cJSON_IsNumber(s) && s->valuedouble <= step) fputs(line, out);
        cJSON_Delete(o);
    }
    free(line);
    fclose(in);
    if (fclose(out) != 0 || rename(tmp, path) != 0) return TG_ERR_IO;
    return TG_OK;
}

/* The Bar token's id of the corpus's tokenizer (TG_ERR_ARG: it has none). */
static tg_status corpus_bar_token(const char *tok_config_text, int *id)
{
    tok_config tc;
    tok_tokenizer *tok = NULL;
    if (tok_config_parse(tok_config_text, &tc, NULL, 0) != TG_OK || tok_create(&tc, &tok) != TG_OK)
        return TG_ERR_ARG;
    *id = tok_bar_id(tok);
    tok_free(tok);
    return *id >= 0 ? TG_OK : TG_ERR_ARG;
}

static tg_status fresh_run(run_state *r, char *err, size_t err_len);

/* From the newest complete checkpoint (ckpt.h); none yet: a fresh start. */
static tg_status resume_run(run_state *r, char *err, size_t err_len)
{
    const train_options *o = r->opt;
    char dir[1100];
    tg_status s = ckpt_resume_dir(o->run_dir, "step", dir, sizeof dir);
    if (s == TG_ERR_NOT_FOUND) {
        tg_log(&o->logger, TG_LOG_WARN, "%s has no complete checkpoint (stopped before the first): starting the run over",
               o->run_dir);
        return fresh_run(r, err, err_len);
    }
    if (s != TG_OK) return tg_fail(err, err_len, s, "%s: cannot read the checkpoints: %s", o->run_dir, tg_status_str(s));
    snprintf(r->model_path, sizeof r->model_path, "%s/model.safetensors", dir);
    snprintf(r->optim_path, sizeof r->optim_path, "%s/optimizer.safetensors", dir);
    model_meta *mmeta = NULL;
    s = model_load(r->model_path, r->rows, &r->model, &mmeta, err, err_len);
    if (s != TG_OK) return s;
    const char *mstep_text = model_meta_get(mmeta, "step");
    long mstep = mstep_text ? strtol(mstep_text, NULL, 10) : -1;
    model_meta_free(mmeta);
    if ((int)model_get_config(r->model)->vocab_size != (int)r->corpus->vocab_size)
        return tg_fail(err, err_len, TG_ERR_SHAPE, "%s: the model's vocabulary (%d) differs from the corpus's (%u)",
                    r->model_path, model_get_config(r->model)->vocab_size, r->corpus->vocab_size);
    long ostep = 0;
    model_meta *meta = NULL;
    s = model_load_optimizer(r->model, r->optim_path, &ostep, &meta, err, err_len);
    if (s != TG_OK) return s;
    const char *rb = model_meta_get(meta, "rng_batch"), *rd = model_meta_get(meta, "rng_dropout");
    if (!rb || !rd || model_rng_parse(rb, &r->rng_batch) != TG_OK || model_rng_parse(rd, &r->rng_dropout) != TG_OK)
        s = tg_fail(err, err_len, TG_ERR_FORMAT, "%s: the random-number states are missing or damaged", r->optim_path);
    model_meta_free(meta);
    if (s != TG_OK) return s;
    if (ostep != mstep)
        return tg_fail(err, err_len, TG_ERR_FORMAT,
                    "%s: the weights are from step %ld but the optimizer state from step %ld (an interrupted save?)",
                    o->run_dir, mstep, ostep);
    r->step = (int)ostep;
    if (r->step >= o->steps)
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: the run already did %d of --steps %d: raise --steps to go on",
                    o->run_dir, r->step, o->steps);
    if (trim_log(r->log_path, r->step) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_IO, "%s: cannot rewrite the log", r->log_path);
    return TG_OK;
}

static tg_status fresh_run(run_state *r, char *err, size_t err_len)
{
    const train_options *o = r->opt;
    tg_status refused = ckpt_refuse_existing(o->run_dir, err, err_len);
    if (refused != TG_OK) return refused;
    model_config cfg = o->model;
    cfg.kind = MODEL_GENERATOR;
    cfg.vocab_size = (int)r->corpus->vocab_size;
    char why[256];
    if (cfg.attention == MODEL_ATTN_FC) {
        tg_status s = corpus_bar_token(r->corpus->config, &cfg.fc_bar_token);
        if (s != TG_OK)
            return tg_fail(err, err_len, TG_ERR_ARG,
                        "%s: fc attention needs a tokenizer with Bar tokens (remi, remi-compact); "
                        "this corpus uses \"%s\"", o->corpus_path, r->corpus->config);
    }
    if (model_config_check(&cfg, why, sizeof why) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_ARG, "model: %s", why);
    tg_status s = model_create(&cfg, r->rows, &r->model);
    if (s != TG_OK) return tg_fail(err, err_len, s, "cannot create the model: %s", tg_status_str(s));
    tg_rng rng_init;
    tg_rng_seed(&rng_init, o->seed);
    model_init(r->model, &rng_init);
    if (o->init_from) {
        s = model_load_weights(r->model, o->init_from, err, err_len);
        if (s != TG_OK) return s;
    }
    remove(r->log_path);
    return TG_OK;
}

tg_status train_open_corpus(const char *path, int batch, int ranks, data_corpus **corpus, char *err,
                            size_t err_len)
{
    if (batch < ranks)
        return tg_fail(err, err_len, TG_ERR_ARG, "--batch %d is smaller than the number of ranks (%d)", batch,
                       ranks);
    data_error derr = {{0}};
    tg_status s = data_corpus_open(path, corpus, &derr);
    if (s != TG_OK) return tg_fail(err, err_len, s, "%s", derr.what); /* it names the file */
    if ((*corpus)->split_count[DATA_TRAIN] == 0)
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: the corpus has no training piece", path);
    return TG_OK;
}

/* This rank's part of opening: the corpus, and on rank 0 the run folder. */
static tg_status open_local(run_state *r, char *err, size_t err_len)
{
    const train_options *o = r->opt;
    tg_status s = train_open_corpus(o->corpus_path, o->batch, r->size, &r->corpus, err, err_len);
    if (s != TG_OK) return s;
    /* three streams from one seed: init (seed), batches and dropout (seed + constants) */
    tg_rng_seed(&r->rng_batch, o->seed ^ 0x62617463686573ULL);
    tg_rng_seed(&r->rng_dropout, o->seed ^ 0x64726f706f7574ULL);
    r->rates = malloc(sizeof(float) * (size_t)(o->steps + 1));
    if (!r->rates) return TG_ERR_NOMEM;
    if (r->rank != 0) return TG_OK;
    if (tg_make_dirs(o->run_dir) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_IO, "%s: cannot create the run folder: %s", o->run_dir,
                       errno == EEXIST ? "a file of that name is in the way" : strerror(errno));
    run_paths(r);
    ckpt_clean_stale(o->run_dir);
    s = o->resume ? resume_run(r, err, err_len) : fresh_run(r, err, err_len);
    if (s != TG_OK) return s;
    r->log = fopen(r->log_path, "a");
    if (!r->log) return tg_fail(err, err_len, TG_ERR_IO, "%s: cannot open the log", r->log_path);
    return TG_OK;
}

/* A failure agreed by the ranks: err is kept on the lowest failing rank. */
static tg_status agree(run_state *r, tg_status s, const char *what, char *err, size_t err_len)
{
    if (r->size == 1) return s;
    int first;
    s = dist_agree(r->dist, s, DIST_TIMEOUT_SEC, what, &first);
    if (s != TG_OK && err && err_len) {
        if (r->rank != first) err[0] = '\0';
        else if (!err[0]) tg_fail(err, err_len, s, "rank %d: %s", r->rank, tg_status_str(s));
    }
    return s;
}

/* Every rank applies the same update to the same weights, so they stay equal
 * bit for bit as long as the MPI sums give every rank the same result (Open
 * MPI's do). Checked at each checkpoint with a hash of the weights; should
 * they differ, rank 0's state is copied to the others. */
static void check_same_weights(run_state *r)
{
    const float *w = model_param_data(r->model);
    size_t n = model_param_count(r->model);
    uint64_t h = 1469598103934665603ULL; /* FNV-1a over the bit patterns */
    for (size_t i = 0; i < n; i++) {
        uint32_t bits;
        memcpy(&bits, &w[i], sizeof bits);
        h = (h ^ bits) * 1099511628211ULL;
    }
    uint64_t hs[2] = {h, ~h}; /* max of h and of ~h: equal on every rank only when all h are */
    dist_max_u64(r->dist, hs, 2);
    if (hs[0] == ~hs[1]) return;
    tg_log(&r->opt->logger, TG_LOG_WARN, "step %d: the ranks' weights differ; copying rank 0's", r->step);
    dist_bcast_floats(r->dist, model_param_data(r->model), n);
    dist_bcast_floats(r->dist, model_adam_m(r->model), n);
    dist_bcast_floats(r->dist, model_adam_v(r->model), n);
}

/* Rank 0's model config, step, random states, weights and moments to every rank. */
static tg_status share_run(run_state *r, char *err, size_t err_len)
{
    struct {
        model_config cfg;
        int step;
        tg_rng batch, dropout;
    } head;
    memset(&head, 0, sizeof head);
    if (r->rank == 0) {
        head.cfg = *model_get_config(r->model);
        head.step = r->step;
        head.batch = r->rng_batch;
        head.dropout = r->rng_dropout;
    }
    dist_bcast_bytes(r->dist, &head, sizeof head);
    tg_status s = TG_OK;
    if (r->rank != 0) {
        r->step = head.step;
        r->rng_batch = head.batch;
        r->rng_dropout = head.dropout;
        s = model_create(&head.cfg, r->rows, &r->model);
        if (s != TG_OK) tg_fail(err, err_len, s, "rank %d: cannot create the model: %s", r->rank, tg_status_str(s));
    }
    s = agree(r, s, "the model's creation", err, err_len);
    if (s != TG_OK) return s;
    size_t n = model_param_count(r->model);
    dist_bcast_floats(r->dist, model_param_data(r->model), n);
    dist_bcast_floats(r->dist, model_adam_m(r->model), n);
    dist_bcast_floats(r->dist, model_adam_v(r->model), n);
    return TG_OK;
}

static tg_status open_run(run_state *r, char *err, size_t err_len)
{
    tg_status s = open_local(r, err, err_len);
    if (r->size == 1) return s;
    s = agree(r, s, "the start of the run", err, err_len);
    if (s == TG_OK) s = share_run(r, err, err_len);
    if (s == TG_OK) {
        r->dlosses = malloc(sizeof(float) * (size_t)r->rows * model_get_config(r->model)->context);
        s = agree(r, r->dlosses ? TG_OK : TG_ERR_NOMEM, "the start of the run", err, err_len);
    }
    return s;
}

static void close_run(run_state *r)
{
    if (r->log) fclose(r->log);
    model_free(r->model);
    data_corpus_close(r->corpus);
    free(r->rates);
    free(r->dlosses);
}

/* ------------------------------------------------------------------------ */
/* The loop. */

static tg_status evaluate(run_state *r, double *nll, char *err, size_t err_len)
{
    if (r->corpus->split_count[DATA_VALID] == 0) {
        *nll = NAN;
        return TG_OK;
    }
    double sums[2];
    uint64_t n = 0;
    tg_status s = eval_sums(r->model, r->corpus, DATA_VALID, r->opt->eval_max_windows, r->rank, r->size,
                            &sums[0], &n);
    s = agree(r, s, "the evaluation", err, err_len);
    if (s != TG_OK) return s;
    sums[1] = (double)n;
    dist_sum_doubles(r->dist, sums, 2); /* ranks scored different windows */
    n = (uint64_t)sums[1];
    *nll = n ? sums[0] / (double)n : NAN;
    if (r->rank != 0) return TG_OK;
    char raw[160], line[200];
    snprintf(raw, sizeof raw, "{\"step\":%d,\"phase\":\"eval\",\"val_nll\":%.6f,\"val_tokens\":%llu}", r->step, *nll,
             (unsigned long long)n);
    tg_json_null_nonfinite(raw, line, sizeof line); /* no windows: nan -> null */
    fprintf(r->log, "%s\n", line);
    fflush(r->log);
    if (r->opt->on_eval) r->opt->on_eval(r->opt->user, r->step, *nll);
    return TG_OK;
}

/* Several ranks: forward and backward of this rank's rows of the global
 * batch with the weights 1/n, the gradients and the loss summed over the
 * ranks (with the stop flags); returns the batch's mean loss. */
static float shard_step(run_state *r, const int32_t *inputs, const int32_t *targets, int T,
                        bool *stop)
{
    int B = r->opt->batch;
    int lo = r->rank * B / r->size, hi = (r->rank + 1) * B / r->size;
    int n_all = 0, n_mine = 0;
    for (int i = 0; i < B * T; i++)
        if (targets[i] != MODEL_IGNORE_INDEX) {
            n_all++;
            n_mine += i >= lo * T && i < hi * T;
        }
    tg_rng drop, *pdrop = NULL;
    if (model_get_config(r->model)->dropout > 0) {
        tg_rng_seed(&drop, tg_rng_u64(&r->rng_dropout) ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(r->rank + 1)));
        pdrop = &drop;
    }
    double sums[2] = {0, *stop ? 1 : 0}; /* loss sum, ranks asked to stop */
    if (n_mine > 0) {
        float mean = model_lm_forward(r->model, (const int *)inputs + (size_t)lo * T,
                                      (const int *)targets + (size_t)lo * T, hi - lo, T, pdrop);
        for (int i = 0; i < (hi - lo) * T; i++) r->dlosses[i] = 1.0f / (float)n_all;
        model_lm_backward_weighted(r->model, r->dlosses);
        sums[0] = (double)mean * n_mine;
    }
    dist_sum_floats(r->dist, model_grad_data(r->model), model_param_count(r->model), 0);
    dist_sum_doubles(r->dist, sums, 2);
    *stop = sums[1] > 0;
    return n_all ? (float)(sums[0] / n_all) : 0.0f;
}

/* One line of RUN/log.jsonl for a training step; a non-finite loss or norm
 * (the step that stops the run) is written as null, so the file stays JSON. */
static void log_step(run_state *r, float loss, float lr, float norm, float rate)
{
    char raw[512], line[600];
    int n = snprintf(raw, sizeof raw,
                     "{\"step\":%d,\"phase\":\"mle\",\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6f,\"tok_per_s\":%.1f",
                     r->step, loss, lr, norm, rate);
    if (r->size > 1 && n > 0 && (size_t)n < sizeof raw)
        snprintf(raw + n, sizeof raw - (size_t)n, ",\"comm_ms\":%.3f", dist_comm_take(r->dist) * 1e3);
    tg_json_null_nonfinite(raw, line, sizeof line);
    fprintf(r->log, "%s}\n", line);
    fflush(r->log); /* a reader (tail -f, tunegan plot) sees every step */
}

static float train_step(run_state *r, int32_t *inputs, int32_t *targets, float *norm, float *lr, bool *stop)
{
    const train_options *o = r->opt;
    const model_config *cfg = model_get_config(r->model);
    int B = o->batch, T = cfg->context;
    if (cfg->attention == MODEL_ATTN_FC) {
        /* whole bars in each window; long windows hold whole pieces and
         * padding, which a causal model need not compute */
        data_train_batch_bars(r->corpus, &r->rng_batch, B, T, cfg->fc_bar_token, inputs, targets);
        T = data_trim_padding(inputs, targets, B, T, cfg->fc_bar_token);
    } else {
        data_train_batch(r->corpus, &r->rng_batch, B, T, inputs, targets);
    }
    model_zero_grad(r->model);
    float loss;
    if (r->size > 1) {
        loss = shard_step(r, inputs, targets, T, stop);
    } else {
        loss = model_lm_forward(r->model, (const int *)inputs, (const int *)targets, B, T, &r->rng_dropout);
        model_lm_backward(r->model);
    }
    *norm = model_clip_grad(r->model, o->clip);
    *lr = nn_lr_schedule(r->step, o->warmup, o->steps, o->lr, o->lr * o->lr_min_ratio);
    nn_adamw_hparams hp = {*lr, o->beta1, o->beta2, 1e-8f, o->weight_decay};
    model_adamw_step(r->model, &hp, r->step + 1);
    r->step++;
    return loss;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static tg_status run_loop(run_state *r, train_report *rep, char *err, size_t err_len)
{
    const train_options *o = r->opt;
    int B = o->batch, T = model_get_config(r->model)->context;
    int32_t *inputs = malloc(sizeof(int32_t) * (size_t)B * T);
    int32_t *targets = malloc(sizeof(int32_t) * (size_t)B * T);
    tg_status s = agree(r, inputs && targets ? TG_OK : TG_ERR_NOMEM, "the first step", err, err_len);
    if (s != TG_OK) {
        free(inputs);
        free(targets);
        return s;
    }
    double recent[50] = {0};
    int n_recent = 0;
    rep->first_step = r->step + 1;
    while (r->step < o->steps && s == TG_OK) {
        double t0 = tg_now_sec();
        float norm, lr;
        bool stop = o->stop && *o->stop; /* with several ranks: any rank's */
        float loss = train_step(r, inputs, targets, &norm, &lr, &stop);
        if (r->size == 1) stop = o->stop && *o->stop;
        double dt = tg_now_sec() - t0;
        float rate = dt > 0 ? (float)(B * T / dt) : 0;
        r->rates[r->n_rates++] = rate;
        recent[n_recent++ % 50] = loss;
        if (r->log) log_step(r, loss, lr, norm, rate);
        /* the loss and the norm are the same on every rank, so they all stop here
         * together, before this step's weights reach a checkpoint */
        if (!isfinite(loss) || !isfinite(norm))
            s = r->rank > 0 ? TG_ERR_RANGE
                            : tg_fail(err, err_len, TG_ERR_RANGE,
                                      "step %d: the %s is not finite (loss %g, gradient norm %g): stopped without "
                                      "saving it (the run folder keeps its last checkpoint); lower --lr",
                                      r->step, isfinite(loss) ? "gradient norm" : "loss", loss, norm);
        if (o->on_step) o->on_step(o->user, r->step, o->steps, loss, rate);
        stop = stop || (o->stop_at > 0 && r->step >= o->stop_at);
        bool save = r->step % o->eval_every == 0 || r->step == o->steps;
        if (s == TG_OK && save && r->size > 1) check_same_weights(r);
        if (s == TG_OK && save) s = evaluate(r, &rep->val_nll, err, err_len);
        if (s == TG_OK && (save || stop)) {
            if (r->rank == 0) s = save_checkpoint(r, err, err_len);
            s = agree(r, s, "the checkpoint", err, err_len);
        }
        if (stop) {
            rep->interrupted = true;
            break;
        }
    }
    fflush(r->log);
    int n = n_recent < 50 ? n_recent : 50;
    double sum = 0;
    for (int i = 0; i < n; i++) sum += recent[i];
    rep->final_loss = n ? sum / n : NAN;
    rep->last_step = r->step;
    if (r->n_rates) {
        qsort(r->rates, (size_t)r->n_rates, sizeof(float), cmp_float);
        rep->tok_per_s = r->rates[r->n_rates / 2];
    }
    free(inputs);
    free(targets);
    return s;
}

tg_status train_mle(const train_options *opt, train_report *rep, char *err, size_t err_len)
{
    memset(rep, 0, sizeof *rep);
    rep->val_nll = NAN;
    if (opt->batch < 1 || opt->steps < 1 || opt->eval_every < 1 || !(opt->lr > 0))
        return tg_fail(err, err_len, TG_ERR_ARG, "batch, steps and eval interval must be positive, and lr above 0");
    run_state r;
    memset(&r, 0, sizeof r);
    r.opt = opt;
    r.dist = opt->dist;
    r.rank = dist_rank(opt->dist);
    r.size = dist_size(opt->dist);
    r.rows = (opt->batch + r.size - 1) / r.size;
    tg_status s = open_run(&r, err, err_len);
    if (s == TG_OK) {
        rep->params = model_param_count(r.model);
        rep->arena_bytes = model_arena_bytes(r.model);
        rep->unigram_nll = r.corpus->split_count[DATA_VALID] ? train_unigram_nll(r.corpus, DATA_VALID) : NAN;
        tg_log(&opt->logger, TG_LOG_INFO, "model: %zu parameters, activation arena %.1f MiB; %s at step %d of %d",
               rep->params, rep->arena_bytes / 1048576.0, opt->resume ? "resuming" : "starting", r.step, opt->steps);
        if (r.size > 1)
            tg_log(&opt->logger, TG_LOG_INFO, "data parallel: %d ranks, each runs %d or %d of the batch's %d rows",
                   r.size, opt->batch / r.size, (opt->batch + r.size - 1) / r.size, opt->batch);
        s = run_loop(&r, rep, err, err_len);
    }
    close_run(&r);
    return s;
}
