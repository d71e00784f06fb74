/* attention: multi-head scaled dot-product self-attention, fused, on the
 * qkv tensor a linear layer made (timm's Attention: qkv = Linear(C, 3C),
 * channels [q | k | v], each [heads][C / heads]), softmax(q k^T / sqrt(d)) v
 * per head; no parameters (torchinfo counts 0).
 *
 * Tokens stay where they are in the NHWC map.  With patch p, the tokens of
 * one sequence are the pixels at one offset (a, b) of every p x p tile,
 * which is what MobileViT's unfold gathers into one row of [B * P, N, C]
 * (P = p * p sequences of N = H W / P tokens); layer norms, linears and
 * adds act per pixel, so the transformer needs no unfold or fold copies,
 * and attention has no positional term, so token order does not matter. */
#include "op.h"

#include <stdlib.h>

static const attr_def attention_attrs[] = {
    {"heads", ATTR_INT, 1, 0, 1, 4096, offsetof(node, heads)},
    {"patch", ATTR_INT, 0, 1, 1, 64, offsetof(node, patch)},
    {NULL, 0, 0, 0, 0, 0, 0},
};

static shape3 attention_shape(const graph *g, node *n)
{
    shape3 x = op_input_shape(g, n, 0), y = x;
    if (x.c % 3)
        diag_error(n->pos, "%s: attention takes q, k and v in one tensor, but %d channels do not "
                   "split in 3", n->name, x.c);
    y.c = x.c / 3;
    if (y.c % n->heads)
        diag_error(n->pos, "%s: %d heads do not divide the %d channels", n->name, n->heads, y.c);
    if (x.h % n->patch || x.w % n->patch)
        diag_error(n->pos, "%s: patch size %d does not divide the %dx%d map", n->name, n->patch,
                   x.h, x.w);
    return y;
}

static char *attention_kernel_name(const node *n, int deploy_form)
{
    (void)deploy_form;
    shape3 y = n->out_shape;
    return xasprintf("attention_%dx%dx%d_h%dp%d", y.c, y.h, y.w, n->heads, n->patch);
}

static char *attention_describe(const node *n)
{
    int sequences = n->patch * n->patch;
    return xasprintf("%d heads, %d sequences of %d tokens", n->heads, sequences,
                     n->out_shape.h * n->out_shape.w / sequences);
}

/* The CUDA kernels keep each query row's max, sum and dO . O there:
 * [B][sequences][heads][tokens][3] = [B][heads][H W][3]. */
static long attention_workspace(const node *n, int max_batch)
{
    return 3L * max_batch * n->heads * n->out_shape.h * n->out_shape.w;
}

static void attention_kernels(kernel_sink *k, const node *n)
{
    char *name = attention_kernel_name(n, 0);
    shape3 y = n->out_shape;
    kernel_macro(k, "bz_attention_kernels", name, "%d, %d, %d, %d, %d", y.c, y.h, y.w, n->heads,
                 n->patch);
    free(name);
}

/* Per sequence of N tokens and per head of d channels, q k^T and the
 * probabilities times v: 2 N^2 d, so 2 N^2 C over the heads. */
static long attention_work_macs(const node *n)
{
    long sequences = (long)n->patch * n->patch;
    long tokens = (long)n->out_shape.h * n->out_shape.w / sequences;
    return 2 * tokens * tokens * n->out_shape.c * sequences;
}

static void attention_forward(const op_call *c, int train)
{
    (void)train;
    op_call_emit(c, "_forward", "%s, %s, bz_workspace", c->x[0], c->y);
}

static void attention_backward(const op_call *c)
{
    op_call_emit(c, "_backward", "%s, %s, %s, %d, bz_workspace", c->x[0], c->dy, c->dx[0],
                 c->accumulate[0]);
}

static const char *const attention_macros[] = {"bz_attention_kernels", NULL};

const op_def op_attention = {
    .name = "attention", .torch_class = "scaled_dot_product_attention", .n_inputs = 1,
    .attrs = attention_attrs, .infer_shape = attention_shape, .backward_saves = SAVES_INPUTS,
    .kernel_name = attention_kernel_name, .describe = attention_describe,
    .kernel_macros = attention_macros, .kernels = attention_kernels,
    .forward = attention_forward, .backward = attention_backward,
    .workspace = attention_workspace, .work_macs = attention_work_macs,
};
