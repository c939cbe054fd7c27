/*
 * test_tok_raw.c: the raw tokenizer (abstract ids, no music): its config
 * string, vocabulary, grammar, and the refusal to encode or decode music.
 */
#include "test.h"
#include "tok/tok.h"

static void test_config(void)
{
    tok_config c;
    char why[160], buf[64];
    CHECK_OK(tok_config_parse("raw:v=1,vocab=5000", &c, why, sizeof why));
    CHECK_INT(c.kind, TOK_RAW);
    CHECK_INT(c.raw.vocab, 5000);
    CHECK_OK(tok_config_parse("raw", &c, why, sizeof why));
    CHECK_INT(c.raw.vocab, 5000);
    CHECK_OK(tok_config_parse("raw:vocab=7", &c, why, sizeof why));
    CHECK_OK(tok_config_to_string(&c, buf, sizeof buf));
    CHECK_STR(buf, "raw:v=1,vocab=7");
    CHECK_STR(tok_kind_name(TOK_RAW), "raw");
    CHECK_STATUS(tok_config_parse("raw:vocab=0", &c, why, sizeof why), TG_ERR_RANGE);
    CHECK_STATUS(tok_config_parse("raw:vocab=70000", &c, why, sizeof why), TG_ERR_RANGE);
    CHECK_STATUS(tok_config_parse("raw:vocab=12x", &c, why, sizeof why), TG_ERR_FORMAT);
    CHECK_STATUS(tok_config_parse("raw:step_sec=1", &c, why, sizeof why), TG_ERR_FORMAT);
    CHECK_STATUS(tok_config_parse("raw:v=2", &c, why, sizeof why), TG_ERR_VERSION);
    CHECK_STATUS(tok_config_parse("rawx", &c, why, sizeof why), TG_ERR_FORMAT);
    CHECK(strstr(why, "raw") != NULL); /* the message lists raw among the kinds */
}

static void test_vocab(void)
{
    tok_config c = tok_config_default(TOK_RAW);
    c.raw.vocab = 5000;
    tok_tokenizer *t = NULL;
    CHECK_OK(tok_create(&c, &t));
    if (!t) return;
    CHECK_INT(tok_vocab_size(t), 5003);
    CHECK_STR(tok_name(t, TOK_PAD), "PAD");
    CHECK_STR(tok_name(t, TOK_BOS), "BOS");
    CHECK_STR(tok_name(t, TOK_EOS), "EOS");
    CHECK_STR(tok_name(t, 3), "Id_0");
    CHECK_STR(tok_name(t, 5002), "Id_4999");
    CHECK_INT(tok_lookup(t, "Id_1234"), 1237);
    CHECK_INT(tok_lookup(t, "Id_5000"), -1);
    CHECK_INT(tok_id(t, TOK_T_ID, 4999), 5002);
    CHECK_INT(tok_get_info(t, 10).type, TOK_T_ID);
    CHECK_INT(tok_get_info(t, 10).value, 7);
    tok_free(t);
}

static void test_grammar(void)
{
    tok_config c = tok_config_default(TOK_RAW);
    c.raw.vocab = 10;
    tok_tokenizer *t = NULL;
    CHECK_OK(tok_create(&c, &t));
    if (!t) return;
    tok_grammar g;
    tok_grammar_init(&g, t);
    CHECK(!tok_grammar_allows(&g, 5));
    CHECK_OK(tok_grammar_feed(&g, TOK_BOS));
    CHECK(tok_grammar_can_end(&g));
    uint8_t mask[13];
    CHECK_INT(tok_grammar_mask(&g, mask), 11); /* ten Ids and EOS */
    CHECK_INT(mask[TOK_PAD] + mask[TOK_BOS], 0);
    CHECK_OK(tok_grammar_feed(&g, 12));
    CHECK_OK(tok_grammar_feed(&g, 3));
    CHECK_STATUS(tok_grammar_feed(&g, TOK_BOS), TG_ERR_GRAMMAR);
    CHECK_STATUS(tok_grammar_feed(&g, 13), TG_ERR_GRAMMAR);
    CHECK_INT(tok_grammar_time(&g), 2);
    CHECK_INT(g.notes, 2);
    CHECK_OK(tok_grammar_feed(&g, TOK_EOS));
    CHECK(!tok_grammar_allows(&g, 4));
    tok_free(t);
}

static void test_no_music(void)
{
    tok_config c = tok_config_default(TOK_RAW);
    tok_tokenizer *t = NULL;
    CHECK_OK(tok_create(&c, &t));
    if (!t) return;
    tg_score *s = NULL;
    CHECK_OK(tg_score_create(480, &s));
    tok_seq seq = {0};
    CHECK_STATUS(tok_encode(t, s, &seq), TG_ERR_UNSUPPORTED);
    CHECK_INT(seq.n, 0);
    const uint16_t ids[] = {TOK_BOS, 3, 4, TOK_EOS};
    tg_score *out = (tg_score *)&c; /* must be reset to NULL */
    tok_decode_error err;
    CHECK_STATUS(tok_decode(t, ids, 4, NULL, &out, &err, NULL), TG_ERR_UNSUPPORTED);
    CHECK(out == NULL);
    CHECK(strstr(err.what, "not music") != NULL);
    tok_decode_options lenient = tok_decode_options_default();
    lenient.lenient = true;
    CHECK_STATUS(tok_decode(t, ids, 4, &lenient, &out, NULL, NULL), TG_ERR_UNSUPPORTED);
    tok_seq_free(&seq);
    tg_score_free(s);
    tok_free(t);
}

int main(void)
{
    test_config();
    test_vocab();
    test_grammar();
    test_no_music();
    return test_finish("test_tok_raw");
}
