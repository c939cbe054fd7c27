/*
 * loss.c: the output head's fused softmax cross-entropy. Forward gives the
 * per-position losses and their mean over the targets that are not ignored;
 * backward writes the gradient of the logits directly, (softmax - one-hot)
 * times each position's weight, without keeping the probabilities, so it can
 * overwrite the logits in place. Rows are independent and run in parallel.
 */
#include <math.h>

#include "nn.h"

/* Max of a row and the sum of exp(x - max), summed in double. */
static void row_stats(const float *x, int V, float *mx_out, double *sum_out)
{
    float mx = x[0];
    for (int i = 1; i < V; i++) mx = x[i] > mx ? x[i] : mx;
    double sum = 0;
    for (int i = 0; i < V; i++) sum += expf(x[i] - mx);
    *mx_out = mx;
    *sum_out = sum;
}

float nn_crossentropy_forward(float *losses, const float *logits, const int *targets,
                              int ignore_index, int *n_valid, int B, int T, int V)
{
    int BT = B * T;
#ifdef TG_HAVE_OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int r = 0; r < BT; r++) {
        int y = targets[r];
        if (y == ignore_index) {
            losses[r] = 0.0f;
            continue;
        }
        NN_ASSERT_OP(y, >=, 0);
        NN_ASSERT_OP(y, <, V);
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
#pragma omp parallel for schedule(static)
#endif
    for (int r = 0; r < BT; r++) {
        const float *x = logits + (size_t)r * V;
        float *dx = dlogits + (size_t)r * V;
        int y = targets[r];
        if (y == ignore_index) {
            for (int i = 0; i < V; i++) dx[i] = 0.0f;
            continue;
        }
        NN_ASSERT_OP(y, >=, 0);
        NN_ASSERT_OP(y, <, V);
        float w = dlosses ? dlosses[r] : wmean;
        float mx;
        double sum;
        row_stats(x, V, &mx, &sum);
        float inv = (float)(1.0 / sum);
        /* x and dx may be the same row: each x[i] is read before dx[i] is written */
        for (int i = 0; i < V; i++) {
            float p = expf(x[i] - mx) * inv;
            dx[i] = (p - (i == y ? 1.0f : 0.0f)) * w;
        }
    }
}
