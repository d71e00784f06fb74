m4_dnl bz_add_kernels(name, elements per sample): a residual sum; its
m4_dnl backward hands dy to both inputs.
m4_define([<bz_add_kernels>], [<
static void $1_forward(const real_t *a, const real_t *b, real_t *y, int batch)
{
    for (long i = 0; i < (long)batch * $2; i++)
        y[i] = a[i] + b[i];
}

static void $1_backward(const real_t *dy, real_t *da, int accumulate_da, real_t *db,
                        int accumulate_db, int batch)
{
    for (long i = 0; i < (long)batch * $2; i++) {
        da[i] = accumulate_da ? da[i] + dy[i] : dy[i];
        db[i] = accumulate_db ? db[i] + dy[i] : dy[i];
    }
}>])m4_dnl
