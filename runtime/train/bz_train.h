/* The training loop behind `train`, callable from tests. */
#ifndef BZ_TRAIN_H
#define BZ_TRAIN_H

#include <stdint.h>

#include "model/bz_model.h"

typedef struct {
    int epochs;
    double lr;
    int batch_size;
    uint64_t seed;
    const char *dataset;        /* "fashion_mnist", "cifar10", "cifar100"     */
    const char *data_dir;       /* NULL: the dataset's default location       */
    int subset;                 /* first N training examples; 0 = all         */
    int val_subset;             /* first N test examples; 0 = all             */
    const bz_backend *backend;
    const char *output_dir;     /* best.safetensors and metrics.csv go here   */
    int quiet;                  /* no progress, epoch lines or notes          */
    const char *weights;        /* start from these weights; NULL: initialise */
    int early_stop_patience;    /* stop after N epochs without a better
                                   validation loss; 0: never                 */
    double target_acc;          /* stop at the first epoch whose validation
                                   accuracy reaches it; 0: never             */
    int resume;                 /* continue from OUTPUT_DIR/last_state        */
} bz_train_options;

/* How a run ended: the results row's status column. */
typedef enum { BZ_RUN_OK, BZ_RUN_DIVERGED, BZ_RUN_STOPPED_EARLY, BZ_RUN_INTERRUPTED } bz_run_status;
extern const char *const bz_run_status_names[];

/* Divergence: a non-finite loss, or an epoch's mean training or validation
 * loss above BZ_DIVERGENCE_FACTOR x ln(classes) (a uniform guess's loss)
 * or, after the first epoch, x that epoch's mean training loss if larger. */
#define BZ_DIVERGENCE_FACTOR 100.0

typedef struct {
    bz_run_status status;
    const char *stopped_by;     /* "early_stop_patience", "target_acc" or "" */
    int signal;                 /* what interrupted the run (SIGINT, SIGTERM) */
    int state_saved;            /* an interrupted run left last_state        */
    int epochs_run;
    int best_epoch;             /* 1-based, by validation loss               */
    double best_val_loss, best_val_acc;   /* accuracy as a fraction         */
    double final_lr;
    double training_time;       /* seconds of the finished epochs: training,
                                   validation and checkpoints (all of a
                                   resumed run's epochs)                     */
    int n_train, n_val;
    char checkpoint[4096];      /* OUTPUT_DIR/best.safetensors               */
    char metrics[4096];         /* OUTPUT_DIR/metrics.csv                    */
} bz_train_summary;

/* The spec's recipe: epochs, lr, batch size, seed, subset and dataset from
 * the desc; the optimised backend; output_dir NULL (caller sets it). */
void bz_train_options_default(const bz_model_desc *d, bz_train_options *o);

/* Loads and checks the data, trains (Adam, ReduceLROnPlateau(0.5, 3) on
 * validation loss, per-channel normalisation from the training split,
 * crop+flip for CIFAR), evaluates on the test split every epoch, rewrites
 * metrics.csv atomically each epoch and saves best.safetensors whenever
 * validation loss improves.  Returns 0 when the run ended (s->status: ok,
 * or diverged with the reason in bz_last_error() and the summary of the
 * epochs before), or -1 with bz_last_error() (bad data, a dataset that
 * does not fit the model, an output that cannot be written). */
int bz_train_run(const bz_model_desc *d, const bz_train_options *o, bz_train_summary *s);

#endif
