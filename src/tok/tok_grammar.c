/*
 * tok_grammar.c: per-sequence grammar states for the tokenizers: which
 * ids may come next, so that a sampler can mask the others and every sample
 * decodes strictly. tok.h lists the rules; each kind's file holds its own
 * (its table's grammar_allows and grammar_feed). This file holds what all
 * kinds share: before BOS only BOS, after EOS only PAD, PAD and BOS nowhere
 * else; the mask is allows() over the vocabulary, and feeding a token checks
 * it and then lets the kind update the state the way its decoder does.
 *
 * What it leaves out: limits the decoders do not have (a remi piece may have
 * any number of bars, a perf piece any number of sounding notes).
 */
#include <string.h>

#include "tok.h"

void tok_grammar_init(tok_grammar *g, const tok_tokenizer *tok)
{
    memset(g, 0, sizeof *g);
    g->tok = tok;
    g->last = TOK_T_COUNT_;
    tok->ops->grammar_init(g);
}

static bool allows_type(const tok_grammar *g, tok_type type, int value)
{
    if (g->ended) return type == TOK_T_PAD;
    if (g->last == TOK_T_COUNT_) return type == TOK_T_BOS;
    if (type == TOK_T_PAD || type == TOK_T_BOS) return false;
    return g->tok->ops->grammar_allows(g, type, value);
}

bool tok_grammar_allows(const tok_grammar *g, int id)
{
    if (id < 0 || id >= g->tok->size) return false;
    tok_info info = g->tok->info[id];
    return allows_type(g, info.type, info.value);
}

int tok_grammar_mask(const tok_grammar *g, uint8_t *mask)
{
    int n = 0;
    for (int id = 0; id < g->tok->size; id++) {
        tok_info info = g->tok->info[id];
        mask[id] = allows_type(g, info.type, info.value) ? 1 : 0;
        n += mask[id];
    }
    return n;
}

tg_status tok_grammar_feed(tok_grammar *g, int id)
{
    if (!tok_grammar_allows(g, id)) return TG_ERR_GRAMMAR;
    tok_info info = g->tok->info[id];
    if (info.type == TOK_T_EOS) g->ended = true;
    g->tok->ops->grammar_feed(g, info.type, info.value);
    if (info.type != TOK_T_PAD) g->last = (int)info.type;
    g->tokens++;
    return TG_OK;
}

bool tok_grammar_can_end(const tok_grammar *g) { return allows_type(g, TOK_T_EOS, 0); }

bool tok_grammar_can_close(const tok_grammar *g)
{
    if (g->ended || g->last == TOK_T_COUNT_) return false;
    return g->tok->ops->grammar_can_close(g);
}

tg_status tok_grammar_close(const tok_grammar *g, tok_seq *seq)
{
    if (!tok_grammar_can_close(g)) return TG_ERR_GRAMMAR;
    return g->tok->ops->grammar_close(g, seq);
}

int64_t tok_grammar_time(const tok_grammar *g) { return g->tok->ops->grammar_time(g); }

tg_status tok_grammar_pad(const tok_grammar *g, int64_t usec, tok_seq *seq)
{
    return g->tok->ops->grammar_pad(g, usec, seq);
}

/* ------------------------------------------------------------------------ */
/* Helpers for kinds with nothing of their own to do. */

void tok_grammar_init_none(tok_grammar *g) { (void)g; }

tg_status tok_grammar_close_none(const tok_grammar *g, tok_seq *seq)
{
    (void)g;
    (void)seq;
    return TG_OK;
}

tg_status tok_grammar_pad_none(const tok_grammar *g, int64_t usec, tok_seq *seq)
{
    (void)g;
    (void)usec;
    (void)seq;
    return TG_ERR_UNSUPPORTED;
}
