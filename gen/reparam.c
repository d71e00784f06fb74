/* Re-parameterisable groups: which train nodes a deploy conv replaces, and
 * whether the replacement is exact (every branch a conv + BatchNorm, a
 * BatchNorm of the group's input or the input itself, combined by adds,
 * subs and at most one layer scale on the way, used nowhere else). */
#include "op.h"

#include <stdlib.h>

static int is_member(const reparam_group *r, int node)
{
    for (int i = 0; i < r->n_members; i++)
        if (r->members[i] == node)
            return 1;
    return 0;
}

_Noreturn static void not_reparameterisable(const reparam_group *r, const node *at, const char *why)
{
    diag_error(r->merged.pos, "cannot re-parameterise '%s': '%s' %s", r->merged.name, at->name, why);
}

static void add_member(const graph *g, reparam_group *r, int node)
{
    if (is_member(r, node))
        not_reparameterisable(r, &g->nodes[node], "is reached by two paths of the sum");
    r->members = xrealloc(r->members, (size_t)(r->n_members + 1) * sizeof *r->members);
    r->members[r->n_members++] = node;
}

static void check_branch_conv(const reparam_group *r, const node *c)
{
    const conv_attrs *a = &c->conv, *m = &r->merged.conv;
    if (a->dilation != 1 || m->dilation != 1)
        not_reparameterisable(r, c, "is dilated (branches merge into one undilated kernel)");
    if (a->stride != m->stride || a->groups != m->groups || a->out_c != m->out_c)
        not_reparameterisable(r, c, "differs from the deploy conv in stride, groups or width");
    if (a->kh > m->kh || a->kw > m->kw || (m->kh - a->kh) % 2 || m->kh - a->kh != 2 * (m->pad - a->pad))
        not_reparameterisable(r, c, "does not sit centred in the deploy kernel");
}

static void check_identity_fits(const reparam_group *r, const node *at)
{
    if (r->merged.in_shape.c != r->merged.out_shape.c || r->merged.conv.stride != 1)
        not_reparameterisable(r, at, "is an identity branch but the width or stride changes");
}

static void add_branch(reparam_group *r, const node *at, int conv, int bn, int scale, int sign)
{
    if (r->n_branches == MAX_BRANCHES)
        not_reparameterisable(r, at, "is one branch too many");
    int b = r->n_branches++;
    r->conv[b] = conv, r->bn[b] = bn, r->scale[b] = scale, r->sign[b] = sign;
}

/* A branch's BatchNorm, of the group input (identity) or of a conv of it. */
static void collect_batchnorm(const graph *g, reparam_group *r, int p, int scale, int sign)
{
    const node *n = &g->nodes[p];
    int conv = -1;
    if (n->in[0] != r->in) {
        conv = g->tensors[n->in[0]].producer;
        if (conv < 0 || g->nodes[conv].op->reparam != REPARAM_CONV || g->nodes[conv].in[0] != r->in)
            not_reparameterisable(r, n, "does not follow a conv of the group input");
        check_branch_conv(r, &g->nodes[conv]);
        add_member(g, r, conv);
    } else {
        check_identity_fits(r, n);
    }
    add_branch(r, n, conv, p, scale, sign);
}

/* Walks the sum back to its branches: adds and subs of branches, each
 * optionally under one layer scale (RepMixer: x + gamma * (a - b)). */
static void collect_branch(const graph *g, reparam_group *r, int t, int scale, int sign)
{
    if (t == r->in) {
        const node *sum = &g->nodes[g->tensors[r->out].producer];
        check_identity_fits(r, sum);
        add_branch(r, sum, -1, -1, scale, sign);
        return;
    }
    int p = g->tensors[t].producer;
    if (p < 0)
        diag_error(r->merged.pos, "cannot re-parameterise '%s': the sum reaches the network input",
                   r->merged.name);
    const node *n = &g->nodes[p];
    add_member(g, r, p);
    if (n->op->reparam == REPARAM_SUM) {
        collect_branch(g, r, n->in[0], scale, sign);
        collect_branch(g, r, n->in[1], scale, n->op->reparam_sign * sign);
    } else if (n->op->reparam == REPARAM_SCALE && scale < 0) {
        collect_branch(g, r, n->in[0], p, sign);
    } else if (n->op->reparam == REPARAM_NORM) {
        collect_batchnorm(g, r, p, scale, sign);
    } else {
        not_reparameterisable(r, n, "is neither an add, a sub, a layer scale nor a branch's "
                              "BatchNorm");
    }
}

/* Only the sum may leave the group. */
static void check_closed(const graph *g, const reparam_group *r)
{
    for (int i = 0; i < g->n_nodes; i++) {
        if (is_member(r, i))
            continue;
        for (int k = 0; k < g->nodes[i].n_in; k++) {
            int p = g->tensors[g->nodes[i].in[k]].producer;
            if (p >= 0 && is_member(r, p) && g->nodes[i].in[k] != r->out)
                not_reparameterisable(r, &g->nodes[p], "is also used outside the branches");
        }
    }
}

static int contains_all(const reparam_group *outer, const reparam_group *inner)
{
    for (int m = 0; m < inner->n_members; m++)
        if (!is_member(outer, inner->members[m]))
            return 0;
    return 1;
}

/* A group whose branches include another group's sum absorbs it, as
 * RepMixer's reparameterize() merges its already merged mixer.  Every
 * group is judged against all the others before any is dropped. */
static void drop_absorbed_groups(graph *g)
{
    int *absorbed = xcalloc((size_t)g->n_groups + 1, sizeof *absorbed), kept = 0;
    for (int k = 0; k < g->n_groups; k++)
        for (int j = 0; j < g->n_groups && !absorbed[k]; j++)
            absorbed[k] = j != k && g->groups[j].n_members > g->groups[k].n_members &&
                          contains_all(&g->groups[j], &g->groups[k]);
    for (int k = 0; k < g->n_groups; k++) {
        if (absorbed[k])
            free(g->groups[k].members);
        else
            g->groups[kept++] = g->groups[k];
    }
    g->n_groups = kept;
    free(absorbed);
}

/* Groups left after absorption may not share a node. */
static void check_disjoint(const graph *g)
{
    for (int k = 0; k < g->n_groups; k++)
        for (int j = k + 1; j < g->n_groups; j++)
            for (int m = 0; m < g->groups[j].n_members; m++)
                if (is_member(&g->groups[k], g->groups[j].members[m]))
                    not_reparameterisable(&g->groups[j], &g->nodes[g->groups[j].members[m]],
                                          "also belongs to another deploy conv");
}

void resolve_reparam_groups(graph *g)
{
    for (int k = 0; k < g->n_groups; k++) {
        reparam_group *r = &g->groups[k];
        shape3 want = r->merged.out_shape, got = g->tensors[r->out].s;
        if (want.c != got.c || want.h != got.h || want.w != got.w)
            diag_error(r->merged.pos, "deploy '%s' produces %dx%dx%d but its output is %dx%dx%d",
                       r->merged.name, want.c, want.h, want.w, got.c, got.h, got.w);
        collect_branch(g, r, r->out, -1, 1);
        check_closed(g, r);
    }
    drop_absorbed_groups(g);
    check_disjoint(g);
}

int reparam_group_of(const graph *g, int node)
{
    for (int k = 0; k < g->n_groups; k++)
        if (is_member(&g->groups[k], node))
            return k;
    return -1;
}
