/* The training step's shape-independent parts on the GPU: softmax
 * cross-entropy, the Adam update, and the CUDA graphs that replay a whole
 * step with one launch. */
#include <cuda_runtime.h>
#include <math.h>
#include <stdlib.h>

#include "cuda/bz_cuda.cuh"
extern "C" {
#include "cuda/bz_cuda_model.h"
#include "train/bz_train_math.h"
#include "util/bz_util.h"
}

/* One block: thread t takes rows t, t + BZ_CUDA_THREADS, ...; the loss is
 * summed in double in a fixed order, so that it is the same every run. */
static __global__ void softmax_xent_kernel(const float *logits, const int32_t *labels, int batch,
                                           int classes, float *dlogits, double *loss,
                                           int *correct)
{
    double loss_sum = 0.0, hits = 0.0;
    for (int i = threadIdx.x; i < batch; i += blockDim.x) {
        const float *row = logits + (long)i * classes;
        int best = 0;
        for (int k = 1; k < classes; k++)
            if (row[k] > row[best])
                best = k;
        double max = row[best], sum = 0.0;
        for (int k = 0; k < classes; k++)
            sum += exp((double)row[k] - max);
        double log_sum = log(sum);
        for (int k = 0; k < classes; k++) {
            double p = exp((double)row[k] - max - log_sum);
            dlogits[(long)i * classes + k] = (float)((p - (k == labels[i] ? 1.0 : 0.0)) / batch);
        }
        loss_sum += log_sum - ((double)row[labels[i]] - max);
        hits += best == labels[i];
    }
    loss_sum = bz_block_sum(loss_sum);
    hits = bz_block_sum(hits);
    if (threadIdx.x == 0) {
        *loss = loss_sum / batch;
        *correct = (int)hits;
    }
}

void bz_cuda_softmax_xent(const float *logits, const int32_t *labels, int batch, int classes,
                          float *dlogits, double *loss, int *correct)
{
    softmax_xent_kernel<<<1, BZ_CUDA_THREADS>>>(logits, labels, batch, classes, dlogits, loss,
                                                correct);
    BZ_CUDA_LAUNCHED("softmax cross-entropy");
}

/* bz_adam_step's arithmetic, operation by operation */
static __global__ void adam_kernel(float *params, const float *grads, float *m, float *v, long n,
                                   const float *s)
{
    BZ_CUDA_FOR(i, n) {
        const float g = grads[i];
        m[i] = __fadd_rn(__fmul_rn(m[i], s[BZ_ADAM_BETA1]),
                         __fmul_rn(g, s[BZ_ADAM_ONE_MINUS_BETA1]));
        v[i] = __fadd_rn(__fmul_rn(v[i], s[BZ_ADAM_BETA2]),
                         __fmul_rn(__fmul_rn(s[BZ_ADAM_ONE_MINUS_BETA2], g), g));
        const float denom = __fadd_rn(__fdiv_rn(sqrtf(v[i]), s[BZ_ADAM_BIAS2_SQRT]),
                                      s[BZ_ADAM_EPS]);
        params[i] = __fadd_rn(params[i],
                              __fdiv_rn(__fmul_rn(s[BZ_ADAM_NEG_STEP_SIZE], m[i]), denom));
    }
}

void bz_cuda_adam_step(float *params, const float *grads, float *adam_m, float *adam_v, long n,
                       const float *scalars)
{
    adam_kernel<<<bz_cuda_blocks(n), BZ_CUDA_THREADS>>>(params, grads, adam_m, adam_v, n,
                                                        scalars);
    BZ_CUDA_LAUNCHED("Adam step");
}

/* The captured steps of one model, by batch size: training uses the full
 * batch and at most one smaller last batch per epoch, so a few suffice;
 * beyond them the oldest is dropped. */
enum { CAPTURED_STEPS = 4 };
typedef struct {
    int batch[CAPTURED_STEPS];
    cudaGraphExec_t exec[CAPTURED_STEPS];
    int next;                    /* the slot to reuse when all are taken */
} captured_steps;

static cudaGraphExec_t capture(bz_model *m, int batch, void (*step)(bz_model *m, int batch))
{
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    bz_cuda_check(cudaStreamBeginCapture(cudaStreamPerThread, cudaStreamCaptureModeThreadLocal),
                  "beginning a graph capture");
    step(m, batch);
    bz_cuda_check(cudaStreamEndCapture(cudaStreamPerThread, &graph), "ending a graph capture");
    bz_cuda_check(cudaGraphInstantiate(&exec, graph, 0), "instantiating a graph");
    bz_cuda_check(cudaGraphDestroy(graph), "destroying a captured graph");
    return exec;
}

void bz_cuda_run_captured(bz_model *m, int batch, void (*step)(bz_model *m, int batch))
{
    if (m->timer) {
        step(m, batch);
        return;
    }
    captured_steps *c = (captured_steps *)m->io.graphs;
    if (!c)
        c = (captured_steps *)(m->io.graphs = bz_xcalloc(1, sizeof *c));
    int slot = -1;
    for (int i = 0; i < CAPTURED_STEPS; i++)
        if (c->exec[i] && c->batch[i] == batch)
            slot = i;
    if (slot < 0) {
        slot = c->next;
        c->next = (c->next + 1) % CAPTURED_STEPS;
        if (c->exec[slot])
            bz_cuda_check(cudaGraphExecDestroy(c->exec[slot]), "dropping a graph");
        c->exec[slot] = capture(m, batch, step);
        c->batch[slot] = batch;
    }
    bz_cuda_check(cudaGraphLaunch(c->exec[slot], cudaStreamPerThread), "launching a graph");
}

void bz_cuda_release_graphs(bz_model *m)
{
    captured_steps *c = (captured_steps *)m->io.graphs;
    if (!c)
        return;
    for (int i = 0; i < CAPTURED_STEPS; i++)
        if (c->exec[i])
            bz_cuda_check(cudaGraphExecDestroy(c->exec[i]), "dropping a graph");
    free(c);
    m->io.graphs = NULL;
}

void bz_cuda_mark(bz_model *m, int step)
{
    if (m->timer) {
        bz_cuda_check(cudaDeviceSynchronize(), "kernels");
        bz_timer_mark(m->timer, step);
    }
}
