/* forward, grad, export: the binary's interface for tests and for moving
 * weights between this program and PyTorch. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bz_cli.h"
#include "io/bz_tensor_io.h"
#include "model/bz_runtime_model.h"
#include "train/bz_train_math.h"
#include "util/bz_util.h"

typedef struct {
    const char *weights, *input, *labels, *output, *backend, *device, *precision;
    int train, deploy, threads;
    long seed;
} tensor_options;

static const char forward_help[] =
    "usage: %s forward --input X.npy --output Y.npy [--weights W.safetensors] [options]\n"
    "Logits [N, classes] for X [N, C, H, W] float32 (NCHW, as PyTorch).\n"
    "  --weights FILE   state_dict as safetensors (default: fresh init with --seed)\n"
    "  --train          train-mode BatchNorm (batch statistics); default eval mode\n"
    "  --deploy         the deploy graph (BatchNorm folded into convolutions)\n"
    "  --seed N         initialisation seed without --weights (default 0)\n"
    "  --backend NAME   reference or optimised (default optimised), on the cpu\n"
    "  --device NAME    cpu or cuda (default: cuda where a GPU is usable, else cpu)\n"
    "  --precision NAME cuda: tf32 (default; cuBLAS may use TF32) or fp32\n"
    "  --threads N      OpenMP/OpenBLAS threads (default: all cores)\n";

static const char grad_help[] =
    "usage: %s grad --input X.npy --labels L.npy --output G.safetensors [--weights W] [options]\n"
    "One train-mode forward on X [N, C, H, W], mean softmax cross-entropy against\n"
    "L [N] (int64), backward.  Writes every parameter's gradient under its\n"
    "state_dict key and a 0-d 'loss'.  N is at most the generated batch bound.\n"
    "  --weights FILE   state_dict as safetensors (default: fresh init with --seed)\n"
    "  --seed N, --backend NAME, --device NAME, --precision NAME, --threads N\n"
    "                   as for forward\n";

static const char export_help[] =
    "usage: %s export --output W.safetensors [--seed N]\n"
    "The freshly initialised state_dict (PyTorch's default init, seeded).\n";

static tensor_options parse(const char *command, const char *help, int argc, char **argv)
{
    static const struct option longs[] = {
        {"weights", required_argument, 0, 'w'}, {"input", required_argument, 0, 'i'},
        {"labels", required_argument, 0, 'l'},  {"output", required_argument, 0, 'o'},
        {"backend", required_argument, 0, 'b'}, {"seed", required_argument, 0, 's'},
        {"threads", required_argument, 0, 't'}, {"train", no_argument, 0, 'T'},
        {"deploy", no_argument, 0, 'D'},        {"help", no_argument, 0, 'h'},
        {"device", required_argument, 0, 'd'},  {"precision", required_argument, 0, 'p'},
        {0, 0, 0, 0}};
    tensor_options o = {0};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'w': o.weights = optarg; break;
        case 'i': o.input = optarg; break;
        case 'l': o.labels = optarg; break;
        case 'o': o.output = optarg; break;
        case 'b': o.backend = optarg; break;
        case 'd': o.device = optarg; break;
        case 'p': o.precision = optarg; break;
        case 's': o.seed = bz_opt_long("seed", optarg, 0, 2147483647L); break;
        case 't': o.threads = (int)bz_opt_long("threads", optarg, 1, 1024); break;
        case 'T': o.train = 1; break;
        case 'D': o.deploy = 1; break;
        case 'h': printf(help, bz_generated_model.experiment); exit(0);
        default: bz_bad_option(command, argv);
        }
    }
    if (optind < argc)
        bz_fatal("%s: unexpected argument '%s'", command, argv[optind]);
    bz_set_threads(o.threads);
    return o;
}

static void require(const char *command, const char *value, const char *option)
{
    if (!value)
        bz_fatal("%s: %s is required (see %s --help)", command, option, command);
}


/* Reads X [N, C, H, W] and returns it as NHWC; *n gets N. */
static float *read_input(const bz_model_desc *d, const char *path, int *n)
{
    bz_named_tensor t;
    char shape[96];
    if (bz_npy_read(path, BZ_F32, &t) != 0)
        bz_fatal("%s", bz_last_error());
    if (t.ndim != 4 || t.shape[1] != d->in_c || t.shape[2] != d->in_h || t.shape[3] != d->in_w ||
        t.shape[0] < 1)
        bz_fatal("%s: input has shape %s; this model takes [N, %d, %d, %d] float32 (NCHW)",
                 path, bz_shape_text(t.shape, t.ndim, shape, sizeof shape), d->in_c, d->in_h,
                 d->in_w);
    *n = (int)t.shape[0];
    float *x = bz_alloc_floats(t.numel);
    bz_nchw_to_nhwc(t.data, x, *n, d->in_c, d->in_h, d->in_w);
    bz_named_tensor_free(&t);
    return x;
}

/* The input of a single batch: at most the generated bound. */
static float *read_batch_input(const bz_model_desc *d, const char *path, int *n)
{
    float *x = read_input(d, path, n);
    if (*n > d->max_batch)
        bz_fatal("%s: %d inputs exceed the generated batch bound %d", path, *n, d->max_batch);
    return x;
}

static int32_t *read_labels(const bz_model_desc *d, const char *path, int n)
{
    bz_named_tensor t;
    if (bz_npy_read(path, BZ_I64, &t) != 0)
        bz_fatal("%s", bz_last_error());
    if (t.ndim != 1 || t.shape[0] != n)
        bz_fatal("%s: labels must be [%d] int64, one per input", path, n);
    int32_t *labels = bz_xmalloc(sizeof(int32_t) * (size_t)n);
    for (int i = 0; i < n; i++) {
        int64_t v = ((int64_t *)t.data)[i];
        if (v < 0 || v >= d->classes)
            bz_fatal("%s: label %lld at index %d is outside [0, %d)", path, (long long)v, i,
                     d->classes);
        labels[i] = (int32_t)v;
    }
    bz_named_tensor_free(&t);
    return labels;
}

static bz_model *prepare_model(const bz_model_desc *d, const tensor_options *o, int batch, int training)
{
    bz_model *m = bz_model_create(d, bz_opt_device(d, o->device, o->backend, o->precision), batch,
                                  training);
    bz_model_init(m, (uint64_t)o->seed);
    if (o->weights && bz_model_load(m, o->weights) != 0)
        bz_fatal("%s", bz_last_error());
    return m;
}

static void run_forward(bz_model *m, const tensor_options *o, const float *x, float *logits, int n)
{
    if (o->train)
        bz_forward_train(m, x, logits, n);
    else if (o->deploy)
        bz_forward_deploy(m, x, logits, n);
    else
        bz_forward_eval(m, x, logits, n);
}

int bz_cmd_forward(const bz_model_desc *d, int argc, char **argv)
{
    tensor_options o = parse("forward", forward_help, argc, argv);
    require("forward", o.input, "--input");
    require("forward", o.output, "--output");
    int n;
    float *x = read_batch_input(d, o.input, &n);
    bz_model *m = prepare_model(d, &o, n, o.train);
    if (o.deploy)
        bz_deploy_fold(m);
    float *logits = bz_alloc_floats((int64_t)n * d->classes);
    run_forward(m, &o, x, logits, n);
    bz_named_tensor y = {.name = "logits", .dtype = BZ_F32, .ndim = 2,
                         .shape = {n, d->classes}, .numel = (int64_t)n * d->classes, .data = logits};
    if (bz_npy_write(o.output, &y) != 0)
        bz_fatal("%s", bz_last_error());
    free(logits), free(x);
    bz_model_free(m);
    return 0;
}

int bz_cmd_grad(const bz_model_desc *d, int argc, char **argv)
{
    tensor_options o = parse("grad", grad_help, argc, argv);
    require("grad", o.input, "--input");
    require("grad", o.labels, "--labels");
    require("grad", o.output, "--output");
    int n;
    float *x = read_batch_input(d, o.input, &n);
    int32_t *labels = read_labels(d, o.labels, n);
    bz_model *m = prepare_model(d, &o, n, 1);
    float *logits = bz_alloc_floats((int64_t)n * d->classes);
    float *dlogits = bz_alloc_floats((int64_t)n * d->classes);
    bz_forward_train(m, x, logits, n);
    double loss = bz_softmax_xent(logits, labels, n, d->classes, dlogits, NULL);
    bz_backward(m, dlogits, n);
    if (bz_model_save_grads(m, o.output, (float)loss) != 0)
        bz_fatal("%s", bz_last_error());
    free(logits), free(dlogits), free(x), free(labels);
    bz_model_free(m);
    return 0;
}

int bz_cmd_export(const bz_model_desc *d, int argc, char **argv)
{
    tensor_options o = parse("export", export_help, argc, argv);
    require("export", o.output, "--output");
    bz_model *m = bz_model_create(d, d->optimised, 1, 0);
    bz_model_init(m, (uint64_t)o.seed);
    if (bz_model_save(m, o.output) != 0)
        bz_fatal("%s", bz_last_error());
    bz_model_free(m);
    return 0;
}
