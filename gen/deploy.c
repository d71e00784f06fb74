/* The deploy graph and the optimised backend's GEMM scratch. */
#include "analysis.h"

#include <stdlib.h>

/* Index of the single consumer of tensor t, or -1 if it has 0 or 2+. */
static int sole_consumer(const graph *g, int t)
{
    int found = -1;
    for (int i = 0; i < g->n_nodes; i++)
        for (int k = 0; k < g->nodes[i].n_in; k++)
            if (g->nodes[i].in[k] == t) {
                if (found >= 0)
                    return -1;
                found = i;
            }
    return found;
}

static long deploy_params_of(const node *n)
{
    if (n->op == OP_BATCHNORM2D)
        return 2L * n->in_shape.c;                /* scale, shift */
    if (n->op == OP_LINEAR)
        return (long)n->features * n->in_shape.c;
    if (n->op == OP_CHANNEL_SCALE)
        return n->in_shape.c;
    if (n->op == OP_LAYERNORM2D)
        return 2L * n->in_shape.c;
    return 0;
}

static long conv_weight_numel(const node *n)
{
    return (long)n->conv.out_c * (n->in_shape.c / n->conv.groups) * n->conv.kh * n->conv.kw;
}

static long merged_conv_floats(const node *n)
{
    return conv_weight_numel(n) + n->conv.out_c;
}

/* The group whose sum node is `node`, or -1. */
static int group_ending_at(const graph *g, int node)
{
    for (int k = 0; k < g->n_groups; k++)
        if (g->tensors[g->groups[k].out].producer == node)
            return k;
    return -1;
}

static void add_group_step(const graph *g, deploy_graph *d, int k)
{
    const reparam_group *r = &g->groups[k];
    deploy_step *s = &d->steps[d->n_steps++];
    *s = (deploy_step){&r->merged, -1, k, -1, r->in, r->out, d->n_floats, -1};
    d->n_floats += deploy_weight_floats(&r->merged);
    s->b_offset = d->n_floats;
    d->n_floats += r->merged.conv.out_c;
}

static void add_node_step(const graph *g, deploy_graph *d, int i, char *absorbed)
{
    const node *n = &g->nodes[i];
    deploy_step *s = &d->steps[d->n_steps++];
    *s = (deploy_step){n, i, -1, -1, n->in[0], n->out, d->n_floats, -1};
    if (n->op == OP_CONV2D) {
        int c = sole_consumer(g, n->out);
        if (c >= 0 && g->nodes[c].op == OP_BATCHNORM2D && !absorbed[c]) {
            s->folded_bn = c;
            s->out = g->nodes[c].out;
            absorbed[c] = 1;
        }
        d->n_floats += deploy_weight_floats(n);
        if (n->conv.bias || s->folded_bn >= 0) {
            s->b_offset = d->n_floats;
            d->n_floats += n->conv.out_c;
        }
    } else {
        d->n_floats += deploy_params_of(n);
        if (n->op == OP_LINEAR && n->bias) {
            s->b_offset = d->n_floats;
            d->n_floats += n->features;
        }
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
            add_group_step(g, &d, k);
        else if (!absorbed[i])
            add_node_step(g, &d, i, absorbed);
    }
    free(absorbed);
    return d;
}

/* 8M floats (32 MiB) bounds the im2col buffer of one GEMM chunk. */
enum { WORKSPACE_LIMIT = 8 << 20 };

static int conv_is_pointwise(const node *n)
{
    const conv_attrs *c = &n->conv;
    return c->kh == 1 && c->kw == 1 && c->stride == 1 && c->pad == 0;
}

int conv_uses_im2col(const node *n)
{
    return n->conv.groups == 1 && !conv_is_pointwise(n);
}

static long im2col_floats_per_sample(const node *n)
{
    return (long)n->out_shape.h * n->out_shape.w * n->conv.kh * n->conv.kw * n->in_shape.c;
}

static long dense_weight_floats(const node *n)
{
    return (long)n->conv.kh * n->conv.kw * n->in_shape.c * n->conv.out_c;
}

/* Winograd F(2x2, 3x3) (templates/optimised/conv2d_winograd.m4): dense
 * 3x3 stride-1 pad-1 convs whose inputs and outputs fill 16-lane vectors
 * (its transformed products run on the tiled pointwise core both ways). */
int conv_uses_winograd(const node *n)
{
    const conv_attrs *c = &n->conv;
    return n->op == OP_CONV2D && c->groups == 1 && c->kh == 3 && c->kw == 3 && c->stride == 1 &&
           c->pad == 1 && n->in_shape.c % 16 == 0 && c->out_c % 16 == 0;
}

/* A Winograd chunk's transformed input and output: 8 MiB, to stay in the
 * last-level cache between the transforms and the 16 products. */
enum { WINOGRAD_CHUNK_FLOATS = 2 << 20 };

static long winograd_kernel_floats(const node *n)
{
    return 16L * n->in_shape.c * n->conv.out_c;
}

/* The template's layout (bz_winograd_sizes): two transformed kernels and,
 * per sample, 16 positions of its 2x2 tiles times (cin + cout) channels;
 * expressed, like every conv workspace, in samples of im2col rows. */
static int winograd_chunk_samples(const node *n, int max_batch)
{
    long tiles = (long)((n->out_shape.h + 1) / 2) * ((n->out_shape.w + 1) / 2);
    long per_sample = 16 * tiles * (n->in_shape.c + n->conv.out_c);
    long samples = WINOGRAD_CHUNK_FLOATS / per_sample;
    samples = samples < 1 ? 1 : samples > max_batch ? max_batch : samples;
    long need = 2 * winograd_kernel_floats(n) + samples * per_sample;
    long per = im2col_floats_per_sample(n);
    return (int)((need + per - 1) / per);
}

/* The deploy arena's room for a conv's weights: the Winograd kernel is
 * transformed there in place (16 values per 3x3). */
long deploy_weight_floats(const node *n)
{
    return conv_uses_winograd(n) ? winograd_kernel_floats(n) : conv_weight_numel(n);
}

/* The workspace in samples of im2col rows: as many as WORKSPACE_LIMIT
 * holds for im2col; for a pointwise conv (tiled: it only packs its
 * weights there) enough rows to hold the weights. */
int conv_chunk_samples(const node *n, int max_batch)
{
    if (conv_uses_winograd(n))
        return winograd_chunk_samples(n, max_batch);
    long per = im2col_floats_per_sample(n);
    if (conv_is_pointwise(n))
        return (int)((dense_weight_floats(n) + per - 1) / per);
    long chunk = WORKSPACE_LIMIT / per;
    if (chunk < 1)
        chunk = 1;
    return (int)(chunk < max_batch ? chunk : max_batch);
}

/* The register-tiled direct convolution (templates/optimised/conv2d_tiled.m4)
 * takes dense convs whose width fills whole 16-lane vectors: pointwise
 * ones read their input in place; the others need the im2col workspace
 * to hold the packed weights and one zero-padded sample. */
int conv_uses_tiled(const node *n, int max_batch)
{
    const conv_attrs *c = &n->conv;
    if (c->groups != 1 || c->out_c % 16 || conv_uses_winograd(n))
        return 0;
    if (conv_is_pointwise(n))
        return 1;
    long padded = c->pad ? (long)(n->in_shape.h + 2 * c->pad) * (n->in_shape.w + 2 * c->pad) *
                               n->in_shape.c : 0;
    long workspace = conv_chunk_samples(n, max_batch) * im2col_floats_per_sample(n);
    return workspace >= dense_weight_floats(n) + padded;
}

long conv_workspace_floats(const node *n, int max_batch)
{
    if (n->op != OP_CONV2D ||
        !(conv_uses_im2col(n) || conv_uses_tiled(n, max_batch) || conv_uses_winograd(n)))
        return 0;
    return conv_chunk_samples(n, max_batch) * im2col_floats_per_sample(n);
}
