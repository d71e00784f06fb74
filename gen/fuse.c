/* Training-step fusion: a node whose operator has relu_epilogue (BatchNorm,
 * add, sub) and whose output only a ReLU reads applies that ReLU as it
 * writes, in the training forward and in its recompute; the ReLU's own pass
 * goes, and so does the node's output (no kernel writes or reads it).  The
 * deploy graph's convs absorb their ReLU in gen/deploy.c. */
#include "op.h"

#include <stdlib.h>

static int *unset(int n)
{
    int *v = malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = -1;
    return v;
}

relu_fusion plan_relu_fusion(const graph *g)
{
    relu_fusion f = {unset(g->n_nodes), unset(g->n_nodes)};
    for (int i = 0; i < g->n_nodes; i++) {
        if (!g->nodes[i].op->relu_epilogue)
            continue;
        int c = sole_consumer(g, g->nodes[i].out);
        if (c >= 0 && g->nodes[c].op->conv_epilogue) {
            f.applier[c] = i;
            f.applied[i] = c;
        }
    }
    return f;
}
