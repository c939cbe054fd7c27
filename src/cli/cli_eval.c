/*
 * cli_eval.c: `tunegan eval`, in two modes.
 *
 *   eval --model RUN_DIR --corpus CORPUS [--split test] [--stride N]
 *       the mean NLL per token and perplexity of a generator on a corpus
 *       split (src/eval/likelihood.c), beside the unigram baseline;
 *   eval --samples SET --reference SET [--train SET] [--tokenizer remi] [--segment N]
 *       BLEU against the reference, self-BLEU of both sets, SeqGAN's MSE as
 *       we read it, MusPy statistics side by side, Yang & Lerch's overlap,
 *       Museformer's bar-similarity profile of both sets and their similarity
 *       error, and with --train the rate of the samples' 4-bar windows copied
 *       from the training set (src/eval/structure.c); the harmonic fit of
 *       both sets and, for four-voice samples, their voice leading
 *       (src/eval/harmony.c, printed by cli_eval_harmony.c).
 *       A SET is a folder of MIDI files or a corpus file, optionally with a
 *       split: CORPUS:train|valid|test (test when none is given).
 *
 * A readable table by default, one JSON object with --json (metric names as
 * keys, NaN written as null). Unreadable files are skipped with a line each;
 * empty sets, a corpus whose tokenizer differs from the model's or from
 * --tokenizer, and a missing folder or corpus are errors (exit status 1).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "core/core.h"
#include "eval/eval.h"
#include "run/run.h"
#include "train/train.h"

/* ------------------------------------------------------------------------ */
/* JSON helpers. */

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void json_num(double v)
{
    if (isfinite(v))
        printf("%.17g", v);
    else
        printf("null");
}

static int parse_split(const char *s)
{
    for (int i = 0; i < DATA_SPLITS; i++)
        if (strcmp(s, data_split_name(i)) == 0) return i;
    return -1;
}

/* ------------------------------------------------------------------------ */
/* eval --model */

static void on_windows(void *user, uint64_t done, uint64_t total)
{
    cli_progress *p = user;
    p->total = (size_t)total;
    cli_progress_update(p, (size_t)done);
}

static int eval_model(const char *run_arg, const char *corpus_path, const char *split_name, int stride,
                      int batch, bool json)
{
    int split = parse_split(split_name);
    if (split < 0) {
        cli_error("eval: --split must be train, valid or test, got '%s'", split_name);
        return 1;
    }
    if (!corpus_path) {
        cli_error("eval: --model needs --corpus CORPUS (see tunegan eval --help)");
        return 1;
    }
    data_corpus *c = NULL;
    data_error derr = {{0}};
    tg_status st = data_corpus_open(corpus_path, &c, &derr);
    if (st != TG_OK) {
        if (derr.what[0]) cli_error("%s", derr.what); /* it names the file */
        else cli_error("%s: %s", corpus_path, tg_status_str(st));
        return 1;
    }
    tg_run *run = NULL;
    run_open_options ro = run_open_options_default();
    ro.max_batch = batch;
    ro.need_tokenizer = false;
    char err[1024] = "";
    st = run_open(run_arg, &ro, &run, err, sizeof err);
    if (st != TG_OK) {
        cli_error("eval: %s", err[0] ? err : tg_status_str(st));
        data_corpus_close(c);
        return 1;
    }
    int rc = 1;
    tg_model *m = run_generator(run);
    const char *path = tg_run_checkpoint(run), *mtok = run_tokenizer_spec(run);
    const model_config *cfg = model_get_config(m);
    if (mtok[0] && !run_same_tokenizer(mtok, c->config)) {
        cli_error("eval: the model %s was trained with tokenizer '%s' but %s holds '%s': build the corpus "
                  "with the model's tokenizer", path, mtok, corpus_path, c->config);
        goto done;
    }
    if (!mtok[0]) cli_warn("%s names no tokenizer; assuming the corpus's", path);
    if ((uint32_t)cfg->vocab_size != c->vocab_size) {
        cli_error("eval: the model's vocabulary has %d tokens, %s's %u: a different tokenizer", cfg->vocab_size,
                  corpus_path, c->vocab_size);
        goto done;
    }
    if (c->split_count[split] == 0) {
        cli_error("eval: %s has no %s piece", corpus_path, split_name);
        goto done;
    }
    if (stride == 0) stride = cfg->context > 1 ? cfg->context / 2 : 1;
    if (stride > cfg->context) {
        cli_error("eval: --stride %d exceeds the model's context %d", stride, cfg->context);
        goto done;
    }
    cli_progress prog;
    cli_progress_begin(&prog, "eval", (size_t)eval_nll_window_count(c, split, cfg->context, stride), "windows");
    double t0 = tg_now_sec();
    eval_nll_result r;
    st = eval_nll(m, c, split, stride, &r, on_windows, &prog);
    cli_progress_end(&prog);
    double secs = tg_now_sec() - t0;
    if (st != TG_OK) {
        cli_error("eval: %s", tg_status_str(st));
        goto done;
    }
    double uni = train_unigram_nll(c, split);
    if (json) {
        printf("{\"model\":");
        json_str(path);
        printf(",\"corpus\":");
        json_str(corpus_path);
        printf(",\"split\":\"%s\",\"tokenizer\":", split_name);
        json_str(c->config);
        printf(",\"nll\":");
        json_num(r.nll);
        printf(",\"perplexity\":");
        json_num(r.perplexity);
        printf(",\"unigram_nll\":");
        json_num(uni);
        printf(",\"tokens\":%llu,\"windows\":%llu,\"context\":%d,\"stride\":%d,\"seconds\":%.3f}\n",
               (unsigned long long)r.tokens, (unsigned long long)r.windows, r.context, r.stride, secs);
    } else {
        printf("model       %s\ncorpus      %s (%s split, %llu tokens scored)\n", path, corpus_path, split_name,
               (unsigned long long)r.tokens);
        printf("windows     %llu of %d tokens, stride %d (every token scored once, with at least %d tokens of "
               "context past the first window)\n",
               (unsigned long long)r.windows, r.context, r.stride, r.context - r.stride);
        printf("NLL         %.4f nats/token\nperplexity  %.3f\n", r.nll, r.perplexity);
        printf("unigram     %.4f nats/token (perplexity %.3f): the training split's token frequencies\n", uni,
               exp(uni));
        printf("time        %.1f s\n", secs);
    }
    rc = 0;
done:
    tg_run_free(run);
    data_corpus_close(c);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* eval --samples --reference */

typedef struct {
    const char *spec;     /* as given */
    char path[1024];
    bool is_corpus;
    int split;
    data_corpus *corpus;
    eval_set set;
} set_source;

/* Resolves a SET argument: a folder, a corpus file (its split default_split),
 * or CORPUS:split. */
static int resolve_source(const char *flag, const char *spec, int default_split, set_source *s)
{
    memset(s, 0, sizeof *s);
    s->spec = spec;
    s->split = default_split;
    snprintf(s->path, sizeof s->path, "%s", spec);
    struct stat sb;
    if (stat(spec, &sb) == 0) {
        s->is_corpus = !S_ISDIR(sb.st_mode);
    } else {
        const char *colon = strrchr(spec, ':');
        int split = colon ? parse_split(colon + 1) : -1;
        if (split >= 0 && (size_t)(colon - spec) < sizeof s->path) {
            snprintf(s->path, sizeof s->path, "%.*s", (int)(colon - spec), spec);
            if (stat(s->path, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
                s->is_corpus = true;
                s->split = split;
                return 0;
            }
        }
        cli_error("eval: %s %s: no such folder or corpus file", flag, spec);
        return 1;
    }
    return 0;
}

static int open_corpus(set_source *s)
{
    data_error derr = {{0}};
    tg_status st = data_corpus_open(s->path, &s->corpus, &derr);
    if (st != TG_OK) {
        if (derr.what[0]) cli_error("%s", derr.what); /* it names the file */
        else cli_error("%s: %s", s->path, tg_status_str(st));
        return 1;
    }
    return 0;
}

static int load_source(const char *flag, set_source *s, const tok_tokenizer *tok)
{
    tg_logger log = cli_logger();
    tg_status st;
    if (s->is_corpus)
        st = eval_set_from_corpus(s->corpus, s->path, s->split, tok, &log, &s->set);
    else
        st = eval_set_from_dir(s->path, tok, &log, &s->set);
    if (st != TG_OK) {
        cli_error("eval: %s %s: %s", flag, s->spec, tg_status_str(st));
        return 1;
    }
    if (s->set.n == 0) {
        if (s->is_corpus)
            cli_error("eval: %s %s: the %s split holds no piece", flag, s->spec, data_split_name(s->split));
        else if (s->set.files_found == 0)
            cli_error("eval: %s %s: no MIDI file (.mid, .midi) in the folder", flag, s->spec);
        else
            cli_error("eval: %s %s: none of its %zu MIDI files could be read", flag, s->spec, s->set.files_found);
        return 1;
    }
    return 0;
}

static void describe(const char *label, const set_source *s)
{
    printf("%-10s %s: %zu pieces", label, s->spec, s->set.n);
    if (s->set.skipped) printf(", %zu files skipped", s->set.skipped);
    if (s->set.transposed) printf(", %zu transposed copies left out", s->set.transposed);
    if (s->set.repairs) printf(", %zu decoding repairs", s->set.repairs);
    putchar('\n');
}

static void json_source(const char *key, const set_source *s)
{
    printf("\"%s\":{\"source\":", key);
    json_str(s->spec);
    printf(",\"pieces\":%zu,\"files\":%zu,\"skipped\":%zu,\"transposed_left_out\":%zu,\"decoding_repairs\":%zu}",
           s->set.n, s->set.files_found, s->set.skipped, s->set.transposed, s->set.repairs);
}

typedef struct {
    eval_bleu_result bleu, self_gen, self_ref;
    bool self_gen_ok, self_ref_ok;
    eval_mse_result mse;
    eval_summary stats[2][EVAL_N_STATS];
    eval_overlap_result overlap[EVAL_N_FEATURES];
    eval_structure_config structure;
    eval_bar_profile profile[2];   /* samples, reference */
    double similarity_error;
    eval_distinct_result distinct; /* the samples' distinct windows */
    bool have_copies;              /* --train given */
    eval_copy_result copies;
    double t_load, t_bleu, t_self, t_stats, t_mse, t_overlap, t_structure;
} sample_report;

static tg_status set_stats(const eval_set *set, eval_summary out[EVAL_N_STATS])
{
    double *v = malloc(set->n * EVAL_N_STATS * sizeof *v);
    if (!v) return TG_ERR_NOMEM;
    tg_status st = TG_OK;
    for (size_t i = 0; i < set->n && st == TG_OK; i++) st = eval_music_stats(set->pieces[i].score, v + i * EVAL_N_STATS);
    for (int k = 0; k < EVAL_N_STATS; k++) out[k] = eval_summarize(v + k, set->n, EVAL_N_STATS);
    free(v);
    return st;
}

/* Bar similarity of both sets, their error, and copies when train is given. */
static tg_status run_structure(const eval_set *gen, const eval_set *ref, const eval_set *train, sample_report *r)
{
    double t = tg_now_sec();
    tg_status st = eval_bar_similarity(gen, &r->structure, &r->profile[0]);
    if (st == TG_OK) st = eval_bar_similarity(ref, &r->structure, &r->profile[1]);
    r->similarity_error = eval_similarity_error(&r->profile[0], &r->profile[1]);
    if (st == TG_OK) st = eval_distinct_windows(gen, &r->structure, &r->distinct);
    r->have_copies = train != NULL;
    if (st == TG_OK && train) st = eval_copy_rate(gen, train, &r->structure, &r->copies);
    r->t_structure = tg_now_sec() - t;
    return st;
}

static tg_status run_metrics(const eval_set *gen, const eval_set *ref, int segment, sample_report *r)
{
    eval_seq *sg = NULL, *sr = NULL;
    size_t ng = 0, nr = 0;
    tg_status st = eval_set_sequences(gen, segment, &sg, &ng);
    if (st == TG_OK) st = eval_set_sequences(ref, segment, &sr, &nr);
    double t = tg_now_sec();
    if (st == TG_OK) st = eval_bleu(sg, ng, sr, nr, EVAL_BLEU_MAX_N, &r->bleu);
    r->t_bleu = tg_now_sec() - t;
    t = tg_now_sec();
    if (st == TG_OK) r->self_gen_ok = eval_self_bleu(sg, ng, EVAL_BLEU_MAX_N, &r->self_gen) == TG_OK;
    if (st == TG_OK) r->self_ref_ok = eval_self_bleu(sr, nr, EVAL_BLEU_MAX_N, &r->self_ref) == TG_OK;
    r->t_self = tg_now_sec() - t;
    free(sg);
    free(sr);
    t = tg_now_sec();
    if (st == TG_OK) st = set_stats(gen, r->stats[0]);
    if (st == TG_OK) st = set_stats(ref, r->stats[1]);
    r->t_stats = tg_now_sec() - t;
    t = tg_now_sec();
    if (st == TG_OK) st = eval_mse(gen, ref, &r->mse);
    r->t_mse = tg_now_sec() - t;
    t = tg_now_sec();
    if (st == TG_OK) st = eval_overlap(gen, ref, r->overlap);
    r->t_overlap = tg_now_sec() - t;
    return st;
}

static void print_table(const set_source *g, const set_source *r, const set_source *t, const char *tokcfg,
                        int segment, const sample_report *rep, const cli_harmony *h)
{
    describe("samples", g);
    describe("reference", r);
    if (t) describe("train", t);
    printf("tokenizer  %s\n", tokcfg);
    if (segment > 0) printf("BLEU over consecutive segments of %d tokens\n", segment);
    printf("\nBLEU-4 (NLTK corpus_bleu, smoothing method1; BOS/EOS/PAD left out)\n");
    printf("  samples vs reference           %.4f   (precisions %.3f %.3f %.3f %.3f, brevity %.3f)\n",
           rep->bleu.bleu, (double)rep->bleu.matches[0] / rep->bleu.totals[0],
           (double)rep->bleu.matches[1] / rep->bleu.totals[1], (double)rep->bleu.matches[2] / rep->bleu.totals[2],
           (double)rep->bleu.matches[3] / rep->bleu.totals[3], rep->bleu.brevity_penalty);
    printf("  mean sentence BLEU (Texygen)   %.4f\n", rep->bleu.bleu_sentence_mean);
    printf("  self-BLEU (Texygen)            samples %s", rep->self_gen_ok ? "" : "n/a");
    if (rep->self_gen_ok) printf("%.4f", rep->self_gen.bleu_sentence_mean);
    printf("   reference %s", rep->self_ref_ok ? "" : "n/a");
    if (rep->self_ref_ok) printf("%.4f", rep->self_ref.bleu_sentence_mean);
    printf("   (lower: more diverse)\n");
    printf("\nSeqGAN's MSE, read through Zipf metrics (Manaris et al. 2007)\n");
    printf("  zipf_mse (set means)           %.5f\n", rep->mse.zipf_mse);
    printf("  zipf_mse_nearest (per piece)   %.5f\n", rep->mse.zipf_mse_nearest);
    printf("  pitch_mse (first 32 melody notes, nearest reference)  %.3f\n", rep->mse.pitch_mse);
    printf("\nmusic statistics (MusPy)       samples mean +- sd      reference mean +- sd\n");
    for (int k = 0; k < EVAL_N_STATS; k++)
        printf("  %-26s %10.4f +- %-9.4f   %10.4f +- %-9.4f\n", eval_stat_name(k), rep->stats[0][k].mean,
               rep->stats[0][k].sd, rep->stats[1][k].mean, rep->stats[1][k].sd);
    printf("\noverlap (Yang & Lerch 2020)    OA(ref intra, inter)  KLD    OA(intra, intra)  "
           "mean distance: intra samples / intra ref / inter\n");
    for (int f = 0; f < EVAL_N_FEATURES; f++)
        printf("  %-26s %8.4f          %8.4f   %8.4f          %.4g / %.4g / %.4g\n", eval_feature_name(f),
               rep->overlap[f].oa, rep->overlap[f].kld, rep->overlap[f].oa_intra, rep->overlap[f].intra_gen_mean,
               rep->overlap[f].intra_ref_mean, rep->overlap[f].inter_mean);
    const eval_structure_config *sc = &rep->structure;
    char span[32] = "all bars";
    if (sc->max_bars > 0) snprintf(span, sizeof span, "first %d bars", sc->max_bars);
    printf("\nbar similarity (Museformer, Yu et al. 2022): %s, pairs at distance d pooled over the set\n", span);
    printf("  d     samples   reference\n");
    for (int d = 1; d <= sc->max_distance; d++)
        printf("  %-4d  %7.4f   %7.4f\n", d, rep->profile[0].sim[d], rep->profile[1].sim[d]);
    printf("  similarity error               %.4f   (mean over d = 1..%d of |samples - reference|)\n",
           rep->similarity_error, sc->max_distance);
    printf("  distinct windows               %.4f   (%llu distinct of the samples' %llu %d-bar windows)\n",
           rep->distinct.share, (unsigned long long)rep->distinct.distinct,
           (unsigned long long)rep->distinct.windows, sc->window_bars);
    if (rep->have_copies) {
        const eval_copy_result *c = &rep->copies;
        printf("  copy rate                      %.4f   (%llu of %llu %d-bar windows found in train's %llu; in %zu of "
               "%zu samples)\n",
               c->rate, (unsigned long long)c->copied, (unsigned long long)c->windows, sc->window_bars,
               (unsigned long long)c->train_windows, c->pieces_with_copy, g->set.n);
    }
    printf("  time                           %.2f s\n", rep->t_structure);
    cli_harmony_print(h, false);
    printf("\ntime: load %.2f s, BLEU %.2f s, self-BLEU %.2f s, statistics %.2f s, MSE %.2f s, overlap %.2f s\n",
           rep->t_load, rep->t_bleu, rep->t_self, rep->t_stats, rep->t_mse, rep->t_overlap);
}

static void print_json(const set_source *g, const set_source *r, const set_source *t, const char *tokcfg,
                       int segment, const sample_report *rep, const cli_harmony *h)
{
    putchar('{');
    json_source("samples", g);
    putchar(',');
    json_source("reference", r);
    if (t) {
        putchar(',');
        json_source("train", t);
    }
    printf(",\"tokenizer\":");
    json_str(tokcfg);
    printf(",\"segment\":%d,\"bleu\":", segment);
    json_num(rep->bleu.bleu);
    printf(",\"bleu_sentence_mean\":");
    json_num(rep->bleu.bleu_sentence_mean);
    printf(",\"bleu_precisions\":[");
    for (int n = 0; n < EVAL_BLEU_MAX_N; n++) {
        if (n) putchar(',');
        json_num((double)rep->bleu.matches[n] / (double)rep->bleu.totals[n]);
    }
    printf("],\"brevity_penalty\":");
    json_num(rep->bleu.brevity_penalty);
    printf(",\"self_bleu\":");
    json_num(rep->self_gen_ok ? rep->self_gen.bleu_sentence_mean : NAN);
    printf(",\"self_bleu_reference\":");
    json_num(rep->self_ref_ok ? rep->self_ref.bleu_sentence_mean : NAN);
    printf(",\"zipf_mse\":");
    json_num(rep->mse.zipf_mse);
    printf(",\"zipf_mse_nearest\":");
    json_num(rep->mse.zipf_mse_nearest);
    printf(",\"pitch_mse\":");
    json_num(rep->mse.pitch_mse);
    printf(",\"stats\":{");
    for (int k = 0; k < EVAL_N_STATS; k++) {
        printf("%s\"%s\":{", k ? "," : "", eval_stat_name(k));
        for (int side = 0; side < 2; side++) {
            printf("%s\"%s\":{\"mean\":", side ? "," : "", side ? "reference" : "samples");
            json_num(rep->stats[side][k].mean);
            printf(",\"sd\":");
            json_num(rep->stats[side][k].sd);
            printf(",\"n\":%zu}", rep->stats[side][k].n);
        }
        putchar('}');
    }
    printf("},\"overlap\":{");
    for (int f = 0; f < EVAL_N_FEATURES; f++) {
        const eval_overlap_result *o = &rep->overlap[f];
        printf("%s\"%s\":{\"oa\":", f ? "," : "", eval_feature_name(f));
        json_num(o->oa);
        printf(",\"kld\":");
        json_num(o->kld);
        printf(",\"oa_intra\":");
        json_num(o->oa_intra);
        printf(",\"intra_samples_mean\":");
        json_num(o->intra_gen_mean);
        printf(",\"intra_reference_mean\":");
        json_num(o->intra_ref_mean);
        printf(",\"inter_mean\":");
        json_num(o->inter_mean);
        putchar('}');
    }
    const eval_structure_config *sc = &rep->structure;
    printf("},\"bar_similarity\":{\"bars\":%d,\"distances\":%d", sc->max_bars, sc->max_distance);
    for (int side = 0; side < 2; side++) {
        printf(",\"%s\":[", side ? "reference" : "samples");
        for (int d = 1; d <= sc->max_distance; d++) {
            if (d > 1) putchar(',');
            json_num(rep->profile[side].sim[d]);
        }
        putchar(']');
    }
    printf("},\"similarity_error\":");
    json_num(rep->similarity_error);
    printf(",\"distinct_windows\":{\"share\":");
    json_num(rep->distinct.share);
    printf(",\"distinct\":%llu,\"windows\":%llu}", (unsigned long long)rep->distinct.distinct,
           (unsigned long long)rep->distinct.windows);
    printf(",\"copy_rate\":");
    if (rep->have_copies) {
        const eval_copy_result *c = &rep->copies;
        printf("{\"rate\":");
        json_num(c->rate);
        printf(",\"copied\":%llu,\"windows\":%llu,\"window_bars\":%d,\"train_windows\":%llu,"
               "\"pieces_with_copy\":%zu}",
               (unsigned long long)c->copied, (unsigned long long)c->windows, sc->window_bars,
               (unsigned long long)c->train_windows, c->pieces_with_copy);
    } else {
        printf("null");
    }
    cli_harmony_print(h, true);
    printf(",\"seconds\":{\"load\":%.3f,\"bleu\":%.3f,\"self_bleu\":%.3f,\"stats\":%.3f,\"mse\":%.3f,"
           "\"overlap\":%.3f,\"structure\":%.3f}}\n",
           rep->t_load, rep->t_bleu, rep->t_self, rep->t_stats, rep->t_mse, rep->t_overlap, rep->t_structure);
}

static int eval_samples(const char *samples, const char *reference, const char *train, const char *spec,
                        double step_sec, int segment, int bars, int melody_track, int voices, bool json)
{
    cli_harmony *h = NULL;
    set_source g, r, t;
    memset(&t, 0, sizeof t);
    if (resolve_source("--samples", samples, DATA_TEST, &g) ||
        resolve_source("--reference", reference, DATA_TEST, &r) ||
        (train && resolve_source("--train", train, DATA_TRAIN, &t)))
        return 1;
    int rc = 1;
    tok_tokenizer *tok = NULL;
    char tokcfg[512] = "";
    if ((g.is_corpus && open_corpus(&g)) || (r.is_corpus && open_corpus(&r)) || (t.is_corpus && open_corpus(&t)))
        goto done;
    /* the tokenizer: a corpus's, which must agree with the other corpora's and with --tokenizer */
    const set_source *corpora[3] = {&g, &r, &t}, *first = NULL;
    for (int i = 0; i < 3; i++) {
        const set_source *c = corpora[i];
        if (!c->is_corpus) continue;
        if (!first) {
            first = c;
        } else if (!run_same_tokenizer(first->corpus->config, c->corpus->config)) {
            cli_error("eval: %s was built with tokenizer '%s' but %s with '%s'", first->path, first->corpus->config,
                      c->path, c->corpus->config);
            goto done;
        }
    }
    const char *from_corpus = first ? first->corpus->config : NULL;
    if (from_corpus && step_sec > 0) {
        cli_error("eval: --step-sec applies to folders of MIDI files; a corpus fixes its tokenizer ('%s')",
                  from_corpus);
        goto done;
    }
    if (from_corpus && spec && !run_same_tokenizer(spec, from_corpus)) {
        char want[512];
        tok_config cfg;
        if (tok_config_parse(spec, &cfg, NULL, 0) != TG_OK || tok_config_to_string(&cfg, want, sizeof want) != TG_OK)
            snprintf(want, sizeof want, "%s", spec);
        cli_error("eval: --tokenizer %s differs from the corpus's tokenizer '%s' (drop --tokenizer to use the "
                  "corpus's)", want, from_corpus);
        goto done;
    }
    if (cli_make_tokenizer("eval", from_corpus ? from_corpus : spec ? spec : "remi", from_corpus ? 0 : step_sec,
                           &tok))
        goto done;
    tok_config_to_string(tok_get_config(tok), tokcfg, sizeof tokcfg);
    double t0 = tg_now_sec();
    if (load_source("--samples", &g, tok) || load_source("--reference", &r, tok) ||
        (train && load_source("--train", &t, tok)))
        goto done;
    sample_report rep;
    memset(&rep, 0, sizeof rep);
    rep.t_load = tg_now_sec() - t0;
    rep.structure = eval_structure_config_default();
    rep.structure.max_bars = bars;
    tg_status st = run_metrics(&g.set, &r.set, segment, &rep);
    if (st == TG_OK) st = run_structure(&g.set, &r.set, train ? &t.set : NULL, &rep);
    if (st != TG_OK) {
        cli_error("eval: %s", tg_status_str(st));
        goto done;
    }
    h = cli_harmony_measure(&g.set, &r.set, melody_track, voices);
    if (!h) goto done;
    if (!rep.self_gen_ok) cli_warn("self-BLEU needs at least two sequences: the samples have one");
    if (json)
        print_json(&g, &r, train ? &t : NULL, tokcfg, segment, &rep, h);
    else
        print_table(&g, &r, train ? &t : NULL, tokcfg, segment, &rep, h);
    rc = 0; /* main.c checks that stdout was written */
done:
    cli_harmony_free(h);
    eval_set_free(&g.set);
    eval_set_free(&r.set);
    eval_set_free(&t.set);
    data_corpus_close(g.corpus);
    data_corpus_close(r.corpus);
    data_corpus_close(t.corpus);
    tok_free(tok);
    return rc;
}

/* ------------------------------------------------------------------------ */

static const char eval_summary_text[] =
    "Evaluates a model's likelihood on a corpus, or compares a set of generated pieces\n"
    "with a reference set.\n"
    "\n"
    "  eval --model RUN_DIR --corpus CORPUS [--split test] [--stride N]\n"
    "      mean NLL per token (nats) and perplexity; windows of the model's context\n"
    "      every N tokens, each token scored once (N = 1: every token with the full\n"
    "      context; N = context: consecutive windows as during training).\n"
    "  eval --samples SET --reference SET [--train SET] [--tokenizer remi] [--segment N]\n"
    "      BLEU-4 (as NLTK's corpus_bleu, smoothing method1) and Texygen's mean\n"
    "      sentence BLEU against the reference, self-BLEU of each set, SeqGAN's MSE\n"
    "      read through Zipf metrics and a plain pitch MSE, MusPy statistics of both\n"
    "      sets, and Yang & Lerch's distribution overlap of seven features.\n"
    "      Structure (Museformer, Yu et al. 2022): the bar similarity of both sets at\n"
    "      distances d = 1..16 (notes as (onset in bar, pitch, duration), tracks merged;\n"
    "      |shared| / |union| of two bars' notes, pairs of empty bars skipped, the\n"
    "      pairs of a set pooled, first --bars bars of each piece) and the similarity\n"
    "      error, the mean over d of |samples - reference|. Diversity: the share of\n"
    "      distinct 4-bar windows among the samples' windows. With --train SET, the\n"
    "      copy rate: the fraction of the samples' 4-bar windows (every start bar)\n"
    "      found note for note in the training set's pieces (whole; a corpus\n"
    "      given without a split: its train split).\n"
    "      SET: a folder of MIDI files, or CORPUS[:train|valid|test] (default test).\n"
    "      Every piece passes through the tokenizer (a corpus's own, else\n"
    "      --tokenizer), so both sets are measured at the same resolution.\n"
    "      --segment N cuts every token sequence into N-token pieces for BLEU\n"
    "      (SeqGAN's music setting: grid, 32).\n"
    "      Harmony (issue 20), both sets: the harmonic fit, the share of melody\n"
    "      onsets whose pitch class is among those the accompaniment sounds at\n"
    "      that moment (start <= t < end; onsets with nothing else sounding left\n"
    "      out and reported). The melody is the top line (a note no sounding note\n"
    "      is above at its onset) or --melody-track N; the accompaniment is every\n"
    "      other non-drum note. Voice leading, when every sample is four voices\n"
    "      (four tracks, soprano first) or with --voices satb: parallel fifths and\n"
    "      octaves (two voices moving the same way, the interval mod 12 a fifth or\n"
    "      an octave before and after), voice crossings and notes outside each\n"
    "      voice's range, per 100 beats on a 16th-note grid. Folders are measured\n"
    "      as read (tracks apart), corpora as their tokens decode.";

int cli_eval(int argc, char **argv)
{
    const char *model = NULL, *corpus = NULL, *split = "test", *samples = NULL, *reference = NULL, *spec = NULL,
               *train = NULL;
    int stride = 0, batch = 8, threads = 0, segment = 0, bars = eval_structure_config_default().max_bars;
    int melody_track = -1;
    const char *voices = "auto";
    double step_sec = 0;
    bool json = false;
    const char *precision = cli_precision_default();
    const cli_opt opts[] = {
        {"model", 'm', CLI_STRING, &model, "RUN_DIR", "run folder (or checkpoint) of a generator", 0, 0},
        {"corpus", 'c', CLI_STRING, &corpus, "CORPUS", "corpus to score the model on", 0, 0},
        {"split", 0, CLI_STRING, &split, "SPLIT", "train, valid or test", 0, 0},
        {"stride", 0, CLI_INT, &stride, "N", "tokens between window starts (0: half the context)", 0, 1 << 20},
        {"batch", 'b', CLI_INT, &batch, "N", "windows per forward pass", 1, 4096},
        {"threads", 't', CLI_INT, &threads, "N", "threads for OpenMP and BLAS (0: all cores)", 0, 1024},
        {"precision", 0, CLI_STRING, &precision, "P", CLI_PRECISION_HELP, 0, 0},
        {"samples", 's', CLI_STRING, &samples, "SET", "generated pieces: folder or CORPUS[:split]", 0, 0},
        {"reference", 'r', CLI_STRING, &reference, "SET", "real pieces: folder or CORPUS[:split]", 0, 0},
        {"train", 0, CLI_STRING, &train, "SET", "training pieces for the copy rate: folder or CORPUS[:split] (train)",
         0, 0},
        {"bars", 0, CLI_INT, &bars, "N", "bar similarity and copies: first N bars of each piece (0: all)", 0,
         1 << 20},
        {"tokenizer", 0, CLI_STRING, &spec, "KIND", "for folders: remi, remi-compact, grid, perf or a config string (remi)", 0, 0},
        {"step-sec", 0, CLI_DOUBLE, &step_sec, "SEC", "grid: seconds between samples (0: 0.4)", 0, 60},
        {"segment", 0, CLI_INT, &segment, "N", "BLEU over N-token segments (0: whole pieces)", 0, 1 << 20},
        {"melody-track", 0, CLI_INT, &melody_track, "N", "harmonic fit: the melody's track (-1: the top line)", -1,
         1 << 16},
        {"voices", 0, CLI_STRING, &voices, "MODE", "voice leading: auto, satb or off", 0, 0},
        {"json", 0, CLI_FLAG, &json, NULL, "print one JSON object", 0, 0},
        {NULL, 0, 0, NULL, NULL, NULL, 0, 0},
    };
    const cli_command_info info = {"eval", "--model RUN_DIR --corpus CORPUS | --samples SET --reference SET",
                                   eval_summary_text};
    const char *pos[1];
    int n_pos;
    int r = cli_parse(&info, opts, argc, argv, pos, 0, &n_pos);
    if (r) return r == 2 ? 0 : 1;
    nn_set_threads(threads);
    if (cli_precision_start("eval", precision, true)) return 1;
    if (model && (samples || reference || train)) {
        cli_error("eval: give either --model (likelihood) or --samples and --reference, not both");
        return 1;
    }
    if (model) return eval_model(model, corpus, split, stride, batch, json);
    if (samples && reference) {
        if (corpus) {
            cli_error("eval: --corpus goes with --model; give a corpus as --reference CORPUS[:split]");
            return 1;
        }
        int vm = cli_voices_mode(voices);
        if (vm < 0) {
            cli_error("eval: --voices must be auto, satb or off, got '%s' (see tunegan eval --help)", voices);
            return 1;
        }
        return eval_samples(samples, reference, train, spec, step_sec, segment, bars, melody_track, vm, json);
    }
    cli_error("eval: give --model RUN_DIR --corpus CORPUS, or --samples SET --reference SET (see 'tunegan eval --help')");
    return 1;
}
