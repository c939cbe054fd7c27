/*
 * tok_remi_compact.c: remi-compact, remi saying each fact once. In remi,
 * Program and Velocity stand before every note (on Nottingham, 21 % of the
 * tokens each, almost all repeating the note before). Here a note is
 * [Program] Pitch [Velocity] Duration: a Program only when the program
 * changes from the previous note's, a Velocity only when the bin changes.
 * Both stay in force across positions and bars (no reset within a piece),
 * so decoding is still one left-to-right pass and the grammar needs only
 * the program and bin in force. Everything else (vocabulary, bars,
 * positions, meters, tempos, note order, round trip) is remi's, and so is
 * the code: the encoder and decoder of tok_remi.c with their compact flag,
 * remi's config keys, and remi's grammar for all but the notes' tokens.
 * tok.h documents the format and the grammar.
 */
#include "../core/core.h"
#include "tok.h"

static tg_status compact_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq)
{
    return tok_remi_encode(tok, score, seq, true);
}

static tg_status compact_decode(tok_dec *d, const uint16_t *ids, size_t n, tg_score **out)
{
    return tok_remi_decode(d, ids, n, out, true);
}

/* ------------------------------------------------------------------------ */
/* Grammar (tok.h): remi's, with the notes' Program and Velocity optional. */

static void compact_grammar_init(tok_grammar *g)
{
    tok_remi_grammar_init(g);
    g->remi.velocity = -1;
}

static bool compact_allows(const tok_grammar *g, tok_type type, int value)
{
    int last = g->last;
    /* where remi lets a note begin: after a Position, a Tempo or a note */
    bool between = last == TOK_T_POSITION || last == TOK_T_TEMPO || last == TOK_T_DURATION;
    switch (type) {
    case TOK_T_PROGRAM:
        /* a change: within a position programs then rise strictly */
        return between && value != g->remi.program && value >= g->remi.prev_program;
    case TOK_T_PITCH:
        if (last == TOK_T_PROGRAM) return tok_remi_allows(g, type, value);
        /* a note in the program in force */
        if (!between || g->remi.program < 0) return false;
        return g->remi.program > g->remi.prev_program || value >= g->remi.prev_pitch;
    case TOK_T_VELOCITY:
        return last == TOK_T_PITCH && value != g->remi.velocity;
    case TOK_T_DURATION:
        return last == TOK_T_VELOCITY || (last == TOK_T_PITCH && g->remi.velocity >= 0);
    default:
        return tok_remi_allows(g, type, value);
    }
}

static void compact_feed(tok_grammar *g, tok_type type, int value)
{
    if (type == TOK_T_VELOCITY) g->remi.velocity = value;
    tok_remi_feed(g, type, value);
}

const tok_kind_ops tok_remi_compact_ops = {
    .kind = TOK_REMI_COMPACT,
    .name = "remi-compact",
    .keys = tok_remi_keys,
    .n_keys = TOK_REMI_N_KEYS,
    .music = true,
    .config_default = tok_remi_default,
    .config_check = tok_remi_check,
    .build = tok_remi_build,
    .encode = compact_encode,
    .decode = compact_decode,
    .grammar_init = compact_grammar_init,
    .grammar_allows = compact_allows,
    .grammar_feed = compact_feed,
    .grammar_can_close = tok_grammar_can_end,
    .grammar_close = tok_grammar_close_none,
    .grammar_time = tok_remi_time,
    .grammar_pad = tok_grammar_pad_none,
    .steps_per_quarter = tok_remi_steps_per_quarter,
    .unit_sec = tok_no_unit,
};
