/* The training loop: data checks, epochs, validation, checkpoints,
 * per-epoch metrics, progress display. */
#include "train/bz_train.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/bz_cli.h"
#include "data/bz_data.h"
#include "io/bz_paths.h"
#include "model/bz_runtime_model.h"
#include "train/bz_train_math.h"
#include "train/bz_train_state.h"
#include "util/bz_rng.h"
#include "util/bz_util.h"

#define PLATEAU_FACTOR 0.5
#define PLATEAU_PATIENCE 3
#define SHUFFLE_STREAM_BASE 1000   /* bz_model_init uses stream 1 */
#define PROGRESS_INTERVAL 0.25     /* seconds between progress refreshes */

typedef struct {
    const bz_model_desc *d;
    const bz_train_options *o;
    bz_dataset train, val;
    float mean[4], std[4];
    bz_model *m;
    float *x, *logits;
    int32_t *labels, *perm;
    bz_train_state st;       /* where the run stands; st.rows: one per epoch */
    char state_path[4096];   /* OUTPUT_DIR/last_state.safetensors          */
    int keep_state;          /* 0 on a device: its Adam moments stay there */
    int tty;                 /* progress line with \r */
    int line_open;           /* a progress line waits for its end */
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
    if (bz_dataset_truncate(&t->train, o->subset, "--subset") != 0 ||
        bz_dataset_truncate(&t->val, o->val_subset, "--val-subset") != 0)
        return -1;
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
        const bz_epoch_row *r = &t->st.rows[i];
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

const char *const bz_run_status_names[] = {"ok", "diverged", "stopped_early", "interrupted"};

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
                 epoch, BZ_DIVERGENCE_FACTOR, t->st.loss_reference);
    return DIVERGED;
}

/* An epoch's losses against the reference (BZ_DIVERGENCE_FACTOR). */
static int check_epoch_losses(trainer *t, int epoch, double train_loss, double val_loss)
{
    double limit = BZ_DIVERGENCE_FACTOR * t->st.loss_reference;
    if (!isfinite(train_loss) || train_loss > limit)
        return diverged(t, train_loss, epoch, 0, "the mean training loss");
    if (!isfinite(val_loss) || val_loss > limit)
        return diverged(t, val_loss, epoch, 0, "the validation loss");
    /* later epochs are held to the first one's loss where it is larger */
    if (epoch == 1 && train_loss > t->st.loss_reference)
        t->st.loss_reference = train_loss;
    return 0;
}

/* the size of batch b of an epoch of n examples in batches of bs_max */
static int batch_size(int n, int bs_max, int b)
{
    return n - b * bs_max < bs_max ? n - b * bs_max : bs_max;
}

/* SIGINT, SIGTERM: the run stops at the next batch boundary, saves its
 * state and exits (a second signal ends it at once). */
static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
    if (stop_requested) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    stop_requested = sig;
}

enum { INTERRUPTED = 2 };

static int save_state(trainer *t)
{
    if (!t->keep_state)
        return 0;
    bz_model_sync_host(t->m);
    return bz_train_state_save(t->state_path, t->m, &t->st) != 0 ? -1 : 0;
}

/* One epoch from batch st.batches_done (0, or where a resumed run left
 * off: the epoch's shuffle is made again from its seed, the RNG and the
 * partial sums come from the state). */
static int train_epoch(trainer *t, int epoch, double *loss_out, double *acc_out)
{
    const bz_model_desc *d = t->d;
    bz_train_state *st = &t->st;
    const int n = t->train.n, bs_max = t->o->batch_size;
    const int n_batches = (n + bs_max - 1) / bs_max;
    const int augment = t->train.kind != BZ_FASHION_MNIST;
    bz_rng rng;
    bz_rng_seed(&rng, t->o->seed, SHUFFLE_STREAM_BASE + (uint64_t)epoch);
    for (int i = 0; i < n; i++)
        t->perm[i] = i;
    bz_rng_shuffle(&rng, t->perm, n);
    const int first = st->batches_done;
    if (first > 0)
        rng = st->rng;
    double start = bz_now_seconds(), last_shown = start;
    int bs = batch_size(n, bs_max, first);
    if (bz_make_batch(&t->train, t->perm + (size_t)first * bs_max, bs, t->mean, t->std, augment,
                      &rng, d->in_c, d->in_h, d->in_w, t->x, t->labels) != 0)
        return -1;
    for (int b = first; b < n_batches; b++) {
        bz_train_step_begin(t->m, &st->adam, t->x, t->labels, bs);
        /* a device computes batch b while the host prepares b + 1 */
        int next_bs = b + 1 < n_batches ? batch_size(n, bs_max, b + 1) : 0;
        bz_rng before_next = rng;
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
        st->loss_sum += loss * bs;
        st->correct_sum += correct;
        st->seen += bs;
        double now = bz_now_seconds();
        if (t->tty && (now - last_shown >= PROGRESS_INTERVAL || b == first)) {
            show_progress(t, epoch, b + 1, n_batches, (int)st->seen, st->loss_sum,
                          (int)st->correct_sum, now - start);
            last_shown = now;
        }
        bs = next_bs;
        if (stop_requested && b + 1 < n_batches) {
            st->batches_done = b + 1;
            st->rng = before_next;
            return save_state(t) != 0 ? -1 : INTERRUPTED;
        }
    }
    *loss_out = st->loss_sum / (double)st->seen;
    *acc_out = (double)st->correct_sum / (double)st->seen;
    st->batches_done = 0;
    st->loss_sum = 0;
    st->correct_sum = st->seen = 0;
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
    int patience_out = o->early_stop_patience > 0 && epoch - t->st.best_epoch >= o->early_stop_patience;
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
    bz_train_state *st = &t->st;
    for (int epoch = st->epochs_done + 1; epoch <= o->epochs; epoch++) {
        double t0 = bz_now_seconds();
        bz_epoch_row *r = &st->rows[epoch - 1];
        r->epoch = epoch;
        r->lr = st->lr;
        st->adam.lr = st->lr;
        int rc = train_epoch(t, epoch, &r->train_loss, &r->train_acc);
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
        st->lr = bz_plateau_step(&st->plateau, r->val_loss, st->lr);
        int improved = r->val_loss < st->best_val_loss;
        if (improved) {
            if (bz_model_save(t->m, s->checkpoint) != 0)
                return -1;
            st->best_val_loss = r->val_loss;
            st->best_val_acc = r->val_acc;
            st->best_epoch = epoch;
        }
        r->seconds = bz_now_seconds() - t0;
        st->epochs_done = epoch;
        if (write_metrics(t, s->metrics, epoch) != 0 || save_state(t) != 0)
            return -1;
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
        if (stop_requested && epoch < o->epochs)
            return INTERRUPTED;
    }
    return 0;
}

static void start_state(trainer *t)
{
    const bz_train_options *o = t->o;
    bz_train_state *st = &t->st;
    st->rows = bz_xcalloc((size_t)o->epochs + 1, sizeof *st->rows);
    st->adam = (bz_adam){.lr = o->lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .step = 0};
    st->lr = o->lr;
    bz_plateau_init(&st->plateau, PLATEAU_FACTOR, PLATEAU_PATIENCE);
    st->best_val_loss = INFINITY;
    st->loss_reference = log((double)t->d->classes);
    bz_train_fingerprint(t->d, o, bz_get_threads(), st->fingerprint);
    snprintf(t->state_path, sizeof t->state_path, "%s/last_state.safetensors", o->output_dir);
    t->keep_state = o->backend->device == NULL;
}

/* --resume: the state of the run that stopped, checked to be this run's. */
static int resume(trainer *t)
{
    const bz_train_options *o = t->o;
    if (!t->keep_state) {
        bz_error("--resume: a run on %s keeps no training state yet (its Adam moments stay on "
                 "the device); resume on the cpu", o->backend->device->name);
        return -1;
    }
    if (access(t->state_path, F_OK) != 0) {
        bz_error("--resume: no training state in %s (%s): nothing to resume", o->output_dir,
                 t->state_path);
        return -1;
    }
    uint64_t want[BZ_FP_N];
    memcpy(want, t->st.fingerprint, sizeof want);
    bz_epoch_row *rows = t->st.rows;
    if (bz_train_state_load(t->state_path, t->m, want, &t->st) != 0)
        return -1;   /* t->st as it was */
    const int n_batches = (t->train.n + o->batch_size - 1) / o->batch_size;
    const bz_train_state *st = &t->st;
    if (st->epochs_done < 0 || st->epochs_done > o->epochs || st->batches_done < 0 ||
        st->batches_done >= n_batches || (st->batches_done > 0 && st->epochs_done == o->epochs) ||
        st->seen < 0 || st->seen > (int64_t)st->batches_done * o->batch_size || st->correct_sum < 0 ||
        st->correct_sum > st->seen || st->best_epoch < 0 || st->best_epoch > st->epochs_done) {
        bz_error("--resume: %s: its counters are out of range (%d epochs and %d batches done); "
                 "a damaged state", t->state_path, st->epochs_done, st->batches_done);
        return -1;
    }
    memcpy(rows, t->st.rows, (size_t)t->st.epochs_done * sizeof *rows);
    free(t->st.rows);
    t->st.rows = rows;
    memcpy(t->st.fingerprint, want, sizeof want);
    if (!o->quiet)
        printf("resuming from %s: %d epochs done%s\n", t->state_path, t->st.epochs_done,
               t->st.batches_done ? ", and part of the next" : "");
    return 0;
}

/* The summary from the state: best epoch, epochs run, time (the finished
 * epochs' seconds: training, validation and checkpoints). */
static void summarise(const trainer *t, bz_train_summary *s)
{
    const bz_train_state *st = &t->st;
    s->best_epoch = st->best_epoch;
    s->best_val_loss = st->best_val_loss;
    s->best_val_acc = st->best_val_acc;
    s->epochs_run = st->epochs_done;
    s->final_lr = st->lr;
    s->training_time = 0;
    for (int e = 0; e < st->epochs_done; e++)
        s->training_time += st->rows[e].seconds;
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
    stop_requested = 0;
    snprintf(s->checkpoint, sizeof s->checkpoint, "%s/best.safetensors", o->output_dir);
    snprintf(s->metrics, sizeof s->metrics, "%s/metrics.csv", o->output_dir);
    int rc = load_data(&t);
    if (rc == 0)
        rc = bz_mkdir_p(o->output_dir);
    if (rc == 0)
        bz_remove_stale_temporaries(o->output_dir);   /* a killed run's half-written files */
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
        start_state(&t);
        if (rc == 0 && o->resume)
            rc = resume(&t);
        else if (rc == 0)
            unlink(t.state_path);   /* an earlier run's state is not this one's */
        s->stopped_by = "";
        /* a resumed run that had stopped early stays stopped */
        int stopped = rc == 0 && o->resume && t.st.epochs_done > 0 && t.st.batches_done == 0 &&
                      should_stop(&t, s, t.st.epochs_done, t.st.rows[t.st.epochs_done - 1].val_acc);
        if (rc == 0 && !stopped) {
            struct sigaction stop = {.sa_handler = on_stop_signal}, old_int, old_term;
            sigaction(SIGINT, &stop, &old_int);
            sigaction(SIGTERM, &stop, &old_term);
            rc = run_epochs(&t, s);
            sigaction(SIGINT, &old_int, NULL);
            sigaction(SIGTERM, &old_term, NULL);
        }
        if (rc == DIVERGED || rc == INTERRUPTED) {
            s->status = rc == DIVERGED ? BZ_RUN_DIVERGED : BZ_RUN_INTERRUPTED;
            s->signal = rc == INTERRUPTED ? (int)stop_requested : 0;
            s->state_saved = rc == INTERRUPTED && t.keep_state;
            rc = 0;
        }
        summarise(&t, s);
    }
    bz_model_free(t.m);
    free(t.x), free(t.logits), free(t.labels), free(t.perm), free(t.st.rows);
    bz_dataset_free(&t.train);
    bz_dataset_free(&t.val);
    return rc;
}
