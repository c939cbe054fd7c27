/*
 * optim.c: the optimiser's pieces, each a flat loop over one block of floats:
 * the AdamW update (PyTorch's torch.optim.AdamW arithmetic, so the reference
 * test can match it step for step), the global gradient norm and its
 * clipping, and the learning-rate schedule (linear warm-up, cosine decay to a
 * floor). Which tensors are decayed is the caller's choice (see nn.h).
 */
#include <math.h>

#include "nn.h"

void nn_adamw_update(float *param, float *m, float *v, const float *grad,
                     const nn_adamw_hparams *hp, int step, int decay, size_t N)
{
    NN_ASSERT_OP(step, >=, 1);
    const float lr = hp->lr, b1 = hp->beta1, b2 = hp->beta2, eps = hp->eps;
    /* bias corrections in double: beta2^t for t in the thousands needs it */
    const double bc1 = 1.0 - pow(hp->beta1, step), bc2 = 1.0 - pow(hp->beta2, step);
    const float step_size = (float)(lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    /* decoupled weight decay: shrinks the weights, the gradient never sees it */
    const float shrink = decay ? 1.0f - lr * hp->weight_decay : 1.0f;
    ptrdiff_t n = (ptrdiff_t)N;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (ptrdiff_t i = 0; i < n; i++) {
        float g = grad[i];
        float mi = b1 * m[i] + (1.0f - b1) * g;
        float vi = b2 * v[i] + (1.0f - b2) * g * g;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        param[i] = param[i] * shrink - step_size * mi / denom;
    }
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
