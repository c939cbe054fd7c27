/*
 * mle.c: maximum-likelihood training of the generator (teacher forcing on
 * random windows of the training split), AdamW with warm-up and cosine decay,
 * global gradient clipping, evaluation on the valid split, checkpoints and
 * bit-exact resumption. Nothing here prints: progress goes to the caller's
 * callbacks, messages to its logger.
 */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

tg_status train_eval_nll(tg_model *m, const data_corpus *c, int split, int max_windows,
                         double *nll, uint64_t *n_tokens)
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
    for (;;) {
        int want = B;
        if (max_windows > 0 && windows + want > max_windows) want = max_windows - windows;
        if (want <= 0) break;
        data_eval_next(&it, want, inputs, targets, &rows);
        if (rows == 0) break;
        float mean = model_lm_forward(m, (const int *)inputs, (const int *)targets, rows, T, NULL);
        int n = model_loss_count(m);
        sum += (double)mean * n;
        count += (uint64_t)n;
        windows += rows;
    }
    free(inputs);
    free(targets);
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
    char model_path[1024], optim_path[1024], log_path[1024];
    FILE *log;
    int step;                 /* steps done */
    float *rates;             /* tok/s per step of this process */
    int n_rates;
} run_state;

static void run_paths(run_state *r)
{
    snprintf(r->model_path, sizeof r->model_path, "%s/model.safetensors", r->opt->run_dir);
    snprintf(r->optim_path, sizeof r->optim_path, "%s/optimizer.safetensors", r->opt->run_dir);
    snprintf(r->log_path, sizeof r->log_path, "%s/log.jsonl", r->opt->run_dir);
}

static bool file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static tg_status save_checkpoint(run_state *r, char *err, size_t err_len)
{
    char rb[80], rd[80];
    model_rng_format(&r->rng_batch, rb, sizeof rb);
    model_rng_format(&r->rng_dropout, rd, sizeof rd);
    st_meta extra[] = {{"rng_batch", rb}, {"rng_dropout", rd}, {"phase", "mle"}};
    /* the optimizer first: a crash between the two leaves differing steps, which resume refuses */
    tg_status s = model_save_optimizer(r->model, r->optim_path, r->step, extra, 3);
    if (s == TG_OK) {
        st_meta mextra[] = {{"phase", "mle"}};
        s = model_save(r->model, r->model_path, r->corpus->config, r->step, r->opt->seed, mextra, 1);
    }
    if (s != TG_OK) return tg_fail(err, err_len, s, "%s: cannot save the checkpoint: %s", r->opt->run_dir, tg_status_str(s));
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

static tg_status resume_run(run_state *r, char *err, size_t err_len)
{
    const train_options *o = r->opt;
    model_meta *mmeta = NULL;
    tg_status s = model_load(r->model_path, o->batch, &r->model, &mmeta, err, err_len);
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
    if (file_exists(r->model_path))
        return tg_fail(err, err_len, TG_ERR_ARG,
                    "%s already holds a run: pass --resume to continue it, or choose another folder", o->run_dir);
    model_config cfg = o->model;
    cfg.kind = MODEL_GENERATOR;
    cfg.vocab_size = (int)r->corpus->vocab_size;
    char why[256];
    if (model_config_check(&cfg, why, sizeof why) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_ARG, "model: %s", why);
    tg_status s = model_create(&cfg, o->batch, &r->model);
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

static tg_status open_run(run_state *r, char *err, size_t err_len)
{
    const train_options *o = r->opt;
    data_error derr = {{0}};
    tg_status s = data_corpus_open(o->corpus_path, &r->corpus, &derr);
    if (s != TG_OK) return tg_fail(err, err_len, s, "%s: %s", o->corpus_path, derr.what);
    if (r->corpus->split_count[DATA_TRAIN] == 0)
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: the corpus has no training piece", o->corpus_path);
    if (mkdir(o->run_dir, 0777) != 0 && !file_exists(o->run_dir))
        return tg_fail(err, err_len, TG_ERR_IO, "%s: cannot create the run folder", o->run_dir);
    run_paths(r);
    /* three streams from one seed: init (seed), batches and dropout (seed + constants) */
    tg_rng_seed(&r->rng_batch, o->seed ^ 0x62617463686573ULL);
    tg_rng_seed(&r->rng_dropout, o->seed ^ 0x64726f706f7574ULL);
    s = o->resume ? resume_run(r, err, err_len) : fresh_run(r, err, err_len);
    if (s != TG_OK) return s;
    r->log = fopen(r->log_path, "a");
    if (!r->log) return tg_fail(err, err_len, TG_ERR_IO, "%s: cannot open the log", r->log_path);
    r->rates = malloc(sizeof(float) * (size_t)(o->steps + 1));
    return r->rates ? TG_OK : TG_ERR_NOMEM;
}

static void close_run(run_state *r)
{
    if (r->log) fclose(r->log);
    model_free(r->model);
    data_corpus_close(r->corpus);
    free(r->rates);
}

/* ------------------------------------------------------------------------ */
/* The loop. */

static tg_status evaluate(run_state *r, double *nll)
{
    if (r->corpus->split_count[DATA_VALID] == 0) {
        *nll = NAN;
        return TG_OK;
    }
    uint64_t n = 0;
    tg_status s = train_eval_nll(r->model, r->corpus, DATA_VALID, r->opt->eval_max_windows, nll, &n);
    if (s != TG_OK) return s;
    fprintf(r->log, "{\"step\":%d,\"phase\":\"eval\",\"val_nll\":%.6f,\"val_tokens\":%llu}\n", r->step, *nll,
            (unsigned long long)n);
    fflush(r->log);
    if (r->opt->on_eval) r->opt->on_eval(r->opt->user, r->step, *nll);
    return TG_OK;
}

static float train_step(run_state *r, int32_t *inputs, int32_t *targets, float *norm, float *lr)
{
    const train_options *o = r->opt;
    int B = o->batch, T = model_get_config(r->model)->context;
    data_train_batch(r->corpus, &r->rng_batch, B, T, inputs, targets);
    model_zero_grad(r->model);
    float loss = model_lm_forward(r->model, (const int *)inputs, (const int *)targets, B, T, &r->rng_dropout);
    model_lm_backward(r->model);
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
    if (!inputs || !targets) {
        free(inputs);
        free(targets);
        return TG_ERR_NOMEM;
    }
    double recent[50] = {0};
    int n_recent = 0;
    tg_status s = TG_OK;
    rep->first_step = r->step + 1;
    while (r->step < o->steps && s == TG_OK) {
        double t0 = tg_now_sec();
        float norm, lr;
        float loss = train_step(r, inputs, targets, &norm, &lr);
        double dt = tg_now_sec() - t0;
        float rate = dt > 0 ? (float)(B * T / dt) : 0;
        r->rates[r->n_rates++] = rate;
        recent[n_recent++ % 50] = loss;
        fprintf(r->log, "{\"step\":%d,\"phase\":\"mle\",\"loss\":%.6f,\"lr\":%.6g,\"grad_norm\":%.6f,\"tok_per_s\":%.1f}\n",
                r->step, loss, lr, norm, rate);
        fflush(r->log); /* a reader (tail -f, tunegan plot) sees every step */
        if (!isfinite(loss)) s = tg_fail(err, err_len, TG_ERR_RANGE, "step %d: the loss is not finite (%g): lower --lr", r->step, loss);
        if (o->on_step) o->on_step(o->user, r->step, o->steps, loss, rate);
        bool stop = (o->stop && *o->stop) || (o->stop_at > 0 && r->step >= o->stop_at);
        if (s == TG_OK && (r->step % o->eval_every == 0 || r->step == o->steps)) {
            s = evaluate(r, &rep->val_nll);
            if (s == TG_OK) s = save_checkpoint(r, err, err_len);
        } else if (s == TG_OK && stop) {
            s = save_checkpoint(r, err, err_len);
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
    tg_status s = open_run(&r, err, err_len);
    if (s == TG_OK) {
        rep->params = model_param_count(r.model);
        rep->arena_bytes = model_arena_bytes(r.model);
        rep->unigram_nll = r.corpus->split_count[DATA_VALID] ? train_unigram_nll(r.corpus, DATA_VALID) : NAN;
        tg_log(&opt->logger, TG_LOG_INFO, "model: %zu parameters, activation arena %.1f MiB; %s at step %d of %d",
               rep->params, rep->arena_bytes / 1048576.0, opt->resume ? "resuming" : "starting", r.step, opt->steps);
        s = run_loop(&r, rep, err, err_len);
    }
    close_run(&r);
    return s;
}
