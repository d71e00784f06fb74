/* Owning a generated model: buffers, initialisation, weights files. */
#ifndef BZ_RUNTIME_MODEL_H
#define BZ_RUNTIME_MODEL_H

#include <stdint.h>
#include "model/bz_model.h"
#include "train/bz_train_math.h"

/* training: also allocate gradients, Adam state and the training plan's
 * activations.  batch_capacity: the largest batch the model will see
 * (at most desc->max_batch). */
bz_model *bz_model_create(const bz_model_desc *d, const bz_backend *backend, int batch_capacity,
                          int training);
void bz_model_free(bz_model *m);

/* "reference" or "optimised"; NULL if unknown. */
const bz_backend *bz_backend_by_name(const bz_model_desc *d, const char *name);

/* PyTorch's default initialisation, drawn from a seeded PCG32 stream. */
void bz_model_init(bz_model *m, uint64_t seed);

/* For backends with a device: after writing the host's parameters,
 * statistics or counters, bz_model_host_changed; before reading them (or
 * the gradients), bz_model_sync_host.  Both do nothing on the CPU. */
void bz_model_host_changed(bz_model *m);
void bz_model_sync_host(bz_model *m);
/* "cpu", or the backend's device ("cuda") */
const char *bz_backend_device(const bz_backend *b);

/* state_dict as safetensors: every key of the original with its PyTorch
 * shape and dtype.  Loading is strict: a missing, extra, mis-shaped or
 * mis-typed tensor is an error (-1, bz_last_error()). */
int bz_model_load(bz_model *m, const char *path);
int bz_model_save(bz_model *m, const char *path);
/* Gradients of every trainable tensor, plus a 0-d "loss". */
int bz_model_save_grads(bz_model *m, const char *path, float loss);

/* Forward/backward through the chosen backend; batch <= capacity. */
void bz_forward_train(bz_model *m, const float *x, float *logits, int batch);
void bz_backward(bz_model *m, const float *dlogits, int batch);
/* One training step: forward_train, softmax cross-entropy on labels,
 * backward, Adam.  logits (host, [batch][classes]) receive the forward's
 * output unless NULL.  Returns the mean loss and, if correct != NULL, the
 * argmax hits; a non-finite loss (a bad label: bz_last_error(); or
 * divergence) on the CPU returns before the update.  With a timer, the
 * loss and Adam are trace regions on the CPU. */
double bz_train_step(bz_model *m, bz_adam *opt, const float *x, const int32_t *labels, int batch,
                     float *logits, int *correct);
/* The same in two halves, so that the host can prepare the next batch
 * while a device computes: x and labels may be overwritten once begin
 * returns; end waits for the step and returns what bz_train_step does. */
void bz_train_step_begin(bz_model *m, bz_adam *opt, const float *x, const int32_t *labels,
                         int batch);
double bz_train_step_end(bz_model *m, float *logits, int *correct);
void bz_forward_eval(bz_model *m, const float *x, float *logits, int batch);
void bz_deploy_fold(bz_model *m);
void bz_forward_deploy(bz_model *m, const float *x, float *logits, int batch);

/* Bytes the model allocated, by arena (for the profile's memory table). */
typedef struct {
    int64_t params, grads, optimiser, buffers, activations, workspace, deploy;
} bz_model_memory;
bz_model_memory bz_model_memory_of(const bz_model *m);

/* NCHW (PyTorch, .npy) to NHWC (our activations) and back. */
void bz_nchw_to_nhwc(const float *src, float *dst, int n, int c, int h, int w);

#endif
