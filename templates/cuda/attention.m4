m4_dnl bz_attention_kernels(name, channels, h, w, heads, patch): as
m4_dnl templates/reference/attention.m4.  One thread per query row (sample,
m4_dnl sequence, head, token) keeps the row's max, sum and dy . y in the
m4_dnl workspace ([B][sequences][heads][tokens][3], bzgen's size); the key
m4_dnl and value gradients gather over the query rows in a second pass, so
m4_dnl no two threads write one element.
m4_define([<bz_attention_kernels>], [<
enum { $1_C = $2, $1_H = $3, $1_W = $4, $1_HEADS = $5, $1_P = $6, $1_D = $2 / $5,
       $1_SEQS = $6 * $6, $1_TOKENS = $3 * $4 / ($6 * $6) };

static __device__ inline long $1_pixel(int s, int t)
{
    enum { P = $1_P, TW = $1_W / $1_P };
    return (long)(t / TW * P + s / P) * $1_W + t % TW * P + s % P;
}

/* row r = ((n * SEQS + s) * HEADS + head) * N + i */
static __device__ inline void $1_row(long r, int *n, int *s, int *head, int *i)
{
    *i = (int)(r % $1_TOKENS);
    *head = (int)(r / $1_TOKENS % $1_HEADS);
    *s = (int)(r / ((long)$1_TOKENS * $1_HEADS) % $1_SEQS);
    *n = (int)(r / ((long)$1_TOKENS * $1_HEADS * $1_SEQS));
}

/* q(i) . k(t) / sqrt(D) within one sample's qkv */
static __device__ inline float $1_score(const float *x, int s, int head, int i, int t)
{
    enum { C3 = 3 * $1_C, D = $1_D };
    const float *q = x + $1_pixel(s, i) * C3 + head * D;
    const float *k = x + $1_pixel(s, t) * C3 + $1_C + head * D;
    float dot = 0.f;
    for (int d = 0; d < D; d++)
        dot += q[d] * k[d];
    return dot * rsqrtf((float)D);
}

static __global__ void $1_stats_kernel(const float *qkv, float *stats, long rows)
{
    BZ_CUDA_FOR(r, rows) {
        int n, s, head, i;
        $1_row(r, &n, &s, &head, &i);
        const float *x = qkv + (long)n * $1_H * $1_W * 3 * $1_C;
        float max = -INFINITY, sum = 0.f;
        for (int t = 0; t < $1_TOKENS; t++)
            max = fmaxf(max, $1_score(x, s, head, i, t));
        for (int t = 0; t < $1_TOKENS; t++)
            sum += expf($1_score(x, s, head, i, t) - max);
        stats[3 * r] = max;
        stats[3 * r + 1] = sum;
    }
}

static __global__ void $1_forward_kernel(const float *qkv, const float *stats, float *y,
                                         long rows)
{
    enum { C = $1_C, C3 = 3 * $1_C, D = $1_D };
    BZ_CUDA_FOR(r, rows) {
        int n, s, head, i;
        $1_row(r, &n, &s, &head, &i);
        const float *x = qkv + (long)n * $1_H * $1_W * C3;
        float *out = y + ((long)n * $1_H * $1_W + $1_pixel(s, i)) * C + head * D;
        for (int d = 0; d < D; d++)
            out[d] = 0.f;
        for (int t = 0; t < $1_TOKENS; t++) {
            float p = expf($1_score(x, s, head, i, t) - stats[3 * r]) / stats[3 * r + 1];
            const float *v = x + $1_pixel(s, t) * C3 + 2 * C + head * D;
            for (int d = 0; d < D; d++)
                out[d] += p * v[d];
        }
    }
}

/* dy(i) . v(t) */
static __device__ inline float $1_dp(const float *x, const float *g, int s, int head, int t)
{
    const float *v = x + $1_pixel(s, t) * 3 * $1_C + 2 * $1_C + head * $1_D;
    float dot = 0.f;
    for (int d = 0; d < $1_D; d++)
        dot += g[d] * v[d];
    return dot;
}

/* per query row: stats[3r + 2] = sum_t p dy.v, then dq */
static __global__ void $1_query_grad_kernel(const float *qkv, const float *dy, float *stats,
                                            float *dqkv, int accumulate_dx, long rows)
{
    enum { C = $1_C, C3 = 3 * $1_C, D = $1_D };
    BZ_CUDA_FOR(r, rows) {
        int n, s, head, i;
        $1_row(r, &n, &s, &head, &i);
        const float *x = qkv + (long)n * $1_H * $1_W * C3;
        const float *g = dy + ((long)n * $1_H * $1_W + $1_pixel(s, i)) * C + head * D;
        float *dq = dqkv + ((long)n * $1_H * $1_W + $1_pixel(s, i)) * C3 + head * D;
        float max = stats[3 * r], sum = stats[3 * r + 1], dot = 0.f;
        for (int t = 0; t < $1_TOKENS; t++)
            dot += expf($1_score(x, s, head, i, t) - max) / sum * $1_dp(x, g, s, head, t);
        stats[3 * r + 2] = dot;
        for (int d = 0; d < D; d++)
            dq[d] = accumulate_dx ? dq[d] : 0.f;
        for (int t = 0; t < $1_TOKENS; t++) {
            float p = expf($1_score(x, s, head, i, t) - max) / sum;
            float ds = p * ($1_dp(x, g, s, head, t) - dot) * rsqrtf((float)D);
            const float *k = x + $1_pixel(s, t) * C3 + C + head * D;
            for (int d = 0; d < D; d++)
                dq[d] += ds * k[d];
        }
    }
}

/* per key row t: dk and dv, gathered over the query rows i */
static __global__ void $1_key_value_grad_kernel(const float *qkv, const float *dy,
                                                const float *stats, float *dqkv,
                                                int accumulate_dx, long rows)
{
    enum { C = $1_C, C3 = 3 * $1_C, D = $1_D };
    BZ_CUDA_FOR(r, rows) {
        int n, s, head, t;
        $1_row(r, &n, &s, &head, &t);
        const float *x = qkv + (long)n * $1_H * $1_W * C3;
        float *dk = dqkv + ((long)n * $1_H * $1_W + $1_pixel(s, t)) * C3 + C + head * D;
        float *dv = dk + C;
        long first = r - t;   /* the row of query 0 of this sequence and head */
        for (int d = 0; d < D; d++) {
            dk[d] = accumulate_dx ? dk[d] : 0.f;
            dv[d] = accumulate_dx ? dv[d] : 0.f;
        }
        for (int i = 0; i < $1_TOKENS; i++) {
            const float *st = stats + 3 * (first + i);
            const float *g = dy + ((long)n * $1_H * $1_W + $1_pixel(s, i)) * C + head * D;
            const float *q = x + $1_pixel(s, i) * C3 + head * D;
            float p = expf($1_score(x, s, head, i, t) - st[0]) / st[1];
            float ds = p * ($1_dp(x, g, s, head, t) - st[2]) * rsqrtf((float)D);
            for (int d = 0; d < D; d++) {
                dk[d] += ds * q[d];
                dv[d] += p * g[d];
            }
        }
    }
}

bz_entry([<void $1_forward(const float *qkv, float *y, float *workspace, int batch)>])
{
    long rows = (long)batch * $1_SEQS * $1_HEADS * $1_TOKENS;
    $1_stats_kernel<<<bz_cuda_blocks(rows), BZ_CUDA_THREADS>>>(qkv, workspace, rows);
    BZ_CUDA_LAUNCHED("[<$1>] softmax statistics");
    $1_forward_kernel<<<bz_cuda_blocks(rows), BZ_CUDA_THREADS>>>(qkv, workspace, y, rows);
    BZ_CUDA_LAUNCHED("[<$1>] forward");
}

bz_entry([<void $1_backward(const float *qkv, const float *dy, float *dqkv, int accumulate_dx,
                            float *workspace, int batch)>])
{
    long rows = (long)batch * $1_SEQS * $1_HEADS * $1_TOKENS;
    $1_stats_kernel<<<bz_cuda_blocks(rows), BZ_CUDA_THREADS>>>(qkv, workspace, rows);
    BZ_CUDA_LAUNCHED("[<$1>] softmax statistics");
    $1_query_grad_kernel<<<bz_cuda_blocks(rows), BZ_CUDA_THREADS>>>(qkv, dy, workspace, dqkv,
                                                                   accumulate_dx, rows);
    BZ_CUDA_LAUNCHED("[<$1>] query gradient");
    $1_key_value_grad_kernel<<<bz_cuda_blocks(rows), BZ_CUDA_THREADS>>>(qkv, dy, workspace,
                                                                       dqkv, accumulate_dx, rows);
    BZ_CUDA_LAUNCHED("[<$1>] key and value gradients");
}>])m4_dnl
