/* The bodies of forward_train, forward_eval and backward: one commented
 * kernel call per layer, with every buffer address a literal offset.  The
 * operator's entry (gen/op.h) picks the arguments; here they are named. */
#include "emit.h"
#include "op.h"

#include <stdlib.h>

static int is_logits(const graph *g, int t) { return g->tensors[t].producer == g->n_nodes - 1; }

enum { VALUES, VALUES_IN_BACKWARD, GRADIENT };

/* The address of tensor t's values (as the forward or as the backward
 * reads them: a recomputed copy) or of its gradient. */
static char *tensor_ref(const graph *g, const memory_plan *p, int t, int what)
{
    if (t == 0)
        return xstrdup(what == GRADIENT ? "bz_null" : "bz_input");
    if (is_logits(g, t))
        return xstrdup(what == GRADIENT ? "bz_dlogits" : "bz_logits");
    const long *offset = what == GRADIENT ? p->grad_offset
                         : what == VALUES_IN_BACKWARD ? p->back_offset : p->act_offset;
    return xasprintf("bz_act(%ld)", offset[t]);
}

char *op_call_tensor(const graph *g, const memory_plan *p, int t)
{
    return tensor_ref(g, p, t, VALUES);
}

op_call op_call_open(FILE *out, const graph *g, const memory_plan *p, const node *n,
                     call_phase phase)
{
    op_call c = {.out = out, .n = n};
    int values = phase == CALL_FORWARD ? VALUES : VALUES_IN_BACKWARD;
    int grad = phase == CALL_BACKWARD;
    for (int k = 0; k < 2; k++) {
        c.x[k] = k < n->n_in ? tensor_ref(g, p, n->in[k], values) : NULL;
        c.dx[k] = grad && k < n->n_in ? tensor_ref(g, p, n->in[k], GRADIENT) : NULL;
    }
    c.y = tensor_ref(g, p, n->out, values);
    c.dy = grad ? tensor_ref(g, p, n->out, GRADIENT) : NULL;
    for (int k = 0; k < MAX_NODE_PARAMS; k++) {
        const param *q = k < n->n_param ? node_param(g, n, k) : NULL;
        c.param[k] = q ? param_ref(g, n, k) : xstrdup("bz_null");
        c.grad[k] = q && q->kind == KIND_PARAM ? arena_ref("bz_grad", q->offset, q->key)
                                               : xstrdup("bz_null");
    }
    return c;
}

void op_call_close(op_call *c)
{
    for (int k = 0; k < 2; k++)
        free(c->x[k]), free(c->dx[k]);
    free(c->y), free(c->dy), free(c->w), free(c->b);
    free(c->affine[0]), free(c->affine[1]);
    for (int k = 0; k < MAX_NODE_PARAMS; k++)
        free(c->param[k]), free(c->grad[k]);
    free((char *)c->kernel);
}

void emit_layer_comment(FILE *out, const node *n, const char *what, long macs, int step)
{
    char *attrs = n->op->describe ? n->op->describe(n) : xstrdup("");
    fprintf(out, "bz_layer([<%s>], [<%s%s>], [<%dx%dx%d>], [<%dx%dx%d>], [<%s%s>], %ld, %d)\n",
            n->name, n->torch_class, what, n->in_shape.c, n->in_shape.h, n->in_shape.w,
            n->out_shape.c, n->out_shape.h, n->out_shape.w, attrs[0] ? ", " : "", attrs, macs,
            step);
    free(attrs);
}

/* Node i's call in the training forward or a recompute, as fused: it
 * applies the ReLU after it and the BatchNorms before it (reading their
 * inputs).  Only for a node_has_own_call. */
static void emit_fused_call(FILE *out, const model_facts *f, int i, call_phase phase)
{
    const graph *g = f->g;
    const node *n = &g->nodes[i];
    op_call c = op_call_open(out, g, &f->train, n, phase);
    c.kernel = kernel_name(n, 0);
    int what = phase == CALL_FORWARD ? VALUES : VALUES_IN_BACKWARD;
    int relu = f->fusion.applied[i], affine = 0;
    if (relu >= 0) {
        c.relu = 1;
        free(c.y);
        c.y = tensor_ref(g, &f->train, g->nodes[relu].out, what);
    }
    for (int k = 0; k < n->n_in; k++) {
        int p = g->tensors[n->in[k]].producer;
        if (p < 0 || f->fusion.absorber[p] != i) {
            c.affine[k] = xstrdup("bz_null, bz_null, bz_null");
            continue;
        }
        const node *bn = &g->nodes[p];
        op_call applied = op_call_open(out, g, &f->train, bn, phase);
        c.affine[k] = bn->op->affine_operands(&applied);
        free(c.x[k]);
        c.x[k] = applied.x[0];      /* the BatchNorm's input, as this phase reads it */
        applied.x[0] = NULL;
        op_call_close(&applied);
        affine = 1;
    }
    if (affine)
        n->op->forward_affine(&c);
    else if (phase == CALL_FORWARD)
        n->op->forward(&c, 1);
    else
        n->op->recompute(&c);
    op_call_close(&c);
}

static void emit_train_forward_call(FILE *out, const model_facts *f, int i)
{
    const graph *g = f->g;
    const node *n = &g->nodes[i];
    if (f->fusion.applier[i] >= 0) {
        fprintf(out, "bz_applied_comment([<%s>])\n", g->nodes[f->fusion.applier[i]].name);
    } else if (f->fusion.absorber[i] >= 0) {
        fprintf(out, "bz_statistics_comment([<%s>])\n", g->nodes[f->fusion.absorber[i]].name);
        op_call c = op_call_open(out, g, &f->train, n, CALL_FORWARD);
        c.kernel = kernel_name(n, 0);
        n->op->forward_statistics(&c);
        op_call_close(&c);
    } else {
        emit_fused_call(out, f, i, CALL_FORWARD);
    }
}

void emit_forward_functions(FILE *out, const model_facts *f)
{
    const graph *g = f->g;
    for (int train = 1; train >= 0; train--) {
        fprintf(out, "bz_forward_begin([<%s>])\n", train ? "forward_train" : "forward_eval");
        for (int i = 0; i < g->n_nodes; i++) {
            const node *n = &g->nodes[i];
            emit_layer_comment(out, n, "", node_macs(n),
                               step_of_node(g, train ? PHASE_FORWARD_TRAIN : PHASE_FORWARD_EVAL, i));
            if (train) {
                emit_train_forward_call(out, f, i);
                continue;
            }
            op_call c = op_call_open(out, g, &f->eval, n, CALL_FORWARD);
            c.kernel = kernel_name(n, 0);
            n->op->forward(&c, 0);
            op_call_close(&c);
        }
        fprintf(out, "bz_steps_end\nbz_function_end\n");
    }
}

/* The first backward call that reaches a tensor's gradient overwrites it;
 * later ones (fan-out: residual inputs) accumulate. */
static int take_accumulate(char *written, int t)
{
    int acc = written[t];
    written[t] = 1;
    return acc;
}

/* The tensors recomputed just before node j's backward, in forward order
 * (a chain's links one after the other), each a timed step of its own.  A
 * ReLU's output is written by the recompute of the node that applies it,
 * a BatchNorm's is never written where the add after it applies it. */
static void emit_recomputes(FILE *out, const model_facts *f, int j)
{
    const graph *g = f->g;
    for (int t = 1; t < g->n_tensors; t++) {
        int i = g->tensors[t].producer;
        if (f->train.recompute_before[t] != j || !recompute_has_call(f, t))
            continue;
        const node *n = &g->nodes[i];
        int relu = f->fusion.applied[i], step = step_of_recompute(f, t);
        if (relu >= 0)
            fprintf(out, "bz_recompute_comment([<%s, %s>], [<%s + %s>], %d)\n", n->name,
                    g->nodes[relu].name, n->torch_class, g->nodes[relu].torch_class, step);
        else
            fprintf(out, "bz_recompute_comment([<%s>], [<%s>], %d)\n", n->name, n->torch_class,
                    step);
        emit_fused_call(out, f, i, CALL_RECOMPUTE);
    }
}

/* Node i's inputs whose gradient is its own (gen/fuse.c): a bit each. */
static int passed_inputs(const model_facts *f, const node *n)
{
    int passed = 0;
    for (int k = 0; k < n->n_in; k++)
        if (f->fusion.grad_alias[n->in[k]] >= 0 && (n->op->passes_gradient >> k & 1))
            passed |= 1 << k;
    return passed;
}

void emit_backward_function(FILE *out, const model_facts *f)
{
    const graph *g = f->g;
    char *written = calloc((size_t)g->n_tensors, 1);
    fprintf(out, "bz_backward_begin\n");
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        const node *n = &g->nodes[i];
        emit_recomputes(out, f, i);
        emit_layer_comment(out, n, " backward", 2 * node_macs(n),
                           step_of_node(g, PHASE_BACKWARD, i));
        if (backward_applied_by_producer(g, &f->fusion, i)) {
            fprintf(out, "bz_relu_backward_comment([<%s>])\n",
                     g->nodes[f->fusion.applier[i]].name);
            take_accumulate(written, n->in[0]);
            continue;
        }
        int passed = passed_inputs(f, n);
        if (passed == (1 << n->n_in) - 1) {
            fprintf(out, "bz_passed_comment\n");
            for (int k = 0; k < n->n_in; k++)
                take_accumulate(written, n->in[k]);
            continue;
        }
        op_call c = op_call_open(out, g, &f->train, n, CALL_BACKWARD);
        c.kernel = kernel_name(n, 0);
        for (int k = 0; k < n->n_in; k++) {
            c.accumulate[k] = take_accumulate(written, n->in[k]);
            if (passed >> k & 1) {
                free(c.dx[k]);
                c.dx[k] = xstrdup("bz_null");
            }
        }
        c.relu = f->fusion.applied[i] >= 0 && n->op->backward_relu;
        n->op->backward(&c);
        op_call_close(&c);
    }
    fprintf(out, "bz_steps_end\nbz_function_end\n");
    free(written);
}
