/* What generated model code calls besides its own kernels: BLAS and the
 * shape-independent deploy-folding helpers (runtime/bz_fold.c). */
#ifndef BZ_KERNELS_H
#define BZ_KERNELS_H

#include <cblas.h>

void bz_copy_floats(float *dst, const float *src, long n);

/* Folds an eval-mode BatchNorm into the conv before it.  w [cout][k]
 * (k = kh*kw*cin/groups, any layout that keeps one output channel
 * contiguous), bias may be NULL.  Writes w_out [cout][k] and b_out [cout]. */
void bz_fold_conv_batchnorm(const float *w, const float *bias, const float *gamma,
                            const float *beta, const float *mean, const float *var, double eps,
                            int cout, long k, float *w_out, float *b_out);

/* An eval-mode BatchNorm as y = x * scale + shift. */
void bz_fold_batchnorm(const float *gamma, const float *beta, const float *mean,
                       const float *var, double eps, int channels, float *scale, float *shift);

#endif
