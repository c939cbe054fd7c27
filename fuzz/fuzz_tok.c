/*
 * fuzz_tok.c: libFuzzer entry point for the token decoders (tok_decode of
 * every kind, strict and lenient).
 *
 * Input: one byte choosing the tokenizer (low 3 bits: one of the seven
 * configs below, the defaults and a small one of each kind) and the mode (bit
 * 3: lenient), then the ids as little-endian u16, each taken modulo the
 * vocabulary size plus 2 so that ids just outside the vocabulary occur too.
 *
 * Expectations (a broken one aborts, which libFuzzer reports as a crash):
 * a refusal leaves no score, and a strict one is a grammar error naming a
 * token of the input with a message; lenient decoding never refuses for
 * grammar; a decoded score holds only valid notes. A strict success decodes
 * leniently without a repair to as many notes. A decoded score encodes (or
 * is too long for the tokenizer), and what the encoder writes decodes
 * strictly to as many notes: the encoder keeps the grammar.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tok/tok.h"
#include "fuzz.h"

static const char *const configs[] = {
    "remi",
    "remi:steps_per_quarter=4,tempo_bins=4,velocity_bins=4,max_duration_steps=8",
    "grid",
    "grid:step_sec=0.25,pitch_min=60,pitch_max=72",
    "perf",
    "perf:shift_ms=50,max_shift_steps=8,velocity_bins=4",
    "raw:vocab=5",
};
#define N_CONFIGS (sizeof configs / sizeof configs[0])

/* Made once per process: the tokenizers are read-only. */
static tok_tokenizer *tokenizer(size_t k)
{
    static tok_tokenizer *made[N_CONFIGS];
    if (!made[k]) {
        tok_config cfg;
        char why[160];
        EXPECT(tok_config_parse(configs[k], &cfg, why, sizeof why) == TG_OK, "%s: %s", configs[k], why);
        EXPECT(tok_create(&cfg, &made[k]) == TG_OK, "%s", configs[k]);
    }
    return made[k];
}

/* Messages are formatted (so the sanitizers check them) and dropped. */
static void count_message(void *user, tg_log_level level, const char *msg)
{
    (void)level;
    *(size_t *)user += strlen(msg);
}

static size_t check_score(const tg_score *s)
{
    EXPECT(s->ticks_per_quarter > 0, "ticks per quarter %d", s->ticks_per_quarter);
    size_t notes = 0;
    for (size_t i = 0; i < s->n_tracks; i++) {
        const tg_track *t = &s->tracks[i];
        EXPECT(t->channel >= 0 && t->channel <= 15 && t->program >= 0 && t->program <= 127,
               "track %zu: channel %d program %d", i, t->channel, t->program);
        for (size_t j = 0; j < t->n_notes; j++) {
            const tg_note *n = &t->notes[j];
            EXPECT(n->start_ticks >= 0 && n->end_ticks > n->start_ticks, "note %lld..%lld",
                   (long long)n->start_ticks, (long long)n->end_ticks);
            EXPECT(n->pitch <= 127 && n->velocity >= 1 && n->velocity <= 127 && n->channel == t->channel,
                   "pitch %d velocity %d channel %d", n->pitch, n->velocity, n->channel);
        }
        notes += t->n_notes;
    }
    return notes;
}

static tg_status decode(const tok_tokenizer *tok, const uint16_t *ids, size_t n, bool lenient,
                        tg_score **out, tok_decode_error *err, size_t *repairs)
{
    size_t logged = 0;
    tok_decode_options o = tok_decode_options_default();
    o.lenient = lenient;
    o.logger.fn = count_message;
    o.logger.user = &logged;
    o.name = "fuzz";
    /* a line per token, as detokenize passes them: messages read lines[index] */
    uint32_t *lines = malloc((n ? n : 1) * sizeof *lines);
    EXPECT(lines != NULL, "out of memory");
    for (size_t i = 0; i < n; i++) lines[i] = (uint32_t)(i + 1);
    o.lines = lines;
    memset(err, 0, sizeof *err);
    tg_status st = tok_decode(tok, ids, n, &o, out, err, repairs);
    free(lines);
    if (st != TG_OK) {
        EXPECT(*out == NULL, "a score after %s", tg_status_name(st));
        EXPECT(st != TG_ERR_GRAMMAR || !lenient, "lenient decoding refused for grammar: %s", err->what);
        if (st == TG_ERR_GRAMMAR) {
            EXPECT(err->index < n, "error at token %zu of %zu", err->index, n);
            EXPECT(err->what[0] != 0, "a grammar error without a message");
        }
    }
    return st;
}

/* The encoder's output of a decoded score decodes strictly to as many notes. */
static void check_reencode(const tok_tokenizer *tok, const tg_score *s, size_t notes)
{
    tok_seq seq = {0};
    tg_status st = tok_encode(tok, s, &seq);
    if (st == TG_ERR_TOO_LARGE) {
        tok_seq_free(&seq);
        return;
    }
    EXPECT(st == TG_OK, "encoding a decoded score: %s", tg_status_name(st));
    tg_score *back = NULL;
    tok_decode_error err;
    size_t repairs = 0;
    st = decode(tok, seq.ids, seq.n, false, &back, &err, &repairs);
    EXPECT(st == TG_OK, "the encoder's %zu tokens do not decode: token %zu (%s): %s", seq.n, err.index,
           err.index < seq.n ? tok_name(tok, seq.ids[err.index]) : "?", err.what);
    size_t again = check_score(back);
    EXPECT(again == notes, "%zu notes decoded, encoded and decoded again: %zu", notes, again);
    tg_score_free(back);
    tok_seq_free(&seq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t k = (data[0] & 7) % N_CONFIGS;
    bool lenient = (data[0] & 8) != 0;
    const tok_tokenizer *tok = tokenizer(k);
    int v = tok_vocab_size(tok);
    size_t n = (size - 1) / 2;
    uint16_t *ids = malloc((n ? n : 1) * sizeof *ids);
    EXPECT(ids != NULL, "out of memory");
    for (size_t i = 0; i < n; i++)
        ids[i] = (uint16_t)((data[1 + 2 * i] | data[2 + 2 * i] << 8) % (v + 2));

    tg_score *s = NULL;
    tok_decode_error err;
    size_t repairs = 0;
    tg_status st = decode(tok, ids, n, lenient, &s, &err, &repairs);
    if (st == TG_OK) {
        size_t notes = check_score(s);
        if (!lenient) {
            tg_score *l = NULL;
            st = decode(tok, ids, n, true, &l, &err, &repairs);
            EXPECT(st == TG_OK && repairs == 0, "strict success, lenient %s with %zu repairs",
                   tg_status_name(st), repairs);
            EXPECT(check_score(l) == notes, "strict and lenient notes differ");
            tg_score_free(l);
        }
        check_reencode(tok, s, notes);
    }
    tg_score_free(s);
    free(ids);
    return 0;
}
