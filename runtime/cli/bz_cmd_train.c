/* `train`: the spec's recipe, best checkpoint, benchmark, one results row. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bz_bench.h"
#include "cli/bz_cli.h"
#include "data/bz_data.h"
#include "io/bz_paths.h"
#include "model/bz_runtime_model.h"
#include "report/bz_results.h"
#include "train/bz_train.h"
#include "util/bz_util.h"

#define DEFAULT_RESULTS "results/results.csv"
/* exit statuses of a run that diverged, and of one that a signal stopped
 * (EX_TEMPFAIL: `train --resume` continues it); their rows are written */
#define BZ_EXIT_DIVERGED 3
#define BZ_EXIT_INTERRUPTED 75

static void usage(const bz_model_desc *d, const bz_train_options *o)
{
    printf("usage: %s train [options]\n\n"
           "Trains with BlockZoo's recipe (Adam, ReduceLROnPlateau(0.5, patience 3) on\n"
           "validation loss, per-channel normalisation, crop+flip for CIFAR), validates on\n"
           "the test split every epoch, keeps the best epoch by validation loss, then\n"
           "benchmarks the deploy graph at batch 1 and appends one row to the results CSV.\n\n"
           "  --epochs N             epochs (default %d)\n"
           "  --lr X                 Adam learning rate (default %g)\n"
           "  --batch-size N         batch size (default %d, at most %d)\n"
           "  --seed N               seed of initialisation, shuffling, augmentation (default %llu)\n"
           "  --dataset NAME         fashion_mnist, cifar10 or cifar100 (default %s)\n"
           "  --data DIR             dataset directory (default: the dataset's usual place;\n"
           "                         fashion_mnist: /usr/share/datasets/fashion-mnist)\n"
           "  --subset N             first N training examples, 0 = all (default %d)\n"
           "  --val-subset N         first N test examples, 0 = all (default 0)\n"
           "  --threads N            OpenMP/OpenBLAS threads (default: all)\n"
           "  --backend NAME         optimised (default) or reference, on the cpu\n"
           "  --device NAME          cpu or cuda (default: cuda where a GPU is usable, else cpu)\n"
           "  --precision NAME       cuda: tf32 (default; cuBLAS may use TF32) or fp32\n"
           "  --output-dir DIR       best.safetensors and metrics.csv (default\n"
           "                         results/%s/seed<seed>: one per run)\n"
           "  --results FILE         results CSV to append to (default " DEFAULT_RESULTS ")\n"
           "  --experiment-name S    experiment_name column (default %s)\n"
           "  --notes S              notes column\n"
           "  --weights FILE         start from these weights (safetensors, the state_dict's\n"
           "                         keys and shapes) instead of a fresh initialisation\n"
           "  --early-stop-patience N  stop after N epochs without a better validation loss\n"
           "  --target-acc X         stop at the first epoch whose validation accuracy\n"
           "                         (a fraction, 0 < X <= 1) reaches X\n"
           "  --resume               continue the run in --output-dir from its last state\n"
           "                         (last_state.safetensors: written after every epoch and\n"
           "                         when SIGINT or SIGTERM stops the run at a batch\n"
           "                         boundary); the same settings are required\n"
           "  --no-bench             skip the benchmark (latency columns left empty)\n"
           "  --quiet                no progress or per-epoch lines\n"
           "  --help                 this text\n\n"
           "Exit status 0; 1 on an error (nothing appended); 3 if training diverged: a\n"
           "non-finite loss, or an epoch's mean training or validation loss above %g x\n"
           "ln(classes) (a uniform guess's loss) or, after the first epoch, x that epoch's\n"
           "training loss if larger; the row is appended with status 'diverged' and the\n"
           "best epoch before it, if any; 75 if SIGINT or SIGTERM stopped it (the row says\n"
           "interrupted; --resume continues it).\n",
           d->experiment, o->epochs, o->lr, o->batch_size, d->max_batch,
           (unsigned long long)o->seed, o->dataset, o->subset, d->experiment, d->experiment,
           BZ_DIVERGENCE_FACTOR);
}

static const char *nonempty(const char *name, const char *text)
{
    if (!*text)
        bz_fatal("--%s wants a non-empty value", name);
    return text;
}

/* Reloads the best checkpoint into an inference model and times its deploy
 * graph at batch 1. */
static void bench_best(const bz_model_desc *d, const bz_backend *b, const char *checkpoint,
                       bz_bench_result *r)
{
    bz_model *m = bz_model_create(d, b, 1, 0);
    if (bz_model_load(m, checkpoint) != 0)
        bz_fatal("%s", bz_last_error());
    if (bz_bench_model(m, 1, d->warmup_runs, d->benchmark_runs > 0 ? d->benchmark_runs : 1, NULL, r)
        != 0)
        bz_fatal("%s", bz_last_error());
    bz_model_free(m);
}

typedef struct {
    bz_train_options o;
    const char *backend_name, *device_name, *precision, *results, *experiment_name, *notes;
    int threads, bench;
    char *default_output;
} train_cli;

/* Returns 0 to train, 1 after --help. */
static int parse_train_options(const bz_model_desc *d, int argc, char **argv, train_cli *t)
{
    enum { O_EPOCHS = 256, O_LR, O_BATCH, O_SEED, O_DATASET, O_DATA, O_SUBSET, O_VAL_SUBSET,
           O_THREADS, O_BACKEND, O_DEVICE, O_PRECISION, O_OUTPUT_DIR, O_RESULTS, O_NAME, O_NOTES, O_NO_BENCH, O_QUIET,
           O_WEIGHTS, O_PATIENCE, O_TARGET_ACC, O_RESUME,
           O_HELP };
    static const struct option longopts[] = {
        {"epochs", required_argument, NULL, O_EPOCHS},
        {"lr", required_argument, NULL, O_LR},
        {"batch-size", required_argument, NULL, O_BATCH},
        {"seed", required_argument, NULL, O_SEED},
        {"dataset", required_argument, NULL, O_DATASET},
        {"data", required_argument, NULL, O_DATA},
        {"subset", required_argument, NULL, O_SUBSET},
        {"val-subset", required_argument, NULL, O_VAL_SUBSET},
        {"threads", required_argument, NULL, O_THREADS},
        {"backend", required_argument, NULL, O_BACKEND},
        {"device", required_argument, NULL, O_DEVICE},
        {"precision", required_argument, NULL, O_PRECISION},
        {"output-dir", required_argument, NULL, O_OUTPUT_DIR},
        {"results", required_argument, NULL, O_RESULTS},
        {"experiment-name", required_argument, NULL, O_NAME},
        {"notes", required_argument, NULL, O_NOTES},
        {"no-bench", no_argument, NULL, O_NO_BENCH},
        {"quiet", no_argument, NULL, O_QUIET},
        {"weights", required_argument, NULL, O_WEIGHTS},
        {"early-stop-patience", required_argument, NULL, O_PATIENCE},
        {"target-acc", required_argument, NULL, O_TARGET_ACC},
        {"resume", no_argument, NULL, O_RESUME},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    bz_train_options *o = &t->o;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_EPOCHS: o->epochs = (int)bz_opt_long("epochs", optarg, 1, 1000000); break;
        case O_LR: o->lr = bz_opt_double("lr", optarg, 1e-12, 1e3); break;
        case O_BATCH: o->batch_size = (int)bz_opt_long("batch-size", optarg, 1, d->max_batch); break;
        case O_SEED: o->seed = (uint64_t)bz_opt_long("seed", optarg, 0, 0x7fffffffffffffffL); break;
        case O_DATASET:
            if (bz_dataset_kind_from_name(optarg) < 0)
                bz_fatal("--dataset wants fashion_mnist, cifar10 or cifar100, got '%s'", optarg);
            o->dataset = optarg;
            break;
        case O_DATA: o->data_dir = nonempty("data", optarg); break;
        case O_SUBSET: o->subset = (int)bz_opt_long("subset", optarg, 0, 0x7fffffff); break;
        case O_VAL_SUBSET: o->val_subset = (int)bz_opt_long("val-subset", optarg, 0, 0x7fffffff); break;
        case O_THREADS: t->threads = (int)bz_opt_long("threads", optarg, 0, 4096); break;
        case O_BACKEND: t->backend_name = optarg; break;
        case O_DEVICE: t->device_name = optarg; break;
        case O_PRECISION: t->precision = optarg; break;
        case O_OUTPUT_DIR: o->output_dir = nonempty("output-dir", optarg); break;
        case O_RESULTS: t->results = nonempty("results", optarg); break;
        case O_NAME: t->experiment_name = nonempty("experiment-name", optarg); break;
        case O_NOTES: t->notes = optarg; break;
        case O_NO_BENCH: t->bench = 0; break;
        case O_QUIET: o->quiet = 1; break;
        case O_WEIGHTS: o->weights = nonempty("weights", optarg); break;
        case O_PATIENCE: o->early_stop_patience = (int)bz_opt_long("early-stop-patience", optarg, 1, 1000000); break;
        case O_TARGET_ACC: o->target_acc = bz_opt_double("target-acc", optarg, 1e-9, 1.0); break;
        case O_RESUME: o->resume = 1; break;
        case 'h':
        case O_HELP: usage(d, o); return 1;
        default: bz_bad_option("train", argv);
        }
    }
    if (optind < argc)
        bz_fatal("train: unexpected argument '%s' (see train --help)", argv[optind]);
    if (o->resume && o->weights)
        bz_fatal("train: --resume continues from the run's own state; it does not take --weights");
    return 0;
}

/* The results row of a finished run, benchmarked on its best checkpoint. */
static void append_results(const bz_model_desc *d, const train_cli *t, const bz_train_summary *s)
{
    const bz_train_options *o = &t->o;
    bz_results_row row = {
        .dataset = o->dataset, .epochs = o->epochs, .batch_size = o->batch_size, .lr = o->lr,
        .val_loss = s->best_val_loss, .val_acc = s->best_val_acc,
        .training_time = s->training_time,
        .memory_mb = (double)bz_memory_plan_of(d, o->batch_size).total_train / (1024.0 * 1024.0),
        .experiment_name = t->experiment_name, .notes = t->notes, .seed = (int64_t)o->seed,
        .threads = bz_get_threads(), .backend = o->backend->name,
        .device = bz_backend_device(o->backend), .best_epoch = s->best_epoch,
        .checkpoint = s->best_epoch ? s->checkpoint : "", .subset = o->subset,
        .val_subset = o->val_subset, .best_epoch_valid = s->best_epoch > 0,
        .status = bz_run_status_names[s->status], .stopped_by = s->stopped_by,
    };
    if (t->bench && s->best_epoch > 0) {
        bz_bench_result r;
        bench_best(d, o->backend, s->checkpoint, &r);
        row.have_bench = 1;
        row.latency_ms = r.latency_mean_ms;
        row.latency_std = r.latency_std_ms;
        row.throughput = r.throughput;
        printf("benchmark (best checkpoint, deploy graph, batch 1, %d runs): latency %.3f "
               "+- %.3f ms, %.1f images/s\n", r.benchmark_runs, r.latency_mean_ms,
               r.latency_std_ms, r.throughput);
        bz_bench_result_free(&r);
    }
    row.peak_rss_mb = (double)bz_peak_rss_bytes() / (1024.0 * 1024.0);
    if (bz_results_append(t->results, d, &row) != 0)
        bz_fatal("%s", bz_last_error());
    printf("appended a row to %s\n", t->results);
}

/* Every output of the run, checked before the first step: a collision
 * found after hours of training loses them. */
static void check_outputs(const train_cli *t)
{
    const char *dir = t->o.output_dir;
    char *metrics = NULL, *checkpoint = NULL;
    if (asprintf(&metrics, "%s/metrics.csv", dir) < 0 ||
        asprintf(&checkpoint, "%s/best.safetensors", dir) < 0)
        bz_fatal("out of memory");
    if (bz_same_path(t->results, metrics) || bz_same_path(t->results, checkpoint))
        bz_fatal("--results %s is the run's own %s; choose another file", t->results,
                 bz_same_path(t->results, metrics) ? "metrics.csv (--output-dir)"
                                                   : "best.safetensors (--output-dir)");
    if (bz_path_inside(t->results, metrics) || bz_path_inside(t->results, checkpoint))
        bz_fatal("--results %s lies inside the run's own %s, a file; choose another place",
                 t->results, bz_path_inside(t->results, metrics) ? "metrics.csv" : "best.safetensors");
    if (bz_check_output_dir(dir, "--output-dir") != 0 ||
        bz_check_writable_file(t->results, "--results") != 0 ||
        bz_results_check_header(t->results) != 0)
        bz_fatal("%s", bz_last_error());
    free(metrics);
    free(checkpoint);
}

int bz_cmd_train(const bz_model_desc *d, int argc, char **argv)
{
    train_cli t = {.results = DEFAULT_RESULTS, .experiment_name = d->experiment, .notes = "",
                   .bench = 1};
    bz_train_options_default(d, &t.o);
    if (parse_train_options(d, argc, argv, &t))
        return 0;
    t.o.backend = bz_opt_device(d, t.device_name, t.backend_name, t.precision);
    bz_set_threads(t.threads);
    if (!t.o.output_dir) {
        if (asprintf(&t.default_output, "results/%s/seed%llu", d->experiment,
                     (unsigned long long)t.o.seed) < 0)
            bz_fatal("out of memory");
        t.o.output_dir = t.default_output;
    }
    check_outputs(&t);
    bz_train_summary s;
    if (bz_train_run(d, &t.o, &s) != 0)
        bz_fatal("%s", bz_last_error());
    if (s.status == BZ_RUN_INTERRUPTED) {
        t.bench = 0;   /* the grace time before a SIGKILL is not for benchmarks */
        append_results(d, &t, &s);
        if (s.state_saved)
            fprintf(stderr, "%s: stopped by signal %d after %d epochs; its state is in "
                    "%s/last_state.safetensors: the same command with --resume continues it\n",
                    d->experiment, s.signal, s.epochs_run, t.o.output_dir);
        else
            fprintf(stderr, "%s: stopped by signal %d after %d epochs (no training state is kept "
                    "on %s)\n", d->experiment, s.signal, s.epochs_run, bz_backend_device(t.o.backend));
        exit(BZ_EXIT_INTERRUPTED);
    }
    if (s.status == BZ_RUN_DIVERGED) {
        /* the reason, kept: the benchmark below may set another error */
        char *why = strdup(bz_last_error());
        append_results(d, &t, &s);
        fprintf(stderr, "%s: %s; its row is marked diverged\n", d->experiment, why ? why : "");
        free(why);
        exit(BZ_EXIT_DIVERGED);
    }
    printf("trained %d epochs in %.1f s; best epoch %d: val loss %.4f, val acc %.2f%%; "
           "checkpoint %s\n", s.epochs_run, s.training_time, s.best_epoch, s.best_val_loss,
           100.0 * s.best_val_acc, s.checkpoint);
    fflush(stdout);
    append_results(d, &t, &s);
    free(t.default_output);
    return 0;
}
