/* The deploy graph: what runs at inference, and its parameter arena. */
#include "op.h"

#include <stdlib.h>

static long merged_conv_floats(const node *n)
{
    return conv2d_weight_numel(n) + n->conv.out_c;
}

/* The group whose sum node is `node`, or -1. */
static int group_ending_at(const graph *g, int node)
{
    for (int k = 0; k < g->n_groups; k++)
        if (g->tensors[g->groups[k].out].producer == node)
            return k;
    return -1;
}

/* Absorbs the only consumer of a step's output into the step, if
 * `accepts` takes its operator and no step has absorbed it yet: *node
 * names it and the step ends at its output. */
static void absorb_consumer(const graph *g, deploy_step *s, char *absorbed,
                            int (*accepts)(const op_def *op), int *node)
{
    int c = sole_consumer(g, s->out);
    if (c >= 0 && accepts(g->nodes[c].op) && !absorbed[c]) {
        *node = c;
        s->out = g->nodes[c].out;
        absorbed[c] = 1;
    }
}

/* A BatchNorm folds into the conv before it. */
static int is_foldable_norm(const op_def *op) { return op->folds_into_conv; }

/* A layer scale scales the rows of the weights and bias before it:
 * gamma (W x + b) = (gamma W) x + gamma b. */
static int is_foldable_scale(const op_def *op) { return op->folds_as_scale; }

/* An activation runs in the kernel before it, on the output as it is
 * stored: a conv applies any of bz_activation.h's, a sum a ReLU. */
static int is_conv_activation(const op_def *op) { return op->deploy_activation != NULL; }
static int is_sum_activation(const op_def *op) { return op->conv_epilogue; }

static void fuse_activation(const graph *g, deploy_step *s, char *absorbed,
                            int (*accepts)(const op_def *op))
{
    int act = -1;
    absorb_consumer(g, s, absorbed, accepts, &act);
    s->fused_act = act >= 0 ? g->nodes[act].op : NULL;
}

static void add_group_step(const graph *g, deploy_graph *d, int k, char *absorbed)
{
    const reparam_group *r = &g->groups[k];
    deploy_step *s = &d->steps[d->n_steps++];
    *s = (deploy_step){&r->merged, -1, k, -1, r->in, r->out, d->n_floats, -1, NULL, -1, -1};
    fuse_activation(g, s, absorbed, is_conv_activation);
    d->n_floats += r->merged.op->deploy_weights(&r->merged);
    s->b_offset = d->n_floats;
    d->n_floats += r->merged.conv.out_c;
}

/* Whether an earlier step than the last one computes tensor t. */
static int computed_before(const deploy_graph *d, int t)
{
    for (int k = 0; k < d->n_steps - 1; k++)
        if (d->steps[k].out == t)
            return 1;
    return 0;
}

/* Whether a node after `node`, other than `except`, reads tensor t. */
static int read_later(const graph *g, int t, int node, int except)
{
    for (int j = node + 1; j < g->n_nodes; j++)
        for (int k = 0; j != except && k < g->nodes[j].n_in; k++)
            if (g->nodes[j].in[k] == t)
                return 1;
    return 0;
}

/* A dense conv or a linear absorbs the add that is its output's only
 * consumer, and adds the add's other operand as its kernel stores: that
 * operand's buffer becomes the sum's (gen/plan.c), so the operand must
 * be an earlier step's output that neither this step (its input: the
 * kernel would overwrite what it still reads) nor anything after it reads
 * but the add (a residual: a block's shortcut or its input).  Saves the
 * add's pass over three tensors. */
static void absorb_residual_add(const graph *g, const deploy_graph *d, deploy_step *s,
                                char *absorbed)
{
    int c = sole_consumer(g, s->out);
    if (c < 0 || absorbed[c] || !g->nodes[c].op->folds_as_residual || c == g->n_nodes - 1)
        return;
    const node *add = &g->nodes[c];
    int r = add->in[0] == s->out ? add->in[1] : add->in[0];
    if (r == s->out || r == s->in || !computed_before(d, r) || read_later(g, r, s->node, c))
        return;
    s->residual = r;
    s->out = add->out;
    absorbed[c] = 1;
}

/* A node's step; a conv absorbs the BatchNorm that is its only consumer,
 * the layer scale, a residual add and the activation after them; a linear
 * the layer scale, the add and the activation; a sum the ReLU after it. */
static void add_node_step(const graph *g, deploy_graph *d, int i, char *absorbed)
{
    const node *n = &g->nodes[i];
    deploy_step *s = &d->steps[d->n_steps++];
    *s = (deploy_step){n, i, -1, -1, n->in[0], n->out, d->n_floats, -1, NULL, -1, -1};
    if (n->op->absorbs_next_norm)
        absorb_consumer(g, s, absorbed, is_foldable_norm, &s->folded_bn);
    if (n->op->absorbs_next_scale)
        absorb_consumer(g, s, absorbed, is_foldable_scale, &s->folded_scale);
    if (n->op->adds_residual && n->op->adds_residual(n))
        absorb_residual_add(g, d, s, absorbed);
    if (n->op->applies_activation)
        fuse_activation(g, s, absorbed, is_conv_activation);
    else if (n->op->deploy_relu_epilogue)
        fuse_activation(g, s, absorbed, is_sum_activation);
    d->n_floats += n->op->deploy_weights ? n->op->deploy_weights(n) : 0;
    long bias = n->op->deploy_bias ? n->op->deploy_bias(n, s->folded_bn >= 0) : 0;
    if (bias) {
        s->b_offset = d->n_floats;
        d->n_floats += bias;
    }
}

deploy_graph build_deploy(const graph *g)
{
    deploy_graph d = {calloc((size_t)(g->n_nodes + g->n_groups), sizeof(deploy_step)), 0, 0,
                      g->n_param_floats, 0};
    char *absorbed = calloc((size_t)g->n_nodes, 1);
    for (int i = 0; i < g->n_nodes; i++)
        d.macs += node_macs(&g->nodes[i]);
    for (int k = 0; k < g->n_groups; k++) {
        const reparam_group *r = &g->groups[k];
        for (int m = 0; m < r->n_members; m++) {
            absorbed[r->members[m]] = 1;
            d.params -= node_params(g, &g->nodes[r->members[m]]);
            d.macs -= node_macs(&g->nodes[r->members[m]]);
        }
        d.params += merged_conv_floats(&r->merged);
        d.macs += node_macs(&r->merged);
    }
    for (int i = 0; i < g->n_nodes; i++) {
        int k = group_ending_at(g, i);
        if (k >= 0)
            add_group_step(g, &d, k, absorbed);
        else if (!absorbed[i])
            add_node_step(g, &d, i, absorbed);
    }
    free(absorbed);
    return d;
}

