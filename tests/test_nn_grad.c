/*
 * test_nn_grad.c: every backward pass of the nn kernels against central finite
 * differences, on tiny shapes (B=2, T=5, C=8, H=2, V=11).
 *
 * Method (after ggml's tests/test-backend-ops.cpp): the loss is
 * L = sum(out * w) with fixed random weights w, accumulated in double, so the
 * backward pass is called with dout = w. Every element of every input and
 * parameter is perturbed (the tensors here are at most a few hundred
 * elements; larger ones would take a random subset of 100). The numerical
 * derivative is the Richardson extrapolation (4 D(h/2) - D(h)) / 3 of two
 * central differences D with steps h = 0.1 and 0.05, whose truncation error
 * is O(h^4): the forward passes run in float, and a step this large keeps
 * their rounding noise (~1e-7 of L) small next to the difference; each step
 * is the difference of the float values actually stored. The error of one
 * element is
 *     |analytic - numeric| / max(|analytic|, |numeric|, 1e-2 * max|analytic|)
 * (the floor keeps elements whose gradient is tiny next to the tensor's from
 * counting float noise as relative error); the worst over the tensor must stay
 * under 2e-3; it is typically 1e-4 and at most about 6e-4. No kernel has a kink: GELU is the tanh
 * form and masks are fixed, so no element needs special care near a
 * non-smooth point.
 *
 * Each backward is also called a second time without zeroing: the gradients
 * must double (backward adds). The cross-entropy backward is the documented
 * exception, it writes dlogits: called twice it gives the same.
 */
#include "nn/nn.h"
#include "test.h"

enum { B = 2, T = 5, C = 8, H = 2, V = 11, OC = 12, TMAX = 7 };

/* The larger of the two steps of the extrapolated difference (see richardson) */
#define FD_STEP 0.1
/* The largest relative error accepted (see the top of the file) */
#define FD_TOL 2e-3

#define MAXT 4

typedef struct {
    const char *name;
    float *x; /* the values perturbed */
    float *g; /* the analytic gradient, filled by the backward pass */
    size_t n;
} tensor_ref;

typedef struct ctx ctx;
struct ctx {
    const char *name;
    double (*forward)(ctx *); /* returns L */
    void (*backward)(ctx *);  /* forward for the saved buffers, then backward (adds into g) */
    int writes;               /* backward writes its gradient instead of adding */
    tensor_ref t[MAXT];
    int nt;
    /* kernel state, as each case needs */
    int causal, R, with_bias, weighted;
    float p;
    float *out, *lw;
    size_t nout;
    float *a, *b, *w, *bias, *wpe, *rel;
    float *da, *db, *dw, *dbias, *dwpe, *drel;
    float *mean, *rstd, *att, *scratch;
    uint8_t *mask;
    int *tokens, *lengths, *targets;
};

static tg_rng rng_data; /* inputs and weights */

static float *randn_buf(size_t n, float scale)
{
    float *x = malloc((n ? n : 1) * sizeof *x);
    for (size_t i = 0; i < n; i++) x[i] = scale * (2.0f * tg_rng_float(&rng_data) - 1.0f);
    return x;
}

static float *zeros(size_t n) { return calloc(n ? n : 1, sizeof(float)); }

static double weighted_sum(const float *out, const float *w, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)out[i] * w[i];
    return s;
}

/* ------------------------------------------------------------------------ */
/* The checker */

static double worst_overall;

/* Central difference with step h, using the float values actually stored. */
static double central(ctx *c, float *x, double h)
{
    float x0 = *x;
    float xp = (float)(x0 + h), xm = (float)(x0 - h);
    *x = xp;
    double lp = c->forward(c);
    *x = xm;
    double lm = c->forward(c);
    *x = x0;
    return (lp - lm) / ((double)xp - (double)xm);
}

/* Richardson extrapolation of two central differences, (4 D(h/2) - D(h)) / 3:
 * the h^2 term of the truncation error cancels, leaving h^4, so a step large
 * enough to keep float noise small is also accurate. */
static double richardson(ctx *c, float *x, double h)
{
    return (4.0 * central(c, x, h / 2) - central(c, x, h)) / 3.0;
}

static double fd_tensor(ctx *c, tensor_ref *t, const float *analytic, double eps)
{
    double maxabs = 0;
    for (size_t i = 0; i < t->n; i++) maxabs = fmax(maxabs, fabs(analytic[i]));
    double floor = fmax(1e-2 * maxabs, 1e-7);
    size_t count = t->n <= 400 ? t->n : 100;
    double worst = 0;
    size_t worst_i = 0;
    double worst_a = 0, worst_n = 0;
    for (size_t s = 0; s < count; s++) {
        size_t i = t->n <= 400 ? s : tg_rng_below(&rng_data, (uint32_t)t->n);
        double num = richardson(c, &t->x[i], eps);
        double a = analytic[i];
        double err = fabs(a - num) / fmax(fmax(fabs(a), fabs(num)), floor);
        if (err > worst) {
            worst = err;
            worst_i = i;
            worst_a = a;
            worst_n = num;
        }
    }
    printf("  %-34s %-5s %4zu elements, worst relative error %.2e (at %zu: %.6g vs %.6g)\n",
           c->name, t->name, count, worst, worst_i, worst_a, worst_n);
    return worst;
}

static void run_case(ctx *c, double eps)
{
    float *g1[MAXT];
    for (int k = 0; k < c->nt; k++) memset(c->t[k].g, 0, c->t[k].n * sizeof(float));
    c->backward(c);
    for (int k = 0; k < c->nt; k++) {
        g1[k] = malloc(c->t[k].n * sizeof(float));
        memcpy(g1[k], c->t[k].g, c->t[k].n * sizeof(float));
    }
    for (int k = 0; k < c->nt; k++) {
        double w = fd_tensor(c, &c->t[k], g1[k], eps);
        if (!(w < FD_TOL))
            TEST_FAIL_("%s: gradient of %s: worst relative error %.3g", c->name, c->t[k].name, w);
        test_checks_++;
        worst_overall = fmax(worst_overall, w);
    }
    /* a second call adds the same again (or, for a writing backward, repeats) */
    c->backward(c);
    for (int k = 0; k < c->nt; k++) {
        double worst = 0;
        for (size_t i = 0; i < c->t[k].n; i++) {
            double want = c->writes ? g1[k][i] : 2.0 * g1[k][i];
            worst = fmax(worst, fabs(c->t[k].g[i] - want) / fmax(1e-6, fabs(want)));
        }
        if (!(worst < 1e-6))
            TEST_FAIL_("%s: second backward call: %s is off by %.3g (%s)", c->name, c->t[k].name,
                       worst, c->writes ? "should repeat" : "should double");
        test_checks_++;
        free(g1[k]);
    }
}

/* ------------------------------------------------------------------------ */
/* Embedding: d wte, d wpe */

static double emb_fwd(ctx *c)
{
    nn_embedding_forward(c->out, c->tokens, c->w, c->wpe, B, T, C, V);
    return weighted_sum(c->out, c->lw, c->nout);
}
static void emb_bwd(ctx *c)
{
    emb_fwd(c);
    nn_embedding_backward(c->dw, c->dwpe, c->lw, c->tokens, B, T, C, V);
}

static void test_embedding(int with_wpe)
{
    ctx c = {.name = with_wpe ? "embedding + position" : "embedding", .forward = emb_fwd,
             .backward = emb_bwd};
    c.nout = (size_t)B * T * C;
    c.out = zeros(c.nout);
    c.lw = randn_buf(c.nout, 1.0f);
    c.w = randn_buf((size_t)V * C, 1.0f);
    c.dw = zeros((size_t)V * C);
    c.tokens = malloc(sizeof(int) * B * T);
    /* repeated tokens, so rows add up */
    for (int i = 0; i < B * T; i++) c.tokens[i] = (i * 7) % 4 + (i == 3 ? 9 : 0);
    c.t[c.nt++] = (tensor_ref){"wte", c.w, c.dw, (size_t)V * C};
    if (with_wpe) {
        c.wpe = randn_buf((size_t)TMAX * C, 1.0f);
        c.dwpe = zeros((size_t)TMAX * C);
        c.t[c.nt++] = (tensor_ref){"wpe", c.wpe, c.dwpe, (size_t)TMAX * C};
    }
    run_case(&c, FD_STEP);
    /* rows of wpe past T get nothing */
    if (with_wpe)
        for (int i = T * C; i < TMAX * C; i++) CHECK(c.dwpe[i] == 0.0f);
    free(c.out);
    free(c.lw);
    free(c.w);
    free(c.dw);
    free(c.tokens);
    free(c.wpe);
    free(c.dwpe);
}

/* ------------------------------------------------------------------------ */
/* LayerNorm: d inp, d weight, d bias */

static double ln_fwd(ctx *c)
{
    nn_layernorm_forward(c->out, c->mean, c->rstd, c->a, c->w, c->bias, B, T, C);
    return weighted_sum(c->out, c->lw, c->nout);
}
static void ln_bwd(ctx *c)
{
    ln_fwd(c);
    nn_layernorm_backward(c->da, c->dw, c->dbias, c->lw, c->a, c->w, c->mean, c->rstd, B, T, C);
}

static void test_layernorm(void)
{
    ctx c = {.name = "layernorm", .forward = ln_fwd, .backward = ln_bwd};
    c.nout = (size_t)B * T * C;
    c.out = zeros(c.nout);
    c.lw = randn_buf(c.nout, 1.0f);
    c.a = randn_buf(c.nout, 2.0f);
    c.w = randn_buf(C, 1.5f);
    c.bias = randn_buf(C, 1.0f);
    c.da = zeros(c.nout);
    c.dw = zeros(C);
    c.dbias = zeros(C);
    c.mean = zeros(B * T);
    c.rstd = zeros(B * T);
    c.t[c.nt++] = (tensor_ref){"inp", c.a, c.da, c.nout};
    c.t[c.nt++] = (tensor_ref){"w", c.w, c.dw, C};
    c.t[c.nt++] = (tensor_ref){"bias", c.bias, c.dbias, C};
    run_case(&c, FD_STEP);
    free(c.out);
    free(c.lw);
    free(c.a);
    free(c.w);
    free(c.bias);
    free(c.da);
    free(c.dw);
    free(c.dbias);
    free(c.mean);
    free(c.rstd);
}

/* ------------------------------------------------------------------------ */
/* Linear: d inp, d w, d bias */

static double lin_fwd(ctx *c)
{
    nn_linear_forward(c->out, c->a, c->w, c->with_bias ? c->bias : NULL, B, T, C, OC);
    return weighted_sum(c->out, c->lw, c->nout);
}
static void lin_bwd(ctx *c)
{
    lin_fwd(c);
    nn_linear_backward(c->da, c->dw, c->with_bias ? c->dbias : NULL, c->lw, c->a, c->w, B, T, C,
                       OC);
}

static void test_linear(int with_bias)
{
    ctx c = {.name = with_bias ? "linear" : "linear without bias", .forward = lin_fwd,
             .backward = lin_bwd, .with_bias = with_bias};
    c.nout = (size_t)B * T * OC;
    c.out = zeros(c.nout);
    c.lw = randn_buf(c.nout, 1.0f);
    c.a = randn_buf((size_t)B * T * C, 1.0f);
    c.w = randn_buf((size_t)OC * C, 1.0f);
    c.bias = randn_buf(OC, 1.0f);
    c.da = zeros((size_t)B * T * C);
    c.dw = zeros((size_t)OC * C);
    c.dbias = zeros(OC);
    c.t[c.nt++] = (tensor_ref){"inp", c.a, c.da, (size_t)B * T * C};
    c.t[c.nt++] = (tensor_ref){"w", c.w, c.dw, (size_t)OC * C};
    if (with_bias) c.t[c.nt++] = (tensor_ref){"bias", c.bias, c.dbias, OC};
    run_case(&c, FD_STEP);
    free(c.out);
    free(c.lw);
    free(c.a);
    free(c.w);
    free(c.bias);
    free(c.da);
    free(c.dw);
    free(c.dbias);
}

/* ------------------------------------------------------------------------ */
/* Elementwise: GELU, residual, dropout */

static double gelu_fwd(ctx *c)
{
    nn_gelu_forward(c->out, c->a, c->nout);
    return weighted_sum(c->out, c->lw, c->nout);
}
static void gelu_bwd(ctx *c) { nn_gelu_backward(c->da, c->lw, c->a, c->nout); }

static double res_fwd(ctx *c)
{
    nn_residual_forward(c->out, c->a, c->b, c->nout);
    return weighted_sum(c->out, c->lw, c->nout);
}
static void res_bwd(ctx *c) { nn_residual_backward(c->da, c->db, c->lw, c->nout); }

static double drop_fwd(ctx *c)
{
    tg_rng r;
    tg_rng_seed(&r, 1234); /* the same mask every call */
    nn_dropout_forward(c->out, c->mask, c->a, c->p, &r, c->nout);
    return weighted_sum(c->out, c->lw, c->nout);
}
static void drop_bwd(ctx *c)
{
    drop_fwd(c);
    nn_dropout_backward(c->da, c->lw, c->mask, c->p, c->nout);
}

static void test_elementwise(void)
{
    size_t n = (size_t)B * T * C;
    ctx g = {.name = "gelu", .forward = gelu_fwd, .backward = gelu_bwd, .nout = n};
    g.out = zeros(n);
    g.lw = randn_buf(n, 1.0f);
    g.a = randn_buf(n, 3.0f); /* well into both tails */
    g.da = zeros(n);
    g.t[g.nt++] = (tensor_ref){"inp", g.a, g.da, n};
    run_case(&g, FD_STEP);

    ctx r = {.name = "residual", .forward = res_fwd, .backward = res_bwd, .nout = n};
    r.out = g.out;
    r.lw = g.lw;
    r.a = randn_buf(n, 1.0f);
    r.b = randn_buf(n, 1.0f);
    r.da = zeros(n);
    r.db = zeros(n);
    r.t[r.nt++] = (tensor_ref){"inp1", r.a, r.da, n};
    r.t[r.nt++] = (tensor_ref){"inp2", r.b, r.db, n};
    run_case(&r, FD_STEP);

    ctx d = {.name = "dropout p=0.3, fixed mask", .forward = drop_fwd, .backward = drop_bwd,
             .nout = n, .p = 0.3f};
    d.out = g.out;
    d.lw = g.lw;
    d.a = r.a;
    d.da = zeros(n);
    d.mask = malloc(n);
    d.t[d.nt++] = (tensor_ref){"inp", d.a, d.da, n};
    run_case(&d, FD_STEP);
    int dropped = 0;
    for (size_t i = 0; i < n; i++) dropped += !d.mask[i];
    CHECK(dropped > 0 && dropped < (int)n); /* the mask really drops some */

    free(g.out);
    free(g.lw);
    free(g.a);
    free(g.da);
    free(r.a);
    free(r.b);
    free(r.da);
    free(r.db);
    free(d.da);
    free(d.mask);
}

/* ------------------------------------------------------------------------ */
/* Attention: d qkv and d rel */

static double att_fwd(ctx *c)
{
    nn_attention_forward(c->out, c->att, c->scratch, c->a, c->rel, c->lengths, B, T, C, H, c->R,
                         c->causal);
    return weighted_sum(c->out, c->lw, c->nout);
}
static void att_bwd(ctx *c)
{
    att_fwd(c);
    nn_attention_backward(c->da, c->drel, c->scratch, c->lw, c->a, c->rel, c->att, c->lengths, B,
                          T, C, H, c->R, c->causal);
}

static void test_attention(int causal, int with_rel, int padded)
{
    static char name[80];
    snprintf(name, sizeof name, "attention %s%s%s", causal ? "causal" : "bidirectional",
             with_rel ? " relative (skewed)" : "", padded ? " padded" : "");
    ctx c = {.name = name, .forward = att_fwd, .backward = att_bwd, .causal = causal};
    static int lengths[B] = {T, 3};
    size_t nq = (size_t)B * T * 3 * C;
    c.nout = (size_t)B * T * C;
    c.R = causal ? TMAX : 2 * TMAX - 1; /* a table longer than T: rows around distance 0 */
    size_t nr = (size_t)H * c.R * (C / H);
    c.out = zeros(c.nout);
    c.lw = randn_buf(c.nout, 1.0f);
    c.a = randn_buf(nq, 1.0f);
    c.da = zeros(nq);
    c.att = zeros((size_t)B * H * T * T);
    c.scratch = zeros(nn_attention_scratch_floats(B, T, H, with_rel, causal));
    c.lengths = padded ? lengths : NULL;
    c.t[c.nt++] = (tensor_ref){"qkv", c.a, c.da, nq};
    if (with_rel) {
        c.rel = randn_buf(nr, 1.0f);
        c.drel = zeros(nr);
        c.t[c.nt++] = (tensor_ref){"rel", c.rel, c.drel, nr};
    }
    run_case(&c, FD_STEP);
    free(c.out);
    free(c.lw);
    free(c.a);
    free(c.da);
    free(c.att);
    free(c.scratch);
    free(c.rel);
    free(c.drel);
}

/* ------------------------------------------------------------------------ */
/* Softmax cross-entropy: d logits, with ignored targets */

static double ce_fwd(ctx *c)
{
    int n_valid = 0;
    float mean = nn_crossentropy_forward(c->out, c->a, c->targets, -1, &n_valid, B, T, V);
    /* weighted: L = sum of losses * weights (REINFORCE-style); else the mean,
     * taken again in double from the per-position losses: the float mean's
     * rounding would be most of the finite difference's noise */
    if (c->weighted) return weighted_sum(c->out, c->lw, (size_t)B * T);
    double s = 0;
    for (int i = 0; i < B * T; i++) s += c->out[i];
    CHECK_NEAR(mean, s / n_valid, 1e-6);
    return s / n_valid;
}
static void ce_bwd(ctx *c)
{
    nn_crossentropy_backward(c->da, c->a, c->targets, c->weighted ? c->lw : NULL, -1, B, T, V);
}

static void test_crossentropy(int weighted)
{
    ctx c = {.name = weighted ? "softmax CE, weighted rows" : "softmax CE, mean",
             .forward = ce_fwd, .backward = ce_bwd, .writes = 1, .weighted = weighted};
    size_t n = (size_t)B * T * V;
    c.out = zeros((size_t)B * T);
    c.lw = randn_buf((size_t)B * T, 1.0f);
    c.a = randn_buf(n, 3.0f);
    c.da = zeros(n);
    c.targets = malloc(sizeof(int) * B * T);
    for (int i = 0; i < B * T; i++) c.targets[i] = (i * 5 + 2) % V;
    c.targets[3] = -1; /* ignored: padding */
    c.targets[B * T - 1] = -1;
    c.t[c.nt++] = (tensor_ref){"logits", c.a, c.da, n};
    run_case(&c, FD_STEP);
    int zero_rows = 1;
    for (int v = 0; v < V; v++) zero_rows &= c.da[3 * V + v] == 0.0f;
    CHECK(zero_rows);
    free(c.out);
    free(c.lw);
    free(c.a);
    free(c.da);
    free(c.targets);
}

int main(void)
{
    tg_rng_seed(&rng_data, 2024);
    printf("finite differences: Richardson, steps %g and %g\n", FD_STEP, FD_STEP / 2);
    test_embedding(0);
    test_embedding(1);
    test_layernorm();
    test_linear(1);
    test_linear(0);
    test_elementwise();
    for (int causal = 1; causal >= 0; causal--)
        for (int rel = 0; rel < 2; rel++) test_attention(causal, rel, 0);
    test_attention(1, 1, 1);
    test_attention(0, 1, 1);
    test_attention(0, 0, 1);
    test_crossentropy(0);
    test_crossentropy(1);
    printf("worst relative error over all kernels: %.2e\n", worst_overall);
    return test_finish("test_nn_grad");
}
