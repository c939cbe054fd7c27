/*
 * mix.c: the training mix of any-track generation. A canonical remi-tracks
 * corpus (`data build --tokenizer remi-tracks`) becomes a corpus of task
 * sequences (tok.h's tok_tracks_task), so that one model learns every task
 * the commands ask of it: unconditional pieces (all tracks, canonical
 * order), tracks given (some tracks first in every bar, the others after
 * them; sometimes only a subset of the tracks kept, which is also how a
 * track alone is learnt) and bars given (a gap of 1..max_gap bars moved
 * after Fill, with as many bars around it as fit one training window, and
 * sometimes some tracks of the gap given). Each piece of every split gets
 * `copies` sequences, each with its own task drawn from one seeded stream,
 * so the validation loss is measured on the same mix; a fixed task instead
 * makes the corpora of a measure (chords with the melody given, chords
 * alone). Done at build time, as transposition is: batches stay pure
 * functions of the corpus.
 * What it leaves out: pieces with a single track get no tracks-given task.
 */
#include <stdlib.h>
#include <string.h>

#include "data.h"

data_mix_options data_mix_options_default(void)
{
    data_mix_options o;
    memset(&o, 0, sizeof o);
    o.copies = 4;
    o.context = 256;
    o.seed = 1;
    o.p_tracks = 0.35;
    o.p_infill = 0.5;
    o.max_gap = 4;
    o.task = tok_tracks_task_default();
    return o;
}

static int popcount(uint32_t x)
{
    int n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

/* A random subset of set (each member with probability 1/2). */
static uint32_t subset(tg_rng *rng, uint32_t set)
{
    uint32_t s = 0;
    for (int k = 0; k < 32; k++)
        if ((set >> k & 1) && tg_rng_below(rng, 2)) s |= 1u << k;
    return s;
}

/* A subset of set that is neither empty nor all of it (set has >= 2 members). */
static uint32_t proper_subset(tg_rng *rng, uint32_t set)
{
    for (;;) {
        uint32_t s = subset(rng, set);
        if (s != 0 && s != set) return s;
    }
}

static uint32_t header_slots(const tok_tokenizer *tok, const uint16_t *ids, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 1; i < n && tok->info[ids[i]].type == TOK_T_TRACK; i += 2) s |= 1u << tok->info[ids[i]].value;
    return s;
}

/* One random task for a piece; the rewrite into out. */
static tg_status random_task(const tok_tokenizer *tok, const uint16_t *ids, size_t n, const data_mix_options *o,
                             tg_rng *rng, tok_seq *out, int *kind)
{
    const uint32_t slots = header_slots(tok, ids, n);
    const int bars = tok_tracks_bar_count(tok, ids, n);
    tok_tracks_task t = tok_tracks_task_default();
    char why[160];
    float r = tg_rng_float(rng);
    if (r < o->p_infill && bars >= 2) {
        t.gap_bars = 1 + (int)tg_rng_below(rng, (uint32_t)(o->max_gap < bars ? o->max_gap : bars - 1));
        t.gap_first = (int)tg_rng_below(rng, (uint32_t)(bars - t.gap_bars + 1));
        if (popcount(slots) >= 2 && tg_rng_below(rng, 2)) t.given = proper_subset(rng, slots);
        for (; t.gap_bars >= 1; t.gap_bars--) {
            tg_status st = tok_tracks_fit(tok, ids, n, &t, (size_t)o->context + 1, out, NULL, NULL, why, sizeof why);
            if (st == TG_OK) {
                *kind = 2;
                return TG_OK;
            }
            if (st != TG_ERR_TOO_LARGE) return st;
            t.before = t.after = -1;
        }
        t = tok_tracks_task_default(); /* no gap fits: a tracks task instead */
        r = 0;
    }
    if (r < o->p_infill + o->p_tracks && popcount(slots) >= 2) {
        t.keep = tg_rng_float(rng) < 0.7f ? slots : subset(rng, slots);
        if (t.keep == 0) t.keep = slots;
        if (popcount(t.keep) >= 2) t.given = proper_subset(rng, t.keep);
        *kind = 1;
    } else {
        *kind = 0;
    }
    return tok_tracks_rewrite(tok, ids, n, &t, out, NULL, NULL, why, sizeof why);
}

tg_status data_mix(const data_corpus *c, const tok_tokenizer *tok, const char *out_path,
                   const data_mix_options *o, data_mix_report *rep, data_error *err)
{
    memset(rep, 0, sizeof *rep);
    if (tok_get_config(tok)->kind != TOK_REMI_TRACKS) {
        data_fail(err, "the corpus's tokenizer is %s: a mix needs remi-tracks", c->config);
        return TG_ERR_ARG;
    }
    const int copies = o->fixed ? 1 : o->copies;
    size_t n_out = (size_t)c->n_pieces * (size_t)copies;
    data_out_piece *pieces = calloc(n_out ? n_out : 1, sizeof *pieces);
    const char **paths = calloc(c->n_pieces ? c->n_pieces : 1, sizeof *paths);
    tok_seq *seqs = calloc(n_out ? n_out : 1, sizeof *seqs);
    tg_status st = pieces && paths && seqs ? TG_OK : TG_ERR_NOMEM;
    tg_rng rng;
    tg_rng_seed(&rng, o->seed);
    char why[160] = "";
    size_t k = 0;
    for (uint64_t i = 0; st == TG_OK && i < c->n_pieces; i++) {
        const data_piece *p = &c->pieces[i];
        const uint16_t *ids = c->tokens + p->offset;
        paths[i] = data_corpus_path(c, i);
        for (int j = 0; st == TG_OK && j < copies; j++) {
            int kind = 0;
            if (o->fixed) {
                tok_tracks_task t = o->task;
                st = t.gap_bars > 0
                         ? tok_tracks_fit(tok, ids, p->length, &t, (size_t)o->context + 1, &seqs[k], NULL, NULL, why, sizeof why)
                         : tok_tracks_rewrite(tok, ids, p->length, &t, &seqs[k], NULL, NULL, why, sizeof why);
                kind = t.gap_bars > 0 ? 2 : t.given ? 1 : 0;
                if (st == TG_ERR_TOO_LARGE || (st == TG_ERR_ARG && t.gap_bars > 0)) { /* piece too short or gap too long */
                    rep->skipped++;
                    st = TG_OK;
                    continue;
                }
            } else {
                st = random_task(tok, ids, p->length, o, &rng, &seqs[k], &kind);
            }
            if (st != TG_OK) {
                data_fail(err, "%s: %s", paths[i], why[0] ? why : tg_status_str(st));
                break;
            }
            rep->tasks[kind]++;
            rep->tokens += seqs[k].n;
            pieces[k] = (data_out_piece){seqs[k].ids, (uint32_t)seqs[k].n, (uint32_t)i, p->split, p->transpose};
            k++;
        }
    }
    if (st == TG_OK)
        st = data_write_corpus(out_path, c->config, (int)c->vocab_size, paths, (size_t)c->n_pieces, pieces, k, err);
    rep->pieces = k;
    for (size_t i = 0; seqs && i < n_out; i++) tok_seq_free(&seqs[i]);
    free(seqs);
    free(paths);
    free(pieces);
    return st;
}
