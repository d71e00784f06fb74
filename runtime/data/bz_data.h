/* Datasets, normalisation, augmentation, batches. */
#ifndef BZ_DATA_H
#define BZ_DATA_H

#include <stdint.h>
#include "util/bz_rng.h"

enum bz_dataset_kind { BZ_FASHION_MNIST, BZ_CIFAR10, BZ_CIFAR100 };

/* A split held in memory as uint8 images [n][h][w][c] (HWC) and labels. */
typedef struct {
    int kind;
    int n, c, h, w;          /* as stored: fashion 1x28x28, CIFAR 3x32x32 */
    int classes;
    uint8_t *images;
    int32_t *labels;
} bz_dataset;

/* name: "fashion_mnist" (dir default /usr/share/datasets/fashion-mnist,
 * gzipped IDX), "cifar10" (data_batch_1..5.bin, test_batch.bin),
 * "cifar100" (train.bin, test.bin; the fine label is used).  dir NULL
 * means the default location.  Every file is validated (existence, magic,
 * dimensions, size, label range); errors return -1 with bz_last_error()
 * naming the file. */
int bz_dataset_load(const char *name, const char *dir, int train, bz_dataset *out);
void bz_dataset_free(bz_dataset *d);
int bz_dataset_kind_from_name(const char *name);   /* -1 if unknown */

/* Keeps the first n examples (a deterministic subset); n <= 0 keeps all.
 * -1 (and an error naming option) where the split has fewer than n. */
int bz_dataset_truncate(bz_dataset *d, int n, const char *option);

/* Per-channel mean/std of the stored pixels scaled to [0,1]. */
void bz_dataset_channel_stats(const bz_dataset *d, float *mean, float *std);

/* Turns stored images into the network's input [B][H][W][C] float:
 * pixels/255, normalised with mean/std per stored channel, then
 * - a 1-channel 28x28 image is zero-padded (after normalisation, so the
 *   pad is 0 in normalised units) to out_h x out_w, centred, and
 *   repeated over out_c channels;
 * - with augment (CIFAR training): random crop out_h x out_w from the
 *   image zero-padded by 4, then a horizontal flip with probability 1/2.
 * indices selects which examples form the batch.  Returns -1 if the
 * stored image cannot be mapped to (out_c, out_h, out_w). */
int bz_make_batch(const bz_dataset *d, const int32_t *indices, int batch,
                  const float *mean, const float *std, int augment, bz_rng *rng,
                  int out_c, int out_h, int out_w, float *x, int32_t *labels);

#endif
