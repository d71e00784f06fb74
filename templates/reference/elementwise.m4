m4_dnl bz_add_kernels(name, elements per sample): a residual sum (relu 1:
m4_dnl through the ReLU after it, gen/fuse.c); its backward hands dy to both
m4_dnl inputs (a NULL da or db: that gradient is dy's buffer, gen/fuse.c).
m4_define([<bz_add_kernels>], [<
bz_entry([<void $1_forward(const real_t *a, const real_t *b, real_t *y, int relu, int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++) {
        real_t v = a[i] + b[i];
        y[i] = relu && !(v > 0) ? 0 : v;
    }
}

bz_entry([<void $1_backward(const real_t *dy, real_t *da, int accumulate_da, real_t *db,
                            int accumulate_db, int batch)>])
{
    for (long i = 0; da && i < (long)batch * $2; i++)
        da[i] = accumulate_da ? da[i] + dy[i] : dy[i];
    for (long i = 0; db && i < (long)batch * $2; i++)
        db[i] = accumulate_db ? db[i] + dy[i] : dy[i];
}>])m4_dnl
m4_dnl bz_sub_kernels(name, elements per sample): y = a - b (FastViT's
m4_dnl RepMixer); its backward hands dy to a (a NULL da: a's gradient is dy's
m4_dnl buffer) and -dy to b.
m4_define([<bz_sub_kernels>], [<
bz_entry([<void $1_forward(const real_t *a, const real_t *b, real_t *y, int relu, int batch)>])
{
    for (long i = 0; i < (long)batch * $2; i++) {
        real_t v = a[i] - b[i];
        y[i] = relu && !(v > 0) ? 0 : v;
    }
}

bz_entry([<void $1_backward(const real_t *dy, real_t *da, int accumulate_da, real_t *db,
                            int accumulate_db, int batch)>])
{
    for (long i = 0; da && i < (long)batch * $2; i++)
        da[i] = accumulate_da ? da[i] + dy[i] : dy[i];
    for (long i = 0; i < (long)batch * $2; i++)
        db[i] = accumulate_db ? db[i] - dy[i] : -dy[i];
}>])m4_dnl
m4_dnl bz_channel_scale_kernels(name, channels, pixels): timm's LayerScale2d,
m4_dnl y = x * gamma[c] over x [B][pixels][C].
m4_define([<bz_channel_scale_kernels>], [<
bz_entry([<void $1_forward(const real_t *x, const real_t *gamma, real_t *y, int batch)>])
{
    enum { C = $2, HW = $3 };
    for (long i = 0; i < (long)batch * HW; i++)
        for (int c = 0; c < C; c++)
            y[i * C + c] = x[i * C + c] * gamma[c];
}

bz_entry([<void $1_backward(const real_t *x, const real_t *gamma, const real_t *dy, real_t *dx,
                            int accumulate_dx, real_t *dgamma, int batch)>])
{
    enum { C = $2, HW = $3 };
    for (int c = 0; c < C; c++) {
        double sum = 0;
        for (long i = 0; i < (long)batch * HW; i++)
            sum += (double)dy[i * C + c] * x[i * C + c];
        dgamma[c] = (real_t)sum;
    }
    for (long i = 0; i < (long)batch * HW; i++)
        for (int c = 0; c < C; c++) {
            real_t g = dy[i * C + c] * gamma[c];
            dx[i * C + c] = accumulate_dx ? dx[i * C + c] + g : g;
        }
}>])m4_dnl
m4_dnl bz_mul_kernels(name, channels, pixels, pixels of b): y = a * b with
m4_dnl a [B][pixels][C] and b of a's shape, or (pixels of b = 1) a
m4_dnl per-sample gate [B][C] broadcast over the pixels (squeeze-excite).
m4_define([<bz_mul_kernels>], [<
bz_entry([<void $1_forward(const real_t *a, const real_t *b, real_t *y, int batch)>])
{
    enum { C = $2, HW = $3, HW_B = $4 };
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < HW; p++)
            for (int c = 0; c < C; c++)
                y[((long)n * HW + p) * C + c] = a[((long)n * HW + p) * C + c] *
                                                b[((long)n * HW_B + (HW_B == 1 ? 0 : p)) * C + c];
}

bz_entry([<void $1_backward(const real_t *a, const real_t *b, const real_t *dy, real_t *da,
                            int accumulate_da, real_t *db, int accumulate_db, int batch)>])
{
    enum { C = $2, HW = $3, HW_B = $4 };
    if (!accumulate_db)
        memset(db, 0, sizeof(real_t) * (size_t)batch * HW_B * C);
    for (int n = 0; n < batch; n++)
        for (int p = 0; p < HW; p++)
            for (int c = 0; c < C; c++) {
                long i = ((long)n * HW + p) * C + c;
                long j = ((long)n * HW_B + (HW_B == 1 ? 0 : p)) * C + c;
                real_t g = dy[i] * b[j];
                da[i] = accumulate_da ? da[i] + g : g;
                db[j] += dy[i] * a[i];
            }
}>])m4_dnl
m4_dnl bz_concat_kernels(name, channels of a, channels of b, pixels):
m4_dnl y [B][pixels][Ca + Cb] = a's channels then b's (torch.cat(dim=1)).
m4_define([<bz_concat_kernels>], [<
bz_entry([<void $1_forward(const real_t *a, const real_t *b, real_t *y, int batch)>])
{
    enum { CA = $2, CB = $3, HW = $4 };
    for (long i = 0; i < (long)batch * HW; i++) {
        memcpy(y + i * (CA + CB), a + i * CA, sizeof(real_t) * CA);
        memcpy(y + i * (CA + CB) + CA, b + i * CB, sizeof(real_t) * CB);
    }
}

bz_entry([<void $1_backward(const real_t *dy, real_t *da, int accumulate_da, real_t *db,
                            int accumulate_db, int batch)>])
{
    enum { CA = $2, CB = $3, HW = $4 };
    for (long i = 0; i < (long)batch * HW; i++) {
        const real_t *g = dy + i * (CA + CB);
        for (int c = 0; c < CA; c++)
            da[i * CA + c] = accumulate_da ? da[i * CA + c] + g[c] : g[c];
        for (int c = 0; c < CB; c++)
            db[i * CB + c] = accumulate_db ? db[i * CB + c] + g[CA + c] : g[CA + c];
    }
}>])m4_dnl
