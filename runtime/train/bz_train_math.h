/* Loss and optimiser: shape-independent, shared by every backend. */
#ifndef BZ_TRAIN_MATH_H
#define BZ_TRAIN_MATH_H

#include <stdint.h>

/* Mean softmax cross-entropy over the batch.  logits [B][C]; writes
 * dlogits = (softmax - onehot) / B when dlogits != NULL; returns the mean
 * loss; *correct (if non-NULL) gets the number of argmax hits. */
/* 0 if every label is in 0..classes-1, else -1 with bz_last_error() */
int bz_check_labels(const int32_t *labels, int batch, int classes);

double bz_softmax_xent(const float *logits, const int32_t *labels, int batch,
                       int classes, float *dlogits, int *correct);

typedef struct {
    double lr, beta1, beta2, eps;   /* PyTorch defaults: 1e-3, .9, .999, 1e-8 */
    int64_t step;
} bz_adam;

/* The float scalars of Adam's next step, rounded as ATen rounds them;
 * counts the step. */
enum { BZ_ADAM_BETA1, BZ_ADAM_ONE_MINUS_BETA1, BZ_ADAM_BETA2, BZ_ADAM_ONE_MINUS_BETA2,
       BZ_ADAM_NEG_STEP_SIZE, BZ_ADAM_BIAS2_SQRT, BZ_ADAM_EPS, BZ_ADAM_SCALARS };
void bz_adam_scalars(bz_adam *opt, float scalars[BZ_ADAM_SCALARS]);

/* One Adam step over n parameters exactly as torch.optim.Adam
 * (weight_decay 0, amsgrad False). */
void bz_adam_step(bz_adam *opt, float *params, const float *grads, float *m,
                  float *v, int64_t n);
/* The update of one step with given scalars (bz_adam_scalars). */
void bz_adam_apply(const float scalars[BZ_ADAM_SCALARS], float *params, const float *grads,
                   float *m, float *v, int64_t n);

/* torch.optim.lr_scheduler.ReduceLROnPlateau(mode='min', factor, patience,
 * threshold=1e-4 rel, cooldown=0, min_lr=0, eps=1e-8). */
typedef struct {
    double factor, threshold, eps;
    int patience, num_bad_epochs;
    double best;
    int has_best;
} bz_plateau;

void bz_plateau_init(bz_plateau *p, double factor, int patience);
/* Returns the (possibly reduced) learning rate after observing metric. */
double bz_plateau_step(bz_plateau *p, double metric, double lr);

#endif
