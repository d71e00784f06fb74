#include "model/bz_runtime_model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/bz_twin.h"
#include "util/bz_rng.h"
#include "util/bz_util.h"

static int64_t activation_floats(const bz_model_desc *d, int training)
{
    int64_t per = d->act_eval_per_sample;
    if (training && d->act_train_per_sample > per)
        per = d->act_train_per_sample;
    return per;
}

bz_model *bz_model_create(const bz_model_desc *d, const bz_backend *backend, int batch_capacity,
                          int training)
{
    if (batch_capacity < 1 || batch_capacity > d->max_batch)
        bz_fatal("batch size %d is outside 1..%d, the bound %s was generated for", batch_capacity,
                 d->max_batch, d->experiment);
    bz_model *m = bz_xcalloc(1, sizeof *m);
    m->desc = d;
    m->backend = backend;
    m->batch_capacity = batch_capacity;
    m->bn_momentum = 0.1;
    m->params = bz_alloc_floats(d->n_params);
    m->buffers = bz_alloc_floats(d->n_buffers);
    m->counters = bz_xcalloc((size_t)d->n_counters + 1, sizeof *m->counters);
    m->bn_saved = bz_alloc_floats(d->n_bn_saved);
    const int64_t act_floats = activation_floats(d, training) * batch_capacity;
    m->act = bz_alloc_floats(act_floats);
    m->workspace = bz_alloc_floats(d->n_workspace);
    if (training) {
        m->grads = bz_alloc_floats(d->n_params);
        if (!backend->device) {
            m->adam_m = bz_alloc_floats(d->n_params);
            m->adam_v = bz_alloc_floats(d->n_params);
            m->step_logits = bz_alloc_floats(2 * (int64_t)batch_capacity * d->classes);
        }
    }
    if (backend->device) {
        m->twin = bz_twin_create(m, (size_t)act_floats * sizeof(float));
        m->host_newer = 1;
    }
    return m;
}

void bz_model_free(bz_model *m)
{
    if (!m)
        return;
    free(m->params), free(m->grads), free(m->adam_m), free(m->adam_v), free(m->buffers);
    free(m->counters), free(m->bn_saved), free(m->deploy_params), free(m->act);
    free(m->workspace), free(m->step_logits);
    bz_twin_free(m->twin);
    free(m);
}

const bz_backend *bz_backend_by_name(const bz_model_desc *d, const char *name)
{
    if (strcmp(name, "reference") == 0)
        return d->reference;
    if (strcmp(name, "optimised") == 0)
        return d->optimised;
    if (strcmp(name, "cuda") == 0)
        return d->cuda;
    return NULL;
}

static float *tensor_base(const bz_model *m, const bz_tensor_desc *t)
{
    return (t->kind == BZ_TENSOR_PARAM ? m->params : m->buffers) + t->offset;
}

/* timm's trunc_normal_(std, a=-2, b=2): the bounds are absolute, so with
 * std 0.02 they never bind in practice; rejection keeps it exact anyway. */
static float trunc_normal(bz_rng *rng, double std)
{
    double v;
    do
        v = bz_rng_normal(rng) * std;
    while (v < -2.0 || v > 2.0);
    return (float)v;
}

/* bound: 1/sqrt(fan_in), for BZ_INIT_UNIFORM_FAN_IN */
static float initial_value(const bz_tensor_desc *t, float bound, bz_rng *rng)
{
    switch (t->init) {
    case BZ_INIT_ONE: return 1.0f;
    case BZ_INIT_ZERO: return 0.0f;
    case BZ_INIT_CONSTANT: return (float)t->init_value;
    case BZ_INIT_TRUNC_NORMAL: return trunc_normal(rng, t->init_value);
    default: return bz_rng_uniform_range(rng, -bound, bound);
    }
}

void bz_model_init(bz_model *m, uint64_t seed)
{
    bz_rng rng;
    bz_rng_seed(&rng, seed, 1);
    for (int i = 0; i < m->desc->n_tensors; i++) {
        const bz_tensor_desc *t = &m->desc->tensors[i];
        if (t->kind == BZ_TENSOR_COUNTER) {
            m->counters[t->offset] = 0;
            continue;
        }
        float *p = tensor_base(m, t);
        float bound = t->fan_in > 0 ? (float)(1.0 / sqrt((double)t->fan_in)) : 0.0f;
        for (int64_t k = 0; k < t->numel; k++)
            p[k] = initial_value(t, bound, &rng);
    }
    bz_model_host_changed(m);
}

void bz_model_host_changed(bz_model *m)
{
    m->host_newer = m->twin != NULL;
    m->twin_newer = 0;
}

void bz_model_sync_host(bz_model *m)
{
    bz_twin_to_host(m);
}

static void check_batch(const bz_model *m, int batch)
{
    if (batch < 1 || batch > m->batch_capacity)
        bz_fatal("internal: batch %d exceeds the allocated capacity %d", batch, m->batch_capacity);
}

void bz_forward_train(bz_model *m, const float *x, float *logits, int batch)
{
    check_batch(m, batch);
    if (!m->grads)
        bz_fatal("internal: model was not created for training");
    m->input = x;
    if (m->twin)
        bz_twin_forward(m, m->backend->forward_train, x, logits, batch);
    else
        m->backend->forward_train(m, x, logits, batch);
}

void bz_backward(bz_model *m, const float *dlogits, int batch)
{
    check_batch(m, batch);
    if (m->twin)
        bz_twin_backward(m, dlogits, batch);
    else
        m->backend->backward(m, dlogits, batch);
}

void bz_train_step_begin(bz_model *m, bz_adam *opt, const float *x, const int32_t *labels,
                         int batch)
{
    check_batch(m, batch);
    if (!m->grads)
        bz_fatal("internal: model was not created for training");
    m->step_batch = batch;
    if (m->twin) {
        bz_twin_train_step_begin(m, opt, x, labels, batch);
        return;
    }
    const bz_model_desc *d = m->desc;
    float *logits = m->step_logits;
    float *dlogits = m->step_logits + (int64_t)m->batch_capacity * d->classes;
    bz_forward_train(m, x, logits, batch);
    double t0 = bz_now_seconds();
    m->step_loss = bz_softmax_xent(logits, labels, batch, d->classes, dlogits, &m->step_correct);
    double t1 = bz_now_seconds();
    if (!isfinite(m->step_loss))
        return;  /* a bad label (bz_last_error) or divergence: no update */
    bz_backward(m, dlogits, batch);
    double t2 = bz_now_seconds();
    bz_adam_step(opt, m->params, m->grads, m->adam_m, m->adam_v, d->n_params);
    if (m->timer) {
        bz_timer_region(m->timer, "cross-entropy", t0, t1);
        bz_timer_region(m->timer, "Adam", t2, bz_now_seconds());
    }
}

double bz_train_step_end(bz_model *m, float *logits, int *correct)
{
    if (m->twin)
        return bz_twin_train_step_end(m, logits, correct);
    if (logits)
        memcpy(logits, m->step_logits, sizeof *logits * (size_t)m->step_batch * m->desc->classes);
    if (correct)
        *correct = m->step_correct;
    return m->step_loss;
}

double bz_train_step(bz_model *m, bz_adam *opt, const float *x, const int32_t *labels, int batch,
                     float *logits, int *correct)
{
    bz_train_step_begin(m, opt, x, labels, batch);
    return bz_train_step_end(m, logits, correct);
}

void bz_forward_eval(bz_model *m, const float *x, float *logits, int batch)
{
    check_batch(m, batch);
    if (m->twin)
        bz_twin_forward(m, m->backend->forward_eval, x, logits, batch);
    else
        m->backend->forward_eval(m, x, logits, batch);
}

void bz_deploy_fold(bz_model *m)
{
    /* allocated here: a model that only trains never holds a deploy arena */
    if (!m->deploy_params)
        m->deploy_params = bz_alloc_floats(m->desc->n_deploy_params);
    if (m->twin)
        bz_twin_deploy_fold(m);
    else
        m->backend->deploy_fold(m);
}

void bz_forward_deploy(bz_model *m, const float *x, float *logits, int batch)
{
    check_batch(m, batch);
    if (m->twin)
        bz_twin_forward(m, m->backend->forward_deploy, x, logits, batch);
    else
        m->backend->forward_deploy(m, x, logits, batch);
}

const char *bz_backend_device(const bz_backend *b)
{
    return b->device ? b->device->name : "cpu";
}

bz_model_memory bz_model_memory_of(const bz_model *m)
{
    const bz_model_desc *d = m->desc;
    int64_t f = sizeof(float);
    bz_model_memory mem = {
        .params = d->n_params * f,
        .grads = m->grads ? d->n_params * f : 0,
        .optimiser = m->adam_m ? 2 * d->n_params * f : 0,
        .buffers = (d->n_buffers + d->n_bn_saved) * f + d->n_counters * 8,
        .activations = activation_floats(d, m->grads != NULL) * m->batch_capacity * f,
        .workspace = d->n_workspace * f,
        .deploy = m->deploy_params ? d->n_deploy_params * f : 0,
    };
    return mem;
}

void bz_nchw_to_nhwc(const float *src, float *dst, int n, int c, int h, int w)
{
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int p = 0; p < h * w; p++)
                dst[((int64_t)i * h * w + p) * c + ch] = src[((int64_t)i * c + ch) * h * w + p];
}
