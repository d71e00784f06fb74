/* What a run reports: the static memory plan and the results CSV row. */
#ifndef BZ_RESULTS_H
#define BZ_RESULTS_H

#include <stdint.h>

#include "model/bz_model.h"

/* Bytes of the static plan at one batch size, arena by arena, exactly as
 * bz_model_create allocates them. */
typedef struct {
    int batch;
    int64_t params;            /* n_params floats                          */
    int64_t grads;             /* training only                            */
    int64_t adam;              /* Adam m and v, training only              */
    int64_t bn_buffers;        /* running stats, per-batch saved stats,
                                  num_batches_tracked                     */
    int64_t deploy_params;     /* folded deploy weights                    */
    int64_t act_train;         /* act_train_per_sample x batch x 4         */
    int64_t act_eval;          /* act_eval_per_sample x batch x 4          */
    int64_t workspace;         /* im2col scratch                           */
    int64_t total_train;       /* everything a training model allocates    */
    int64_t total_eval;        /* everything an inference model allocates  */
} bz_memory_plan;

bz_memory_plan bz_memory_plan_of(const bz_model_desc *d, int batch);

/* BlockZoo's 23 columns, then ours. */
#define BZ_RESULTS_BLOCKZOO_COLUMNS 23
#define BZ_RESULTS_COLUMNS 37
extern const char *const bz_results_header[BZ_RESULTS_COLUMNS];

typedef struct {
    const char *dataset;
    int epochs, batch_size;
    double lr;
    double val_loss, val_acc;   /* best epoch's; accuracy as a fraction     */
    double training_time;       /* seconds                                  */
    double memory_mb;           /* static training plan, MiB                */
    int have_bench;             /* 0: latency/std/throughput left empty     */
    double latency_ms, latency_std, throughput;
    const char *experiment_name, *notes;
    int64_t seed;
    int threads;
    const char *backend;
    const char *device;         /* "cpu" or "cuda" */
    int best_epoch;
    const char *checkpoint;
    double peak_rss_mb;
    int subset, val_subset;     /* 0: the whole split                       */
    int best_epoch_valid;       /* 0: no epoch finished (val_* left empty)  */
    const char *status;         /* bz_run_status_names                      */
    const char *stopped_by;     /* which stopper ended a stopped_early run  */
} bz_results_row;

/* Appends one row (bz_csv_append: locked, all or nothing).  0 or -1. */
int bz_results_append(const char *path, const bz_model_desc *d, const bz_results_row *row);

/* 0 if path is absent, empty, or starts with exactly our header line;
 * otherwise -1 (bz_last_error) -- checked before training so a long run
 * does not end on an incompatible results file. */
int bz_results_check_header(const char *path);

/* The commit the binary was built at (build/version.c), or "unknown". */
const char *bz_build_commit_text(void);
/* /proc/cpuinfo's first "model name", or "unknown". */
const char *bz_cpu_model(void);

/* Local time as ISO 8601 with offset, e.g. 2025-05-01T14:03:07+02:00. */
void bz_iso8601_now(char *buf, int size);

#endif
