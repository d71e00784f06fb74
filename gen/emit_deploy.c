/* deploy_fold (train-time parameters -> deploy arena) and forward_deploy. */
#include "emit.h"

#include <stdlib.h>


static const param *param_of(const graph *g, const node *n, int k)
{
    return &g->params[n->param_first + k];
}

/* A deploy conv whose kernel packs its weights (the tiled and Winograd
 * algorithms): it is packed once in deploy_fold and its forward_packed
 * skips the packing. */
int deploy_step_prepacked(const model_facts *f, const deploy_step *s)
{
    return s->n->op == OP_CONV2D &&
           (conv_uses_tiled(s->n, f->e->max_batch) || conv_uses_winograd(s->n));
}

static void fold_conv(FILE *out, const graph *g, const deploy_step *s)
{
    const node *n = &g->nodes[s->node];
    long k = (long)(n->in_shape.c / n->conv.groups) * n->conv.kh * n->conv.kw;
    char *bias = n->conv.bias ? xasprintf("bz_param(%ld)", param_of(g, n, 1)->offset)
                              : xstrdup("bz_null");
    if (s->folded_bn < 0) {
        fprintf(out, "bz_fold_call([<bz_copy_floats>], [<bz_deploy(%ld), bz_param(%ld), %ld>])\n",
                s->w_offset, param_of(g, n, 0)->offset, k * n->conv.out_c);
        if (n->conv.bias)
            fprintf(out, "bz_fold_call([<bz_copy_floats>], [<bz_deploy(%ld), %s, %d>])\n", s->b_offset,
                    bias, n->conv.out_c);
    } else {
        const node *bn = &g->nodes[s->folded_bn];
        fprintf(out, "bz_fold_call([<bz_fold_conv_batchnorm>], [<bz_param(%ld), %s, bz_param(%ld), "
                "bz_param(%ld), bz_buffer(%ld), bz_buffer(%ld), %s, %d, %ld, bz_deploy(%ld), "
                "bz_deploy(%ld)>])\n", param_of(g, n, 0)->offset, bias,
                param_of(g, bn, 0)->offset, param_of(g, bn, 1)->offset, param_of(g, bn, 2)->offset,
                param_of(g, bn, 3)->offset, exact_double(bn->eps), n->conv.out_c, k, s->w_offset, s->b_offset);
    }
    free(bias);
}

static char *arena_ref(const char *arena, long offset)
{
    return xasprintf("%s(%ld)", arena, offset);
}

/* A bz_reparam_branch literal (runtime/bz_kernels.h). */
static char *branch_literal(const graph *g, const reparam_group *r, int b)
{
    const node *c = r->conv[b] >= 0 ? &g->nodes[r->conv[b]] : NULL;
    const node *bn = r->bn[b] >= 0 ? &g->nodes[r->bn[b]] : NULL;
    const node *sc = r->scale[b] >= 0 ? &g->nodes[r->scale[b]] : NULL;
    char *w = c ? arena_ref("bz_param", param_of(g, c, 0)->offset) : xstrdup("bz_null");
    char *bias = c && c->conv.bias ? arena_ref("bz_param", param_of(g, c, 1)->offset)
                                   : xstrdup("bz_null");
    char *bn_refs = bn ? xasprintf(".bn_weight = bz_param(%ld), .bn_bias = bz_param(%ld), "
                                   ".bn_mean = bz_buffer(%ld), .bn_var = bz_buffer(%ld), .eps = %s",
                                   param_of(g, bn, 0)->offset, param_of(g, bn, 1)->offset,
                                   param_of(g, bn, 2)->offset, param_of(g, bn, 3)->offset, exact_double(bn->eps))
                       : xstrdup(".bn_weight = bz_null");
    char *scale = sc ? arena_ref("bz_param", param_of(g, sc, 0)->offset) : xstrdup("bz_null");
    char *lit = xasprintf("&(bz_reparam_branch){.w = %s, .bias = %s, .kh = %d, .kw = %d, %s, "
                          ".scale = %s, .sign = %d}", w, bias, c ? c->conv.kh : 0,
                          c ? c->conv.kw : 0, bn_refs, scale, r->sign[b]);
    free(w), free(bias), free(bn_refs), free(scale);
    return lit;
}

static char *branch_description(const graph *g, const reparam_group *r, int b)
{
    const char *conv = r->conv[b] >= 0 ? g->nodes[r->conv[b]].name : NULL;
    const char *bn = r->bn[b] >= 0 ? g->nodes[r->bn[b]].name : NULL;
    const char *scale = r->scale[b] >= 0 ? g->nodes[r->scale[b]].name : NULL;
    return xasprintf("%s%s%s%s%s%s%s", r->sign[b] < 0 ? "minus " : "", scale ? scale : "",
                     scale ? " x " : "", conv ? conv : bn ? "identity" : "the input itself",
                     bn && conv ? " + " : "",
                     bn && !conv ? " " : "", bn ? bn : "");
}

/* The merged conv of a group: zero, then add every branch with its
 * BatchNorm, layer scale and sign folded in (runtime/bz_fold.c). */
static void fold_group(FILE *out, const graph *g, const deploy_step *s)
{
    const reparam_group *r = &g->groups[s->group];
    const node *m = &r->merged;
    int cin_g = m->in_shape.c / m->conv.groups;
    fprintf(out, "bz_fold_call([<bz_zero_floats>], [<bz_deploy(%ld), %ld>])\n", s->w_offset,
            s->b_offset + m->conv.out_c - s->w_offset);
    for (int b = 0; b < r->n_branches; b++) {
        char *what = branch_description(g, r, b), *lit = branch_literal(g, r, b);
        fprintf(out, "bz_fold_comment([<%s branch: %s>])\n", m->name, what);
        fprintf(out, "bz_fold_call([<bz_reparam_add_branch>], [<bz_deploy(%ld), bz_deploy(%ld), "
                "%d, %d, %d, %d,\n        %s>])\n", s->w_offset, s->b_offset, m->conv.out_c,
                m->conv.kh, m->conv.kw, cin_g, lit);
        free(what), free(lit);
    }
}

static void fold_step(FILE *out, const model_facts *f, const deploy_step *s)
{
    const graph *g = f->g;
    const node *n = s->n;
    if (s->group >= 0) {
        fold_group(out, g, s);
    } else if (n->op == OP_CONV2D) {
        fold_conv(out, g, s);
    } else if (n->op == OP_BATCHNORM2D) {
        fprintf(out, "bz_fold_call([<bz_fold_batchnorm>], [<bz_param(%ld), bz_param(%ld), bz_buffer(%ld), "
                "bz_buffer(%ld), %s, %d, bz_deploy(%ld), bz_deploy(%ld)>])\n",
                param_of(g, n, 0)->offset, param_of(g, n, 1)->offset, param_of(g, n, 2)->offset,
                param_of(g, n, 3)->offset, exact_double(n->eps), n->in_shape.c, s->w_offset,
                s->w_offset + n->in_shape.c);
    } else if (n->op == OP_CHANNEL_SCALE || n->op == OP_LAYERNORM2D) {
        fprintf(out, "bz_fold_call([<bz_copy_floats>], [<bz_deploy(%ld), bz_param(%ld), %d>])\n",
                s->w_offset, param_of(g, n, 0)->offset, n->n_param * n->in_shape.c);
    } else if (n->op == OP_LINEAR) {
        fprintf(out, "bz_fold_call([<bz_copy_floats>], [<bz_deploy(%ld), bz_param(%ld), %ld>])\n",
                s->w_offset, param_of(g, n, 0)->offset, (long)n->features * n->in_shape.c);
        if (n->bias)
            fprintf(out, "bz_fold_call([<bz_copy_floats>], [<bz_deploy(%ld), bz_param(%ld), %d>])\n",
                    s->b_offset, param_of(g, n, 1)->offset, n->features);
    }
    if (deploy_step_prepacked(f, s)) {
        char *k = deploy_kernel_name(s);
        fprintf(out, "bz_fold_call([<%s_prepack>], [<bz_deploy(%ld), bz_workspace>])\n", k,
                s->w_offset);
        free(k);
    }
}

static char *ref(const graph *g, const memory_plan *p, int t)
{
    if (t == 0)
        return xstrdup("bz_input");
    if (g->tensors[t].producer == g->n_nodes - 1)
        return xstrdup("bz_logits");
    return xasprintf("bz_act(%ld)", p->act_offset[t]);
}

static char *deploy_ref(long offset)
{
    return offset < 0 ? xstrdup("bz_null") : xasprintf("bz_deploy(%ld)", offset);
}

static void deploy_call(FILE *out, const model_facts *f, const deploy_step *s)
{
    const graph *g = f->g;
    const memory_plan *p = &f->dep;
    const node *n = s->n;
    char *k = deploy_kernel_name(s);
    char *x = ref(g, p, s->in), *y = ref(g, p, s->out);
    char *w = deploy_ref(s->w_offset), *b = deploy_ref(s->b_offset);
    if (n->op == OP_CONV2D || n->op == OP_LINEAR)
        fprintf(out, "bz_call([<%s_forward%s>], [<%s, %s, %s, %s%s>])\n", k,
                deploy_step_prepacked(f, s) ? "_packed" : "", x, w, b, y,
                n->op == OP_CONV2D ? ", bz_workspace" : "");
    else if (n->op == OP_BATCHNORM2D)
        fprintf(out, "bz_call([<%s_forward>], [<%s, %s, bz_deploy(%ld), %s>])\n", k, x, w,
                s->w_offset + n->in_shape.c, y);
    else if (n->op == OP_CHANNEL_SCALE)
        fprintf(out, "bz_call([<%s_forward>], [<%s, %s, %s>])\n", k, x, w, y);
    else if (n->op == OP_LAYERNORM2D)
        fprintf(out, "bz_call([<%s_forward>], [<%s, %s, bz_deploy(%ld), %s, %s>])\n", k, x, w,
                s->w_offset + n->in_shape.c, y, exact_double(n->eps));
    else if (n->op == OP_ADD || n->op == OP_SUB || n->op == OP_MUL || n->op == OP_CONCAT) {
        char *x2 = ref(g, p, n->in[1]);
        fprintf(out, "bz_call([<%s_forward>], [<%s, %s, %s>])\n", k, x, x2, y);
        free(x2);
    } else
        fprintf(out, "bz_call([<%s_forward>], [<%s, %s>])\n", k, x, y);
    free(k), free(x), free(y), free(w), free(b);
}

void emit_deploy_functions(FILE *out, const model_facts *f)
{
    const graph *g = f->g;
    fprintf(out, "bz_fold_begin\n");
    for (int s = 0; s < f->deploy.n_steps; s++) {
        const deploy_step *d = &f->deploy.steps[s];
        if (d->group < 0 && d->n->n_param)
            fprintf(out, "bz_fold_comment([<%s%s%s>])\n", d->n->name,
                    d->folded_bn >= 0 ? " with " : "",
                    d->folded_bn >= 0 ? g->nodes[d->folded_bn].name : "");
        fold_step(out, f, d);
    }
    fprintf(out, "bz_fold_end\n");
    fprintf(out, "bz_forward_begin([<forward_deploy>])\n");
    for (int s = 0; s < f->deploy.n_steps; s++) {
        const deploy_step *d = &f->deploy.steps[s];
        emit_layer_comment(out, d->n, d->folded_bn >= 0 ? " + BatchNorm2d folded"
                                      : d->group >= 0 ? " (re-parameterised branches)" : "",
                           deploy_step_macs(d), step_of_deploy(g, s));
        deploy_call(out, f, d);
    }
    fprintf(out, "bz_steps_end\nbz_function_end\n");
}
