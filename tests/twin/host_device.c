/* A stand-in for the CUDA backend whose "device" memory is host memory and
 * whose kernels are the reference backend's: linked in place of
 * model_cuda.o (it defines bz_cuda_backend), it lets CI, without a GPU,
 * run everything the runtime does for a device backend: the twin's
 * arenas, the copies each way and when they happen, the fold on the host,
 * the device training step from io buffers, --device and --precision.
 * tests/t_twin.sh compares its outputs with --device cpu --backend
 * reference, which must be identical. */
#include <stdlib.h>
#include <string.h>

#include "model/bz_model.h"
#include "train/bz_train_math.h"
#include "util/bz_util.h"

extern const bz_backend bz_reference_backend;

/* BZ_HOST_DEVICE_UNUSABLE=reason makes the device report itself unusable */
static const char *host_unusable(void)
{
    return getenv("BZ_HOST_DEVICE_UNUSABLE");
}

/* zeroed, as cudaMalloc + cudaMemset in runtime/cuda/bz_cuda_device.cu */
static void *host_alloc(size_t bytes)
{
    return bz_xcalloc(1, bytes ? bytes : 1);
}

static void host_copy(void *dst, const void *src, size_t bytes)
{
    memcpy(dst, src, bytes);
}

static void host_synchronize(void)
{
}

static int host_set_precision(const char *precision)
{
    if (strcmp(precision, "fp32") == 0 || strcmp(precision, "tf32") == 0)
        return 0;
    bz_error("--precision %s: not supported by the host stand-in device", precision);
    return -1;
}

static const bz_device host_device = {
    "cuda", host_unusable, host_alloc, free, host_copy, host_copy, host_synchronize,
    host_set_precision,
};

static void host_train_step(bz_model *m, int batch)
{
    const bz_backend *ref = &bz_reference_backend;
    ref->forward_train(m, m->io.x, m->io.logits, batch);
    *m->io.loss = bz_softmax_xent(m->io.logits, m->io.labels, batch, m->desc->classes,
                                  m->io.dlogits, m->io.correct);
    ref->backward(m, m->io.dlogits, batch);
    bz_adam_apply(m->io.adam, m->params, m->grads, m->adam_m, m->adam_v, m->desc->n_params);
}

static void forward_train(bz_model *m, const float *x, float *logits, int batch)
{
    bz_reference_backend.forward_train(m, x, logits, batch);
}

static void backward(bz_model *m, const float *dlogits, int batch)
{
    bz_reference_backend.backward(m, dlogits, batch);
}

static void forward_eval(bz_model *m, const float *x, float *logits, int batch)
{
    bz_reference_backend.forward_eval(m, x, logits, batch);
}

static void forward_deploy(bz_model *m, const float *x, float *logits, int batch)
{
    bz_reference_backend.forward_deploy(m, x, logits, batch);
}

const bz_backend bz_cuda_backend = {
    .name = "cuda",
    .forward_train = forward_train,
    .backward = backward,
    .forward_eval = forward_eval,
    .forward_deploy = forward_deploy,
    .device = &host_device,
    .train_step = host_train_step,
};
