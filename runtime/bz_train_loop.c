/* The training loop: data checks, epochs, validation, checkpoints,
 * per-epoch metrics, progress display. */
#include "bz_train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bz_data.h"
#include "bz_rng.h"
#include "bz_runtime_model.h"
#include "bz_train_math.h"
#include "bz_util.h"

#define PLATEAU_FACTOR 0.5
#define PLATEAU_PATIENCE 3
#define SHUFFLE_STREAM_BASE 1000   /* bz_model_init uses stream 1 */
#define PROGRESS_INTERVAL 0.25     /* seconds between progress refreshes */

typedef struct {
    int epoch;
    double train_loss, train_acc, val_loss, val_acc, lr, seconds;
} epoch_row;

typedef struct {
    const bz_model_desc *d;
    const bz_train_options *o;
    bz_dataset train, val;
    float mean[4], std[4];
    bz_model *m;
    float *x, *logits;
    int32_t *labels, *perm;
    epoch_row *rows;
    int tty;                 /* progress line with \r */
    int line_open;           /* a progress line waits for its end */
    double loss_reference;   /* max(ln(classes), epoch 1's training loss) */
} trainer;

void bz_train_options_default(const bz_model_desc *d, bz_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->epochs = d->epochs;
    o->lr = d->lr;
    o->batch_size = d->batch_size < d->max_batch ? d->batch_size : d->max_batch;
    o->seed = (uint64_t)d->seed;
    o->dataset = d->dataset;
    o->subset = d->train_subset;
    o->backend = d->optimised;
}

/* ---- data ------------------------------------------------------------ */

/* Whether the stored images map onto the network input, and the one-line
 * reason when they do not. */
static int check_fit(const bz_model_desc *d, const char *name, const bz_dataset *ds, int quiet)
{
    if (ds->classes > d->classes) {
        bz_error("%s has %d classes, this model was generated for %d; rebuild with CLASSES=%d",
                 name, ds->classes, d->classes, ds->classes);
        return -1;
    }
    if ((ds->c != d->in_c && ds->c != 1) || ds->h > d->in_h || ds->w > d->in_w) {
        bz_error("%s images are %dx%dx%d (CxHxW) and cannot be mapped to this model's "
                 "%dx%dx%d input; rebuild with INPUT_SIZE=%d", name, ds->c, ds->h, ds->w,
                 d->in_c, d->in_h, d->in_w, ds->h > ds->w ? ds->h : ds->w);
        return -1;
    }
    if (quiet)
        return 0;
    if (ds->classes < d->classes)
        printf("note: %s has %d classes; this model has %d outputs, %d of them unused\n", name,
               ds->classes, d->classes, d->classes - ds->classes);
    int pad = ds->h < d->in_h || ds->w < d->in_w, rep = ds->c == 1 && d->in_c > 1;
    char how[160] = "";
    if (pad)
        snprintf(how, sizeof how, "zero-padded (centred, after normalisation) to %dx%d",
                 d->in_h, d->in_w);
    if (rep)
        snprintf(how + strlen(how), sizeof how - strlen(how), "%srepeated over %d channels",
                 pad ? " and " : "", d->in_c);
    if (pad || rep)
        printf("note: %s's %dx%d %s images are %s to fit this model's %dx%dx%d input\n", name,
               ds->h, ds->w, ds->c == 1 ? "grey" : "colour", how, d->in_c, d->in_h, d->in_w);
    return 0;
}

static int load_data(trainer *t)
{
    const bz_train_options *o = t->o;
    if (bz_dataset_kind_from_name(o->dataset) < 0) {
        bz_error("unknown dataset '%s' (expected fashion_mnist, cifar10 or cifar100)",
                 o->dataset ? o->dataset : "(null)");
        return -1;
    }
    if (bz_dataset_load(o->dataset, o->data_dir, 1, &t->train) != 0 ||
        bz_dataset_load(o->dataset, o->data_dir, 0, &t->val) != 0)
        return -1;
    if (check_fit(t->d, o->dataset, &t->train, o->quiet) != 0)
        return -1;
    if (t->val.c != t->train.c || t->val.h != t->train.h || t->val.w != t->train.w ||
        t->val.classes != t->train.classes) {
        bz_error("%s: the test split's images differ from the training split's", o->dataset);
        return -1;
    }
    bz_dataset_truncate(&t->train, o->subset);
    bz_dataset_truncate(&t->val, o->val_subset);
    if (t->train.n < 1 || t->val.n < 1) {
        bz_error("%s: no examples to train or validate on", o->dataset);
        return -1;
    }
    bz_dataset_channel_stats(&t->train, t->mean, t->std);
    return 0;
}

/* ---- output files ---------------------------------------------------- */

static int write_metrics(const trainer *t, const char *path, int n_rows)
{
    bz_atomic_file f;
    if (bz_atomic_open(&f, path) != 0)
        return -1;
    fprintf(f.fp, "epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n");
    for (int i = 0; i < n_rows; i++) {
        const epoch_row *r = &t->rows[i];
        fprintf(f.fp, "%d,%.6f,%.6f,%.6f,%.6f,%.8g,%.3f\n", r->epoch, r->train_loss,
                r->train_acc, r->val_loss, r->val_acc, r->lr, r->seconds);
    }
    return bz_atomic_commit(&f);
}

/* ---- progress -------------------------------------------------------- */

static void format_duration(char *buf, size_t size, double seconds)
{
    long s = seconds > 0 && seconds < 1e8 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

static void show_progress(trainer *t, int epoch, int batch, int n_batches, int seen,
                          double loss_sum, int correct, double elapsed)
{
    char eta[32];
    double rate = elapsed > 0 ? seen / elapsed : 0.0;
    double left = rate > 0 ? (t->train.n - seen) / rate : 0.0;
    format_duration(eta, sizeof eta, left);
    printf("\repoch %d/%d  batch %d/%d  %.0f img/s  loss %.4f  acc %.2f%%  ETA %s\033[K", epoch,
           t->o->epochs, batch, n_batches, rate, loss_sum / seen, 100.0 * correct / seen, eta);
    fflush(stdout);
    t->line_open = 1;
}

static void end_progress_line(trainer *t)
{
    if (t->line_open) {
        printf("\r\033[K");
        fflush(stdout);
        t->line_open = 0;
    }
}

/* ---- one epoch ------------------------------------------------------- */

const char *const bz_run_status_names[] = {"ok", "diverged", "stopped_early"};

/* Records why the run diverged; returns DIVERGED for the loops to pass up. */
enum { DIVERGED = 1 };
static int diverged(trainer *t, double loss, int epoch, int batch, const char *what)
{
    end_progress_line(t);
    if (batch > 0)
        bz_error("training diverged: %s is %g at epoch %d, batch %d", what, loss, epoch, batch);
    else if (!isfinite(loss))
        bz_error("training diverged: %s is %g at epoch %d", what, loss, epoch);
    else
        bz_error("training diverged: %s is %g at epoch %d (more than %g x %.4g)", what, loss,
                 epoch, BZ_DIVERGENCE_FACTOR, t->loss_reference);
    return DIVERGED;
}

/* An epoch's losses against the reference (BZ_DIVERGENCE_FACTOR). */
static int check_epoch_losses(trainer *t, int epoch, double train_loss, double val_loss)
{
    double limit = BZ_DIVERGENCE_FACTOR * t->loss_reference;
    if (!isfinite(train_loss) || train_loss > limit)
        return diverged(t, train_loss, epoch, 0, "the mean training loss");
    if (!isfinite(val_loss) || val_loss > limit)
        return diverged(t, val_loss, epoch, 0, "the validation loss");
    /* later epochs are held to the first one's loss where it is larger */
    if (epoch == 1 && train_loss > t->loss_reference)
        t->loss_reference = train_loss;
    return 0;
}

/* the size of batch b of an epoch of n examples in batches of bs_max */
static int batch_size(int n, int bs_max, int b)
{
    return n - b * bs_max < bs_max ? n - b * bs_max : bs_max;
}

static int train_epoch(trainer *t, int epoch, bz_adam *opt, double *loss_out, double *acc_out)
{
    const bz_model_desc *d = t->d;
    const int n = t->train.n, bs_max = t->o->batch_size;
    const int n_batches = (n + bs_max - 1) / bs_max;
    const int augment = t->train.kind != BZ_FASHION_MNIST;
    bz_rng rng;
    bz_rng_seed(&rng, t->o->seed, SHUFFLE_STREAM_BASE + (uint64_t)epoch);
    for (int i = 0; i < n; i++)
        t->perm[i] = i;
    bz_rng_shuffle(&rng, t->perm, n);

    double loss_sum = 0.0, start = bz_now_seconds(), last_shown = start;
    int correct_sum = 0, seen = 0;
    int bs = batch_size(n, bs_max, 0);
    if (bz_make_batch(&t->train, t->perm, bs, t->mean, t->std, augment, &rng, d->in_c, d->in_h,
                      d->in_w, t->x, t->labels) != 0)
        return -1;
    for (int b = 0; b < n_batches; b++) {
        bz_train_step_begin(t->m, opt, t->x, t->labels, bs);
        /* a device computes batch b while the host prepares b + 1 */
        int next_bs = b + 1 < n_batches ? batch_size(n, bs_max, b + 1) : 0;
        int made = next_bs ? bz_make_batch(&t->train, t->perm + (size_t)(b + 1) * bs_max, next_bs,
                                           t->mean, t->std, augment, &rng, d->in_c, d->in_h,
                                           d->in_w, t->x, t->labels)
                           : 0;
        int correct = 0;
        double loss = bz_train_step_end(t->m, NULL, &correct);
        if (!isfinite(loss))
            return diverged(t, loss, epoch, b + 1, "the loss");
        if (made != 0)
            return -1;
        loss_sum += loss * bs;
        correct_sum += correct;
        seen += bs;
        double now = bz_now_seconds();
        if (t->tty && (now - last_shown >= PROGRESS_INTERVAL || b == 0)) {
            show_progress(t, epoch, b + 1, n_batches, seen, loss_sum, correct_sum, now - start);
            last_shown = now;
        }
        bs = next_bs;
    }
    *loss_out = loss_sum / seen;
    *acc_out = (double)correct_sum / seen;
    return 0;
}

static void evaluate(trainer *t, double *loss_out, double *acc_out)
{
    const bz_model_desc *d = t->d;
    const int n = t->val.n, bs_max = t->o->batch_size;
    double loss_sum = 0.0;
    int correct_sum = 0;
    for (int start = 0; start < n; start += bs_max) {
        int bs = n - start < bs_max ? n - start : bs_max;
        for (int i = 0; i < bs; i++)
            t->perm[i] = start + i;
        if (bz_make_batch(&t->val, t->perm, bs, t->mean, t->std, 0, NULL, d->in_c, d->in_h,
                          d->in_w, t->x, t->labels) != 0)
            bz_fatal("internal: %s", bz_last_error());
        bz_forward_eval(t->m, t->x, t->logits, bs);
        int correct = 0;
        loss_sum += bz_softmax_xent(t->logits, t->labels, bs, d->classes, NULL, &correct) * bs;
        correct_sum += correct;
    }
    *loss_out = loss_sum / n;
    *acc_out = (double)correct_sum / n;
}

/* ---- the loop -------------------------------------------------------- */

/* The stoppers, after an epoch: a target accuracy reached, or
 * early_stop_patience epochs without a better validation loss. */
static int should_stop(trainer *t, bz_train_summary *s, int epoch, double val_acc)
{
    const bz_train_options *o = t->o;
    int reached = o->target_acc > 0 && val_acc >= o->target_acc;
    int patience_out = o->early_stop_patience > 0 && epoch - s->best_epoch >= o->early_stop_patience;
    if ((!reached && !patience_out) || epoch == o->epochs)
        return 0;   /* nothing to stop, or the last epoch: the run ended as planned */
    s->status = BZ_RUN_STOPPED_EARLY;
    s->stopped_by = reached ? "target_acc" : "early_stop_patience";
    if (!o->quiet)
        printf("stopped after epoch %d: %s\n", epoch,
               reached ? "the validation accuracy reached --target-acc"
                       : "no better validation loss for --early-stop-patience epochs");
    return 1;
}

static int run_epochs(trainer *t, bz_train_summary *s)
{
    const bz_train_options *o = t->o;
    bz_adam opt = {.lr = o->lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .step = 0};
    bz_plateau plateau;
    bz_plateau_init(&plateau, PLATEAU_FACTOR, PLATEAU_PATIENCE);
    double lr = o->lr, loop_start = bz_now_seconds();
    s->best_val_loss = INFINITY;
    for (int epoch = 1; epoch <= o->epochs; epoch++) {
        double t0 = bz_now_seconds();
        epoch_row *r = &t->rows[epoch - 1];
        r->epoch = epoch;
        r->lr = lr;
        opt.lr = lr;
        int rc = train_epoch(t, epoch, &opt, &r->train_loss, &r->train_acc);
        if (rc != 0)
            return rc;
        if (t->tty) {
            printf("\repoch %d/%d  validating on %d images\033[K", epoch, o->epochs, t->val.n);
            fflush(stdout);
            t->line_open = 1;
        }
        evaluate(t, &r->val_loss, &r->val_acc);
        if ((rc = check_epoch_losses(t, epoch, r->train_loss, r->val_loss)) != 0)
            return rc;
        lr = bz_plateau_step(&plateau, r->val_loss, lr);
        int improved = r->val_loss < s->best_val_loss;
        if (improved) {
            if (bz_model_save(t->m, s->checkpoint) != 0)
                return -1;
            s->best_val_loss = r->val_loss;
            s->best_val_acc = r->val_acc;
            s->best_epoch = epoch;
        }
        r->seconds = bz_now_seconds() - t0;
        if (write_metrics(t, s->metrics, epoch) != 0)
            return -1;
        s->epochs_run = epoch;
        s->final_lr = lr;
        end_progress_line(t);
        if (!o->quiet) {
            printf("epoch %*d/%d  train loss %.4f acc %6.2f%%  val loss %.4f acc %6.2f%%  "
                   "lr %.3g  %.1fs%s\n", o->epochs >= 10 ? 2 : 1, epoch, o->epochs,
                   r->train_loss, 100.0 * r->train_acc, r->val_loss, 100.0 * r->val_acc, r->lr,
                   r->seconds, improved ? "  *best" : "");
            fflush(stdout);
        }
        if (should_stop(t, s, epoch, r->val_acc))
            break;
    }
    s->training_time = bz_now_seconds() - loop_start;
    return 0;
}

static int check_options(const bz_model_desc *d, const bz_train_options *o)
{
    if (o->epochs < 1 || !(o->lr > 0) || !isfinite(o->lr) || o->batch_size < 1 ||
        o->batch_size > d->max_batch || o->subset < 0 || o->val_subset < 0 || !o->backend ||
        !o->output_dir || !*o->output_dir) {
        bz_error("invalid training options (epochs %d, lr %g, batch %d of at most %d)",
                 o->epochs, o->lr, o->batch_size, d->max_batch);
        return -1;
    }
    return 0;
}

int bz_train_run(const bz_model_desc *d, const bz_train_options *o, bz_train_summary *s)
{
    memset(s, 0, sizeof *s);
    if (check_options(d, o) != 0)
        return -1;
    trainer t = {.d = d, .o = o, .tty = !o->quiet && isatty(STDOUT_FILENO)};
    snprintf(s->checkpoint, sizeof s->checkpoint, "%s/best.safetensors", o->output_dir);
    snprintf(s->metrics, sizeof s->metrics, "%s/metrics.csv", o->output_dir);
    int rc = load_data(&t);
    if (rc == 0)
        rc = bz_mkdir_p(o->output_dir);
    if (rc == 0) {
        s->n_train = t.train.n;
        s->n_val = t.val.n;
        if (!o->quiet) {
            printf("training %s on %s: %d training / %d validation images, %d epochs, batch %d, "
                   "lr %g, seed %llu, %s backend\n", d->experiment, o->dataset, t.train.n,
                   t.val.n, o->epochs, o->batch_size, o->lr, (unsigned long long)o->seed,
                   o->backend->name);
            if (t.train.kind != BZ_FASHION_MNIST)
                printf("augmentation: random crop %dx%d from the image zero-padded by 4, "
                       "horizontal flip with probability 1/2\n", d->in_h, d->in_w);
            fflush(stdout);
        }
        const int64_t in = (int64_t)d->in_c * d->in_h * d->in_w;
        const int nmax = t.train.n > t.val.n ? t.train.n : t.val.n;
        t.m = bz_model_create(d, o->backend, o->batch_size, 1);
        bz_model_init(t.m, o->seed);
        if (o->weights && bz_model_load(t.m, o->weights) != 0)
            rc = -1;
        t.x = bz_alloc_floats(in * o->batch_size);
        t.logits = bz_alloc_floats((int64_t)o->batch_size * d->classes);
        t.labels = bz_xcalloc((size_t)o->batch_size, sizeof *t.labels);
        t.perm = bz_xcalloc((size_t)nmax, sizeof *t.perm);
        t.rows = bz_xcalloc((size_t)o->epochs, sizeof *t.rows);
        t.loss_reference = log((double)d->classes);
        double loop_start = bz_now_seconds();
        s->stopped_by = "";
        if (rc == 0)
            rc = run_epochs(&t, s);
        if (rc == DIVERGED) {
            s->status = BZ_RUN_DIVERGED;
            s->training_time = bz_now_seconds() - loop_start;
            rc = 0;
        }
    }
    bz_model_free(t.m);
    free(t.x), free(t.logits), free(t.labels), free(t.perm), free(t.rows);
    bz_dataset_free(&t.train);
    bz_dataset_free(&t.val);
    return rc;
}
