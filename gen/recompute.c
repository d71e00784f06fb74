/* Which activations the backward recomputes instead of keeping.
 *
 * A training step keeps every tensor some backward reads (op_def's
 * backward_saves) from the forward until that backward.  After a conv,
 * BatchNorm keeps the conv's output and the ReLU after it keeps its own:
 * two tensors per layer where one determines the other.  A tensor whose
 * producer may rerun (op_def.recompute: BatchNorm from its saved batch
 * statistics, activations, adds, pools, cheap convs) from tensors kept
 * anyway is recomputed in the backward instead, just before the first
 * backward that reads it, and lives only from there to its last reader.
 *
 * "Kept anyway": the network input, or a tensor the backward reads whose
 * producer does not rerun (a conv's output that a BatchNorm reads).  A
 * chain of rerunnable producers (bn2 -> add -> relu) is recomputed link by
 * link from such tensors; its links that no backward reads are transient.
 *
 * Which nodes may rerun is gen/plan.c's greedy choice (`rerun`): a chain
 * through each block's identity branch or 1x1 shortcut conv reaches back to
 * the stem, and recomputing it all at once can cost more than it saves. */
#include "op.h"

#include <stdlib.h>

static void mark_backward_readers(const graph *g, const training_fusion *fusion,
                                  int *first_reader)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const node *n = &g->nodes[i];
        int saves = backward_reads(g, fusion, i);
        /* backward runs in reverse: the highest node index reads first */
        if (saves & SAVES_INPUTS)
            for (int k = 0; k < n->n_in; k++)
                if (i > first_reader[n->in[k]])
                    first_reader[n->in[k]] = i;
        if ((saves & SAVES_OUTPUT) && i > first_reader[n->out])
            first_reader[n->out] = i;
    }
}

char *recompute_always(const graph *g)
{
    char *rerun = calloc((size_t)g->n_nodes, 1);
    for (int i = 0; i < g->n_nodes - 1; i++)
        rerun[i] = g->nodes[i].op->recompute && !g->nodes[i].op->cheap_to_recompute;
    return rerun;
}

int recompute_on_trial(const graph *g, int i)
{
    const op_def *op = g->nodes[i].op;
    return i < g->n_nodes - 1 && op->recompute && op->cheap_to_recompute &&
           op->cheap_to_recompute(&g->nodes[i]);
}

static int rerunnable(const graph *g, const char *rerun, int t)
{
    return t != 0 && rerun[g->tensors[t].producer];
}

/* recomputable[t]: t can be rebuilt in the backward from tensors kept
 * anyway.  Tensor ids are topological (inputs before outputs). */
static char *find_recomputable(const graph *g, const char *rerun, const int *first_reader)
{
    char *ok = calloc((size_t)g->n_tensors, 1);
    for (int t = 1; t < g->n_tensors; t++) {
        if (!rerunnable(g, rerun, t))
            continue;
        const node *p = &g->nodes[g->tensors[t].producer];
        ok[t] = 1;
        for (int k = 0; k < p->n_in; k++) {
            int u = p->in[k];
            int kept_anyway = u == 0 || (first_reader[u] >= 0 && !ok[u]);
            if (!kept_anyway && !ok[u])
                ok[t] = 0;
        }
    }
    return ok;
}

int *plan_recompute(const graph *g, const training_fusion *fusion, const char *rerun)
{
    int T = g->n_tensors;
    int *first_reader = malloc((size_t)T * sizeof *first_reader);
    int *before = malloc((size_t)T * sizeof *before);
    for (int t = 0; t < T; t++)
        first_reader[t] = before[t] = -1;
    mark_backward_readers(g, fusion, first_reader);
    char *ok = find_recomputable(g, rerun, first_reader);
    /* Highest id first: every consumer's need is known before its inputs'. */
    for (int t = T - 1; t > 0; t--) {
        if (!ok[t])
            continue;
        if (first_reader[t] > before[t])
            before[t] = first_reader[t];
        if (before[t] < 0)
            continue;
        const node *p = &g->nodes[g->tensors[t].producer];
        for (int k = 0; k < p->n_in; k++)
            if (ok[p->in[k]] && before[t] > before[p->in[k]])
                before[p->in[k]] = before[t];
    }
    free(ok);
    free(first_reader);
    return before;
}
