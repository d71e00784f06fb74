/* The whole state of a training run, saved atomically beside its best
 * checkpoint (OUTPUT_DIR/last_state.safetensors) at the end of every epoch
 * and when a signal stops the run at a batch boundary, so that `train
 * --resume` continues exactly where it stopped: with the same seed and
 * thread count, a resumed run ends with the same bytes as one that never
 * stopped.
 *
 * The file is safetensors: the model's arenas as they are in memory
 * (__params, __buffers, __counters, __adam_m, __adam_v), the scalars below
 * (__state, I64, doubles as their bit patterns), the finished epochs'
 * metrics rows (__rows) and the run's fingerprint (__fingerprint). */
#ifndef BZ_TRAIN_STATE_H
#define BZ_TRAIN_STATE_H

#include <stdint.h>

#include "model/bz_model.h"
#include "train/bz_train.h"
#include "train/bz_train_math.h"
#include "util/bz_rng.h"

typedef struct {
    int epoch;
    double train_loss, train_acc, val_loss, val_acc, lr, seconds;
} bz_epoch_row;

/* What a run must share with the one it resumes; a differing part is
 * named in the refusal. */
enum { BZ_FP_BINARY, BZ_FP_DATA, BZ_FP_OPTIONS, BZ_FP_N };

typedef struct {
    int epochs_done;          /* finished epochs                            */
    int batches_done;         /* finished batches of the next epoch (0: none) */
    bz_rng rng;               /* the epoch's RNG before batch batches_done   */
    double loss_sum;          /* the partial epoch's sums                    */
    int64_t correct_sum, seen;
    bz_adam adam;
    double lr;
    bz_plateau plateau;
    int best_epoch;
    double best_val_loss, best_val_acc;
    double loss_reference;    /* the divergence test's                      */
    bz_epoch_row *rows;       /* epochs_done rows (owned)                    */
    uint64_t fingerprint[BZ_FP_N];
} bz_train_state;

/* The fingerprint of a run with these options. */
void bz_train_fingerprint(const bz_model_desc *d, const bz_train_options *o, int threads,
                          uint64_t out[BZ_FP_N]);

/* Writes the model (its host side: call bz_model_sync_host first) and s
 * to path atomically.  0 or -1 (bz_last_error). */
int bz_train_state_save(const char *path, bz_model *m, const bz_train_state *s);
/* Reads path into m and s after checking that it belongs to this model and
 * to a run with the fingerprint `want`; -1 with the reason otherwise. */
int bz_train_state_load(const char *path, bz_model *m, const uint64_t want[BZ_FP_N],
                        bz_train_state *s);

#endif
