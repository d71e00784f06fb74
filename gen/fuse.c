/* Training-step fusion, decided once from the graph:
 *   - a node whose operator has relu_epilogue (BatchNorm, add, sub) and
 *     whose output only a ReLU reads applies that ReLU as it writes, in the
 *     training forward and in its recompute; the ReLU's own pass goes, and
 *     so does the node's output (no kernel writes or reads it);
 *   - a BatchNorm whose output only an add reads (op_def.forward_affine)
 *     computes its batch statistics alone, and the add applies its scale
 *     and shift as it reads the BatchNorm's input: the BatchNorm's output is
 *     never written, and a residual sum bn2(x) + bn(shortcut) is one pass.
 *     Its backward is unchanged (it reads its input and the statistics);
 *   - an add (op_def.passes_gradient) hands its gradient unchanged to an
 *     input that it alone reads: that input's gradient is the add's own
 *     gradient buffer (the root of a chain of such adds), and the add's
 *     backward copies nothing for it;
 *   - a node that applies a ReLU in its forward and whose backward can
 *     apply the ReLU's too (op_def.backward_relu: BatchNorm) reads the
 *     ReLU output's gradient: its own output's gradient is never written,
 *     and names that buffer; the ReLU's backward pass goes.
 * The deploy graph's convs absorb their BatchNorm and ReLU in gen/deploy.c. */
#include "op.h"

#include <stdlib.h>

static int *unset(int n)
{
    int *v = malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = -1;
    return v;
}

int backward_applied_by_producer(const graph *g, const training_fusion *f, int i)
{
    return f->applier[i] >= 0 && g->nodes[f->applier[i]].op->backward_relu;
}

int backward_reads(const graph *g, const training_fusion *f, int i)
{
    return backward_applied_by_producer(g, f, i) ? SAVES_NOTHING : g->nodes[i].op->backward_saves;
}

/* From the last node back, so that a node's output knows its root before
 * its inputs take it.  Not into the logits' gradient, which is not in the
 * arena. */
static void alias_gradients(const graph *g, training_fusion *f)
{
    int *grad_alias = f->grad_alias;
    for (int i = g->n_nodes - 2; i >= 0; i--) {
        const node *n = &g->nodes[i];
        int root = grad_alias[n->out] >= 0 ? grad_alias[n->out] : n->out;
        for (int k = 0; k < n->n_in; k++)
            if ((n->op->passes_gradient >> k & 1) && n->in[k] != 0 &&
                sole_consumer(g, n->in[k]) == i)
                grad_alias[n->in[k]] = root;
        if (backward_applied_by_producer(g, f, i))
            grad_alias[n->in[0]] = root;
    }
}

training_fusion plan_training_fusion(const graph *g)
{
    training_fusion f = {unset(g->n_nodes), unset(g->n_nodes), unset(g->n_nodes),
                         unset(g->n_tensors)};
    for (int i = 0; i < g->n_nodes; i++) {
        const op_def *op = g->nodes[i].op;
        int c = sole_consumer(g, g->nodes[i].out);
        if (c < 0)
            continue;
        if (op->relu_epilogue && g->nodes[c].op->conv_epilogue) {
            f.applier[c] = i;
            f.applied[i] = c;
        } else if (op->forward_statistics && g->nodes[c].op->forward_affine) {
            f.absorber[i] = c;
        }
    }
    alias_gradients(g, &f);
    return f;
}
