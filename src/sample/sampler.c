/*
 * sampler.c: choosing the next token from logits: the grammar mask (masked
 * ids are never chosen, as if their logit were -inf), temperature (0 is
 * greedy argmax) and a temperature of its own for which pitch a note takes
 * (the pitch ids' mass stays what the temperature gives it; only its share
 * among them is drawn sharper or flatter), top-k, and top-p / nucleus
 * sampling (Holtzman et al. 2019,
 * https://arxiv.org/abs/1904.09751), in that order, then one uniform draw
 * from the caller's rng, as llama2.c's sampler does.
 *
 * Determinism: candidates are ordered by (logit descending, id ascending)
 * whenever an order matters, so the choice is a function of the logits, the
 * mask, the parameters and the rng state only.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "sample.h"

sample_params sample_params_default(void)
{
    sample_params p = {1.0f, 0, 1.0f, 0.0f, NULL};
    return p;
}

tg_status sample_params_check(const sample_params *p, char *why, size_t why_size)
{
    if (!(p->temperature >= 0.0f) || !isfinite(p->temperature)) {
        if (why) snprintf(why, why_size, "the temperature must be 0 (greedy) or positive, got %g",
                          (double)p->temperature);
        return TG_ERR_RANGE;
    }
    if (!(p->pitch_temperature >= 0.0f) || !isfinite(p->pitch_temperature)) {
        if (why) snprintf(why, why_size, "the pitch temperature must be positive (or 0: off), got %g",
                          (double)p->pitch_temperature);
        return TG_ERR_RANGE;
    }
    if (p->top_k < 0) {
        if (why) snprintf(why, why_size, "top-k must be 0 (off) or positive, got %d", p->top_k);
        return TG_ERR_RANGE;
    }
    if (!(p->top_p > 0.0f && p->top_p <= 1.0f)) {
        if (why) snprintf(why, why_size, "top-p must lie in (0,1], got %g", (double)p->top_p);
        return TG_ERR_RANGE;
    }
    return TG_OK;
}

typedef struct {
    float v; /* logit / temperature, then probability */
    int id;
} cand;

size_t sample_pick_scratch_bytes(int V) { return (size_t)V * sizeof(cand); }

static int cmp_cand(const void *pa, const void *pb)
{
    const cand *a = pa, *b = pb;
    if (a->v != b->v) return a->v > b->v ? -1 : 1;
    return a->id - b->id;
}

/* log sum exp of the pitch candidates' logits times inv (-inf: none) */
static double pitch_lse(const cand *c, int n, const float *logits, const uint8_t *pitch, float inv)
{
    double mx = -INFINITY, total = 0.0;
    for (int i = 0; i < n; i++)
        if (pitch[c[i].id] && logits[c[i].id] * inv > mx) mx = logits[c[i].id] * inv;
    if (!isfinite(mx)) return mx;
    for (int i = 0; i < n; i++)
        if (pitch[c[i].id]) total += exp((double)logits[c[i].id] * inv - mx);
    return mx + log(total);
}

/* c[].v holds logit / temperature: the pitch candidates' values become
 * logit / pitch temperature, shifted so that together they keep the mass
 * they had (no shift when every candidate is a pitch: it would cancel). */
static void temper_pitches(cand *c, int n, const float *logits, const sample_params *p)
{
    const float inv_p = 1.0f / p->pitch_temperature;
    int pitches = 0;
    for (int i = 0; i < n; i++) pitches += p->pitch[c[i].id] != 0;
    if (pitches == 0) return;
    float shift = 0.0f;
    if (pitches < n) {
        const double at_t = pitch_lse(c, n, logits, p->pitch, 1.0f / p->temperature);
        const double at_p = pitch_lse(c, n, logits, p->pitch, inv_p);
        if (!isfinite(at_t) || !isfinite(at_p)) return; /* every pitch at -inf: nothing to share */
        shift = (float)(at_t - at_p);
    }
    for (int i = 0; i < n; i++)
        if (p->pitch[c[i].id]) c[i].v = logits[c[i].id] * inv_p + shift;
}

tg_status sample_params_bind(const tok_tokenizer *tok, sample_params *p, uint8_t **mask)
{
    *mask = NULL;
    if (!(p->pitch_temperature > 0.0f)) return TG_OK;
    const int V = tok_vocab_size(tok);
    if (!(*mask = malloc((size_t)V))) return TG_ERR_NOMEM;
    for (int id = 0; id < V; id++) {
        const tok_type t = tok_get_info(tok, id).type;
        (*mask)[id] = t == TOK_T_PITCH || t == TOK_T_NOTE_ON || t == TOK_T_KEY; /* remi, perf, grid */
    }
    p->pitch = *mask;
    return TG_OK;
}

int sample_pick(const float *logits, const uint8_t *allowed, int V, const sample_params *p,
                tg_rng *rng, void *scratch)
{
    cand *c = scratch;
    int n = 0;
    for (int id = 0; id < V; id++)
        if (!allowed || allowed[id]) c[n++] = (cand){logits[id], id};
    if (n == 0) return -1;

    /* greedy: the largest logit, the lowest id among equals */
    if (p->temperature == 0.0f || n == 1) {
        int best = 0;
        for (int i = 1; i < n; i++)
            if (c[i].v > c[best].v) best = i;
        return c[best].id;
    }

    const float inv_t = 1.0f / p->temperature;
    for (int i = 0; i < n; i++) c[i].v *= inv_t;
    if (p->pitch_temperature > 0.0f && p->pitch) temper_pitches(c, n, logits, p);
    bool truncate = (p->top_k > 0 && p->top_k < n) || p->top_p < 1.0f;
    if (truncate) {
        qsort(c, (size_t)n, sizeof *c, cmp_cand);
        if (p->top_k > 0 && p->top_k < n) n = p->top_k;
    }
    float mx = c[0].v;
    for (int i = 1; i < n; i++) mx = c[i].v > mx ? c[i].v : mx;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        c[i].v = expf(c[i].v - mx);
        total += c[i].v;
    }
    if (!(total > 0.0) || !isfinite(total)) return c[0].id; /* NaN logits: no distribution */
    if (p->top_p < 1.0f) {
        /* the fewest most probable ids whose mass reaches top_p */
        double need = (double)p->top_p * total, cum = 0.0;
        int keep = 0;
        while (keep < n) {
            cum += c[keep++].v;
            if (cum >= need) break;
        }
        n = keep;
        total = cum;
    }
    double u = (double)tg_rng_float(rng) * total, cum = 0.0;
    for (int i = 0; i < n; i++) {
        cum += c[i].v;
        if (u < cum) return c[i].id;
    }
    return c[n - 1].id; /* rounding at the top end */
}

void sample_pool_logits(const float *logits, const uint8_t *pool, int into, int V, float *out)
{
    float mx = logits[into];
    for (int id = 0; id < V; id++)
        if (pool[id] && logits[id] > mx) mx = logits[id];
    double total = 0.0;
    for (int id = 0; id < V; id++) {
        out[id] = logits[id];
        if (id == into || pool[id]) {
            total += exp((double)logits[id] - mx);
            if (id != into) out[id] = -INFINITY;
        }
    }
    out[into] = isfinite(mx) ? (float)(mx + log(total)) : logits[into];
}
