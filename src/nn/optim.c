/*
 * optim.c: the optimiser's pieces, each a flat loop over one block of floats:
 * the AdamW update (PyTorch's torch.optim.AdamW arithmetic, so the reference
 * test can match it step for step), the global gradient norm and its
 * clipping, and the learning-rate schedule (linear warm-up, cosine decay to a
 * floor). Which tensors are decayed is the caller's choice (see nn.h).
 */
#include <math.h>

#include "nn.h"

/* The update's constants, the same for every element. */
typedef struct {
    float b1, b2, eps, step_size, bc2_sqrt, shrink;
} adamw_k;

/* The plain update on param[i0..i1): the reference, and the tail of the
 * vector kernels. */
static void adamw_plain(float *param, float *m, float *v, const float *grad, const adamw_k *k,
                        size_t i0, size_t i1)
{
    for (size_t i = i0; i < i1; i++) {
        float g = grad[i];
        float mi = k->b1 * m[i] + (1.0f - k->b1) * g;
        float vi = k->b2 * v[i] + (1.0f - k->b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / k->bc2_sqrt + k->eps;
        param[i] = param[i] * k->shrink - k->step_size * mi / denom;
    }
}

/* The same arithmetic 16 or 8 lanes at a time. GCC keeps the plain loop
 * scalar (sqrtf may set errno, so it is a call that clobbers memory); these
 * use the vector square root. Multiplies and adds stay separate, in the
 * plain loop's order (no FMA): sqrt and division are correctly rounded, so
 * the bits are the plain loop's. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define ADAMW_VEC(NAME, TARGET, W, VT, SET1, LOAD, STORE, ADD, SUB, MUL, DIV, SQRT)             \
    __attribute__((target(TARGET))) static void NAME(float *param, float *m, float *v,       \
                                                     const float *grad, const adamw_k *k,    \
                                                     size_t i0, size_t i1)                   \
    {                                                                                        \
        const VT b1 = SET1(k->b1), c1 = SET1(1.0f - k->b1), b2 = SET1(k->b2),                \
                 c2 = SET1(1.0f - k->b2), eps = SET1(k->eps), bc = SET1(k->bc2_sqrt),        \
                 st = SET1(k->step_size), sh = SET1(k->shrink);                              \
        size_t i = i0;                                                                       \
        for (; i + W <= i1; i += W) {                                                        \
            VT g = LOAD(grad + i);                                                           \
            VT mi = ADD(MUL(b1, LOAD(m + i)), MUL(c1, g));                                   \
            VT vi = ADD(MUL(b2, LOAD(v + i)), MUL(MUL(c2, g), g));                           \
            STORE(m + i, mi);                                                                \
            STORE(v + i, vi);                                                                \
            VT denom = ADD(DIV(SQRT(vi), bc), eps);                                          \
            STORE(param + i, SUB(MUL(LOAD(param + i), sh), DIV(MUL(st, mi), denom)));       \
        }                                                                                    \
        adamw_plain(param, m, v, grad, k, i, i1);                                            \
    }
ADAMW_VEC(adamw_avx512, "avx512f", 16, __m512, _mm512_set1_ps, _mm512_loadu_ps, _mm512_storeu_ps,
          _mm512_add_ps, _mm512_sub_ps, _mm512_mul_ps, _mm512_div_ps, _mm512_sqrt_ps)
ADAMW_VEC(adamw_avx2, "avx2", 8, __m256, _mm256_set1_ps, _mm256_loadu_ps, _mm256_storeu_ps,
          _mm256_add_ps, _mm256_sub_ps, _mm256_mul_ps, _mm256_div_ps, _mm256_sqrt_ps)
#define ADAMW_HAVE_VEC 1
#endif

typedef void (*adamw_fn)(float *, float *, float *, const float *, const adamw_k *, size_t,
                         size_t);

/* The widest kernel this CPU runs (reference = 1: the plain loop). */
static adamw_fn adamw_pick(int reference)
{
#ifdef ADAMW_HAVE_VEC
    if (!reference) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f")) return adamw_avx512;
        if (__builtin_cpu_supports("avx2")) return adamw_avx2;
    }
#endif
    (void)reference;
    return adamw_plain;
}

enum { ADAMW_CHUNK = 1 << 14 };

static void adamw_run(float *param, float *m, float *v, const float *grad,
                      const nn_adamw_hparams *hp, int step, int decay, size_t N, int reference)
{
    TG_ASSERT_OP(step, >=, 1);
    const float lr = hp->lr;
    /* bias corrections in double: beta2^t for t in the thousands needs it */
    const double bc1 = 1.0 - pow(hp->beta1, step), bc2 = 1.0 - pow(hp->beta2, step);
    /* decoupled weight decay: shrinks the weights, the gradient never sees it */
    const adamw_k k = {hp->beta1, hp->beta2, hp->eps, (float)(lr / bc1), (float)sqrt(bc2),
                       decay ? 1.0f - lr * hp->weight_decay : 1.0f};
    const adamw_fn fn = adamw_pick(reference);
    ptrdiff_t nchunks = (ptrdiff_t)((N + ADAMW_CHUNK - 1) / ADAMW_CHUNK);
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if (N >= NN_PAR_MIN)
#endif
    for (ptrdiff_t c = 0; c < nchunks; c++) {
        size_t i0 = (size_t)c * ADAMW_CHUNK, i1 = i0 + ADAMW_CHUNK < N ? i0 + ADAMW_CHUNK : N;
        fn(param, m, v, grad, &k, i0, i1);
    }
}

void nn_adamw_update(float *param, float *m, float *v, const float *grad,
                     const nn_adamw_hparams *hp, int step, int decay, size_t N)
{
    adamw_run(param, m, v, grad, hp, step, decay, N, 0);
}

void nn_adamw_update_ref(float *param, float *m, float *v, const float *grad,
                         const nn_adamw_hparams *hp, int step, int decay, size_t N)
{
    adamw_run(param, m, v, grad, hp, step, decay, N, 1);
}

/* Chunks of the fixed-order sum: a constant, not the thread count, so the
 * norm is the same bits whatever the number of threads. */
enum { NORM_CHUNKS = 64 };

double nn_sum_squares(const float *g, size_t N)
{
    double part[NORM_CHUNKS];
    size_t per = (N + NORM_CHUNKS - 1) / NORM_CHUNKS;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int c = 0; c < NORM_CHUNKS; c++) {
        size_t i0 = (size_t)c * per, i1 = i0 + per < N ? i0 + per : N;
        double s = 0;
        for (size_t i = i0; i < i1; i++) s += (double)g[i] * g[i];
        part[c] = s;
    }
    double total = 0;
    for (int c = 0; c < NORM_CHUNKS; c++) total += part[c];
    return total;
}

float nn_clip_grad_norm(float *g, size_t N, float max_norm)
{
    double norm = sqrt(nn_sum_squares(g, N));
    if (max_norm > 0.0f) {
        /* as torch.nn.utils.clip_grad_norm_: coefficient clamped to 1 */
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1.0) {
            float cf = (float)coef;
            ptrdiff_t n = (ptrdiff_t)N;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
            for (ptrdiff_t i = 0; i < n; i++) g[i] *= cf;
        }
    }
    return (float)norm;
}

float nn_lr_schedule(int step, int warmup_steps, int total_steps, float lr_max, float lr_min)
{
    if (step < warmup_steps) return lr_max * (float)(step + 1) / (float)warmup_steps;
    int span = total_steps - 1 - warmup_steps; /* steps from lr_max to lr_min */
    if (span <= 0 || step >= total_steps - 1) return lr_min;
    double ratio = (double)(step - warmup_steps) / span;
    double coef = 0.5 * (1.0 + cos(3.14159265358979323846 * ratio));
    return (float)(lr_min + coef * (lr_max - lr_min));
}
