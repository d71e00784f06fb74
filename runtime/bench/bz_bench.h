/* Timing the generated model: inference latency/throughput on the deploy
 * graph and training-step throughput (used by `bench` and `train`). */
#ifndef BZ_BENCH_H
#define BZ_BENCH_H

#include "bench/bz_timer.h"
#include "model/bz_model.h"

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

/* What to measure at one batch size.  Timers, when given, collect
 * per-layer times over the timed runs only (bench --layers, --trace). */
typedef struct {
    int batch, warmup_runs, benchmark_runs;
    int inference;              /* time the deploy graph                    */
    int train_runs;             /* > 0: time this many training steps       */
    bz_timer *inference_timer, *train_timer;   /* NULL: no per-layer times  */
} bz_bench_plan;

/* Creates models with the desc's default initialisation (seed 0): times
 * bz_forward_deploy on random normalised input (after one bz_deploy_fold),
 * then training steps on a separate training model.  Returns 0, or -1
 * with bz_last_error(). */
int bz_bench_run(const bz_model_desc *d, const bz_backend *b, const bz_bench_plan *plan,
                 bz_bench_result *out);

/* The inference half on an existing model (e.g. a reloaded checkpoint):
 * folds it and times its deploy graph; batch <= m->batch_capacity. */
int bz_bench_model(bz_model *m, int batch, int warmup, int runs, bz_timer *timer,
                   bz_bench_result *out);

/* Training steps at `batch` on a fresh training model. */
int bz_bench_train(const bz_model_desc *d, const bz_backend *b, int batch, int runs,
                   bz_timer *timer, bz_bench_result *out);

/* bench --layers: per-layer tables of the steps a timer collected. */
void bz_print_inference_layers(const bz_model_desc *d, const bz_timer *t, int batch);
/* The MACs per image of one phase's steps (BZ_PHASE_*), as bzgen counted
 * them: a training step is 2 x (forward train + backward) FLOPs. */
int64_t bz_phase_macs(const bz_model_desc *d, int phase);
void bz_print_training_layers(const bz_model_desc *d, const bz_timer *t, int batch);
/* bench --layers --json: {"inference": [...], "training": [...]}, a row
 * per layer as in the tables (a NULL timer: null). */
struct json_t *bz_layers_json(const bz_model_desc *d, const bz_timer *inference,
                              const bz_timer *train, int batch);
/* bench --trace: a Chrome trace (chrome://tracing, Perfetto) of the
 * events of two tracing timers, one inference and one training step. */
int bz_write_trace(const bz_model_desc *d, const bz_timer *inference, const bz_timer *train,
                   const char *path);

/* The GEMM library and kernel set in use, e.g. "OpenBLAS (...),
 * Cooperlake kernels"; static storage (runtime/bench/bz_blas.c). */
const char *bz_gemm_kernels(void);
/* Called first in main(): re-executes the program without an
 * OPENBLAS_CORETYPE that would hold an AVX-512 CPU to AVX2 kernels. */
void bz_blas_select_kernels(char **argv);

void bz_bench_result_free(bz_bench_result *r);

/* Measured single-precision GEMM rate of this machine (OpenBLAS sgemm,
 * current thread setting), GFLOP/s: the reference for achieved GFLOP/s. */
double bz_gemm_peak_gflops(void);

#endif
