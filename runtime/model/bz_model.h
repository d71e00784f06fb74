/* The contract between a generated model (build/<exp>/model_*.c) and the
 * shape-independent runtime (libbzrt).  The generator fills one
 * bz_model_desc per experiment; the runtime owns every buffer. */
#ifndef BZ_MODEL_H
#define BZ_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "bench/bz_timer.h"

enum bz_tensor_kind {
    BZ_TENSOR_PARAM,    /* trainable float32, lives in bz_model.params     */
    BZ_TENSOR_BUFFER,   /* BN running statistic, lives in bz_model.buffers */
    BZ_TENSOR_COUNTER   /* int64 num_batches_tracked, bz_model.counters     */
};

enum bz_tensor_layout {
    BZ_LAYOUT_PLAIN,    /* stored exactly as PyTorch's shape                */
    BZ_LAYOUT_OHWI      /* conv weight: shape[] is PyTorch's [O][I][H][W],
                           memory holds [O][H][W][I] (NHWC-friendly)        */
};

enum bz_tensor_init {
    BZ_INIT_ZERO,
    BZ_INIT_ONE,
    BZ_INIT_UNIFORM_FAN_IN, /* U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's
                               kaiming_uniform(a=sqrt(5)) and its bias rule */
    BZ_INIT_CONSTANT,       /* init_value, e.g. layer-scale gammas 1e-5     */
    BZ_INIT_TRUNC_NORMAL    /* N(0, init_value^2) truncated to [-2, 2]:
                               timm's trunc_normal_(std=...) (FastViT)      */
};

typedef struct {
    const char *key;        /* PyTorch state_dict key                     */
    int kind;               /* enum bz_tensor_kind                        */
    int layout;             /* enum bz_tensor_layout                      */
    int init;               /* enum bz_tensor_init                        */
    int ndim;               /* 0 for num_batches_tracked                  */
    int64_t shape[4];       /* PyTorch shape                              */
    int64_t numel;
    int64_t offset;         /* element offset in its arena                */
    int64_t fan_in;         /* for BZ_INIT_UNIFORM_FAN_IN                 */
    double init_value;      /* BZ_INIT_CONSTANT: the value; _TRUNC_NORMAL: std */
} bz_tensor_desc;

typedef struct {
    const char *name;       /* module path, e.g. "stage3.0.conv_pw"      */
    const char *op;         /* PyTorch-style operator, e.g. "Conv2d"     */
    int in_c, in_h, in_w;   /* per-sample input shape (first input)      */
    int out_c, out_h, out_w;
    int64_t params;         /* parameters owned by the layer              */
    int64_t macs;           /* torchinfo convention, batch 1              */
    int deploy;             /* 1: present in deploy graph, 2: only there  */
} bz_layer_desc;

struct bz_model;

/* One timed step of a generated function: layer `layer` (index into
 * layers[]) run by `kernel` in one phase. */
enum bz_phase { BZ_PHASE_FORWARD_TRAIN, BZ_PHASE_FORWARD_EVAL, BZ_PHASE_BACKWARD,
                BZ_PHASE_FORWARD_DEPLOY, BZ_PHASE_RECOMPUTE };
typedef struct {
    int phase;              /* enum bz_phase                              */
    int layer;              /* index into layers[]                        */
    const char *kernel;     /* the generated function it calls            */
    int64_t macs;           /* the multiply-adds the kernel runs, batch 1
                             * (torchinfo's count, except a Linear's per
                             * pixel and attention's); backward: both
                             * gradients, 2 x the forward (the first
                             * layer: its weight gradient only, 1 x)      */
} bz_step_desc;

/* A memory the host cannot address (a GPU's).  A backend with a device
 * runs on a twin of the host model whose arenas all live there; the
 * runtime (bz_runtime_model.c) keeps the host arenas for initialisation,
 * weights files and the deploy fold, and copies each way when the other
 * side holds the newer values.  Every function exits with a message on a
 * failed call: a lost device is not recoverable. */
typedef struct bz_device {
    const char *name;       /* "cuda"                                     */
    /* NULL when a device is usable, else why not, e.g. "CUDA driver
     * version is insufficient for CUDA runtime version" */
    const char *(*unusable)(void);
    void *(*alloc)(size_t bytes);   /* zeroed */
    void (*release)(void *p);
    /* both wait until the copy is done; download after the work before it */
    void (*upload)(void *device_dst, const void *host_src, size_t bytes);
    void (*download)(void *host_dst, const void *device_src, size_t bytes);
    void (*synchronize)(void);
    /* "fp32", "tf32" or "bf16"; 0 when applied, -1 with bz_last_error() */
    int (*set_precision)(const char *precision);
} bz_device;

/* What a device twin needs beyond the arenas, all in device memory: the
 * batch's input and labels as the runtime uploads them, the logits and
 * loss it downloads, and Adam's hyper-parameters for the next step. */
typedef struct {
    float *x;               /* [capacity][H][W][C]                        */
    int32_t *labels;        /* [capacity]                                 */
    float *logits, *dlogits;   /* [capacity][classes]                     */
    double *loss;           /* mean cross-entropy of the last step        */
    int *correct;           /* its argmax hits                            */
    /* Adam's step scalars (bz_adam_scalars): the runtime sets them
     * before every step, so that a captured step can be replayed */
    float *adam;
    void *graphs;           /* the backend's captured steps, or NULL      */
} bz_device_io;

typedef struct bz_backend {
    const char *name;       /* "reference", "optimised" or "cuda"         */
    /* x: [B][H][W][C] float input, logits: [B][classes].
     * forward_train keeps what backward needs in the activation arena. */
    void (*forward_train)(struct bz_model *m, const float *x, float *logits, int batch);
    /* dlogits: [B][classes]; writes every parameter gradient in m->grads */
    void (*backward)(struct bz_model *m, const float *dlogits, int batch);
    void (*forward_eval)(struct bz_model *m, const float *x, float *logits, int batch);
    /* Computes m->deploy_params from params and running statistics. */
    void (*deploy_fold)(struct bz_model *m);
    void (*forward_deploy)(struct bz_model *m, const float *x, float *logits, int batch);
    /* NULL for the CPU backends.  A device backend's functions get the
     * device twin, with device pointers for x, logits and dlogits; its
     * deploy_fold is never called: the runtime folds on the host with the
     * reference backend (whose deploy layout it reads) and uploads. */
    const bz_device *device;
    /* Device backends: the whole training step on the twin from io.x and
     * io.labels (forward_train, loss into io.loss and io.correct, backward,
     * Adam from io.adam), asynchronously; NULL for the CPU backends. */
    void (*train_step)(struct bz_model *m, int batch);
    /* Device backends: drop what train_step captured for m; may be NULL. */
    void (*release_graphs)(struct bz_model *m);
} bz_backend;

typedef struct {
    const char *experiment;     /* "resnet_basic_block_mid"               */
    const char *block;          /* BlockZoo registry name                 */
    const char *position;       /* "early", "mid", "late"                 */
    int in_c, in_h, in_w;
    int classes, num_blocks, base_channels;
    int max_batch;              /* largest batch the plan allows          */

    int64_t n_params;           /* floats in params/grads/adam arenas     */
    int64_t n_buffers;          /* floats of BN running statistics        */
    int64_t n_counters;         /* int64 num_batches_tracked              */
    int64_t n_bn_saved;         /* floats of per-batch BN statistics      */
    int64_t n_deploy_params;    /* floats in the deploy arena             */
    int64_t n_workspace;        /* im2col scratch floats (batch-chunked)  */
    int64_t params_train;       /* BlockZoo params of the train graph     */
    int64_t params_deploy;      /* ... of the deploy graph                */
    int64_t macs_train, macs_deploy;   /* torchinfo rule, batch 1         */
    int64_t act_train_per_sample;      /* activation arena floats per sample, training  */
    int64_t act_eval_per_sample;       /* ... inference (eval and deploy) */

    int n_tensors;
    const bz_tensor_desc *tensors;
    int n_layers;
    const bz_layer_desc *layers;
    int n_steps;
    const bz_step_desc *steps;

    /* recipe defaults baked from the spec */
    const char *dataset;        /* "fashion_mnist", "cifar10", "cifar100" */
    int epochs, batch_size, seed, train_subset, warmup_runs, benchmark_runs;
    double lr;
    /* bzgen's FNV-1a 64 of the spec, defaults and block files and the
     * generation-time overrides, as 16 hex digits */
    const char *spec_hash;

    const bz_backend *reference;
    const bz_backend *optimised;
    const bz_backend *cuda;     /* NULL: built without nvcc               */
} bz_model_desc;

typedef struct bz_model {
    const bz_model_desc *desc;
    const bz_backend *backend;
    int batch_capacity;          /* the activation arena fits this batch  */
    float *params, *grads;       /* n_params each                          */
    float *adam_m, *adam_v;      /* n_params each, NULL until training     */
    float *buffers;              /* n_buffers                              */
    int64_t *counters;           /* n_counters                             */
    float *bn_saved;             /* n_bn_saved                             */
    float *deploy_params;        /* n_deploy_params; NULL before the first
                                    bz_deploy_fold                         */
    float *act;                  /* act_*_per_sample * batch_capacity      */
    float *workspace;            /* n_workspace                            */
    const float *input;          /* the x of the last forward_train        */
    double bn_momentum;          /* 0.1, PyTorch's default                 */
    struct bz_timer *timer;      /* per-layer timing; NULL: off            */
    /* Device backends only.  On the host model: its twin, and which side
     * holds the newer parameters, statistics and counters. */
    struct bz_model *twin;
    int host_newer, twin_newer;
    /* CPU training: a step's logits, then their gradient, each
     * [capacity][classes] */
    float *step_logits;
    int step_batch, step_correct;   /* the last bz_train_step_begin's      */
    double step_loss;
    bz_device_io io;             /* on the twin                            */
} bz_model;

/* Called by generated code before every layer (and with -1 at the end of
 * each function); one predictable branch when timing is off. */
static inline void bz_mark(bz_model *m, int step)
{
    if (m->timer)
        bz_timer_mark(m->timer, step);
}

extern const bz_model_desc bz_generated_model;

#endif
