/*
 * loop.c: the one batch-sampling loop. Generation (generate.c), SeqGAN's
 * negatives and its Monte-Carlo rollouts (src/train) all decode a batch of
 * sequences the same way: every step picks one token per running sequence
 * from its logits (its allowed ids, the sampling controls, its own random
 * stream), asks the caller's policy whether the sequence goes on, and feeds
 * the tokens of those that do through the cached forward pass
 * (model_decode). The policy (sample_loop's hooks) is the caller's: the
 * grammar mask and the stopping rules of generate, the fixed length of a
 * SeqGAN batch.
 *
 * A policy may also recheck a draw (a constraint that needs the token drawn,
 * as fill.c's voice leading): the loop then draws once more from the
 * narrower set it gives (rejection sampling). And it may pool several ids'
 * probability into one before the draw (fill.c: any token that ends a
 * segment counts as the one the plan puts there).
 *
 * A stopped sequence either leaves the cache (drop_stopped: the others go on
 * at the cost of their own number) or stays in it and is fed PAD (fixed
 * shapes: every step computes the same rows, as SeqGAN's batches do). With a
 * window (keep > 0), the loop keeps each sequence's tokens and, when the
 * cache is full, encodes the newest `keep` again from position 0 before the
 * next token (sample.h).
 *
 * Left out: refilling freed rows with new sequences; sliding the window of
 * each sequence apart (all slide at once).
 */
#include <stdlib.h>
#include <string.h>

#include "sample.h"

/* The loop's working memory for B rows. */
typedef struct {
    int B, V, T_ctx;
    uint8_t *mask;      /* (V) */
    uint8_t *pool;      /* (V) the policy's pooled ids */
    float *pooled;      /* (V) a row's logits with the pool's mass moved */
    void *scratch;      /* sample_pick's */
    int *slot;          /* (B) cache row j holds sequence slot[j] */
    int *keep_slot;     /* (B) */
    int *next;          /* (B) the token each cache row feeds next */
    uint8_t *running;   /* (B) by cache row: not stopped */
    int *hist, *feed;   /* (B,T_ctx) each: the cache's tokens and a feed (with a window) */
} loop_work;

static void work_free(loop_work *w)
{
    free(w->mask), free(w->pool), free(w->pooled), free(w->scratch), free(w->slot), free(w->keep_slot), free(w->next);
    free(w->running), free(w->hist), free(w->feed);
}

static tg_status work_alloc(loop_work *w, int B, int V, int T_ctx, bool window)
{
    memset(w, 0, sizeof *w);
    w->B = B, w->V = V, w->T_ctx = T_ctx;
    w->mask = malloc((size_t)V);
    w->pool = malloc((size_t)V);
    w->pooled = malloc((size_t)V * sizeof(float));
    w->scratch = malloc(sample_pick_scratch_bytes(V));
    w->slot = malloc((size_t)B * sizeof(int));
    w->keep_slot = malloc((size_t)B * sizeof(int));
    w->next = malloc((size_t)B * sizeof(int));
    w->running = malloc((size_t)B);
    if (window) {
        w->hist = malloc((size_t)B * T_ctx * sizeof(int));
        w->feed = malloc((size_t)B * T_ctx * sizeof(int));
    }
    if (!w->mask || !w->pool || !w->pooled || !w->scratch || !w->slot || !w->keep_slot || !w->next || !w->running ||
        (window && (!w->hist || !w->feed))) {
        work_free(w);
        return TG_ERR_NOMEM;
    }
    return TG_OK;
}

/* One step's picks: each running cache row draws a token and the policy
 * rules on it. Returns how many rows go on (listed in keep_slot). */
static int pick_all(const sample_loop *lp, loop_work *w, const float *logits, int n_act)
{
    int n_keep = 0;
    for (int j = 0; j < n_act; j++) {
        if (!w->running[j]) continue;
        const int row = w->slot[j];
        const float *row_logits = logits + (size_t)j * w->V;
        const int into = lp->pooled ? lp->pooled(lp->user, row, memset(w->pool, 0, (size_t)w->V)) : -1;
        if (into >= 0) {
            sample_pool_logits(row_logits, w->pool, into, w->V, w->pooled);
            row_logits = w->pooled;
        }
        const uint8_t *allowed = lp->allowed ? lp->allowed(lp->user, row, w->mask) : NULL;
        int id = sample_pick(row_logits, allowed, w->V, &lp->params, lp->rng(lp->user, row), w->scratch);
        const uint8_t *narrower = id >= 0 && lp->recheck ? lp->recheck(lp->user, row, id, w->mask) : NULL;
        if (narrower)
            id = sample_pick(row_logits, narrower, w->V, &lp->params, lp->rng(lp->user, row), w->scratch);
        if (lp->took(lp->user, row, id) == SAMPLE_STOP) {
            w->running[j] = 0;
            continue;
        }
        w->next[j] = id;
        w->keep_slot[n_keep++] = j;
    }
    return n_keep;
}

/* Stopped rows leave the cache (and the history). */
static void drop_stopped(model_cache *s, loop_work *w, int n_keep, int n_hist)
{
    model_cache_keep_rows(s, w->keep_slot, n_keep);
    for (int j = 0; j < n_keep; j++) {
        const int from = w->keep_slot[j];
        w->slot[j] = w->slot[from];
        w->next[j] = w->next[from];
        w->running[j] = 1;
        if (w->hist && from != j)
            memcpy(w->hist + (size_t)j * w->T_ctx, w->hist + (size_t)from * w->T_ctx,
                   (size_t)n_hist * sizeof(int));
    }
}

/* The cache is full: the newest keep tokens of every row again from position 0. */
static int slide(model_cache *s, loop_work *w, int n_act, int keep)
{
    for (int j = 0; j < n_act; j++) {
        int *h = w->hist + (size_t)j * w->T_ctx;
        memmove(h, h + (w->T_ctx - keep), (size_t)keep * sizeof(int));
    }
    model_cache_reset(s, n_act);
    return keep;
}

tg_status sample_loop_run(model_cache *s, const sample_loop *lp, int B, const int *prefix,
                          int plen, const uint8_t *stopped, float *logits, int *slides)
{
    const tg_model *model = model_cache_model(s);
    const int V = model_get_config(model)->vocab_size, T_ctx = model_get_config(model)->context;
    const bool window = lp->keep > 0;
    TG_ASSERT(!window || prefix);        /* the history starts with the prefix */
    TG_ASSERT(!stopped || !lp->drop_stopped);
    loop_work w;
    tg_status st = work_alloc(&w, B, V, T_ctx, window);
    if (st != TG_OK) return st;
    int n_act = B, n_hist = prefix ? plen : model_cache_len(s);
    for (int j = 0; j < B; j++) {
        w.slot[j] = j;
        w.running[j] = stopped ? !stopped[j] : 1;
        if (window) memcpy(w.hist + (size_t)j * T_ctx, prefix + (size_t)j * plen, (size_t)plen * sizeof(int));
    }
    if (prefix) {
        model_cache_reset(s, B);
        model_decode(s, prefix, plen, logits);
    }
    for (;;) {
        const int n_keep = pick_all(lp, &w, logits, n_act);
        if (n_keep == 0) break;
        if (lp->drop_stopped && n_keep < n_act) {
            drop_stopped(s, &w, n_keep, n_hist);
            n_act = n_keep;
        }
        for (int j = 0; j < n_act; j++)
            if (!w.running[j]) w.next[j] = TOK_PAD; /* fixed shapes: a stopped row is fed PAD */
        if (!window) {
            TG_ASSERT_OP(n_hist, <, T_ctx);
            model_decode(s, w.next, 1, logits);
            n_hist++;
            continue;
        }
        if (n_hist == T_ctx) {
            n_hist = slide(s, &w, n_act, lp->keep);
            if (slides) (*slides)++;
        }
        for (int j = 0; j < n_act; j++) w.hist[(size_t)j * T_ctx + n_hist] = w.next[j];
        n_hist++;
        const int n_new = n_hist - model_cache_len(s);
        for (int j = 0; j < n_act; j++)
            memcpy(w.feed + (size_t)j * n_new, w.hist + (size_t)j * T_ctx + (n_hist - n_new),
                   (size_t)n_new * sizeof(int));
        model_decode(s, w.feed, n_new, logits);
    }
    work_free(&w);
    return TG_OK;
}

tg_status sample_buffers_open(const tg_model *model, int max_batch, size_t plen, sample_buffers *b)
{
    memset(b, 0, sizeof *b);
    b->max_batch = max_batch;
    const int V = model_get_config(model)->vocab_size;
    tg_status st = model_cache_create(model, max_batch, 0, &b->cache);
    b->logits = malloc((size_t)max_batch * V * sizeof(float));
    b->prefixes = malloc((size_t)max_batch * plen * sizeof(int));
    if (st == TG_OK && (!b->logits || !b->prefixes)) st = TG_ERR_NOMEM;
    if (st != TG_OK) sample_buffers_close(b);
    return st;
}

void sample_buffers_close(sample_buffers *b)
{
    free(b->logits);
    free(b->prefixes);
    model_cache_free(b->cache);
    memset(b, 0, sizeof *b);
}

void sample_row_seed(tg_rng *rng, uint64_t seed, int i)
{
    tg_rng_seed(rng, seed ^ (0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1)));
}
