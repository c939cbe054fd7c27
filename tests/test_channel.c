/*
 * test_channel.c: `accompany --rerank` and `infill --rerank`
 * (tg_run_accompany with gen.rerank > 1, src/run/channel.c) on a tiny
 * any-track model (random weights, tiny_model.h) saved with its tracks.tsv:
 * - the reranked take is one of the candidates that rerank 1 draws with
 *   the same seed (its --num takes), note for note, and it is the one with
 *   the best score, the scores computed here independently: the candidates
 *   drawn again through sample_fill on a plan made here, each scored with
 *   one plain model_lm_forward over the whole sequence and a log-softmax of
 *   its logits, the written tokens (the chords' segments) and, for the
 *   channel, the melody's segments of the sequence rewritten with the chords
 *   first (tok_tracks_rewrite);
 * - the reported scores of every take are these, and the seed is one where
 *   the best is not the first candidate (so reranking changes the take);
 * - the given notes come back unchanged, note for note, with rerank, for
 *   accompaniment and for infilling (whose choice is checked against the
 *   reported scores of its rerank-1 takes);
 * - reranking bar by bar: each bar of the take is the bar of the candidate
 *   that ranks highest there, the bars' scores computed here as above, and
 *   the reported scores are the sums of the chosen bars'; the candidates
 *   change only at bar lines neither holds a note over (the best path among
 *   all, enumerated here), and no written note of the take is held over one;
 * - rerank 0, rerank past the limit and a non-finite weight are clear errors.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "run/run.h"
#include "test.h"
#include "tiny_model.h"

#define N_CAND 4
#define SEED 3
#define SPLICE_SEED 41 /* a seed under which the splice takes bars of two candidates (the random model
                          * holds notes over most bar lines, where candidates may not change) */
static uint64_t draw_seed = SEED; /* draw_here's */
#define CTX 1024

static char dir[256];

/* A tiny remi-tracks model with a table of two tracks, in dir. */
static void make_model(void)
{
    snprintf(dir, sizeof dir, "/tmp/tg_channel.XXXXXX");
    if (!mkdtemp(dir)) abort();
    tok_config tc = tok_config_default(TOK_REMI_TRACKS);
    tok_tokenizer *tok = NULL;
    CHECK_OK(tok_create(&tc, &tok));
    char spec[512], path[400];
    CHECK_OK(tok_config_to_string(&tc, spec, sizeof spec));
    tg_model *m = test_model_tiny(MODEL_GENERATOR, tok_vocab_size(tok), CTX, 1, 21, 4.0f);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    CHECK_OK(model_save(m, path, spec, 0, 1, NULL, 0));
    snprintf(path, sizeof path, "%s/tracks.tsv", dir);
    FILE *fp = fopen(path, "w");
    fputs("0\tmelody\t0\n1\tchords\t0\n", fp);
    fclose(fp);
    model_free(m);
    tok_free(tok);
}

/* bars of 4/4 at 480 ticks a quarter: a melody in quarters; with chords,
 * a second track of half-note triads. */
static tg_score *piece(int bars, bool chords)
{
    tg_score *s = NULL;
    CHECK_OK(tg_score_create(480, &s));
    size_t mel, ch;
    CHECK_OK(tg_score_add_track(s, "melody", 0, 0, -1, &mel));
    for (int q = 0; q < bars * 4; q++)
        CHECK_OK(tg_score_add_note(s, mel, (tg_note){q * 480, q * 480 + 480, (uint8_t)(67 + (q * 5) % 9), 80, 0}));
    if (chords) {
        CHECK_OK(tg_score_add_track(s, "chords", 1, 0, -1, &ch));
        for (int h = 0; h < bars * 2; h++)
            for (int k = 0; k < 3; k++)
                CHECK_OK(tg_score_add_note(s, ch, (tg_note){h * 960, h * 960 + 960, (uint8_t)(48 + 4 * k - (k == 2) + (h % 2) * 5), 60, 1}));
    }
    tg_score_sort(s);
    return s;
}

static bool same_notes(const tg_track *a, const tg_track *b)
{
    if (a->n_notes != b->n_notes) return false;
    for (size_t i = 0; i < a->n_notes; i++) {
        const tg_note *x = &a->notes[i], *y = &b->notes[i];
        if (x->start_ticks != y->start_ticks || x->end_ticks != y->end_ticks || x->pitch != y->pitch ||
            x->velocity != y->velocity)
            return false;
    }
    return true;
}

static bool same_takes(const tg_score *a, const tg_score *b)
{
    if (a->n_tracks != b->n_tracks) return false;
    for (size_t t = 0; t < a->n_tracks; t++)
        if (!same_notes(&a->tracks[t], &b->tracks[t])) return false;
    return true;
}

/* Sum of log p(ids[i] | ids[..i]) over the tokens inside slot's segments of
 * ids (after the header, up to and including the token closing each), by
 * one forward pass over the whole sequence; with bar_sum, also each bar's
 * (a closing token with the bar whose segment it closes). */
static double logp_by_bar(tg_model *m, const tok_tokenizer *tok, const tok_seq *s, int slot, size_t *count,
                          double *bar_sum, size_t *bar_count, int n_bars)
{
    const int T = (int)s->n - 1, V = tok_vocab_size(tok);
    CHECK(T <= CTX);
    int *in = malloc(sizeof(int) * (size_t)T);
    for (int t = 0; t < T; t++) in[t] = s->ids[t];
    model_lm_forward(m, in, NULL, 1, T, NULL);
    const float *logits = model_logits(m);
    double sum = 0;
    bool header = true, inside = false;
    int bar = -1; /* the bar of the tokens after the last Bar */
    *count = 0;
    for (int b = 0; b < n_bars; b++) bar_sum[b] = 0, bar_count[b] = 0;
    for (size_t i = 1; i < s->n; i++) {
        const tok_info k = tok_get_info(tok, s->ids[i]);
        bool scored = false;
        if (k.type == TOK_T_BAR) header = false;
        if (header) continue;
        if (k.type == TOK_T_TRACK || k.type == TOK_T_BAR || k.type == TOK_T_EOS) {
            scored = inside;
            inside = k.type == TOK_T_TRACK && k.value == slot;
        } else {
            scored = inside;
        }
        if (!scored) {
            bar += k.type == TOK_T_BAR;
            continue;
        }
        const float *l = logits + (size_t)(i - 1) * V;
        double mx = l[0], z = 0;
        for (int v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
        for (int v = 0; v < V; v++) z += exp(l[v] - mx);
        const double lp = l[s->ids[i]] - mx - log(z);
        sum += lp;
        (*count)++;
        if (bar_sum) {
            CHECK(bar >= 0 && bar < n_bars);
            if (bar >= 0 && bar < n_bars) bar_sum[bar] += lp, bar_count[bar]++;
        }
        bar += k.type == TOK_T_BAR;
    }
    free(in);
    return sum;
}

static double logp_of_slot(tg_model *m, const tok_tokenizer *tok, const tok_seq *s, int slot, size_t *count)
{
    return logp_by_bar(m, tok, s, slot, count, NULL, NULL, 0);
}

/* The candidates of the melody's accompaniment, drawn here: the plan (the
 * melody first in every bar, the chords' Track_1 open), sample_fill; with
 * splice, also the take run_splice_bars splices from them (channel +
 * direct, per token or not) and how many candidates gave it a bar. */
typedef struct {
    bool per_token;
    tok_seq out;
    int used;
} splice_check;

static void draw_here_and(tg_run *run, const tg_score *mel, tok_seq *cands, splice_check *splice)
{
    const tok_tokenizer *tok = run_tokenizer(run);
    int slot_of[1] = {0};
    tok_tracks_slots slots;
    for (int k = 0; k < TOK_TRACKS_MAX; k++) slots.program[k] = k < 2 ? 0 : -1;
    tok_seq canon = {0}, plan = {0};
    CHECK_OK(tok_tracks_encode(tok, mel, slot_of, &slots, &canon));
    tok_tracks_task task = tok_tracks_task_default();
    task.given = 1, task.clear = 2;
    char why[200];
    CHECK_OK(tok_tracks_rewrite(tok, canon.ids, canon.n, &task, &plan, NULL, NULL, why, sizeof why));
    uint8_t *open = calloc(plan.n, 1);
    for (size_t i = 0; i + 1 < plan.n; i++) {
        const tok_info a = tok_get_info(tok, plan.ids[i]), b = tok_get_info(tok, plan.ids[i + 1]);
        open[i] = a.type == TOK_T_TRACK && a.value == 1 && (b.type == TOK_T_BAR || b.type == TOK_T_EOS);
    }
    sample_gen_options so = sample_gen_options_default();
    so.num = N_CAND, so.seed = draw_seed;
    const sample_plan sp = {plan.ids, open, plan.n};
    char err[300];
    CHECK_OK(sample_fill(run_generator(run), tok, &sp, &so, cands, NULL, err, sizeof err));
    if (splice) {
        const run_channel_task ct = {&sp, 1, 2, false, NULL, 0, 0, 0, true};
        run_channel_score sc;
        CHECK_OK(run_splice_bars(run_generator(run), tok, &ct, cands, N_CAND, 1.0, splice->per_token, &splice->out,
                                 &sc, &splice->used, err, sizeof err));
    }
    free(open);
    tok_seq_free(&plan);
    tok_seq_free(&canon);
}

static void draw_here(tg_run *run, const tg_score *mel, tok_seq *cands) { draw_here_and(run, mel, cands, NULL); }

static void test_accompany_rerank(tg_run *run)
{
    tg_score *mel = piece(3, false);
    char err[512] = "";
    tg_accompany_options o = tg_accompany_options_default();
    o.score = mel;
    o.gen.seed = SEED;
    o.gen.num = N_CAND;
    o.score_takes = true;
    tg_take all[N_CAND], best;
    CHECK_OK(tg_run_accompany(run, &o, all, NULL, err, sizeof err));
    o.gen.num = 1;
    o.gen.rerank = N_CAND;
    o.score_takes = false;
    CHECK_OK(tg_run_accompany(run, &o, &best, NULL, err, sizeof err));

    /* the scores, independently */
    tok_seq cands[N_CAND];
    memset(cands, 0, sizeof cands);
    draw_here(run, mel, cands);
    const tok_tokenizer *tok = run_tokenizer(run);
    int argmax = -1;
    double top = -INFINITY, first = 0;
    for (int c = 0; c < N_CAND; c++) {
        size_t nd, nc;
        const double direct = logp_of_slot(run_generator(run), tok, &cands[c], 1, &nd);
        tok_tracks_task swap = tok_tracks_task_default();
        swap.given = 2;
        tok_seq sw = {0};
        char why[200];
        CHECK_OK(tok_tracks_rewrite(tok, cands[c].ids, cands[c].n, &swap, &sw, NULL, NULL, why, sizeof why));
        const double channel = logp_of_slot(run_generator(run), tok, &sw, 0, &nc);
        CHECK_NEAR(all[c].written_logp, direct, 2e-3);
        CHECK_NEAR(all[c].given_logp, channel, 2e-3);
        CHECK_INT(all[c].written_tokens, nd);
        CHECK_INT(all[c].given_tokens, nc);
        CHECK(nd > 0 && nc > 0);
        const double score = channel + tg_accompany_options_default().rerank_weight * direct;
        if (c == 0) first = score;
        if (score > top) top = score, argmax = c;
        tok_seq_free(&sw);
        tok_seq_free(&cands[c]);
    }
    CHECK(argmax > 0); /* the seed makes reranking matter */
    CHECK(top > first);
    CHECK_INT(best.candidate, argmax);
    if (argmax >= 0) CHECK(same_takes(best.score, all[argmax].score));
    CHECK_NEAR(best.given_logp, all[argmax >= 0 ? argmax : 0].given_logp, 1e-9);
    CHECK(best.written_tokens == 0 && best.written_logp == 0); /* weight 0: the direct pass is skipped */
    /* the melody, note for note */
    CHECK(best.score->n_tracks == 2 && same_notes(&best.score->tracks[0], &mel->tracks[0]));
    CHECK(best.score->tracks[1].n_notes > 0);
    /* a weight of 1: channel + direct decides */
    o.rerank_weight = 1;
    tg_take ch;
    CHECK_OK(tg_run_accompany(run, &o, &ch, NULL, err, sizeof err));
    int by_both = 0;
    for (int c = 1; c < N_CAND; c++)
        if (all[c].given_logp + all[c].written_logp > all[by_both].given_logp + all[by_both].written_logp) by_both = c;
    CHECK_INT(ch.candidate, by_both);
    CHECK_NEAR(ch.written_logp, all[by_both].written_logp, 1e-9);
    tg_take_free(&ch);
    /* per token: each log-likelihood over its tokens decides */
    o.rerank_per_token = true;
    CHECK_OK(tg_run_accompany(run, &o, &ch, NULL, err, sizeof err));
    int by_token = 0;
    double top_token = -INFINITY;
    for (int c = 0; c < N_CAND; c++) {
        const double r = all[c].given_logp / (double)all[c].given_tokens + all[c].written_logp / (double)all[c].written_tokens;
        if (r > top_token) top_token = r, by_token = c;
    }
    CHECK_INT(ch.candidate, by_token);
    printf("rerank of %d: channel alone picks %d, channel + direct %d, both per token %d\n", N_CAND, argmax, by_both,
           by_token);
    tg_take_free(&ch);
    for (int c = 0; c < N_CAND; c++) tg_take_free(&all[c]);
    tg_take_free(&best);
    tg_score_free(mel);
}

/* The tokens of bar k of s, [from, to): from its Bar to the next Bar or the
 * end (k = -1: the header before the first Bar). */
static void bar_span(const tok_tokenizer *tok, const tok_seq *s, int k, size_t *from, size_t *to)
{
    const int bar = tok_bar_id(tok);
    int b = -1;
    *from = 0, *to = s->n;
    for (size_t i = 0; i < s->n; i++) {
        if (s->ids[i] != bar) continue;
        b++;
        if (b == k) *from = i;
        if (b == k + 1) {
            *to = i;
            return;
        }
    }
}

/* Reranking bar by bar: each bar of the take is that bar of the candidate
 * that ranks highest there (channel + direct, or per token), the bars'
 * scores computed here independently; the reported scores are the chosen
 * bars'; the melody comes back unchanged. */
static void test_accompany_splice(tg_run *run, bool per_token)
{
    enum { BARS = 4 };
    const int64_t BAR_TICKS = 4 * 480;
    tg_score *mel = piece(BARS, false);
    char err[512] = "";
    tg_accompany_options o = tg_accompany_options_default();
    o.score = mel;
    draw_seed = SPLICE_SEED;
    o.gen.seed = draw_seed;
    o.gen.num = N_CAND;
    tg_take all[N_CAND], sp;
    CHECK_OK(tg_run_accompany(run, &o, all, NULL, err, sizeof err));
    o.gen.num = 1, o.gen.rerank = N_CAND;
    o.rerank_weight = 1, o.rerank_per_token = per_token, o.rerank_by = TG_RERANK_BY_BAR;
    CHECK_OK(tg_run_accompany(run, &o, &sp, NULL, err, sizeof err));

    tok_seq cands[N_CAND];
    memset(cands, 0, sizeof cands);
    int best[BARS], used = 0;
    splice_check chk = {per_token, {0}, 0};
    draw_here_and(run, mel, cands, &chk);
    const tok_tokenizer *tok = run_tokenizer(run);
    double ch[N_CAND][BARS], di[N_CAND][BARS], total[N_CAND];
    size_t nch[N_CAND][BARS], ndi[N_CAND][BARS];
    for (int c = 0; c < N_CAND; c++) {
        size_t n;
        tok_seq sw = {0};
        tok_tracks_task swap = tok_tracks_task_default();
        swap.given = 2;
        char why[200];
        CHECK_OK(tok_tracks_rewrite(tok, cands[c].ids, cands[c].n, &swap, &sw, NULL, NULL, why, sizeof why));
        const double d = logp_by_bar(run_generator(run), tok, &cands[c], 1, &n, di[c], ndi[c], BARS);
        const double g = logp_by_bar(run_generator(run), tok, &sw, 0, &n, ch[c], nch[c], BARS);
        total[c] = g + d;
        tok_seq_free(&sw);
    }
    /* held[c][k]: candidate c's take holds a chord note over the start of bar k */
    bool held[N_CAND][BARS];
    int n_held = 0;
    for (int c = 0; c < N_CAND; c++)
        for (int k = 0; k < BARS; k++) {
            held[c][k] = false;
            for (size_t i = 0; k > 0 && all[c].score->n_tracks == 2 && i < all[c].score->tracks[1].n_notes; i++) {
                const tg_note *x = &all[c].score->tracks[1].notes[i];
                held[c][k] |= x->start_ticks < k * BAR_TICKS && k * BAR_TICKS < x->end_ticks;
            }
            n_held += held[c][k];
        }
    /* every path of candidates, bar by bar, that changes candidate only where
     * neither holds a note over the bar line: the best sum of ranks */
    double top = -INFINITY;
    int path[BARS];
    for (int code = 0; code < N_CAND * N_CAND * N_CAND * N_CAND; code++) {
        int p[BARS];
        for (int k = 0, v = code; k < BARS; k++, v /= N_CAND) p[k] = v % N_CAND;
        bool ok_path = true;
        double sum = 0;
        for (int k = 0; k < BARS; k++) {
            if (k > 0 && p[k] != p[k - 1] && (held[p[k - 1]][k] || held[p[k]][k])) ok_path = false;
            const int c = p[k];
            sum += per_token ? ch[c][k] / (double)nch[c][k] + di[c][k] / (double)ndi[c][k] : ch[c][k] + di[c][k];
        }
        if (ok_path && sum > top) top = sum, memcpy(path, p, sizeof path);
    }
    double given = 0, written = 0, spliced_total = 0;
    for (int k = 0; k < BARS; k++) {
        best[k] = path[k];
        bool seen = false;
        for (int j = 0; j < k; j++) seen |= best[j] == best[k];
        used += !seen;
        given += ch[best[k]][k], written += di[best[k]][k], spliced_total += ch[best[k]][k] + di[best[k]][k];
    }
    CHECK(n_held > 0); /* the candidates hold notes over bar lines: the rule is exercised */
    CHECK(used >= 2); /* the seed makes splicing matter */
    /* bar k of the splice is bar k of candidate best[k], token for token (the
     * header is the plan's, the same in every candidate) */
    size_t at = 0;
    for (int k = -1; k < BARS; k++) {
        const tok_seq *c = &cands[k < 0 ? 0 : best[k]];
        size_t from, to;
        bar_span(tok, c, k, &from, &to);
        for (size_t i = from; i < to && at < chk.out.n; i++, at++) CHECK_INT(chk.out.ids[at], c->ids[i]);
    }
    CHECK_INT(at, chk.out.n);
    CHECK_INT(chk.used, used);
    tok_seq_free(&chk.out);
    for (int c = 0; c < N_CAND; c++) tok_seq_free(&cands[c]);
    CHECK_INT(sp.candidate, -1);
    CHECK_INT(sp.spliced_from, used);
    CHECK_NEAR(sp.given_logp, given, 2e-3);
    CHECK_NEAR(sp.written_logp, written, 2e-3);
    if (!per_token)
        for (int c = 0; c < N_CAND; c++) CHECK(spliced_total >= total[c] - 1e-9);
    /* the melody, note for note */
    CHECK(sp.score->n_tracks == 2 && same_notes(&sp.score->tracks[0], &mel->tracks[0]));
    /* no written note is held over a bar line where the candidate changes */
    for (size_t i = 0; sp.score->n_tracks == 2 && i < sp.score->tracks[1].n_notes; i++) {
        const tg_note *x = &sp.score->tracks[1].notes[i];
        for (int k = 1; k < BARS; k++)
            if (best[k] != best[k - 1]) CHECK(!(x->start_ticks < k * BAR_TICKS && k * BAR_TICKS < x->end_ticks));
    }
    printf("rerank bar by bar%s: bars from candidates %d %d %d %d (%d bar lines held over by a candidate)\n",
           per_token ? " per token" : "", best[0], best[1], best[2], best[3], n_held);
    /* infilling has no bars to splice */
    tg_take t;
    o.bar_first = 2, o.bar_last = 3;
    CHECK_STATUS(tg_run_accompany(run, &o, &t, NULL, err, sizeof err), TG_ERR_ARG);
    CHECK(strstr(err, "bar by bar is for accompaniment") != NULL);
    for (int c = 0; c < N_CAND; c++) tg_take_free(&all[c]);
    tg_take_free(&sp);
    tg_score_free(mel);
    draw_seed = SEED;
}

static void test_infill_rerank(tg_run *run)
{
    tg_score *full = piece(6, true);
    char err[512] = "";
    tg_accompany_options o = tg_accompany_options_default();
    o.score = full;
    o.bar_first = 3, o.bar_last = 4;
    o.gen.seed = SEED;
    o.gen.num = N_CAND;
    o.score_takes = true;
    tg_take all[N_CAND], best;
    CHECK_OK(tg_run_accompany(run, &o, all, NULL, err, sizeof err));
    o.gen.num = 1;
    o.gen.rerank = N_CAND;
    CHECK_OK(tg_run_accompany(run, &o, &best, NULL, err, sizeof err));
    int argmax = 0;
    for (int c = 0; c < N_CAND; c++) {
        CHECK(all[c].given_tokens > 0 && all[c].written_tokens > 0);
        if (all[c].given_logp > all[argmax].given_logp) argmax = c; /* the default: the channel alone */
    }
    CHECK_INT(best.candidate, argmax);
    CHECK(same_takes(best.score, all[argmax].score));
    /* outside bars 3-4 (ticks 3840..7680) every note is the input's */
    for (size_t t = 0; t < 2; t++) {
        tg_track kept = best.score->tracks[t], want = full->tracks[t];
        tg_note a[64], b[64];
        size_t na = 0, nb = 0;
        for (size_t i = 0; i < kept.n_notes && na < 64; i++)
            if (kept.notes[i].start_ticks < 3840 || kept.notes[i].start_ticks >= 7680) a[na++] = kept.notes[i];
        for (size_t i = 0; i < want.n_notes && nb < 64; i++)
            if (want.notes[i].start_ticks < 3840 || want.notes[i].start_ticks >= 7680) b[nb++] = want.notes[i];
        kept.notes = a, kept.n_notes = na, want.notes = b, want.n_notes = nb;
        CHECK(na > 0 && same_notes(&kept, &want));
    }
    for (int c = 0; c < N_CAND; c++) tg_take_free(&all[c]);
    tg_take_free(&best);
    tg_score_free(full);
}

static void test_errors(tg_run *run)
{
    tg_score *mel = piece(2, false);
    char err[512] = "";
    tg_accompany_options o = tg_accompany_options_default();
    o.score = mel;
    tg_take t;
    o.gen.rerank = 0;
    CHECK_STATUS(tg_run_accompany(run, &o, &t, NULL, err, sizeof err), TG_ERR_RANGE);
    CHECK(strstr(err, "rerank 0") != NULL);
    o.gen.rerank = 1001;
    CHECK_STATUS(tg_run_accompany(run, &o, &t, NULL, err, sizeof err), TG_ERR_RANGE);
    CHECK(strstr(err, "1 (off) to 1000") != NULL);
    o.gen.rerank = 1000, o.gen.num = INT32_MAX / 1000;
    CHECK_STATUS(tg_run_accompany(run, &o, &t, NULL, err, sizeof err), TG_ERR_RANGE);
    CHECK(strstr(err, "too many candidates") != NULL);
    o.gen.rerank = 2, o.gen.num = 1, o.rerank_weight = NAN;
    CHECK_STATUS(tg_run_accompany(run, &o, &t, NULL, err, sizeof err), TG_ERR_RANGE);
    CHECK(strstr(err, "not a finite number") != NULL);
    tg_score_free(mel);
}

int main(void)
{
    make_model();
    run_open_options ro = run_open_options_default();
    ro.max_batch = 3; /* the scorer's windows in batches of up to 3 */
    tg_run *run = NULL;
    char err[512];
    CHECK_OK(run_open(dir, &ro, &run, err, sizeof err));
    if (!run) {
        fprintf(stderr, "%s\n", err);
        return test_finish("channel");
    }
    test_accompany_rerank(run);
    test_accompany_splice(run, false);
    test_accompany_splice(run, true);
    test_infill_rerank(run);
    test_errors(run);
    tg_run_free(run);
    char path[400];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/tracks.tsv", dir);
    remove(path);
    rmdir(dir);
    return test_finish("channel");
}
