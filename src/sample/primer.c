/*
 * primer.c: the opening a generated piece continues (Music Transformer's
 * primer continuation). A primer score is tokenized with the model's
 * tokenizer and cut to its first N bars so that the continuation starts on a
 * bar line; after decoding, the sample gets the primer's tempo map and meters
 * back (sample.h gives the exact rules for each tokenizer).
 *
 * What it leaves out: format 2 primers' per-track tempo maps (the global map
 * is used, as the remi encoder does), and SMPTE-timed primers with a bar
 * count for grid and perf (they have no bars).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

void sample_primer_free(sample_primer *p)
{
    if (!p) return;
    tok_seq_free(&p->tokens);
}

static tg_status fail(char *why, size_t size, tg_status st, const char *msg)
{
    if (why && size) snprintf(why, size, "%s", msg);
    return st;
}

/* The tick of the primer's bar line after `bars` bars, or -1 when the piece
 * is shorter. */
static tg_status bar_cut(const tg_score *s, int bars, int64_t *cut)
{
    int64_t *lines;
    size_t n;
    int64_t end = tg_score_end_ticks(s);
    tg_status st = tg_score_bar_lines(s, end, &lines, &n);
    if (st != TG_OK) return st;
    /* lines[0] = 0; lines[bars] ends bar `bars`; the last line is at or after the end */
    *cut = (size_t)bars < n && lines[bars] < end ? lines[bars] : -1;
    free(lines);
    return TG_OK;
}

/* A copy of s without notes starting at or after cut, the others ending by cut. */
static tg_status clip_score(const tg_score *s, int64_t cut, tg_score **out)
{
    tg_score *c;
    tg_status st = tg_score_create(s->ticks_per_quarter, &c);
    for (size_t i = 0; st == TG_OK && i < s->n_tempos; i++) st = tg_score_add_tempo(c, s->tempos[i]);
    for (size_t i = 0; st == TG_OK && i < s->n_timesigs; i++)
        st = tg_score_add_timesig(c, s->timesigs[i]);
    for (size_t t = 0; st == TG_OK && t < s->n_tracks; t++) {
        const tg_track *tr = &s->tracks[t];
        size_t ti;
        st = tg_score_add_track(c, tr->name, tr->channel, tr->program, tr->chunk, &ti);
        for (size_t i = 0; st == TG_OK && i < tr->n_notes; i++) {
            tg_note nt = tr->notes[i];
            if (nt.start_ticks >= cut) continue;
            if (nt.end_ticks > cut) nt.end_ticks = cut;
            st = tg_score_add_note(c, ti, nt);
        }
    }
    if (st != TG_OK) {
        tg_score_free(c);
        return st;
    }
    *out = c;
    return TG_OK;
}

tg_status sample_primer_make(const tok_tokenizer *tok, const tg_score *score, int bars,
                             sample_primer *out, char *why, size_t why_size)
{
    memset(out, 0, sizeof *out);
    const int bar_id = tok_bar_id(tok); /* -1: cut the score at a bar line instead */
    if (bars < 0) return fail(why, why_size, TG_ERR_ARG, "the number of primer bars is negative");
    tok_seq seq = {0};
    tg_status st = tok_encode(tok, score, &seq);
    if (st != TG_OK) {
        tok_seq_free(&seq);
        return fail(why, why_size, st,
                    st == TG_ERR_TOO_LARGE ? "the primer is too long for the tokenizer"
                                           : "the primer cannot be tokenized");
    }
    if (seq.n <= 2) {
        tok_seq_free(&seq);
        return fail(why, why_size, TG_ERR_ARG,
                    !tok_drops_notes(tok) ? "the primer has no notes"
                                          : "the primer has no notes the tokenizer keeps "
                                            "(grid: pitches in range, no drums; perf: no drums)");
    }
    seq.n--; /* drop EOS */

    int64_t cut = -1;
    if (bars > 0 && bar_id < 0) {
        if (score->ticks_per_quarter <= 0) {
            tok_seq_free(&seq);
            return fail(why, why_size, TG_ERR_ARG,
                        "the primer is in SMPTE time, which has no bars: leave out --primer-bars");
        }
        st = bar_cut(score, bars, &cut);
        tg_score *clipped = NULL;
        if (st == TG_OK && cut >= 0) st = clip_score(score, cut, &clipped);
        if (st == TG_OK && clipped) {
            st = tok_encode(tok, clipped, &seq); /* clears seq first */
            if (st == TG_OK) seq.n--;
        }
        tg_score_free(clipped);
        if (st != TG_OK) {
            tok_seq_free(&seq);
            return fail(why, why_size, st, "the primer cannot be tokenized");
        }
    }

    if (bar_id >= 0) {
        /* the first `bars` bars: up to the (bars+1)-th Bar token; then a Bar */
        int seen = 0;
        for (size_t i = 0; i < seq.n && bars > 0; i++)
            if (seq.ids[i] == bar_id && ++seen == bars + 1) {
                seq.n = i;
                break;
            }
        st = tok_seq_push(&seq, bar_id);
    } else if (cut >= 0) {
        /* pad up to the bar line: grid samples k with k * step < cut, perf shifts */
        double cut_sec = tg_score_ticks_to_sec(score, -1, cut);
        tok_grammar g;
        tok_grammar_init(&g, tok);
        for (size_t i = 0; i < seq.n && st == TG_OK; i++) st = tok_grammar_feed(&g, seq.ids[i]);
        if (st == TG_OK) st = tok_grammar_pad(&g, (int64_t)llround(cut_sec * 1e6), &seq);
    }
    if (st != TG_OK) {
        tok_seq_free(&seq);
        return fail(why, why_size, st, tg_status_str(st));
    }

    /* where the continuation starts */
    tok_grammar g;
    tok_grammar_init(&g, tok);
    for (size_t i = 0; i < seq.n && st == TG_OK; i++) st = tok_grammar_feed(&g, seq.ids[i]);
    if (st != TG_OK) {
        tok_seq_free(&seq);
        return fail(why, why_size, TG_ERR_GRAMMAR, "the primer's tokens break the grammar (a bug)");
    }
    out->tokens = seq;
    out->end_time = tok_grammar_time(&g);
    out->end_sec = tok_time_sec(tok, score, out->end_time);
    out->bars = cut >= 0 ? bars : 0;
    if (bar_id >= 0) {
        out->bars = -1; /* the last Bar opens the continuation */
        for (size_t i = 0; i < seq.n; i++) out->bars += seq.ids[i] == bar_id;
    }
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Timing of the decoded sample. */

/* The global tempo map of s (format 2's per-chunk maps left out). */
static bool global_tempo(const tg_score *s, const tg_tempo *t)
{
    return s->format != 2 || t->chunk < 0;
}

/* Inverse of tg_score_ticks_to_sec over the global tempo map: the tick
 * nearest to sec, or with down the last tick at or before it. Needs
 * metrical time and a sorted map. */
static int64_t sec_to_ticks(const tg_score *s, double sec, bool down)
{
    int64_t tick = 0;
    double at = 0.0;
    uint32_t usec = 500000;
    double tpq = s->ticks_per_quarter;
    for (size_t i = 0; i < s->n_tempos; i++) {
        const tg_tempo *t = &s->tempos[i];
        if (!global_tempo(s, t)) continue;
        if (t->ticks > tick) {
            double seg = (double)(t->ticks - tick) * usec / 1e6 / tpq;
            if (at + seg > sec) break;
            at += seg;
            tick = t->ticks;
        }
        usec = t->usec_per_quarter;
    }
    double x = (sec - at) * 1e6 * tpq / usec;
    return tick + (int64_t)(down ? floor(x + 1e-9) : floor(x + 0.5));
}

tg_status sample_apply_primer_timing(const tok_tokenizer *tok, const tg_score *primer,
                                     const sample_primer *pr, const tg_score *sample,
                                     tg_score **out, int64_t *end_ticks)
{
    *out = NULL;
    /* remi decodes in steps of a quarter with its own meters and tempo bins;
     * grid and perf at one tick per millisecond */
    const int spq = tok_steps_per_quarter(tok);
    const bool metrical = spq > 0;
    const int in_tpq = primer->ticks_per_quarter;
    const int tpq = metrical || in_tpq <= 0 ? sample->ticks_per_quarter : in_tpq;
    tg_score *s;
    tg_status st = tg_score_create(tpq, &s);
    if (st != TG_OK) return st;
    tg_score *sorted = NULL; /* the primer with sorted maps, for the inverse */
    st = tg_score_clone(primer, &sorted);
    if (st == TG_OK) tg_score_sort(sorted);

    /* grid rounds times down, so that a note begun on a sample time is
     * still sounding at that time when read again */
    const bool split = tok_merges_repeats(tok);
    int64_t end = 0;
    if (metrical) {
        /* ticks per step of the decoded score, as tok_remi_decode writes them */
        end = pr->end_time * (sample->ticks_per_quarter / spq);
        for (size_t i = 0; st == TG_OK && i < sample->n_timesigs; i++)
            st = tg_score_add_timesig(s, sample->timesigs[i]);
        if (in_tpq > 0) {
            for (size_t i = 0; st == TG_OK && i < sorted->n_tempos; i++) {
                tg_tempo t = sorted->tempos[i];
                if (!global_tempo(sorted, &t)) continue;
                t.ticks = (int64_t)llround((double)t.ticks * tpq / in_tpq);
                t.chunk = -1;
                if (t.ticks < end) st = tg_score_add_tempo(s, t);
            }
        }
        for (size_t i = 0; st == TG_OK && i < sample->n_tempos; i++)
            if (in_tpq <= 0 || sample->tempos[i].ticks >= end)
                st = tg_score_add_tempo(s, sample->tempos[i]);
    } else if (in_tpq > 0) {
        end = sec_to_ticks(sorted, pr->end_sec, split);
        for (size_t i = 0; st == TG_OK && i < sorted->n_tempos; i++) {
            tg_tempo t = sorted->tempos[i];
            if (!global_tempo(sorted, &t)) continue;
            t.chunk = -1;
            st = tg_score_add_tempo(s, t);
        }
        for (size_t i = 0; st == TG_OK && i < sorted->n_timesigs; i++) {
            tg_timesig ts = sorted->timesigs[i];
            ts.chunk = -1;
            st = tg_score_add_timesig(s, ts);
        }
    } else {
        /* an SMPTE primer: the decoded timing stays */
        end = llround(pr->end_sec * 1000.0);
        for (size_t i = 0; st == TG_OK && i < sample->n_tempos; i++)
            st = tg_score_add_tempo(s, sample->tempos[i]);
        for (size_t i = 0; st == TG_OK && i < sample->n_timesigs; i++)
            st = tg_score_add_timesig(s, sample->timesigs[i]);
    }

    const bool move = !metrical && in_tpq > 0;
    for (size_t t = 0; st == TG_OK && t < sample->n_tracks; t++) {
        const tg_track *tr = &sample->tracks[t];
        size_t ti;
        st = tg_score_add_track(s, tr->name, tr->channel, tr->program, -1, &ti);
        for (size_t i = 0; st == TG_OK && i < tr->n_notes; i++) {
            tg_note nt = tr->notes[i];
            if (move) {
                /* one tick per millisecond in the decoded score */
                nt.start_ticks = sec_to_ticks(sorted, nt.start_ticks / 1000.0, split);
                int64_t e = sec_to_ticks(sorted, tr->notes[i].end_ticks / 1000.0, split);
                nt.end_ticks = e > nt.start_ticks ? e : nt.start_ticks + 1;
            }
            if (split && nt.start_ticks < end && nt.end_ticks > end) {
                /* grid cannot tell a held key from a repeated one: a run that
                 * goes on past the primer is split at its end */
                tg_note head = nt;
                head.end_ticks = end;
                st = tg_score_add_note(s, ti, head);
                nt.start_ticks = end;
            }
            if (st == TG_OK) st = tg_score_add_note(s, ti, nt);
        }
    }
    tg_score_free(sorted);
    if (st != TG_OK) {
        tg_score_free(s);
        return st;
    }
    tg_score_sort(s);
    *out = s;
    *end_ticks = end;
    return TG_OK;
}
