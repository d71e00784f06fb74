#include "bench/bz_timer.h"

#include <stdlib.h>
#include <string.h>

#include "util/bz_util.h"

bz_timer *bz_timer_create(int n_steps, int tracing)
{
    bz_timer *t = bz_xmalloc(sizeof *t);
    memset(t, 0, sizeof *t);
    t->n_steps = n_steps;
    t->seconds = bz_xmalloc((size_t)n_steps * sizeof *t->seconds);
    t->calls = bz_xmalloc((size_t)n_steps * sizeof *t->calls);
    t->tracing = tracing;
    bz_timer_reset(t);
    return t;
}

void bz_timer_free(bz_timer *t)
{
    if (!t)
        return;
    free(t->seconds);
    free(t->calls);
    free(t->events);
    free(t);
}

void bz_timer_reset(bz_timer *t)
{
    memset(t->seconds, 0, (size_t)t->n_steps * sizeof *t->seconds);
    memset(t->calls, 0, (size_t)t->n_steps * sizeof *t->calls);
    t->open_step = -1;
    t->n_events = 0;
}

static void add_event(bz_timer *t, bz_trace_event e)
{
    if (t->n_events == t->cap_events) {
        t->cap_events = t->cap_events ? 2 * t->cap_events : 1024;
        t->events = bz_xrealloc(t->events, (size_t)t->cap_events * sizeof *t->events);
    }
    t->events[t->n_events++] = e;
}

void bz_timer_mark(bz_timer *t, int step)
{
    double now = bz_now_seconds();
    if (t->open_step >= 0) {
        t->seconds[t->open_step] += now - t->open_t;
        t->calls[t->open_step]++;
        if (t->tracing)
            add_event(t, (bz_trace_event){NULL, NULL, t->open_step, t->open_t, now});
    }
    t->open_step = step >= 0 && step < t->n_steps ? step : -1;
    t->open_t = now;
}

void bz_timer_region(bz_timer *t, const char *name, double t0, double t1)
{
    if (t->tracing)
        add_event(t, (bz_trace_event){name, "region", -1, t0, t1});
}
