/* A training run's whole state in one safetensors file (bz_train_state.h). */
#include "train/bz_train_state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bz_bench.h"
#include "io/bz_tensor_io.h"
#include "model/bz_runtime_model.h"
#include "report/bz_results.h"
#include "util/bz_util.h"

/* __state: one I64 per scalar, doubles as their bit patterns */
enum {
    S_EPOCHS_DONE, S_BATCHES_DONE, S_RNG_STATE, S_RNG_INC, S_LOSS_SUM, S_CORRECT, S_SEEN,
    S_ADAM_LR, S_ADAM_BETA1, S_ADAM_BETA2, S_ADAM_EPS, S_ADAM_STEP, S_LR,
    S_PLATEAU_FACTOR, S_PLATEAU_THRESHOLD, S_PLATEAU_EPS, S_PLATEAU_PATIENCE, S_PLATEAU_BAD,
    S_PLATEAU_BEST, S_PLATEAU_HAS_BEST, S_BEST_EPOCH, S_BEST_LOSS, S_BEST_ACC, S_LOSS_REFERENCE,
    S_N
};
enum { ROW_FIELDS = 7 };

static int64_t bits(double v)
{
    int64_t b;
    memcpy(&b, &v, sizeof b);
    return b;
}

static double from_bits(int64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static uint64_t fnv(uint64_t h, const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull;   /* a separator between texts */
}

/* The running program's own bytes: a rebuild of an uncommitted tree has
 * the same commit text but other code. */
static uint64_t executable_hash(uint64_t h)
{
    FILE *fp = fopen("/proc/self/exe", "rb");
    unsigned char buf[1 << 16];
    for (size_t n; fp && (n = fread(buf, 1, sizeof buf, fp)) > 0;)
        for (size_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ull;
    if (fp)
        fclose(fp);
    return h;
}

void bz_train_fingerprint(const bz_model_desc *d, const bz_train_options *o, int threads,
                          uint64_t out[BZ_FP_N])
{
    const uint64_t basis = 14695981039346656037ull;
    char text[2048];
    snprintf(text, sizeof text, "%s|%s|%s|%lld", d->experiment, d->spec_hash ? d->spec_hash : "",
             bz_build_commit_text(), (long long)d->n_params);
    out[BZ_FP_BINARY] = executable_hash(fnv(basis, text));
    snprintf(text, sizeof text, "%s|%s|%d|%d", o->dataset, o->data_dir ? o->data_dir : "",
             o->subset, o->val_subset);
    out[BZ_FP_DATA] = fnv(basis, text);
    /* the kernels' arithmetic too: a requeue onto another CPU would not be exact */
    snprintf(text, sizeof text, "%d|%.17g|%d|%llu|%s|%d|%d|%.17g|%s|%s", o->epochs, o->lr,
             o->batch_size, (unsigned long long)o->seed, o->backend->name, threads,
             o->early_stop_patience, o->target_acc, bz_cpu_model(), bz_gemm_kernels());
    out[BZ_FP_OPTIONS] = fnv(basis, text);
}

static void pack_scalars(const bz_train_state *s, int64_t *v)
{
    v[S_EPOCHS_DONE] = s->epochs_done;
    v[S_BATCHES_DONE] = s->batches_done;
    v[S_RNG_STATE] = (int64_t)s->rng.state;
    v[S_RNG_INC] = (int64_t)s->rng.inc;
    v[S_LOSS_SUM] = bits(s->loss_sum);
    v[S_CORRECT] = s->correct_sum;
    v[S_SEEN] = s->seen;
    v[S_ADAM_LR] = bits(s->adam.lr);
    v[S_ADAM_BETA1] = bits(s->adam.beta1);
    v[S_ADAM_BETA2] = bits(s->adam.beta2);
    v[S_ADAM_EPS] = bits(s->adam.eps);
    v[S_ADAM_STEP] = s->adam.step;
    v[S_LR] = bits(s->lr);
    v[S_PLATEAU_FACTOR] = bits(s->plateau.factor);
    v[S_PLATEAU_THRESHOLD] = bits(s->plateau.threshold);
    v[S_PLATEAU_EPS] = bits(s->plateau.eps);
    v[S_PLATEAU_PATIENCE] = s->plateau.patience;
    v[S_PLATEAU_BAD] = s->plateau.num_bad_epochs;
    v[S_PLATEAU_BEST] = bits(s->plateau.best);
    v[S_PLATEAU_HAS_BEST] = s->plateau.has_best;
    v[S_BEST_EPOCH] = s->best_epoch;
    v[S_BEST_LOSS] = bits(s->best_val_loss);
    v[S_BEST_ACC] = bits(s->best_val_acc);
    v[S_LOSS_REFERENCE] = bits(s->loss_reference);
}

static void unpack_scalars(const int64_t *v, bz_train_state *s)
{
    s->epochs_done = (int)v[S_EPOCHS_DONE];
    s->batches_done = (int)v[S_BATCHES_DONE];
    s->rng.state = (uint64_t)v[S_RNG_STATE];
    s->rng.inc = (uint64_t)v[S_RNG_INC];
    s->loss_sum = from_bits(v[S_LOSS_SUM]);
    s->correct_sum = v[S_CORRECT];
    s->seen = v[S_SEEN];
    s->adam = (bz_adam){from_bits(v[S_ADAM_LR]), from_bits(v[S_ADAM_BETA1]),
                        from_bits(v[S_ADAM_BETA2]), from_bits(v[S_ADAM_EPS]), v[S_ADAM_STEP]};
    s->lr = from_bits(v[S_LR]);
    s->plateau = (bz_plateau){from_bits(v[S_PLATEAU_FACTOR]), from_bits(v[S_PLATEAU_THRESHOLD]),
                              from_bits(v[S_PLATEAU_EPS]), (int)v[S_PLATEAU_PATIENCE],
                              (int)v[S_PLATEAU_BAD], from_bits(v[S_PLATEAU_BEST]),
                              (int)v[S_PLATEAU_HAS_BEST]};
    s->best_epoch = (int)v[S_BEST_EPOCH];
    s->best_val_loss = from_bits(v[S_BEST_LOSS]);
    s->best_val_acc = from_bits(v[S_BEST_ACC]);
    s->loss_reference = from_bits(v[S_LOSS_REFERENCE]);
}

/* A tensor that points into memory we own elsewhere (written, not freed). */
static bz_named_tensor view(const char *name, int dtype, int64_t rows, int64_t cols,
                            const void *data)
{
    bz_named_tensor t = {.name = (char *)name, .dtype = dtype, .ndim = cols ? 2 : 1,
                         .numel = rows * (cols ? cols : 1), .data = (void *)data};
    t.shape[0] = rows;
    t.shape[1] = cols;
    return t;
}

int bz_train_state_save(const char *path, bz_model *m, const bz_train_state *s)
{
    const bz_model_desc *d = m->desc;
    int64_t scalars[S_N], fingerprint[BZ_FP_N];
    pack_scalars(s, scalars);
    for (int i = 0; i < BZ_FP_N; i++)
        fingerprint[i] = (int64_t)s->fingerprint[i];
    int64_t *rows = bz_xcalloc((size_t)s->epochs_done * ROW_FIELDS + 1, sizeof *rows);
    for (int e = 0; e < s->epochs_done; e++) {
        const bz_epoch_row *r = &s->rows[e];
        int64_t *o = rows + (size_t)e * ROW_FIELDS;
        o[0] = r->epoch, o[1] = bits(r->train_loss), o[2] = bits(r->train_acc);
        o[3] = bits(r->val_loss), o[4] = bits(r->val_acc), o[5] = bits(r->lr);
        o[6] = bits(r->seconds);
    }
    bz_named_tensor t[9];
    int n = 0;
    t[n++] = view("__state", BZ_I64, S_N, 0, scalars);
    t[n++] = view("__fingerprint", BZ_I64, BZ_FP_N, 0, fingerprint);
    t[n++] = view("__rows", BZ_I64, s->epochs_done, ROW_FIELDS, rows);
    t[n++] = view("__params", BZ_F32, d->n_params, 0, m->params);
    t[n++] = view("__adam_m", BZ_F32, d->n_params, 0, m->adam_m);
    t[n++] = view("__adam_v", BZ_F32, d->n_params, 0, m->adam_v);
    if (d->n_buffers)
        t[n++] = view("__buffers", BZ_F32, d->n_buffers, 0, m->buffers);
    if (d->n_counters)
        t[n++] = view("__counters", BZ_I64, d->n_counters, 0, m->counters);
    bz_tensor_set set = {n, t};
    int rc = bz_safetensors_write(path, &set);
    free(rows);
    return rc;
}

/* The named tensor with exactly this dtype and element count, or NULL
 * with the reason. */
static const bz_named_tensor *expect(const bz_tensor_set *set, const char *path, const char *name,
                                     int dtype, int64_t numel)
{
    const bz_named_tensor *t = bz_tensor_set_find(set, name);
    if (!t)
        bz_error("--resume: %s: no '%s': not a training state of this program", path, name);
    else if (t->dtype != dtype || t->numel != numel)
        bz_error("--resume: %s: '%s' has %lld elements, this model needs %lld: another model's "
                 "state", path, name, (long long)t->numel, (long long)numel);
    else
        return t;
    return NULL;
}

static int check_fingerprint(const char *path, const int64_t *got, const uint64_t *want)
{
    static const char *const what[BZ_FP_N] = {
        "another binary made it (another build or spec)",
        "it trained on other data (dataset, --data, --subset or --val-subset)",
        "it ran with other options (epochs, lr, batch size, seed, backend, threads, stoppers) "
        "or on another CPU or GEMM kernels",
    };
    for (int i = 0; i < BZ_FP_N; i++)
        if ((uint64_t)got[i] != want[i]) {
            bz_error("--resume: %s: %s; rerun without --resume, or with the same settings",
                     path, what[i]);
            return -1;
        }
    return 0;
}

static int restore(const bz_tensor_set *set, const char *path, bz_model *m,
                   const uint64_t *want, bz_train_state *s)
{
    const bz_model_desc *d = m->desc;
    const bz_named_tensor *st = expect(set, path, "__state", BZ_I64, S_N);
    const bz_named_tensor *fp = st ? expect(set, path, "__fingerprint", BZ_I64, BZ_FP_N) : NULL;
    if (!fp || check_fingerprint(path, fp->data, want) != 0)
        return -1;
    unpack_scalars(st->data, s);
    const bz_named_tensor *rows = expect(set, path, "__rows", BZ_I64,
                                         (int64_t)s->epochs_done * ROW_FIELDS);
    const bz_named_tensor *p = rows ? expect(set, path, "__params", BZ_F32, d->n_params) : NULL;
    const bz_named_tensor *am = p ? expect(set, path, "__adam_m", BZ_F32, d->n_params) : NULL;
    const bz_named_tensor *av = am ? expect(set, path, "__adam_v", BZ_F32, d->n_params) : NULL;
    const bz_named_tensor *b = av && d->n_buffers ? expect(set, path, "__buffers", BZ_F32, d->n_buffers) : av;
    const bz_named_tensor *c = b && d->n_counters ? expect(set, path, "__counters", BZ_I64, d->n_counters) : b;
    if (!c)
        return -1;
    memcpy(m->params, p->data, sizeof(float) * (size_t)d->n_params);
    memcpy(m->adam_m, am->data, sizeof(float) * (size_t)d->n_params);
    memcpy(m->adam_v, av->data, sizeof(float) * (size_t)d->n_params);
    if (d->n_buffers)
        memcpy(m->buffers, b->data, sizeof(float) * (size_t)d->n_buffers);
    if (d->n_counters)
        memcpy(m->counters, c->data, sizeof(int64_t) * (size_t)d->n_counters);
    s->rows = bz_xcalloc((size_t)s->epochs_done + 1, sizeof *s->rows);
    for (int e = 0; e < s->epochs_done; e++) {
        const int64_t *r = (const int64_t *)rows->data + (size_t)e * ROW_FIELDS;
        s->rows[e] = (bz_epoch_row){(int)r[0], from_bits(r[1]), from_bits(r[2]), from_bits(r[3]),
                                    from_bits(r[4]), from_bits(r[5]), from_bits(r[6])};
    }
    bz_model_host_changed(m);
    return 0;
}

int bz_train_state_load(const char *path, bz_model *m, const uint64_t want[BZ_FP_N],
                        bz_train_state *s)
{
    bz_tensor_set set;
    if (bz_safetensors_read(path, &set) != 0) {
        char *why = strdup(bz_last_error());   /* bz_error reuses its buffer */
        bz_error("--resume: %s", why ? why : "unreadable");
        free(why);
        return -1;
    }
    /* s changes only when the whole state was read */
    bz_train_state loaded = {0};
    int rc = restore(&set, path, m, want, &loaded);
    bz_tensor_set_free(&set);
    if (rc == 0)
        *s = loaded;
    else
        free(loaded.rows);
    return rc;
}
