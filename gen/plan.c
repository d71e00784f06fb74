/* Liveness-based activation planning.  Steps: forward node i runs at step
 * i, its backward at step 2N-1-i.  A buffer lives from its first write to
 * its last read; buffers whose lifetimes overlap never share memory.
 * Sizes are per sample (the runtime multiplies offsets by the batch), and
 * rounded to 16 floats so every buffer stays 64-byte aligned. */
#include "op.h"

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

static int backward_needs_input(const node *n)
{
    return n->op->backward_saves & SAVES_INPUTS;
}

static int backward_needs_output(const node *n)
{
    return n->op->backward_saves & SAVES_OUTPUT;
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

memory_plan plan_training(const graph *g)
{
    int N = g->n_nodes, T = g->n_tensors;
    int *act_end = calloc((size_t)T, sizeof *act_end);
    int *grad_start = malloc((size_t)T * sizeof *grad_start);
    for (int t = 0; t < T; t++)
        grad_start[t] = 2 * N;
    for (int i = 0; i < N; i++) {
        const node *n = &g->nodes[i];
        int back = 2 * N - 1 - i;
        for (int k = 0; k < n->n_in; k++) {
            extend_lifetime(act_end, n->in[k], backward_needs_input(n) ? back : i);
            if (back < grad_start[n->in[k]])
                grad_start[n->in[k]] = back;
        }
        extend_lifetime(act_end, n->out, backward_needs_output(n) ? back : i);
    }
    memory_plan p = {new_offsets(T), new_offsets(T), 0};
    buffer_req *r = malloc((size_t)(2 * T) * sizeof *r);
    int n = 0;
    for (int t = 0; t < T; t++) {
        if (!in_arena(g, t))
            continue;
        int producer = g->tensors[t].producer;
        long size = round16(shape_numel(g->tensors[t].s));
        r[n++] = (buffer_req){size, producer, act_end[t], &p.act_offset[t]};
        r[n++] = (buffer_req){size, grad_start[t], 2 * N - 1 - producer, &p.grad_offset[t]};
    }
    p.size = place_buffers(r, n);
    free(r);
    free(act_end);
    free(grad_start);
    return p;
}

/* Forward-only lifetimes over a sequence of (in, in2, out) steps. */
static memory_plan plan_forward(const graph *g, int n_steps, const int (*io)[3])
{
    int T = g->n_tensors;
    int *end = calloc((size_t)T, sizeof *end);
    int *start = calloc((size_t)T, sizeof *start);
    for (int s = 0; s < n_steps; s++) {
        for (int k = 0; k < 2; k++)
            if (io[s][k] >= 0 && s > end[io[s][k]])
                end[io[s][k]] = s;
        start[io[s][2]] = s;
        end[io[s][2]] = s;
    }
    memory_plan p = {new_offsets(T), NULL, 0};
    buffer_req *r = malloc((size_t)T * sizeof *r);
    int n = 0;
    for (int s = 0; s < n_steps; s++) {
        int t = io[s][2];
        if (in_arena(g, t))
            r[n++] = (buffer_req){round16(shape_numel(g->tensors[t].s)), start[t], end[t],
                                  &p.act_offset[t]};
    }
    p.size = place_buffers(r, n);
    free(r);
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
    memory_plan p = plan_forward(g, g->n_nodes, (const int (*)[3])io);
    free(io);
    return p;
}

memory_plan plan_deploy(const graph *g, const deploy_graph *d)
{
    int (*io)[3] = malloc((size_t)d->n_steps * sizeof *io);
    for (int s = 0; s < d->n_steps; s++) {
        const node *n = d->steps[s].n;
        io[s][0] = d->steps[s].in;
        io[s][1] = n->n_in > 1 ? n->in[1] : -1;
        io[s][2] = d->steps[s].out;
    }
    memory_plan p = plan_forward(g, d->n_steps, (const int (*)[3])io);
    free(io);
    return p;
}
