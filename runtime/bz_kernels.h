/* What generated model code calls besides its own kernels: BLAS and the
 * shape-independent deploy-folding helpers (runtime/bz_fold.c). */
#ifndef BZ_KERNELS_H
#define BZ_KERNELS_H

#include <cblas.h>

void bz_copy_floats(float *dst, const float *src, long n);
void bz_zero_floats(float *dst, long n);

/* Adds one re-parameterisable branch, its BatchNorm folded in, to a merged
 * conv w_out [cout][kh][kw][cin_g] (OHWI), b_out [cout]: a conv branch
 * w [cout][bkh][bkw][cin_g] (optional bias) sits centred in the kernel; an
 * identity branch (w NULL: BatchNorm of the input) adds a unit at the
 * centre, input channel co % cin_g, as timm's reparameterize() does. */
void bz_reparam_add_branch(float *w_out, float *b_out, int cout, int kh, int kw, int cin_g,
                           const float *w, int bkh, int bkw, const float *bias,
                           const float *gamma, const float *beta, const float *mean,
                           const float *var, double eps);

/* Folds an eval-mode BatchNorm into the conv before it.  w [cout][k]
 * (k = kh*kw*cin/groups, any layout that keeps one output channel
 * contiguous), bias may be NULL.  Writes w_out [cout][k] and b_out [cout]. */
void bz_fold_conv_batchnorm(const float *w, const float *bias, const float *gamma,
                            const float *beta, const float *mean, const float *var, double eps,
                            int cout, long k, float *w_out, float *b_out);

/* An eval-mode BatchNorm as y = x * scale + shift. */
void bz_fold_batchnorm(const float *gamma, const float *beta, const float *mean,
                       const float *var, double eps, int channels, float *scale, float *shift);

/* Per-channel passes over NHWC activations x [rows][channels]
 * (runtime/bz_channel_ops.c), OpenMP-parallel, deterministic. */
void bz_channel_mean_var(const float *x, long rows, int channels, double *mean, double *var);
void bz_channel_affine(const float *x, long rows, int channels, const float *scale,
                       const float *shift, float *y);
/* sum_dy[c] = sum dy, sum_dy_xc[c] = sum dy * (x - mean) */
void bz_channel_grad_sums(const float *x, const float *dy, const double *mean, long rows,
                          int channels, double *sum_dy, double *sum_dy_xc);
/* dx (+)= gamma*invstd * (dy - mean(dy) - (x-mean)*invstd^2*mean(dy*(x-mean))) */
void bz_batchnorm_input_grad(const float *x, const float *dy, long rows, int channels,
                             const float *mean, const float *invstd, const float *gamma,
                             const double *sum_dy, const double *sum_dy_xc, float *dx,
                             int accumulate);

#endif
