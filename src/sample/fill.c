/*
 * fill.c: generation with forced tokens, for any-track generation
 * (accompaniment, infilling). A plan is a token sequence, BOS to EOS, in
 * which some tokens open a segment for the model to write (a target track's
 * Track_k); every other token of the plan is given. Each step of the
 * batch-sampling loop (loop.c) asks this policy which ids may come: outside
 * an open segment, the plan's next token alone (it is forced: fed as it is,
 * never drawn against the model's odds); inside one, the notes' tokens the
 * grammar allows (Position, Pitch, Velocity, Duration) and the plan's next
 * token when the grammar allows it, whose choice closes the segment. So the
 * model decides where a generated track's bar ends, and everything given is
 * kept token for token. No decode loop of its own: loop.c with this policy.
 * Voice leading (opt->voicing, voicing.c): every token, given or drawn, is
 * recorded per voice; when a voice's Pitch is drawn and breaks a rule
 * (parallel fifth or octave with a voice known at its onset, a crossing of
 * an adjacent voice, the voice's range), the loop draws again among the
 * pitches that keep the rules (fill_recheck): rejection, so the draw is the
 * model's distribution renormalised over them, and a draw that keeps the
 * rules is the one an unconstrained run makes. When no pitch keeps them and a
 * pitch must come (right after a Position), the rules are relaxed in order:
 * the range, then crossings, then parallels. The stats count the voices'
 * pitches, the redraws and the relaxations.
 * Left out: prefilling the forced runs between segments in one call (each
 * forced token is one step of the loop; a 32-bar Nottingham piece costs
 * about a thousand of them, under a second).
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "sample.h"

/* One sequence of a batch. */
typedef struct {
    tg_rng rng;
    tok_seq seq;
    tok_grammar g;
    size_t next;        /* the plan's next token */
    bool open;          /* inside a segment the model writes */
    int seg_tokens;     /* tokens written in the open segment */
    voicing_row voices; /* with voicing: the notes so far per voice */
} fill_row;

typedef struct {
    fill_row *rows;
    const sample_plan *plan;
    sample_gen_stats *stats;
    int max_segment;    /* tokens after which the segment is closed when the grammar allows */
    tg_status st;
    const sample_voicing *voicing; /* NULL: off */
} fill_policy;

static bool note_token(tok_type t)
{
    return t == TOK_T_POSITION || t == TOK_T_PITCH || t == TOK_T_VELOCITY || t == TOK_T_DURATION;
}

static const uint8_t *fill_allowed(void *user, int i, uint8_t *mask)
{
    fill_policy *pol = user;
    fill_row *r = &pol->rows[i];
    const tok_tokenizer *tok = r->g.tok;
    const int V = tok_vocab_size(tok), want = pol->plan->ids[r->next];
    memset(mask, 0, (size_t)V);
    bool can_close = tok_grammar_allows(&r->g, want);
    if (!r->open || (can_close && r->seg_tokens >= pol->max_segment)) {
        mask[want] = 1;
        return mask;
    }
    for (int id = 0; id < V; id++)
        if (note_token(tok_get_info(tok, id).type) && tok_grammar_allows(&r->g, id)) mask[id] = 1;
    if (can_close) mask[want] = 1;
    return mask;
}

/* Inside an open segment whose plan closer the grammar allows now, the
 * model's odds of ending the segment in any way (a Bar where the plan has
 * EOS at the piece's end, another track, a gap) are the closer's: the model
 * cannot see that the piece ends or what the plan puts next, and without
 * this its wish to close leaks into more notes (experiments/any-track/
 * RESULTS.md: stray high chords in the last bar). */
static bool closer_token(tok_type t)
{
    return t == TOK_T_EOS || t == TOK_T_BAR || t == TOK_T_TRACK || t == TOK_T_FILL || t == TOK_T_GAP;
}

static int fill_pooled(void *user, int i, uint8_t *pool)
{
    fill_policy *pol = user;
    fill_row *r = &pol->rows[i];
    const tok_tokenizer *tok = r->g.tok;
    const int want = pol->plan->ids[r->next];
    if (!r->open || !closer_token(tok_get_info(tok, want).type) || !tok_grammar_allows(&r->g, want)) return -1;
    const int V = tok_vocab_size(tok);
    for (int id = 0; id < V; id++)
        if (id != want && closer_token(tok_get_info(tok, id).type)) pool[id] = 1;
    return want;
}

static tg_rng *fill_rng(void *user, int i) { return &((fill_policy *)user)->rows[i].rng; }

static sample_verdict fill_took(void *user, int i, int id)
{
    fill_policy *pol = user;
    fill_row *r = &pol->rows[i];
    if (id < 0 || pol->st != TG_OK) return SAMPLE_STOP; /* nothing allowed: a plan the grammar refuses */
    pol->st = tok_seq_push(&r->seq, id);
    if (pol->st == TG_OK && pol->voicing) pol->st = voicing_row_feed(&r->voices, &r->g, id, false);
    if (pol->st == TG_OK && tok_grammar_feed(&r->g, id) != TG_OK) pol->st = TG_ERR_GRAMMAR;
    if (pol->st != TG_OK) return SAMPLE_STOP;
    if (id == pol->plan->ids[r->next] && (!r->open || !note_token(tok_get_info(r->g.tok, id).type))) {
        r->open = pol->plan->open[r->next] != 0;
        r->seg_tokens = 0;
        r->next++;
    } else {
        r->seg_tokens++;
        pol->stats->new_tokens++;
    }
    if (id == TOK_EOS) {
        pol->stats->ended_by_eos++;
        return SAMPLE_STOP;
    }
    return SAMPLE_GO;
}

/* A voice's drawn Duration over which an adjacent voice crosses it: the
 * durations that do not (with the allowed ids that are not durations); when
 * none is left, the crossing is kept (relaxed, counted). */
static const uint8_t *recheck_duration(fill_policy *pol, fill_row *r, int id, uint8_t *mask)
{
    const tok_tokenizer *tok = r->g.tok;
    if (r->voices.pending_voice < 0 || !voicing_held_crosses(&r->voices, &r->g, tok_get_info(tok, id).value))
        return NULL;
    fill_allowed(pol, (int)(r - pol->rows), mask);
    const int V = tok_vocab_size(tok);
    int left = 0;
    for (int k = 0; k < V; k++) {
        if (!mask[k]) continue;
        const tok_info in = tok_get_info(tok, k);
        if (in.type == TOK_T_DURATION && voicing_held_crosses(&r->voices, &r->g, in.value))
            mask[k] = 0;
        else
            left++;
    }
    if (left == 0) {
        pol->stats->relaxed[1]++;
        return NULL;
    }
    pol->stats->held_redrawn++;
    return mask;
}

/* A voice's drawn Pitch that breaks a rule kept: the pitches that keep the
 * rules (the allowed ids less the others), for the loop to draw from again. */
static const uint8_t *fill_recheck(void *user, int i, int id, uint8_t *mask)
{
    fill_policy *pol = user;
    fill_row *r = &pol->rows[i];
    const tok_tokenizer *tok = r->g.tok;
    if (!pol->voicing || !r->open) return NULL;
    if (tok_get_info(tok, id).type == TOK_T_DURATION) return recheck_duration(pol, r, id, mask);
    if (tok_get_info(tok, id).type != TOK_T_PITCH || voicing_voice_at(&r->voices, &r->g) < 0) return NULL;
    uint8_t flags[128];
    voicing_judge(&r->voices, &r->g, flags);
    fill_allowed(user, i, mask);
    bool other;
    const uint8_t kept = voicing_rules_kept(tok, mask, flags, &other);
    sample_gen_stats *s = pol->stats;
    s->voiced++;
    if (!(kept & VOICING_RANGE)) s->relaxed[0]++;
    if (!(kept & VOICING_CROSSING)) s->relaxed[1]++;
    if (!(kept & VOICING_PARALLELS)) s->relaxed[2]++;
    const int p = tok_get_info(tok, id).value;
    if (p < 0 || p >= 128 || !(flags[p] & kept)) return NULL;
    s->redrawn++;
    const int V = tok_vocab_size(tok);
    for (int k = 0; k < V; k++) {
        const tok_info in = tok_get_info(tok, k);
        if (mask[k] && in.type == TOK_T_PITCH && in.value >= 0 && in.value < 128 && (flags[in.value] & kept)) mask[k] = 0;
    }
    return mask;
}

/* The plan's forced head (up to and including its first open token) is fed
 * as the loop's prefix. */
static size_t head_length(const sample_plan *plan)
{
    size_t k = 0;
    while (k + 1 < plan->n && !plan->open[k]) k++;
    return k + 1;
}

/* A row's voices start with the given voices' notes, the whole plan read
 * ahead, and the head's notes of the others. */
static tg_status voice_plan(voicing_row *vr, const sample_voicing *v, const tok_tokenizer *tok,
                            const sample_plan *plan, size_t head)
{
    voicing_row_init(vr, v, tok_steps_per_quarter(tok));
    tok_grammar g;
    tok_grammar_init(&g, tok);
    tg_status st = TG_OK;
    for (size_t i = 0; i < plan->n && st == TG_OK; i++) {
        st = voicing_row_feed(vr, &g, plan->ids[i], true);
        if (st == TG_OK && i < head) st = voicing_row_feed(vr, &g, plan->ids[i], false);
        if (st == TG_OK) st = tok_grammar_feed(&g, plan->ids[i]);
    }
    return st;
}

tg_status sample_fill(const tg_model *model, const tok_tokenizer *tok, const sample_plan *plan,
                      const sample_gen_options *opt, tok_seq *out, sample_gen_stats *stats, char *err,
                      size_t err_len)
{
    sample_gen_stats dummy;
    if (!stats) stats = &dummy;
    memset(stats, 0, sizeof *stats);
    const model_config *cfg = model_get_config(model);
    const int V = cfg->vocab_size, T_ctx = cfg->context;
    char why[160];
    if (V != tok_vocab_size(tok))
        return tg_fail(err, err_len, TG_ERR_ARG, "the model's vocabulary (%d) is not the tokenizer's (%d)", V,
                       tok_vocab_size(tok));
    if (sample_params_check(&opt->params, why, sizeof why) != TG_OK)
        return tg_fail(err, err_len, TG_ERR_RANGE, "%s", why);
    if (opt->num < 1 || opt->batch < 1) return tg_fail(err, err_len, TG_ERR_ARG, "num and batch must be >= 1");
    if (opt->voicing && tok_get_config(tok)->kind != TOK_REMI_TRACKS)
        return tg_fail(err, err_len, TG_ERR_ARG, "voice leading needs the remi-tracks tokenizer");
    if (plan->n < 2 || plan->ids[0] != TOK_BOS || plan->ids[plan->n - 1] != TOK_EOS)
        return tg_fail(err, err_len, TG_ERR_ARG, "a plan runs from BOS to EOS");
    const size_t head = head_length(plan);
    int keep = opt->keep > 0 ? opt->keep : T_ctx / 2;
    if (keep > T_ctx - 1) keep = T_ctx - 1;
    tok_grammar g0;
    tok_grammar_init(&g0, tok);
    for (size_t i = 0; i < head; i++)
        if (tok_grammar_feed(&g0, plan->ids[i]) != TG_OK)
            return tg_fail(err, err_len, TG_ERR_GRAMMAR, "plan token %zu (%s) breaks the grammar", i,
                           tok_name(tok, plan->ids[i]));
    const size_t plen = head < (size_t)T_ctx ? head : (size_t)T_ctx; /* the head's last tokens fit */
    const uint16_t *pfx = plan->ids + (head - plen);

    const int BM = opt->batch < opt->num ? opt->batch : opt->num;
    sample_buffers bt;
    tg_status st = sample_buffers_open(model, BM, plen, &bt);
    fill_row *rows = calloc((size_t)BM, sizeof *rows);
    if (st == TG_OK && !rows) st = TG_ERR_NOMEM;
    fill_policy pol = {rows, plan, stats, 4 * T_ctx, TG_OK, opt->voicing};
    sample_params params = opt->params;
    uint8_t *pitch = NULL;
    if (st == TG_OK) st = sample_params_bind(tok, &params, &pitch);
    const sample_loop lp = {params, fill_allowed, fill_rng, fill_took, &pol, true, keep, fill_recheck, fill_pooled};
    double t0 = tg_now_sec();
    for (int first = 0; st == TG_OK && first < opt->num; first += BM) {
        const int B = opt->num - first < BM ? opt->num - first : BM;
        for (int b = 0; b < B && st == TG_OK; b++) {
            fill_row *r = &rows[b];
            tok_seq_free(&r->seq);
            voicing_row_free(&r->voices);
            memset(r, 0, sizeof *r);
            sample_row_seed(&r->rng, opt->seed, first + b);
            for (size_t i = 0; i < head && st == TG_OK; i++) st = tok_seq_push(&r->seq, plan->ids[i]);
            if (st == TG_OK && opt->voicing) st = voice_plan(&r->voices, opt->voicing, tok, plan, head);
            r->g = g0;
            r->next = head;
            r->open = plan->open[head - 1] != 0;
            for (size_t i = 0; i < plen; i++) bt.prefixes[(size_t)b * plen + i] = pfx[i];
        }
        if (st == TG_OK)
            st = sample_loop_run(bt.cache, &lp, B, bt.prefixes, (int)plen, NULL, bt.logits, &stats->slides);
        if (st == TG_OK) st = pol.st;
        for (int b = 0; b < B && st == TG_OK; b++) {
            if (!rows[b].g.ended) st = TG_ERR_GRAMMAR;
            out[first + b] = rows[b].seq;
            memset(&rows[b].seq, 0, sizeof rows[b].seq);
        }
    }
    stats->seconds = tg_now_sec() - t0;
    stats->tok_per_s = stats->seconds > 0 ? stats->new_tokens / stats->seconds : 0.0;
    if (rows)
        for (int b = 0; b < BM; b++) {
            tok_seq_free(&rows[b].seq);
            voicing_row_free(&rows[b].voices);
        }
    free(rows);
    free(pitch);
    sample_buffers_close(&bt);
    if (st != TG_OK) {
        for (int i = 0; i < opt->num; i++) tok_seq_free(&out[i]);
        return tg_fail(err, err_len, st, "generation with given tokens failed: %s", tg_status_str(st));
    }
    return TG_OK;
}
