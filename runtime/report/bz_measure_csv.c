/* `bench --output` and `profile --output` (BlockZoo's flags): one CSV row
 * per batch size benchmarked, or per profile, appended as the results CSV
 * is (bz_csv_append), with BlockZoo's column names where it has them. */
#include <stdio.h>

#include "cli/bz_cli.h"
#include "io/bz_csv.h"
#include "model/bz_runtime_model.h"
#include "report/bz_measure_csv.h"

#define BENCH_COLUMNS 26
static const char *const bench_header[BENCH_COLUMNS] = {
    "timestamp", "block", "position", "experiment_name", "device", "backend", "threads",
    "batch_size", "warmup_runs", "benchmark_runs", "latency_ms", "latency_std",
    "latency_median_ms", "latency_p90_ms", "throughput", "gflops", "train_step_ms",
    "train_throughput", "params_total", "flops", "num_blocks", "base_channels", "out_dim",
    "cpu_model", "gemm", "commit",
};

#define PROFILE_COLUMNS 18
static const char *const profile_header[PROFILE_COLUMNS] = {
    "timestamp", "block", "position", "experiment_name", "batch_size", "params_total",
    "params_trainable", "flops", "flops_train", "memory_mb", "memory_eval_mb", "peak_rss_mb",
    "num_blocks", "base_channels", "out_dim", "input_size", "spec_hash", "commit",
};

int bz_bench_csv_check(const char *path)
{
    return bz_csv_check_header(path, BENCH_COLUMNS, bench_header);
}

int bz_profile_csv_check(const char *path)
{
    return bz_csv_check_header(path, PROFILE_COLUMNS, profile_header);
}

/* Cells of a row: f[i] is formatted text, fields[i] what is written. */
typedef struct {
    char f[BENCH_COLUMNS][64];
    const char *fields[BENCH_COLUMNS];
} row_text;

static void row_start(row_text *t, const bz_model_desc *d)
{
    for (int i = 0; i < BENCH_COLUMNS; i++) {
        t->f[i][0] = '\0';
        t->fields[i] = t->f[i];
    }
    bz_iso8601_now(t->f[0], sizeof t->f[0]);
    t->fields[1] = d->block;
    t->fields[2] = d->position;
    t->fields[3] = d->experiment;
}

#define CELL(t, i, ...) snprintf((t)->f[i], sizeof (t)->f[i], __VA_ARGS__)

int bz_bench_csv_append(const char *path, const bz_model_desc *d, const bz_backend *b,
                        const bz_bench_result *r, int with_inference)
{
    row_text t;
    row_start(&t, d);
    t.fields[4] = bz_backend_device(b);
    t.fields[5] = b->name;
    CELL(&t, 6, "%d", bz_get_threads());
    CELL(&t, 7, "%d", r->batch);
    CELL(&t, 8, "%d", r->warmup_runs);
    CELL(&t, 9, "%d", r->benchmark_runs);
    if (with_inference) {
        CELL(&t, 10, "%.6f", r->latency_mean_ms);
        CELL(&t, 11, "%.6f", r->latency_std_ms);
        CELL(&t, 12, "%.6f", r->latency_median_ms);
        CELL(&t, 13, "%.6f", r->latency_p90_ms);
        CELL(&t, 14, "%.3f", r->throughput);
        CELL(&t, 15, "%.3f", r->gflops);
    }
    if (r->train_runs > 0) {
        CELL(&t, 16, "%.6f", r->train_step_ms);
        CELL(&t, 17, "%.3f", r->train_throughput);
    }
    CELL(&t, 18, "%lld", (long long)d->params_deploy);
    CELL(&t, 19, "%lld", (long long)(2 * d->macs_deploy));
    CELL(&t, 20, "%d", d->num_blocks);
    CELL(&t, 21, "%d", d->base_channels);
    CELL(&t, 22, "%d", d->classes);
    t.fields[23] = bz_cpu_model();
    t.fields[24] = bz_gemm_kernels();
    t.fields[25] = bz_build_commit_text();
    return bz_csv_append(path, BENCH_COLUMNS, bench_header, t.fields);
}

static double mib(int64_t bytes) { return (double)bytes / (1024.0 * 1024.0); }

int bz_profile_csv_append(const char *path, const bz_model_desc *d, const bz_memory_plan *p,
                          int64_t peak_rss_bytes)
{
    row_text t;
    row_start(&t, d);
    CELL(&t, 4, "%d", p->batch);
    CELL(&t, 5, "%lld", (long long)d->params_deploy);
    CELL(&t, 6, "%lld", (long long)d->params_train);
    CELL(&t, 7, "%lld", (long long)(2 * d->macs_deploy));
    CELL(&t, 8, "%lld", (long long)(2 * d->macs_train));
    CELL(&t, 9, "%.3f", mib(p->total_train));
    CELL(&t, 10, "%.3f", mib(p->total_eval));
    if (peak_rss_bytes > 0)
        CELL(&t, 11, "%.1f", mib(peak_rss_bytes));
    CELL(&t, 12, "%d", d->num_blocks);
    CELL(&t, 13, "%d", d->base_channels);
    CELL(&t, 14, "%d", d->classes);
    CELL(&t, 15, "%d", d->in_h);
    t.fields[16] = d->spec_hash ? d->spec_hash : "";
    t.fields[17] = bz_build_commit_text();
    return bz_csv_append(path, PROFILE_COLUMNS, profile_header, t.fields);
}
