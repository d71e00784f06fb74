/* What every operator shares: the generic shape and parameter steps,
 * arena references and the call and kernel writers the entries use. */
#include "op.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

shape3 op_input_shape(const graph *g, const node *n, int i)
{
    return g->tensors[n->in[i]].s;
}

/* PyTorch's pooling/convolution output size, with ceil_mode's rule that
 * the last window must start inside the (left-padded) input. */
int window_count(int size, int kernel, int stride, int pad, int dilation, int ceil_mode)
{
    int span = size + 2 * pad - dilation * (kernel - 1) - 1;
    if (span < 0)
        return 0;
    int out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= size + pad)
        out--;
    return out;
}

shape3 infer_shape(const graph *g, node *n)
{
    shape3 x = op_input_shape(g, n, 0);
    shape3 y = n->op->infer_shape ? n->op->infer_shape(g, n) : x;
    if (y.c < 1 || y.h < 1 || y.w < 1)
        diag_error(n->pos, "%s: output shape %dx%dx%d is empty (input %dx%dx%d)", n->name, y.c,
                   y.h, y.w, x.c, x.h, x.w);
    return y;
}

void add_node_params(graph *g, node *n)
{
    if (n->op->add_params)
        n->op->add_params(g, n);
}

/* The templates print the key as a comment after the offset. */
char *arena_ref(const char *arena, long offset, const char *key)
{
    return xasprintf("%s(%ld, [<%s>])", arena, offset, key);
}

static const char *const arena_of_kind[] = {
    [KIND_PARAM] = "bz_param", [KIND_BUFFER] = "bz_buffer", [KIND_COUNTER] = "bz_counter",
};

char *param_ref(const graph *g, const node *n, int k)
{
    const param *p = node_param(g, n, k);
    return arena_ref(arena_of_kind[p->kind], p->offset, p->key);
}

char *deploy_ref(long offset, const char *owner, const char *what)
{
    if (offset < 0)
        return xstrdup("bz_null");
    char *key = xasprintf("%s %s", owner, what);
    char *ref = arena_ref("bz_deploy", offset, key);
    free(key);
    return ref;
}

const param *node_param(const graph *g, const node *n, int k)
{
    return &g->params[n->param_first + k];
}

void fold_copy(FILE *out, const graph *g, const node *n, int k, long to, long floats)
{
    const param *p = node_param(g, n, k);
    char *from = param_ref(g, n, k), *dest = deploy_ref(to, p->key, "(copy)");
    fprintf(out, "bz_fold_call([<bz_copy_floats>], [<%s, %s, %ld>])\n", dest, from, floats);
    free(from), free(dest);
}

void op_recompute_by_forward(const op_call *c)
{
    c->n->op->forward(c, 1);
}

const attr_def op_no_attrs[] = {{NULL, 0, 0, 0, 0, 0, 0}};

char *op_numel_kernel_name(const node *n, int deploy_form)
{
    (void)deploy_form;
    return xasprintf("%s_%ld", n->op->name, shape_numel(n->in_shape));
}

void op_numel_kernels(kernel_sink *k, const node *n)
{
    char *name = op_numel_kernel_name(n, 0);
    char *macro = xasprintf("bz_%s_kernels", n->op->name);
    kernel_macro(k, macro, name, "%ld", shape_numel(n->in_shape));
    free(macro);
    free(name);
}

void op_channel_kernels(kernel_sink *k, const node *n, const char *macro, int deploy_form)
{
    char *name = n->op->kernel_name(n, deploy_form);
    kernel_macro(k, macro, name, "%d, %d", n->in_shape.c, n->in_shape.h * n->in_shape.w);
    free(name);
}

void op_call_emit(const op_call *c, const char *suffix, const char *fmt, ...)
{
    va_list ap;
    fprintf(c->out, "bz_call([<%s%s>], [<", c->kernel, suffix);
    va_start(ap, fmt);
    vfprintf(c->out, fmt, ap);
    va_end(ap);
    fprintf(c->out, ">])\n");
}
