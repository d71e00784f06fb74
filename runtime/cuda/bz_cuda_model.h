/* What the CUDA model source (model.cu) and the runtime's CUDA glue
 * (runtime/cuda/bz_cuda_*.cu) share: the device, the loss and optimiser
 * kernels' launchers, captured training steps.  Every kernel runs on the
 * per-thread default stream (nvcc --default-stream per-thread), which,
 * unlike the legacy one, can be captured into a CUDA graph. */
#ifndef BZ_CUDA_MODEL_H
#define BZ_CUDA_MODEL_H

#include <stdint.h>

#include "model/bz_model.h"

extern const bz_device bz_cuda_device;

/* Loads cuBLAS and makes its handle (outside any graph capture); tf32: 1
 * lets it use TF32 tensor cores (--precision tf32, the default), 0 not. */
void bz_cuda_blas_prepare(int tf32);

/* Row-major GEMMs on device pointers (runtime/cuda/bz_cuda_blas.cu), for 1x1
 * convolutions and linear layers: x [rows][in], w [out][in], y [rows][out].
 * y = x w^T (+ y: a deploy step's residual); dx = dy w (+ dx); dw = dy^T x. */
void bz_cuda_gemm_forward(const float *x, const float *w, float *y, long rows, int in, int out,
                          int accumulate);
void bz_cuda_gemm_input_grad(const float *dy, const float *w, float *dx, long rows, int in,
                             int out, int accumulate);
void bz_cuda_gemm_weight_grad(const float *x, const float *dy, float *dw, long rows, int in,
                              int out);
/* y[r][c] += b[c]; sums[c] = sum over r of a[r][c] */
void bz_cuda_add_bias(float *y, const float *b, long rows, int out);
/* y = act(y) in place (runtime/kernels/bz_activation.h): a gemm conv's
 * fused activation (deploy) */
void bz_cuda_activate(float *y, long n, int act);
void bz_cuda_column_sums(const float *a, float *sums, long rows, int cols);

/* Mean softmax cross-entropy of logits [batch][classes] on labels into
 * *loss and its argmax hits into *correct; dlogits = (softmax - onehot) /
 * batch, as bz_softmax_xent.  All device pointers; asynchronous. */
void bz_cuda_softmax_xent(const float *logits, const int32_t *labels, int batch, int classes,
                          float *dlogits, double *loss, int *correct);

/* One Adam step over n parameters as bz_adam_step, with the step's scalars
 * (bz_adam_scalars) read from device memory when the kernel runs. */
void bz_cuda_adam_step(float *params, const float *grads, float *adam_m, float *adam_v, long n,
                       const float *scalars);

/* Runs step(m, batch): on the first call for a batch size it is captured
 * into a CUDA graph, later calls replay the graph.  With a timer on m the
 * step runs directly, so that bz_cuda_mark can time its layers. */
void bz_cuda_run_captured(bz_model *m, int batch, void (*step)(bz_model *m, int batch));
void bz_cuda_release_graphs(bz_model *m);

/* bz_mark for device code: with a timer, waits for the layer's kernels
 * before marking, so that each layer's time is its own. */
void bz_cuda_mark(bz_model *m, int step);

#endif
