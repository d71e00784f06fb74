/* Experiment specs: specs/defaults.yaml overlaid by specs/<exp>.yaml and
 * by command-line overrides. */
#ifndef GEN_SPEC_H
#define GEN_SPEC_H

#include "diag.h"

typedef struct {
    const char *spec_path;
    const char *name;            /* experiment (variant) name             */
    const char *block;           /* block file stem, e.g. "inverted_residual" */
    const char *position;        /* early, mid, late                      */
    int in_channels, input_size, base_channels, num_blocks, classes;
    const char *stem, *filler, *head;     /* block file stems             */
    src_pos block_pos, stem_pos, filler_pos, head_pos;  /* where each was set */
    const char *dataset;
    int epochs, batch_size, seed, subset;
    double lr;
    int warmup_runs, benchmark_runs, max_batch;
} experiment;

typedef struct {
    int num_blocks, base_channels, classes, input_size;   /* 0: keep */
} spec_overrides;

void spec_load(experiment *e, const char *defaults_path, const char *spec_path,
               const spec_overrides *o);

#endif
