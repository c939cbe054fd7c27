/*
 * splice.c: reranking bar by bar (`accompany --rerank N --rerank-by bar`).
 * Whole-take reranking (accompany.c's pick_candidate) keeps the candidate
 * whose chords explain the whole melody best; but a take's bars are nearly
 * independent choices, and the candidate that is best overall is rarely
 * best in every bar. Here each candidate is scored bar by bar (channel.c:
 * the channel's tokens of bar k are the given tracks' tokens of that bar,
 * direct's the written ones) and the take is spliced from the bars that
 * rank highest, each bar from its own candidate. A bar of a remi-tracks
 * plan is self-contained (its Bar, its head, every track's segment with its
 * own velocity), and every candidate has the plan's bars and given tokens,
 * so the splice is a sequence of the plan: the grammar checks it all the
 * same.
 * The source changes only at a bar line that no written note of either
 * candidate is held over: a chord held from one candidate's bar into the
 * next would otherwise sound under the other's chord there (two chords
 * stacked), or be cut short where the other held one of its own. So the
 * bars are chosen together, the sum of their ranks the largest over the
 * choices that keep held notes whole (a Viterbi pass over the candidates,
 * bar by bar). Measured: cutting held notes at such bar lines instead made
 * them shorter than the real ones, which the fresh critic heard
 * (experiments/any-track/RESULTS.md, "Reranking bar by bar").
 * What it leaves out: scoring the spliced take again (its scores are the
 * sums of its bars' in the candidates they came from: each bar was scored
 * after its own candidate's earlier bars, not the splice's), and infilling
 * (its channel scores the bars after the gap, which one bar alone cannot
 * own).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "run.h"

static int plan_bars(const tok_tokenizer *tok, const sample_plan *plan)
{
    const int bar = tok_bar_id(tok);
    int n = 0;
    for (size_t i = 0; i < plan->n; i++) n += plan->ids[i] == bar;
    return n;
}

/* One walk of a candidate: where each of its n_bars bars starts (its Bar
 * token; at[n_bars] is its length), and held[k] = 1 when a note of a target
 * slot sounds across the start of bar k (k = 1..n_bars-1: it starts before
 * and ends after). TG_ERR_ARG when it has another number of bars,
 * TG_ERR_GRAMMAR when the grammar refuses it. */
static tg_status walk(const tok_tokenizer *tok, const tok_seq *s, uint32_t targets, int n_bars, size_t *at,
                      uint8_t *held)
{
    const int bar = tok_bar_id(tok);
    int64_t *start = malloc((size_t)(n_bars + 1) * sizeof *start);
    int64_t *note = malloc((s->n ? s->n : 1) * 2 * sizeof *note); /* note[2i], note[2i+1]: its steps */
    if (!start || !note) {
        free(start), free(note);
        return TG_ERR_NOMEM;
    }
    tok_grammar g;
    tok_grammar_init(&g, tok);
    int b = 0;
    size_t n = 0;
    tg_status st = TG_OK;
    for (size_t i = 0; st == TG_OK && i < s->n; i++) {
        const tok_info in = tok_get_info(tok, s->ids[i]);
        if (in.type == TOK_T_DURATION && g.tracks.slot >= 0 && (targets >> g.tracks.slot & 1)) {
            note[2 * n] = g.tracks.bar_start + g.tracks.pos;
            note[2 * n + 1] = note[2 * n] + in.value;
            n++;
        }
        if (tok_grammar_feed(&g, s->ids[i]) != TG_OK) st = TG_ERR_GRAMMAR;
        if (st == TG_OK && s->ids[i] == bar) {
            if (b == n_bars) st = TG_ERR_ARG;
            else at[b] = i, start[b++] = g.tracks.bar_start;
        }
    }
    if (st == TG_OK && b != n_bars) st = TG_ERR_ARG;
    at[n_bars] = s->n;
    for (int k = 0; k < n_bars; k++) held[k] = 0;
    for (size_t i = 0; st == TG_OK && i < n; i++)
        for (int k = 1; k < n_bars; k++)
            if (note[2 * i] < start[k] && start[k] < note[2 * i + 1]) held[k] = 1;
    free(start), free(note);
    return st;
}

/* The spliced sequence: the header of cands[0] (the plan's), then bar k of
 * cands[best[k]] (at: each candidate's bar starts, walk's); checked against
 * the grammar. */
static tg_status splice(const tok_tokenizer *tok, const tok_seq *cands, const int *best, int n_bars,
                        const size_t *at, tok_seq *out)
{
    tg_status st = TG_OK;
    for (size_t i = 0; st == TG_OK && i < at[0]; i++) st = tok_seq_push(out, cands[0].ids[i]);
    for (int k = 0; st == TG_OK && k < n_bars; k++) {
        const size_t *c_at = at + (size_t)best[k] * (n_bars + 1);
        for (size_t i = c_at[k]; st == TG_OK && i < c_at[k + 1]; i++) st = tok_seq_push(out, cands[best[k]].ids[i]);
    }
    tok_grammar g;
    tok_grammar_init(&g, tok);
    for (size_t i = 0; st == TG_OK && i < out->n; i++)
        if (tok_grammar_feed(&g, out->ids[i]) != TG_OK) st = TG_ERR_GRAMMAR;
    if (st == TG_OK && !g.ended) st = TG_ERR_GRAMMAR;
    return st;
}

typedef struct {
    run_bar_scores *by; /* (per) */
    uint8_t *held;      /* (per, n_bars): each candidate's walk */
    double *total;      /* (n_bars, per) the best sum of ranks of bars 0..k ending in candidate c */
    int *from;          /* (n_bars, per) the candidate of bar k-1 on that path */
    int *best;          /* (n_bars) */
    size_t *at;         /* (per, n_bars + 1): each candidate's bar starts (walk) */
} splice_work;

/* The path of candidates, bar by bar, with the largest sum of ranks
 * (rank(c, k): w->total[k * per + c] on entry) among those that change
 * candidate only where neither holds a note over the bar line; ties go to
 * the lower candidate. */
static void choose(splice_work *w, int per, int n_bars)
{
    for (int k = 1; k < n_bars; k++)
        for (int c = 0; c < per; c++) {
            double top = -INFINITY;
            int arg = c;
            for (int a = 0; a < per; a++) {
                const bool may = a == c || (!w->held[a * n_bars + k] && !w->held[c * n_bars + k]);
                const double t = w->total[(k - 1) * per + a];
                if (may && t > top) top = t, arg = a;
            }
            w->total[k * per + c] += top;
            w->from[k * per + c] = arg;
        }
    int c = 0;
    for (int a = 1; n_bars > 0 && a < per; a++)
        if (w->total[(n_bars - 1) * per + a] > w->total[(n_bars - 1) * per + c]) c = a;
    for (int k = n_bars - 1; k >= 0; k--) {
        w->best[k] = c;
        if (k > 0) c = w->from[k * per + c];
    }
}

static void work_free(splice_work *w, int per)
{
    for (int c = 0; w->by && c < per; c++) {
        free(w->by[c].channel), free(w->by[c].direct);
        free(w->by[c].channel_tokens), free(w->by[c].direct_tokens);
    }
    free(w->by), free(w->held), free(w->total), free(w->from), free(w->best), free(w->at);
}

static tg_status work_alloc(splice_work *w, int per, int n_bars)
{
    memset(w, 0, sizeof *w);
    const size_t nb = (size_t)(n_bars > 0 ? n_bars : 1);
    w->by = calloc((size_t)per, sizeof *w->by);
    w->held = calloc(nb * (size_t)per, 1);
    w->total = malloc(nb * (size_t)per * sizeof *w->total);
    w->from = calloc(nb * (size_t)per, sizeof *w->from);
    w->best = calloc(nb, sizeof *w->best);
    w->at = malloc((size_t)per * (nb + 1) * sizeof *w->at);
    if (!w->by || !w->held || !w->total || !w->from || !w->best || !w->at) return TG_ERR_NOMEM;
    for (int c = 0; c < per; c++) {
        run_bar_scores *b = &w->by[c];
        b->n_bars = n_bars;
        b->channel = malloc(nb * sizeof *b->channel), b->direct = malloc(nb * sizeof *b->direct);
        b->channel_tokens = malloc(nb * sizeof *b->channel_tokens);
        b->direct_tokens = malloc(nb * sizeof *b->direct_tokens);
        if (!b->channel || !b->direct || !b->channel_tokens || !b->direct_tokens) return TG_ERR_NOMEM;
    }
    return TG_OK;
}

tg_status run_splice_bars(tg_model *m, const tok_tokenizer *tok, const run_channel_task *ct, const tok_seq *cands,
                          int per, double weight, bool per_token, tok_seq *out, run_channel_score *score,
                          int *used, char *err, size_t err_len)
{
    memset(score, 0, sizeof *score);
    memset(out, 0, sizeof *out);
    const int n_bars = plan_bars(tok, ct->plan);
    splice_work w;
    tg_status st = work_alloc(&w, per, n_bars);
    if (st != TG_OK) {
        work_free(&w, per);
        return tg_fail(err, err_len, st, "out of memory");
    }
    for (int c = 0; st == TG_OK && c < per; c++) {
        run_channel_score total;
        st = run_channel_score_of(m, tok, ct, &cands[c], &total, &w.by[c], err, err_len);
        for (int k = 0; st == TG_OK && k < n_bars; k++) {
            const run_bar_scores *b = &w.by[c];
            const run_channel_score bar = {b->channel[k], b->direct[k], b->channel_tokens[k], b->direct_tokens[k]};
            w.total[k * per + c] = run_channel_rank(&bar, weight, per_token);
        }
        if (st == TG_OK && (st = walk(tok, &cands[c], ct->targets, n_bars, w.at + (size_t)c * (n_bars + 1),
                                      w.held + (size_t)c * n_bars)) != TG_OK)
            tg_fail(err, err_len, st, "splicing the candidates bar by bar: %s",
                    st == TG_ERR_ARG ? "a candidate has other bars than the plan" : "a candidate breaks the grammar");
    }
    if (st == TG_OK) choose(&w, per, n_bars);
    if (st == TG_OK && (st = splice(tok, cands, w.best, n_bars, w.at, out)) != TG_OK) {
        tok_seq_free(out);
        tg_fail(err, err_len, st, "splicing the candidates bar by bar: the result breaks the grammar");
    }
    *used = 0;
    for (int k = 0; st == TG_OK && k < n_bars; k++) {
        const run_bar_scores *b = &w.by[w.best[k]];
        score->channel += b->channel[k], score->direct += b->direct[k];
        score->channel_tokens += b->channel_tokens[k], score->direct_tokens += b->direct_tokens[k];
        bool seen = false;
        for (int j = 0; j < k && !seen; j++) seen = w.best[j] == w.best[k];
        *used += !seen;
    }
    work_free(&w, per);
    return st;
}
