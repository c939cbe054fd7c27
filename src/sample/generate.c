/*
 * generate.c: the generation loop. Samples are decoded in batches of up to
 * opt->batch sequences that advance together through one run state: the
 * prefix (BOS and the primer) is fed once as a batched prefill, then every
 * step picks one token per sequence (grammar mask, sampling controls, the
 * sequence's own rng) and feeds it. When the cache is full the window slides
 * (sample.h). A sequence stops at EOS, after opt->length new tokens, or
 * before its (bars+1)-th new bar; the batch ends when all have stopped.
 *
 * With the grammar on, EOS waits for the sample's first note of its own (no
 * empty pieces), and every sample decodes strictly: one that stops
 * anywhere but after EOS is cut back to the last point from which it could
 * be ended without inventing notes, then closed (tok_grammar_close) and given
 * EOS.
 *
 * The decoding itself is the batch-sampling loop (loop.c) with this file's
 * policy: the grammar mask and the stopping rules. A stopped sequence leaves
 * the cache, so the others go on at the cost of their own number.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "sample.h"

sample_gen_options sample_gen_options_default(void)
{
    sample_gen_options o;
    memset(&o, 0, sizeof o);
    o.params = sample_params_default();
    o.num = 1;
    o.batch = 16;
    o.length = 512;
    o.grammar = true;
    return o;
}

/* One sequence of a batch. */
typedef struct {
    tg_rng rng;
    tok_seq seq;        /* prefix, then the new tokens */
    tok_grammar g;      /* after seq */
    tok_grammar g_ok;   /* at the last point the piece could be closed from */
    size_t len_ok;      /* seq's length there */
    int new_tokens;
    int bars;           /* bars begun since the prefix's end */
    bool done, eos;
} row;

/* The stream of sample i: independent of the batch it lands in. */
/* Ends a stopped sequence: cut back, close, EOS. */
static tg_status finish_row(row *r, bool grammar, sample_gen_stats *stats)
{
    if (r->eos) return TG_OK;
    tg_status st = TG_OK;
    if (grammar) {
        stats->cut_tokens += r->seq.n - r->len_ok;
        r->seq.n = r->len_ok;
        st = tok_grammar_close(&r->g_ok, &r->seq);
    }
    if (st == TG_OK) st = tok_seq_push(&r->seq, TOK_EOS);
    return st;
}

/* generate's policy for the batch-sampling loop (loop.c). */
typedef struct {
    row *rows;
    const sample_gen_options *opt;
    sample_gen_stats *stats;
    const tok_grammar *g0;  /* after the prefix */
    int bar_id;             /* remi's Bar, or -1 */
    int meter0, n_meters;   /* keep_meter: the meter tokens' ids meter0.. masked (n_meters 0: none) */
    tg_status st;           /* the first failure (out of memory) */
} gen_policy;

/* The grammar's mask; no EOS before a note of the sample's own: never an
 * empty piece. */
static const uint8_t *gen_allowed(void *user, int i, uint8_t *mask)
{
    gen_policy *pol = user;
    if (!pol->opt->grammar) return NULL;
    row *r = &pol->rows[i];
    tok_grammar_mask(&r->g, mask);
    if (r->g.notes == pol->g0->notes || pol->opt->no_end) mask[TOK_EOS] = 0;
    if (pol->n_meters) memset(mask + pol->meter0, 0, (size_t)pol->n_meters);
    return mask;
}

static tg_rng *gen_rng(void *user, int i) { return &((gen_policy *)user)->rows[i].rng; }

/* The sequence's stopping rules: EOS, --bars (the Bar that would begin one
 * bar too many is not kept), --length. */
static sample_verdict gen_took(void *user, int i, int id)
{
    gen_policy *pol = user;
    const sample_gen_options *opt = pol->opt;
    row *r = &pol->rows[i];
    if (id < 0 || pol->st != TG_OK) { /* nothing allowed: cannot happen with the grammars in tok.h */
        r->done = true;
        return SAMPLE_STOP;
    }
    if (id == pol->bar_id && opt->bars > 0 && r->bars >= opt->bars) {
        r->done = true;
        pol->stats->hit_bars++;
        return SAMPLE_STOP;
    }
    pol->st = tok_seq_push(&r->seq, id);
    if (pol->st != TG_OK) return SAMPLE_STOP;
    if (id == TOK_EOS) {
        r->done = r->eos = true;
        pol->stats->ended_by_eos++;
        return SAMPLE_STOP;
    }
    if (opt->grammar) {
        tok_grammar_feed(&r->g, id);
        if (tok_grammar_can_close(&r->g)) {
            r->g_ok = r->g;
            r->len_ok = r->seq.n;
        }
    }
    if (id == pol->bar_id) r->bars++;
    r->new_tokens++;
    pol->stats->new_tokens++;
    if (opt->length > 0 && r->new_tokens >= opt->length) {
        r->done = true;
        pol->stats->hit_length++;
        return SAMPLE_STOP;
    }
    return SAMPLE_GO;
}

tg_status sample_generate(const tg_model *model, const tok_tokenizer *tok,
                          const sample_gen_options *opt, tok_seq *out, sample_gen_stats *stats,
                          char *err, size_t err_len)
{
    sample_gen_stats dummy;
    if (!stats) stats = &dummy;
    memset(stats, 0, sizeof *stats);
    const model_config *cfg = model_get_config(model);
    const int V = cfg->vocab_size, T_ctx = cfg->context;
    const tok_config *tcfg = tok_get_config(tok);
    char why[160];
    if (cfg->kind != MODEL_GENERATOR)
        return tg_fail(err, err_len, TG_ERR_ARG, "the model is a discriminator, not a generator");
    if (V != tok_vocab_size(tok))
        return tg_fail(err, err_len, TG_ERR_ARG,
                    "the model's vocabulary (%d) is not the tokenizer's (%s: %d)", V,
                    tok_kind_name(tcfg->kind), tok_vocab_size(tok));
    if (sample_params_check(&opt->params, why, sizeof why) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_RANGE, "%s", why);
    if (opt->num < 1 || opt->batch < 1 || opt->length < 0 || opt->bars < 0)
        return tg_fail(err, err_len, TG_ERR_ARG, "num and batch must be >= 1, length and bars >= 0");
    if (opt->length == 0 && opt->bars == 0)
        return tg_fail(err, err_len, TG_ERR_ARG, "give a length in tokens, a number of bars, or both");
    if (opt->bars > 0 && !tok_has_bars(tok))
        return tg_fail(err, err_len, TG_ERR_ARG, "a length in bars needs the remi tokenizer (the model's is %s)",
                    tok_kind_name(tcfg->kind));
    int keep = opt->keep > 0 ? opt->keep : T_ctx / 2;
    if (keep < 1) keep = 1;
    if (keep > T_ctx - 1)
        return tg_fail(err, err_len, TG_ERR_ARG, "the window keeps %d tokens: it must be below the context (%d)",
                    keep, T_ctx);

    const uint16_t bos = TOK_BOS;
    const uint16_t *prefix = opt->prefix ? opt->prefix : &bos;
    const size_t plen = opt->prefix ? opt->prefix_len : 1;
    if (plen < 1) return tg_fail(err, err_len, TG_ERR_ARG, "the prefix is empty");
    if (plen > (size_t)T_ctx)
        return tg_fail(err, err_len, TG_ERR_TOO_LARGE,
                    "the primer is %zu tokens with BOS, longer than the model's context of %d "
                    "tokens: keep fewer bars (--primer-bars)", plen, T_ctx);
    /* the prefix through the grammar, with its last point to close from */
    tok_grammar g0, g0_ok;
    tok_grammar_init(&g0, tok);
    size_t len0_ok = 0;
    g0_ok = g0;
    for (size_t i = 0; i < plen; i++) {
        if (prefix[i] >= V)
            return tg_fail(err, err_len, TG_ERR_ARG, "prefix token %zu (id %u) is outside the vocabulary",
                        i, prefix[i]);
        if (!opt->grammar) continue;
        if (tok_grammar_feed(&g0, prefix[i]) != TG_OK)
            return tg_fail(err, err_len, TG_ERR_GRAMMAR, "prefix token %zu (%s) breaks the grammar", i,
                        tok_name(tok, prefix[i]));
        if (tok_grammar_can_close(&g0)) {
            g0_ok = g0;
            len0_ok = i + 1;
        }
    }
    const int bar_id = tok_bar_id(tok);
    /* a prefix ending in a Bar (and its meter) has opened the first new bar */
    size_t last = plen - 1;
    while (last > 0 && tok_get_info(tok, prefix[last]).type == TOK_T_TIMESIG) last--;
    const int bars0 = bar_id >= 0 && prefix[last] == bar_id && last > 0 ? 1 : 0;

    const int BM = opt->batch < opt->num ? opt->batch : opt->num;
    sample_buffers bt;
    tg_status st = sample_buffers_open(model, BM, plen, &bt); /* prefixes (B,plen): every row's prefix */
    row *rows = calloc((size_t)BM, sizeof *rows);
    if (st == TG_OK && !rows) st = TG_ERR_NOMEM;
    const bool mask_meters = opt->keep_meter && tok->base[TOK_T_TIMESIG] >= 0; /* the ids of a type are consecutive */
    gen_policy pol = {rows, opt, stats, &g0, bar_id, mask_meters ? tok->base[TOK_T_TIMESIG] : 0,
                      mask_meters ? tok->count[TOK_T_TIMESIG] : 0, TG_OK};
    sample_params params = opt->params;
    uint8_t *pitch = NULL;
    if (st == TG_OK) st = sample_params_bind(tok, &params, &pitch);
    const sample_loop lp = {params, gen_allowed, gen_rng, gen_took, &pol, true, keep, NULL, NULL};

    double t0 = tg_now_sec(), cb_sec = 0;
    for (int first = 0; st == TG_OK && first < opt->num; first += BM) {
        const int B = opt->num - first < BM ? opt->num - first : BM;
        for (int b = 0; b < B; b++) {
            row *r = &rows[b];
            tok_seq_free(&r->seq);
            memset(r, 0, sizeof *r);
            sample_row_seed(&r->rng, opt->seed, first + b);
            for (size_t i = 0; i < plen && st == TG_OK; i++) st = tok_seq_push(&r->seq, prefix[i]);
            r->g = g0;
            r->g_ok = g0_ok;
            r->len_ok = len0_ok;
            r->bars = bars0;
            for (size_t i = 0; i < plen; i++) bt.prefixes[(size_t)b * plen + i] = prefix[i];
        }
        if (st == TG_OK)
            st = sample_loop_run(bt.cache, &lp, B, bt.prefixes, (int)plen, NULL, bt.logits, &stats->slides);
        if (st == TG_OK) st = pol.st;
        for (int b = 0; b < B && st == TG_OK; b++) {
            st = finish_row(&rows[b], opt->grammar, stats);
            if (st == TG_OK) {
                out[first + b] = rows[b].seq; /* handed over */
                memset(&rows[b].seq, 0, sizeof rows[b].seq);
            }
        }
        if (st == TG_OK && opt->on_batch) {
            /* the caller's time (writing files, say) is not decoding's */
            const double t_cb = tg_now_sec(), el = t_cb - t0 - cb_sec;
            if (opt->on_batch(opt->user, first + B, opt->num, el > 0 ? stats->new_tokens / el : 0.0))
                st = TG_ERR_INTERRUPTED;
            cb_sec += tg_now_sec() - t_cb;
        }
    }
    stats->seconds = tg_now_sec() - t0 - cb_sec;
    stats->tok_per_s = stats->seconds > 0 ? stats->new_tokens / stats->seconds : 0.0;
    if (rows)
        for (int b = 0; b < BM; b++) tok_seq_free(&rows[b].seq);
    free(rows);
    free(pitch);
    sample_buffers_close(&bt);
    if (st != TG_OK) {
        for (int i = 0; i < opt->num; i++) tok_seq_free(&out[i]);
        return tg_fail(err, err_len, st, "generation failed: %s", tg_status_str(st));
    }
    return TG_OK;
}
