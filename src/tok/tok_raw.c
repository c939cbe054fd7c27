/*
 * tok_raw.c: the raw tokenizer, a vocabulary of abstract ids (Id_0 ..
 * Id_{vocab-1} after PAD, BOS, EOS) that stands for no music. It exists so
 * that synthetic corpora, such as the sequences of SeqGAN's oracle
 * experiment (Yu et al. 2017, https://arxiv.org/abs/1609.05473, section 4;
 * tools/oracle.c), carry a tokenizer config like any other corpus and train
 * with the same commands. Encoding a score and decoding ids to a score are
 * refused with TG_ERR_UNSUPPORTED; the grammar is BOS, any Ids, EOS.
 */
#include <stddef.h>
#include <stdio.h>

#include "../core/core.h"
#include "tok.h"

static void raw_default(tok_config *c) { c->raw.vocab = 5000; }

static tg_status raw_check(const tok_config *c, char *why, size_t n)
{
    if (c->raw.vocab < 1 || c->raw.vocab > TOK_RAW_MAX_VOCAB)
        return tg_fail(why, n, TG_ERR_RANGE, "vocab must be 1..%d, got %d", TOK_RAW_MAX_VOCAB,
                       c->raw.vocab);
    return TG_OK;
}

static tg_status raw_build(tok_tokenizer *tok)
{
    char name[16];
    tg_status st = TG_OK;
    for (int k = 0; k < tok->cfg.raw.vocab && st == TG_OK; k++) {
        snprintf(name, sizeof name, "Id_%d", k);
        st = tok_add(tok, TOK_T_ID, k, name);
    }
    return st;
}

static tg_status raw_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq)
{
    (void)tok;
    (void)score;
    (void)seq;
    return TG_ERR_UNSUPPORTED;
}

static tg_status raw_decode(tok_dec *d, const uint16_t *ids, size_t n, tg_score **out)
{
    (void)ids;
    (void)n;
    *out = NULL;
    if (d->err) {
        d->err->index = 0;
        snprintf(d->err->what, sizeof d->err->what,
                 "the raw tokenizer holds abstract ids, not music: its tokens cannot be "
                 "decoded to notes");
    }
    return TG_ERR_UNSUPPORTED;
}

/* Any Id, and EOS at any point after BOS. */
static bool raw_allows(const tok_grammar *g, tok_type type, int value)
{
    (void)g;
    (void)value;
    return type == TOK_T_ID || type == TOK_T_EOS;
}

static void raw_feed(tok_grammar *g, tok_type type, int value)
{
    (void)value;
    if (type == TOK_T_ID) g->notes++;
}

/* The time of a raw sequence is its count of Ids. */
static int64_t raw_time(const tok_grammar *g) { return g->notes; }

static const tok_config_key raw_keys[] = {
    {"vocab", offsetof(tok_config, raw.vocab), false},
};

const tok_kind_ops tok_raw_ops = {
    .kind = TOK_RAW,
    .name = "raw",
    .keys = raw_keys,
    .n_keys = (int)TG_ARRAY_LEN(raw_keys),
    .config_default = raw_default,
    .config_check = raw_check,
    .build = raw_build,
    .encode = raw_encode,
    .decode = raw_decode,
    .grammar_init = tok_grammar_init_none,
    .grammar_allows = raw_allows,
    .grammar_feed = raw_feed,
    .grammar_can_close = tok_grammar_can_end,
    .grammar_close = tok_grammar_close_none,
    .grammar_time = raw_time,
    .grammar_pad = tok_grammar_pad_none,
    .steps_per_quarter = tok_no_steps,
    .unit_sec = tok_no_unit,
};
