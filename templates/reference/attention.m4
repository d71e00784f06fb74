m4_dnl bz_attention_kernels(name, channels, h, w, heads, patch): fused
m4_dnl multi-head self-attention (gen/op_attention.c).  qkv [B][H][W][3C],
m4_dnl channels [q | k | v], each [heads][D]; y [B][H][W][C].  Sequence s
m4_dnl holds the pixels at offset (s / patch, s % patch) of every
m4_dnl patch x patch tile; for each sequence, head and query token:
m4_dnl y = softmax(q k^T / sqrt(D)) v.  The backward finds the softmax
m4_dnl again from q and k (no probabilities are kept):
m4_dnl   dv += p dy,  ds = p (dy.v - sum_t p dy.v),  dq = ds k / sqrt D,
m4_dnl   dk += ds q / sqrt D.
m4_define([<bz_attention_kernels>], [<
enum { $1_C = $2, $1_H = $3, $1_W = $4, $1_HEADS = $5, $1_P = $6, $1_D = $2 / $5,
       $1_SEQS = $6 * $6, $1_TOKENS = $3 * $4 / ($6 * $6) };

/* the pixel (h * W + w) of token t of sequence s */
static long $1_pixel(int s, int t)
{
    enum { P = $1_P, TW = $1_W / $1_P };
    return (long)(t / TW * P + s / P) * $1_W + t % TW * P + s % P;
}

/* p[t] = softmax over t of q(query) . k(t) / sqrt(D), for one sample,
 * sequence and head; qkv points at the sample */
static void $1_probabilities(const real_t *qkv, int s, int head, int query, double *p)
{
    enum { C3 = 3 * $1_C, N = $1_TOKENS, D = $1_D };
    const real_t *q = qkv + $1_pixel(s, query) * C3 + head * D;
    double max = -INFINITY, sum = 0;
    for (int t = 0; t < N; t++) {
        const real_t *k = qkv + $1_pixel(s, t) * C3 + $1_C + head * D;
        double dot = 0;
        for (int d = 0; d < D; d++)
            dot += (double)q[d] * k[d];
        p[t] = dot / sqrt((double)D);
        max = p[t] > max ? p[t] : max;
    }
    for (int t = 0; t < N; t++)
        sum += p[t] = exp(p[t] - max);
    for (int t = 0; t < N; t++)
        p[t] /= sum;
}

bz_entry([<void $1_forward(const real_t *qkv, real_t *y, real_t *workspace, int batch)>])
{
    enum { C = $1_C, C3 = 3 * $1_C, HW = $1_H * $1_W, N = $1_TOKENS, D = $1_D };
    double *p = bz_xmalloc(sizeof *p * N);
    (void)workspace;
    for (int n = 0; n < batch; n++)
        for (int s = 0; s < $1_SEQS; s++)
            for (int head = 0; head < $1_HEADS; head++)
                for (int i = 0; i < N; i++) {
                    const real_t *x = qkv + (long)n * HW * C3;
                    $1_probabilities(x, s, head, i, p);
                    for (int d = 0; d < D; d++) {
                        double acc = 0;
                        for (int t = 0; t < N; t++)
                            acc += p[t] * x[$1_pixel(s, t) * C3 + 2 * C + head * D + d];
                        y[((long)n * HW + $1_pixel(s, i)) * C + head * D + d] = (real_t)acc;
                    }
                }
    free(p);
}

bz_entry([<void $1_backward(const real_t *qkv, const real_t *dy, real_t *dqkv, int accumulate_dx,
                            real_t *workspace, int batch)>])
{
    enum { C = $1_C, C3 = 3 * $1_C, HW = $1_H * $1_W, N = $1_TOKENS, D = $1_D };
    double *p = bz_xmalloc(sizeof *p * N), *dp = bz_xmalloc(sizeof *dp * N);
    const double scale = 1 / sqrt((double)D);
    (void)workspace;
    if (!accumulate_dx)
        memset(dqkv, 0, sizeof(real_t) * (size_t)batch * HW * C3);
    for (int n = 0; n < batch; n++)
        for (int s = 0; s < $1_SEQS; s++)
            for (int head = 0; head < $1_HEADS; head++)
                for (int i = 0; i < N; i++) {
                    const real_t *x = qkv + (long)n * HW * C3;
                    real_t *dx = dqkv + (long)n * HW * C3;
                    const real_t *g = dy + ((long)n * HW + $1_pixel(s, i)) * C + head * D;
                    const real_t *q = x + $1_pixel(s, i) * C3 + head * D;
                    double dot_o = 0;
                    $1_probabilities(x, s, head, i, p);
                    for (int t = 0; t < N; t++) {
                        dp[t] = 0;
                        for (int d = 0; d < D; d++)
                            dp[t] += (double)g[d] * x[$1_pixel(s, t) * C3 + 2 * C + head * D + d];
                        dot_o += p[t] * dp[t];
                    }
                    for (int t = 0; t < N; t++) {
                        double ds = p[t] * (dp[t] - dot_o) * scale;
                        long at = $1_pixel(s, t) * C3 + head * D;
                        for (int d = 0; d < D; d++) {
                            dx[$1_pixel(s, i) * C3 + head * D + d] += (real_t)(ds * x[at + C + d]);
                            dx[at + C + d] += (real_t)(ds * q[d]);
                            dx[at + 2 * C + d] += (real_t)(p[t] * g[d]);
                        }
                    }
                }
    free(p);
    free(dp);
}>])m4_dnl
