/* What generated model code calls besides its own kernels: BLAS and the
 * shape-independent deploy-folding helpers (runtime/kernels/bz_fold.c). */
#ifndef BZ_KERNELS_H
#define BZ_KERNELS_H

#include <cblas.h>
#include <math.h>

#include "bz_erf.h"
#include "bz_winograd.h"

#if defined(_OPENMP)
/* glibc's libmvec has vector erff and expf; math.h announces them only
 * under -ffast-math.  Declared here, the activations' `omp simd` loops
 * call the 16-lane variants (GELU and sigmoid ~5x faster). */
float erff(float) __attribute__((simd("notinbranch")));
float expf(float) __attribute__((simd("notinbranch")));
#endif

#include "bz_activation.h"

/* The derivatives the optimised activations' backward loops inline. */
/* exact GELU, x Phi(x): Phi(x) + x phi(x) */
static inline float bz_gelu_derivative(float x)
{
    float cdf = 0.5f * (1.0f + erff(x * (float)M_SQRT1_2));
    float pdf = expf(-0.5f * x * x) * (float)(0.5 * M_2_SQRTPI * M_SQRT1_2);
    return cdf + x * pdf;
}

/* SiLU, x sigmoid(x): s (1 + x (1 - s)) */
static inline float bz_silu_derivative(float x)
{
    float s = 1.0f / (1.0f + expf(-x));
    return s * (1.0f + x * (1.0f - s));
}

/* The phases of a strided conv's input gradient (conv2d_tiled.m4): along
 * one axis, the input pixels h with (h + pad - residue) % stride == 0 meet
 * the kernel taps residue, residue + stride, ... only. */
/* how many taps a phase has (0 where the stride exceeds the kernel) */
static inline int bz_phase_taps(int residue, int kernel, int stride)
{
    return residue < kernel ? (kernel - residue + stride - 1) / stride : 0;
}

/* the taps of the phases before it: where its taps start in a packing
 * phase after phase */
static inline int bz_phase_taps_before(int residue, int kernel, int stride)
{
    int taps = 0;
    for (int r = 0; r < residue; r++)
        taps += bz_phase_taps(r, kernel, stride);
    return taps;
}

/* where phase (ri, rj)'s taps start in a packing phase after phase, row
 * phases outermost */
static inline int bz_phase_first_tap(int ri, int rj, int kh, int kw, int stride)
{
    return bz_phase_taps_before(ri, kh, stride) * kw +
           bz_phase_taps(ri, kh, stride) * bz_phase_taps_before(rj, kw, stride);
}

/* Whether a padded conv kernel of `slots` padded-sample slots gives each
 * of the threads a sample at a time in a slot of its own (two samples or
 * more per thread): the sample then stays in the thread's L2. */
static inline int bz_sample_per_thread(int padded, int batch, int slots, int threads)
{
    return padded && batch >= 2 * threads && slots >= threads;
}

/* its first input pixel */
static inline int bz_phase_first_pixel(int residue, int pad, int stride)
{
    return ((residue - pad) % stride + stride) % stride;
}

/* its input pixels among `size` */
static inline int bz_phase_pixels(int residue, int pad, int stride, int size)
{
    int first = bz_phase_first_pixel(residue, pad, stride);
    return first < size ? (size - first + stride - 1) / stride : 0;
}

#if defined(__AVX512F__)
/* The lanes of a 16-lane block that hold the `left` elements still to do
 * (all 16 from 16 on): a loop's masked last block. */
static inline __mmask16 bz_first_lanes(long left)
{
    return left < 16 ? (__mmask16)((1u << left) - 1) : (__mmask16)0xffff;
}

/* The lane indices that give lane l of a 16-lane block lane
 * (l / per) * stride + k of its source: for a grouped conv's 16 output
 * channels (per = G_OUT outputs, stride = G_IN inputs per group), input k
 * of each lane's group; swapped, output k of each input lane's group. */
static inline __m512i bz_group_lanes(int per, int stride, int k)
{
    return _mm512_setr_epi32(
        0 / per * stride + k, 1 / per * stride + k, 2 / per * stride + k, 3 / per * stride + k,
        4 / per * stride + k, 5 / per * stride + k, 6 / per * stride + k, 7 / per * stride + k,
        8 / per * stride + k, 9 / per * stride + k, 10 / per * stride + k, 11 / per * stride + k,
        12 / per * stride + k, 13 / per * stride + k, 14 / per * stride + k,
        15 / per * stride + k);
}
#endif

/* Outputs of more floats than this (32 MiB, the L3 of the development
 * machine) are written with streaming stores by the tiled and Winograd
 * kernels (tests/t_ops.sh builds them with 0 as well). */
#ifndef BZ_STREAM_FLOATS
#define BZ_STREAM_FLOATS (8L << 20)
#endif

void bz_copy_floats(float *dst, const float *src, long n);
void bz_zero_floats(float *dst, long n);

/* One re-parameterisable branch: sign * scale[co] * bn(conv(x)).  conv
 * weight w [cout][kh][kw][cin_g] (OHWI), NULL: an identity branch (a unit
 * at the kernel centre, input channel co % cin_g, as timm's
 * reparameterize() builds it); bn_weight NULL: no BatchNorm (the input
 * itself, RepMixer's x + ...); scale NULL: no layer scale. */
typedef struct {
    const float *w, *bias;
    int kh, kw;
    const float *bn_weight, *bn_bias, *bn_mean, *bn_var;
    double eps;
    const float *scale;
    double sign;
} bz_reparam_branch;

/* Adds a branch to a merged conv w_out [cout][kh][kw][cin_g] (OHWI) with
 * bias b_out [cout]; a smaller branch kernel sits centred. */
void bz_reparam_add_branch(float *w_out, float *b_out, int cout, int kh, int kw, int cin_g,
                           const bz_reparam_branch *branch);

/* Folds an eval-mode BatchNorm into the conv before it.  w [cout][k]
 * (k = kh*kw*cin/groups, any layout that keeps one output channel
 * contiguous), bias may be NULL.  Writes w_out [cout][k] and b_out [cout]. */
void bz_fold_conv_batchnorm(const float *w, const float *bias, const float *gamma,
                            const float *beta, const float *mean, const float *var, double eps,
                            int cout, long k, float *w_out, float *b_out);

/* w [cout][k] and bias [cout] (or NULL) scaled in place by the layer
 * scale after them: gamma (W x + b) = (gamma W) x + gamma b. */
void bz_fold_channel_scale(float *w, float *bias, const float *gamma, int cout, long k);

/* An eval-mode BatchNorm as y = x * scale + shift. */
void bz_fold_batchnorm(const float *gamma, const float *beta, const float *mean,
                       const float *var, double eps, int channels, float *scale, float *shift);

/* Per-channel passes over NHWC activations x [rows][channels]
 * (runtime/kernels/bz_channel_ops.c), OpenMP-parallel, deterministic. */
/* sum[c] = sum over the rows of x (a bias gradient) */
void bz_channel_sum(const float *x, long rows, int channels, float *sum);
void bz_channel_mean_var(const float *x, long rows, int channels, double *mean, double *var);
/* y = x * scale[c] + shift[c], through a ReLU where relu is 1 */
void bz_channel_affine(const float *x, long rows, int channels, const float *scale,
                       const float *shift, int relu, float *y);
/* y = (a * scale_a[c] + shift_a[c]) + (b * scale_b[c] + shift_b[c]), through
 * a ReLU where relu is 1; scale_a NULL: a as it is (shift_a unused), and so
 * for b.  A residual sum that applies the BatchNorms before it (gen/fuse.c). */
void bz_channel_affine_add(const float *a, const float *scale_a, const float *shift_a,
                           const float *b, const float *scale_b, const float *shift_b,
                           long rows, int channels, int relu, float *y);
/* y[r][c] = act(y[r][c] + bias[c]) (bias NULL: none; act a constant of
 * bz_activation.h): a GEMM conv's epilogue */
void bz_channel_bias_act(float *y, const float *bias, long rows, int channels, int act);
/* sum_dy[c] = sum dy, sum_dy_xc[c] = sum dy * (x - mean); relu_scale
 * non-NULL: dy where x * relu_scale[c] + relu_shift[c] > 0, else 0 (a
 * BatchNorm's backward through the ReLU its forward applied, gen/fuse.c),
 * here and in bz_batchnorm_input_grad */
void bz_channel_grad_sums(const float *x, const float *dy, const double *mean, long rows,
                          int channels, const float *relu_scale, const float *relu_shift,
                          double *sum_dy, double *sum_dy_xc);
/* dx (+)= gamma*invstd * (dy - mean(dy) - (x-mean)*invstd^2*mean(dy*(x-mean))) */
void bz_batchnorm_input_grad(const float *x, const float *dy, long rows, int channels,
                             const float *mean, const float *invstd, const float *gamma,
                             const float *relu_scale, const float *relu_shift,
                             const double *sum_dy, const double *sum_dy_xc, float *dx,
                             int accumulate);

#endif
