/*
 * tok_tracks_task.c: the conditional tasks of remi-tracks as rewrites of a
 * canonical sequence (tok.h's tok_tracks_task): which slots are kept, which
 * come first in every bar (the given ones), which are left empty to be
 * generated, and which bars become Gap bars written again after Fill (MMM's
 * infilling order, within a window of bars around the gap). The training
 * mix (`tunegan data mix`) and the commands `accompany` and `infill` make
 * their sequences here, so that a model sees at training time exactly the
 * order it is asked to continue.
 * What it leaves out: sequences with a Gap or Fill already (a task is
 * rewritten from the canonical order only).
 */
#include <stdlib.h>
#include <string.h>

#include "../core/core.h"
#include "tok.h"

tok_tracks_task tok_tracks_task_default(void)
{
    tok_tracks_task t;
    memset(&t, 0, sizeof t);
    t.before = t.after = -1;
    return t;
}

/* One bar of a canonical sequence: token ranges. */
typedef struct {
    size_t bar;                        /* its Bar token */
    size_t head_end;                   /* after Bar [TimeSig] and the prelude */
    size_t seg[TOK_TRACKS_MAX][2];     /* each slot's segment [from, to); from 0: absent */
    int meter_before;                  /* meter in force before the bar's TimeSig */
    int tempo_before;                  /* tempo bin in force at the bar's start (-1: none) */
    bool has_timesig, tempo_at_0;
    int64_t start_step;
} bar_span;

typedef struct {
    size_t header_end;                 /* after the header's pairs */
    uint32_t present;                  /* slots of the header */
    bar_span *bars;
    int n_bars;
} parsed;

static tg_status parse(const tok_tokenizer *tok, const uint16_t *ids, size_t n, parsed *p, char *why,
                       size_t wn)
{
    memset(p, 0, sizeof *p);
    size_t i = 0, cap = 0;
    if (n == 0 || ids[0] != TOK_BOS) return tg_fail(why, wn, TG_ERR_ARG, "the sequence does not begin with BOS");
    for (i = 1; i + 1 < n && tok->info[ids[i]].type == TOK_T_TRACK; i += 2)
        p->present |= 1u << tok->info[ids[i]].value;
    p->header_end = i;
    int meter = -1, tempo = -1, slot = -1;
    int64_t step = 0;
    for (; i < n; i++) {
        tok_info in = tok->info[ids[i]];
        if (in.type == TOK_T_EOS || in.type == TOK_T_PAD) break;
        if (in.type == TOK_T_GAP || in.type == TOK_T_FILL || in.type == TOK_T_PROGRAM)
            return tg_fail(why, wn, TG_ERR_ARG, "token %zu (%s): not a canonical remi-tracks sequence", i,
                           tok->names[ids[i]]);
        if (in.type == TOK_T_BAR) {
            if (p->n_bars > 0 && meter >= 0) step += tok->meters[meter].steps;
            tg_status st = tg_grow((void **)&p->bars, &cap, (size_t)p->n_bars + 1, sizeof *p->bars);
            if (st != TG_OK) return st;
            bar_span *b = &p->bars[p->n_bars++];
            memset(b, 0, sizeof *b);
            b->bar = b->head_end = i;
            b->meter_before = meter;
            b->tempo_before = tempo;
            b->start_step = step;
            slot = -1;
        } else if (p->n_bars == 0) {
            return tg_fail(why, wn, TG_ERR_ARG, "token %zu (%s) before the first Bar", i, tok->names[ids[i]]);
        }
        bar_span *b = &p->bars[p->n_bars - 1];
        if (in.type == TOK_T_TIMESIG) meter = in.value, b->has_timesig = true;
        if (in.type == TOK_T_TEMPO) {
            tempo = in.value;
            if (tok->info[ids[i - 1]].value == 0) b->tempo_at_0 = true;
        }
        if (in.type == TOK_T_TRACK) {
            if (slot >= 0) b->seg[slot][1] = i;
            slot = in.value;
            b->seg[slot][0] = i;
        }
        if (slot < 0) b->head_end = i + 1;
        if (slot >= 0) b->seg[slot][1] = i + 1;
    }
    return TG_OK;
}

static tg_status push(tok_seq *s, int id) { return tok_seq_push(s, id); }

static tg_status push_range(tok_seq *s, const uint16_t *ids, size_t from, size_t to)
{
    tg_status st = TG_OK;
    for (size_t i = from; st == TG_OK && i < to; i++) st = push(s, ids[i]);
    return st;
}

/* The bar's segments: given slots first, then the others; cleared ones empty. */
static tg_status write_segments(const uint16_t *ids, const bar_span *b, uint32_t keep, uint32_t given,
                                uint32_t clear, tok_seq *out)
{
    tg_status st = TG_OK;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; st == TG_OK && k < TOK_TRACKS_MAX; k++) {
            if (!(keep >> k & 1) || b->seg[k][0] == 0) continue;
            if ((int)(given >> k & 1) != (pass == 0)) continue;
            size_t to = (clear >> k & 1) ? b->seg[k][0] + 1 : b->seg[k][1];
            st = push_range(out, ids, b->seg[k][0], to);
        }
    return st;
}

/* Bar [TimeSig] prelude; the first bar kept gets the meter and tempo in force. */
static tg_status write_head(const tok_tokenizer *tok, const uint16_t *ids, const bar_span *b, bool first,
                            tok_seq *out)
{
    tg_status st = push(out, ids[b->bar]);
    size_t i = b->bar + 1;
    if (b->has_timesig) st = push(out, ids[i++]);
    else if (first && b->meter_before >= 0 && st == TG_OK)
        st = push(out, tok_id(tok, TOK_T_TIMESIG, b->meter_before));
    if (first && !b->tempo_at_0 && b->tempo_before >= 0 && st == TG_OK) {
        st = push(out, tok_id(tok, TOK_T_POSITION, 0));
        if (st == TG_OK) st = push(out, tok_id(tok, TOK_T_TEMPO, b->tempo_before));
    }
    if (st == TG_OK) st = push_range(out, ids, i, b->head_end);
    return st;
}

tg_status tok_tracks_rewrite(const tok_tokenizer *tok, const uint16_t *ids, size_t n,
                             const tok_tracks_task *task, tok_seq *out, int *first_bar,
                             int64_t *start_step, char *why, size_t wn)
{
    if (tok->cfg.kind != TOK_REMI_TRACKS)
        return tg_fail(why, wn, TG_ERR_ARG, "tasks need the remi-tracks tokenizer");
    parsed p;
    tg_status st = parse(tok, ids, n, &p, why, wn);
    if (st != TG_OK) {
        free(p.bars);
        return st;
    }
    const uint32_t keep = (task->keep ? task->keep : 0xffu) & p.present;
    const int g0 = task->gap_first, g1 = task->gap_first + task->gap_bars;
    const bool gap = task->gap_bars > 0;
    if (gap && (g0 < 0 || g1 > p.n_bars || task->gap_bars > TOK_TRACKS_MAX_GAPS)) {
        free(p.bars);
        return tg_fail(why, wn, TG_ERR_ARG, "bars %d-%d lie outside the piece's %d bars (at most %d in a gap)",
                       g0 + 1, g1, p.n_bars, TOK_TRACKS_MAX_GAPS);
    }
    int b0 = 0, b1 = p.n_bars;
    if (gap && task->before >= 0 && g0 - task->before > 0) b0 = g0 - task->before;
    if (gap && task->after >= 0 && g1 + task->after < p.n_bars) b1 = g1 + task->after;
    out->n = 0;
    st = push(out, TOK_BOS);
    for (size_t i = 1; st == TG_OK && i < p.header_end; i += 2)
        if (keep >> tok->info[ids[i]].value & 1) st = push_range(out, ids, i, i + 2);
    for (int b = b0; st == TG_OK && b < b1; b++) {
        st = write_head(tok, ids, &p.bars[b], b == b0 && b0 > 0, out);
        if (st != TG_OK) break;
        if (gap && b >= g0 && b < g1)
            st = push(out, tok_id(tok, TOK_T_GAP, 0));
        else
            st = write_segments(ids, &p.bars[b], keep, task->given, gap ? 0 : task->clear, out);
    }
    if (gap && st == TG_OK) st = push(out, tok_id(tok, TOK_T_FILL, 0));
    for (int b = g0; gap && st == TG_OK && b < g1; b++) {
        st = push(out, ids[p.bars[b].bar]);
        if (st == TG_OK) st = write_segments(ids, &p.bars[b], keep, task->given, task->clear, out);
    }
    if (st == TG_OK) st = push(out, TOK_EOS);
    if (first_bar) *first_bar = b0;
    if (start_step) *start_step = p.n_bars > 0 ? p.bars[b0].start_step : 0;
    free(p.bars);
    return st;
}

int tok_tracks_bar_count(const tok_tokenizer *tok, const uint16_t *ids, size_t n)
{
    int bars = 0;
    int bar = tok_bar_id(tok);
    for (size_t i = 0; i < n; i++) bars += ids[i] == bar;
    return bars;
}

tg_status tok_tracks_fit(const tok_tokenizer *tok, const uint16_t *ids, size_t n, tok_tracks_task *task,
                         size_t max_len, tok_seq *out, int *first_bar, int64_t *start_step, char *why,
                         size_t wn)
{
    /* Start from 8 bars before and 4 after (fewer when asked) and give up
     * bars, before first, until the sequence fits. */
    int before = task->before < 0 || task->before > 8 ? 8 : task->before;
    int after = task->after < 0 || task->after > 4 ? 4 : task->after;
    for (;;) {
        task->before = before, task->after = after;
        tg_status st = tok_tracks_rewrite(tok, ids, n, task, out, first_bar, start_step, why, wn);
        if (st != TG_OK || out->n <= max_len) return st;
        if (before == 0 && after == 0)
            return tg_fail(why, wn, TG_ERR_TOO_LARGE,
                           "the %d bars to fill take %zu tokens with no bar around them, more than %zu",
                           task->gap_bars, out->n, max_len);
        if (before > after || after == 0) before--;
        else after--;
    }
}
