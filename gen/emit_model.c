/* model.m4: kernels, then the five model functions as straight-line calls. */
#include "emit.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    FILE *out;
    const model_facts *f;
    char **seen;          /* kernel macros already emitted */
    int n_seen;
} emitter;

static int first_use(emitter *em, const char *kernel_macro, const char *name)
{
    char *key = xasprintf("%s %s", kernel_macro, name);
    for (int i = 0; i < em->n_seen; i++)
        if (strcmp(em->seen[i], key) == 0) {
            free(key);
            return 0;
        }
    em->seen = xrealloc(em->seen, (size_t)(em->n_seen + 1) * sizeof *em->seen);
    em->seen[em->n_seen++] = key;
    return 1;
}

/* The optimised backend's algorithm for a convolution; the reference
 * backend implements every one with the same plain loops. */
static const char *conv_algorithm(const node *n, int max_batch)
{
    const conv_attrs *c = &n->conv;
    if (conv_uses_winograd(n))
        return "winograd";
    if (conv_uses_tiled(n, max_batch))
        return conv_uses_im2col(n) ? "tiled" : "pointwise_tiled";
    if (c->groups == 1)
        return conv_uses_im2col(n) ? "im2col" : "pointwise";
    if (c->groups == n->in_shape.c)
        return "depthwise";
    return "direct";
}

static void conv_kernel(emitter *em, const node *n, int bias, const char *pass)
{
    char *name = kernel_name(n, bias);
    const conv_attrs *c = &n->conv;
    char *which = xasprintf("bz_conv2d_%s_%s_kernel", conv_algorithm(n, em->f->e->max_batch), pass);
    if (first_use(em, which, name))
        fprintf(em->out, "%s([<%s>], %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d)\n",
                which, name, n->in_shape.c, n->in_shape.h, n->in_shape.w, c->out_c,
                n->out_shape.h, n->out_shape.w, c->kh, c->kw, c->stride, c->pad, c->groups,
                c->bias || bias,
                conv_workspace_floats(n, em->f->e->max_batch) ? conv_chunk_samples(n, em->f->e->max_batch) : 0);
    free(which);
    free(name);
}

static void op_kernels(emitter *em, const node *n)
{
    char *name = kernel_name(n, 0);
    shape3 x = n->in_shape, y = n->out_shape;
    const pool_attrs *p = &n->pool;
    if (n->op == OP_CONV2D) {
        conv_kernel(em, n, 0, "forward");
        conv_kernel(em, n, 0, "backward");
    } else if (!first_use(em, op_name(n->op), name)) {
    } else if (n->op == OP_BATCHNORM2D) {
        fprintf(em->out, "bz_batchnorm2d_kernels([<%s>], %d, %d)\n", name, x.c, x.h * x.w);
    } else if (n->op == OP_AVGPOOL2D) {
        fprintf(em->out, "bz_avgpool2d_kernels([<%s>], %d, %d, %d, %d, %d, %d, %d, %d, %d)\n", name,
                x.c, x.h, x.w, y.h, y.w, p->kernel, p->stride, p->pad, p->count_include_pad);
    } else if (n->op == OP_GLOBAL_AVGPOOL) {
        fprintf(em->out, "bz_global_avgpool_kernels([<%s>], %d, %d)\n", name, x.c, x.h * x.w);
    } else if (n->op == OP_LINEAR) {
        fprintf(em->out, "bz_linear_kernels([<%s>], %d, %d, %d)\n", name, x.c, y.c, n->bias);
    } else if (n->op == OP_MUL) {
        fprintf(em->out, "bz_mul_kernels([<%s>], %d, %d, %d)\n", name, x.c, x.h * x.w,
                n->mul_b_pixels);
    } else if (n->op == OP_CONCAT) {
        fprintf(em->out, "bz_concat_kernels([<%s>], %d, %d, %d)\n", name, x.c, y.c - x.c,
                x.h * x.w);
    } else if (n->op == OP_LAYERNORM2D) {
        fprintf(em->out, "bz_layernorm2d_kernels([<%s>], %d, %d)\n", name, x.c, x.h * x.w);
    } else if (n->op == OP_CHANNEL_SCALE) {
        fprintf(em->out, "bz_channel_scale_kernels([<%s>], %d, %d)\n", name, x.c, x.h * x.w);
    } else {
        fprintf(em->out, "bz_%s_kernels([<%s>], %ld)\n", op_name(n->op), name, shape_numel(x));
    }
    free(name);
}

static void deploy_kernels(emitter *em, const deploy_step *s)
{
    const node *n = s->n;
    if (n->op == OP_CONV2D) {
        int bias = s->folded_bn >= 0 || s->group >= 0;
        conv_kernel(em, n, bias, "forward");
        if (deploy_step_prepacked(em->f, s))
            conv_kernel(em, n, bias, "deploy");
    } else if (n->op == OP_BATCHNORM2D) {
        char *name = kernel_name(n, 1);
        if (first_use(em, "affine", name))
            fprintf(em->out, "bz_channel_affine_kernel([<%s>], %d, %d)\n", name, n->in_shape.c,
                    n->in_shape.h * n->in_shape.w);
        free(name);
    }
}

static void emit_kernels(emitter *em)
{
    fprintf(em->out, "bz_kernels_begin\n");
    for (int i = 0; i < em->f->g->n_nodes; i++)
        op_kernels(em, &em->f->g->nodes[i]);
    for (int s = 0; s < em->f->deploy.n_steps; s++)
        deploy_kernels(em, &em->f->deploy.steps[s]);
}

void emit_forward_functions(FILE *out, const model_facts *f);
void emit_backward_function(FILE *out, const model_facts *f);
void emit_deploy_functions(FILE *out, const model_facts *f);

void emit_model(FILE *out, const model_facts *f)
{
    emitter em = {out, f, NULL, 0};
    fprintf(out, "bz_model_header([<%s>], [<%s>], [<%s>], [<%s>])\n", f->e->name,
            f->registry_name, f->e->position, f->e->spec_path);
    emit_kernels(&em);
    emit_forward_functions(out, f);
    emit_backward_function(out, f);
    emit_deploy_functions(out, f);
    fprintf(out, "bz_backend_table\n");
    for (int i = 0; i < em.n_seen; i++)
        free(em.seen[i]);
    free(em.seen);
}
