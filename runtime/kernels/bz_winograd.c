/* Winograd F(2x2, 3x3) kernel transforms (Lavin and Gray, 2015): the
 * shape-independent part of templates/optimised/conv2d_winograd.m4.
 * G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]. */
#include "kernels/bz_kernels.h"

/* rows of G t for a 3-row t, column by column: out [4][cols] */
static void apply_g(const float *t, int cols, float *out)
{
    for (int j = 0; j < cols; j++) {
        float a = t[j], b = t[cols + j], c = t[2 * cols + j];
        out[j] = a;
        out[cols + j] = 0.5f * (a + b + c);
        out[2 * cols + j] = 0.5f * (a - b + c);
        out[3 * cols + j] = c;
    }
}

/* rows of G^T t for a 4-row t: out [3][cols] */
static void apply_g_transposed(const float *t, int cols, float *out)
{
    for (int j = 0; j < cols; j++) {
        float a = t[j], b = t[cols + j], c = t[2 * cols + j], d = t[3 * cols + j];
        out[j] = a + 0.5f * (b + c);
        out[cols + j] = 0.5f * (b - c);
        out[2 * cols + j] = 0.5f * (b + c) + d;
    }
}

static void transpose(const float *t, int rows, int cols, float *out)
{
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++)
            out[j * rows + i] = t[i * cols + j];
}

void bz_winograd_kernel_transform(const float g[9], float u[16])
{
    float gg[12], ggt[12], u_t[16];
    apply_g(g, 3, gg);           /* G g: [4][3] */
    transpose(gg, 4, 3, ggt);    /* [3][4] */
    apply_g(ggt, 4, u_t);        /* G (G g)^T = (G g G^T)^T: [4][4] */
    transpose(u_t, 4, 4, u);
}

void bz_winograd_kernel_gradient(const float du[16], float dg[9])
{
    float a[12], at[12], dg_t[9];
    apply_g_transposed(du, 4, a);     /* G^T du: [3][4] */
    transpose(a, 3, 4, at);           /* [4][3] */
    apply_g_transposed(at, 3, dg_t);  /* G^T (G^T du)^T = (G^T du G)^T: [3][3] */
    transpose(dg_t, 3, 3, dg);
}
