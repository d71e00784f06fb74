/* The timed-step table of desc.m4: which layer, kernel and MACs each
 * bz_mark(m, step) of the generated functions stands for. */
#include "emit.h"
#include "op.h"

#include <stdlib.h>

int step_of_node(const graph *g, int phase, int node)
{
    return phase * g->n_nodes + node;
}

int step_of_deploy(const graph *g, int deploy_step)
{
    return PHASE_FORWARD_DEPLOY * g->n_nodes + deploy_step;
}

int node_has_own_call(const model_facts *f, int i)
{
    return f->fusion.applier[i] < 0 && f->fusion.absorber[i] < 0;
}

int recompute_has_call(const model_facts *f, int t)
{
    return f->train.recompute_before[t] >= 0 && node_has_own_call(f, f->g->tensors[t].producer);
}

int step_of_recompute(const model_facts *f, int t)
{
    int step = PHASE_FORWARD_DEPLOY * f->g->n_nodes + f->deploy.n_steps;
    for (int k = 1; k < t; k++)
        step += recompute_has_call(f, k);
    return step;
}

long deploy_step_macs(const deploy_step *s)
{
    const node *n = s->n;
    long added_bias = s->folded_bn >= 0 && !n->conv.bias ? shape_numel(n->out_shape) : 0;
    return node_work_macs(n) + added_bias;
}

char *deploy_kernel_name(const deploy_step *s)
{
    char *name =
        kernel_name(s->n, s->n->op->deploy_own_kernel || s->folded_bn >= 0 || s->group >= 0);
    if (s->n->op->deploy_relu_epilogue)
        return name;  /* a sum's kernel takes the ReLU as an argument */
    char *fused = xasprintf("%s%s%s%s", name, s->residual >= 0 ? "_add" : "",
                            s->fused_act ? "_" : "", s->fused_act ? s->fused_act->name : "");
    free(name);
    return fused;
}

static void step_row(FILE *out, int phase, int layer, const char *kernel, long macs)
{
    fprintf(out, "bz_step_row(%d, %d, [<%s>], %ld)\n", phase, layer, kernel, macs);
}

/* The multiply-adds a step runs.  A backward step computes the input
 * gradient and the weight gradient (each the forward's), the network
 * input's layer the latter only. */
static long step_macs(const node *n, int phase)
{
    long macs = node_work_macs(n);
    if (phase != PHASE_BACKWARD)
        return macs;
    return n->in[0] == 0 ? macs : 2 * macs;
}

void emit_step_rows(FILE *out, const model_facts *f)
{
    const graph *g = f->g;
    for (int phase = PHASE_FORWARD_TRAIN; phase <= PHASE_BACKWARD; phase++)
        for (int i = 0; i < g->n_nodes; i++) {
            char *k = kernel_name(&g->nodes[i], 0);
            step_row(out, phase, i, k, step_macs(&g->nodes[i], phase));
            free(k);
        }
    for (int s = 0; s < f->deploy.n_steps; s++) {
        const deploy_step *d = &f->deploy.steps[s];
        char *k = deploy_kernel_name(d);
        int layer = d->group >= 0 ? g->n_nodes + d->group : d->node;
        step_row(out, PHASE_FORWARD_DEPLOY, layer, k, deploy_step_macs(d));
        free(k);
    }
    for (int t = 1; t < g->n_tensors; t++)
        if (recompute_has_call(f, t)) {
            const node *n = &g->nodes[g->tensors[t].producer];
            char *k = kernel_name(n, 0);
            step_row(out, PHASE_RECOMPUTE, (int)(n - g->nodes), k, node_work_macs(n));
            free(k);
        }
}
