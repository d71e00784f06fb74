/* `profile`: parameters, FLOPs (BlockZoo's convention), the static memory
 * plan beside the measured peak RSS, and the per-layer table. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/bz_cli.h"
#include "model/bz_runtime_model.h"
#include "report/bz_measure_csv.h"
#include "report/bz_results.h"
#include "util/bz_util.h"

static const char flop_convention[] =
    "FLOPs = 2 x MACs (BlockZoo: torchinfo mult-adds x 2), batch 1, counted on the deploy "
    "graph as timm's reparameterize_model leaves it (for these blocks BatchNorm stays). "
    "A MAC is one multiply-add of a conv/linear weight or bias; a conv bias counts once per "
    "output pixel; grouped and depthwise convs count weight numel x output pixels; plain "
    "BatchNorm2d counts 2 x C per sample (not per pixel), BatchNormAct2d 0; activations, "
    "pooling and element-wise adds count 0.";

typedef struct {
    int64_t rss_before, rss_peak;
} measured_rss;

/* Creates a training model at `batch`, runs one forward_train + backward
 * on zeros so every arena and the kernels' own buffers are touched. */
static measured_rss measure(const bz_model_desc *d, int batch)
{
    measured_rss r = {.rss_before = bz_peak_rss_bytes()};
    bz_model *m = bz_model_create(d, d->optimised, batch, 1);
    bz_model_init(m, 0);
    float *x = bz_alloc_floats((int64_t)batch * d->in_c * d->in_h * d->in_w);
    float *logits = bz_alloc_floats((int64_t)batch * d->classes);
    float *dlogits = bz_alloc_floats((int64_t)batch * d->classes);
    bz_forward_train(m, x, logits, batch);
    bz_backward(m, dlogits, batch);
    r.rss_peak = bz_peak_rss_bytes();
    free(x), free(logits), free(dlogits);
    bz_model_free(m);
    return r;
}

static const char *layer_graph(const bz_layer_desc *l)
{
    return l->deploy == 0 ? "train" : l->deploy == 2 ? "deploy" : "both";
}

static double mib(int64_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

static void print_text(const bz_model_desc *d, const bz_memory_plan *p, const measured_rss *r,
                       int layers)
{
    printf("profile %s: %s at position %s, %d blocks per stage, base width %d, %d classes, "
           "input %dx%dx%d\n\n", d->experiment, d->block, d->position, d->num_blocks,
           d->base_channels, d->classes, d->in_c, d->in_h, d->in_w);
    printf("parameters\n");
    printf("  train-time (total = trainable)  %14lld\n", (long long)d->params_train);
    printf("  deploy                          %14lld\n", (long long)d->params_deploy);
    printf("  (BN running statistics: %lld floats, not counted)\n\n", (long long)d->n_buffers);
    printf("compute (batch 1)\n");
    printf("  FLOPs                           %14lld\n", (long long)(2 * d->macs_deploy));
    printf("  MACs                            %14lld\n", (long long)d->macs_deploy);
    printf("  MACs, train-time graph          %14lld\n", (long long)d->macs_train);
    printf("  convention: %s\n\n", flop_convention);

    printf("memory, static plan at batch %d (MiB)   training   inference\n", p->batch);
    printf("  parameters                       %10.3f  %10.3f\n", mib(p->params), mib(p->params));
    printf("  gradients                        %10.3f  %10s\n", mib(p->grads), "-");
    printf("  Adam state (m, v)                %10.3f  %10s\n", mib(p->adam), "-");
    printf("  BN buffers                       %10.3f  %10.3f\n", mib(p->bn_buffers),
           mib(p->bn_buffers));
    printf("  deploy (folded) parameters       %10s  %10.3f\n", "-", mib(p->deploy_params));
    printf("  activations                      %10.3f  %10.3f\n", mib(p->act_train),
           mib(p->act_eval));
    printf("  im2col workspace                 %10.3f  %10.3f\n", mib(p->workspace),
           mib(p->workspace));
    printf("  total (= peak, all static)       %10.3f  %10.3f\n", mib(p->total_train),
           mib(p->total_eval));
    printf("  activation floats per sample     %10lld  %10lld\n",
           (long long)d->act_train_per_sample, (long long)d->act_eval_per_sample);
    if (r) {
        printf("\nmeasured (training model at batch %d, one forward + backward, %d threads)\n",
               p->batch, bz_get_threads());
        printf("  static plan, training total      %10.3f MiB\n", mib(p->total_train));
        printf("  process peak RSS                 %10.3f MiB  (%.3f MiB before the model "
               "was created, +%.3f MiB)\n", mib(r->rss_peak), mib(r->rss_before),
               mib(r->rss_peak - r->rss_before));
    }
    if (!layers)
        return;
    int w = 5;
    for (int i = 0; i < d->n_layers; i++) {
        int len = (int)strlen(d->layers[i].name);
        if (len > w)
            w = len;
    }
    printf("\nlayers (graph: train = folded away in deploy, deploy = deploy graph only)\n");
    printf("  %-*s %-20s %14s %14s %10s %12s %6s\n", w, "layer", "op", "in CxHxW",
           "out CxHxW", "params", "MACs", "graph");
    int64_t sum_params = 0, sum_macs = 0;
    for (int i = 0; i < d->n_layers; i++) {
        const bz_layer_desc *l = &d->layers[i];
        char in[32], out[32];
        snprintf(in, sizeof in, "%dx%dx%d", l->in_c, l->in_h, l->in_w);
        snprintf(out, sizeof out, "%dx%dx%d", l->out_c, l->out_h, l->out_w);
        printf("  %-*s %-20s %14s %14s %10lld %12lld %6s\n", w, l->name, l->op, in, out,
               (long long)l->params, (long long)l->macs, layer_graph(l));
        if (l->deploy != 2) {
            sum_params += l->params;
            sum_macs += l->macs;
        }
    }
    printf("  %-*s %-20s %14s %14s %10lld %12lld\n", w, "total (train-time graph)", "", "", "",
           (long long)sum_params, (long long)sum_macs);
}

static json_t *layers_json(const bz_model_desc *d)
{
    json_t *a = json_array();
    for (int i = 0; i < d->n_layers; i++) {
        const bz_layer_desc *l = &d->layers[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:[i,i,i], s:[i,i,i], s:I, s:I, s:s}",
                                           "name", l->name, "op", l->op, "in", l->in_c,
                                           l->in_h, l->in_w, "out", l->out_c, l->out_h,
                                           l->out_w, "params", (json_int_t)l->params, "macs",
                                           (json_int_t)l->macs, "graph", layer_graph(l)));
    }
    return a;
}

static void print_json(const bz_model_desc *d, const bz_memory_plan *p, const measured_rss *r,
                       int layers)
{
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:[i,i,i], s:i, s:i, s:i, s:i,"
        " s:{s:I, s:I, s:I, s:I}, s:I, s:I, s:I, s:I, s:s}",
        "experiment", d->experiment, "block", d->block, "position", d->position, "input",
        d->in_c, d->in_h, d->in_w, "classes", d->classes, "num_blocks", d->num_blocks,
        "base_channels", d->base_channels, "batch_size", p->batch,
        "params", "train", (json_int_t)d->params_train, "trainable",
        (json_int_t)d->params_train, "total", (json_int_t)d->params_deploy, "deploy",
        (json_int_t)d->params_deploy,
        "flops", (json_int_t)(2 * d->macs_deploy), "macs", (json_int_t)d->macs_deploy,
        "macs_train", (json_int_t)d->macs_train, "flops_train", (json_int_t)(2 * d->macs_train),
        "flop_convention", flop_convention);
    json_t *mem = json_pack(
        "{s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "batch_size",
        p->batch, "params", (json_int_t)p->params, "grads", (json_int_t)p->grads, "adam",
        (json_int_t)p->adam, "bn_buffers", (json_int_t)p->bn_buffers, "deploy_params",
        (json_int_t)p->deploy_params, "activations_train", (json_int_t)p->act_train,
        "activations_eval", (json_int_t)p->act_eval, "workspace", (json_int_t)p->workspace,
        "total_train", (json_int_t)p->total_train, "total_eval", (json_int_t)p->total_eval,
        "act_train_per_sample", (json_int_t)d->act_train_per_sample, "act_eval_per_sample",
        (json_int_t)d->act_eval_per_sample);
    json_object_set_new(o, "memory_bytes", mem);
    if (r)
        json_object_set_new(o, "measured",
                            json_pack("{s:i, s:i, s:I, s:I, s:I}", "batch_size", p->batch,
                                      "threads", bz_get_threads(),
                                      "static_total_train_bytes", (json_int_t)p->total_train,
                                      "peak_rss_bytes", (json_int_t)r->rss_peak,
                                      "rss_before_model_bytes", (json_int_t)r->rss_before));
    else
        json_object_set_new(o, "measured", json_null());
    if (layers)
        json_object_set_new(o, "layers", layers_json(d));
    if (!o)
        bz_fatal("profile: cannot encode JSON");
    char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text)
        bz_fatal("profile: cannot encode JSON");
    puts(text);
    free(text);
    json_decref(o);
}

static void usage(const bz_model_desc *d)
{
    printf("usage: %s profile [options]\n\n"
           "Parameters (train-time and deploy), FLOPs and MACs in BlockZoo's convention,\n"
           "the static memory plan and the measured peak RSS of a training model.\n\n"
           "  --batch-size N   batch for the memory plan and measurement (default %d, at most %d)\n"
           "  --layers         per-layer table (name, op, shapes, params, MACs)\n"
           "  --json           one JSON object on stdout\n"
           "  --no-measure     skip creating a model to measure peak RSS\n"
           "  --output FILE    append one CSV row (parameters, FLOPs, memory plan, peak RSS)\n"
           "  --help           this text\n",
           d->experiment, d->batch_size, d->max_batch);
}

int bz_cmd_profile(const bz_model_desc *d, int argc, char **argv)
{
    enum { O_BATCH = 256, O_JSON, O_LAYERS, O_NO_MEASURE, O_OUTPUT, O_HELP };
    static const struct option longopts[] = {
        {"batch-size", required_argument, NULL, O_BATCH},
        {"json", no_argument, NULL, O_JSON},
        {"layers", no_argument, NULL, O_LAYERS},
        {"no-measure", no_argument, NULL, O_NO_MEASURE},
        {"output", required_argument, NULL, O_OUTPUT},
        {"help", no_argument, NULL, O_HELP},
        {NULL, 0, NULL, 0},
    };
    int batch = d->batch_size < d->max_batch ? d->batch_size : d->max_batch;
    int json = 0, layers = 0, do_measure = 1, c;
    const char *output = NULL;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case O_BATCH: batch = (int)bz_opt_long("batch-size", optarg, 1, d->max_batch); break;
        case O_JSON: json = 1; break;
        case O_LAYERS: layers = 1; break;
        case O_NO_MEASURE: do_measure = 0; break;
        case O_OUTPUT:
            if (!*optarg)
                bz_fatal("--output wants a non-empty path");
            output = optarg;
            break;
        case 'h':
        case O_HELP: usage(d); return 0;
        default: bz_bad_option("profile", argv);
        }
    }
    if (optind < argc)
        bz_fatal("profile: unexpected argument '%s' (see profile --help)", argv[optind]);
    if (batch < 1)
        batch = 1;
    if (output && bz_profile_csv_check(output) != 0)
        bz_fatal("%s", bz_last_error());
    bz_memory_plan plan = bz_memory_plan_of(d, batch);
    measured_rss r;
    if (do_measure)
        r = measure(d, batch);
    if (json)
        print_json(d, &plan, do_measure ? &r : NULL, layers);
    else
        print_text(d, &plan, do_measure ? &r : NULL, layers);
    if (output) {
        if (bz_profile_csv_append(output, d, &plan, do_measure ? r.rss_peak : 0) != 0)
            bz_fatal("%s", bz_last_error());
        if (!json)
            printf("appended a row to %s\n", output);
    }
    return 0;
}
