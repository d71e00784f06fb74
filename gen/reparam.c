/* Re-parameterisable groups: which train nodes a deploy conv replaces, and
 * whether the replacement is exact (every branch a conv + BatchNorm or a
 * BatchNorm of the group's input, summed by adds used nowhere else). */
#include "analysis.h"

#include <stdlib.h>

static void add_member(reparam_group *r, int node)
{
    r->members = xrealloc(r->members, (size_t)(r->n_members + 1) * sizeof *r->members);
    r->members[r->n_members++] = node;
}

_Noreturn static void not_reparameterisable(const reparam_group *r, const node *at, const char *why)
{
    diag_error(r->merged.pos, "cannot re-parameterise '%s': '%s' %s", r->merged.name, at->name, why);
}

static void check_branch_conv(const reparam_group *r, const node *c)
{
    const conv_attrs *a = &c->conv, *m = &r->merged.conv;
    if (a->stride != m->stride || a->groups != m->groups || a->out_c != m->out_c)
        not_reparameterisable(r, c, "differs from the deploy conv in stride, groups or width");
    if (a->kh > m->kh || a->kw > m->kw || (m->kh - a->kh) % 2 || m->kh - a->kh != 2 * (m->pad - a->pad))
        not_reparameterisable(r, c, "does not sit centred in the deploy kernel");
}

static void collect_branch(const graph *g, reparam_group *r, int t)
{
    int p = g->tensors[t].producer;
    if (p < 0)
        diag_error(r->merged.pos, "cannot re-parameterise '%s': the sum reaches the network input",
                   r->merged.name);
    const node *n = &g->nodes[p];
    add_member(r, p);
    if (n->op == OP_ADD) {
        collect_branch(g, r, n->in[0]);
        collect_branch(g, r, n->in[1]);
        return;
    }
    if (n->op != OP_BATCHNORM2D)
        not_reparameterisable(r, n, "is neither an add nor a branch's BatchNorm");
    if (r->n_branches == MAX_BRANCHES)
        not_reparameterisable(r, n, "is one branch too many");
    int conv = -1;
    if (n->in[0] != r->in) {
        conv = g->tensors[n->in[0]].producer;
        if (conv < 0 || g->nodes[conv].op != OP_CONV2D || g->nodes[conv].in[0] != r->in)
            not_reparameterisable(r, n, "does not follow a conv of the group input");
        check_branch_conv(r, &g->nodes[conv]);
        add_member(r, conv);
    } else if (r->merged.in_shape.c != r->merged.out_shape.c ||
               r->merged.conv.stride != 1) {
        not_reparameterisable(r, n, "is an identity branch but the width or stride changes");
    }
    r->conv[r->n_branches] = conv;
    r->bn[r->n_branches++] = p;
}

static int is_member(const reparam_group *r, int node)
{
    for (int i = 0; i < r->n_members; i++)
        if (r->members[i] == node)
            return 1;
    return 0;
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

void resolve_reparam_groups(graph *g)
{
    for (int k = 0; k < g->n_groups; k++) {
        reparam_group *r = &g->groups[k];
        shape3 want = r->merged.out_shape, got = g->tensors[r->out].s;
        if (want.c != got.c || want.h != got.h || want.w != got.w)
            diag_error(r->merged.pos, "deploy '%s' produces %dx%dx%d but its output is %dx%dx%d",
                       r->merged.name, want.c, want.h, want.w, got.c, got.h, got.w);
        collect_branch(g, r, r->out);
        check_closed(g, r);
    }
}

int reparam_group_of(const graph *g, int node)
{
    for (int k = 0; k < g->n_groups; k++)
        if (is_member(&g->groups[k], node))
            return k;
    return -1;
}
