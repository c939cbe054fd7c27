/*
 * tok_grammar.c: per-sequence grammar states for the tokenizers: which
 * ids may come next, so that a sampler can mask the others and every sample
 * decodes strictly. tok.h lists the rules. One function, allows_type(),
 * holds them; the mask is that function over the vocabulary, and feeding a
 * token checks it and then updates the state the way the decoders do.
 *
 * What it leaves out: limits the decoders do not have (a remi piece may have
 * any number of bars, a perf piece any number of sounding notes).
 */
#include <string.h>

#include "tok.h"

#define DRUMS 128 /* the program value of Program_drums */

void tok_grammar_init(tok_grammar *g, const tok_tokenizer *tok)
{
    memset(g, 0, sizeof *g);
    g->tok = tok;
    g->last = TOK_T_COUNT_;
    g->meter = g->bar_meter = -1;
    g->pos = -1;
    g->program = g->prev_program = g->prev_pitch = -1;
    g->velocity = -1;
    g->last_off = g->last_on = -1;
}

/* ------------------------------------------------------------------------ */
/* The rules, one function per kind. */

static bool remi_allows(const tok_grammar *g, tok_type type, int value)
{
    const tok_tokenizer *tok = g->tok;
    int last = g->last;
    switch (type) {
    case TOK_T_EOS:
        return last == TOK_T_BOS || last == TOK_T_DURATION || last == TOK_T_TEMPO;
    case TOK_T_BAR:
        /* the first Bar must get its TimeSig before anything else */
        if (last == TOK_T_BAR) return g->meter >= 0;
        return last == TOK_T_BOS || last == TOK_T_TIMESIG || last == TOK_T_TEMPO ||
               last == TOK_T_DURATION;
    case TOK_T_TIMESIG:
        return last == TOK_T_BAR;
    case TOK_T_POSITION: {
        bool after = last == TOK_T_TIMESIG || last == TOK_T_TEMPO || last == TOK_T_DURATION ||
                     (last == TOK_T_BAR && g->meter >= 0);
        if (!after) return false;
        int len = tok->meters[g->bar_meter].steps;
        return value > g->pos && value < len;
    }
    case TOK_T_TEMPO:
        return last == TOK_T_POSITION;
    case TOK_T_PROGRAM:
        if (last != TOK_T_POSITION && last != TOK_T_TEMPO && last != TOK_T_DURATION) return false;
        return value >= g->prev_program;
    case TOK_T_PITCH:
        if (last != TOK_T_PROGRAM) return false;
        return g->program > g->prev_program || value >= g->prev_pitch;
    case TOK_T_VELOCITY:
        return last == TOK_T_PITCH;
    case TOK_T_DURATION:
        return last == TOK_T_VELOCITY;
    default:
        return false;
    }
}

static bool grid_allows(const tok_grammar *g, tok_type type)
{
    switch (type) {
    case TOK_T_EOS: return g->last == TOK_T_BOS || g->last == TOK_T_KEY;
    case TOK_T_REST:
    case TOK_T_KEY: return true;
    default: return false;
    }
}

static bool perf_allows(const tok_grammar *g, tok_type type, int value)
{
    int last = g->last;
    switch (type) {
    case TOK_T_EOS:
        return (last == TOK_T_BOS || last == TOK_T_NOTE_OFF) && g->open_total == 0;
    case TOK_T_TIME_SHIFT:
        if (last == TOK_T_VELOCITY) return false;
        return last != TOK_T_TIME_SHIFT || g->last_shift == g->tok->cfg.perf.max_shift_steps;
    case TOK_T_VELOCITY:
        return last != TOK_T_VELOCITY && value != g->velocity;
    case TOK_T_NOTE_ON:
        return g->velocity >= 0 && value >= g->last_on;
    case TOK_T_NOTE_OFF:
        /* no NoteOn yet at this instant, so every sounding note began earlier */
        if (last == TOK_T_VELOCITY || g->last_on >= 0) return false;
        return value >= g->last_off && g->open[value] > 0;
    default:
        return false;
    }
}

/* raw: any Id, and EOS at any point after BOS. */
static bool raw_allows(tok_type type) { return type == TOK_T_ID || type == TOK_T_EOS; }

static bool allows_type(const tok_grammar *g, tok_type type, int value)
{
    if (g->ended) return type == TOK_T_PAD;
    if (g->last == TOK_T_COUNT_) return type == TOK_T_BOS;
    if (type == TOK_T_PAD || type == TOK_T_BOS) return false;
    switch (g->tok->cfg.kind) {
    case TOK_REMI: return remi_allows(g, type, value);
    case TOK_GRID: return grid_allows(g, type);
    case TOK_PERF: return perf_allows(g, type, value);
    case TOK_RAW: return raw_allows(type);
    }
    return false;
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

/* ------------------------------------------------------------------------ */
/* Feeding: the decoders' bookkeeping. */

static void remi_feed(tok_grammar *g, tok_type type, int value)
{
    const tok_tokenizer *tok = g->tok;
    switch (type) {
    case TOK_T_BAR:
        if (g->bars > 0) g->bar_start += tok->meters[g->bar_meter].steps;
        g->bars++;
        g->bar_meter = g->meter;
        g->pos = -1;
        g->prev_program = g->prev_pitch = -1;
        break;
    case TOK_T_TIMESIG: g->meter = g->bar_meter = value; break;
    case TOK_T_POSITION:
        g->pos = value;
        g->prev_program = g->prev_pitch = -1;
        break;
    case TOK_T_PROGRAM: g->program = value; break;
    case TOK_T_PITCH:
        g->prev_program = g->program;
        g->prev_pitch = value;
        break;
    default: break;
    }
}

static void perf_feed(tok_grammar *g, tok_type type, int value)
{
    switch (type) {
    case TOK_T_TIME_SHIFT:
        g->now += value;
        g->last_shift = value;
        g->last_on = g->last_off = -1;
        break;
    case TOK_T_VELOCITY: g->velocity = value; break;
    case TOK_T_NOTE_ON:
        g->open[value]++;
        g->open_total++;
        g->last_on = value;
        break;
    case TOK_T_NOTE_OFF:
        g->open[value]--;
        g->open_total--;
        g->last_off = value;
        break;
    default: break;
    }
}

tg_status tok_grammar_feed(tok_grammar *g, int id)
{
    if (!tok_grammar_allows(g, id)) return TG_ERR_GRAMMAR;
    tok_info info = g->tok->info[id];
    if (info.type == TOK_T_EOS) g->ended = true;
    if (info.type == TOK_T_DURATION || info.type == TOK_T_KEY || info.type == TOK_T_NOTE_ON ||
        info.type == TOK_T_ID)
        g->notes++;
    switch (g->tok->cfg.kind) {
    case TOK_REMI: remi_feed(g, info.type, info.value); break;
    case TOK_GRID:
        if (info.type == TOK_T_REST || info.type == TOK_T_KEY) g->samples++;
        break;
    case TOK_PERF: perf_feed(g, info.type, info.value); break;
    case TOK_RAW: break;
    }
    if (info.type != TOK_T_PAD) g->last = (int)info.type;
    g->tokens++;
    return TG_OK;
}

bool tok_grammar_can_end(const tok_grammar *g) { return allows_type(g, TOK_T_EOS, 0); }

bool tok_grammar_can_close(const tok_grammar *g)
{
    if (g->ended || g->last == TOK_T_COUNT_) return false;
    if (g->tok->cfg.kind != TOK_PERF) return tok_grammar_can_end(g);
    /* perf: EOS wants the last token to be a NoteOff (or BOS) */
    if (g->last == TOK_T_VELOCITY) return false;
    return g->open_total > 0 || g->last == TOK_T_NOTE_OFF || g->last == TOK_T_BOS;
}

tg_status tok_grammar_close(const tok_grammar *g, tok_seq *seq)
{
    if (!tok_grammar_can_close(g)) return TG_ERR_GRAMMAR;
    if (g->tok->cfg.kind != TOK_PERF || g->open_total == 0) return TG_OK;
    /* A TimeShift first when a note began at this instant or when a sounding
     * pitch lies below a NoteOff already written at this instant. */
    bool shift = g->last_on >= 0;
    for (int p = 0; p < g->last_off && !shift; p++) shift = g->open[p] > 0;
    tg_status st = TG_OK;
    if (shift) st = tok_seq_push(seq, tok_id(g->tok, TOK_T_TIME_SHIFT, 1));
    for (int p = 0; p < 128 && st == TG_OK; p++)
        for (int32_t k = 0; k < g->open[p] && st == TG_OK; k++)
            st = tok_seq_push(seq, tok_id(g->tok, TOK_T_NOTE_OFF, p));
    return st;
}

int64_t tok_grammar_time(const tok_grammar *g)
{
    switch (g->tok->cfg.kind) {
    case TOK_REMI: return g->bar_start + (g->pos > 0 ? g->pos : 0);
    case TOK_GRID: return g->samples;
    case TOK_PERF: return g->now;
    case TOK_RAW: return g->notes;
    }
    return 0;
}
