/* `bench`: inference latency/throughput on the deploy graph and
 * training-step throughput, at one or more batch sizes. */
#include "bz_bench.h"

#include <cblas.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bz_cli.h"
#include "bz_rng.h"
#include "bz_runtime_model.h"
#include "bz_stats.h"
#include "bz_train_math.h"
#include "bz_util.h"

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

int bz_bench_model(bz_model *m, int batch, int warmup, int runs, bz_bench_result *out)
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
    for (int i = 0; i < runs; i++) {
        double t0 = bz_now_seconds();
        bz_forward_deploy(m, x, logits, batch);
        out->latencies_ms[i] = 1e3 * (bz_now_seconds() - t0);
    }
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
                   bz_bench_result *out)
{
    if (batch < 1 || batch > d->max_batch || runs < 1) {
        bz_error("training benchmark: invalid settings (batch %d, %d runs)", batch, runs);
        return -1;
    }
    bz_model *m = bz_model_create(d, b, batch, 1);
    bz_model_init(m, BENCH_SEED);
    float *x = bz_alloc_floats(input_floats(d, batch));
    float *logits = bz_alloc_floats((int64_t)batch * d->classes);
    float *dlogits = bz_alloc_floats((int64_t)batch * d->classes);
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
        double t0 = bz_now_seconds();
        bz_forward_train(m, x, logits, batch);
        bz_softmax_xent(logits, labels, batch, d->classes, dlogits, NULL);
        bz_backward(m, dlogits, batch);
        bz_adam_step(&opt, m->params, m->grads, m->adam_m, m->adam_v, d->n_params);
        if (i >= warmup)
            total += bz_now_seconds() - t0;
    }
    out->train_runs = runs;
    out->train_step_ms = 1e3 * total / runs;
    out->train_throughput = total > 0 ? batch * runs / total : 0.0;
    free(x), free(logits), free(dlogits), free(labels);
    bz_model_free(m);
    return 0;
}

int bz_bench_run(const bz_model_desc *d, const bz_backend *b, int batch, int warmup, int runs,
                 int with_train, bz_bench_result *out)
{
    memset(out, 0, sizeof *out);
    if (batch < 1 || batch > d->max_batch) {
        bz_error("batch size %d is outside 1..%d, the bound %s was generated for", batch,
                 d->max_batch, d->experiment);
        return -1;
    }
    bz_model *m = bz_model_create(d, b, batch, 0);
    bz_model_init(m, BENCH_SEED);
    int rc = bz_bench_model(m, batch, warmup, runs, out);
    bz_model_free(m);
    if (rc == 0 && with_train) {
        int train_runs = runs / 10 > 3 ? runs / 10 : 3;
        rc = bz_bench_train(d, b, batch, train_runs, out);
    }
    return rc;
}

void bz_bench_result_free(bz_bench_result *r)
{
    free(r->latencies_ms);
    r->latencies_ms = NULL;
}

double bz_gemm_peak_gflops(void)
{
    enum { N = 1024, REPS = 3 };
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
           "  --warmup-runs N         untimed runs first (default %d)\n"
           "  --benchmark-runs N      timed runs (default %d); training uses max(3, N/10)\n"
           "  --threads N             OpenMP/OpenBLAS threads (default: all)\n"
           "  --backend NAME          optimised (default) or reference\n"
           "  --no-train              skip the training-step measurement\n"
           "  --json                  one JSON object on stdout\n"
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

static json_t *result_json(const bz_bench_result *r)
{
    json_t *runs = json_array();
    for (int i = 0; i < r->benchmark_runs; i++)
        json_array_append_new(runs, json_real(r->latencies_ms[i]));
    json_t *o = json_pack("{s:i, s:i, s:i, s:{s:f, s:f, s:f, s:f, s:f, s:f}, s:o, s:f, s:f}",
                          "batch_size", r->batch, "warmup_runs", r->warmup_runs,
                          "benchmark_runs", r->benchmark_runs, "latency_ms", "mean",
                          r->latency_mean_ms, "std", r->latency_std_ms, "median",
                          r->latency_median_ms, "p90", r->latency_p90_ms, "min",
                          r->latency_min_ms, "max", r->latency_max_ms, "runs_ms", runs,
                          "throughput", r->throughput, "gflops", r->gflops);
    if (r->train_runs > 0) {
        json_object_set_new(o, "train_runs", json_integer(r->train_runs));
        json_object_set_new(o, "train_step_ms", json_real(r->train_step_ms));
        json_object_set_new(o, "train_throughput", json_real(r->train_throughput));
    } else {
        json_object_set_new(o, "train_throughput", json_null());
    }
    return o;
}

static void print_table_header(const bz_model_desc *d, const bz_backend *b, int warmup,
                               int runs, int with_train)
{
    printf("bench %s (%s, position %s): %s backend, %d threads, device cpu\n", d->experiment,
           d->block, d->position, b->name, bz_get_threads());
    printf("inference on the deploy graph (BatchNorm folded), %d warm-up + %d timed runs;"
           " %.0f FLOPs per image\n", warmup, runs, 2.0 * (double)d->macs_deploy);
    printf("%6s %10s %9s %10s %9s %11s %9s %6s %12s\n", "batch", "mean ms", "std ms",
           "median ms", "p90 ms", "images/s", "GFLOP/s", "%peak", with_train ? "train img/s" : "");
    fflush(stdout);
}

static void print_table_row(const bz_bench_result *r, double peak, int with_train)
{
    printf("%6d %10.3f %9.3f %10.3f %9.3f %11.1f %9.2f %5.1f%%", r->batch, r->latency_mean_ms,
           r->latency_std_ms, r->latency_median_ms, r->latency_p90_ms, r->throughput, r->gflops,
           100.0 * r->gflops / peak);
    if (with_train)
        printf(" %12.1f", r->train_throughput);
    printf("\n");
    fflush(stdout);
}

static void print_json(const bz_model_desc *d, const bz_backend *b, double peak, json_t *results)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:I, s:f, s:o}", "experiment",
                          d->experiment, "block", d->block, "position", d->position, "backend",
                          b->name, "threads", bz_get_threads(), "device", "cpu",
                          "flops_per_image", (json_int_t)(2 * d->macs_deploy),
                          "gemm_peak_gflops", peak, "results", results);
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (!text)
        bz_fatal("bench: cannot encode JSON");
    puts(text);
    free(text);
    json_decref(o);
}

int bz_cmd_bench(const bz_model_desc *d, int argc, char **argv)
{
    enum { O_BATCH = 256, O_MULTI, O_WARMUP, O_RUNS, O_THREADS, O_BACKEND, O_NO_TRAIN, O_JSON,
           O_HELP };
    static const struct option longopts[] = {
        {"batch-size", required_argument, NULL, O_BATCH},
        {"multi-batch", required_argument, NULL, O_MULTI},
        {"warmup-runs", required_argument, NULL, O_WARMUP},
        {"benchmark-runs", required_argument, NULL, O_RUNS},
        {"threads", required_argument, NULL, O_THREADS},
        {"backend", required_argument, NULL, O_BACKEND},
        {"no-train", no_argument, NULL, O_NO_TRAIN},
        {"json", no_argument, NULL, O_JSON},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    int sizes[MAX_BATCH_SIZES], n_sizes = 0, batch = 0;
    int warmup = d->warmup_runs, runs = d->benchmark_runs, threads = 0;
    int with_train = 1, json = 0;
    const char *backend_name = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_BATCH: batch = (int)bz_opt_long("batch-size", optarg, 1, d->max_batch); break;
        case O_MULTI: n_sizes = parse_batch_list(d, optarg, sizes); break;
        case O_WARMUP: warmup = (int)bz_opt_long("warmup-runs", optarg, 0, 1000000); break;
        case O_RUNS: runs = (int)bz_opt_long("benchmark-runs", optarg, 1, 10000000); break;
        case O_THREADS: threads = (int)bz_opt_long("threads", optarg, 0, 4096); break;
        case O_BACKEND: backend_name = optarg; break;
        case O_NO_TRAIN: with_train = 0; break;
        case O_JSON: json = 1; break;
        case 'h':
        case O_HELP: usage(d); return 0;
        default: bz_bad_option("bench", argv);
        }
    }
    if (optind < argc)
        bz_fatal("bench: unexpected argument '%s' (see bench --help)", argv[optind]);
    if (batch && n_sizes)
        bz_fatal("bench: give either --batch-size or --multi-batch, not both");
    if (!n_sizes)
        sizes[n_sizes++] = batch ? batch : 1;
    const bz_backend *b = bz_opt_backend(d, backend_name);
    bz_set_threads(threads);

    double peak = bz_gemm_peak_gflops();
    if (!json)
        print_table_header(d, b, warmup, runs, with_train);
    json_t *results = json_array();
    for (int i = 0; i < n_sizes; i++) {
        bz_bench_result r;
        if (bz_bench_run(d, b, sizes[i], warmup, runs, with_train, &r) != 0)
            bz_fatal("%s", bz_last_error());
        if (json)
            json_array_append_new(results, result_json(&r));
        else
            print_table_row(&r, peak, with_train);
        bz_bench_result_free(&r);
    }
    if (json) {
        print_json(d, b, peak, results);
    } else {
        json_decref(results);
        printf("GFLOP/s = 2 x deploy MACs x batch / mean latency; %%peak of the measured "
               "sgemm rate %.1f GFLOP/s\n", peak);
    }
    return 0;
}
