m4_dnl Optimised elementwise operators: OpenMP + SIMD.
m4_define([<bz_add_kernels>], [<
bz_entry([<void $1_forward(const float *a, const float *b, float *y, int relu, int batch)>])
{
    long n = (long)batch * $2;
    if (relu) {
        #pragma omp parallel for simd schedule(static)
        for (long i = 0; i < n; i++) {
            float v = a[i] + b[i];
            y[i] = v > 0 ? v : 0;
        }
    } else {
        #pragma omp parallel for simd schedule(static)
        for (long i = 0; i < n; i++)
            y[i] = a[i] + b[i];
    }
}

/* a NULL da or db: that gradient is dy's buffer (gen/fuse.c) */
bz_entry([<void $1_backward(const float *dy, float *da, int accumulate_da, float *db,
                            int accumulate_db, int batch)>])
{
    long n = (long)batch * $2;
    if (da && db) {
        #pragma omp parallel for simd schedule(static)
        for (long i = 0; i < n; i++) {
            da[i] = accumulate_da ? da[i] + dy[i] : dy[i];
            db[i] = accumulate_db ? db[i] + dy[i] : dy[i];
        }
    } else if (da || db) {
        float *d = da ? da : db;
        int accumulate = da ? accumulate_da : accumulate_db;
        #pragma omp parallel for simd schedule(static)
        for (long i = 0; i < n; i++)
            d[i] = accumulate ? d[i] + dy[i] : dy[i];
    }
}>])m4_dnl
m4_dnl Optimised difference (RepMixer): OpenMP + SIMD.
m4_define([<bz_sub_kernels>], [<
bz_entry([<void $1_forward(const float *a, const float *b, float *y, int relu, int batch)>])
{
    long n = (long)batch * $2;
    if (relu) {
        #pragma omp parallel for simd schedule(static)
        for (long i = 0; i < n; i++) {
            float v = a[i] - b[i];
            y[i] = v > 0 ? v : 0;
        }
    } else {
        #pragma omp parallel for simd schedule(static)
        for (long i = 0; i < n; i++)
            y[i] = a[i] - b[i];
    }
}

/* a NULL da: a's gradient is dy's buffer (gen/fuse.c) */
bz_entry([<void $1_backward(const float *dy, float *da, int accumulate_da, float *db,
                            int accumulate_db, int batch)>])
{
    long n = (long)batch * $2;
    if (da) {
        #pragma omp parallel for simd schedule(static)
        for (long i = 0; i < n; i++) {
            da[i] = accumulate_da ? da[i] + dy[i] : dy[i];
            db[i] = accumulate_db ? db[i] - dy[i] : -dy[i];
        }
    } else {
        #pragma omp parallel for simd schedule(static)
        for (long i = 0; i < n; i++)
            db[i] = accumulate_db ? db[i] - dy[i] : -dy[i];
    }
}>])m4_dnl
m4_dnl Optimised LayerScale2d: OpenMP over rows, SIMD over channels; the
m4_dnl gamma gradient through the deterministic per-channel reduction.
m4_define([<bz_channel_scale_kernels>], [<
bz_entry([<void $1_forward(const float *x, const float *gamma, float *y, int batch)>])
{
    enum { C = $2, HW = $3 };
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)batch * HW; i++)
        #pragma omp simd
        for (int c = 0; c < C; c++)
            y[i * C + c] = x[i * C + c] * gamma[c];
}

bz_entry([<void $1_backward(const float *x, const float *gamma, const float *dy, float *dx,
                            int accumulate_dx, float *dgamma, int batch)>])
{
    enum { C = $2, HW = $3 };
    double zero[C], sum_dy[C], sum_dy_x[C];
    memset(zero, 0, sizeof zero);
    bz_channel_grad_sums(x, dy, zero, (long)batch * HW, C, NULL, NULL, sum_dy, sum_dy_x);
    for (int c = 0; c < C; c++)
        dgamma[c] = (float)sum_dy_x[c];
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)batch * HW; i++)
        #pragma omp simd
        for (int c = 0; c < C; c++) {
            float g = dy[i * C + c] * gamma[c];
            dx[i * C + c] = accumulate_dx ? dx[i * C + c] + g : g;
        }
}>])m4_dnl
m4_dnl Optimised mul: OpenMP over samples (each owns its slice of db).
m4_define([<bz_mul_kernels>], [<
bz_entry([<void $1_forward(const float *a, const float *b, float *y, int batch)>])
{
    enum { C = $2, HW = $3, HW_B = $4 };
    #pragma omp parallel for collapse(2) schedule(static)
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < HW; p++) {
            const float *bp = b + ((long)n * HW_B + (HW_B == 1 ? 0 : p)) * C;
            long i = ((long)n * HW + p) * C;
            #pragma omp simd
            for (int c = 0; c < C; c++)
                y[i + c] = a[i + c] * bp[c];
        }
}

bz_entry([<void $1_backward(const float *a, const float *b, const float *dy, float *da,
                            int accumulate_da, float *db, int accumulate_db, int batch)>])
{
    enum { C = $2, HW = $3, HW_B = $4 };
    #pragma omp parallel for schedule(static)
    for (int n = 0; n < batch; n++) {
        float *dbn = db + (long)n * HW_B * C;
        if (!accumulate_db)
            memset(dbn, 0, sizeof(float) * HW_B * C);
        for (int p = 0; p < HW; p++) {
            long i = ((long)n * HW + p) * C, j = (HW_B == 1 ? 0 : p) * C;
            const float *bp = b + (long)n * HW_B * C + j;
            #pragma omp simd
            for (int c = 0; c < C; c++) {
                float g = dy[i + c] * bp[c];
                da[i + c] = accumulate_da ? da[i + c] + g : g;
                dbn[j + c] += dy[i + c] * a[i + c];
            }
        }
    }
}>])m4_dnl
m4_dnl Optimised concatenation along the channels (GhostNet's modules):
m4_dnl OpenMP over the pixels, each a copy of a's channels then b's.
m4_define([<bz_concat_kernels>], [<
bz_entry([<void $1_forward(const float *a, const float *b, float *y, int batch)>])
{
    enum { CA = $2, CB = $3, HW = $4 };
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)batch * HW; i++) {
        memcpy(y + i * (CA + CB), a + i * CA, sizeof(float) * CA);
        memcpy(y + i * (CA + CB) + CA, b + i * CB, sizeof(float) * CB);
    }
}

bz_entry([<void $1_backward(const float *dy, float *da, int accumulate_da, float *db,
                            int accumulate_db, int batch)>])
{
    enum { CA = $2, CB = $3, HW = $4 };
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < (long)batch * HW; i++) {
        const float *g = dy + i * (CA + CB);
        float *dai = da + i * CA, *dbi = db + i * CB;
        #pragma omp simd
        for (int c = 0; c < CA; c++)
            dai[c] = accumulate_da ? dai[c] + g[c] : g[c];
        #pragma omp simd
        for (int c = 0; c < CB; c++)
            dbi[c] = accumulate_db ? dbi[c] + g[CA + c] : g[CA + c];
    }
}>])m4_dnl
