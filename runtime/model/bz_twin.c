#include "model/bz_twin.h"

#include <math.h>
#include <stdlib.h>

#include "util/bz_util.h"

static const bz_device *device_of(const bz_model *m)
{
    return m->backend->device;
}

static int64_t input_floats(const bz_model_desc *d, int batch)
{
    return (int64_t)batch * d->in_c * d->in_h * d->in_w;
}

static float *device_floats(const bz_device *dev, int64_t n)
{
    return dev->alloc((size_t)n * sizeof(float));
}

bz_model *bz_twin_create(const bz_model *host, size_t activation_bytes)
{
    const bz_model_desc *d = host->desc;
    const bz_device *dev = device_of(host);
    const int cap = host->batch_capacity;
    bz_model *t = bz_xcalloc(1, sizeof *t);
    t->desc = d;
    t->backend = host->backend;
    t->batch_capacity = cap;
    t->bn_momentum = host->bn_momentum;
    t->params = device_floats(dev, d->n_params);
    t->buffers = device_floats(dev, d->n_buffers);
    t->counters = dev->alloc(((size_t)d->n_counters + 1) * sizeof *t->counters);
    t->bn_saved = device_floats(dev, d->n_bn_saved);
    t->deploy_params = device_floats(dev, d->n_deploy_params);
    t->act = dev->alloc(activation_bytes);
    t->workspace = device_floats(dev, d->n_workspace);
    if (host->grads) {
        t->grads = device_floats(dev, d->n_params);
        t->adam_m = device_floats(dev, d->n_params);
        t->adam_v = device_floats(dev, d->n_params);
    }
    t->io.x = device_floats(dev, input_floats(d, cap));
    t->io.labels = dev->alloc((size_t)cap * sizeof *t->io.labels);
    t->io.logits = device_floats(dev, (int64_t)cap * d->classes);
    t->io.dlogits = device_floats(dev, (int64_t)cap * d->classes);
    t->io.loss = dev->alloc(sizeof *t->io.loss);
    t->io.correct = dev->alloc(sizeof *t->io.correct);
    t->io.adam = device_floats(dev, BZ_ADAM_SCALARS);
    return t;
}

void bz_twin_free(bz_model *t)
{
    if (!t)
        return;
    const bz_device *dev = device_of(t);
    if (t->backend->release_graphs)
        t->backend->release_graphs(t);
    void *arenas[] = {t->params, t->grads, t->adam_m, t->adam_v, t->buffers, t->counters,
                      t->bn_saved, t->deploy_params, t->act, t->workspace, t->io.x,
                      t->io.labels, t->io.logits, t->io.dlogits, t->io.loss, t->io.correct,
                      t->io.adam};
    for (size_t i = 0; i < sizeof arenas / sizeof arenas[0]; i++)
        if (arenas[i])
            dev->release(arenas[i]);
    free(t);
}

static size_t floats(int64_t n)
{
    return (size_t)n * sizeof(float);
}

bz_model *bz_twin_current(bz_model *host)
{
    bz_model *t = host->twin;
    if (host->host_newer) {
        const bz_model_desc *d = host->desc;
        const bz_device *dev = device_of(host);
        dev->upload(t->params, host->params, floats(d->n_params));
        dev->upload(t->buffers, host->buffers, floats(d->n_buffers));
        dev->upload(t->counters, host->counters, (size_t)d->n_counters * sizeof *t->counters);
        host->host_newer = 0;
    }
    t->timer = host->timer;
    return t;
}

void bz_twin_to_host(bz_model *host)
{
    if (!host->twin || !host->twin_newer)
        return;
    const bz_model_desc *d = host->desc;
    const bz_device *dev = device_of(host);
    const bz_model *t = host->twin;
    dev->download(host->params, t->params, floats(d->n_params));
    dev->download(host->buffers, t->buffers, floats(d->n_buffers));
    dev->download(host->counters, t->counters, (size_t)d->n_counters * sizeof *t->counters);
    if (host->grads)
        dev->download(host->grads, t->grads, floats(d->n_params));
    host->twin_newer = 0;
}

/* the batch's input into the twin's io.x, where backward finds it too */
static void upload_input(bz_model *host, bz_model *t, const float *x, int batch)
{
    device_of(host)->upload(t->io.x, x, floats(input_floats(host->desc, batch)));
    t->input = t->io.x;
}

void bz_twin_forward(bz_model *host, bz_forward_fn forward, const float *x, float *logits,
                     int batch)
{
    bz_model *t = bz_twin_current(host);
    upload_input(host, t, x, batch);
    forward(t, t->io.x, t->io.logits, batch);
    device_of(host)->download(logits, t->io.logits, floats((int64_t)batch * host->desc->classes));
    /* forward_train moved the running statistics; the others change nothing */
    if (forward == host->backend->forward_train)
        host->twin_newer = 1;
}

void bz_twin_backward(bz_model *host, const float *dlogits, int batch)
{
    bz_model *t = bz_twin_current(host);
    device_of(host)->upload(t->io.dlogits, dlogits, floats((int64_t)batch * host->desc->classes));
    host->backend->backward(t, t->io.dlogits, batch);
    host->twin_newer = 1;
}

void bz_twin_deploy_fold(bz_model *host)
{
    bz_twin_to_host(host);
    host->desc->reference->deploy_fold(host);
    bz_model *t = bz_twin_current(host);
    device_of(host)->upload(t->deploy_params, host->deploy_params,
                            floats(host->desc->n_deploy_params));
}

void bz_twin_train_step_begin(bz_model *host, bz_adam *opt, const float *x,
                              const int32_t *labels, int batch)
{
    const bz_model_desc *d = host->desc;
    host->step_loss = 0.0;
    if (bz_check_labels(labels, batch, d->classes) != 0) {
        host->step_loss = NAN;
        return;
    }
    bz_model *t = bz_twin_current(host);
    const bz_device *dev = device_of(host);
    float scalars[BZ_ADAM_SCALARS];
    bz_adam_scalars(opt, scalars);
    upload_input(host, t, x, batch);
    dev->upload(t->io.labels, labels, (size_t)batch * sizeof *labels);
    dev->upload(t->io.adam, scalars, sizeof scalars);
    host->backend->train_step(t, batch);
    host->twin_newer = 1;
}

double bz_twin_train_step_end(bz_model *host, float *logits, int *correct)
{
    if (isnan(host->step_loss))
        return host->step_loss;  /* a bad label: nothing was launched */
    const bz_device *dev = device_of(host);
    const bz_model *t = host->twin;
    double loss;
    int hits;
    dev->download(&loss, t->io.loss, sizeof loss);
    dev->download(&hits, t->io.correct, sizeof hits);
    if (logits)
        dev->download(logits, t->io.logits, floats((int64_t)host->step_batch * host->desc->classes));
    if (correct)
        *correct = hits;
    return loss;
}
