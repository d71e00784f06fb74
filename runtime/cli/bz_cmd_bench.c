/* `bench`: inference latency/throughput on the deploy graph and
 * training-step throughput, at one or more batch sizes. */
#include "bench/bz_bench.h"

#include <cblas.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bz_stats.h"
#include "cli/bz_cli.h"
#include "model/bz_runtime_model.h"
#include "report/bz_measure_csv.h"
#include "train/bz_train_math.h"
#include "util/bz_rng.h"
#include "util/bz_util.h"

#define BENCH_SEED 0
#define MAX_BATCH_SIZES 64

/* ---- measurement ----------------------------------------------------- */

static void random_input(float *x, int64_t n, uint64_t stream)
{
    bz_rng rng;
    bz_rng_seed(&rng, BENCH_SEED, stream);
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)bz_rng_normal(&rng);
}

static int64_t input_floats(const bz_model_desc *d, int batch)
{
    return (int64_t)batch * d->in_c * d->in_h * d->in_w;
}

int bz_bench_model(bz_model *m, int batch, int warmup, int runs, bz_timer *timer,
                   bz_bench_result *out)
{
    const bz_model_desc *d = m->desc;
    if (batch < 1 || batch > m->batch_capacity || warmup < 0 || runs < 1) {
        bz_error("benchmark: invalid settings (batch %d of %d, %d warm-up, %d runs)", batch,
                 m->batch_capacity, warmup, runs);
        return -1;
    }
    memset(out, 0, sizeof *out);
    out->batch = batch;
    out->warmup_runs = warmup;
    out->benchmark_runs = runs;
    float *x = bz_alloc_floats(input_floats(d, batch));
    float *logits = bz_alloc_floats((int64_t)batch * d->classes);
    random_input(x, input_floats(d, batch), 11);

    bz_deploy_fold(m);
    for (int i = 0; i < warmup; i++)
        bz_forward_deploy(m, x, logits, batch);
    out->latencies_ms = bz_xmalloc((size_t)runs * sizeof *out->latencies_ms);
    m->timer = timer;
    for (int i = 0; i < runs; i++) {
        double t0 = bz_now_seconds();
        bz_forward_deploy(m, x, logits, batch);
        double t1 = bz_now_seconds();
        out->latencies_ms[i] = 1e3 * (t1 - t0);
        if (timer)
            bz_timer_region(timer, "inference", t0, t1);
    }
    m->timer = NULL;
    bz_summary s = bz_summarise(out->latencies_ms, runs);
    out->latency_mean_ms = s.mean;
    out->latency_std_ms = s.std;
    out->latency_median_ms = s.median;
    out->latency_p90_ms = s.p90;
    out->latency_min_ms = s.min;
    out->latency_max_ms = s.max;
    double mean_s = s.mean > 0 ? s.mean / 1e3 : 1e-12;
    out->throughput = batch / mean_s;
    out->gflops = 2.0 * (double)d->macs_deploy * batch / mean_s / 1e9;
    free(x);
    free(logits);
    return 0;
}

int bz_bench_train(const bz_model_desc *d, const bz_backend *b, int batch, int runs,
                   bz_timer *timer, bz_bench_result *out)
{
    if (batch < 1 || batch > d->max_batch || runs < 1) {
        bz_error("training benchmark: invalid settings (batch %d, %d runs)", batch, runs);
        return -1;
    }
    bz_model *m = bz_model_create(d, b, batch, 1);
    bz_model_init(m, BENCH_SEED);
    float *x = bz_alloc_floats(input_floats(d, batch));
    int32_t *labels = bz_xmalloc((size_t)batch * sizeof *labels);
    random_input(x, input_floats(d, batch), 12);
    bz_rng rng;
    bz_rng_seed(&rng, BENCH_SEED, 13);
    for (int i = 0; i < batch; i++)
        labels[i] = (int32_t)bz_rng_below(&rng, (uint32_t)d->classes);
    bz_adam opt = {.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .step = 0};

    const int warmup = runs >= 5 ? 2 : 1;
    double total = 0.0;
    for (int i = 0; i < warmup + runs; i++) {
        m->timer = i >= warmup ? timer : NULL;
        double t0 = bz_now_seconds();
        bz_train_step(m, &opt, x, labels, batch, NULL, NULL);
        double t1 = bz_now_seconds();
        if (i >= warmup)
            total += t1 - t0;
        if (m->timer)
            bz_timer_region(timer, "training step", t0, t1);
    }
    m->timer = NULL;
    out->train_runs = runs;
    out->train_step_ms = 1e3 * total / runs;
    out->train_throughput = total > 0 ? batch * runs / total : 0.0;
    free(x), free(labels);
    bz_model_free(m);
    return 0;
}

int bz_bench_run(const bz_model_desc *d, const bz_backend *b, const bz_bench_plan *plan,
                 bz_bench_result *out)
{
    memset(out, 0, sizeof *out);
    if (plan->batch < 1 || plan->batch > d->max_batch) {
        bz_error("batch size %d is outside 1..%d, the bound %s was generated for", plan->batch,
                 d->max_batch, d->experiment);
        return -1;
    }
    int rc = 0;
    if (plan->inference) {
        bz_model *m = bz_model_create(d, b, plan->batch, 0);
        bz_model_init(m, BENCH_SEED);
        rc = bz_bench_model(m, plan->batch, plan->warmup_runs, plan->benchmark_runs,
                            plan->inference_timer, out);
        bz_model_free(m);
    }
    out->batch = plan->batch;
    if (rc == 0 && plan->train_runs > 0)
        rc = bz_bench_train(d, b, plan->batch, plan->train_runs, plan->train_timer, out);
    return rc;
}

void bz_bench_result_free(bz_bench_result *r)
{
    free(r->latencies_ms);
    r->latencies_ms = NULL;
}

double bz_gemm_peak_gflops(void)
{
    enum { N = 2048, REPS = 3 };
    float *a = bz_alloc_floats((int64_t)N * N), *bm = bz_alloc_floats((int64_t)N * N);
    float *c = bz_alloc_floats((int64_t)N * N);
    for (int64_t i = 0; i < (int64_t)N * N; i++) {
        a[i] = (float)(i % 7) * 0.01f;
        bm[i] = (float)(i % 5) * 0.01f;
    }
    double best = 1e30;
    for (int r = 0; r < REPS + 1; r++) {
        double t0 = bz_now_seconds();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, bm, N,
                    0.0f, c, N);
        double t = bz_now_seconds() - t0;
        if (r > 0 && t < best)
            best = t;
    }
    free(a), free(bm), free(c);
    return 2.0 * N * N * (double)N / best / 1e9;
}

/* ---- the command ----------------------------------------------------- */

static void usage(const bz_model_desc *d)
{
    printf("usage: %s bench [options]\n\n"
           "Inference latency and throughput of the deploy graph (BatchNorm folded,\n"
           "re-parameterisable branches merged), then training-step throughput\n"
           "(forward, cross-entropy, backward, Adam) at the same batch size.\n\n"
           "  --batch-size N          batch size (default 1, at most %d)\n"
           "  --multi-batch N,N,...   several batch sizes, e.g. 1,8,32\n"
           "  --warmup-runs N         untimed inference runs first (default %d)\n"
           "  --benchmark-runs N      timed inference runs (default %d)\n"
           "  --train-runs N          timed training steps (default max(3, runs/10))\n"
           "  --no-train              skip the training-step measurement\n"
           "  --no-inference          skip the inference measurement\n"
           "  --layers                per-layer tables: inference, and training forward\n"
           "                          and backward (name, operator, shapes, MACs, time,\n"
           "                          GFLOP/s, share of the total); with --json, a\n"
           "                          \"layers\" object in each result\n"
           "  --trace FILE.json       Chrome trace (chrome://tracing, Perfetto) of one\n"
           "                          inference and one training step at the first batch\n"
           "                          size, one slice per layer\n"
           "  --threads N             OpenMP/OpenBLAS threads (default: all)\n"
           "  --backend NAME          optimised (default) or reference, on the cpu\n"
           "  --device NAME           cpu or cuda (default: cuda where a GPU is usable, else cpu)\n"
           "  --precision NAME        cuda: tf32 (default; cuBLAS may use TF32) or fp32\n"
           "  --json                  one JSON object on stdout\n"
           "  --output FILE.csv       append one row per batch size (latency, throughput,\n"
           "                          training step; BlockZoo's column names)\n"
           "  --help                  this text\n",
           d->experiment, d->max_batch, d->warmup_runs, d->benchmark_runs);
}

static int parse_batch_list(const bz_model_desc *d, const char *text, int *sizes)
{
    int n = 0;
    char *copy = strdup(text), *save = NULL;
    if (!copy)
        bz_fatal("out of memory");
    if (*text == '\0' || text[strlen(text) - 1] == ',')
        bz_fatal("--multi-batch wants a comma-separated list of batch sizes, got '%s'", text);
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == MAX_BATCH_SIZES)
            bz_fatal("--multi-batch takes at most %d batch sizes", MAX_BATCH_SIZES);
        sizes[n++] = (int)bz_opt_long("multi-batch", tok, 1, d->max_batch);
    }
    free(copy);
    if (n == 0)
        bz_fatal("--multi-batch wants a comma-separated list of batch sizes, got '%s'", text);
    return n;
}

static json_t *inference_json(const bz_bench_result *r)
{
    json_t *runs = json_array();
    for (int i = 0; i < r->benchmark_runs; i++)
        json_array_append_new(runs, json_real(r->latencies_ms[i]));
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:o}", "mean", r->latency_mean_ms, "std",
                     r->latency_std_ms, "median", r->latency_median_ms, "p90", r->latency_p90_ms,
                     "min", r->latency_min_ms, "max", r->latency_max_ms, "runs_ms", runs);
}

/* Fields of a part not measured (--no-train, --no-inference) are null. */
static json_t *result_json(const bz_bench_result *r)
{
    int inf = r->benchmark_runs > 0, train = r->train_runs > 0;
    return json_pack("{s:i, s:i, s:i, s:o, s:o, s:o, s:i, s:o, s:o}", "batch_size", r->batch,
                     "warmup_runs", r->warmup_runs, "benchmark_runs", r->benchmark_runs,
                     "latency_ms", inf ? inference_json(r) : json_null(),
                     "throughput", inf ? json_real(r->throughput) : json_null(),
                     "gflops", inf ? json_real(r->gflops) : json_null(),
                     "train_runs", r->train_runs,
                     "train_step_ms", train ? json_real(r->train_step_ms) : json_null(),
                     "train_throughput", train ? json_real(r->train_throughput) : json_null());
}

static const char *gemm_library(const bz_backend *b)
{
    return b->device ? "cuBLAS (1x1 convolutions, linear layers)" : bz_gemm_kernels();
}

static void print_table_header(const bz_model_desc *d, const bz_backend *b, int warmup,
                               int runs, int with_train)
{
    printf("bench %s (%s, position %s): %s backend, %d threads, device %s\n", d->experiment,
           d->block, d->position, b->name, bz_get_threads(), bz_backend_device(b));
    printf("GEMM: %s\n", gemm_library(b));
    printf("inference on the deploy graph (BatchNorm folded), %d warm-up + %d timed runs;"
           " %.0f FLOPs per image\n", warmup, runs, 2.0 * (double)d->macs_deploy);
    printf("%6s %10s %9s %10s %9s %11s %9s %6s %12s\n", "batch", "mean ms", "std ms",
           "median ms", "p90 ms", "images/s", "GFLOP/s", "%peak", with_train ? "train img/s" : "");
    fflush(stdout);
}

static void print_table_row(const bz_bench_result *r, double peak, int with_train)
{
    if (r->benchmark_runs > 0) {
        printf("%6d %10.3f %9.3f %10.3f %9.3f %11.1f %9.2f", r->batch, r->latency_mean_ms,
               r->latency_std_ms, r->latency_median_ms, r->latency_p90_ms, r->throughput,
               r->gflops);
        if (peak > 0)
            printf(" %5.1f%%", 100.0 * r->gflops / peak);
        else
            printf(" %6s", "-");  /* no peak measured (a GPU) */
    } else
        printf("%6d %10s %9s %10s %9s %11s %9s %6s", r->batch, "-", "-", "-", "-", "-", "-", "-");
    if (with_train)
        printf(" %12.1f", r->train_throughput);
    printf("\n");
    fflush(stdout);
}

static void print_json(const bz_model_desc *d, const bz_backend *b, double peak, json_t *results)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:o, s:o}",
                          "experiment", d->experiment, "block", d->block, "position",
                          d->position, "backend", b->name, "threads", bz_get_threads(),
                          "device", bz_backend_device(b),
                          "gemm_kernels", gemm_library(b),
                          "flops_per_image", (json_int_t)(2 * d->macs_deploy),
                          "train_flops_per_image",
                          (json_int_t)(2 * (bz_phase_macs(d, BZ_PHASE_FORWARD_TRAIN) +
                                            bz_phase_macs(d, BZ_PHASE_BACKWARD))),
                          "gemm_peak_gflops", peak > 0 ? json_real(peak) : json_null(),
                          "results", results);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (!text)
        bz_fatal("bench: cannot encode JSON");
    puts(text);
    free(text);
    json_decref(o);
}

typedef struct {
    int sizes[MAX_BATCH_SIZES], n_sizes;
    int warmup, runs, train_runs;   /* train_runs -1: max(3, runs / 10) */
    int with_train, with_inference, layers, json, threads;
    const char *backend_name, *device_name, *precision, *trace_path, *output;
} bench_options;

static void parse_options(const bz_model_desc *d, int argc, char **argv, bench_options *o)
{
    enum { O_BATCH = 256, O_MULTI, O_WARMUP, O_RUNS, O_TRAIN_RUNS, O_THREADS, O_BACKEND,
           O_DEVICE, O_PRECISION, O_NO_TRAIN, O_NO_INFERENCE, O_LAYERS, O_TRACE, O_JSON, O_OUTPUT, O_HELP };
    static const struct option longopts[] = {
        {"batch-size", required_argument, NULL, O_BATCH},
        {"multi-batch", required_argument, NULL, O_MULTI},
        {"warmup-runs", required_argument, NULL, O_WARMUP},
        {"benchmark-runs", required_argument, NULL, O_RUNS},
        {"train-runs", required_argument, NULL, O_TRAIN_RUNS},
        {"threads", required_argument, NULL, O_THREADS},
        {"backend", required_argument, NULL, O_BACKEND},
        {"device", required_argument, NULL, O_DEVICE},
        {"precision", required_argument, NULL, O_PRECISION},
        {"no-train", no_argument, NULL, O_NO_TRAIN},
        {"no-inference", no_argument, NULL, O_NO_INFERENCE},
        {"layers", no_argument, NULL, O_LAYERS},
        {"trace", required_argument, NULL, O_TRACE},
        {"json", no_argument, NULL, O_JSON},
        {"output", required_argument, NULL, O_OUTPUT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    *o = (bench_options){.warmup = d->warmup_runs, .runs = d->benchmark_runs, .train_runs = -1,
                         .with_train = 1, .with_inference = 1};
    int batch = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_BATCH: batch = (int)bz_opt_long("batch-size", optarg, 1, d->max_batch); break;
        case O_MULTI: o->n_sizes = parse_batch_list(d, optarg, o->sizes); break;
        case O_WARMUP: o->warmup = (int)bz_opt_long("warmup-runs", optarg, 0, 1000000); break;
        case O_RUNS: o->runs = (int)bz_opt_long("benchmark-runs", optarg, 1, 10000000); break;
        case O_TRAIN_RUNS: o->train_runs = (int)bz_opt_long("train-runs", optarg, 1, 1000000); break;
        case O_THREADS: o->threads = (int)bz_opt_long("threads", optarg, 0, 4096); break;
        case O_BACKEND: o->backend_name = optarg; break;
        case O_DEVICE: o->device_name = optarg; break;
        case O_PRECISION: o->precision = optarg; break;
        case O_NO_TRAIN: o->with_train = 0; break;
        case O_NO_INFERENCE: o->with_inference = 0; break;
        case O_LAYERS: o->layers = 1; break;
        case O_TRACE: o->trace_path = optarg; break;
        case O_JSON: o->json = 1; break;
        case O_OUTPUT:
            if (!*optarg)
                bz_fatal("--output wants a non-empty path");
            o->output = optarg;
            break;
        case 'h':
        case O_HELP: usage(d); exit(0);
        default: bz_bad_option("bench", argv);
        }
    }
    if (optind < argc)
        bz_fatal("bench: unexpected argument '%s' (see bench --help)", argv[optind]);
    if (batch && o->n_sizes)
        bz_fatal("bench: give either --batch-size or --multi-batch, not both");
    if (!o->with_train && !o->with_inference)
        bz_fatal("bench: --no-train and --no-inference leave nothing to measure");
    if (!o->n_sizes)
        o->sizes[o->n_sizes++] = batch ? batch : 1;
    if (o->train_runs < 0)
        o->train_runs = o->runs / 10 > 3 ? o->runs / 10 : 3;
    if (o->output && bz_bench_csv_check(o->output) != 0)
        bz_fatal("%s", bz_last_error());
}

/* One inference and one training step with tracing timers. */
static void write_trace(const bz_model_desc *d, const bz_backend *b, const bench_options *o)
{
    bz_timer *inference = bz_timer_create(d->n_steps, 1), *train = bz_timer_create(d->n_steps, 1);
    bz_bench_plan plan = {o->sizes[0], 1, 1, 1, 1, inference, train};
    bz_bench_result r;
    if (bz_bench_run(d, b, &plan, &r) != 0)
        bz_fatal("%s", bz_last_error());
    bz_bench_result_free(&r);
    if (bz_write_trace(d, inference, train, o->trace_path) != 0)
        bz_fatal("%s", bz_last_error());
    bz_timer_free(inference);
    bz_timer_free(train);
    if (!o->json)
        printf("trace of one inference and one training step (batch %d) written to %s\n",
               o->sizes[0], o->trace_path);
}

static void print_layers(const bz_model_desc *d, const bz_bench_plan *plan)
{
    if (plan->inference_timer)
        bz_print_inference_layers(d, plan->inference_timer, plan->batch);
    if (plan->train_timer)
        bz_print_training_layers(d, plan->train_timer, plan->batch);
}

int bz_cmd_bench(const bz_model_desc *d, int argc, char **argv)
{
    bench_options o;
    parse_options(d, argc, argv, &o);
    const bz_backend *b = bz_opt_device(d, o.device_name, o.backend_name, o.precision);
    bz_set_threads(o.threads);

    /* the CPU's sgemm rate; a GPU's peak is not measured */
    double peak = b->device ? 0.0 : bz_gemm_peak_gflops();
    if (!o.json)
        print_table_header(d, b, o.warmup, o.runs, o.with_train);
    json_t *results = json_array();
    for (int i = 0; i < o.n_sizes; i++) {
        bz_bench_plan plan = {o.sizes[i], o.warmup, o.runs, o.with_inference,
                              o.with_train ? o.train_runs : 0, NULL, NULL};
        if (o.layers) {
            plan.inference_timer = o.with_inference ? bz_timer_create(d->n_steps, 0) : NULL;
            plan.train_timer = o.with_train ? bz_timer_create(d->n_steps, 0) : NULL;
        }
        bz_bench_result r;
        if (bz_bench_run(d, b, &plan, &r) != 0)
            bz_fatal("%s", bz_last_error());
        if (o.output && bz_bench_csv_append(o.output, d, b, &r, o.with_inference) != 0)
            bz_fatal("%s", bz_last_error());
        if (o.json) {
            json_t *row = result_json(&r);
            if (o.layers)
                json_object_set_new(row, "layers", bz_layers_json(d, plan.inference_timer,
                                                                  plan.train_timer, plan.batch));
            json_array_append_new(results, row);
        } else {
            print_table_row(&r, peak, o.with_train);
            if (o.layers)
                print_layers(d, &plan);
        }
        bz_timer_free(plan.inference_timer);
        bz_timer_free(plan.train_timer);
        bz_bench_result_free(&r);
    }
    if (o.trace_path)
        write_trace(d, b, &o);
    if (o.output && !o.json)
        printf("appended %d row%s to %s\n", o.n_sizes, o.n_sizes > 1 ? "s" : "", o.output);
    if (o.json) {
        print_json(d, b, peak, results);
    } else {
        json_decref(results);
        if (peak > 0)
            printf("GFLOP/s = 2 x deploy MACs x batch / mean latency; %%peak of the measured "
                   "sgemm rate %.1f GFLOP/s (2048^3)\n", peak);
        else
            printf("GFLOP/s = 2 x deploy MACs x batch / mean latency (no peak measured on %s)\n",
                   b->device->name);
    }
    return 0;
}
