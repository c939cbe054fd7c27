/*
 * oracle.c: SeqGAN's synthetic-oracle experiment (Yu et al. 2017,
 * https://arxiv.org/abs/1609.05473, section 4) with our Transformer as the
 * oracle. experiments/seqgan-oracle/run.sh drives it:
 *
 *   oracle make   --vocab V --seed S -o ORACLE.safetensors
 *   oracle sample ORACLE -n N --length L --seed S -o TRAIN.corpus
 *   oracle nll    ORACLE RUN_DIR|CHECKPOINT -n N --length L --seed S
 *   oracle nll    ORACLE --uniform -n N --length L --seed S
 *   oracle nll    ORACLE RUN_DIR ... --test CORPUS   (and NLL_test, below)
 *
 * The oracle is a generator checkpoint (relative attention, small: d_model
 * 32, 2 layers, 2 heads, as SeqGAN's 32-unit LSTM) over the raw tokenizer
 * ("raw:v=1,vocab=V": PAD BOS EOS and V abstract ids). SeqGAN drew every
 * weight of its oracle LSTM from N(0,1) so that the oracle is far from
 * uniform; here every tensor is drawn from N(0,1) (embeddings, relative
 * tables, linear weights and biases) except the LayerNorms, which keep gain 1
 * and bias 0, and the final LayerNorm's gain, set to logit_std / sqrt(C):
 * the logits over the vocabulary are then n . wte[v] * gain with n the
 * normalised state (|n|^2 = C), i.e. Gaussian across v with standard
 * deviation logit_std at every position. For V ids and Gaussian logits the
 * entropy is about ln V - logit_std^2 / 2 and a uniformly random token costs
 * about ln V + logit_std^2 / 2; the default 1.9 puts the latter near the
 * paper's random generator (10.31 nats with V = 5000).
 *
 * The oracle's distribution is its softmax over the V ids alone (PAD, BOS
 * and EOS masked): every oracle sequence is BOS, exactly L ids, EOS. `nll`
 * samples L tokens from the generator the same way (its specials masked and
 * the rest renormalised), prints the mean -log p_oracle per token and, as a
 * diagnostic, the mean probability the generator gave PAD/BOS/EOS at those
 * positions (an unmasked sampler would end or break the sequence that often).
 * With --uniform the L ids are uniform: the random-generator baseline.
 * With --test CORPUS (an `oracle sample` corpus) it also prints NLL_test:
 * the mean -log of the generator's distribution at the same temperature,
 * specials masked (the distribution its samples come from), of the ids of
 * the corpus's validation sequences, teacher forced. Temperature trades one
 * against the other: Caccia et al. ("Language GANs Falling Short", ICLR
 * 2020) plot NLL_oracle against NLL_test over temperatures, so that a GAN is
 * compared with the MLE model's whole curve, not with one point of it.
 *
 * A program of its own (built by CMakeLists.txt as build/tools/oracle), not a
 * `tunegan` subcommand: it serves one experiment.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "data/data.h"
#include "model/model.h"
#include "run/run.h"
#include "sample/sample.h"
#include "tok/tok.h"
#include "tunegan.h"

#include "tool_args.h"

#define N_SPECIAL 3 /* PAD, BOS, EOS: ids below this are not content */

typedef struct {
    const char *cmd, *out, *test, *pos[2];
    int n_pos;
    long vocab, seed, n, length, valid, batch, threads;
    long d_model, layers, heads, context;
    double logit_std, temperature;
    int uniform, json;
} opts;

static opts opts_default(void)
{
    return (opts){.vocab = 5000, .seed = 1, .n = 10000, .length = 20, .valid = -1, .batch = 64,
                  .threads = 1, .d_model = 32, .layers = 2, .heads = 2, .context = 32,
                  .logit_std = 1.9, .temperature = 1.0};
}

static void usage(FILE *fp)
{
    opts d = opts_default();
    fprintf(fp,
            "usage: oracle make --vocab V --seed S -o ORACLE.safetensors [model options]\n"
            "       oracle sample ORACLE -n N --length L --seed S -o CORPUS [--valid M]\n"
            "       oracle nll ORACLE RUN_DIR|CHECKPOINT -n N --length L --seed S [--json]\n"
            "       oracle nll ORACLE --uniform -n N --length L --seed S [--json]\n\n"
            "SeqGAN's synthetic oracle: a randomly initialised Transformer generator over the\n"
            "raw tokenizer (abstract ids), its samples as a corpus, and the NLL under it of a\n"
            "generator's samples (see the top of tools/oracle.c).\n\n"
            "options:\n"
            "  --vocab V          ids of the raw tokenizer (make) (default %ld)\n"
            "  --seed S           random seed (default %ld)\n"
            "  -o, --output PATH  file to write (make, sample)\n"
            "  -n N               sequences: training split (sample), scored (nll), entropy estimate (make) (default %ld)\n"
            "  --length L         ids per sequence (default %ld)\n"
            "  --valid M          validation sequences (sample; -1: n/10) (default %ld)\n"
            "  --uniform          score uniformly random ids instead of a generator (nll)\n"
            "  --temperature X    sample the generator at this temperature (nll) (default %g)\n"
            "  --test CORPUS      also the tempered generator's NLL of CORPUS's validation split (nll)\n"
            "  --json             print one JSON object (nll)\n"
            "  --batch B          sequences per forward pass (default %ld)\n"
            "  --threads N        threads for OpenMP and BLAS (default %ld)\n"
            "  --d-model C        oracle width (make) (default %ld)\n"
            "  --layers N         oracle blocks (make) (default %ld)\n"
            "  --heads H          oracle heads (make) (default %ld)\n"
            "  --context T        oracle context, >= length (make) (default %ld)\n"
            "  --logit-std X      std of the oracle's logits across the vocabulary (make) (default %g)\n"
            "  -h, --help         show this help and exit\n",
            d.vocab, d.seed, d.n, d.length, d.valid, d.temperature, d.batch, d.threads, d.d_model, d.layers,
            d.heads, d.context, d.logit_std);
}

/* Prints "oracle: <message>" and a pointer to --help; returns 1. */
__attribute__((format(printf, 1, 2))) static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "oracle: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(oracle --help lists the options)\n");
    va_end(ap);
    return 1;
}

/* Prints "oracle CMD: <message>"; returns 1 (the exit status). */
__attribute__((format(printf, 2, 3))) static int fail_cmd(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "oracle %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* ------------------------------------------------------------------------ */
/* Arguments. */

static int parse_double(const char *flag, const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) {
        fprintf(stderr, "oracle: %s must be a number in %g..%g, got '%s'\n", flag, lo, hi, s);
        return 1;
    }
    *out = v;
    return 0;
}

typedef struct {
    const char *name;
    long *dst;
    long lo, hi;
} long_flag;

/* Parses one flag with a value at argv[*i]; returns 0, 1 (error) or -1 (not a valued flag). */
static int parse_valued(opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const long_flag longs[] = {
        {"--vocab", &o->vocab, 1, TOK_RAW_MAX_VOCAB}, {"--seed", &o->seed, 0, 2147483647L},
        {"-n", &o->n, 1, 10000000}, {"--length", &o->length, 1, 4096},
        {"--valid", &o->valid, -1, 10000000}, {"--batch", &o->batch, 1, 4096},
        {"--threads", &o->threads, 0, 1024}, {"--d-model", &o->d_model, 1, 4096},
        {"--layers", &o->layers, 1, 64}, {"--heads", &o->heads, 1, 64},
        {"--context", &o->context, 1, 65536}};
    bool is_out = strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0, is_test = strcmp(a, "--test") == 0;
    bool is_std = strcmp(a, "--logit-std") == 0, is_temp = strcmp(a, "--temperature") == 0;
    const long_flag *f = NULL;
    for (size_t k = 0; k < sizeof longs / sizeof *longs; k++)
        if (strcmp(a, longs[k].name) == 0) f = &longs[k];
    if (!f && !is_out && !is_std && !is_temp && !is_test) return -1;
    if (*i + 1 >= argc) return bad("%s needs a value", a);
    const char *v = argv[++*i];
    if (is_out || is_test) {
        *(is_out ? &o->out : &o->test) = v;
        return 0;
    }
    if (is_std) return parse_double(a, v, 0.0, 100.0, &o->logit_std);
    if (is_temp) return parse_double(a, v, 0.01, 100.0, &o->temperature);
    return tool_parse_long("oracle", a, v, f->lo, f->hi, f->dst);
}

/* Returns 0 to go on, 1 on an error, 2 after --help. */
static int parse_args(int argc, char **argv, opts *o)
{
    if (argc < 2) return bad("no command given (make, sample or nll)");
    o->cmd = argv[1];
    if (strcmp(o->cmd, "-h") == 0 || strcmp(o->cmd, "--help") == 0) return 2;
    if (strcmp(o->cmd, "make") && strcmp(o->cmd, "sample") && strcmp(o->cmd, "nll"))
        return bad("unknown command '%s' (make, sample or nll)", o->cmd);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) return 2;
        if (strcmp(a, "--uniform") == 0) {
            o->uniform = 1;
            continue;
        }
        if (strcmp(a, "--json") == 0) {
            o->json = 1;
            continue;
        }
        int r = parse_valued(o, argc, argv, &i);
        if (r >= 0) {
            if (r) return 1;
            continue;
        }
        if (a[0] == '-') return bad("unknown option '%s'", a);
        if (o->n_pos == 2) return bad("unexpected argument '%s'", a);
        o->pos[o->n_pos++] = a;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sampling and scoring. */

/* A model with what sampling from it needs. */
typedef struct {
    tg_model *m;
    model_cache *st;
    float *logits;   /* (B,V) */
    void *scratch;
    uint8_t *allowed; /* (V): 1 for content ids */
    int V, B;
    float temperature; /* 1: the model's own distribution */
} sampler;

static void sampler_free(sampler *s)
{
    model_cache_free(s->st);
    model_free(s->m);
    free(s->logits);
    free(s->scratch);
    free(s->allowed);
    memset(s, 0, sizeof *s);
}

/* Takes ownership of m (freed here on failure). */
static tg_status sampler_init(sampler *s, tg_model *m, int B)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    s->B = B;
    s->temperature = 1.0f;
    s->V = model_get_config(m)->vocab_size;
    tg_status st = model_cache_create(m, B, 0, &s->st);
    s->logits = malloc((size_t)B * s->V * sizeof *s->logits);
    s->scratch = malloc(sample_pick_scratch_bytes(s->V));
    s->allowed = malloc((size_t)s->V);
    if (st == TG_OK && (!s->logits || !s->scratch || !s->allowed)) st = TG_ERR_NOMEM;
    if (st != TG_OK) {
        sampler_free(s);
        return st;
    }
    for (int v = 0; v < s->V; v++) s->allowed[v] = v >= N_SPECIAL;
    return TG_OK;
}

/* Probability of the specials under softmax(z) (V). */
static double special_mass(const float *z, int V)
{
    float mx = z[0];
    for (int v = 1; v < V; v++) mx = z[v] > mx ? z[v] : mx;
    double all = 0, sp = 0;
    for (int v = 0; v < V; v++) {
        double e = exp((double)z[v] - mx);
        all += e;
        if (v < N_SPECIAL) sp += e;
    }
    return sp / all;
}

/* x (B, L+1): BOS, then L content ids from the model (specials masked);
 * *mass += the specials' probability summed over the B*L positions. */
static void sample_batch(sampler *s, int B, int L, int *x, tg_rng *rng, double *mass)
{
    sample_params sp = sample_params_default();
    sp.temperature = s->temperature;
    int col[B];
    model_cache_reset(s->st, B);
    for (int b = 0; b < B; b++) x[(size_t)b * (L + 1)] = col[b] = TOK_BOS;
    for (int t = 1; t <= L; t++) {
        model_decode(s->st, col, 1, s->logits);
        for (int b = 0; b < B; b++) {
            const float *z = s->logits + (size_t)b * s->V;
            if (mass) *mass += special_mass(z, s->V);
            col[b] = sample_pick(z, s->allowed, s->V, &sp, rng, s->scratch);
            x[(size_t)b * (L + 1) + t] = col[b];
        }
    }
}

static void uniform_batch(int V, int B, int L, int *x, tg_rng *rng)
{
    for (int b = 0; b < B; b++) {
        x[(size_t)b * (L + 1)] = TOK_BOS;
        for (int t = 1; t <= L; t++)
            x[(size_t)b * (L + 1) + t] = N_SPECIAL + (int)tg_rng_below(rng, (uint32_t)(V - N_SPECIAL));
    }
}

/* Sums over the B*L positions of -log p_oracle(x_t | x_<t) (softmax over the
 * content ids) and of the entropy of that distribution. tmp: B*L ints. */
static void score_batch(tg_model *oracle, const int *x, int B, int L, int *tmp, double *nll,
                        double *entropy)
{
    const int V = model_get_config(oracle)->vocab_size;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < L; t++) tmp[b * L + t] = x[(size_t)b * (L + 1) + t];
    model_lm_forward(oracle, tmp, NULL, B, L, NULL);
    const float *logits = model_logits(oracle);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < L; t++) {
            const float *z = logits + ((size_t)b * L + t) * V;
            float mx = z[N_SPECIAL];
            for (int v = N_SPECIAL; v < V; v++) mx = z[v] > mx ? z[v] : mx;
            double sum = 0, zsum = 0;
            for (int v = N_SPECIAL; v < V; v++) {
                double e = exp((double)z[v] - mx);
                sum += e;
                zsum += e * ((double)z[v] - mx);
            }
            double lse = log(sum); /* relative to mx */
            *nll += lse - ((double)z[x[(size_t)b * (L + 1) + t + 1]] - mx);
            *entropy += lse - zsum / sum;
        }
}

/* ------------------------------------------------------------------------ */
/* Loading. */

static tg_status load_oracle(const char *path, int B, tg_model **m, char *tokcfg, size_t tn,
                             char *err, size_t en)
{
    model_meta *meta = NULL;
    tg_status st = model_load(path, B, m, &meta, err, en);
    if (st != TG_OK) return st;
    const char *t = model_meta_get(meta, "tokenizer");
    const char *fmt = model_meta_get(meta, "oracle");
    snprintf(tokcfg, tn, "%s", t ? t : "");
    model_meta_free(meta);
    if (!fmt || model_get_config(*m)->kind != MODEL_GENERATOR) {
        model_free(*m);
        *m = NULL;
        return tg_fail(err, en, TG_ERR_FORMAT, "%s is not an oracle (made by 'oracle make')", path);
    }
    return TG_OK;
}

/* path: a run folder (its model.safetensors) or a checkpoint, opened as a
 * run; its generator is handed to *m. */
static tg_status load_generator(const char *path, int B, const char *oracle_tok, int L,
                                tg_model **m, char *err, size_t en)
{
    *m = NULL;
    tg_run *run = NULL;
    run_open_options ro = run_open_options_default();
    ro.max_batch = B;
    tg_status st = run_open(path, &ro, &run, err, en);
    if (st != TG_OK) return st;
    const char *file = tg_run_checkpoint(run), *t = run_tokenizer_spec(run);
    const model_config *c = model_get_config(run_generator(run));
    if (strcmp(t, oracle_tok) != 0)
        st = tg_fail(err, en, TG_ERR_ARG, "%s uses tokenizer '%s', the oracle '%s': train it on the oracle's corpus",
                     file, t, oracle_tok);
    else if (c->context < L)
        st = tg_fail(err, en, TG_ERR_ARG, "%s has a context of %d tokens, --length %d needs %d", file,
                     c->context, L, L);
    if (st == TG_OK) *m = run_release_generator(run);
    tg_run_free(run);
    return st;
}

/* ------------------------------------------------------------------------ */
/* oracle make */

/* N(0,1) everywhere but the LayerNorms (gain 1, bias 0); lnf gain = logit_std / sqrt(C). */
static void oracle_init(tg_model *m, tg_rng *rng, double logit_std)
{
    float *p = model_param_data(m);
    for (size_t i = 0; i < model_tensor_count(m); i++) {
        const model_tensor *t = model_tensor_at(m, i);
        bool ln = strstr(t->name, "ln") != NULL;
        for (size_t k = 0; k < t->numel; k++)
            p[t->offset + k] = ln ? (t->init == MODEL_INIT_ONE ? 1.0f : 0.0f) : tg_rng_normal(rng);
    }
    const model_tensor *lnf = model_tensor_find(m, "lnf.weight");
    float gain = (float)(logit_std / sqrt((double)model_get_config(m)->d_model));
    for (size_t k = 0; k < lnf->numel; k++) p[lnf->offset + k] = gain;
}

/* Mean NLL and entropy per token of the oracle on n of its own samples and on n uniform ones. */
static tg_status oracle_report(const char *path, const opts *o, char *err, size_t en)
{
    char tokcfg[64];
    tg_model *m = NULL, *scorer = NULL;
    int B = (int)o->batch, L = (int)o->length;
    tg_status st = load_oracle(path, B, &m, tokcfg, sizeof tokcfg, err, en);
    if (st == TG_OK) st = model_load(path, B, &scorer, NULL, err, en);
    sampler s;
    if (st == TG_OK) st = sampler_init(&s, m, B);
    else model_free(m);
    if (st != TG_OK) {
        model_free(scorer);
        return st;
    }
    int *x = malloc((size_t)B * (L + 1) * sizeof *x), *tmp = malloc((size_t)B * (L + 1) * sizeof *tmp);
    if (o->test && o->uniform) st = tg_fail(err, en, TG_ERR_ARG, "--test needs a generator, not --uniform");
    tg_rng rng;
    tg_rng_seed(&rng, (uint64_t)o->seed ^ 0x7265706f7274ULL);
    double nll = 0, ent = 0, unll = 0, uent = 0, count = 0;
    for (long done = 0; x && tmp && done < o->n; done += B) {
        int b = (int)(o->n - done < B ? o->n - done : B);
        sample_batch(&s, b, L, x, &rng, NULL);
        score_batch(scorer, x, b, L, tmp, &nll, &ent);
        uniform_batch(s.V, b, L, x, &rng);
        score_batch(scorer, x, b, L, tmp, &unll, &uent);
        count += (double)b * L;
    }
    if (!x || !tmp) st = tg_fail(err, en, TG_ERR_NOMEM, "out of memory");
    else
        printf("oracle %s: %s, logit std %g; on %ld of its own sequences of %d: NLL %.4f, entropy %.4f "
               "nats/token; uniform ids: NLL %.4f (ln V = %.4f)\n",
               path, tokcfg, o->logit_std, o->n, L, nll / count, ent / count, unll / count,
               log((double)(s.V - N_SPECIAL)));
    free(x);
    free(tmp);
    sampler_free(&s);
    model_free(scorer);
    return st;
}

static int cmd_make(const opts *o, char *err, size_t en)
{
    if (!o->out || o->n_pos) return bad("make takes no file argument and needs -o ORACLE");
    if (o->context < o->length)
        return bad("--context %ld must be at least --length %ld", o->context, o->length);
    tok_config tc = tok_config_default(TOK_RAW);
    tc.raw.vocab = (int)o->vocab;
    tok_tokenizer *tok = NULL;
    char tokcfg[64], gain[64];
    tg_status st = tok_create(&tc, &tok);
    if (st == TG_OK) st = tok_config_to_string(&tc, tokcfg, sizeof tokcfg);
    model_config mc = model_config_default();
    mc.vocab_size = tok ? tok_vocab_size(tok) : 0;
    tok_free(tok);
    mc.d_model = (int)o->d_model, mc.n_layers = (int)o->layers, mc.n_heads = (int)o->heads;
    mc.context = (int)o->context, mc.dropout = 0.0f;
    tg_model *m = NULL;
    if (st == TG_OK && model_config_check(&mc, err, en) != TG_OK) st = TG_ERR_ARG;
    else if (st == TG_OK) st = model_create(&mc, 1, &m);
    if (st != TG_OK) return fail_cmd("make", "%s", err[0] ? err : tg_status_str(st));
    tg_rng rng;
    tg_rng_seed(&rng, (uint64_t)o->seed);
    oracle_init(m, &rng, o->logit_std);
    snprintf(gain, sizeof gain, "N(0,1) but LayerNorms; logit_std %g", o->logit_std);
    st_meta extra[] = {{"oracle", gain}};
    st = model_save(m, o->out, tokcfg, 0, (uint64_t)o->seed, extra, 1);
    model_free(m);
    if (st != TG_OK) return fail_cmd("make", "cannot write %s: %s", o->out, tg_status_str(st));
    fprintf(stderr, "oracle make: seed %ld, d_model %ld, %ld layers, %ld heads, vocabulary %d\n",
            o->seed, o->d_model, o->layers, o->heads, mc.vocab_size);
    st = oracle_report(o->out, o, err, en);
    if (st != TG_OK) return fail_cmd("make", "%s", err);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* oracle sample: a corpus file written by src/data (data_write_corpus). */

#define PATH_CHARS 8 /* "s0000000" and a NUL: pieces are named by their number */

/* ids: P pieces of len tokens each; the first n_train are training pieces, the rest valid. */
static tg_status write_corpus(const char *path, const char *config, int V, const uint16_t *ids,
                              uint64_t P, uint32_t len, uint64_t n_train)
{
    char *names = malloc(P * (PATH_CHARS + 1) + 1);
    const char **paths = malloc((P + 1) * sizeof *paths);
    data_out_piece *pieces = malloc((P + 1) * sizeof *pieces);
    tg_status st = TG_ERR_NOMEM;
    if (names && paths && pieces) {
        for (uint64_t i = 0; i < P; i++) {
            paths[i] = names + i * (PATH_CHARS + 1);
            snprintf(names + i * (PATH_CHARS + 1), PATH_CHARS + 1, "s%07llu", (unsigned long long)(i % 10000000));
            pieces[i] = (data_out_piece){ids + i * len, len, (uint32_t)i,
                                         (uint8_t)(i < n_train ? DATA_TRAIN : DATA_VALID), 0};
        }
        data_error derr = {{0}};
        st = data_write_corpus(path, config, V, paths, P, pieces, P, &derr);
    }
    free(names);
    free(paths);
    free(pieces);
    return st;
}

/* ids (P, L+2): BOS, L oracle ids, EOS each. */
static tg_status draw_pieces(sampler *s, uint64_t P, int L, uint16_t *ids, tg_rng *rng)
{
    int *x = malloc((size_t)s->B * (L + 1) * sizeof *x);
    if (!x) return TG_ERR_NOMEM;
    for (uint64_t done = 0; done < P; done += (uint64_t)s->B) {
        int b = (int)(P - done < (uint64_t)s->B ? P - done : (uint64_t)s->B);
        sample_batch(s, b, L, x, rng, NULL);
        for (int r = 0; r < b; r++) {
            uint16_t *row = ids + (done + (uint64_t)r) * (uint64_t)(L + 2);
            for (int t = 0; t <= L; t++) row[t] = (uint16_t)x[(size_t)r * (L + 1) + t];
            row[L + 1] = TOK_EOS;
        }
    }
    free(x);
    return TG_OK;
}

static int cmd_sample(const opts *o, char *err, size_t en)
{
    if (o->n_pos != 1 || !o->out) return bad("sample needs ORACLE and -o CORPUS");
    char tokcfg[64];
    tg_model *m = NULL;
    tg_status st = load_oracle(o->pos[0], (int)o->batch, &m, tokcfg, sizeof tokcfg, err, en);
    if (st != TG_OK) return fail_cmd("sample", "%s", err);
    if (model_get_config(m)->context < o->length) {
        fprintf(stderr, "oracle sample: --length %ld exceeds the oracle's context %d\n", o->length,
                model_get_config(m)->context);
        model_free(m);
        return 1;
    }
    sampler s;
    if (sampler_init(&s, m, (int)o->batch) != TG_OK) return fail_cmd("sample", "out of memory");
    uint64_t valid = o->valid >= 0 ? (uint64_t)o->valid : (uint64_t)(o->n / 10 > 0 ? o->n / 10 : 1);
    uint64_t P = (uint64_t)o->n + valid;
    uint16_t *ids = malloc(P * (uint64_t)(o->length + 2) * sizeof *ids);
    tg_rng rng;
    tg_rng_seed(&rng, (uint64_t)o->seed ^ 0x73616d706c65ULL);
    st = ids ? draw_pieces(&s, P, (int)o->length, ids, &rng) : TG_ERR_NOMEM;
    if (st == TG_OK) st = write_corpus(o->out, tokcfg, s.V, ids, P, (uint32_t)(o->length + 2), (uint64_t)o->n);
    free(ids);
    sampler_free(&s);
    if (st != TG_OK) return fail_cmd("sample", "cannot write %s: %s", o->out, tg_status_str(st));
    fprintf(stderr, "oracle sample: seed %ld: %ld training and %llu validation sequences of BOS, %ld ids, EOS in %s\n",
            o->seed, o->n, (unsigned long long)valid, o->length, o->out);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* oracle nll */

/* test_nll: NaN when not measured. */
static void print_nll(const opts *o, const char *what, double nll, double ent, double mass, double test_nll)
{
    if (o->json) {
        printf("{\"oracle\":\"%s\",\"generator\":\"%s\",\"n\":%ld,\"length\":%ld,\"seed\":%ld,"
               "\"temperature\":%g,\"oracle_nll\":%.6f,\"oracle_entropy\":%.6f,\"special_mass\":%.6g",
               o->pos[0], what, o->n, o->length, o->seed, o->temperature, nll, ent, mass);
        if (!isnan(test_nll)) printf(",\"test_nll\":%.6f", test_nll);
        printf("}\n");
        return;
    }
    printf("oracle NLL %.4f nats/token (%s at temperature %g, %ld sequences of %ld, seed %ld; "
           "oracle entropy at those prefixes %.4f; generator's mass on PAD/BOS/EOS %.3g)\n",
           nll, what, o->temperature, o->n, o->length, o->seed, ent, mass);
    if (!isnan(test_nll))
        printf("test NLL %.4f nats/token (the generator at temperature %g on %s's validation split)\n", test_nll,
               o->temperature, o->test);
}

/* NLL_test: the mean over the validation sequences' L ids of -log of the
 * generator's softmax(z / T) over the content ids. */
static tg_status test_nll(tg_model *g, const char *path, int L, float T, int B, int *tmp, double *out, char *err,
                          size_t en)
{
    data_corpus *c = NULL;
    data_error derr = {{0}};
    tg_status st = data_corpus_open(path, &c, &derr);
    if (st != TG_OK) return tg_fail(err, en, st, "%s", derr.what[0] ? derr.what : tg_status_str(st));
    const uint64_t n = c->split_count[DATA_VALID];
    const int V = model_get_config(g)->vocab_size;
    double sum = 0, count = 0;
    for (uint64_t done = 0; st == TG_OK && done < n; done += (uint64_t)B) {
        int b = (int)(n - done < (uint64_t)B ? n - done : (uint64_t)B);
        for (int r = 0; r < b; r++) {
            const data_piece *p = &c->pieces[c->split_pieces[DATA_VALID][done + (uint64_t)r]];
            if (p->length < (uint32_t)L + 1) st = tg_fail(err, en, TG_ERR_FORMAT, "%s: a sequence shorter than "
                                                          "BOS and --length %d ids", path, L);
            for (int t = 0; t <= L && st == TG_OK; t++) tmp[r * (L + 1) + t] = c->tokens[p->offset + (uint64_t)t];
        }
        if (st != TG_OK) break;
        for (int r = 0; r < b; r++) memmove(tmp + (size_t)r * L, tmp + (size_t)r * (L + 1), (size_t)L * sizeof *tmp);
        /* the inputs are BOS and the first L-1 ids; targets read again from the corpus */
        model_lm_forward(g, tmp, NULL, b, L, NULL);
        const float *lg = model_logits(g);
        for (int r = 0; r < b; r++) {
            const data_piece *p = &c->pieces[c->split_pieces[DATA_VALID][done + (uint64_t)r]];
            for (int t = 0; t < L; t++) {
                const float *z = lg + ((size_t)r * L + t) * V;
                double mx = z[N_SPECIAL] / T, s = 0;
                for (int v = N_SPECIAL; v < V; v++) mx = z[v] / T > mx ? z[v] / T : mx;
                for (int v = N_SPECIAL; v < V; v++) s += exp(z[v] / T - mx);
                sum += mx + log(s) - z[c->tokens[p->offset + (uint64_t)t + 1]] / T;
                count++;
            }
        }
    }
    data_corpus_close(c);
    *out = count ? sum / count : NAN;
    return st;
}

static int cmd_nll(const opts *o, char *err, size_t en)
{
    if (o->n_pos != (o->uniform ? 1 : 2))
        return bad("nll needs ORACLE and RUN_DIR (or ORACLE --uniform)");
    int B = (int)o->batch, L = (int)o->length;
    char tokcfg[64];
    tg_model *oracle = NULL, *g = NULL;
    tg_status st = load_oracle(o->pos[0], B, &oracle, tokcfg, sizeof tokcfg, err, en);
    if (st == TG_OK && model_get_config(oracle)->context < L)
        st = tg_fail(err, en, TG_ERR_ARG, "--length %d exceeds the oracle's context %d", L, model_get_config(oracle)->context);
    if (st == TG_OK && !o->uniform) st = load_generator(o->pos[1], B, tokcfg, L, &g, err, en);
    sampler s = {0};
    if (st == TG_OK && g) st = sampler_init(&s, g, B);
    s.temperature = (float)o->temperature;
    int *x = malloc((size_t)B * (L + 1) * sizeof *x), *tmp = malloc((size_t)B * (L + 1) * sizeof *tmp);
    if (o->test && o->uniform) st = tg_fail(err, en, TG_ERR_ARG, "--test needs a generator, not --uniform");
    if (st == TG_OK && (!x || !tmp)) st = tg_fail(err, en, TG_ERR_NOMEM, "out of memory");
    if (st != TG_OK) {
        model_free(oracle);
        free(x);
        free(tmp);
        sampler_free(&s);
        return fail_cmd("nll", "%s", err);
    }
    tg_rng rng;
    tg_rng_seed(&rng, (uint64_t)o->seed ^ 0x6e6c6cULL);
    double nll = 0, ent = 0, mass = 0, count = 0;
    const int V = model_get_config(oracle)->vocab_size;
    for (long done = 0; done < o->n; done += B) {
        int b = (int)(o->n - done < B ? o->n - done : B);
        if (o->uniform) uniform_batch(V, b, L, x, &rng);
        else sample_batch(&s, b, L, x, &rng, &mass);
        score_batch(oracle, x, b, L, tmp, &nll, &ent);
        count += (double)b * L;
    }
    double tnll = NAN;
    if (o->test) st = test_nll(s.m, o->test, L, (float)o->temperature, B, tmp, &tnll, err, en);
    if (st == TG_OK) print_nll(o, o->uniform ? "uniform" : o->pos[1], nll / count, ent / count, mass / count, tnll);
    else fprintf(stderr, "oracle nll: %s\n", err);
    free(x);
    free(tmp);
    model_free(oracle);
    sampler_free(&s);
    return st == TG_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    opts o = opts_default();
    int r = parse_args(argc, argv, &o);
    if (r == 2) {
        usage(stdout);
        return 0;
    }
    if (r) return 1;
    nn_set_threads((int)o.threads);
    char err[1024] = "";
    if (strcmp(o.cmd, "make") == 0) return cmd_make(&o, err, sizeof err);
    if (strcmp(o.cmd, "sample") == 0) return cmd_sample(&o, err, sizeof err);
    return cmd_nll(&o, err, sizeof err);
}
