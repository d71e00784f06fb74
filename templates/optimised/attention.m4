m4_dnl bz_attention_kernels(name, channels, h, w, heads, patch): as the
m4_dnl reference's, one task per (sample, sequence, head), OpenMP over the
m4_dnl tasks.  A task gathers its head's q, k and v rows [N][D] (k and v also
m4_dnl transposed, [D][N]) and takes the queries R at a time: scores
m4_dnl [R][N], softmax, and the products with v are small matrix products
m4_dnl whose R rows of accumulators stay in registers (AVX-512, where the
m4_dnl tokens, or the head's channels, fill 16-lane vectors; else loops
m4_dnl along the contiguous side for the compiler to vectorise).
m4_dnl Each task owns its sequence's pixels in its head's channels, so the
m4_dnl outputs and gradients are written without a race.
m4_define([<bz_attention_kernels>], [<
enum { $1_C = $2, $1_H = $3, $1_W = $4, $1_HEADS = $5, $1_P = $6, $1_D = $2 / $5,
       $1_SEQS = $6 * $6, $1_TOKENS = $3 * $4 / ($6 * $6), $1_R = 8 };

static long $1_pixel(int s, int t)
{
    enum { P = $1_P, TW = $1_W / $1_P };
    return (long)(t / TW * P + s / P) * $1_W + t % TW * P + s % P;
}

/* rows [count][D] <- channels [at, at + D) of the sequence's pixels from
 * token `first` on */
static void $1_gather(const float *x, int s, long stride, long at, int first, int count,
                      float *rows)
{
    for (int t = 0; t < count; t++)
        memcpy(rows + (long)t * $1_D, x + $1_pixel(s, first + t) * stride + at,
               sizeof(float) * $1_D);
}

/* columns [D][N] <- the whole sequence's, transposed */
static void $1_gather_transposed(const float *x, int s, long stride, long at, float *cols)
{
    for (int t = 0; t < $1_TOKENS; t++) {
        const float *from = x + $1_pixel(s, t) * stride + at;
        for (int d = 0; d < $1_D; d++)
            cols[(long)d * $1_TOKENS + t] = from[d];
    }
}

/* the pixels' channels [at, at + D) from token `first` on = (or +=) rows [count][D] */
static void $1_scatter(const float *rows, int s, long stride, long at, int first, int count,
                       float *x, int accumulate)
{
    for (int t = 0; t < count; t++) {
        float *to = x + $1_pixel(s, first + t) * stride + at;
        const float *from = rows + (long)t * $1_D;
        #pragma omp simd
        for (int d = 0; d < $1_D; d++)
            to[d] = accumulate ? to[d] + from[d] : from[d];
    }
}

/* rows [count][D] *= 1 / sqrt D */
static void $1_scale_rows(float *rows, int count)
{
    const float scale = 1.0f / sqrtf((float)$1_D);
    #pragma omp simd
    for (long i = 0; i < (long)count * $1_D; i++)
        rows[i] *= scale;
}

#if defined(__AVX512F__)
/* s [r][t0, t0 + 16 nb) = a [r][D] bt [D][t0, t0 + 16 nb), nb 1 or 2
 * vectors of tokens (a constant where inlined): with 2, each broadcast of
 * a feeds two FMAs */
static inline __attribute__((always_inline)) void
$1_scores_block(const float *a, const float *bt, float *s, int r, int t0, int nb)
{
    enum { N = $1_TOKENS, D = $1_D, R = $1_R };
    __m512 acc[R][2];
    #pragma GCC unroll 8
    for (int i = 0; i < R; i++)
        acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    for (int d = 0; d < D; d++) {
        __m512 bv[2];
        for (int v = 0; v < nb; v++)
            bv[v] = _mm512_loadu_ps(bt + (long)d * N + t0 + 16 * v);
        #pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            if (i >= r)
                break;
            __m512 av = _mm512_set1_ps(a[i * D + d]);
            for (int v = 0; v < nb; v++)
                acc[i][v] = _mm512_fmadd_ps(av, bv[v], acc[i][v]);
        }
    }
    #pragma GCC unroll 8
    for (int i = 0; i < R; i++) {
        if (i >= r)
            break;
        for (int v = 0; v < nb; v++)
            _mm512_storeu_ps(s + (long)i * N + t0 + 16 * v, acc[i][v]);
    }
}
#endif

/* s [r][N] = a [r][D] bt [D][N], r <= R (a is a row block of the scaled q
 * or of dy: its values are broadcast straight from memory) */
static void $1_scores(const float *a, const float *bt, float *s, int r)
{
    enum { N = $1_TOKENS, D = $1_D };
#if defined(__AVX512F__)
    if (N % 16 == 0) {
        int t0 = 0;
        for (; t0 + 32 <= N; t0 += 32)
            $1_scores_block(a, bt, s, r, t0, 2);
        if (t0 < N)
            $1_scores_block(a, bt, s, r, t0, 1);
        return;
    }
#endif
    for (int i = 0; i < r; i++) {
        float *si = s + (long)i * N;
        #pragma omp simd
        for (int t = 0; t < N; t++)
            si[t] = 0.f;
        for (int d = 0; d < D; d++) {
            float ad = a[i * D + d];
            const float *bd = bt + (long)d * N;
            #pragma omp simd
            for (int t = 0; t < N; t++)
                si[t] += ad * bd[t];
        }
    }
}

/* each of the r rows [N] of s replaced by its softmax.  The exp loop is
 * libmvec's vector expf, 16 lanes wide where the target's preference (256
 * bits under -march=native) would pick the 8-lane one; the max and the sum
 * are vector reductions, not the per-lane arrays of an omp simd reduction,
 * which cost as much as the rest for rows of a few hundred tokens. */
__attribute__((target("prefer-vector-width=512")))
static void $1_softmax_rows(float *s, int r)
{
    enum { N = $1_TOKENS };
    for (int i = 0; i < r; i++) {
        float *p = s + (long)i * N, max = -INFINITY, sum = 0.f;
#if defined(__AVX512F__)
        if (N % 16 == 0) {
            __m512 m = _mm512_set1_ps(-INFINITY);
            for (int t = 0; t < N; t += 16)
                m = _mm512_max_ps(m, _mm512_loadu_ps(p + t));
            max = _mm512_reduce_max_ps(m);
        } else
#endif
            for (int t = 0; t < N; t++)
                max = p[t] > max ? p[t] : max;
        #pragma omp simd
        for (int t = 0; t < N; t++)
            p[t] = expf(p[t] - max);
#if defined(__AVX512F__)
        if (N % 16 == 0) {
            __m512 acc = _mm512_setzero_ps();
            for (int t = 0; t < N; t += 16)
                acc = _mm512_add_ps(acc, _mm512_loadu_ps(p + t));
            sum = _mm512_reduce_add_ps(acc);
        } else
#endif
            for (int t = 0; t < N; t++)
                sum += p[t];
        float inv = 1.0f / sum;
        #pragma omp simd
        for (int t = 0; t < N; t++)
            p[t] *= inv;
    }
}

/* o [r][D] = p [r][N] v [N][D] */
static void $1_mix(const float *p, const float *v, float *o, int r)
{
    enum { N = $1_TOKENS, D = $1_D, R = $1_R };
#if defined(__AVX512F__)
    if (D % 16 == 0) {
        for (int d0 = 0; d0 < D; d0 += 16) {
            __m512 acc[R];
            #pragma GCC unroll 8
            for (int i = 0; i < R; i++)
                acc[i] = _mm512_setzero_ps();
            for (int t = 0; t < N; t++) {
                __m512 vv = _mm512_loadu_ps(v + (long)t * D + d0);
                #pragma GCC unroll 8
                for (int i = 0; i < R; i++) {
                    if (i >= r)
                        break;
                    acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(p[(long)i * N + t]), vv, acc[i]);
                }
            }
            #pragma GCC unroll 8
            for (int i = 0; i < R; i++) {
                if (i >= r)
                    break;
                _mm512_storeu_ps(o + i * D + d0, acc[i]);
            }
        }
        return;
    }
#endif
    for (int i = 0; i < r; i++) {
        float *oi = o + i * D;
        #pragma omp simd
        for (int d = 0; d < D; d++)
            oi[d] = 0.f;
        for (int t = 0; t < N; t++) {
            float pt = p[(long)i * N + t];
            #pragma omp simd
            for (int d = 0; d < D; d++)
                oi[d] += pt * v[(long)t * D + d];
        }
    }
}

/* c [N][D] += a [r][N]^T b [r][D] */
static void $1_mix_transposed_add(const float *a, const float *b, float *c, int r)
{
    enum { N = $1_TOKENS, D = $1_D, R = $1_R };
#if defined(__AVX512F__)
    if (D % 16 == 0) {
        for (int d0 = 0; d0 < D; d0 += 16) {
            __m512 bv[R];
            #pragma GCC unroll 8
            for (int i = 0; i < R; i++)
                bv[i] = i < r ? _mm512_loadu_ps(b + i * D + d0) : _mm512_setzero_ps();
            for (int t = 0; t < N; t++) {
                __m512 cv = _mm512_loadu_ps(c + (long)t * D + d0);
                #pragma GCC unroll 8
                for (int i = 0; i < R; i++) {
                    if (i >= r)
                        break;
                    cv = _mm512_fmadd_ps(_mm512_set1_ps(a[(long)i * N + t]), bv[i], cv);
                }
                _mm512_storeu_ps(c + (long)t * D + d0, cv);
            }
        }
        return;
    }
#endif
    for (int t = 0; t < N; t++)
        for (int i = 0; i < r; i++) {
            float at = a[(long)i * N + t];
            #pragma omp simd
            for (int d = 0; d < D; d++)
                c[(long)t * D + d] += at * b[i * D + d];
        }
}

bz_entry([<void $1_forward(const float *qkv, float *y, float *workspace, int batch)>])
{
    enum { C = $1_C, C3 = 3 * $1_C, HW = $1_H * $1_W, N = $1_TOKENS, D = $1_D, R = $1_R };
    (void)workspace;
    #pragma omp parallel
    {
        /* q (scaled by 1 / sqrt D), v [N][D]; kt [D][N]; p [R][N]; o [R][D] */
        float *q = malloc(sizeof(float) * (3L * N * D + (long)R * (N + D)));
        if (!q)
            abort();
        float *v = q + (long)N * D, *kt = v + (long)N * D, *p = kt + (long)N * D;
        float *o = p + (long)R * N;
        #pragma omp for collapse(3) schedule(static)
        for (int n = 0; n < batch; n++)
            for (int s = 0; s < $1_SEQS; s++)
                for (int head = 0; head < $1_HEADS; head++) {
                    const float *x = qkv + (long)n * HW * C3;
                    $1_gather(x, s, C3, head * D, 0, N, q);
                    $1_scale_rows(q, N);
                    $1_gather_transposed(x, s, C3, C + head * D, kt);
                    $1_gather(x, s, C3, 2 * C + head * D, 0, N, v);
                    for (int i0 = 0; i0 < N; i0 += R) {
                        int r = N - i0 < R ? N - i0 : R;
                        $1_scores(q + (long)i0 * D, kt, p, r);
                        $1_softmax_rows(p, r);
                        $1_mix(p, v, o, r);
                        $1_scatter(o, s, C, head * D, i0, r, y + (long)n * HW * C, 0);
                    }
                }
        free(q);
    }
}

/* Per block of r queries, with p their attention rows and g their dy:
 * dp = g v^T, ds = p (dp - sum_t p dp), dq = ds k / sqrt D,
 * dk += ds^T q / sqrt D, dv += p^T g (q and k scaled once). */
bz_entry([<void $1_backward(const float *qkv, const float *dy, float *dqkv, int accumulate_dx,
                            float *workspace, int batch)>])
{
    enum { C = $1_C, C3 = 3 * $1_C, HW = $1_H * $1_W, N = $1_TOKENS, D = $1_D, R = $1_R };
    (void)workspace;
    #pragma omp parallel
    {
        /* q, k (both scaled by 1 / sqrt D), v, dk, dv [N][D]; kt, vt [D][N];
         * p, ds [R][N]; g, dq [R][D] */
        float *q = malloc(sizeof(float) * (7L * N * D + 2L * R * (N + D)));
        if (!q)
            abort();
        float *k = q + (long)N * D, *v = k + (long)N * D, *dk = v + (long)N * D;
        float *dv = dk + (long)N * D, *kt = dv + (long)N * D, *vt = kt + (long)N * D;
        float *p = vt + (long)N * D, *ds = p + (long)R * N, *g = ds + (long)R * N;
        float *dq = g + (long)R * D;
        #pragma omp for collapse(3) schedule(static)
        for (int n = 0; n < batch; n++)
            for (int s = 0; s < $1_SEQS; s++)
                for (int head = 0; head < $1_HEADS; head++) {
                    const float *x = qkv + (long)n * HW * C3, *dyn = dy + (long)n * HW * C;
                    float *dx = dqkv + (long)n * HW * C3;
                    $1_gather(x, s, C3, head * D, 0, N, q);
                    $1_gather(x, s, C3, C + head * D, 0, N, k);
                    $1_scale_rows(q, N);
                    $1_scale_rows(k, N);
                    $1_gather(x, s, C3, 2 * C + head * D, 0, N, v);
                    $1_gather_transposed(x, s, C3, C + head * D, kt);
                    $1_gather_transposed(x, s, C3, 2 * C + head * D, vt);
                    memset(dk, 0, sizeof(float) * 2L * N * D);
                    for (int i0 = 0; i0 < N; i0 += R) {
                        int r = N - i0 < R ? N - i0 : R;
                        $1_gather(dyn, s, C, head * D, i0, r, g);
                        $1_scores(q + (long)i0 * D, kt, p, r);
                        $1_softmax_rows(p, r);
                        $1_scores(g, vt, ds, r);
                        for (int i = 0; i < r; i++) {
                            float *pi = p + (long)i * N, *dsi = ds + (long)i * N, dot = 0.f;
                            #pragma omp simd reduction(+:dot)
                            for (int t = 0; t < N; t++)
                                dot += pi[t] * dsi[t];
                            #pragma omp simd
                            for (int t = 0; t < N; t++)
                                dsi[t] = pi[t] * (dsi[t] - dot);
                        }
                        $1_mix(ds, k, dq, r);
                        $1_scatter(dq, s, C3, head * D, i0, r, dx, accumulate_dx);
                        $1_mix_transposed_add(ds, q + (long)i0 * D, dk, r);
                        $1_mix_transposed_add(p, g, dv, r);
                    }
                    $1_scatter(dk, s, C3, C + head * D, 0, N, dx, accumulate_dx);
                    $1_scatter(dv, s, C3, 2 * C + head * D, 0, N, dx, accumulate_dx);
                }
        free(q);
    }
}>])m4_dnl
