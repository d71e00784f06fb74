/* Per-channel passes over NHWC activations [rows][C] for the optimised
 * BatchNorm and bias gradients: memory-bound, so shape-generic code loses
 * nothing.  Each thread reduces its rows into private sums, merged in
 * thread order so that results do not depend on scheduling. */
#include "kernels/bz_kernels.h"

#include <omp.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

/* Sums run in float over blocks of BLOCK_ROWS rows, which keeps them
 * 16 lanes wide, and are added into double between blocks, so the
 * rounding error stays that of a 64-term float sum whatever the batch. */
enum { BLOCK_ROWS = 64 };

/* sums[t][c] for each thread t, then summed into out[c]. */
static void merge_partials(const double *partials, int threads, int channels, double *out)
{
    memset(out, 0, sizeof(double) * (size_t)channels);
    for (int t = 0; t < threads; t++)
        for (int c = 0; c < channels; c++)
            out[c] += partials[(size_t)t * channels + c];
}

/* A BatchNorm's backward through the ReLU that its forward applied
 * (gen/fuse.c): dy counts where x * scale + shift, the forward's output
 * before the ReLU (the same floats: no FMA, as bz_channel_affine), is
 * positive.  scale NULL: dy as it is. */
typedef struct {
    const float *scale, *shift;
} relu_mask;

/* Rows [r, end) of one block, channels [c0, c1): a[c] += sum of u,
 * b[c] += sum of u * v, where u = x - shift and v = u (dy == NULL: moments
 * of x), or u = dy (through the mask) and v = x - shift; one channel at a
 * time. */
static void block_sums_scalar(const float *x, const float *dy, const float *shift,
                              const relu_mask *m, long r, long end, int channels, int c0, int c1,
                              double *a, double *b)
{
    for (int c = c0; c < c1; c++) {
        float fa = 0, fb = 0;
        for (long i = r; i < end; i++) {
            float xi = x[i * channels + c], v = xi - shift[c], u = dy ? dy[i * channels + c] : v;
            if (m->scale && !(xi * m->scale[c] + m->shift[c] > 0))
                u = 0;
            fa += u;
            fb += u * v;
        }
        a[c] += fa;
        b[c] += fb;
    }
}

#if defined(__AVX512F__)
/* The lanes where x * scale + shift > 0, rounded as the scalar code (and
 * bz_channel_affine) rounds it: the product, then the sum. */
static inline __mmask16 bz_relu_positive16(__m512 x, __m512 scale, __m512 shift)
{
    __m512 v = _mm512_add_ps(_mm512_mul_ps(x, scale), shift);
    return _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_GT_OQ);
}

/* The same for channels [c0, c0 + 16 * V), V vectors of 16, with the
 * block's sums in registers (in memory, each row's sums waited for the
 * previous row's stores: the pass ran at a third of the memory rate; the
 * loops over V unrolled, since -O2 left them rolled and the sums on the
 * stack).
 * Same order of additions; u * v is fused into its sum. */
#define BZ_BLOCK_SUMS_V(V)                                                                      \
    static void block_sums_v##V(const float *x, const float *dy, const float *shift,            \
                                const relu_mask *m, long r, long end, int channels, int c0,     \
                                double *a, double *b)                                           \
    {                                                                                           \
        __m512 fa[V], fb[V], s[V], ms[V], mt[V];                                                \
        _Pragma("GCC unroll 4")                                                                 \
        for (int v = 0; v < V; v++) {                                                           \
            fa[v] = fb[v] = _mm512_setzero_ps();                                                \
            s[v] = _mm512_loadu_ps(shift + c0 + 16 * v);                                        \
            ms[v] = m->scale ? _mm512_loadu_ps(m->scale + c0 + 16 * v) : _mm512_setzero_ps();   \
            mt[v] = m->scale ? _mm512_loadu_ps(m->shift + c0 + 16 * v) : _mm512_setzero_ps();   \
        }                                                                                       \
        for (long i = r; i < end; i++)                                                          \
            _Pragma("GCC unroll 4")                                                             \
            for (int v = 0; v < V; v++) {                                                       \
                long at = i * channels + c0 + 16 * v;                                           \
                __m512 xv = _mm512_loadu_ps(x + at), d = _mm512_sub_ps(xv, s[v]);               \
                __m512 u = dy ? _mm512_loadu_ps(dy + at) : d;                                   \
                if (m->scale)                                                                   \
                    u = _mm512_maskz_mov_ps(bz_relu_positive16(xv, ms[v], mt[v]), u);           \
                fa[v] = _mm512_add_ps(fa[v], u);                                                \
                fb[v] = _mm512_fmadd_ps(u, d, fb[v]);                                           \
            }                                                                                   \
        for (int v = 0; v < V; v++) {                                                           \
            float ta[16], tb[16];                                                               \
            _mm512_storeu_ps(ta, fa[v]);                                                        \
            _mm512_storeu_ps(tb, fb[v]);                                                        \
            for (int k = 0; k < 16; k++) {                                                      \
                a[c0 + 16 * v + k] += ta[k];                                                    \
                b[c0 + 16 * v + k] += tb[k];                                                    \
            }                                                                                   \
        }                                                                                       \
    }
BZ_BLOCK_SUMS_V(4)
BZ_BLOCK_SUMS_V(1)
#endif

/* Rows [r0, r1) in blocks of BLOCK_ROWS (a block stays in the L1 or L2
 * cache while its channels are summed). */
static void block_sums(const float *x, const float *dy, const float *shift, const relu_mask *m,
                       long r0, long r1, int channels, double *a, double *b)
{
    for (long r = r0; r < r1; r += BLOCK_ROWS) {
        long end = r + BLOCK_ROWS < r1 ? r + BLOCK_ROWS : r1;
        int c0 = 0;
#if defined(__AVX512F__)
        for (; c0 + 64 <= channels; c0 += 64)
            block_sums_v4(x, dy, shift, m, r, end, channels, c0, a, b);
        for (; c0 + 16 <= channels; c0 += 16)
            block_sums_v1(x, dy, shift, m, r, end, channels, c0, a, b);
#endif
        block_sums_scalar(x, dy, shift, m, r, end, channels, c0, channels, a, b);
    }
}

/* One pass: each thread sums its share of the rows (fixed by the thread
 * count, so results do not depend on scheduling) into private sums. */
static void channel_sums(const float *x, const float *dy, const float *shift,
                         const relu_mask *m, long rows, int channels, double *out_a,
                         double *out_b)
{
    int threads = omp_get_max_threads();
    double *pa = calloc((size_t)threads * channels, sizeof *pa);
    double *pb = calloc((size_t)threads * channels, sizeof *pb);
    if (!pa || !pb)
        abort();
    #pragma omp parallel num_threads(threads)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        block_sums(x, dy, shift, m, rows * t / nt, rows * (t + 1) / nt, channels,
                   pa + (size_t)t * channels, pb + (size_t)t * channels);
    }
    merge_partials(pa, threads, channels, out_a);
    merge_partials(pb, threads, channels, out_b);
    free(pa), free(pb);
}

void bz_channel_sum(const float *x, long rows, int channels, float *sum)
{
    float *zero = calloc((size_t)channels, sizeof *zero);
    double *a = malloc(sizeof(double) * (size_t)channels);
    double *unused = malloc(sizeof(double) * (size_t)channels);
    if (!zero || !a || !unused)
        abort();
    channel_sums(x, NULL, zero, &(relu_mask){NULL, NULL}, rows, channels, a, unused);
    for (int c = 0; c < channels; c++)
        sum[c] = (float)a[c];
    free(zero), free(a), free(unused);
}

/* Moments about a shift near the mean (that of the first rows), so that
 * E[u^2] - E[u]^2 does not cancel. */
void bz_channel_mean_var(const float *x, long rows, int channels, double *mean, double *var)
{
    float *shift = calloc((size_t)channels, sizeof *shift);
    double *sum_u2 = malloc(sizeof(double) * (size_t)channels);
    if (!shift || !sum_u2)
        abort();
    long head = rows < BLOCK_ROWS ? rows : BLOCK_ROWS;
    for (long i = 0; i < head; i++)
        for (int c = 0; c < channels; c++)
            shift[c] += x[i * channels + c] / (float)head;
    channel_sums(x, NULL, shift, &(relu_mask){NULL, NULL}, rows, channels, mean, sum_u2);
    for (int c = 0; c < channels; c++) {
        double mu = mean[c] / rows, v = sum_u2[c] / rows - mu * mu;
        mean[c] = shift[c] + mu;
        var[c] = v > 0 ? v : 0;
    }
    free(shift), free(sum_u2);
}

void bz_channel_affine(const float *x, long rows, int channels, const float *scale,
                       const float *shift, int relu, float *y)
{
    /* the ReLU as its own kernel writes it: a NaN becomes 0 */
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < rows; i++) {
        if (relu)
            #pragma omp simd
            for (int c = 0; c < channels; c++) {
                float v = x[i * channels + c] * scale[c] + shift[c];
                y[i * channels + c] = v > 0 ? v : 0;
            }
        else
            #pragma omp simd
            for (int c = 0; c < channels; c++)
                y[i * channels + c] = x[i * channels + c] * scale[c] + shift[c];
    }
}

void bz_channel_affine_add(const float *a, const float *scale_a, const float *shift_a,
                           const float *b, const float *scale_b, const float *shift_b,
                           long rows, int channels, int relu, float *y)
{
    /* a plain side as the affine x * 1 + 0: one loop, memory-bound anyway */
    float *one = malloc(sizeof(float) * (size_t)channels);
    float *zero = calloc((size_t)channels, sizeof(float));
    if (!one || !zero)
        abort();
    for (int c = 0; c < channels; c++)
        one[c] = 1;
    const float *sa = scale_a ? scale_a : one, *ta = scale_a ? shift_a : zero;
    const float *sb = scale_b ? scale_b : one, *tb = scale_b ? shift_b : zero;
    /* the same ReLU as bz_channel_affine's: a NaN becomes 0 */
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < rows; i++) {
        const float *ar = a + i * channels, *br = b + i * channels;
        float *yr = y + i * channels;
        if (relu)
            #pragma omp simd
            for (int c = 0; c < channels; c++) {
                float v = (ar[c] * sa[c] + ta[c]) + (br[c] * sb[c] + tb[c]);
                yr[c] = v > 0 ? v : 0;
            }
        else
            #pragma omp simd
            for (int c = 0; c < channels; c++)
                yr[c] = (ar[c] * sa[c] + ta[c]) + (br[c] * sb[c] + tb[c]);
    }
    free(one), free(zero);
}

/* y[i][c] = act(y[i][c] + bias[c]), one loop per activation: bz_activate's
 * switch folds in each */
#define BZ_BIAS_ACT_ROWS(act)                                                                      \
    case act:                                                                                      \
        _Pragma("omp parallel for schedule(static)")                                               \
        for (long i = 0; i < rows; i++) {                                                          \
            float *row = y + i * channels;                                                         \
            if (bias)                                                                              \
                _Pragma("omp simd")                                                                \
                for (int c = 0; c < channels; c++)                                                 \
                    row[c] = bz_activate(act, row[c] + bias[c]);                                   \
            else                                                                                   \
                _Pragma("omp simd")                                                                \
                for (int c = 0; c < channels; c++)                                                 \
                    row[c] = bz_activate(act, row[c]);                                             \
        }                                                                                          \
        break;

void bz_channel_bias_act(float *y, const float *bias, long rows, int channels, int act)
{
    switch (act) {
        BZ_BIAS_ACT_ROWS(BZ_ACT_NONE)
        BZ_BIAS_ACT_ROWS(BZ_ACT_RELU)
        BZ_BIAS_ACT_ROWS(BZ_ACT_HARDSWISH)
        BZ_BIAS_ACT_ROWS(BZ_ACT_GELU)
        BZ_BIAS_ACT_ROWS(BZ_ACT_SILU)
        BZ_BIAS_ACT_ROWS(BZ_ACT_SIGMOID)
        BZ_BIAS_ACT_ROWS(BZ_ACT_HARD_SIGMOID)
    default:
        abort();  /* bzgen writes only these */
    }
}

void bz_channel_grad_sums(const float *x, const float *dy, const double *mean, long rows,
                          int channels, const float *relu_scale, const float *relu_shift,
                          double *sum_dy, double *sum_dy_xc)
{
    float *shift = malloc(sizeof(float) * (size_t)channels);
    if (!shift)
        abort();
    for (int c = 0; c < channels; c++)
        shift[c] = (float)mean[c];
    channel_sums(x, dy, shift, &(relu_mask){relu_scale, relu_shift}, rows, channels, sum_dy,
                 sum_dy_xc);
    free(shift);
}

void bz_batchnorm_input_grad(const float *x, const float *dy, long rows, int channels,
                             const float *mean, const float *invstd, const float *gamma,
                             const float *relu_scale, const float *relu_shift,
                             const double *sum_dy, const double *sum_dy_xc, float *dx,
                             int accumulate)
{
    float *k = malloc(sizeof(float) * 4 * (size_t)channels);
    float *scale = k, *mean_dy = k + channels, *coef = k + 2 * channels, *mu = k + 3 * channels;
    for (int c = 0; c < channels; c++) {
        scale[c] = gamma[c] * invstd[c];
        mean_dy[c] = (float)(sum_dy[c] / rows);
        coef[c] = (float)(sum_dy_xc[c] / rows * invstd[c] * invstd[c]);
        mu[c] = mean[c];
    }
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < rows; i++) {
        if (relu_scale)
            #pragma omp simd
            for (int c = 0; c < channels; c++) {
                long j = i * channels + c;
                float d = x[j] * relu_scale[c] + relu_shift[c] > 0 ? dy[j] : 0;
                float g = scale[c] * (d - mean_dy[c] - (x[j] - mu[c]) * coef[c]);
                dx[j] = accumulate ? dx[j] + g : g;
            }
        else
            #pragma omp simd
            for (int c = 0; c < channels; c++) {
                long j = i * channels + c;
                float g = scale[c] * (dy[j] - mean_dy[c] - (x[j] - mu[c]) * coef[c]);
                dx[j] = accumulate ? dx[j] + g : g;
            }
    }
    free(k);
}
