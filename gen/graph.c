#include "graph.h"

#include <string.h>

long shape_numel(shape3 s) { return (long)s.c * s.h * s.w; }

int graph_add_tensor(graph *g, shape3 s, int producer)
{
    if (g->n_tensors == g->cap_tensors) {
        g->cap_tensors = g->cap_tensors ? 2 * g->cap_tensors : 64;
        g->tensors = xrealloc(g->tensors, (size_t)g->cap_tensors * sizeof *g->tensors);
    }
    g->tensors[g->n_tensors].s = s;
    g->tensors[g->n_tensors].producer = producer;
    return g->n_tensors++;
}

int sole_consumer(const graph *g, int t)
{
    int found = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == t) {
                if (found >= 0)
                    return -1;
                found = i;
            }
    return found;
}

node *graph_add_node(graph *g)
{
    if (g->n_nodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? 2 * g->cap_nodes : 64;
        g->nodes = xrealloc(g->nodes, (size_t)g->cap_nodes * sizeof *g->nodes);
    }
    node *n = &g->nodes[g->n_nodes++];
    memset(n, 0, sizeof *n);
    n->bn_index = -1;
    return n;
}

reparam_group *graph_add_group(graph *g)
{
    g->groups = xrealloc(g->groups, (size_t)(g->n_groups + 1) * sizeof *g->groups);
    reparam_group *r = &g->groups[g->n_groups++];
    memset(r, 0, sizeof *r);
    return r;
}

long graph_add_param(graph *g, node *owner, const char *leaf, int kind, int layout,
                     int init, int ndim, const long *shape, long fan_in)
{
    if (g->n_params == g->cap_params) {
        g->cap_params = g->cap_params ? 2 * g->cap_params : 64;
        g->params = xrealloc(g->params, (size_t)g->cap_params * sizeof *g->params);
    }
    param *p = &g->params[g->n_params];
    memset(p, 0, sizeof *p);
    const char *prefix = owner->param_prefix ? owner->param_prefix : owner->name;
    p->key = prefix[0] ? xasprintf("%s.%s", prefix, leaf) : xstrdup(leaf);
    p->kind = kind;
    p->layout = layout;
    p->init = init;
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->numel *= shape[i];
    }
    p->fan_in = fan_in;
    long *arena = kind == KIND_PARAM ? &g->n_param_floats
                : kind == KIND_BUFFER ? &g->n_buffer_floats : &g->n_counters;
    p->offset = *arena;
    *arena += p->numel;
    if (owner->n_param == 0)
        owner->param_first = g->n_params;
    owner->n_param++;
    return g->n_params++;
}
