/* The device twin of a host model (bz_model.twin): for a backend with a
 * device, the same arenas in device memory, and the copies between the
 * two (runtime/model/bz_twin.c).  Used by bz_runtime_model.c only, which owns
 * the host model and calls the twin for a device backend; the twin knows
 * the model's struct (bz_model.h) and nothing of bz_runtime_model.c, so
 * whatever it needs of the host it is given (activation_bytes). */
#ifndef BZ_TWIN_H
#define BZ_TWIN_H

#include "model/bz_model.h"
#include "train/bz_train_math.h"

/* A twin of host, with the arenas host has (training: gradients, Adam
 * state; an activation arena of activation_bytes, the size of host's) and
 * the io buffers for host->batch_capacity samples. */
bz_model *bz_twin_create(const bz_model *host, size_t activation_bytes);
void bz_twin_free(bz_model *twin);

/* The twin, after copying parameters, statistics and counters to it if
 * the host holds the newer ones. */
bz_model *bz_twin_current(bz_model *host);
/* The other way, gradients included, if the twin holds the newer ones. */
void bz_twin_to_host(bz_model *host);

/* forward_train, forward_eval or forward_deploy of the backend on the
 * twin: x uploaded, logits downloaded (host memory, [batch][classes]). */
typedef void (*bz_forward_fn)(bz_model *m, const float *x, float *logits, int batch);
void bz_twin_forward(bz_model *host, bz_forward_fn forward, const float *x, float *logits,
                     int batch);
void bz_twin_backward(bz_model *host, const float *dlogits, int batch);
/* The host's deploy arena, folded by the reference backend, uploaded. */
void bz_twin_deploy_fold(bz_model *host);
/* bz_train_step_begin and _end on the device: begin checks the labels on
 * the host, uploads the batch and Adam's scalars and launches the step;
 * end waits for its loss. */
void bz_twin_train_step_begin(bz_model *host, bz_adam *opt, const float *x,
                              const int32_t *labels, int batch);
double bz_twin_train_step_end(bz_model *host, float *logits, int *correct);

#endif
