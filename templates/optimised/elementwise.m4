m4_dnl Optimised residual add: OpenMP + SIMD.
m4_define([<bz_add_kernels>], [<
static void $1_forward(const float *a, const float *b, float *y, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++)
        y[i] = a[i] + b[i];
}

static void $1_backward(const float *dy, float *da, int accumulate_da, float *db,
                        int accumulate_db, int batch)
{
    #pragma omp parallel for simd schedule(static)
    for (long i = 0; i < (long)batch * $2; i++) {
        da[i] = accumulate_da ? da[i] + dy[i] : dy[i];
        db[i] = accumulate_db ? db[i] + dy[i] : dy[i];
    }
}>])m4_dnl
