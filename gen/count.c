#include "analysis.h"

#include <string.h>

static int counts_as_leaf(const node *n)
{
    return strcmp(n->torch_class, "BatchNormAct2d") != 0 &&
           strcmp(n->torch_class, "LayerNormAct2d") != 0;
}

long node_macs(const node *n)
{
    long pixels = (long)n->out_shape.h * n->out_shape.w;
    const conv_attrs *c = &n->conv;
    switch (n->op) {
    case OP_CONV2D:
        return ((long)c->out_c * (n->in_shape.c / c->groups) * c->kh * c->kw +
                (c->bias ? c->out_c : 0)) * pixels;
    case OP_BATCHNORM2D:
    case OP_LAYERNORM2D:
        return counts_as_leaf(n) ? 2L * n->in_shape.c : 0;
    case OP_LINEAR:
        return (long)n->features * n->in_shape.c + (n->bias ? n->features : 0);
    default:
        return 0;
    }
}

long node_params(const graph *g, const node *n)
{
    long total = 0;
    for (int k = 0; k < n->n_param; k++)
        if (g->params[n->param_first + k].kind == KIND_PARAM)
            total += g->params[n->param_first + k].numel;
    return total;
}

long graph_params(const graph *g)
{
    return g->n_param_floats;
}
