/*
 * take.c: generation from a run, as a program embedding tunegan sees it
 * (tg_run_generate): options checked against the run's model and tokenizer,
 * the primer tokenized and cut at a bar line, the samples drawn through the
 * generation loop (src/sample), the best of --rerank candidates chosen by the
 * run's discriminator, and each sample decoded into a score that keeps the
 * primer's tempo map, meters and ticks. Writing files is the caller's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "run.h"

tg_generate_options tg_generate_options_default(void)
{
    tg_generate_options o;
    memset(&o, 0, sizeof o);
    const sample_gen_options g = sample_gen_options_default();
    o.temperature = g.params.temperature;
    o.top_k = g.params.top_k;
    o.top_p = g.params.top_p;
    o.num = g.num;
    o.batch = g.batch;
    o.length = g.length;
    o.grammar = g.grammar;
    o.rerank = 1;
    return o;
}

void tg_take_free(tg_take *t)
{
    if (!t) return;
    tg_score_free(t->score);
    memset(t, 0, sizeof *t);
}

/* The score of a sampled sequence: decoded (strictly; leniently when asked,
 * or, with a warning in warn, when a sample breaks the grammar) and, with a
 * primer, given the primer's timing (sample_apply_primer_timing). */
static tg_status take_from_tokens(const tg_run *run, const tok_seq *seq, const tg_score *primer,
                                const sample_primer *pr, bool lenient, tg_take *take, char *warn,
                                size_t warn_len)
{
    memset(take, 0, sizeof *take);
    take->realism = -1;
    if (warn && warn_len) warn[0] = '\0';
    tok_decode_options dopt = tok_decode_options_default();
    dopt.lenient = lenient;
    tg_score *dec = NULL;
    tok_decode_error derr;
    tg_status st = tok_decode(run->tok, seq->ids, seq->n, &dopt, &dec, &derr, &take->repairs);
    if (st == TG_ERR_GRAMMAR) { /* cannot happen with the mask on: say so, repair */
        if (warn) snprintf(warn, warn_len, "token %zu breaks the grammar (%s): decoded leniently", derr.index,
                           derr.what);
        dopt.lenient = true;
        st = tok_decode(run->tok, seq->ids, seq->n, &dopt, &dec, &derr, &take->repairs);
    }
    if (st == TG_OK && primer) {
        st = sample_apply_primer_timing(run->tok, primer, pr, dec, &take->score, &take->primer_end_ticks);
        tg_score_free(dec);
    } else {
        take->score = dec;
    }
    const size_t prefix = primer ? pr->tokens.n : 1;
    take->tokens = seq->n;
    take->new_tokens = seq->n > prefix + 1 ? seq->n - prefix - 1 : 0;
    return st;
}

/* The options of the generation loop, checked against the run. */
static tg_status loop_options(const tg_run *run, const tg_generate_options *o, sample_gen_options *go,
                              char *err, size_t err_len)
{
    const model_config *mc = model_get_config(run->gen);
    const tok_kind kind = tok_get_config(run->tok)->kind;
    *go = sample_gen_options_default();
    go->params.temperature = o->temperature;
    go->params.top_k = o->top_k;
    go->params.top_p = o->top_p;
    go->params.pitch_temperature = o->pitch_temperature;
    char why[256];
    if (sample_params_check(&go->params, why, sizeof why) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_RANGE, "%s", why);
    if (!tok_is_music(run->tok))
        return tg_fail(err, err_len, TG_ERR_ARG,
                       "%s: this model writes abstract token ids (tokenizer raw, e.g. the SeqGAN oracle "
                       "experiment's), not music; sample it with tools/oracle", run->path);
    if (o->bars > 0 && !tok_has_bars(run->tok))
        return tg_fail(err, err_len, TG_ERR_ARG, "--bars needs a remi model; this one uses %s (give --length)",
                       tok_kind_name(kind));
    if (o->keep >= mc->context)
        return tg_fail(err, err_len, TG_ERR_ARG, "--keep %d must be below the model's context (%d)", o->keep,
                       mc->context);
    if (o->rerank < 1 || o->num < 1 || o->num > INT32_MAX / o->rerank)
        return tg_fail(err, err_len, TG_ERR_ARG, "num and rerank must be >= 1");
    go->num = o->num * o->rerank;
    go->batch = o->batch;
    go->length = o->length;
    go->bars = o->bars;
    go->grammar = o->grammar;
    go->keep = o->keep;
    go->seed = o->seed;
    return TG_OK;
}

/* The primer's tokens (BOS, its first bars, then a bar line) as the prefix. */
static tg_status primer_prefix(const tg_run *run, const tg_generate_options *o, sample_primer *pr,
                               sample_gen_options *go, char *err, size_t err_len)
{
    const int ctx = model_get_config(run->gen)->context;
    const char *name = o->primer_name ? o->primer_name : "the primer";
    char why[256];
    if (sample_primer_make(run->tok, o->primer, o->primer_bars, pr, why, sizeof why) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: %s", name, why);
    if (pr->tokens.n > (size_t)ctx)
        return tg_fail(err, err_len, TG_ERR_TOO_LARGE,
                       "%s: the primer is %zu tokens long (with BOS), more than the model's context of %d "
                       "tokens: keep fewer bars with --primer-bars", name, pr->tokens.n, ctx);
    go->prefix = pr->tokens.ids;
    go->prefix_len = pr->tokens.n;
    return TG_OK;
}

/* The most real of sample i's candidates (the lowest index on ties) goes to
 * seqs[i]; returns its mean p(real) in *realism. */
static tg_status rerank_one(const tg_run *run, tok_seq *seqs, int i, int per, double *realism)
{
    int best = -1;
    double best_p = -1;
    for (int c = 0; c < per; c++) {
        const int j = i * per + c;
        run_realism res;
        tg_status st = run_realism_of(run, seqs[j].ids, seqs[j].n, &res);
        if (st == TG_ERR_NOMEM) return st;
        if (st == TG_OK && res.windows > 0 && res.mean > best_p) best_p = res.mean, best = j;
    }
    if (best < 0) best = i * per;
    tok_seq t = seqs[i];
    seqs[i] = seqs[best];
    seqs[best] = t;
    *realism = best_p;
    return TG_OK;
}

/* What the generation loop's batch hook needs to hand takes over as soon as
 * all candidates of a sample are drawn. */
typedef struct {
    const tg_run *run;
    const tg_generate_options *o;
    tok_seq *seqs;          /* num * rerank candidates, filled batch by batch */
    const sample_primer *pr;
    tg_take *takes;         /* the caller's array, or NULL with on_take */
    int emitted;            /* takes handed over */
    tg_status st;           /* the first failure of a hook's own work */
    char *err;
    size_t err_len;
} emitter;

static tg_status emit_take(emitter *e, int i)
{
    const tg_generate_options *o = e->o;
    double realism = -1;
    tg_status st = TG_OK;
    if (o->rerank > 1 && (st = rerank_one(e->run, e->seqs, i, o->rerank, &realism)) != TG_OK)
        return tg_fail(e->err, e->err_len, st, "out of memory");
    tg_take take;
    char warn[256];
    st = take_from_tokens(e->run, &e->seqs[i], o->primer, e->pr, !o->grammar, &take, warn, sizeof warn);
    if (st != TG_OK) {
        tg_take_free(&take);
        return tg_fail(e->err, e->err_len, st, "sample %d: %s", i, tg_status_str(st));
    }
    take.realism = realism;
    if (warn[0] && o->logger.fn) {
        char line[300];
        snprintf(line, sizeof line, "sample %d: %s", i, warn);
        o->logger.fn(o->logger.user, TG_LOG_WARN, line);
    }
    e->emitted++;
    if (!o->on_take) {
        e->takes[i] = take;
        return TG_OK;
    }
    return o->on_take(o->user, i, &take) ? TG_ERR_INTERRUPTED : TG_OK;
}

/* sample_gen_options.on_batch: the samples whose candidates are all drawn
 * become takes; then the caller's progress hook. */
static int on_batch(void *user, int done, int num, double tok_per_s)
{
    emitter *e = user;
    const int per = e->o->rerank;
    while (e->st == TG_OK && e->emitted < e->o->num && (e->emitted + 1) * per <= done)
        e->st = emit_take(e, e->emitted);
    if (e->st != TG_OK) return 1;
    if (e->o->on_batch && e->o->on_batch(e->o->user, done / per, num / per, tok_per_s)) {
        e->st = TG_ERR_INTERRUPTED;
        return 1;
    }
    return 0;
}

static void copy_stats(tg_generate_stats *out, const sample_gen_stats *gs, int takes)
{
    out->new_tokens = gs->new_tokens;
    out->seconds = gs->seconds;
    out->tok_per_s = gs->tok_per_s;
    out->slides = gs->slides;
    out->ended_by_eos = gs->ended_by_eos;
    out->hit_length = gs->hit_length;
    out->hit_bars = gs->hit_bars;
    out->takes = takes;
}

tg_status tg_run_generate(tg_run *run, const tg_generate_options *o, tg_take *takes,
                          tg_generate_stats *stats, char *err, size_t err_len)
{
    tg_generate_stats dummy;
    if (!stats) stats = &dummy;
    memset(stats, 0, sizeof *stats);
    sample_gen_options go;
    sample_primer pr;
    memset(&pr, 0, sizeof pr);
    if (takes) memset(takes, 0, (size_t)(o->num > 0 ? o->num : 0) * sizeof *takes);
    tg_status st = loop_options(run, o, &go, err, err_len);
    if (st == TG_OK && !takes && !o->on_take)
        st = tg_fail(err, err_len, TG_ERR_ARG, "give an array for the takes or an on_take hook");
    if (st == TG_OK && o->rerank > 1 && !run->disc) st = run_load_disc(run, 16, err, err_len);
    if (st == TG_OK && o->primer) st = primer_prefix(run, o, &pr, &go, err, err_len);
    if (st != TG_OK) {
        sample_primer_free(&pr);
        return st;
    }
    stats->primer_bars = o->primer ? pr.bars : 0;
    stats->primer_tokens = o->primer ? pr.tokens.n - 1 : 0;
    stats->primer_sec = o->primer ? pr.end_sec : 0;

    tok_seq *seqs = calloc((size_t)go.num, sizeof *seqs);
    emitter e = {run, o, seqs, &pr, takes, 0, TG_OK, err, err_len};
    go.on_batch = on_batch;
    go.user = &e;
    sample_gen_stats gs;
    memset(&gs, 0, sizeof gs);
    if (!seqs) st = tg_fail(err, err_len, TG_ERR_NOMEM, "out of memory");
    if (st == TG_OK) {
        char gerr[512];
        st = sample_generate(run->gen, run->tok, &go, seqs, &gs, gerr, sizeof gerr);
        if (st == TG_ERR_INTERRUPTED && e.st != TG_OK) st = e.st; /* err says why */
        else if (st == TG_ERR_INTERRUPTED) tg_fail(err, err_len, st, "generation stopped by the caller");
        else if (st != TG_OK) tg_fail(err, err_len, st, "%s", gerr);
    }
    copy_stats(stats, &gs, e.emitted);
    if (seqs)
        for (int i = 0; i < go.num; i++) tok_seq_free(&seqs[i]); /* zeroed where already freed */
    free(seqs);
    sample_primer_free(&pr);
    if (st != TG_OK && st != TG_ERR_INTERRUPTED && takes)
        for (int i = 0; i < o->num; i++) tg_take_free(&takes[i]);
    return st;
}
