m4_dnl bz_attention_kernels(name, channels, h, w, heads, patch): as the
m4_dnl reference's, one task per (sample, sequence, head), OpenMP over the
m4_dnl tasks: its q, k, v (and dy) gathered into contiguous [N][D] rows,
m4_dnl the products as single-threaded OpenBLAS GEMMs (inside a parallel
m4_dnl region OpenBLAS runs on the calling thread), the softmax in place.
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

/* rows [N][D] <- channels [at, at + D) of the sequence's pixels (C3 apart) */
static void $1_gather(const float *x, int s, long stride, long at, float *rows)
{
    for (int t = 0; t < $1_TOKENS; t++)
        memcpy(rows + (long)t * $1_D, x + $1_pixel(s, t) * stride + at, sizeof(float) * $1_D);
}

/* p [N][N] = softmax of the rows of q k^T / sqrt(D) */
static void $1_softmax_scores(const float *q, const float *k, float *p)
{
    enum { N = $1_TOKENS, D = $1_D };
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, D, 1.0f / sqrtf((float)D), q, D,
                k, D, 0.0f, p, N);
    for (int i = 0; i < N; i++) {
        float *row = p + (long)i * N, max = row[0], sum = 0.f;
        for (int t = 1; t < N; t++)
            max = row[t] > max ? row[t] : max;
        for (int t = 0; t < N; t++)
            sum += row[t] = expf(row[t] - max);
        for (int t = 0; t < N; t++)
            row[t] /= sum;
    }
}

static void $1_forward(const float *qkv, float *y, float *workspace, int batch)
{
    enum { C = $1_C, C3 = 3 * $1_C, HW = $1_H * $1_W, N = $1_TOKENS, D = $1_D };
    (void)workspace;
    #pragma omp parallel
    {
        /* q, k, v, o [N][D]; p [N][N] */
        float *q = malloc(sizeof(float) * (4L * N * D + (long)N * N));
        float *k = q + (long)N * D, *v = k + (long)N * D, *o = v + (long)N * D;
        float *p = o + (long)N * D;
        #pragma omp for collapse(3) schedule(static)
        for (int n = 0; n < batch; n++)
            for (int s = 0; s < $1_SEQS; s++)
                for (int head = 0; head < $1_HEADS; head++) {
                    const float *x = qkv + (long)n * HW * C3;
                    $1_gather(x, s, C3, head * D, q);
                    $1_gather(x, s, C3, C + head * D, k);
                    $1_gather(x, s, C3, 2 * C + head * D, v);
                    $1_softmax_scores(q, k, p);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D, N, 1.0f, p, N,
                                v, D, 0.0f, o, D);
                    for (int t = 0; t < N; t++)
                        memcpy(y + ((long)n * HW + $1_pixel(s, t)) * C + head * D,
                               o + (long)t * D, sizeof(float) * D);
                }
        free(q);
    }
}

/* dx [pixel][at, at + D) = (or +=) rows [N][D] */
static void $1_scatter(const float *rows, int s, long at, float *dx, int accumulate)
{
    enum { C3 = 3 * $1_C, D = $1_D };
    for (int t = 0; t < $1_TOKENS; t++) {
        float *to = dx + $1_pixel(s, t) * C3 + at;
        const float *from = rows + (long)t * D;
        for (int d = 0; d < D; d++)
            to[d] = accumulate ? to[d] + from[d] : from[d];
    }
}

static void $1_backward(const float *qkv, const float *dy, float *dqkv, int accumulate_dx,
                        float *workspace, int batch)
{
    enum { C = $1_C, C3 = 3 * $1_C, HW = $1_H * $1_W, N = $1_TOKENS, D = $1_D };
    (void)workspace;
    #pragma omp parallel
    {
        /* q, k, v, g (= dy), dq, dk, dv [N][D]; p, dp [N][N] */
        float *q = malloc(sizeof(float) * (7L * N * D + 2L * N * N));
        float *k = q + (long)N * D, *v = k + (long)N * D, *g = v + (long)N * D;
        float *dq = g + (long)N * D, *dk = dq + (long)N * D, *dv = dk + (long)N * D;
        float *p = dv + (long)N * D, *dp = p + (long)N * N;
        const float scale = 1.0f / sqrtf((float)D);
        #pragma omp for collapse(3) schedule(static)
        for (int n = 0; n < batch; n++)
            for (int s = 0; s < $1_SEQS; s++)
                for (int head = 0; head < $1_HEADS; head++) {
                    const float *x = qkv + (long)n * HW * C3;
                    float *dx = dqkv + (long)n * HW * C3;
                    $1_gather(x, s, C3, head * D, q);
                    $1_gather(x, s, C3, C + head * D, k);
                    $1_gather(x, s, C3, 2 * C + head * D, v);
                    $1_gather(dy + (long)n * HW * C, s, C, head * D, g);
                    $1_softmax_scores(q, k, p);
                    /* dv = p^T g;  dp = g v^T;  ds = p (dp - rowsum(p dp)) */
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, D, N, 1.0f, p, N, g,
                                D, 0.0f, dv, D);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, N, D, 1.0f, g, D, v,
                                D, 0.0f, dp, N);
                    for (int i = 0; i < N; i++) {
                        float *pr = p + (long)i * N, *dr = dp + (long)i * N, dot = 0.f;
                        for (int t = 0; t < N; t++)
                            dot += pr[t] * dr[t];
                        for (int t = 0; t < N; t++)
                            dr[t] = pr[t] * (dr[t] - dot);
                    }
                    /* dq = ds k / sqrt D;  dk = ds^T q / sqrt D */
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, D, N, scale, dp, N,
                                k, D, 0.0f, dq, D);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, N, D, N, scale, dp, N,
                                q, D, 0.0f, dk, D);
                    $1_scatter(dq, s, head * D, dx, accumulate_dx);
                    $1_scatter(dk, s, C + head * D, dx, accumulate_dx);
                    $1_scatter(dv, s, 2 * C + head * D, dx, accumulate_dx);
                }
        free(q);
    }
}>])m4_dnl
