/*
 * infill.c: infilling with a whole-tune model (a left-to-right remi or
 * remi-compact generator, such as the bundled models/default), for
 * tg_run_accompany when it is asked for bars and the run is not an
 * any-track model. Such a model cannot hear the bars after a gap while it
 * writes, but it can hear every bar before it (the default model's context
 * holds whole tunes, and its bar attention is what brings phrases back), and
 * it can judge the bars after:
 *   1. the piece is encoded with the model's tokenizer; the prefix is BOS and
 *      every bar before the gap, up to the Bar that opens it;
 *   2. each candidate continues the prefix for the gap's bars (sample_generate
 *      with a bar limit), is decoded, and its notes in the gap's steps
 *      replace the input's there (every track: a remi model writes all of
 *      them), each written note going to an input track of its program
 *      (assign_tracks: by register where tracks share one);
 *   3. with rerank N, the best of N candidates is kept: the one under which
 *      the model finds the rest of the piece most likely, log p(every bar
 *      after the gap | the piece up to it, the candidate in it), the whole
 *      result encoded again and scored as channel.c scores (a "noisy
 *      channel" in the other direction: the future explains the gap).
 * The output is the input itself, its tempo map, meters, track names and
 * every note outside the gap untouched, as the any-track path keeps them.
 * What it leaves out: --tracks (only an any-track model writes some tracks
 * of the bars and keeps others), and a prefix longer than the model's
 * context (an error: infill earlier bars or use a longer-context model).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "run.h"

bool run_infills_forward(const tg_run *run)
{
    if (!run->tok) return false;
    const tok_kind k = tok_get_config(run->tok)->kind;
    return k == TOK_REMI || k == TOK_REMI_COMPACT;
}

/* The piece's bars in the model's encoding: pos[k] the index of the Bar
 * token opening bar k+1 (k from 0), start[k] its first step, start[n] the
 * end of the last bar. */
typedef struct {
    size_t *pos;
    int64_t *start;
    int n;
} bar_map;

static void bar_map_free(bar_map *b)
{
    free(b->pos);
    free(b->start);
    memset(b, 0, sizeof *b);
}

static tg_status bar_map_of(const tok_tokenizer *tok, const tok_seq *seq, bar_map *out)
{
    memset(out, 0, sizeof *out);
    const int bar = tok_bar_id(tok);
    int n = 0;
    for (size_t i = 0; i < seq->n; i++) n += seq->ids[i] == bar;
    out->pos = malloc((size_t)(n + 1) * sizeof *out->pos);
    out->start = malloc((size_t)(n + 1) * sizeof *out->start);
    if (!out->pos || !out->start) {
        bar_map_free(out);
        return TG_ERR_NOMEM;
    }
    tok_grammar g;
    tok_grammar_init(&g, tok);
    for (size_t i = 0; i < seq->n; i++) {
        if (tok_grammar_feed(&g, seq->ids[i]) != TG_OK) break;
        if (seq->ids[i] != bar) continue;
        out->pos[out->n] = i;
        out->start[out->n++] = g.remi.bar_start;
    }
    out->start[out->n] = out->n > 0 ? g.remi.bar_start + tok->meters[g.remi.bar_meter].steps : 0;
    out->pos[out->n] = seq->n;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Written notes to the input's tracks. */

/* Of the input's tracks with notes and the program, the mean pitch of the
 * notes outside [lo, hi) (all of its notes when none is), and whether the
 * track is monophonic there (no two of those notes overlap). */
typedef struct {
    size_t track;
    double mean;
    int low;
    bool mono;
} track_voice;

static int voices_of(const tg_score *in, int program, int64_t lo, int64_t hi, track_voice *v)
{
    int n = 0;
    for (size_t t = 0; t < in->n_tracks; t++) {
        const tg_track *tr = &in->tracks[t];
        if (tr->n_notes == 0 || run_track_program(tr) != program) continue;
        double sum = 0;
        size_t cnt = 0;
        int low = 128;
        bool mono = true;
        int64_t last_end = INT64_MIN;
        for (int pass = 0; pass < 2 && cnt == 0; pass++)
            for (size_t i = 0; i < tr->n_notes; i++) {
                const tg_note *nt = &tr->notes[i];
                if (pass == 0 && nt->start_ticks >= lo && nt->start_ticks < hi) continue;
                sum += nt->pitch, cnt++;
                low = nt->pitch < low ? nt->pitch : low;
                if (nt->start_ticks < last_end) mono = false;
                last_end = nt->end_ticks > last_end ? nt->end_ticks : last_end;
            }
        v[n++] = (track_voice){t, sum / (double)cnt, low, mono};
    }
    return n;
}

/* The track of v (n voices) whose mean pitch is nearest, leaving out skip
 * (-1: none); the lower index on ties. */
static int nearest_voice(const track_voice *v, int n, int pitch, int skip)
{
    int best = -1;
    for (int k = 0; k < n; k++) {
        if (k == skip) continue;
        if (best < 0 || fabs(pitch - v[k].mean) < fabs(pitch - v[best].mean)) best = k;
    }
    return best;
}

/* The voice (index into v) of each note of notes (n, sorted by start then
 * pitch), all of one program. One track: it. Several: when the highest one
 * (by mean pitch) is monophonic outside the gap, a note goes to it when it
 * is the highest note beginning at its onset, no note given to it still
 * sounds there and it is no lower than the track's lowest note outside the
 * gap (the skyline, as a melody over chords); every other note goes to the
 * track of the nearest mean pitch (among the others when there is a
 * skyline). */
static void assign_voices(const track_voice *v, int nv, const tg_note *notes, size_t n, int *voice)
{
    int top = 0;
    for (int k = 1; k < nv; k++)
        if (v[k].mean > v[top].mean) top = k;
    const bool skyline = nv > 1 && v[top].mono;
    int64_t top_end = INT64_MIN;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && notes[j].start_ticks == notes[i].start_ticks) j++;
        for (size_t k = i; k < j; k++) {
            const bool highest = k + 1 == j;
            if (nv == 1) {
                voice[k] = 0;
            } else if (skyline && highest && top_end <= notes[k].start_ticks && notes[k].pitch >= v[top].low) {
                voice[k] = top;
                top_end = notes[k].end_ticks;
            } else {
                voice[k] = nearest_voice(v, nv, notes[k].pitch, skyline ? top : -1);
            }
        }
        i = j;
    }
}

static int cmp_note(const void *a, const void *b)
{
    const tg_note *x = a, *y = b;
    if (x->start_ticks != y->start_ticks) return x->start_ticks < y->start_ticks ? -1 : 1;
    return (x->pitch > y->pitch) - (x->pitch < y->pitch);
}

/* The notes of track src (the decoded candidate's notes of one program,
 * moved onto the input's ticks) into res: to the input's tracks of the
 * program, or to a new track when the input has none. */
static tg_status place_notes(tg_score *res, const tg_score *in, int program, int64_t lo, int64_t hi, tg_note *notes,
                             size_t n)
{
    track_voice *v = malloc((in->n_tracks + 1) * sizeof *v);
    if (!v) return TG_ERR_NOMEM;
    int nv = voices_of(in, program, lo, hi, v);
    tg_status st = TG_OK;
    if (nv == 0) {
        size_t t;
        char name[32];
        snprintf(name, sizeof name, program == 128 ? "Drums" : "Program %d", program);
        st = tg_score_add_track(res, name, program == 128 ? 9 : run_free_channel(res, -1), program == 128 ? 0 : program, -1,
                                &t);
        if (st != TG_OK) {
            free(v);
            return st;
        }
        v[nv++] = (track_voice){t, 0, 0, true};
    }
    int *voice = malloc((n ? n : 1) * sizeof *voice);
    if (!voice) {
        free(v);
        return TG_ERR_NOMEM;
    }
    qsort(notes, n, sizeof *notes, cmp_note);
    assign_voices(v, nv, notes, n, voice);
    for (size_t i = 0; st == TG_OK && i < n; i++) {
        tg_note nt = notes[i];
        nt.channel = (uint8_t)res->tracks[v[voice[i]].track].channel;
        if (run_settle_note(res, &nt)) st = tg_score_add_note(res, v[voice[i]].track, nt);
    }
    free(voice);
    free(v);
    return st;
}

/* The input step of a decoded step s of the candidate (whose bars are cb,
 * the input's ib, both in the model's encoding): the same place in the same
 * bar, so that a bar the model wrote in another meter keeps its notes in
 * their bar; -1 outside the gap's bars [g0, g1) or past the input bar's end. */
static int64_t input_step(const bar_map *cb, const bar_map *ib, int g0, int g1, int64_t s)
{
    int k = g0;
    while (k < g1 && k < cb->n && cb->start[k + 1] <= s) k++;
    if (k >= g1 || k >= cb->n || s < cb->start[k]) return -1;
    const int64_t at = ib->start[k] + (s - cb->start[k]);
    return at < ib->start[k + 1] ? at : -1;
}

/* The take: the input without its notes beginning in the gap (bars g0..g1-1
 * of ib, from 0), with the decoded candidate's notes of those bars. */
static tg_status assemble(const tg_score *in, const tok_tokenizer *tok, const bar_map *ib, int g0, int g1,
                          const tok_seq *cand, tg_score **out)
{
    const int spq = tok_steps_per_quarter(tok), tpq = in->ticks_per_quarter;
    const int64_t from = ib->start[g0], to = g1 < ib->n ? ib->start[g1] : INT64_MAX;
    const int64_t lo = run_step_ticks(from, tpq, spq), hi = to == INT64_MAX ? INT64_MAX : run_step_ticks(to, tpq, spq);
    tg_score *dec = NULL, *res = NULL;
    tok_decode_error derr;
    bar_map cb = {0};
    tg_status st = bar_map_of(tok, cand, &cb);
    if (st == TG_OK) st = tok_decode(tok, cand->ids, cand->n, NULL, &dec, &derr, NULL);
    if (st == TG_OK) st = tg_score_clone(in, &res);
    for (size_t t = 0; st == TG_OK && t < res->n_tracks; t++) { /* the gap is written again */
        tg_track *tr = &res->tracks[t];
        size_t w = 0;
        for (size_t i = 0; i < tr->n_notes; i++) {
            const int64_t s = tok_remi_step(in, spq, tr->notes[i].start_ticks);
            if (s < from || s >= to) tr->notes[w++] = tr->notes[i];
        }
        tr->n_notes = w;
    }
    for (size_t t = 0; st == TG_OK && t < dec->n_tracks; t++) {
        const tg_track *src = &dec->tracks[t];
        tg_note *notes = malloc((src->n_notes ? src->n_notes : 1) * sizeof *notes);
        if (!notes) {
            st = TG_ERR_NOMEM;
            break;
        }
        size_t n = 0;
        for (size_t i = 0; i < src->n_notes; i++) {
            tg_note nt = src->notes[i];
            const int64_t s0 = tok_remi_step(dec, spq, nt.start_ticks), s1 = tok_remi_step(dec, spq, nt.end_ticks);
            const int64_t at = input_step(&cb, ib, g0, g1, s0);
            if (at < 0) continue;
            nt.start_ticks = run_step_ticks(at, tpq, spq);
            nt.end_ticks = run_step_ticks(at + (s1 > s0 ? s1 - s0 : 1), tpq, spq);
            notes[n++] = nt;
        }
        if (n) st = place_notes(res, in, run_track_program(src), lo, hi, notes, n);
        free(notes);
    }
    if (st == TG_OK) tg_score_sort(res);
    tg_score_free(dec);
    bar_map_free(&cb);
    if (st != TG_OK) {
        tg_score_free(res);
        return st;
    }
    *out = res;
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Scoring: the rest of the piece given the take (and the take's own bars). */

static tg_status score_take(tg_run *run, const tg_score *take, int bar_first, int bar_last, bool direct,
                            run_channel_score *out)
{
    memset(out, 0, sizeof *out);
    tok_seq seq = {0};
    bar_map bars = {0};
    uint8_t *mask = NULL;
    tg_status st = tok_encode(run->tok, take, &seq);
    if (st == TG_OK) st = bar_map_of(run->tok, &seq, &bars);
    if (st == TG_OK && !(mask = calloc(seq.n ? seq.n : 1, 1))) st = TG_ERR_NOMEM;
    if (st == TG_OK && bar_last < bars.n) { /* every token after the gap, EOS left out */
        for (size_t i = bars.pos[bar_last]; i < seq.n; i++) mask[i] = tok_get_info(run->tok, seq.ids[i]).type != TOK_T_EOS;
        st = run_logp_masked(run->gen, seq.ids, seq.n, mask, &out->channel, &out->channel_tokens, NULL);
    }
    if (st == TG_OK && direct && bar_first - 1 < bars.n) {
        memset(mask, 0, seq.n);
        const size_t end = bar_last < bars.n ? bars.pos[bar_last] : seq.n;
        for (size_t i = bars.pos[bar_first - 1] + 1; i < end; i++) mask[i] = 1;
        st = run_logp_masked(run->gen, seq.ids, seq.n, mask, &out->direct, &out->direct_tokens, NULL);
    }
    free(mask);
    bar_map_free(&bars);
    tok_seq_free(&seq);
    return st;
}

/* ------------------------------------------------------------------------ */

tg_status run_infill_forward(tg_run *run, const tg_accompany_options *o, tg_take *takes, tg_generate_stats *stats,
                             char *err, size_t err_len)
{
    const tok_tokenizer *tok = run->tok;
    const tg_score *in = o->score;
    const tg_generate_options *go = &o->gen;
    if (o->tracks)
        return tg_fail(err, err_len, TG_ERR_ARG, "%s: a %s model writes every track of the bars: tracks '%s' need an "
                       "any-track (remi-tracks) model, such as models/accompany-nottingham", run->path,
                       tok_kind_name(tok_get_config(tok)->kind), o->tracks);
    const int per = go->rerank;
    const bool scored = per > 1 || o->score_takes, direct = o->rerank_weight != 0 || o->score_takes;
    const int ctx = model_get_config(run->gen)->context;
    tok_seq canon = {0}, *cands = calloc((size_t)go->num * per, sizeof *cands);
    bar_map bars = {0};
    tg_status st = cands ? tok_encode(tok, in, &canon) : TG_ERR_NOMEM;
    if (st == TG_OK) st = bar_map_of(tok, &canon, &bars);
    if (st == TG_OK && o->bar_last > bars.n)
        st = tg_fail(err, err_len, TG_ERR_ARG, "bars %d-%d: the piece has %d bars", o->bar_first, o->bar_last, bars.n);
    size_t plen = st == TG_OK ? bars.pos[o->bar_first - 1] + 1 : 0;
    while (st == TG_OK && plen < canon.n && tok_get_info(tok, canon.ids[plen]).type == TOK_T_TIMESIG)
        plen++; /* the gap's first bar keeps the piece's meter (and the first bar has one) */
    if (st == TG_OK && plen + 1 >= (size_t)ctx)
        st = tg_fail(err, err_len, TG_ERR_ARG, "the %d bars before bar %d take %zu tokens, more than the model's "
                     "context of %d: infill earlier bars, or use a model with a longer context (models/default "
                     "holds 4,096)", o->bar_first - 1, o->bar_first, plen, ctx);
    sample_gen_options so = sample_gen_options_default();
    so.params = (sample_params){go->temperature, go->top_k, go->top_p, go->pitch_temperature, NULL};
    so.num = go->num * per, so.batch = go->batch, so.keep = go->keep, so.seed = go->seed;
    so.length = 0, so.bars = o->bar_last - o->bar_first + 1;
    so.prefix = canon.ids, so.prefix_len = plen;
    so.keep_meter = true;                             /* the piece's bars */
    so.no_end = st == TG_OK && o->bar_last < bars.n; /* the piece goes on after the gap */
    sample_gen_stats ss;
    if (st == TG_OK) st = sample_generate(run->gen, tok, &so, cands, &ss, err, err_len);
    if (st == TG_OK) {
        stats->new_tokens = ss.new_tokens, stats->seconds = ss.seconds, stats->tok_per_s = ss.tok_per_s;
        stats->slides = ss.slides, stats->ended_by_eos = ss.ended_by_eos, stats->hit_bars = ss.hit_bars;
        stats->bars_before = o->bar_first - 1;
        stats->bars_after = 0; /* written left to right: the bars after are not heard */
        stats->left_to_right = true;
    }
    int handed = 0;
    for (int i = 0; st == TG_OK && i < go->num; i++) {
        tg_score *best = NULL;
        run_channel_score best_sc;
        memset(&best_sc, 0, sizeof best_sc);
        int best_c = 0;
        double best_rank = -INFINITY;
        for (int c = 0; st == TG_OK && c < per; c++) {
            tg_score *take = NULL;
            run_channel_score sc;
            memset(&sc, 0, sizeof sc);
            st = assemble(in, tok, &bars, o->bar_first - 1, o->bar_last, &cands[i * per + c], &take);
            if (st == TG_OK && scored) st = score_take(run, take, o->bar_first, o->bar_last, direct, &sc);
            const double rank = run_channel_rank(&sc, o->rerank_weight, o->rerank_per_token);
            if (st == TG_OK && (c == 0 || rank > best_rank)) {
                tg_score_free(best);
                best = take, best_sc = sc, best_c = c, best_rank = rank;
            } else {
                tg_score_free(take);
            }
        }
        if (st != TG_OK) {
            tg_score_free(best);
            tg_fail(err, err_len, st, "take %d: %s", i, tg_status_str(st));
            break;
        }
        const tok_seq *k = &cands[i * per + best_c];
        tg_take tk = {best, k->n, k->n - plen, 0, -1, 0, best_sc.channel, best_sc.direct, best_sc.channel_tokens,
                      best_sc.direct_tokens, best_c, 0};
        handed++;
        if (go->on_take) {
            if (go->on_take(go->user, i, &tk)) st = TG_ERR_INTERRUPTED;
        } else {
            takes[i] = tk;
        }
    }
    if (st != TG_OK && !go->on_take && takes)
        for (int i = 0; i < handed; i++) tg_take_free(&takes[i]);
    stats->takes = handed;
    for (int i = 0; cands && i < go->num * per; i++) tok_seq_free(&cands[i]);
    free(cands);
    bar_map_free(&bars);
    tok_seq_free(&canon);
    return st;
}
