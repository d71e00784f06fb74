/* Winograd F(4x4, 3x3) (Lavin and Gray, 2015): a 4x4 output tile of a
 * 3x3 correlation is Y = A^T [(G g G^T) . (B^T d B)] A over the 6x6 input
 * window d around it, 36 products per tile and channel pair instead of
 * 144.  The interpolation points are 0, 1, -1, 1/2, -2 and infinity:
 * against the usual 0, +-1, +-2 the float error of a 256-channel sum
 * drops from 1.1e-5 to 4e-6 of the output's scale (Barabasz et al., 2019,
 * "Error analysis and improving the accuracy of Winograd convolution").
 *
 *   B^T = [1 -3/2 -2  3/2 1 0;  0 -1  1/2 5/2 1 0;  0 1 -5/2 1/2 1 0;
 *          0 -2   -1  2   1 0;  0 1/2 -1 -1/2 1 0;  0 1 -3/2 -2 3/2 1]
 *   G   = [1 0 0;  1/3 1/3 1/3;  -1/3 1/3 -1/3;  -16/15 -8/15 -4/15;
 *          1/15 -2/15 4/15;  0 0 1]
 *   A^T = [1 1 1 1 1 0;  0 1 -1 1/2 -2 0;  0 1 1 1/4 4 0;  0 1 -1 1/8 -8 1]
 *
 * Every transform runs on 16 channels at a time, one matrix side per call
 * (a column, then a row).  The training forward uses F(2x2, 3x3), below. */
#ifndef BZ_WINOGRAD_H
#define BZ_WINOGRAD_H

#if defined(__AVX512F__)
#include <immintrin.h>

static inline __m512 bz_winograd_c(float v)
{
    return _mm512_set1_ps(v);
}

/* o = B^T d: six input pixels to six transformed values */
static inline void bz_winograd4_input_1d(const __m512 d[6], __m512 o[6])
{
    __m512 d4_minus_d2 = _mm512_sub_ps(d[4], d[2]);
    o[0] = _mm512_add_ps(_mm512_fmadd_ps(bz_winograd_c(1.5f), _mm512_sub_ps(d[3], d[1]), d[0]),
                         _mm512_fnmadd_ps(bz_winograd_c(2.0f), d[2], d[4]));
    o[1] = _mm512_add_ps(_mm512_fmadd_ps(bz_winograd_c(0.5f), d[2], _mm512_sub_ps(d[4], d[1])),
                         _mm512_mul_ps(bz_winograd_c(2.5f), d[3]));
    o[2] = _mm512_add_ps(_mm512_fnmadd_ps(bz_winograd_c(2.5f), d[2], _mm512_add_ps(d[1], d[4])),
                         _mm512_mul_ps(bz_winograd_c(0.5f), d[3]));
    o[3] = _mm512_fmadd_ps(bz_winograd_c(2.0f), _mm512_sub_ps(d[3], d[1]), d4_minus_d2);
    o[4] = _mm512_fmadd_ps(bz_winograd_c(0.5f), _mm512_sub_ps(d[1], d[3]), d4_minus_d2);
    o[5] = _mm512_add_ps(_mm512_fmadd_ps(bz_winograd_c(1.5f), _mm512_sub_ps(d[4], d[2]), d[1]),
                         _mm512_fnmadd_ps(bz_winograd_c(2.0f), d[3], d[5]));
}

/* y = A^T m: six products to four outputs */
static inline void bz_winograd4_output_1d(const __m512 m[6], __m512 y[4])
{
    __m512 s12 = _mm512_add_ps(m[1], m[2]), d12 = _mm512_sub_ps(m[1], m[2]);
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], s12), _mm512_add_ps(m[3], m[4]));
    y[1] = _mm512_fmadd_ps(bz_winograd_c(0.5f), m[3],
                           _mm512_fnmadd_ps(bz_winograd_c(2.0f), m[4], d12));
    y[2] = _mm512_fmadd_ps(bz_winograd_c(0.25f), m[3],
                           _mm512_fmadd_ps(bz_winograd_c(4.0f), m[4], s12));
    y[3] = _mm512_add_ps(_mm512_fmadd_ps(bz_winograd_c(0.125f), m[3],
                                         _mm512_fnmadd_ps(bz_winograd_c(8.0f), m[4], d12)),
                         m[5]);
}

/* r = A e: four output gradients carried back to the six products */
static inline void bz_winograd4_gradient_1d(const __m512 e[4], __m512 r[6])
{
    __m512 even = _mm512_add_ps(e[0], e[2]), odd = _mm512_add_ps(e[1], e[3]);
    r[0] = e[0];
    r[1] = _mm512_add_ps(even, odd);
    r[2] = _mm512_sub_ps(even, odd);
    r[3] = _mm512_add_ps(_mm512_fmadd_ps(bz_winograd_c(0.5f), e[1], e[0]),
                         _mm512_fmadd_ps(bz_winograd_c(0.125f), e[3],
                                         _mm512_mul_ps(bz_winograd_c(0.25f), e[2])));
    r[4] = _mm512_add_ps(_mm512_fnmadd_ps(bz_winograd_c(2.0f), e[1], e[0]),
                         _mm512_fnmadd_ps(bz_winograd_c(8.0f), e[3],
                                          _mm512_mul_ps(bz_winograd_c(4.0f), e[2])));
    r[5] = e[3];
}

/* t = G g: three kernel taps to six */
static inline void bz_winograd4_kernel_1d(const __m512 g[3], __m512 t[6])
{
    const __m512 third = bz_winograd_c(1.0f / 3), fifteenth = bz_winograd_c(1.0f / 15);
    __m512 outer = _mm512_add_ps(g[0], g[2]);
    t[0] = g[0];
    t[1] = _mm512_mul_ps(third, _mm512_add_ps(outer, g[1]));
    t[2] = _mm512_mul_ps(third, _mm512_sub_ps(g[1], outer));
    t[3] = _mm512_mul_ps(bz_winograd_c(-4.0f / 15),
                         _mm512_fmadd_ps(bz_winograd_c(4.0f), g[0],
                                         _mm512_fmadd_ps(bz_winograd_c(2.0f), g[1], g[2])));
    t[4] = _mm512_mul_ps(fifteenth, _mm512_fmadd_ps(bz_winograd_c(4.0f), g[2],
                                                    _mm512_fnmadd_ps(bz_winograd_c(2.0f), g[1],
                                                                     g[0])));
    t[5] = g[2];
}

/* g = G^T t: the gradient of six transformed taps back to three */
static inline void bz_winograd4_kernel_gradient_1d(const __m512 t[6], __m512 g[3])
{
    const __m512 third = bz_winograd_c(1.0f / 3), fifteenth = bz_winograd_c(1.0f / 15);
    __m512 s12 = _mm512_mul_ps(third, _mm512_add_ps(t[1], t[2]));
    __m512 d12 = _mm512_mul_ps(third, _mm512_sub_ps(t[1], t[2]));
    __m512 t4_minus_16t3 = _mm512_fnmadd_ps(bz_winograd_c(16.0f), t[3], t[4]);
    __m512 eight_t3_plus_2t4 = _mm512_fmadd_ps(bz_winograd_c(8.0f), t[3],
                                               _mm512_add_ps(t[4], t[4]));
    g[0] = _mm512_add_ps(_mm512_add_ps(t[0], d12), _mm512_mul_ps(fifteenth, t4_minus_16t3));
    g[1] = _mm512_sub_ps(s12, _mm512_mul_ps(fifteenth, eight_t3_plus_2t4));
    g[2] = _mm512_add_ps(_mm512_add_ps(d12, t[5]),
                         _mm512_mul_ps(bz_winograd_c(4.0f / 15), _mm512_sub_ps(t[4], t[3])));
}

/* F(2x2, 3x3), on the points 0, 1, -1 and infinity (the training
 * forward's: its float error, 1e-6 of the output's scale over 256
 * channels, is a quarter of F(4x4, 3x3)'s, and the forward's activations
 * decide which side of a ReLU's kink an element falls):
 *   B^T = [1 0 -1 0;  0 1 1 0;  0 -1 1 0;  0 1 0 -1]
 *   G   = [1 0 0;  1/2 1/2 1/2;  1/2 -1/2 1/2;  0 0 1]
 *   A^T = [1 1 1 0;  0 1 -1 -1] */
static inline void bz_winograd2_input_1d(const __m512 d[4], __m512 o[4])
{
    o[0] = _mm512_sub_ps(d[0], d[2]);
    o[1] = _mm512_add_ps(d[1], d[2]);
    o[2] = _mm512_sub_ps(d[2], d[1]);
    o[3] = _mm512_sub_ps(d[1], d[3]);
}

static inline void bz_winograd2_output_1d(const __m512 m[4], __m512 y[2])
{
    y[0] = _mm512_add_ps(_mm512_add_ps(m[0], m[1]), m[2]);
    y[1] = _mm512_sub_ps(_mm512_sub_ps(m[1], m[2]), m[3]);
}

static inline void bz_winograd2_gradient_1d(const __m512 e[2], __m512 r[4])
{
    r[0] = e[0];
    r[1] = _mm512_add_ps(e[0], e[1]);
    r[2] = _mm512_sub_ps(e[0], e[1]);
    r[3] = _mm512_sub_ps(_mm512_setzero_ps(), e[1]);
}

/* (g0 + g1) + g2, not g0 + g2 first: the order the training forward's
 * numerics were validated in (a changed rounding of U moves which
 * near-zero pre-activations land on which side of a kink) */
static inline void bz_winograd2_kernel_1d(const __m512 g[3], __m512 t[4])
{
    t[0] = g[0];
    t[1] = _mm512_mul_ps(bz_winograd_c(0.5f), _mm512_add_ps(_mm512_add_ps(g[0], g[1]), g[2]));
    t[2] = _mm512_mul_ps(bz_winograd_c(0.5f), _mm512_add_ps(_mm512_sub_ps(g[0], g[1]), g[2]));
    t[3] = g[2];
}

static inline void bz_winograd2_kernel_gradient_1d(const __m512 t[4], __m512 g[3])
{
    __m512 half_sum = _mm512_mul_ps(bz_winograd_c(0.5f), _mm512_add_ps(t[1], t[2]));
    g[0] = _mm512_add_ps(t[0], half_sum);
    g[1] = _mm512_mul_ps(bz_winograd_c(0.5f), _mm512_sub_ps(t[1], t[2]));
    g[2] = _mm512_add_ps(half_sum, t[3]);
}

/* The transforms of tile size m (2 or 4; a constant where inlined):
 * windows of m + 2 values. */
static inline void bz_winograd_input_1d(int m, const __m512 *d, __m512 *o)
{
    if (m == 4)
        bz_winograd4_input_1d(d, o);
    else
        bz_winograd2_input_1d(d, o);
}

static inline void bz_winograd_output_1d(int m, const __m512 *p, __m512 *y)
{
    if (m == 4)
        bz_winograd4_output_1d(p, y);
    else
        bz_winograd2_output_1d(p, y);
}

static inline void bz_winograd_gradient_1d(int m, const __m512 *e, __m512 *r)
{
    if (m == 4)
        bz_winograd4_gradient_1d(e, r);
    else
        bz_winograd2_gradient_1d(e, r);
}

static inline void bz_winograd_kernel_1d(int m, const __m512 *g, __m512 *t)
{
    if (m == 4)
        bz_winograd4_kernel_1d(g, t);
    else
        bz_winograd2_kernel_1d(g, t);
}

static inline void bz_winograd_kernel_gradient_1d(int m, const __m512 *t, __m512 *g)
{
    if (m == 4)
        bz_winograd4_kernel_gradient_1d(t, g);
    else
        bz_winograd2_kernel_gradient_1d(t, g);
}

/* 16 floats lane_stride apart (contiguous for 1) */
static inline __m512 bz_winograd_load_16(const float *p, int lane_stride)
{
    if (lane_stride == 1)
        return _mm512_loadu_ps(p);
    __m512i lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    return _mm512_i32gather_ps(_mm512_mullo_epi32(lanes, _mm512_set1_epi32(lane_stride)), p, 4);
}

/* u = G g G^T of 16 3x3 kernels for tile size m: tap k (row-major;
 * 8 - k with flip) of lane l at w[l * lane_stride + k * tap_stride];
 * u [(m + 2)^2] row-major. */
static inline void bz_winograd_kernel_transform_16(int m, const float *w, int lane_stride,
                                                   int tap_stride, int flip, __m512 *u)
{
    const int a = m + 2;
    __m512 gg[6][3];  /* G g, column by column */
    for (int j = 0; j < 3; j++) {
        __m512 col[3], out[6];
        for (int i = 0; i < 3; i++) {
            int k = 3 * i + j;
            col[i] = bz_winograd_load_16(w + (long)(flip ? 8 - k : k) * tap_stride, lane_stride);
        }
        bz_winograd_kernel_1d(m, col, out);
        for (int i = 0; i < a; i++)
            gg[i][j] = out[i];
    }
    for (int i = 0; i < a; i++)
        bz_winograd_kernel_1d(m, gg[i], u + a * i);
}

/* dg = G^T du G of 16 kernels for tile size m: du position p of lane l
 * at du[l * lane_stride + p * position_stride]; dg [9] row-major. */
static inline void bz_winograd_kernel_gradient_16(int m, const float *du, int lane_stride,
                                                  long position_stride, __m512 dg[9])
{
    const int a = m + 2;
    __m512 half[3][6];  /* G^T du, column by column */
    for (int k = 0; k < a; k++) {
        __m512 col[6], out[3];
        for (int i = 0; i < a; i++)
            col[i] = bz_winograd_load_16(du + (a * i + k) * position_stride, lane_stride);
        bz_winograd_kernel_gradient_1d(m, col, out);
        for (int j = 0; j < 3; j++)
            half[j][k] = out[j];
    }
    for (int j = 0; j < 3; j++)
        bz_winograd_kernel_gradient_1d(m, half[j], dg + 3 * j);
}
#endif

/* The stride, in floats, between the positions of a transformed buffer
 * [A^2][tiles][channels]: a position's tiles times channels, plus a
 * cache line.  Without it a chunk of 8, 16, ... samples puts the 36
 * positions a multiple of 4 KiB apart, and the transforms' stores to them
 * stall the loads that follow on the same 4 KiB offset (4K aliasing: the
 * 16x16 F(4x4) input transform of 8 samples took 0.119 ms on 2 threads,
 * 0.070 ms with the line).  gen/op_conv2d.c's WINOGRAD_PLANE_PAD is the
 * same number: it sizes the workspace. */
enum { BZ_WINOGRAD_PLANE_PAD = 16 };

static inline long bz_winograd_plane(long tiles, int channels)
{
    return tiles * channels + BZ_WINOGRAD_PLANE_PAD;
}

/* Whether the products prefetch, among their FMAs, the next block of the
 * transformed kernel (conv2d_winograd.m4's products), for batch 1, where a
 * block serves a few tasks and comes from memory.  On the Intel host of
 * sessions 9 to 20 (4 KiB pages) it took batch-1 inference to 0.84-0.87
 * of the time; on AMD Zen 4, with the kernels in huge pages (bz_util.c),
 * the inference ran 3 to 7% faster without it, training unchanged: its
 * hardware prefetchers stream the blocks, and the prefetches only compete
 * with them. */
static inline int bz_winograd_prefetches(void)
{
    return __builtin_cpu_is("intel");
}

/* Where a kernel stays in each core's L2 (at most 64 x 64 channels: 256
 * KB for F(2x2), 576 KB for F(4x4)), each thread runs its own tiles end
 * to end, a group at a time, whose transformed buffers take GROUP_FLOATS
 * (256 KB: with the kernel they stay in the L2): one parallel region
 * instead of the chunked path's three, and no transformed tile crossing
 * between cores (conv2d_winograd.m4's bz_winograd_sweep).  Also with
 * few groups a thread (batch 1: 32 tiles, groups of 12): on Zen 4
 * (session 30, old and new binaries alternated) mobile_one_block_mid's
 * six 64 -> 64-channel 32x32 convs took 0.69-0.82 ms against 0.77-1.43
 * ms, the gap widest in the minutes when other tenants load the host. */
enum { BZ_WINOGRAD_GROUP_FLOATS = 1 << 16, BZ_WINOGRAD_LOCAL_KERNEL_MAX = 36 * 64 * 64 };

/* Whether a batch of `tiles` tiles runs so on `threads` threads, each
 * taking per_thread floats of a buffer of buffer_floats. */
static inline int bz_winograd_runs_local(long kernel_floats, long group, long per_thread,
                                    long buffer_floats, long tiles, int threads)
{
    return group > 0 && kernel_floats <= BZ_WINOGRAD_LOCAL_KERNEL_MAX &&
           threads * per_thread <= buffer_floats && tiles >= threads;
}

#endif
