/* The static memory plan and BlockZoo's results row. */
#include "report/bz_results.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bz_bench.h"
#include "io/bz_csv.h"
#include "util/bz_util.h"

bz_memory_plan bz_memory_plan_of(const bz_model_desc *d, int batch)
{
    const int64_t f = (int64_t)sizeof(float);
    bz_memory_plan p = {.batch = batch};
    p.params = d->n_params * f;
    p.grads = d->n_params * f;
    p.adam = 2 * d->n_params * f;
    p.bn_buffers = (d->n_buffers + d->n_bn_saved) * f + d->n_counters * 8;
    p.deploy_params = d->n_deploy_params * f;
    /* bz_model_create sizes the training arena for whichever plan is larger */
    int64_t train_per = d->act_train_per_sample > d->act_eval_per_sample
                            ? d->act_train_per_sample : d->act_eval_per_sample;
    p.act_train = train_per * batch * f;
    p.act_eval = d->act_eval_per_sample * batch * f;
    p.workspace = d->n_workspace * f;
    /* a training model has no deploy arena (bz_deploy_fold allocates it) */
    p.total_train = p.params + p.grads + p.adam + p.bn_buffers + p.act_train + p.workspace;
    p.total_eval = p.params + p.bn_buffers + p.deploy_params + p.act_eval + p.workspace;
    return p;
}

const char *const bz_results_header[BZ_RESULTS_COLUMNS] = {
    "timestamp", "block", "dataset", "position", "epochs", "batch_size", "lr", "val_loss",
    "val_acc", "training_time", "params_total", "params_trainable", "flops", "memory_mb",
    "latency_ms", "latency_std", "throughput", "device", "num_blocks", "base_channels",
    "out_dim", "experiment_name", "notes",
    /* ours */
    "seed", "threads", "backend", "best_epoch", "checkpoint", "peak_rss_mb", "subset",
    "val_subset", "commit", "spec_hash", "cpu_model", "gemm", "status", "stopped_by",
};

/* build/build_info.c, linked into every experiment binary: the commit it
 * was built at; absent (NULL) in test programs that link the runtime alone */
extern const char bz_build_commit[] __attribute__((weak));

const char *bz_build_commit_text(void)
{
    return &bz_build_commit != NULL && bz_build_commit[0] ? bz_build_commit : "unknown";
}

static void cpu_model(char *out, int size)
{
    FILE *fp = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(out, (size_t)size, "unknown");
    while (fp && fgets(line, sizeof line, fp)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            colon += 1 + (colon[1] == ' ');
            colon[strcspn(colon, "\n")] = '\0';
            snprintf(out, (size_t)size, "%s", colon);
            break;
        }
    }
    if (fp)
        fclose(fp);
}

const char *bz_cpu_model(void)
{
    static char model[128];
    if (!model[0])
        cpu_model(model, sizeof model);
    return model;
}

void bz_iso8601_now(char *buf, int size)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    char zone[8];
    strftime(zone, sizeof zone, "%z", &tm);   /* +0200 */
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    if (strlen(zone) == 5)
        snprintf(buf, (size_t)size, "%s%.3s:%.2s", base, zone, zone + 3);
    else
        snprintf(buf, (size_t)size, "%s", base);
}

int bz_results_append(const char *path, const bz_model_desc *d, const bz_results_row *r)
{
    char f[BZ_RESULTS_COLUMNS][128];
    const char *fields[BZ_RESULTS_COLUMNS];
    for (int i = 0; i < BZ_RESULTS_COLUMNS; i++) {
        f[i][0] = '\0';
        fields[i] = f[i];
    }
    bz_iso8601_now(f[0], sizeof f[0]);
    fields[1] = d->block;
    fields[2] = r->dataset;
    fields[3] = d->position;
    snprintf(f[4], sizeof f[4], "%d", r->epochs);
    snprintf(f[5], sizeof f[5], "%d", r->batch_size);
    snprintf(f[6], sizeof f[6], "%.10g", r->lr);
    if (r->best_epoch_valid) {
        snprintf(f[7], sizeof f[7], "%.6f", r->val_loss);
        snprintf(f[8], sizeof f[8], "%.6f", r->val_acc);
    }
    snprintf(f[9], sizeof f[9], "%.3f", r->training_time);
    snprintf(f[10], sizeof f[10], "%lld", (long long)d->params_deploy);
    snprintf(f[11], sizeof f[11], "%lld", (long long)d->params_train);
    snprintf(f[12], sizeof f[12], "%lld", (long long)(2 * d->macs_deploy));
    snprintf(f[13], sizeof f[13], "%.3f", r->memory_mb);
    if (r->have_bench) {
        snprintf(f[14], sizeof f[14], "%.6f", r->latency_ms);
        snprintf(f[15], sizeof f[15], "%.6f", r->latency_std);
        snprintf(f[16], sizeof f[16], "%.3f", r->throughput);
    }
    fields[17] = r->device;
    snprintf(f[18], sizeof f[18], "%d", d->num_blocks);
    snprintf(f[19], sizeof f[19], "%d", d->base_channels);
    snprintf(f[20], sizeof f[20], "%d", d->classes);
    fields[21] = r->experiment_name;
    fields[22] = r->notes ? r->notes : "";
    snprintf(f[23], sizeof f[23], "%lld", (long long)r->seed);
    snprintf(f[24], sizeof f[24], "%d", r->threads);
    fields[25] = r->backend;
    snprintf(f[26], sizeof f[26], "%d", r->best_epoch);
    fields[27] = r->checkpoint ? r->checkpoint : "";
    snprintf(f[28], sizeof f[28], "%.1f", r->peak_rss_mb);
    snprintf(f[29], sizeof f[29], "%d", r->subset);
    snprintf(f[30], sizeof f[30], "%d", r->val_subset);
    fields[31] = bz_build_commit_text();
    fields[32] = d->spec_hash ? d->spec_hash : "";
    fields[33] = bz_cpu_model();
    fields[34] = bz_gemm_kernels();
    fields[35] = r->status ? r->status : "ok";
    fields[36] = r->stopped_by ? r->stopped_by : "";
    return bz_csv_append(path, BZ_RESULTS_COLUMNS, bz_results_header, fields);
}

int bz_results_check_header(const char *path)
{
    return bz_csv_check_header(path, BZ_RESULTS_COLUMNS, bz_results_header);
}
