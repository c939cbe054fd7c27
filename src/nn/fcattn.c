/*
 * fcattn.c: fine- and coarse-grained bar attention (Museformer's
 * FC-attention, Yu et al., NeurIPS 2022, https://arxiv.org/abs/2210.10349),
 * forward and backward over whole sequences, and the bar rule shared with
 * cached decoding (src/model/decode.c). The rule, the relative rows and the
 * shapes are in nn.h.
 *
 * The queries of one bar share their keys but for the causal part of their
 * own bar: the summaries of the far bars and the related bars in full. So
 * the kernel works bar by bar, in blocks of at most QB queries: it gathers
 * the block's keys and values into contiguous rows (the shared ones, then
 * the own bar up to the block's last query, so that each query's visible
 * keys are a prefix), and the logits, the relative term (q E^T, then read
 * at each pair's row), the weighted sum and every gradient are matrix
 * products on those rows. A step costs O(T * keys per query * D) and not
 * O(T^2 * D); with ~24 tokens a bar and the default distances a query has a
 * few hundred keys whatever T is. The opening Bar token of a bar, the
 * summary of the bar before, is a block of its own (its keys: that bar).
 *
 * Probabilities are not stored. The forward pass keeps each row's
 * log-sum-exp; the backward pass recomputes p_ij = exp(s_ij - lse_i) and
 * uses sum_j p_ij (dout_i . v_j) = dout_i . out_i (FlashAttention's
 * identity).
 *
 * Threads split the heads: a head's columns of dq, dk, dv and its table
 * rows are written by one thread only, in a fixed order, so results do not
 * depend on the thread count. Left out: a summary token of its own (the
 * opening Bar token serves, see nn.h), attention-probability dropout, a
 * bidirectional form (the discriminator keeps its own kinds).
 */
#include <math.h>
#include <string.h>

#include "nn.h"

/* Queries per block: bounds the logits' scratch at QB x T per head. */
enum { QB = 64 };
/* ------------------------------------------------------------------------ */
/* The bar rule */

void nn_fc_bars(int *bar, int *start, int *n_bars, const int *tokens, int T, int bar_token)
{
    int k = 0;
    start[0] = 0;
    for (int t = 0; t < T; t++) {
        if (tokens[t] == bar_token) start[++k] = t;
        bar[t] = k;
    }
    *n_bars = k + 1;
    start[k + 1] = T;
}

int nn_fc_rows(int near) { return near + NN_FC_BAR_ROWS; }

static const int *starts_of(const nn_fc_plan *p, int b, int T)
{
    return p->start + (size_t)b * (T + 2);
}

static bool related(const nn_fc_plan *p, int d)
{
    return d >= 1 && d <= NN_FC_MAX_DISTANCE && ((p->distances >> d) & 1u);
}

/* The Bar token opening bar J >= 1 is the summary of bar J-1. */
static bool is_summary(const int *st, int J, int i) { return J >= 1 && st[J] == i; }

int nn_fc_keys(const nn_fc_plan *p, int b, int T, int i, int *keys)
{
    const int *st = starts_of(p, b, T);
    const int J = p->bar[(size_t)b * T + i];
    int n = 0;
    if (is_summary(st, J, i)) {
        for (int j = st[J - 1]; j <= i; j++) keys[n++] = j;
        return n;
    }
    for (int k = 0; k < J; k++) {
        if (related(p, J - k)) {
            for (int j = st[k]; j < st[k + 1]; j++) keys[n++] = j;
        } else if (st[k] < st[k + 1]) {
            keys[n++] = st[k];
        }
    }
    for (int j = st[J]; j <= i; j++) keys[n++] = j;
    return n;
}

bool nn_fc_visible(const nn_fc_plan *p, int b, int T, int i, int j)
{
    if (j > i) return false;
    const int *st = starts_of(p, b, T);
    const int *bar = p->bar + (size_t)b * T;
    const int J = bar[i], K = bar[j];
    if (is_summary(st, J, i)) return j == i || K == J - 1;
    return K == J || related(p, J - K) || st[K] == j;
}

int nn_fc_rel_row(const nn_fc_plan *p, int b, int T, int i, int j)
{
    if (i - j < p->near) return i - j;
    const int *bar = p->bar + (size_t)b * T;
    int d = bar[i] - bar[j];
    return p->near + (d < NN_FC_BAR_ROWS - 1 ? d : NN_FC_BAR_ROWS - 1);
}

/* ------------------------------------------------------------------------ */
/* Forward and backward */

size_t nn_fc_scratch_floats(int T, int H, int D, int R)
{
    return (size_t)H * (4 * (size_t)T * D + 2 * (size_t)QB * T + 2 * (size_t)QB * R);
}

/* One head's work space (nn_fc_scratch_floats / H floats, T ints). */
typedef struct {
    int *keys;                 /* (T) the block's keys: shared ones, then the own bar */
    float *kg, *vg, *dkg, *dvg; /* (T,D) gathered keys, values and their gradients */
    float *s, *ds;             /* (QB,T) logits / probabilities, their gradient */
    float *qe, *dqe;           /* (QB,R) q E^T and its gradient */
} head_work;

static head_work work_of(int *keys, float *scratch, int h, int T, int H, int D, int R)
{
    float *w = scratch + (size_t)h * (nn_fc_scratch_floats(T, H, D, R) / H);
    const size_t TD = (size_t)T * D;
    head_work hw = {keys + (size_t)h * T, w, w + TD, w + 2 * TD, w + 3 * TD, w + 4 * TD,
                    w + 4 * TD + (size_t)QB * T, w + 4 * TD + 2 * (size_t)QB * T,
                    w + 4 * TD + 2 * (size_t)QB * T + (size_t)QB * R};
    return hw;
}

/* A block: queries [i0,i1) of sequence b; keys: n_shared seen by all, then
 * the own positions o0..i1-1, of which query i sees those <= i. */
typedef struct {
    int b, i0, i1, o0, n_shared, nk;
} block;

/* The shared keys of the non-summary queries of bar J (nn_fc_keys without
 * the own bar) into keys; returns how many. */
static int shared_keys(const nn_fc_plan *p, const int *st, int J, int *keys)
{
    int n = 0;
    for (int k = 0; k < J; k++) {
        if (related(p, J - k)) {
            for (int j = st[k]; j < st[k + 1]; j++) keys[n++] = j;
        } else if (st[k] < st[k + 1]) {
            keys[n++] = st[k];
        }
    }
    return n;
}

static int visible_count(const block *bk, int i) { return bk->n_shared + (i - bk->o0 + 1); }

/* Gathers the block's keys and values (head h) into kg, vg. */
static void gather(const head_work *w, const block *bk, const float *base, int C, int D)
{
    const int s3 = 3 * C;
    for (int c = 0; c < bk->nk; c++) {
        const float *row = base + (size_t)w->keys[c] * s3;
        memcpy(w->kg + (size_t)c * D, row + C, (size_t)D * sizeof(float));
        memcpy(w->vg + (size_t)c * D, row + 2 * C, (size_t)D * sizeof(float));
    }
}

/* s (nq,nk) = the scaled-less logits q k^T + q E[row], visible entries only
 * meaningful; qe (nq,R) = q E^T on the way. */
static void block_logits(const head_work *w, const block *bk, const float *base, const float *e,
                         const nn_fc_plan *p, int T, int C, int D, int R)
{
    const int s3 = 3 * C, nq = bk->i1 - bk->i0, nk = bk->nk;
    const float *q = base + (size_t)bk->i0 * s3;
    nn_matmul_local(0, 1, nq, nk, D, 1.0f, q, s3, w->kg, D, 0.0f, w->s, nk);
    nn_matmul_local(0, 1, nq, R, D, 1.0f, q, s3, e, D, 0.0f, w->qe, R);
    for (int r = 0; r < nq; r++) {
        const int i = bk->i0 + r, n = visible_count(bk, i);
        float *srow = w->s + (size_t)r * nk;
        const float *qe = w->qe + (size_t)r * R;
        for (int c = 0; c < n; c++) srow[c] += qe[nn_fc_rel_row(p, bk->b, T, i, w->keys[c])];
    }
}

static void block_forward(const head_work *w, const block *bk, float *out, float *lse,
                          const float *base, const float *e, const nn_fc_plan *p, int T, int C,
                          int H, int h, int D, int R, float scale)
{
    const int nq = bk->i1 - bk->i0, nk = bk->nk;
    gather(w, bk, base, C, D);
    block_logits(w, bk, base, e, p, T, C, D, R);
    for (int r = 0; r < nq; r++) {
        const int i = bk->i0 + r, n = visible_count(bk, i);
        float *srow = w->s + (size_t)r * nk;
        float mx = -INFINITY, sum = 0.0f;
        for (int c = 0; c < n; c++) mx = srow[c] > mx ? srow[c] : mx;
        for (int c = 0; c < n; c++) {
            srow[c] = nn_expf_fast((srow[c] - mx) * scale);
            sum += srow[c];
        }
        const float inv = 1.0f / sum;
        for (int c = 0; c < n; c++) srow[c] *= inv;
        for (int c = n; c < nk; c++) srow[c] = 0.0f;
        lse[((size_t)bk->b * H + h) * T + i] = mx * scale + logf(sum);
    }
    /* out (nq,D) of head h = p vg */
    nn_matmul_local(0, 0, nq, D, nk, 1.0f, w->s, nk, w->vg, D, 0.0f,
                    out + ((size_t)bk->b * T + bk->i0) * C + (size_t)h * D, C);
}

static void block_backward(const head_work *w, const block *bk, float *dbase, float *de,
                           const float *dout, const float *out, const float *lse,
                           const float *base, const float *e, const nn_fc_plan *p, int T, int C,
                           int H, int h, int D, int R, float scale)
{
    const int s3 = 3 * C, nq = bk->i1 - bk->i0, nk = bk->nk;
    const size_t orow = ((size_t)bk->b * T + bk->i0) * C + (size_t)h * D;
    const float *q = base + (size_t)bk->i0 * s3;
    gather(w, bk, base, C, D);
    block_logits(w, bk, base, e, p, T, C, D, R);
    for (int r = 0; r < nq; r++) { /* the probabilities again, from the log-sum-exp */
        const int i = bk->i0 + r, n = visible_count(bk, i);
        const float l = lse[((size_t)bk->b * H + h) * T + i];
        float *srow = w->s + (size_t)r * nk;
        for (int c = 0; c < n; c++) srow[c] = nn_expf_fast(srow[c] * scale - l);
        for (int c = n; c < nk; c++) srow[c] = 0.0f;
    }
    /* ds = dout vg^T (the probabilities' gradient); dvg = p^T dout */
    nn_matmul_local(0, 1, nq, nk, D, 1.0f, dout + orow, C, w->vg, D, 0.0f, w->ds, nk);
    nn_matmul_local(1, 0, nk, D, nq, 1.0f, w->s, nk, dout + orow, C, 0.0f, w->dvg, D);
    /* softmax backward: ds = p (ds - dout.out) scale; the table's part into dqe */
    memset(w->dqe, 0, (size_t)nq * R * sizeof(float));
    for (int r = 0; r < nq; r++) {
        const int i = bk->i0 + r, n = visible_count(bk, i);
        const float *d_o = dout + orow + (size_t)r * C, *o = out + orow + (size_t)r * C;
        float delta = 0.0f;
        for (int d = 0; d < D; d++) delta += d_o[d] * o[d];
        const float *prow = w->s + (size_t)r * nk;
        float *dsrow = w->ds + (size_t)r * nk, *dqe = w->dqe + (size_t)r * R;
        for (int c = 0; c < n; c++) {
            dsrow[c] = prow[c] * (dsrow[c] - delta) * scale;
            dqe[nn_fc_rel_row(p, bk->b, T, i, w->keys[c])] += dsrow[c];
        }
        for (int c = n; c < nk; c++) dsrow[c] = 0.0f;
    }
    float *dq = dbase + (size_t)bk->i0 * s3;
    nn_matmul_local(0, 0, nq, D, nk, 1.0f, w->ds, nk, w->kg, D, 1.0f, dq, s3);  /* dq += ds kg */
    nn_matmul_local(0, 0, nq, D, R, 1.0f, w->dqe, R, e, D, 1.0f, dq, s3);       /* dq += dqe E */
    nn_matmul_local(1, 0, R, D, nq, 1.0f, w->dqe, R, q, s3, 1.0f, de, D);        /* dE += dqe^T q */
    nn_matmul_local(1, 0, nk, D, nq, 1.0f, w->ds, nk, q, s3, 0.0f, w->dkg, D);   /* dkg = ds^T q */
    for (int c = 0; c < nk; c++) { /* scatter into dk, dv */
        float *dk = dbase + (size_t)w->keys[c] * s3 + C, *dv = dk + C;
        const float *gk = w->dkg + (size_t)c * D, *gv = w->dvg + (size_t)c * D;
        for (int d = 0; d < D; d++) {
            dk[d] += gk[d];
            dv[d] += gv[d];
        }
    }
}

/* Calls fn on every block of sequence b (the same order in forward and
 * backward), with the block's keys in w->keys. */
typedef void (*block_fn)(const head_work *w, const block *bk, void *ctx);

static void for_each_block(const head_work *w, const nn_fc_plan *p, int b, int T, block_fn fn,
                           void *ctx)
{
    const int *st = starts_of(p, b, T);
    const int nb = p->n_bars[b];
    for (int J = 0; J < nb; J++) {
        int q0 = st[J];
        const int end = st[J + 1];
        if (q0 == end) continue; /* an empty bar 0 */
        if (J >= 1) { /* the summary: keys bar J-1 and itself */
            block bk = {b, q0, q0 + 1, q0, 0, 0};
            for (int j = st[J - 1]; j <= q0; j++) w->keys[bk.nk++] = j;
            bk.n_shared = bk.nk - 1;
            fn(w, &bk, ctx);
            q0++;
        }
        if (q0 == end) continue;
        const int ns = shared_keys(p, st, J, w->keys);
        for (int i0 = q0; i0 < end; i0 += QB) {
            block bk = {b, i0, i0 + QB < end ? i0 + QB : end, st[J], ns, ns};
            for (int j = st[J]; j < bk.i1; j++) w->keys[bk.nk++] = j;
            fn(w, &bk, ctx);
        }
    }
}

typedef struct {
    float *out, *lse, *dqkv, *drel;
    const float *qkv, *rel, *dout, *fout, *flse;
    const nn_fc_plan *p;
    int T, C, H, h, D, R;
    float scale;
} pass;

static void forward_block(const head_work *w, const block *bk, void *ctx)
{
    pass *x = ctx;
    const float *base = x->qkv + (size_t)bk->b * x->T * 3 * x->C + (size_t)x->h * x->D;
    block_forward(w, bk, x->out, x->lse, base, x->rel + (size_t)x->h * x->R * x->D, x->p, x->T,
                  x->C, x->H, x->h, x->D, x->R, x->scale);
}

static void backward_block(const head_work *w, const block *bk, void *ctx)
{
    pass *x = ctx;
    const size_t off = (size_t)bk->b * x->T * 3 * x->C + (size_t)x->h * x->D;
    block_backward(w, bk, x->dqkv + off, x->drel + (size_t)x->h * x->R * x->D, x->dout, x->fout,
                   x->flse, x->qkv + off, x->rel + (size_t)x->h * x->R * x->D, x->p, x->T, x->C,
                   x->H, x->h, x->D, x->R, x->scale);
}

/* Every head (in parallel) of every sequence, block by block, with fn and
 * the pass x (its head, sizes and scale filled in here). */
static void each_head(int *keys, float *scratch, const nn_fc_plan *p, int B, int T, int C, int H, pass x,
                      block_fn fn)
{
    TG_ASSERT_OP(C % H, ==, 0);
    const int D = C / H, R = nn_fc_rows(p->near);
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int h = 0; h < H; h++) {
        const head_work w = work_of(keys, scratch, h, T, H, D, R);
        pass xh = x;
        xh.p = p, xh.T = T, xh.C = C, xh.H = H, xh.h = h, xh.D = D, xh.R = R;
        xh.scale = 1.0f / sqrtf((float)D);
        for (int b = 0; b < B; b++) for_each_block(&w, p, b, T, fn, &xh);
    }
}

void nn_fc_attention_forward(float *out, float *lse, int *keys, float *scratch, const float *qkv,
                             const float *rel, const nn_fc_plan *p, int B, int T, int C, int H)
{
    const pass x = {.out = out, .lse = lse, .qkv = qkv, .rel = rel};
    each_head(keys, scratch, p, B, T, C, H, x, forward_block);
}

void nn_fc_attention_backward(float *dqkv, float *drel, int *keys, float *scratch,
                              const float *dout, const float *qkv, const float *rel,
                              const float *out, const float *lse, const nn_fc_plan *p, int B,
                              int T, int C, int H)
{
    const pass x = {.dqkv = dqkv, .drel = drel, .qkv = qkv, .rel = rel, .dout = dout, .fout = out, .flse = lse};
    each_head(keys, scratch, p, B, T, C, H, x, backward_block);
}
