/* Per-layer timing of the generated code (`bench --layers`, `--trace`).
 *
 * Generated functions call bz_mark(m, step) before each layer's kernel and
 * bz_mark(m, -1) at their end; with a timer attached, the time between two
 * marks is the earlier step's.  Steps index desc->steps[]. */
#ifndef BZ_TIMER_H
#define BZ_TIMER_H

#include <stdio.h>

typedef struct {
    const char *name;   /* a step's layer name, or a region ("training step") */
    const char *cat;    /* operator or "region"                              */
    int step;           /* desc->steps index, -1 for a region                 */
    double t0, t1;      /* seconds, CLOCK_MONOTONIC                           */
} bz_trace_event;

typedef struct bz_timer {
    int n_steps;
    double *seconds;    /* [n_steps], accumulated                           */
    long *calls;        /* [n_steps]                                        */
    int open_step;      /* -1: none                                         */
    double open_t;
    int tracing;        /* keep every event for a Chrome trace              */
    bz_trace_event *events;
    int n_events, cap_events;
} bz_timer;

bz_timer *bz_timer_create(int n_steps, int tracing);
void bz_timer_free(bz_timer *t);
void bz_timer_reset(bz_timer *t);
void bz_timer_mark(bz_timer *t, int step);
/* A named region (training step, loss + Adam, inference) for the trace. */
void bz_timer_region(bz_timer *t, const char *name, double t0, double t1);

#endif
