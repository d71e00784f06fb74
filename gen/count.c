#include "op.h"

long node_macs(const node *n)
{
    return n->op->macs ? n->op->macs(n) * (n->macs_times ? n->macs_times : 1) : 0;
}

long node_work_macs(const node *n)
{
    return n->op->work_macs ? n->op->work_macs(n) : node_macs(n);
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
