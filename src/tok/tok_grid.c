/*
 * tok_grid.c: the grid tokenizer of SeqGAN's music experiment (Yu et al.,
 * "SeqGAN", 2017, https://arxiv.org/abs/1609.05473): the melody as the
 * highest sounding key sampled every step_sec seconds (0.4 s), one token per
 * sample, Rest when no key sounds. tok.h gives the exact rule. What it leaves
 * out: everything but the top line (chords, velocities, tracks, drums).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "tok.h"

tg_status tok_grid_build(tok_tokenizer *tok)
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

tg_status tok_grid_encode(const tok_tokenizer *tok, const tg_score *score, tok_seq *seq)
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

tg_status tok_grid_decode(tok_dec *d, const uint16_t *ids, size_t n, tg_score **out)
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
