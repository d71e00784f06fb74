/* deploy_fold (train-time parameters -> deploy arena) and forward_deploy. */
#include "emit.h"
#include "op.h"

#include <stdlib.h>

int deploy_step_prepacked(const model_facts *f, const deploy_step *s)
{
    return s->n->op->prepacked && s->n->op->prepacked(s->n, f->e->max_batch);
}

static char *norm_refs(const graph *g, const node *bn)
{
    char *r[4];
    for (int k = 0; k < 4; k++)
        r[k] = param_ref(g, bn, k);
    char *text = xasprintf(".bn_weight = %s, .bn_bias = %s, .bn_mean = %s, .bn_var = %s, .eps = %s",
                           r[0], r[1], r[2], r[3], exact_double(bn->eps));
    for (int k = 0; k < 4; k++)
        free(r[k]);
    return text;
}

/* A bz_reparam_branch literal (runtime/kernels/bz_kernels.h). */
static char *branch_literal(const graph *g, const reparam_group *r, int b)
{
    const node *c = r->conv[b] >= 0 ? &g->nodes[r->conv[b]] : NULL;
    const node *bn = r->bn[b] >= 0 ? &g->nodes[r->bn[b]] : NULL;
    const node *sc = r->scale[b] >= 0 ? &g->nodes[r->scale[b]] : NULL;
    const param *cw = c ? node_param(g, c, 0) : NULL, *cb = c && c->conv.bias ? node_param(g, c, 1) : NULL;
    char *w = c ? arena_ref("bz_param", cw->offset, cw->key) : xstrdup("bz_null");
    char *bias = cb ? arena_ref("bz_param", cb->offset, cb->key) : xstrdup("bz_null");
    char *bn_refs = bn ? norm_refs(g, bn) : xstrdup(".bn_weight = bz_null");
    char *scale = sc ? arena_ref("bz_param", node_param(g, sc, 0)->offset, node_param(g, sc, 0)->key)
                     : xstrdup("bz_null");
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
 * BatchNorm, layer scale and sign folded in (runtime/kernels/bz_fold.c). */
static void fold_group(FILE *out, const graph *g, const deploy_step *s)
{
    const reparam_group *r = &g->groups[s->group];
    const node *m = &r->merged;
    int cin_g = m->in_shape.c / m->conv.groups;
    char *w = deploy_ref(s->w_offset, m->name, "weight"), *b = deploy_ref(s->b_offset, m->name, "bias");
    fprintf(out, "bz_fold_call([<bz_zero_floats>], [<%s, %ld>])\n", w,
            s->b_offset + m->conv.out_c - s->w_offset);
    for (int k = 0; k < r->n_branches; k++) {
        char *what = branch_description(g, r, k), *lit = branch_literal(g, r, k);
        fprintf(out, "bz_fold_comment([<%s branch: %s>])\n", m->name, what);
        fprintf(out, "bz_fold_call([<bz_reparam_add_branch>], [<%s, %s, %d, %d, %d, %d,\n        %s>])\n",
                w, b, m->conv.out_c, m->conv.kh, m->conv.kw, cin_g, lit);
        free(what), free(lit);
    }
    free(w), free(b);
}

/* The layer scale after a conv or linear, on its folded weights
 * [out][k] and bias (runtime/kernels/bz_fold.c). */
static void fold_scale(FILE *out, const graph *g, const deploy_step *s)
{
    const node *n = s->n;
    int rows = n->out_shape.c;
    long k = node_param(g, n, 0)->numel / rows;
    char *w = deploy_ref(s->w_offset, n->name, "weight");
    char *b = s->b_offset >= 0 ? deploy_ref(s->b_offset, n->name, "bias") : xstrdup("bz_null");
    char *gamma = param_ref(g, &g->nodes[s->folded_scale], 0);
    fprintf(out, "bz_fold_call([<bz_fold_channel_scale>], [<%s, %s, %s, %d, %ld>])\n", w, b, gamma,
            rows, k);
    free(w), free(b), free(gamma);
}

static void fold_step(FILE *out, const model_facts *f, const deploy_step *s)
{
    if (s->group >= 0)
        fold_group(out, f->g, s);
    else if (s->n->op->fold)
        s->n->op->fold(out, f->g, s);
    if (s->folded_scale >= 0)
        fold_scale(out, f->g, s);
    if (deploy_step_prepacked(f, s)) {
        char *k = deploy_kernel_name(s);
        char *w = deploy_ref(s->w_offset, s->n->name, "weight");
        fprintf(out, "bz_fold_kernel_call([<%s_prepack>], [<%s, bz_workspace>])\n", k, w);
        free(k), free(w);
    }
}

static void deploy_call(FILE *out, const model_facts *f, const deploy_step *s)
{
    const node *n = s->n;
    op_call c = op_call_open(out, f->g, &f->dep, n, CALL_FORWARD);
    free(c.x[0]), free(c.y);   /* a step may span a folded BN: its own tensors */
    c.x[0] = op_call_tensor(f->g, &f->dep, s->in);
    c.y = op_call_tensor(f->g, &f->dep, s->out);
    c.kernel = deploy_kernel_name(s);
    c.w = deploy_ref(s->w_offset, n->name, "weight");
    c.b = deploy_ref(s->b_offset, n->name, "bias");
    c.step = s;
    c.prepacked = deploy_step_prepacked(f, s);
    c.relu = s->fused_act && n->op->deploy_relu_epilogue;
    if (n->op->deploy_forward)
        n->op->deploy_forward(&c);
    else
        n->op->forward(&c, 0);
    op_call_close(&c);
}

void emit_deploy_functions(FILE *out, const model_facts *f)
{
    const graph *g = f->g;
    fprintf(out, "bz_fold_begin\n");
    for (int s = 0; s < f->deploy.n_steps; s++) {
        const deploy_step *d = &f->deploy.steps[s];
        if (d->group < 0 && d->n->n_param)
            fprintf(out, "bz_fold_comment([<%s%s%s%s%s>])\n", d->n->name,
                    d->folded_bn >= 0 ? " with " : "",
                    d->folded_bn >= 0 ? g->nodes[d->folded_bn].name : "",
                    d->folded_scale >= 0 ? " scaled by " : "",
                    d->folded_scale >= 0 ? g->nodes[d->folded_scale].name : "");
        fold_step(out, f, d);
    }
    fprintf(out, "bz_fold_end\n");
    fprintf(out, "bz_forward_begin([<forward_deploy>])\n");
    for (int s = 0; s < f->deploy.n_steps; s++) {
        const deploy_step *d = &f->deploy.steps[s];
        char *what = xasprintf("%s%s%s%s%s%s", d->folded_bn >= 0 ? " + BatchNorm2d folded"
                                               : d->group >= 0 ? " (re-parameterised branches)" : "",
                               d->folded_scale >= 0 ? " + layer scale folded" : "",
                               d->residual >= 0 ? " + residual add fused" : "",
                               d->fused_act ? " + " : "",
                               d->fused_act ? d->fused_act->torch_class : "",
                               d->fused_act ? " fused" : "");
        emit_layer_comment(out, d->n, what, deploy_step_macs(d), step_of_deploy(g, s));
        free(what);
        deploy_call(out, f, d);
    }
    fprintf(out, "bz_steps_end\nbz_function_end\n");
}
