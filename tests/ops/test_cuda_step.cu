/* The training step's CUDA parts (runtime/cuda/bz_cuda_step.cu) against the
 * CPU's (runtime/train/bz_train_math.c): softmax cross-entropy, three Adam
 * steps, and a step captured into a CUDA graph and replayed.  Without a
 * usable GPU every check is reported as skipped with the reason. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/bz_cuda.cuh"
extern "C" {
#include "cuda/bz_cuda_model.h"
#include "train/bz_train_math.h"
}

enum { BATCH = 37, CLASSES = 11, PARAMS = 1000, STEPS = 3 };

static int failures;

static void report(int good, const char *what, double err)
{
    printf("%s - CUDA %s (max rel err %.3g)\n", good ? "ok" : "not ok", what, err);
    failures += !good;
}

static double max_rel_err(const float *a, const float *b, int n)
{
    double worst = 0.0, scale = 1e-12;
    for (int i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return worst / scale;
}

static void *managed(size_t bytes)
{
    void *p;
    bz_cuda_check(cudaMallocManaged(&p, bytes), "managed allocation");
    return p;
}

static void check_xent(const float *logits_host, const int32_t *labels_host)
{
    float *logits = (float *)managed(sizeof(float) * BATCH * CLASSES);
    float *dlogits = (float *)managed(sizeof(float) * BATCH * CLASSES);
    int32_t *labels = (int32_t *)managed(sizeof(int32_t) * BATCH);
    double *loss = (double *)managed(sizeof *loss);
    int *correct = (int *)managed(sizeof *correct);
    memcpy(logits, logits_host, sizeof(float) * BATCH * CLASSES);
    memcpy(labels, labels_host, sizeof(int32_t) * BATCH);
    bz_cuda_softmax_xent(logits, labels, BATCH, CLASSES, dlogits, loss, correct);
    bz_cuda_check(cudaDeviceSynchronize(), "cross-entropy");
    float want[BATCH * CLASSES];
    int want_correct;
    double want_loss = bz_softmax_xent(logits_host, labels_host, BATCH, CLASSES, want,
                                       &want_correct);
    report(fabs(*loss - want_loss) <= 1e-6 * fabs(want_loss) && *correct == want_correct,
           "softmax cross-entropy: loss and hits", fabs(*loss - want_loss) / fabs(want_loss));
    double err = max_rel_err(dlogits, want, BATCH * CLASSES);
    report(err <= 1e-5, "softmax cross-entropy: gradient", err);
    cudaFree(logits), cudaFree(dlogits), cudaFree(labels), cudaFree(loss), cudaFree(correct);
}

/* params, grads, m, v, scalars: one managed block each */
typedef struct {
    float *p, *g, *m, *v, *s;
} adam_state;

static adam_state adam_state_new(const float *p0, const float *g)
{
    adam_state a;
    a.p = (float *)managed(sizeof(float) * PARAMS);
    a.g = (float *)managed(sizeof(float) * PARAMS);
    a.m = (float *)managed(sizeof(float) * PARAMS);
    a.v = (float *)managed(sizeof(float) * PARAMS);
    a.s = (float *)managed(sizeof(float) * BZ_ADAM_SCALARS);
    memcpy(a.p, p0, sizeof(float) * PARAMS);
    memcpy(a.g, g, sizeof(float) * PARAMS);
    memset(a.m, 0, sizeof(float) * PARAMS);
    memset(a.v, 0, sizeof(float) * PARAMS);
    return a;
}

static void adam_state_free(adam_state *a)
{
    cudaFree(a->p), cudaFree(a->g), cudaFree(a->m), cudaFree(a->v), cudaFree(a->s);
}

/* the captured step: one Adam update on the model's params */
static adam_state *captured;
static void adam_only_step(bz_model *m, int batch)
{
    (void)m, (void)batch;
    bz_cuda_adam_step(captured->p, captured->g, captured->m, captured->v, PARAMS, captured->s);
}

static void check_adam(const float *p0, const float *g, int graphs)
{
    float p[PARAMS], m[PARAMS] = {0}, v[PARAMS] = {0};
    memcpy(p, p0, sizeof p);
    bz_adam cpu = {1e-3, 0.9, 0.999, 1e-8, 0}, gpu = cpu;
    adam_state a = adam_state_new(p0, g);
    bz_model model;
    memset(&model, 0, sizeof model);
    captured = &a;
    for (int step = 0; step < STEPS; step++) {
        bz_adam_step(&cpu, p, g, m, v, PARAMS);
        bz_adam_scalars(&gpu, a.s);  /* the scalars change; the graph reads them */
        if (graphs)
            bz_cuda_run_captured(&model, 1, adam_only_step);
        else
            bz_cuda_adam_step(a.p, a.g, a.m, a.v, PARAMS, a.s);
        bz_cuda_check(cudaDeviceSynchronize(), "Adam");
    }
    double err = fmax(max_rel_err(a.p, p, PARAMS), max_rel_err(a.v, v, PARAMS));
    report(err <= 1e-6, graphs ? "Adam, 3 steps replayed from one captured graph"
                               : "Adam, 3 steps: parameters and moments", err);
    bz_cuda_release_graphs(&model);
    adam_state_free(&a);
}

int main(void)
{
    const char *why = bz_cuda_device.unusable();
    if (why) {
        printf("ok - CUDA loss, Adam and captured steps # SKIP no usable GPU: %s\n", why);
        return 0;
    }
    static float logits[BATCH * CLASSES], p0[PARAMS], g[PARAMS];
    int32_t labels[BATCH];
    srand(7);
    for (int i = 0; i < BATCH * CLASSES; i++)
        logits[i] = 8.0f * ((float)rand() / RAND_MAX - 0.5f);
    for (int i = 0; i < BATCH; i++)
        labels[i] = rand() % CLASSES;
    for (int i = 0; i < PARAMS; i++) {
        p0[i] = (float)rand() / RAND_MAX - 0.5f;
        g[i] = 1e-2f * ((float)rand() / RAND_MAX - 0.5f);
    }
    check_xent(logits, labels);
    check_adam(p0, g, 0);
    check_adam(p0, g, 1);
    return failures != 0;
}
