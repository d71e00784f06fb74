/* Timing the generated model: inference latency/throughput on the deploy
 * graph and training-step throughput (used by `bench` and `train`). */
#ifndef BZ_BENCH_H
#define BZ_BENCH_H

#include "bz_model.h"

typedef struct {
    int batch, warmup_runs, benchmark_runs;
    /* inference on the deploy graph, milliseconds per forward_deploy call */
    double latency_mean_ms, latency_std_ms, latency_median_ms, latency_p90_ms;
    double latency_min_ms, latency_max_ms;
    double throughput;          /* images/s = batch / mean seconds          */
    double gflops;              /* 2 * macs_deploy * batch / mean seconds   */
    /* training step: forward_train + cross-entropy + backward + Adam; 0 if
     * not measured */
    int train_runs;
    double train_step_ms;       /* mean                                     */
    double train_throughput;    /* images/s                                 */
    double *latencies_ms;       /* benchmark_runs per-run latencies (owned) */
} bz_bench_result;

/* Creates a model with the desc's default initialisation (seed 0), folds it
 * once (bz_deploy_fold) and times bz_forward_deploy on random normalised
 * input; with_train also times training steps at the same batch on a
 * separate training model.  Returns 0, or -1 with bz_last_error(). */
int bz_bench_run(const bz_model_desc *d, const bz_backend *b, int batch, int warmup, int runs,
                 int with_train, bz_bench_result *out);

/* The inference half on an existing model (e.g. a reloaded checkpoint):
 * folds it and times its deploy graph; batch <= m->batch_capacity. */
int bz_bench_model(bz_model *m, int batch, int warmup, int runs, bz_bench_result *out);

/* Training steps at `batch` on a fresh training model. */
int bz_bench_train(const bz_model_desc *d, const bz_backend *b, int batch, int runs,
                   bz_bench_result *out);

void bz_bench_result_free(bz_bench_result *r);

/* Measured single-precision GEMM rate of this machine (OpenBLAS sgemm,
 * current thread setting), GFLOP/s: the reference for achieved GFLOP/s. */
double bz_gemm_peak_gflops(void);

#endif
