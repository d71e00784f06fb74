/* The bodies of forward_train, forward_eval and backward: one commented
 * kernel call per layer, with every buffer address a literal offset. */
#include "emit.h"

#include <stdarg.h>
#include <stdlib.h>

static int is_logits(const graph *g, int t) { return g->tensors[t].producer == g->n_nodes - 1; }

/* The address of tensor t's values (or, with grad, its gradient). */
static char *tensor_ref(const graph *g, const memory_plan *p, int t, int grad)
{
    if (t == 0)
        return xstrdup(grad ? "bz_null" : "bz_input");
    if (is_logits(g, t))
        return xstrdup(grad ? "bz_dlogits" : "bz_logits");
    return xasprintf("bz_act(%ld)", grad ? p->grad_offset[t] : p->act_offset[t]);
}

static char *param_ref(const char *arena, const graph *g, const node *n, int k)
{
    if (k >= n->n_param)
        return xstrdup("bz_null");
    const param *p = &g->params[n->param_first + k];
    return xasprintf("%s(%ld)", arena, p->offset);
}

static void call(FILE *out, const char *kernel, const char *suffix, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void call(FILE *out, const char *kernel, const char *suffix, const char *fmt, ...)
{
    va_list ap;
    fprintf(out, "bz_call([<%s%s>], [<", kernel, suffix);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fprintf(out, ">])\n");
}

static char *describe(const node *n)
{
    const conv_attrs *c = &n->conv;
    const pool_attrs *p = &n->pool;
    switch (n->op) {
    case OP_CONV2D:
        return xasprintf("k%dx%d s%d p%d g%d%s", c->kh, c->kw, c->stride, c->pad, c->groups,
                         c->bias ? " bias" : "");
    case OP_AVGPOOL2D:
        return xasprintf("k%d s%d p%d%s%s", p->kernel, p->stride, p->pad,
                         p->ceil_mode ? " ceil" : "", p->count_include_pad ? "" : " exclude-pad");
    case OP_BATCHNORM2D: return xasprintf("eps %s", exact_double(n->eps));
    default: return xstrdup("");
    }
}

void emit_layer_comment(FILE *out, const node *n, const char *what, long macs, int step)
{
    char *attrs = describe(n);
    fprintf(out, "bz_layer([<%s>], [<%s%s>], [<%dx%dx%d>], [<%dx%dx%d>], [<%s%s>], %ld, %d)\n",
            n->name, n->torch_class, what, n->in_shape.c, n->in_shape.h, n->in_shape.w,
            n->out_shape.c, n->out_shape.h, n->out_shape.w, attrs[0] ? ", " : "", attrs, macs,
            step);
    free(attrs);
}

static void forward_call(FILE *out, const graph *g, const memory_plan *p, const node *n, int train)
{
    char *k = kernel_name(n, 0);
    char *x = tensor_ref(g, p, n->in[0], 0), *y = tensor_ref(g, p, n->out, 0);
    char *w = param_ref("bz_param", g, n, 0), *b = param_ref("bz_param", g, n, 1);
    if (n->op == OP_CONV2D || n->op == OP_LINEAR) {
        call(out, k, "_forward", "%s, %s, %s, %s%s", x, w, b, y,
             n->op == OP_CONV2D ? ", bz_workspace" : "");
    } else if (n->op == OP_BATCHNORM2D && train) {
        char *rm = param_ref("bz_buffer", g, n, 2), *rv = param_ref("bz_buffer", g, n, 3);
        call(out, k, "_forward_train", "%s, %s, %s, %s, bz_bn_saved(%ld), %s, %s, bz_counter(%ld), %s, bz_momentum",
             x, w, b, y, n->bn_saved_offset, rm, rv, g->params[n->param_first + 4].offset, exact_double(n->eps));
        free(rm);
        free(rv);
    } else if (n->op == OP_BATCHNORM2D) {
        char *rm = param_ref("bz_buffer", g, n, 2), *rv = param_ref("bz_buffer", g, n, 3);
        call(out, k, "_forward_eval", "%s, %s, %s, %s, %s, %s, %s", x, w, b, rm, rv, y, exact_double(n->eps));
        free(rm);
        free(rv);
    } else if (n->op == OP_ADD || n->op == OP_SUB || n->op == OP_MUL || n->op == OP_CONCAT) {
        char *x2 = tensor_ref(g, p, n->in[1], 0);
        call(out, k, "_forward", "%s, %s, %s", x, x2, y);
        free(x2);
    } else if (n->op == OP_CHANNEL_SCALE) {
        call(out, k, "_forward", "%s, %s, %s", x, w, y);
    } else if (n->op == OP_LAYERNORM2D) {
        call(out, k, "_forward", "%s, %s, %s, %s, %s", x, w, b, y, exact_double(n->eps));
    } else {
        call(out, k, "_forward", "%s, %s", x, y);
    }
    free(k), free(x), free(y), free(w), free(b);
}

void emit_forward_functions(FILE *out, const model_facts *f)
{
    const graph *g = f->g;
    for (int train = 1; train >= 0; train--) {
        fprintf(out, "bz_forward_begin([<%s>])\n", train ? "forward_train" : "forward_eval");
        for (int i = 0; i < g->n_nodes; i++) {
            emit_layer_comment(out, &g->nodes[i], "", node_macs(&g->nodes[i]),
                               step_of_node(g, train ? PHASE_FORWARD_TRAIN : PHASE_FORWARD_EVAL, i));
            forward_call(out, g, train ? &f->train : &f->eval, &g->nodes[i], train);
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

static void backward_call(FILE *out, const graph *g, const memory_plan *p, const node *n, char *written)
{
    char *k = kernel_name(n, 0);
    char *x = tensor_ref(g, p, n->in[0], 0), *y = tensor_ref(g, p, n->out, 0);
    char *dx = tensor_ref(g, p, n->in[0], 1), *dy = tensor_ref(g, p, n->out, 1);
    char *w = param_ref("bz_param", g, n, 0), *dw = param_ref("bz_grad", g, n, 0);
    char *db = param_ref("bz_grad", g, n, 1);
    int acc = take_accumulate(written, n->in[0]);
    if (n->op == OP_CONV2D || n->op == OP_LINEAR) {
        call(out, k, "_backward", "%s, %s, %s, %s, %d, %s, %s%s", x, w, dy, dx, acc, dw, db,
             n->op == OP_CONV2D ? ", bz_workspace" : "");
    } else if (n->op == OP_BATCHNORM2D) {
        call(out, k, "_backward", "%s, %s, bz_bn_saved(%ld), %s, %s, %d, %s, %s", x, w,
             n->bn_saved_offset, dy, dx, acc, dw, db);
    } else if (n->op == OP_ADD || n->op == OP_SUB || n->op == OP_CONCAT) {
        char *dx2 = tensor_ref(g, p, n->in[1], 1);
        call(out, k, "_backward", "%s, %s, %d, %s, %d", dy, dx, acc, dx2,
             take_accumulate(written, n->in[1]));
        free(dx2);
    } else if (n->op == OP_CHANNEL_SCALE) {
        call(out, k, "_backward", "%s, %s, %s, %s, %d, %s", x, w, dy, dx, acc, dw);
    } else if (n->op == OP_LAYERNORM2D) {
        call(out, k, "_backward", "%s, %s, %s, %s, %d, %s, %s, %s", x, w, dy, dx, acc, dw, db,
             exact_double(n->eps));
    } else if (n->op == OP_MUL) {
        char *x2 = tensor_ref(g, p, n->in[1], 0), *dx2 = tensor_ref(g, p, n->in[1], 1);
        call(out, k, "_backward", "%s, %s, %s, %s, %d, %s, %d", x, x2, dy, dx, acc, dx2,
             take_accumulate(written, n->in[1]));
        free(x2), free(dx2);
    } else if (n->op == OP_RELU || n->op == OP_SIGMOID) {
        call(out, k, "_backward", "%s, %s, %s, %d", y, dy, dx, acc);
    } else if (n->op == OP_HARDSWISH || n->op == OP_GELU || n->op == OP_HARD_SIGMOID) {
        call(out, k, "_backward", "%s, %s, %s, %d", x, dy, dx, acc);
    } else {
        call(out, k, "_backward", "%s, %s, %d", dy, dx, acc);
    }
    free(k), free(x), free(y), free(dx), free(dy), free(w), free(dw), free(db);
}

void emit_backward_function(FILE *out, const model_facts *f)
{
    const graph *g = f->g;
    char *written = calloc((size_t)g->n_tensors, 1);
    fprintf(out, "bz_backward_begin\n");
    for (int i = g->n_nodes - 1; i >= 0; i--) {
        emit_layer_comment(out, &g->nodes[i], " backward", 2 * node_macs(&g->nodes[i]),
                           step_of_node(g, PHASE_BACKWARD, i));
        backward_call(out, g, &f->train, &g->nodes[i], written);
    }
    fprintf(out, "bz_steps_end\nbz_function_end\n");
    free(written);
}
