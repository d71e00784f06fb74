m4_dnl bz_attention_kernels(name, channels, h, w, heads, patch): as the
m4_dnl reference's, one task per (sample, sequence, head), OpenMP over the
m4_dnl tasks.  A task gathers q [N][D] and k, v transposed [D][N], so that
m4_dnl every inner loop runs over the N tokens of the sequence (omp simd,
m4_dnl libmvec's expf): scores, softmax, dy . v and the gathered sums.  A
m4_dnl head is a few to a few tens of channels, too narrow for a GEMM to pay.
m4_dnl Each task owns its sequence's pixels in its head's channels, so the
m4_dnl outputs and gradients are written without a race.
m4_define([<bz_attention_kernels>], [<
enum { $1_C = $2, $1_H = $3, $1_W = $4, $1_HEADS = $5, $1_P = $6, $1_D = $2 / $5,
       $1_SEQS = $6 * $6, $1_TOKENS = $3 * $4 / ($6 * $6) };

static long $1_pixel(int s, int t)
{
    enum { P = $1_P, TW = $1_W / $1_P };
    return (long)(t / TW * P + s / P) * $1_W + t % TW * P + s % P;
}

/* rows [N][D] <- channels [at, at + D) of the sequence's pixels */
static void $1_gather(const float *x, int s, long stride, long at, float *rows)
{
    for (int t = 0; t < $1_TOKENS; t++)
        memcpy(rows + (long)t * $1_D, x + $1_pixel(s, t) * stride + at, sizeof(float) * $1_D);
}

/* columns [D][N] <- the same, transposed */
static void $1_gather_transposed(const float *x, int s, long stride, long at, float *cols)
{
    for (int t = 0; t < $1_TOKENS; t++) {
        const float *from = x + $1_pixel(s, t) * stride + at;
        for (int d = 0; d < $1_D; d++)
            cols[(long)d * $1_TOKENS + t] = from[d];
    }
}

/* p [N] = softmax over t of q . k(t) / sqrt(D); kt [D][N] */
static void $1_softmax_row(const float *q, const float *kt, float *p)
{
    enum { N = $1_TOKENS, D = $1_D };
    const float scale = 1.0f / sqrtf((float)D);
    float max = -INFINITY, sum = 0.f;
    #pragma omp simd
    for (int t = 0; t < N; t++)
        p[t] = 0.f;
    for (int d = 0; d < D; d++) {
        float qd = q[d] * scale;
        const float *kd = kt + (long)d * N;
        #pragma omp simd
        for (int t = 0; t < N; t++)
            p[t] += qd * kd[t];
    }
    #pragma omp simd reduction(max:max)
    for (int t = 0; t < N; t++)
        max = p[t] > max ? p[t] : max;
    #pragma omp simd reduction(+:sum)
    for (int t = 0; t < N; t++)
        sum += p[t] = expf(p[t] - max);
    #pragma omp simd
    for (int t = 0; t < N; t++)
        p[t] /= sum;
}

/* sum over t of a[t] b[t] */
static float $1_dot(const float *a, const float *b)
{
    float acc = 0.f;
    #pragma omp simd reduction(+:acc)
    for (int t = 0; t < $1_TOKENS; t++)
        acc += a[t] * b[t];
    return acc;
}

static void $1_forward(const float *qkv, float *y, float *workspace, int batch)
{
    enum { C = $1_C, C3 = 3 * $1_C, HW = $1_H * $1_W, N = $1_TOKENS, D = $1_D };
    (void)workspace;
    #pragma omp parallel
    {
        /* q [N][D]; kt, vt [D][N]; p [N] */
        float *q = malloc(sizeof(float) * (3L * N * D + N));
        float *kt = q + (long)N * D, *vt = kt + (long)N * D, *p = vt + (long)N * D;
        #pragma omp for collapse(3) schedule(static)
        for (int n = 0; n < batch; n++)
            for (int s = 0; s < $1_SEQS; s++)
                for (int head = 0; head < $1_HEADS; head++) {
                    const float *x = qkv + (long)n * HW * C3;
                    $1_gather(x, s, C3, head * D, q);
                    $1_gather_transposed(x, s, C3, C + head * D, kt);
                    $1_gather_transposed(x, s, C3, 2 * C + head * D, vt);
                    for (int i = 0; i < N; i++) {
                        float *out = y + ((long)n * HW + $1_pixel(s, i)) * C + head * D;
                        $1_softmax_row(q + (long)i * D, kt, p);
                        for (int d = 0; d < D; d++)
                            out[d] = $1_dot(p, vt + (long)d * N);
                    }
                }
        free(q);
    }
}

/* dx [pixel][at, at + D) = (or +=) cols [D][N] transposed */
static void $1_scatter_transposed(const float *cols, int s, long at, float *dx, int accumulate)
{
    enum { C3 = 3 * $1_C, D = $1_D, N = $1_TOKENS };
    for (int t = 0; t < N; t++) {
        float *to = dx + $1_pixel(s, t) * C3 + at;
        for (int d = 0; d < D; d++)
            to[d] = accumulate ? to[d] + cols[(long)d * N + t] : cols[(long)d * N + t];
    }
}

static void $1_backward(const float *qkv, const float *dy, float *dqkv, int accumulate_dx,
                        float *workspace, int batch)
{
    enum { C = $1_C, C3 = 3 * $1_C, HW = $1_H * $1_W, N = $1_TOKENS, D = $1_D };
    (void)workspace;
    #pragma omp parallel
    {
        /* q [N][D]; kt, vt, dkt, dvt [D][N]; p, ds [N] */
        float *q = malloc(sizeof(float) * (5L * N * D + 2L * N));
        float *kt = q + (long)N * D, *vt = kt + (long)N * D;
        float *dkt = vt + (long)N * D, *dvt = dkt + (long)N * D;
        float *p = dvt + (long)N * D, *ds = p + N;
        const float scale = 1.0f / sqrtf((float)D);
        #pragma omp for collapse(3) schedule(static)
        for (int n = 0; n < batch; n++)
            for (int s = 0; s < $1_SEQS; s++)
                for (int head = 0; head < $1_HEADS; head++) {
                    const float *x = qkv + (long)n * HW * C3;
                    float *dx = dqkv + (long)n * HW * C3;
                    $1_gather(x, s, C3, head * D, q);
                    $1_gather_transposed(x, s, C3, C + head * D, kt);
                    $1_gather_transposed(x, s, C3, 2 * C + head * D, vt);
                    memset(dkt, 0, sizeof(float) * 2L * N * D);
                    for (int i = 0; i < N; i++) {
                        const float *g = dy + ((long)n * HW + $1_pixel(s, i)) * C + head * D;
                        const float *qi = q + (long)i * D;
                        float *dq = dx + $1_pixel(s, i) * C3 + head * D, dot_o = 0.f;
                        $1_softmax_row(qi, kt, p);
                        /* ds = p (dy . v - sum_t p dy . v) / sqrt D */
                        #pragma omp simd
                        for (int t = 0; t < N; t++)
                            ds[t] = 0.f;
                        for (int d = 0; d < D; d++) {
                            const float *vd = vt + (long)d * N;
                            #pragma omp simd
                            for (int t = 0; t < N; t++)
                                ds[t] += g[d] * vd[t];
                        }
                        dot_o = $1_dot(p, ds);
                        #pragma omp simd
                        for (int t = 0; t < N; t++)
                            ds[t] = p[t] * (ds[t] - dot_o) * scale;
                        for (int d = 0; d < D; d++) {
                            float dqd = $1_dot(ds, kt + (long)d * N);
                            float *dkd = dkt + (long)d * N, *dvd = dvt + (long)d * N;
                            dq[d] = accumulate_dx ? dq[d] + dqd : dqd;
                            #pragma omp simd
                            for (int t = 0; t < N; t++) {
                                dkd[t] += ds[t] * qi[d];
                                dvd[t] += p[t] * g[d];
                            }
                        }
                    }
                    $1_scatter_transposed(dkt, s, C + head * D, dx, accumulate_dx);
                    $1_scatter_transposed(dvt, s, 2 * C + head * D, dx, accumulate_dx);
                }
        free(q);
    }
}>])m4_dnl
