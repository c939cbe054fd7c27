/*
 * tok_grid.c: the grid tokenizer of SeqGAN's music experiment (Yu et al.,
 * "SeqGAN", 2017, https://arxiv.org/abs/1609.05473): the melody as the
 * highest sounding key sampled every step_sec seconds (0.4 s), one token per
 * sample, Rest when no key sounds. tok.h gives the exact rule; this file
 * holds the kind's table (tok_grid_ops). What it leaves out: everything but
 * the top line (chords, velocities, tracks, drums).
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "tok.h"

/* ------------------------------------------------------------------------ */
/* Config and vocabulary. */

static void grid_default(tok_config *c)
{
    c->grid.step_sec = 0.4;
    c->grid.pitch_min = 21;
    c->grid.pitch_max = 108;
}

static tg_status grid_check(const tok_config *c, char *why, size_t n)
{
    const tok_grid_config *g = &c->grid;
    if (!(g->step_sec >= 0.001 && g->step_sec <= 60.0))
        return tg_fail(why, n, TG_ERR_RANGE, "step_sec must be 0.001..60, got %g", g->step_sec);
    if (g->pitch_min < 0 || g->pitch_max > 127 || g->pitch_min > g->pitch_max)
        return tg_fail(why, n, TG_ERR_RANGE, "pitch range must lie in 0..127, min <= max");
    return TG_OK;
}

static tg_status grid_build(tok_tokenizer *tok)
{
    const tok_grid_config *c = &tok->cfg.grid;
    char name[32];
    tg_status st = tok_add(tok, TOK_T_REST, 0, "Rest");
    for (int p = c->pitch_min; st == TG_OK && p <= c->pitch_max; p++) {
        snprintf(name, sizeof name, "Key_%d", p);
        st = tok_add(tok, TOK_T_KEY, p, name);
    }
    return st;
}

static int64_t step_usec(const tok_grid_config *c)
{
    int64_t us = (int64_t)(c->step_sec * 1e6 + 0.5);
    return us > 0 ? us : 1;
}

static double grid_unit_sec(const tok_config *c) { return (double)step_usec(&c->grid) / 1e6; }

/* ------------------------------------------------------------------------ */
/* Encoding and decoding. */

static tg_status grid_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq)
{
    const tok_grid_config *c = &tok->cfg.grid;
    int64_t step = step_usec(c);
    tg_status st = tok_seq_push(seq, TOK_BOS);
    if (st != TG_OK) return st;

    /* the notes that count, in microseconds */
    typedef struct {
        int64_t a, b;
        int pitch;
    } span;
    span *sp = malloc((tg_score_note_count(score) + 1) * sizeof *sp);
    if (!sp) return TG_ERR_NOMEM;
    size_t ns = 0;
    int64_t end = 0;
    for (size_t t = 0; t < score->n_tracks; t++) {
        const tg_track *tr = &score->tracks[t];
        if (tr->is_drum) continue;
        tok_clock clock;
        st = tok_clock_init(&clock, score, tr);
        if (st != TG_OK) {
            free(sp);
            return st;
        }
        for (size_t i = 0; i < tr->n_notes; i++) {
            const tg_note *n = &tr->notes[i];
            if (n->pitch < c->pitch_min || n->pitch > c->pitch_max) continue;
            span x = {tok_clock_usec(&clock, n->start_ticks), tok_clock_usec(&clock, n->end_ticks),
                      n->pitch};
            sp[ns++] = x;
            if (x.b > end) end = x.b;
        }
        tok_clock_free(&clock);
    }
    int64_t count = (end + step - 1) / step; /* samples k with k * step < end */
    int16_t *keys = count > TOK_MAX_STEPS ? NULL : malloc((size_t)(count ? count : 1) * sizeof *keys);
    if (!keys) {
        free(sp);
        return count > TOK_MAX_STEPS ? TG_ERR_TOO_LARGE : TG_ERR_NOMEM;
    }
    for (int64_t k = 0; k < count; k++) keys[k] = -1;
    for (size_t i = 0; i < ns; i++)
        /* samples with a <= k * step < b */
        for (int64_t k = (sp[i].a + step - 1) / step; k * step < sp[i].b && k < count; k++)
            if (keys[k] < sp[i].pitch) keys[k] = (int16_t)sp[i].pitch;
    free(sp);
    while (count > 0 && keys[count - 1] < 0) count--; /* no trailing Rests */
    for (int64_t k = 0; st == TG_OK && k < count; k++)
        st = tok_seq_push(seq, keys[k] < 0 ? tok_id(tok, TOK_T_REST, 0)
                                           : tok_id(tok, TOK_T_KEY, keys[k]));
    free(keys);
    if (st == TG_OK) st = tok_seq_push(seq, TOK_EOS);
    return st;
}

static tg_status grid_decode(tok_dec *d, const uint16_t *ids, size_t n, tg_score **out)
{
    const tok_tokenizer *tok = d->tok;
    int64_t step = step_usec(&tok->cfg.grid);
    tg_note *notes = NULL;
    size_t nn = 0, cap = 0;
    int64_t k = 0, run_start = 0;
    int run_key = -1;
    tg_status st = TG_OK;
    for (size_t i = 0; i <= n; i++) {
        int key = -1;
        bool end = i == n;
        if (!end) {
            int r = tok_dec_common(d, ids, n, i, &st);
            if (st != TG_OK) goto fail;
            if (r == 1) continue;
            end = r == 2;
        }
        if (!end) {
            tok_info info = tok->info[ids[i]];
            if (info.type == TOK_T_KEY) {
                key = info.value;
            } else if (info.type != TOK_T_REST) {
                st = tok_dec_problem(d, i, "%s is not a grid token: dropped", tok->names[ids[i]]);
                if (st != TG_OK) goto fail;
                continue;
            }
        }
        if ((end || key != run_key) && run_key >= 0) {
            st = tg_grow((void **)&notes, &cap, nn + 1, sizeof *notes);
            if (st != TG_OK) goto fail;
            /* microseconds to milliseconds (= ticks of the decoded score) */
            int64_t a = (run_start * step + 500) / 1000, b = (k * step + 500) / 1000;
            notes[nn++] = (tg_note){a, b > a ? b : a + 1, (uint8_t)run_key, TOK_GRID_VELOCITY, 0};
        }
        if (end) break;
        if (key != run_key) run_start = k;
        run_key = key;
        k++;
    }
    st = tok_timed_score("Melody", notes, nn, out);
fail:
    free(notes);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Grammar: BOS, { Rest | Key }, EOS right after BOS or a Key. */

static bool grid_allows(const tok_grammar *g, tok_type type, int value)
{
    (void)value;
    switch (type) {
    case TOK_T_EOS: return g->last == TOK_T_BOS || g->last == TOK_T_KEY;
    case TOK_T_REST:
    case TOK_T_KEY: return true;
    default: return false;
    }
}

static void grid_feed(tok_grammar *g, tok_type type, int value)
{
    (void)value;
    if (type == TOK_T_KEY) g->notes++;
    if (type == TOK_T_REST || type == TOK_T_KEY) g->grid.samples++;
}

static int64_t grid_time(const tok_grammar *g) { return g->grid.samples; }

/* Rests up to sample k with k * step >= usec (samples k with k * step < usec). */
static tg_status grid_pad(const tok_grammar *g, int64_t usec, tok_seq *seq)
{
    int64_t step = step_usec(&g->tok->cfg.grid);
    int64_t want = (usec + step - 1) / step;
    tg_status st = TG_OK;
    for (int64_t k = g->grid.samples; k < want && st == TG_OK; k++)
        st = tok_seq_push(seq, tok_id(g->tok, TOK_T_REST, 0));
    return st;
}

static const tok_config_key grid_keys[] = {
    {"step_sec", offsetof(tok_config, grid.step_sec), true},
    {"pitch_min", offsetof(tok_config, grid.pitch_min), false},
    {"pitch_max", offsetof(tok_config, grid.pitch_max), false},
};

const tok_kind_ops tok_grid_ops = {
    .kind = TOK_GRID,
    .name = "grid",
    .keys = grid_keys,
    .n_keys = (int)TG_ARRAY_LEN(grid_keys),
    .music = true,
    .drops_notes = true,
    .merges_repeats = true,
    .config_default = grid_default,
    .config_check = grid_check,
    .build = grid_build,
    .encode = grid_encode,
    .decode = grid_decode,
    .grammar_init = tok_grammar_init_none,
    .grammar_allows = grid_allows,
    .grammar_feed = grid_feed,
    .grammar_can_close = tok_grammar_can_end,
    .grammar_close = tok_grammar_close_none,
    .grammar_time = grid_time,
    .grammar_pad = grid_pad,
    .steps_per_quarter = tok_no_steps,
    .unit_sec = grid_unit_sec,
};
