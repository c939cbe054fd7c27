/*
 * loss.c: the discriminator's loss, binary cross-entropy on logits (the
 * nn kernels have softmax cross-entropy only). Written in the stable form
 * that never takes the log of a probability that rounded to 0 or 1:
 *   bce(z, y) = -(y log s(z) + (1-y) log(1 - s(z))) = max(z,0) - z y + log(1 + exp(-|z|))
 * with s the logistic sigmoid; its derivative in z is s(z) - y.
 */
#include <math.h>

#include "model.h"


float model_bce_forward(float *losses, float *probs, const float *logits, const float *labels,
                        int N)
{
    double total = 0;
    for (int i = 0; i < N; i++) {
        double z = logits[i];
        if (probs) probs[i] = (float)tg_sigmoid(z);
        if (!labels) continue;
        double y = labels[i];
        double l = (z > 0 ? z : 0) - z * y + log1p(exp(-fabs(z)));
        if (losses) losses[i] = (float)l;
        total += l;
    }
    return labels && N > 0 ? (float)(total / N) : 0.0f;
}

void model_bce_backward(float *dlogits, const float *logits, const float *labels, int N)
{
    for (int i = 0; i < N; i++)
        dlogits[i] += (float)((tg_sigmoid(logits[i]) - labels[i]) / N);
}
