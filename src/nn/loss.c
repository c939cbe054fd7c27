/*
 * loss.c: the output head's fused softmax cross-entropy. Forward gives the
 * per-position losses and their mean over the targets that are not ignored;
 * backward writes the gradient of the logits directly, (softmax - one-hot)
 * times each position's weight, without keeping the probabilities, so it can
 * overwrite the logits in place. Rows are independent and run in parallel.
 * The exponentials use nn_expf_fast (vectorised; within 2e-7 of expf).
 */
#include <math.h>

#include "nn.h"

enum { CHUNK = 256 };

/* Max of a row and the sum of exp(x - max), summed in double in index order.
 * The exponentials come from nn_expf_fast, a chunk at a time into a stack
 * buffer so that the loop vectorises (the double sum stays serial). */
static void row_stats(const float *x, int V, float *mx_out, double *sum_out)
{
    float mx = x[0];
    for (int i = 1; i < V; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    float e[CHUNK];
    for (int i0 = 0; i0 < V; i0 += CHUNK) {
        int n = V - i0 < CHUNK ? V - i0 : CHUNK;
        for (int i = 0; i < n; i++) e[i] = nn_expf_fast(x[i0 + i] - mx);
        for (int i = 0; i < n; i++) sum += e[i];
    }
    *mx_out = mx;
    *sum_out = sum;
}

float nn_crossentropy_forward(float *losses, const float *logits, const int *targets,
                              int ignore_index, int *n_valid, int B, int T, int V)
{
    int BT = B * T;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)BT * V >= NN_PAR_MIN)
#endif
    for (int r = 0; r < BT; r++) {
        int y = targets[r];
        if (y == ignore_index) {
            losses[r] = 0.0f;
            continue;
        }
        TG_ASSERT_OP(y, >=, 0);
        TG_ASSERT_OP(y, <, V);
        const float *x = logits + (size_t)r * V;
        float mx;
        double sum;
        row_stats(x, V, &mx, &sum);
        /* -log softmax(x)[y] = log sum exp(x - max) + max - x[y] */
        losses[r] = (float)(log(sum) + mx - x[y]);
    }
    /* the mean, summed serially in a fixed order */
    double total = 0;
    int count = 0;
    for (int r = 0; r < BT; r++)
        if (targets[r] != ignore_index) {
            total += losses[r];
            count++;
        }
    if (n_valid) *n_valid = count;
    return count ? (float)(total / count) : 0.0f;
}

void nn_crossentropy_backward(float *dlogits, const float *logits, const int *targets,
                              const float *dlosses, int ignore_index, int B, int T, int V)
{
    int BT = B * T;
    int count = 0;
    for (int r = 0; r < BT; r++) count += targets[r] != ignore_index;
    float wmean = count ? 1.0f / (float)count : 0.0f;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static) if ((size_t)BT * V >= NN_PAR_MIN)
#endif
    for (int r = 0; r < BT; r++) {
        const float *x = logits + (size_t)r * V;
        float *dx = dlogits + (size_t)r * V;
        int y = targets[r];
        if (y == ignore_index) {
            for (int i = 0; i < V; i++) dx[i] = 0.0f;
            continue;
        }
        TG_ASSERT_OP(y, >=, 0);
        TG_ASSERT_OP(y, <, V);
        float w = dlosses ? dlosses[r] : wmean;
        float mx = x[0];
        for (int i = 1; i < V; i++) mx = x[i] > mx ? x[i] : mx;
        /* x and dx may be the same row: each x[i] is read before dx[i] is
         * written. dx holds exp(x - max) first, then the gradient. */
        for (int i = 0; i < V; i++) dx[i] = nn_expf_fast(x[i] - mx);
        double sum = 0;
        for (int i = 0; i < V; i++) sum += dx[i];
        float inv = (float)(1.0 / sum);
        for (int i = 0; i < V; i++) dx[i] = dx[i] * inv * w;
        dx[y] -= w;
    }
}
