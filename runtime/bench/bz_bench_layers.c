/* bench --layers and --trace: where the time of the generated code goes,
 * per layer, from the steps a bz_timer collected (runtime/bench/bz_timer.h). */
#include "bench/bz_bench.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/bz_util.h"

/* ---- per-layer tables ----------------------------------------------- */

static double step_ms(const bz_timer *t, int s)
{
    return t->calls[s] ? 1e3 * t->seconds[s] / (double)t->calls[s] : 0.0;
}

static double gflops(int64_t macs, int batch, double ms)
{
    return ms > 0 ? 2.0 * (double)macs * batch / (ms * 1e-3) / 1e9 : 0.0;
}

static void shapes(const bz_layer_desc *l, char *buf, size_t size)
{
    snprintf(buf, size, "%dx%dx%d -> %dx%dx%d", l->in_c, l->in_h, l->in_w, l->out_c, l->out_h,
             l->out_w);
}

int64_t bz_phase_macs(const bz_model_desc *d, int phase)
{
    int64_t macs = 0;
    for (int s = 0; s < d->n_steps; s++)
        if (d->steps[s].phase == phase)
            macs += d->steps[s].macs;
    return macs;
}

static double phase_total_ms(const bz_model_desc *d, const bz_timer *t, int phase)
{
    double total = 0;
    for (int s = 0; s < d->n_steps; s++)
        if (d->steps[s].phase == phase)
            total += step_ms(t, s);
    return total;
}

void bz_print_inference_layers(const bz_model_desc *d, const bz_timer *t, int batch)
{
    double total = phase_total_ms(d, t, BZ_PHASE_FORWARD_DEPLOY);
    printf("\nper layer, inference on the deploy graph, batch %d (mean per run; MACs those "
           "the kernel runs: a Linear's on every pixel, attention's products)\n", batch);
    printf("%-44s %-16s %-24s %12s %9s %8s %6s\n", "layer", "operator", "shape", "MACs", "ms",
           "GFLOP/s", "share");
    for (int s = 0; s < d->n_steps; s++) {
        const bz_step_desc *st = &d->steps[s];
        if (st->phase != BZ_PHASE_FORWARD_DEPLOY)
            continue;
        const bz_layer_desc *l = &d->layers[st->layer];
        char shape[64];
        shapes(l, shape, sizeof shape);
        double ms = step_ms(t, s);
        printf("%-44s %-16s %-24s %12lld %9.3f %8.2f %5.1f%%\n", l->name, l->op, shape,
               (long long)st->macs, ms, gflops(st->macs, batch, ms),
               total > 0 ? 100.0 * ms / total : 0.0);
    }
    int64_t macs = bz_phase_macs(d, BZ_PHASE_FORWARD_DEPLOY);
    printf("%-44s %-16s %-24s %12lld %9.3f %8.2f\n", "total (layers)", "", "", (long long)macs,
           total, gflops(macs, batch, total));
}

/* The step of `phase` of the layer of step s (same node), or -1. */
static int layer_step(const bz_model_desc *d, int s, int phase)
{
    for (int k = 0; k < d->n_steps; k++)
        if (d->steps[k].phase == phase && d->steps[k].layer == d->steps[s].layer)
            return k;
    return -1;
}

/* A layer's recompute in the backward (gen/recompute.c): a row of its
 * own after the layer's, its time in the backward column. */
static void print_recompute_row(const bz_model_desc *d, const bz_timer *t, int batch, int r,
                                double total)
{
    const bz_step_desc *st = &d->steps[r];
    const bz_layer_desc *l = &d->layers[st->layer];
    char name[96], shape[64];
    snprintf(name, sizeof name, "%s (recomputed)", l->name);
    shapes(l, shape, sizeof shape);
    double ms = step_ms(t, r);
    printf("%-44s %-16s %-24s %12lld %9s %8s %9.3f %8.2f %5.1f%%\n", name, l->op, shape,
           (long long)st->macs, "-", "-", ms, gflops(st->macs, batch, ms),
           total > 0 ? 100.0 * ms / total : 0.0);
}

void bz_print_training_layers(const bz_model_desc *d, const bz_timer *t, int batch)
{
    double bwd = phase_total_ms(d, t, BZ_PHASE_BACKWARD) +
                 phase_total_ms(d, t, BZ_PHASE_RECOMPUTE);
    double total = phase_total_ms(d, t, BZ_PHASE_FORWARD_TRAIN) + bwd;
    printf("\nper layer, training step, batch %d (mean per step; MACs those the kernel runs; "
           "backward = input and weight gradients, 2 x the forward MACs; the first layer's "
           "weight gradient only; \"(recomputed)\": the forward run again in the backward "
           "rather than kept)\n", batch);
    printf("%-44s %-16s %-24s %12s %9s %8s %9s %8s %6s\n", "layer", "operator", "shape", "MACs",
           "fwd ms", "GFLOP/s", "bwd ms", "GFLOP/s", "share");
    for (int s = 0; s < d->n_steps; s++) {
        const bz_step_desc *st = &d->steps[s];
        if (st->phase != BZ_PHASE_FORWARD_TRAIN)
            continue;
        const bz_layer_desc *l = &d->layers[st->layer];
        int b = layer_step(d, s, BZ_PHASE_BACKWARD), r = layer_step(d, s, BZ_PHASE_RECOMPUTE);
        double fwd = step_ms(t, s), back = b >= 0 ? step_ms(t, b) : 0.0;
        char shape[64];
        shapes(l, shape, sizeof shape);
        printf("%-44s %-16s %-24s %12lld %9.3f %8.2f %9.3f %8.2f %5.1f%%\n", l->name, l->op,
               shape, (long long)st->macs, fwd, gflops(st->macs, batch, fwd), back,
               b >= 0 ? gflops(d->steps[b].macs, batch, back) : 0.0,
               total > 0 ? 100.0 * (fwd + back) / total : 0.0);
        if (r >= 0)
            print_recompute_row(d, t, batch, r, total);
    }
    double fwd = phase_total_ms(d, t, BZ_PHASE_FORWARD_TRAIN);
    int64_t fwd_macs = bz_phase_macs(d, BZ_PHASE_FORWARD_TRAIN);
    int64_t bwd_macs = bz_phase_macs(d, BZ_PHASE_BACKWARD) + bz_phase_macs(d, BZ_PHASE_RECOMPUTE);
    printf("%-44s %-16s %-24s %12lld %9.3f %8.2f %9.3f %8.2f\n", "total (layers; loss and Adam "
           "not included)", "", "", (long long)fwd_macs, fwd, gflops(fwd_macs, batch, fwd), bwd,
           gflops(bwd_macs, batch, bwd));
}

/* ---- the same tables as JSON (bench --layers --json) ----------------- */

static json_t *layer_json(const bz_model_desc *d, const bz_step_desc *st)
{
    const bz_layer_desc *l = &d->layers[st->layer];
    return json_pack("{s:s, s:s, s:s, s:[iii], s:[iii], s:I}", "name", l->name, "op", l->op,
                     "kernel", st->kernel, "in", l->in_c, l->in_h, l->in_w, "out", l->out_c,
                     l->out_h, l->out_w, "macs", (json_int_t)st->macs);
}

static void set_time(json_t *o, const char *ms_key, const char *gflops_key, double ms,
                     int64_t macs, int batch)
{
    json_object_set_new(o, ms_key, json_real(ms));
    json_object_set_new(o, gflops_key, json_real(gflops(macs, batch, ms)));
}

/* The rows of one phase's steps: deploy steps with "ms" and "gflops";
 * forward-train steps with "forward_ms", "forward_gflops" and their
 * backward step's "backward_macs" (both gradients, or the first layer's
 * weight gradient only), "backward_ms" and "backward_gflops"; a layer the
 * backward recomputes also "recompute_ms" and "recompute_gflops". */
static json_t *phase_layers_json(const bz_model_desc *d, const bz_timer *t, int batch,
                                 int phase)
{
    int training = phase == BZ_PHASE_FORWARD_TRAIN;
    json_t *rows = json_array();
    for (int s = 0; s < d->n_steps; s++) {
        const bz_step_desc *st = &d->steps[s];
        if (st->phase != phase)
            continue;
        json_t *o = layer_json(d, st);
        set_time(o, training ? "forward_ms" : "ms", training ? "forward_gflops" : "gflops",
                 step_ms(t, s), st->macs, batch);
        int b = training ? layer_step(d, s, BZ_PHASE_BACKWARD) : -1;
        int r = training ? layer_step(d, s, BZ_PHASE_RECOMPUTE) : -1;
        if (b >= 0) {
            json_object_set_new(o, "backward_macs", json_integer((json_int_t)d->steps[b].macs));
            set_time(o, "backward_ms", "backward_gflops", step_ms(t, b), d->steps[b].macs, batch);
        }
        if (r >= 0)
            set_time(o, "recompute_ms", "recompute_gflops", step_ms(t, r), d->steps[r].macs,
                     batch);
        json_array_append_new(rows, o);
    }
    return rows;
}

json_t *bz_layers_json(const bz_model_desc *d, const bz_timer *inference, const bz_timer *train,
                       int batch)
{
    return json_pack("{s:o, s:o}", "inference",
                     inference ? phase_layers_json(d, inference, batch, BZ_PHASE_FORWARD_DEPLOY)
                               : json_null(),
                     "training", train ? phase_layers_json(d, train, batch, BZ_PHASE_FORWARD_TRAIN)
                                       : json_null());
}

/* ---- Chrome trace --------------------------------------------------- */

static const char *const phase_names[] = {"forward (train)", "forward (eval)", "backward",
                                          "forward (deploy)", "recompute (backward)"};

static json_t *metadata(const char *what, int tid, const char *name)
{
    return json_pack("{s:s, s:s, s:i, s:i, s:{s:s}}", "name", what, "ph", "M", "pid", 1, "tid",
                     tid, "args", "name", name);
}

static json_t *event_json(const bz_model_desc *d, const bz_trace_event *e, double origin,
                          int tid)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:f, s:f, s:i, s:i}", "name",
                          e->step >= 0 ? d->layers[d->steps[e->step].layer].name : e->name,
                          "cat", e->step >= 0 ? phase_names[d->steps[e->step].phase] : "region",
                          "ph", "X", "ts", 1e6 * (e->t0 - origin), "dur", 1e6 * (e->t1 - e->t0),
                          "pid", 1, "tid", tid);
    if (e->step >= 0) {
        const bz_step_desc *st = &d->steps[e->step];
        const bz_layer_desc *l = &d->layers[st->layer];
        char shape[64];
        shapes(l, shape, sizeof shape);
        json_object_set_new(o, "args", json_pack("{s:s, s:s, s:s, s:I}", "operator", l->op,
                                                 "kernel", st->kernel, "shape", shape,
                                                 "MACs per image", (json_int_t)st->macs));
    }
    return o;
}

static void add_events(json_t *events, const bz_model_desc *d, const bz_timer *t, int tid)
{
    double origin = t->n_events ? t->events[0].t0 : 0.0;
    for (int i = 0; i < t->n_events; i++)
        if (t->events[i].t0 < origin)
            origin = t->events[i].t0;
    for (int i = 0; i < t->n_events; i++)
        json_array_append_new(events, event_json(d, &t->events[i], origin, tid));
}

int bz_write_trace(const bz_model_desc *d, const bz_timer *inference, const bz_timer *train,
                   const char *path)
{
    json_t *events = json_array();
    json_array_append_new(events, json_pack("{s:s, s:s, s:i, s:{s:s}}", "name", "process_name",
                                            "ph", "M", "pid", 1, "args", "name", d->experiment));
    json_array_append_new(events, metadata("thread_name", 1, "inference (deploy graph)"));
    json_array_append_new(events, metadata("thread_name", 2, "training step"));
    add_events(events, d, inference, 1);
    add_events(events, d, train, 2);
    json_t *root = json_pack("{s:o, s:s}", "traceEvents", events, "displayTimeUnit", "ms");
    bz_atomic_file f;
    int rc = bz_atomic_open(&f, path);
    if (rc == 0 && json_dumpf(root, f.fp, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0) {
        bz_error("%s: cannot write the trace", path);
        bz_atomic_abort(&f);
        rc = -1;
    } else if (rc == 0) {
        rc = bz_atomic_commit(&f);
    }
    json_decref(root);
    return rc;
}
