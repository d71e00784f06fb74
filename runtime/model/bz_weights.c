/* The model's state_dict as safetensors, in PyTorch's layouts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/bz_tensor_io.h"
#include "model/bz_runtime_model.h"
#include "util/bz_util.h"

/* OHWI (ours) <-> OIHW (PyTorch), shape given as PyTorch's [O][I][H][W]. */
static void ohwi_to_oihw(const float *src, float *dst, const int64_t *s)
{
    for (int64_t o = 0; o < s[0]; o++)
        for (int64_t i = 0; i < s[1]; i++)
            for (int64_t p = 0; p < s[2] * s[3]; p++)
                dst[(o * s[1] + i) * s[2] * s[3] + p] = src[(o * s[2] * s[3] + p) * s[1] + i];
}

static void oihw_to_ohwi(const float *src, float *dst, const int64_t *s)
{
    for (int64_t o = 0; o < s[0]; o++)
        for (int64_t i = 0; i < s[1]; i++)
            for (int64_t p = 0; p < s[2] * s[3]; p++)
                dst[(o * s[2] * s[3] + p) * s[1] + i] = src[(o * s[1] + i) * s[2] * s[3] + p];
}


static int check_tensor(const char *path, const bz_tensor_desc *want, const bz_named_tensor *got)
{
    int want_dtype = want->kind == BZ_TENSOR_COUNTER ? BZ_I64 : BZ_F32;
    int same = got->dtype == want_dtype && got->ndim == want->ndim;
    for (int i = 0; same && i < want->ndim; i++)
        same = got->shape[i] == want->shape[i];
    if (same)
        return 0;
    char a[96], b[96];
    bz_shape_text(got->shape, got->ndim, a, sizeof a);
    bz_shape_text(want->shape, want->ndim, b, sizeof b);
    bz_error("%s: tensor '%s' is %s %s, this model needs %s %s", path, want->key,
             got->dtype == BZ_I64 ? "I64" : "F32", a, want_dtype == BZ_I64 ? "I64" : "F32", b);
    return -1;
}

static const bz_tensor_desc *find_desc(const bz_model_desc *d, const char *key)
{
    for (int i = 0; i < d->n_tensors; i++)
        if (strcmp(d->tensors[i].key, key) == 0)
            return &d->tensors[i];
    return NULL;
}

static void copy_in(bz_model *m, const bz_tensor_desc *t, const bz_named_tensor *src)
{
    if (t->kind == BZ_TENSOR_COUNTER) {
        m->counters[t->offset] = *(const int64_t *)src->data;
        return;
    }
    float *dst = (t->kind == BZ_TENSOR_PARAM ? m->params : m->buffers) + t->offset;
    if (t->layout == BZ_LAYOUT_OHWI)
        oihw_to_ohwi(src->data, dst, t->shape);
    else
        memcpy(dst, src->data, sizeof(float) * (size_t)t->numel);
}

int bz_model_load(bz_model *m, const char *path)
{
    bz_tensor_set set;
    if (bz_safetensors_read(path, &set) != 0)
        return -1;
    const bz_model_desc *d = m->desc;
    int status = 0;
    for (int i = 0; i < set.count && status == 0; i++)
        if (!find_desc(d, set.tensors[i].name)) {
            bz_error("%s: unexpected tensor '%s' (not in %s's state_dict)", path,
                     set.tensors[i].name, d->experiment);
            status = -1;
        }
    for (int i = 0; i < d->n_tensors && status == 0; i++) {
        const bz_named_tensor *t = bz_tensor_set_find(&set, d->tensors[i].key);
        if (!t) {
            bz_error("%s: missing tensor '%s'", path, d->tensors[i].key);
            status = -1;
        } else if ((status = check_tensor(path, &d->tensors[i], t)) == 0) {
            copy_in(m, &d->tensors[i], t);
        }
    }
    bz_tensor_set_free(&set);
    bz_model_host_changed(m);
    return status;
}

/* One tensor out of an arena, in PyTorch's layout (a fresh copy). */
static bz_named_tensor export_tensor(const bz_tensor_desc *t, const float *arena,
                                     const int64_t *counters)
{
    bz_named_tensor out = {.name = (char *)t->key, .ndim = t->ndim, .numel = t->numel};
    memcpy(out.shape, t->shape, sizeof t->shape);
    if (t->kind == BZ_TENSOR_COUNTER) {
        out.dtype = BZ_I64;
        out.data = bz_xmalloc(sizeof(int64_t));
        *(int64_t *)out.data = counters[t->offset];
        return out;
    }
    out.dtype = BZ_F32;
    out.data = bz_xmalloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
    if (t->layout == BZ_LAYOUT_OHWI)
        ohwi_to_oihw(arena + t->offset, out.data, t->shape);
    else
        memcpy(out.data, arena + t->offset, sizeof(float) * (size_t)t->numel);
    return out;
}

static int write_set(const char *path, bz_tensor_set *set)
{
    int status = bz_safetensors_write(path, set);
    for (int i = 0; i < set->count; i++)
        free(set->tensors[i].data);
    free(set->tensors);
    return status;
}

int bz_model_save(bz_model *m, const char *path)
{
    const bz_model_desc *d = m->desc;
    bz_model_sync_host(m);
    bz_tensor_set set = {0, bz_xcalloc((size_t)d->n_tensors, sizeof(bz_named_tensor))};
    for (int i = 0; i < d->n_tensors; i++) {
        const bz_tensor_desc *t = &d->tensors[i];
        const float *arena = t->kind == BZ_TENSOR_PARAM ? m->params : m->buffers;
        set.tensors[set.count++] = export_tensor(t, arena, m->counters);
    }
    return write_set(path, &set);
}

int bz_model_save_grads(bz_model *m, const char *path, float loss)
{
    const bz_model_desc *d = m->desc;
    bz_model_sync_host(m);
    bz_tensor_set set = {0, bz_xcalloc((size_t)d->n_tensors + 1, sizeof(bz_named_tensor))};
    for (int i = 0; i < d->n_tensors; i++)
        if (d->tensors[i].kind == BZ_TENSOR_PARAM)
            set.tensors[set.count++] = export_tensor(&d->tensors[i], m->grads, NULL);
    bz_named_tensor *l = &set.tensors[set.count++];
    *l = (bz_named_tensor){.name = "loss", .dtype = BZ_F32, .ndim = 0, .numel = 1};
    l->data = bz_xmalloc(sizeof(float));
    *(float *)l->data = loss;
    return write_set(path, &set);
}
