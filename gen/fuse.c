/* Training-step fusion: a BatchNorm (op_def.relu_epilogue) whose output
 * only a ReLU reads applies that ReLU as it writes, in the training forward
 * and in its recompute; the ReLU's own pass goes, and so does the
 * BatchNorm's output (no kernel writes or reads it).  The deploy graph's
 * convs absorb their ReLU in gen/deploy.c. */
#include "op.h"

#include <stdlib.h>

int *relu_appliers(const graph *g)
{
    int *by = malloc((size_t)g->n_nodes * sizeof *by);
    for (int i = 0; i < g->n_nodes; i++)
        by[i] = -1;
    for (int i = 0; i < g->n_nodes; i++) {
        if (!g->nodes[i].op->relu_epilogue)
            continue;
        int c = sole_consumer(g, g->nodes[i].out);
        if (c >= 0 && g->nodes[c].op->conv_epilogue)
            by[c] = i;
    }
    return by;
}
