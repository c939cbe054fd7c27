/*
 * bleu.c: BLEU over token sequences, computed as NLTK 3.8's
 * nltk.translate.bleu_score computes it, so that our figures can be checked
 * against it (tests/test_bleu_vs_nltk.py) and compared with papers that used
 * it (Texygen's BLEU and self-BLEU, Zhu et al. 2018).
 *
 * For a hypothesis h and references R, and n = 1..N (N = 4, weights 1/N):
 *   count_h(g)   occurrences of the n-gram g in h
 *   max_R(g)     the largest count of g in any one reference
 *   matches_n    sum over g of min(count_h(g), max_R(g))
 *   totals_n     max(1, number of n-grams of h)   (NLTK's floor of 1)
 *   r            the length of the reference closest in length to h (the
 *                shorter one on a tie), c = len(h)
 * corpus_bleu sums matches_n, totals_n, c and r over the hypotheses, then
 *   p_n = matches_n / totals_n, or 0.1 / totals_n when matches_n = 0
 *         (SmoothingFunction().method1, epsilon 0.1: the smoothing Texygen
 *         uses, and the only one that leaves nonzero precisions alone);
 *   BP  = 1 if c > r, 0 if c = 0, else exp(1 - r/c);
 *   BLEU = 0 when matches_1 = 0, else BP * exp(sum_n log(p_n) / N).
 * sentence_bleu is corpus_bleu of one hypothesis. Texygen's BLEU is the mean
 * of sentence_bleu over the hypotheses; its self-BLEU is the mean over i of
 * sentence_bleu(every other sequence, sequence i).
 *
 * Speed: NLTK rebuilds every reference's n-gram counts for every hypothesis;
 * here each order has one hash table (open addressing, splitmix64 of the
 * n-gram's ids packed 16 bits each) holding, for every n-gram seen in the
 * references, its largest count, the reference that has it and the second
 * largest count from another reference, so that self-BLEU's "every other
 * sequence" is one lookup too. Building is linear in the references' length,
 * each hypothesis linear in its own.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "eval/eval.h"

/* ------------------------------------------------------------------------ */
/* Hash tables of n-grams. */

typedef struct {
    uint64_t key;
    uint32_t used;   /* 0 empty; the count table stores a generation here */
    uint32_t max1;   /* reference table: the largest count; count table: the count */
    uint32_t who1;   /* the reference with max1 */
    uint32_t max2;   /* the largest count among the other references */
} ngram_slot;

typedef struct {
    ngram_slot *slots;
    size_t cap;      /* a power of two */
    size_t n;        /* used slots */
    uint32_t gen;    /* count tables: the current generation (used == gen means live) */
    uint64_t *keys;  /* count tables: the distinct keys of the current generation */
    size_t n_keys;
} ngram_table;

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static tg_status table_init(ngram_table *t, size_t cap)
{
    memset(t, 0, sizeof *t);
    size_t c = 16;
    while (c < cap) c <<= 1;
    t->slots = calloc(c, sizeof *t->slots);
    if (!t->slots) return TG_ERR_NOMEM;
    t->cap = c;
    t->gen = 1;
    return TG_OK;
}

static void table_free(ngram_table *t)
{
    free(t->slots);
    free(t->keys);
    memset(t, 0, sizeof *t);
}

/* The slot of key (live or the empty one where it would go). live: the used
 * value that marks a slot as holding a key. */
static ngram_slot *table_find(const ngram_table *t, uint64_t key, uint32_t live)
{
    size_t mask = t->cap - 1, i = (size_t)mix64(key) & mask;
    for (;;) {
        ngram_slot *s = &t->slots[i];
        if (s->used != live || s->key == key) return s;
        i = (i + 1) & mask;
    }
}

/* Reference tables grow at half load (count tables are sized up front). */
static tg_status table_grow(ngram_table *t)
{
    ngram_table bigger;
    tg_status st = table_init(&bigger, t->cap * 2);
    if (st != TG_OK) return st;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->slots[i].used) continue;
        ngram_slot *s = table_find(&bigger, t->slots[i].key, 1);
        *s = t->slots[i];
    }
    bigger.n = t->n;
    free(t->slots);
    t->slots = bigger.slots;
    t->cap = bigger.cap;
    return TG_OK;
}

/* The n-gram of seq at i packed into 64 bits (ids are 16-bit). */
static uint64_t ngram_key(const uint16_t *ids, size_t i, int n)
{
    uint64_t k = 0;
    for (int j = 0; j < n; j++) k |= (uint64_t)ids[i + j] << (16 * j);
    return k;
}

/* Counts the n-grams of one sequence into a count table (cleared first by
 * moving to a new generation); the distinct keys land in t->keys. */
static void count_ngrams(ngram_table *t, const eval_seq *s, int n)
{
    t->gen++;
    if (t->gen == 0) { /* wrapped: clear for real */
        memset(t->slots, 0, t->cap * sizeof *t->slots);
        t->gen = 1;
    }
    t->n_keys = 0;
    if (s->n < (size_t)n) return;
    for (size_t i = 0; i + (size_t)n <= s->n; i++) {
        uint64_t k = ngram_key(s->ids, i, n);
        ngram_slot *slot = table_find(t, k, t->gen);
        if (slot->used != t->gen) {
            slot->used = t->gen;
            slot->key = k;
            slot->max1 = 0;
            t->keys[t->n_keys++] = k;
        }
        slot->max1++;
    }
}

static tg_status count_table_init(ngram_table *t, size_t longest)
{
    tg_status st = table_init(t, 2 * longest + 2);
    if (st != TG_OK) return st;
    t->keys = malloc((longest + 1) * sizeof *t->keys);
    if (!t->keys) {
        table_free(t);
        return TG_ERR_NOMEM;
    }
    return TG_OK;
}

/* Adds reference r's counts of order n to the reference table. */
static tg_status add_reference(ngram_table *refs, ngram_table *counts, const eval_seq *s, uint32_t r,
                               int n)
{
    count_ngrams(counts, s, n);
    for (size_t k = 0; k < counts->n_keys; k++) {
        uint32_t c = table_find(counts, counts->keys[k], counts->gen)->max1;
        if ((refs->n + 1) * 2 > refs->cap) {
            tg_status st = table_grow(refs);
            if (st != TG_OK) return st;
        }
        ngram_slot *slot = table_find(refs, counts->keys[k], 1);
        if (!slot->used) {
            slot->used = 1;
            slot->key = counts->keys[k];
            slot->max1 = c;
            slot->who1 = r;
            slot->max2 = 0;
            refs->n++;
        } else if (c > slot->max1) { /* each (n-gram, reference) comes once: who1 != r */
            slot->max2 = slot->max1;
            slot->max1 = c;
            slot->who1 = r;
        } else if (c > slot->max2) {
            slot->max2 = c;
        }
    }
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Scores. */

typedef struct {
    uint64_t matches[EVAL_BLEU_MAX_N], totals[EVAL_BLEU_MAX_N];
    uint64_t hyp_len, ref_len;
} bleu_counts;

/* BLEU from counts, NLTK's way (method1 smoothing). */
static double bleu_from_counts(const bleu_counts *c, int max_n, double *bp_out)
{
    double bp;
    if (c->hyp_len > c->ref_len)
        bp = 1;
    else if (c->hyp_len == 0)
        bp = 0;
    else
        bp = exp(1.0 - (double)c->ref_len / (double)c->hyp_len);
    if (bp_out) *bp_out = bp;
    if (c->matches[0] == 0) return 0;
    double w = 1.0 / max_n, sum = 0;
    for (int i = 0; i < max_n; i++) {
        double p = c->matches[i] ? (double)c->matches[i] / (double)c->totals[i]
                                 : 0.1 / (double)c->totals[i];
        sum += w * log(p);
    }
    return bp * exp(sum);
}

/* The length of the reference closest to hyp_len (shorter on ties), leaving
 * out reference skip (SIZE_MAX: none). */
static uint64_t closest_ref_length(const eval_seq *refs, size_t n_refs, size_t skip, size_t hyp_len)
{
    uint64_t best = 0, best_diff = UINT64_MAX;
    for (size_t r = 0; r < n_refs; r++) {
        if (r == skip) continue;
        uint64_t len = refs[r].n;
        uint64_t diff = len > hyp_len ? len - hyp_len : hyp_len - len;
        if (diff < best_diff || (diff == best_diff && len < best)) {
            best = len;
            best_diff = diff;
        }
    }
    return best;
}

/* The shared loop: hypotheses hyps against refs; self mode (hyps == refs)
 * leaves hypothesis i out of its own references. */
static tg_status bleu_run(const eval_seq *hyps, size_t n_hyps, const eval_seq *refs, size_t n_refs,
                          int max_n, bool self, eval_bleu_result *out)
{
    memset(out, 0, sizeof *out);
    if (max_n < 1 || max_n > EVAL_BLEU_MAX_N) return TG_ERR_ARG;
    if (n_hyps == 0 || n_refs == 0 || n_refs > UINT32_MAX) return TG_ERR_ARG;
    size_t longest = 1;
    for (size_t i = 0; i < n_hyps; i++) longest = hyps[i].n > longest ? hyps[i].n : longest;
    for (size_t i = 0; i < n_refs; i++) longest = refs[i].n > longest ? refs[i].n : longest;

    ngram_table ref_tab[EVAL_BLEU_MAX_N], counts;
    memset(ref_tab, 0, sizeof ref_tab);
    tg_status st = count_table_init(&counts, longest);
    for (int n = 0; n < max_n && st == TG_OK; n++) st = table_init(&ref_tab[n], 1024);
    for (size_t r = 0; r < n_refs && st == TG_OK; r++)
        for (int n = 1; n <= max_n && st == TG_OK; n++)
            st = add_reference(&ref_tab[n - 1], &counts, &refs[r], (uint32_t)r, n);

    bleu_counts total = {{0}, {0}, 0, 0};
    double sentence_sum = 0;
    for (size_t h = 0; h < n_hyps && st == TG_OK; h++) {
        bleu_counts one = {{0}, {0}, 0, 0};
        for (int n = 1; n <= max_n; n++) {
            count_ngrams(&counts, &hyps[h], n);
            uint64_t matched = 0, all = 0;
            for (size_t k = 0; k < counts.n_keys; k++) {
                uint32_t c = table_find(&counts, counts.keys[k], counts.gen)->max1;
                const ngram_slot *s = table_find(&ref_tab[n - 1], counts.keys[k], 1);
                uint32_t m = 0;
                if (s->used) m = (self && s->who1 == (uint32_t)h) ? s->max2 : s->max1;
                matched += c < m ? c : m;
                all += c;
            }
            one.matches[n - 1] = matched;
            one.totals[n - 1] = all > 0 ? all : 1;
        }
        one.hyp_len = hyps[h].n;
        one.ref_len = closest_ref_length(refs, n_refs, self ? h : SIZE_MAX, hyps[h].n);
        sentence_sum += bleu_from_counts(&one, max_n, NULL);
        for (int n = 0; n < max_n; n++) {
            total.matches[n] += one.matches[n];
            total.totals[n] += one.totals[n];
        }
        total.hyp_len += one.hyp_len;
        total.ref_len += one.ref_len;
    }
    if (st == TG_OK) {
        out->bleu = bleu_from_counts(&total, max_n, &out->brevity_penalty);
        out->bleu_sentence_mean = sentence_sum / (double)n_hyps;
        memcpy(out->matches, total.matches, sizeof total.matches);
        memcpy(out->totals, total.totals, sizeof total.totals);
        out->hyp_len = total.hyp_len;
        out->ref_len = total.ref_len;
    }
    for (int n = 0; n < EVAL_BLEU_MAX_N; n++) table_free(&ref_tab[n]);
    table_free(&counts);
    return st;
}

tg_status eval_bleu(const eval_seq *hyps, size_t n_hyps, const eval_seq *refs, size_t n_refs,
                    int max_n, eval_bleu_result *out)
{
    return bleu_run(hyps, n_hyps, refs, n_refs, max_n, false, out);
}

tg_status eval_self_bleu(const eval_seq *seqs, size_t n, int max_n, eval_bleu_result *out)
{
    if (n < 2) {
        memset(out, 0, sizeof *out);
        return TG_ERR_ARG;
    }
    return bleu_run(seqs, n, seqs, n, max_n, true, out);
}
