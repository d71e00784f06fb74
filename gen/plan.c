/* Liveness-based activation planning over a step's timeline (training:
 * the forward, then each node's recomputes and backward).  A buffer lives
 * from its first write to its last read; buffers whose lifetimes overlap
 * never share memory.
 * Sizes are per sample (the runtime multiplies offsets by the batch), and
 * rounded to 16 floats so every buffer stays 64-byte aligned. */
#include "op.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    long size;
    int start, end;
    long *offset_out;
} buffer_req;

static long round16(long n) { return (n + 15) / 16 * 16; }

static int by_size_desc(const void *a, const void *b)
{
    const buffer_req *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return x->start - y->start;   /* deterministic order for equal sizes */
}

static int overlaps(const buffer_req *a, const buffer_req *b)
{
    return a->start <= b->end && b->start <= a->end;
}

/* Where buffer i of the placed ones (kept in ascending offset) goes in
 * that order. */
static int insertion_point(const buffer_req *r, const int *by_offset, int placed, long offset)
{
    int lo = 0, hi = placed;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (*r[by_offset[mid]].offset_out <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Biggest buffer first, each at the lowest offset clear of every placed
 * buffer whose lifetime overlaps its own.  The placed buffers are walked in
 * ascending offset from 0: one that overlaps in time and in space pushes
 * the candidate offset past its end, and the first placed buffer that
 * starts above the candidate's end closes the search (every later one
 * starts higher still).  One pass per buffer, so a 10,000-node graph plans
 * in a fraction of a second.  Returns the arena size. */
static long place_buffers(buffer_req *r, int n)
{
    qsort(r, (size_t)n, sizeof *r, by_size_desc);
    int *by_offset = malloc((size_t)(n + 1) * sizeof *by_offset);
    long total = 0;
    for (int i = 0; i < n; i++) {
        long offset = 0;
        for (int k = 0; k < i; k++) {
            const buffer_req *q = &r[by_offset[k]];
            long o = *q->offset_out;
            if (o >= offset + r[i].size)
                break;
            if (overlaps(&r[i], q) && o + q->size > offset)
                offset = o + q->size;
        }
        *r[i].offset_out = offset;
        int at = insertion_point(r, by_offset, i, offset);
        memmove(by_offset + at + 1, by_offset + at, (size_t)(i - at) * sizeof *by_offset);
        by_offset[at] = i;
        if (offset + r[i].size > total)
            total = offset + r[i].size;
    }
    free(by_offset);
    return total;
}

static long *new_offsets(int n)
{
    long *o = malloc((size_t)n * sizeof *o);
    for (int i = 0; i < n; i++)
        o[i] = -1;
    return o;
}

static int in_arena(const graph *g, int t)
{
    return t != 0 && g->tensors[t].producer != g->n_nodes - 1;
}

static void extend_lifetime(int *end, int t, int step)
{
    if (step > end[t])
        end[t] = step;
}

/* The training step's timeline, in events: forward node i is event i;
 * then, for each node j from the last, the recomputes before its backward
 * (one event each, in tensor order) and its backward.  Each event has two
 * times: 2e, when it reads its inputs and when an ordinary kernel writes,
 * and 2e + 1, when an in-place kernel (op_def.in_place) writes, so that
 * its output may take the place of an input read for the last time. */
typedef struct {
    int *recompute;     /* by tensor: event of its recompute, -1: none */
    int *backward;      /* by node */
} timeline;

static timeline training_timeline(const graph *g, const int *before)
{
    int N = g->n_nodes, T = g->n_tensors;
    timeline tl = {malloc((size_t)T * sizeof(int)), calloc((size_t)N + 1, sizeof(int))};
    /* backward[j] counts node j's recomputes, then becomes its event */
    for (int t = 0; t < T; t++)
        if (before[t] >= 0)
            tl.backward[before[t]]++;
    int now = N;
    for (int j = N - 1; j >= 0; j--) {
        int first = now;
        now += tl.backward[j] + 1;
        tl.backward[j] = first;     /* for now: its first recompute's event */
    }
    for (int t = 0; t < T; t++)
        tl.recompute[t] = before[t] >= 0 ? tl.backward[before[t]]++ : -1;
    return tl;
}

static int read_time(int event) { return 2 * event; }

static int write_time(const node *n, int event)
{
    return 2 * event + (n->op->in_place ? 1 : 0);
}

/* The training step's buffers: the forward copy of each tensor (from its
 * write to its last forward reader, or to its last backward reader when
 * kept), its recomputed copy, its gradient (from the first backward that
 * writes it to its producer's backward).  A start of -1: not materialised
 * (a BatchNorm output whose ReLU its kernel applies, or that the add after
 * it applies: gen/fuse.c).  A gradient with a training_fusion.grad_alias
 * (an add passed it on; a BatchNorm reads its ReLU's instead) is its
 * root's buffer (training_plan_with); a ReLU whose backward its BatchNorm
 * applies reads nothing. */
typedef struct {
    int *start, *end;
    int *again_start, *again_end;
    int *grad_start;
} lifetimes;

/* A backward or recompute at `event` reads tensor t. */
static void read_in_backward(lifetimes *l, const int *before, int t, int event)
{
    extend_lifetime(before[t] >= 0 ? l->again_end : l->end, t, read_time(event));
}

static int *new_times(int n, int value)
{
    int *v = malloc((size_t)n * sizeof *v);
    for (int i = 0; i < n; i++)
        v[i] = value;
    return v;
}

/* The tensor node i's training kernels read as its input k: where node i
 * applies the BatchNorm that produced it (gen/fuse.c), that BatchNorm's
 * input. */
static int read_source(const graph *g, const training_fusion *fusion, int i, int k)
{
    int t = g->nodes[i].in[k], p = g->tensors[t].producer;
    return p >= 0 && fusion->absorber[p] == i ? g->nodes[p].in[0] : t;
}

static lifetimes training_lifetimes(const graph *g, const training_fusion *fusion,
                                    const int *before, const timeline *tl)
{
    int N = g->n_nodes, T = g->n_tensors;
    lifetimes l = {new_times(T, -1), new_times(T, 0), new_times(T, -1), new_times(T, 0),
                   new_times(T, INT_MAX)};
    for (int i = 0; i < N; i++) {
        const node *n = &g->nodes[i];
        int back = tl->backward[i], b = fusion->applier[i];
        int saves = backward_reads(g, fusion, i);
        for (int k = 0; k < n->n_in; k++) {
            int t = n->in[k];
            if (b < 0)
                extend_lifetime(l.end, read_source(g, fusion, i, k), read_time(i));
            if (saves & SAVES_INPUTS)
                read_in_backward(&l, before, t, back);
            if (write_time(n, back) < l.grad_start[t])
                l.grad_start[t] = write_time(n, back);
        }
        if (saves & SAVES_OUTPUT)
            read_in_backward(&l, before, n->out, back);
        /* nothing written: a ReLU its producer applies, a BatchNorm its
         * consumer applies */
        if (b >= 0 || fusion->absorber[i] >= 0)
            continue;
        /* what its kernel writes: its output, or the output of the ReLU it applies */
        int relu = fusion->applied[i];
        int out = relu >= 0 ? g->nodes[relu].out : n->out;
        l.start[out] = write_time(n, i);
        extend_lifetime(l.end, out, l.start[out]);
        if (before[n->out] >= 0) {
            int event = tl->recompute[n->out];
            l.again_start[out] = write_time(n, event);
            extend_lifetime(l.again_end, out, l.again_start[out]);
            for (int k = 0; k < n->n_in; k++)
                read_in_backward(&l, before, read_source(g, fusion, i, k), event);
        }
    }
    return l;
}

static memory_plan training_plan_with(const graph *g, const training_fusion *fusion,
                                      const char *rerun)
{
    int T = g->n_tensors;
    int *before = plan_recompute(g, fusion, rerun);
    timeline tl = training_timeline(g, before);
    lifetimes l = training_lifetimes(g, fusion, before, &tl);
    memory_plan p = {new_offsets(T), new_offsets(T), new_offsets(T), before, 0};
    /* a gradient read last by its producer's backward; one an add passed
     * on shares its root's buffer, which lives until every such read */
    int *grad_end = malloc((size_t)T * sizeof *grad_end);
    for (int t = 0; t < T; t++)
        grad_end[t] = in_arena(g, t) ? read_time(tl.backward[g->tensors[t].producer]) : 0;
    for (int t = 0; t < T; t++) {
        int root = fusion->grad_alias[t];
        if (root >= 0) {
            extend_lifetime(grad_end, root, grad_end[t]);
            if (l.grad_start[t] < l.grad_start[root])
                l.grad_start[root] = l.grad_start[t];
        }
    }
    buffer_req *r = malloc((size_t)(3 * T) * sizeof *r);
    int n = 0;
    for (int t = 0; t < T; t++) {
        if (!in_arena(g, t))
            continue;
        long size = round16(shape_numel(g->tensors[t].s));
        if (l.start[t] >= 0)
            r[n++] = (buffer_req){size, l.start[t], l.end[t], &p.act_offset[t]};
        if (l.again_start[t] >= 0)
            r[n++] = (buffer_req){size, l.again_start[t], l.again_end[t], &p.back_offset[t]};
        if (fusion->grad_alias[t] < 0)
            r[n++] = (buffer_req){size, l.grad_start[t], grad_end[t], &p.grad_offset[t]};
    }
    p.size = place_buffers(r, n);
    for (int t = 0; t < T; t++) {
        if (before[t] < 0)
            p.back_offset[t] = p.act_offset[t];
        if (fusion->grad_alias[t] >= 0)
            p.grad_offset[t] = p.grad_offset[fusion->grad_alias[t]];
    }
    free(grad_end);
    free(r);
    free(l.start), free(l.end), free(l.again_start), free(l.again_end), free(l.grad_start);
    free(tl.recompute), free(tl.backward);
    return p;
}

static void free_plan(memory_plan *p)
{
    free(p->act_offset), free(p->grad_offset), free(p->back_offset), free(p->recompute_before);
}

/* Flips whether node i may be rerun; keeps the flip if the plan shrinks. */
static void try_flip(const graph *g, const training_fusion *fusion, char *rerun, int i,
                     memory_plan *best, int keep_equal)
{
    rerun[i] = !rerun[i];
    memory_plan p = training_plan_with(g, fusion, rerun);
    if (p.size < best->size || (keep_equal && p.size == best->size)) {
        free_plan(best);
        *best = p;
    } else {
        free_plan(&p);
        rerun[i] = !rerun[i];
    }
}

/* Graphs larger than this get the first plan, untried (each try is a
 * whole plan: quadratic in the graph's size). */
enum { MAX_NODES_TRIED = 2000 };

/* Every operator that may always rerun does; then, one node at a time, a
 * plan without that node rerun is tried (a chain through a block's
 * identity branch can reach back to the stem: all its links recomputed at
 * once), then a plan with each cheap conv rerun; each kept where it is
 * smaller.  Last, each rerun left is dropped where the plan is no larger
 * without it: a recompute of a tensor that is not live at the arena's peak
 * (a late stage's, the pooled features) saves no memory and costs a pass.
 * Greedy, and deterministic. */
memory_plan plan_training(const graph *g, const training_fusion *fusion, int recompute)
{
    char *rerun = recompute ? recompute_always(g) : calloc((size_t)g->n_nodes, 1);
    memory_plan best = training_plan_with(g, fusion, rerun);
    int tries = recompute && g->n_nodes <= MAX_NODES_TRIED;
    for (int i = 0; tries && i < g->n_nodes; i++)
        if (rerun[i])
            try_flip(g, fusion, rerun, i, &best, 0);
    for (int i = 0; tries && i < g->n_nodes; i++)
        if (recompute_on_trial(g, i))
            try_flip(g, fusion, rerun, i, &best, 0);
    for (int i = 0; tries && i < g->n_nodes; i++)
        if (rerun[i])
            try_flip(g, fusion, rerun, i, &best, 1);
    free(rerun);
    return best;
}

/* Forward-only lifetimes over a sequence of (in, in2, out) steps.  share
 * (NULL: none) gives step s's output the buffer of tensor share[s], whose
 * last reader that step is (a deploy step's residual, -1: none): one
 * buffer, living from the first tensor's write to the last one's read. */
static memory_plan plan_forward(const graph *g, int n_steps, const int (*io)[3],
                                const int *share)
{
    int T = g->n_tensors;
    int *end = calloc((size_t)T, sizeof *end);
    int *start = calloc((size_t)T, sizeof *start);
    int *root = malloc((size_t)T * sizeof *root);   /* the tensor whose buffer t has */
    for (int t = 0; t < T; t++)
        root[t] = t;
    for (int s = 0; s < n_steps; s++) {
        for (int k = 0; k < 2; k++)
            if (io[s][k] >= 0)
                extend_lifetime(end, root[io[s][k]], s);
        int out = io[s][2];
        if (share && share[s] >= 0)
            root[out] = root[share[s]];
        else
            start[out] = s;
        extend_lifetime(end, root[out], s);
    }
    memory_plan p = {new_offsets(T), NULL, NULL, NULL, 0};
    buffer_req *r = malloc((size_t)T * sizeof *r);
    int n = 0;
    for (int s = 0; s < n_steps; s++) {
        int t = io[s][2];
        if (in_arena(g, t) && root[t] == t)
            r[n++] = (buffer_req){round16(shape_numel(g->tensors[t].s)), start[t], end[t],
                                  &p.act_offset[t]};
    }
    p.size = place_buffers(r, n);
    for (int s = 0; s < n_steps; s++)
        p.act_offset[io[s][2]] = p.act_offset[root[io[s][2]]];
    free(r);
    free(root);
    free(start);
    free(end);
    return p;
}

memory_plan plan_inference(const graph *g)
{
    int (*io)[3] = malloc((size_t)g->n_nodes * sizeof *io);
    for (int i = 0; i < g->n_nodes; i++) {
        const node *n = &g->nodes[i];
        io[i][0] = n->in[0];
        io[i][1] = n->n_in > 1 ? n->in[1] : -1;
        io[i][2] = n->out;
    }
    memory_plan p = plan_forward(g, g->n_nodes, (const int (*)[3])io, NULL);
    free(io);
    return p;
}

memory_plan plan_deploy(const graph *g, const deploy_graph *d)
{
    int (*io)[3] = malloc((size_t)d->n_steps * sizeof *io);
    int *share = malloc((size_t)d->n_steps * sizeof *share);
    for (int s = 0; s < d->n_steps; s++) {
        const deploy_step *step = &d->steps[s];
        io[s][0] = step->in;
        io[s][1] = step->residual >= 0 ? step->residual
                 : step->n->n_in > 1 ? step->n->in[1] : -1;
        io[s][2] = step->out;
        share[s] = step->residual;
    }
    memory_plan p = plan_forward(g, d->n_steps, (const int (*)[3])io, share);
    free(io);
    free(share);
    return p;
}
