/* Softmax cross-entropy, Adam and ReduceLROnPlateau, matching PyTorch. */
#include <math.h>

#include "train/bz_train_math.h"
#include "util/bz_util.h"

static int argmax(const float *row, int classes)
{
    int best = 0;
    for (int k = 1; k < classes; k++)
        if (row[k] > row[best])
            best = k;
    return best;
}

/* Loss of one row, computed as log-sum-exp shifted by the row maximum so
 * that no exp overflows; writes (softmax - onehot) * scale into grad. */
static double row_xent(const float *row, int label, int classes, float *grad, double scale)
{
    double max = row[argmax(row, classes)];
    double sum = 0.0;
    for (int k = 0; k < classes; k++)
        sum += exp((double)row[k] - max);
    double log_sum = log(sum);
    if (grad) {
        for (int k = 0; k < classes; k++) {
            double p = exp((double)row[k] - max - log_sum);
            grad[k] = (float)((p - (k == label ? 1.0 : 0.0)) * scale);
        }
    }
    return log_sum - ((double)row[label] - max);
}

int bz_check_labels(const int32_t *labels, int batch, int classes)
{
    for (int i = 0; i < batch; i++) {
        if (labels[i] < 0 || labels[i] >= classes) {
            bz_error("softmax cross-entropy: label %d out of range 0..%d", (int)labels[i],
                     classes - 1);
            return -1;
        }
    }
    return 0;
}

double bz_softmax_xent(const float *logits, const int32_t *labels, int batch,
                       int classes, float *dlogits, int *correct)
{
    if (correct)
        *correct = 0;
    if (batch <= 0 || classes <= 0) {
        bz_error("softmax cross-entropy: empty batch (%d x %d)", batch, classes);
        return NAN;
    }
    if (bz_check_labels(labels, batch, classes) != 0)
        return NAN;
    double total = 0.0;
    int hits = 0;
    for (int i = 0; i < batch; i++) {
        const float *row = logits + (size_t)i * classes;
        float *grad = dlogits ? dlogits + (size_t)i * classes : NULL;
        total += row_xent(row, labels[i], classes, grad, 1.0 / batch);
        hits += argmax(row, classes) == labels[i];
    }
    if (correct)
        *correct = hits;
    return total / batch;
}

/* Mirrors torch.optim.Adam's single-tensor path in float32, operation by
 * operation (ATen's addcmul/addcdiv evaluate value * t1 * t2 and
 * value * t1 / t2 left to right): the scalars are rounded to float as ATen
 * does, the bias corrections stay double as in Python. */
void bz_adam_scalars(bz_adam *opt, float scalars[BZ_ADAM_SCALARS])
{
    opt->step++;
    const double bias1 = 1.0 - pow(opt->beta1, (double)opt->step);
    const double bias2 = 1.0 - pow(opt->beta2, (double)opt->step);
    scalars[BZ_ADAM_BETA1] = (float)opt->beta1;
    scalars[BZ_ADAM_ONE_MINUS_BETA1] = (float)(1.0 - opt->beta1);
    scalars[BZ_ADAM_BETA2] = (float)opt->beta2;
    scalars[BZ_ADAM_ONE_MINUS_BETA2] = (float)(1.0 - opt->beta2);
    scalars[BZ_ADAM_NEG_STEP_SIZE] = (float)(-(opt->lr / bias1));
    scalars[BZ_ADAM_BIAS2_SQRT] = (float)sqrt(bias2);
    scalars[BZ_ADAM_EPS] = (float)opt->eps;
}

void bz_adam_step(bz_adam *opt, float *params, const float *grads, float *m,
                  float *v, int64_t n)
{
    float s[BZ_ADAM_SCALARS];
    bz_adam_scalars(opt, s);
    bz_adam_apply(s, params, grads, m, v, n);
}

void bz_adam_apply(const float s[BZ_ADAM_SCALARS], float *params, const float *grads, float *m,
                   float *v, int64_t n)
{
    /* locals: stores through params, m and v cannot alias them */
    const float beta1 = s[BZ_ADAM_BETA1], one_minus_beta1 = s[BZ_ADAM_ONE_MINUS_BETA1];
    const float beta2 = s[BZ_ADAM_BETA2], one_minus_beta2 = s[BZ_ADAM_ONE_MINUS_BETA2];
    const float neg_step_size = s[BZ_ADAM_NEG_STEP_SIZE], bias2_sqrt = s[BZ_ADAM_BIAS2_SQRT];
    const float eps = s[BZ_ADAM_EPS];
    for (int64_t i = 0; i < n; i++) {
        const float g = grads[i];
        m[i] = m[i] * beta1 + g * one_minus_beta1;
        v[i] = v[i] * beta2 + one_minus_beta2 * g * g;
        const float denom = sqrtf(v[i]) / bias2_sqrt + eps;
        params[i] = params[i] + neg_step_size * m[i] / denom;
    }
}

void bz_plateau_init(bz_plateau *p, double factor, int patience)
{
    p->factor = factor;
    p->patience = patience;
    p->threshold = 1e-4;
    p->eps = 1e-8;
    p->num_bad_epochs = 0;
    p->best = INFINITY;
    p->has_best = 0;
}

/* mode 'min', threshold_mode 'rel': better means below best * (1 - threshold);
 * a NaN metric is never better.  cooldown 0, min_lr 0. */
double bz_plateau_step(bz_plateau *p, double metric, double lr)
{
    if (metric < p->best * (1.0 - p->threshold)) {
        p->best = metric;
        p->has_best = 1;
        p->num_bad_epochs = 0;
    } else {
        p->num_bad_epochs++;
    }
    if (p->num_bad_epochs > p->patience) {
        double new_lr = fmax(lr * p->factor, 0.0);
        if (lr - new_lr > p->eps)
            lr = new_lr;
        p->num_bad_epochs = 0;
    }
    return lr;
}
