/*
 * tok_raw.c: the raw tokenizer, a vocabulary of abstract ids (Id_0 ..
 * Id_{vocab-1} after PAD, BOS, EOS) that stands for no music. It exists so
 * that synthetic corpora, such as the sequences of SeqGAN's oracle
 * experiment (Yu et al. 2017, https://arxiv.org/abs/1609.05473, section 4;
 * tools/oracle.c), carry a tokenizer config like any other corpus and train
 * with the same commands. Encoding a score and decoding ids to a score are
 * refused with TG_ERR_UNSUPPORTED.
 */
#include <stdio.h>

#include "tok.h"

tg_status tok_raw_build(tok_tokenizer *tok)
{
    char name[16];
    tg_status st = TG_OK;
    for (int k = 0; k < tok->cfg.raw.vocab && st == TG_OK; k++) {
        snprintf(name, sizeof name, "Id_%d", k);
        st = tok_add(tok, TOK_T_ID, k, name);
    }
    return st;
}

tg_status tok_raw_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq)
{
    (void)tok;
    (void)score;
    (void)seq;
    return TG_ERR_UNSUPPORTED;
}

tg_status tok_raw_decode(tok_dec *d, const uint16_t *ids, size_t n, tg_score **out)
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
