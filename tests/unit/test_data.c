/* needs: util/bz_util.c util/bz_rng.c data/bz_data.c data/bz_data_idx.c data/bz_data_cifar.c */
/* Dataset readers (real Fashion-MNIST, hand-written IDX and CIFAR files,
 * malformed copies), normalisation, Fashion mapping and augmentation. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../bz_check.h"
#include "data/bz_data.h"
#include "util/bz_rng.h"
#include "util/bz_util.h"

#define CIFAR_RECORD_PIXELS 3072

static char tmp_root[] = "/tmp/bz_test_data.XXXXXX";

/* ---------- file helpers ---------- */

/* One of 8 rotating buffers: valid until 8 more calls. */
static char *path_in(const char *dir, const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", dir, name);
    return p;
}

/* Each directory keeps its own buffer for the whole run. */
static const char *make_dir(const char *name)
{
    static char dirs[64][512];
    static int count;
    if (count == 64) {
        fprintf(stderr, "too many test directories\n");
        exit(2);
    }
    char *dir = dirs[count++];
    snprintf(dir, sizeof dirs[0], "%s/%s", tmp_root, name);
    if (bz_mkdir_p(dir) != 0) {
        fprintf(stderr, "cannot create %s\n", dir);
        exit(2);
    }
    return dir;
}

static void write_raw(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, len, fp) != len || fclose(fp) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static void write_gz(const char *path, const void *data, size_t len)
{
    gzFile gz = gzopen(path, "wb");
    if (!gz || (len && gzwrite(gz, data, (unsigned)len) != (int)len) || gzclose(gz) != Z_OK) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(2);
    }
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* Shows the message as a TAP comment so the log documents each error. */
static int error_names(const char *fragment)
{
    printf("# error: %s\n", bz_last_error());
    return strstr(bz_last_error(), fragment) != NULL;
}

/* ---------- IDX (Fashion-MNIST) helpers ---------- */

static void put_be32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24), b[1] = (uint8_t)(v >> 16), b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static uint8_t fashion_pixel(int img, int y, int x)
{
    return (uint8_t)((img * 37 + y * 9 + x * 5) & 255);
}

/* Image file with header (magic, n, rows, cols) and `stored` images. */
static void write_idx_images(const char *path, uint32_t magic, uint32_t n, uint32_t rows,
                             uint32_t cols, int stored)
{
    size_t len = 16 + (size_t)stored * rows * cols;
    uint8_t *buf = calloc(len, 1);
    put_be32(buf, magic), put_be32(buf + 4, n), put_be32(buf + 8, rows);
    put_be32(buf + 12, cols);
    for (int i = 0; i < stored; i++)
        for (uint32_t y = 0; y < rows; y++)
            for (uint32_t x = 0; x < cols; x++)
                buf[16 + ((size_t)i * rows + y) * cols + x] = fashion_pixel(i, (int)y, (int)x);
    write_gz(path, buf, len);
    free(buf);
}

static void write_idx_labels(const char *path, uint32_t magic, uint32_t n, int stored,
                             int bad_label_at)
{
    uint8_t *buf = calloc(8 + (size_t)stored, 1);
    put_be32(buf, magic), put_be32(buf + 4, n);
    for (int i = 0; i < stored; i++)
        buf[8 + i] = (uint8_t)(i == bad_label_at ? 10 : (i * 3) % 10);
    write_gz(path, buf, 8 + (size_t)stored);
    free(buf);
}

static const char *IMG = "train-images-idx3-ubyte.gz";
static const char *LAB = "train-labels-idx1-ubyte.gz";

static const char *write_fashion_set(const char *name, int n)
{
    const char *dir = make_dir(name);
    write_idx_images(path_in(dir, IMG), 0x803, (uint32_t)n, 28, 28, n);
    write_idx_labels(path_in(dir, LAB), 0x801, (uint32_t)n, n, -1);
    return dir;
}

/* ---------- CIFAR helpers ---------- */

static uint8_t cifar_pixel(int file, int rec, int c, int y, int x)
{
    return (uint8_t)((file * 31 + rec * 7 + c * 50 + y * 3 + x * 5) & 255);
}

static int cifar_label(int file, int rec, int classes)
{
    return (file * 7 + rec * 13) % classes;
}

/* `records` records; label_bytes 1 (CIFAR-10) or 2 (coarse, fine);
 * bad_at >= 0 gives that record the label `classes`. */
static void write_cifar_file(const char *path, int file, int records, int label_bytes,
                             int classes, int bad_at, int extra_bytes)
{
    size_t rec_len = (size_t)label_bytes + CIFAR_RECORD_PIXELS;
    size_t len = rec_len * (size_t)records + (size_t)extra_bytes;
    uint8_t *buf = calloc(len ? len : 1, 1);
    for (int r = 0; r < records; r++) {
        uint8_t *rec = buf + rec_len * (size_t)r;
        if (label_bytes == 2)
            rec[0] = (uint8_t)(r % 20);
        rec[label_bytes - 1] = (uint8_t)(r == bad_at ? classes : cifar_label(file, r, classes));
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    rec[label_bytes + c * 1024 + y * 32 + x] = cifar_pixel(file, r, c, y, x);
    }
    write_raw(path, buf, len);
    free(buf);
}

static const char *write_cifar10_set(const char *name, int records)
{
    const char *dir = make_dir(name);
    for (int f = 1; f <= 5; f++) {
        char file[32];
        snprintf(file, sizeof file, "data_batch_%d.bin", f);
        write_cifar_file(path_in(dir, file), f, records, 1, 10, -1, 0);
    }
    write_cifar_file(path_in(dir, "test_batch.bin"), 0, 3, 1, 10, -1, 0);
    return dir;
}

/* Compares every label and pixel (HWC) with what write_cifar_file wrote. */
static int cifar_matches(const bz_dataset *d, int first_file, int records, int classes)
{
    for (int i = 0; i < d->n; i++) {
        int file = first_file + i / records, rec = i % records;
        if (d->labels[i] != cifar_label(file, rec, classes))
            return 0;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                for (int c = 0; c < 3; c++)
                    if (d->images[(((size_t)i * 32 + y) * 32 + x) * 3 + c] !=
                        cifar_pixel(file, rec, c, y, x))
                        return 0;
    }
    return 1;
}

/* ---------- Fashion-MNIST, real files ---------- */

static void test_fashion_real(void)
{
    bz_dataset train, test;
    int rc = bz_dataset_load("fashion_mnist", NULL, 1, &train);
    CHECK(rc == 0, "fashion train loads", "%s", bz_last_error());
    if (rc != 0)
        return;
    CHECK(train.n == 60000 && train.c == 1 && train.h == 28 && train.w == 28 &&
              train.classes == 10 && train.kind == BZ_FASHION_MNIST,
          "fashion train shape", "n=%d c=%d h=%d w=%d", train.n, train.c, train.h, train.w);
    int counts[10] = { 0 }, in_range = 1;
    for (int i = 0; i < train.n; i++) {
        if (train.labels[i] < 0 || train.labels[i] > 9)
            in_range = 0;
        else
            counts[train.labels[i]]++;
    }
    int balanced = in_range;
    for (int k = 0; k < 10; k++)
        balanced &= counts[k] == 6000;
    CHECK(balanced, "fashion train: 6000 labels of each class 0..9", "count[0]=%d", counts[0]);
    int32_t first[5] = { 9, 0, 0, 3, 0 };
    CHECK(memcmp(train.labels, first, sizeof first) == 0, "fashion train first labels",
          "%d %d %d", train.labels[0], train.labels[1], train.labels[2]);
    long pixel_sum = 0;
    for (int p = 0; p < 784; p++)
        pixel_sum += train.images[p];
    CHECK(pixel_sum == 76247 && train.images[14 * 28 + 14] == 217,
          "fashion train image 0 pixels", "sum %ld", pixel_sum);
    float mean, std;
    bz_dataset_channel_stats(&train, &mean, &std);
    CHECK(fabsf(mean - 0.2860406f) < 1e-5f && fabsf(std - 0.3530242f) < 1e-5f,
          "fashion train mean/std", "mean %f std %f", (double)mean, (double)std);
    rc = bz_dataset_truncate(&train, 100, "--subset");
    CHECK(rc == 0 && train.n == 100 && train.labels[0] == 9, "truncate keeps the first n",
          "rc %d n=%d", rc, train.n);
    rc = bz_dataset_truncate(&train, 0, "--subset");
    CHECK(rc == 0 && train.n == 100, "truncate 0 keeps all", "rc %d n=%d", rc, train.n);
    rc = bz_dataset_truncate(&train, 100, "--subset");
    CHECK(rc == 0 && train.n == 100, "truncate to the whole split", "rc %d n=%d", rc, train.n);
    rc = bz_dataset_truncate(&train, 101, "--subset");
    CHECK(rc == -1 && train.n == 100 && strstr(bz_last_error(), "--subset 101") &&
          strstr(bz_last_error(), "only 100"), "truncate past the split is an error",
          "rc %d n=%d: %s", rc, train.n, bz_last_error());
    bz_dataset_free(&train);

    rc = bz_dataset_load("fashion_mnist", "/usr/share/datasets/fashion-mnist", 0, &test);
    CHECK(rc == 0 && test.n == 10000 && test.labels[0] == 9 && test.labels[1] == 2,
          "fashion test loads (10000)", "rc %d n %d: %s", rc, test.n, bz_last_error());
    bz_dataset_free(&test);
}

/* ---------- Fashion-MNIST, hand-written and malformed files ---------- */

static void expect_fashion_failure(const char *dir, const char *name, const char *fragment)
{
    bz_dataset d;
    int rc = bz_dataset_load("fashion_mnist", dir, 1, &d);
    char check[160];
    snprintf(check, sizeof check, "fashion rejects %s", name);
    CHECK(rc == -1 && error_names(fragment), check, "rc %d, error '%s'", rc, bz_last_error());
}

static void test_fashion_small(void)
{
    const char *dir = write_fashion_set("fashion_ok", 5);
    bz_dataset d;
    int rc = bz_dataset_load("fashion_mnist", dir, 1, &d);
    int ok = rc == 0 && d.n == 5;
    for (int i = 0; ok && i < 5; i++) {
        ok &= d.labels[i] == (i * 3) % 10;
        for (int p = 0; p < 784; p++)
            ok &= d.images[i * 784 + p] == fashion_pixel(i, p / 28, p % 28);
    }
    CHECK(ok, "hand-written IDX set loads exactly", "rc %d: %s", rc, bz_last_error());
    if (rc == 0)
        bz_dataset_free(&d);
}

/* A valid .gz image file, then either cut in half (a truncated gzip
 * stream) or with bytes in the middle of the deflate data inverted. */
static void write_damaged_stream(const char *dir, int cut)
{
    const char *full = path_in(dir, "full.gz");
    write_idx_images(full, 0x803, 200, 28, 28, 200);
    FILE *fp = fopen(full, "rb");
    static uint8_t buf[1 << 20];
    size_t len = fp ? fread(buf, 1, sizeof buf, fp) : 0;
    if (fp)
        fclose(fp);
    remove(full);
    if (!cut)
        for (size_t i = len / 2; i < len / 2 + 16 && i < len; i++)
            buf[i] ^= 0xff;
    write_raw(path_in(dir, IMG), buf, cut ? len / 2 : len);
}

static void test_fashion_damaged_data(void)
{
    const char *dir = make_dir("fashion_short");
    write_idx_images(path_in(dir, IMG), 0x803, 5, 28, 28, 3);
    write_idx_labels(path_in(dir, LAB), 0x801, 5, 5, -1);
    expect_fashion_failure(dir, "truncated images (header says 5, 3 stored)", path_in(dir, IMG));

    dir = make_dir("fashion_cut_stream");
    write_damaged_stream(dir, 1);
    write_idx_labels(path_in(dir, LAB), 0x801, 200, 200, -1);
    expect_fashion_failure(dir, "a cut gzip stream", path_in(dir, IMG));

    dir = make_dir("fashion_corrupt_stream");
    write_damaged_stream(dir, 0);
    write_idx_labels(path_in(dir, LAB), 0x801, 200, 200, -1);
    expect_fashion_failure(dir, "a corrupted gzip stream", path_in(dir, IMG));

    dir = write_fashion_set("fashion_magic", 5);
    write_idx_images(path_in(dir, IMG), 0x804, 5, 28, 28, 5);
    expect_fashion_failure(dir, "wrong image magic", path_in(dir, IMG));
}

static void test_fashion_bad_headers(void)
{
    const char *dir;

    dir = write_fashion_set("fashion_label_magic", 5);
    write_idx_labels(path_in(dir, LAB), 0x803, 5, 5, -1);
    expect_fashion_failure(dir, "wrong label magic", path_in(dir, LAB));

    dir = write_fashion_set("fashion_dims", 5);
    write_idx_images(path_in(dir, IMG), 0x803, 5, 28, 27, 5);
    expect_fashion_failure(dir, "27-pixel rows", path_in(dir, IMG));

    dir = write_fashion_set("fashion_count", 5);
    write_idx_labels(path_in(dir, LAB), 0x801, 4, 4, -1);
    expect_fashion_failure(dir, "4 labels for 5 images", path_in(dir, LAB));

    dir = write_fashion_set("fashion_label_short", 5);
    write_idx_labels(path_in(dir, LAB), 0x801, 5, 4, -1);
    expect_fashion_failure(dir, "truncated labels", path_in(dir, LAB));

    dir = write_fashion_set("fashion_label_range", 5);
    write_idx_labels(path_in(dir, LAB), 0x801, 5, 5, 3);
    expect_fashion_failure(dir, "label 10", path_in(dir, LAB));

    dir = write_fashion_set("fashion_trailing", 5);
    write_idx_images(path_in(dir, IMG), 0x803, 4, 28, 28, 5);
    write_idx_labels(path_in(dir, LAB), 0x801, 4, 4, -1);
    expect_fashion_failure(dir, "trailing data", path_in(dir, IMG));

    dir = make_dir("fashion_huge");
    write_idx_images(path_in(dir, IMG), 0x803, 2000000, 28, 28, 2);
    expect_fashion_failure(dir, "a header claiming 2M images", path_in(dir, IMG));

    dir = write_fashion_set("fashion_zero", 5);
    write_idx_images(path_in(dir, IMG), 0x803, 0, 28, 28, 0);
    expect_fashion_failure(dir, "a header claiming 0 images", path_in(dir, IMG));

    dir = make_dir("fashion_empty");
    write_raw(path_in(dir, IMG), "", 0);
    expect_fashion_failure(dir, "an empty file", path_in(dir, IMG));

    dir = write_fashion_set("fashion_no_labels", 5);
    remove(path_in(dir, LAB));
    expect_fashion_failure(dir, "a missing label file", path_in(dir, LAB));

    expect_fashion_failure("/nonexistent/bz_dir", "a missing directory", "/nonexistent/bz_dir/");
}

/* ---------- CIFAR ---------- */

static void expect_cifar_failure(const char *name, const char *dir, const char *check,
                                 const char *fragment)
{
    bz_dataset d;
    int rc = bz_dataset_load(name, dir, 1, &d);
    CHECK(rc == -1 && error_names(fragment), check, "rc %d, error '%s'", rc, bz_last_error());
}

static void test_cifar10(void)
{
    const char *dir = write_cifar10_set("cifar10_ok", 7);
    bz_dataset d;
    int rc = bz_dataset_load("cifar10", dir, 1, &d);
    CHECK(rc == 0 && d.n == 35 && d.c == 3 && d.h == 32 && d.w == 32 && d.classes == 10 &&
              d.kind == BZ_CIFAR10,
          "cifar10 train: 5 files x 7 records", "rc %d n %d: %s", rc, d.n, bz_last_error());
    if (rc == 0) {
        CHECK(cifar_matches(&d, 1, 7, 10), "cifar10 train labels and CHW->HWC pixels", "%s",
              "mismatch");
        bz_dataset_free(&d);
    }
    rc = bz_dataset_load("cifar10", dir, 0, &d);
    CHECK(rc == 0 && d.n == 3, "cifar10 test_batch loads", "rc %d: %s", rc, bz_last_error());
    if (rc == 0) {
        CHECK(cifar_matches(&d, 0, 3, 10), "cifar10 test labels and pixels", "%s", "mismatch");
        bz_dataset_free(&d);
    }

    dir = write_cifar10_set("cifar10_odd_size", 7);
    write_cifar_file(path_in(dir, "data_batch_4.bin"), 4, 7, 1, 10, -1, 1);
    expect_cifar_failure("cifar10", dir, "cifar10 rejects a size not a multiple of 3073",
                         "data_batch_4.bin");
    dir = write_cifar10_set("cifar10_label", 7);
    write_cifar_file(path_in(dir, "data_batch_2.bin"), 2, 7, 1, 10, 5, 0);
    expect_cifar_failure("cifar10", dir, "cifar10 rejects label 10", "data_batch_2.bin");
    dir = write_cifar10_set("cifar10_missing", 7);
    remove(path_in(dir, "data_batch_3.bin"));
    expect_cifar_failure("cifar10", dir, "cifar10 rejects a missing batch file",
                         "data_batch_3.bin");
    dir = write_cifar10_set("cifar10_empty", 7);
    write_raw(path_in(dir, "data_batch_5.bin"), "", 0);
    expect_cifar_failure("cifar10", dir, "cifar10 rejects an empty file", "data_batch_5.bin");
    expect_cifar_failure("cifar10", "/nonexistent/bz_cifar", "cifar10 rejects a missing dir",
                         "/nonexistent/bz_cifar/data_batch_1.bin");
}

static void test_cifar100(void)
{
    const char *dir = make_dir("cifar100_ok");
    write_cifar_file(path_in(dir, "train.bin"), 1, 7, 2, 100, -1, 0);
    write_cifar_file(path_in(dir, "test.bin"), 0, 4, 2, 100, -1, 0);
    bz_dataset d;
    int rc = bz_dataset_load("cifar100", dir, 1, &d);
    CHECK(rc == 0 && d.n == 7 && d.classes == 100 && d.kind == BZ_CIFAR100,
          "cifar100 train loads", "rc %d: %s", rc, bz_last_error());
    if (rc == 0) {
        CHECK(cifar_matches(&d, 1, 7, 100), "cifar100 fine labels and CHW->HWC pixels", "%s",
              "mismatch");
        bz_dataset_free(&d);
    }
    rc = bz_dataset_load("cifar100", dir, 0, &d);
    CHECK(rc == 0 && d.n == 4 && cifar_matches(&d, 0, 4, 100), "cifar100 test loads",
          "rc %d: %s", rc, bz_last_error());
    if (rc == 0)
        bz_dataset_free(&d);

    dir = make_dir("cifar100_bad");
    write_cifar_file(path_in(dir, "train.bin"), 1, 7, 2, 100, 6, 0);
    expect_cifar_failure("cifar100", dir, "cifar100 rejects fine label 100", "train.bin");
    write_cifar_file(path_in(dir, "train.bin"), 1, 7, 1, 100, -1, 0);
    expect_cifar_failure("cifar100", dir, "cifar100 rejects CIFAR-10-sized records",
                         "train.bin");
}

static void test_names(void)
{
    CHECK(bz_dataset_kind_from_name("cifar100") == BZ_CIFAR100 &&
              bz_dataset_kind_from_name("fashion_mnist") == BZ_FASHION_MNIST &&
              bz_dataset_kind_from_name("mnist") == -1,
          "dataset names", "%s", "");
    bz_dataset d;
    CHECK(bz_dataset_load("svhn", NULL, 1, &d) == -1 && error_names("svhn"),
          "unknown dataset rejected", "%s", bz_last_error());
}

/* ---------- batches ---------- */

static float normalised(uint8_t v, float mean, float std)
{
    return (float)(((double)v / 255.0 - mean) / std);
}

static int near(float a, float b)
{
    return fabsf(a - b) <= 2e-6f * (1.0f + fabsf(b));
}

static void test_batch_cifar_normalisation(void)
{
    const char *dir = write_cifar10_set("cifar10_batch", 7);
    bz_dataset d;
    if (bz_dataset_load("cifar10", dir, 1, &d) != 0)
        return;
    const float mean[3] = { 0.5f, 0.25f, 0.125f }, std[3] = { 0.5f, 0.25f, 2.0f };
    int32_t idx[3] = { 34, 0, 9 }, labels[3];
    float *x = malloc(sizeof(float) * 3 * 32 * 32 * 3);
    int rc = bz_make_batch(&d, idx, 3, mean, std, 0, NULL, 3, 32, 32, x, labels);
    int ok = rc == 0;
    for (int b = 0; ok && b < 3; b++) {
        int file = 1 + idx[b] / 7, rec = idx[b] % 7;
        ok &= labels[b] == cifar_label(file, rec, 10);
        for (int p = 0; p < 1024; p++)
            for (int c = 0; c < 3; c++)
                ok &= near(x[(b * 1024 + p) * 3 + c],
                           normalised(cifar_pixel(file, rec, c, p / 32, p % 32), mean[c], std[c]));
    }
    CHECK(ok, "cifar batch: NHWC, normalised per channel, labels", "rc %d", rc);
    /* pixel (0,0) of record 0 of file 1: R=31 G=81 B=131 */
    CHECK(near(x[3 * 1024], (31.0f / 255 - 0.5f) / 0.5f) &&
              near(x[3 * 1024 + 1], (81.0f / 255 - 0.25f) / 0.25f) &&
              near(x[3 * 1024 + 2], (131.0f / 255 - 0.125f) / 2.0f),
          "cifar batch: known pixel values", "%g %g %g", (double)x[3072], (double)x[3073],
          (double)x[3074]);
    CHECK(bz_make_batch(&d, idx, 3, mean, std, 0, NULL, 1, 32, 32, x, labels) == -1 &&
              bz_make_batch(&d, idx, 3, mean, std, 0, NULL, 3, 28, 28, x, labels) == -1,
          "cifar batch: unmappable shapes rejected", "%s", bz_last_error());
    int32_t bad[1] = { 35 };
    CHECK(bz_make_batch(&d, bad, 1, mean, std, 0, NULL, 3, 32, 32, x, labels) == -1,
          "batch index out of range rejected", "%s", bz_last_error());
    free(x);
    bz_dataset_free(&d);
}

static void test_batch_fashion_mapping(void)
{
    const char *dir = write_fashion_set("fashion_batch", 5);
    bz_dataset d;
    if (bz_dataset_load("fashion_mnist", dir, 1, &d) != 0)
        return;
    const float mean = 0.25f, std = 0.5f;
    int32_t idx[2] = { 4, 1 }, labels[2];
    float *x = malloc(sizeof(float) * 2 * 32 * 32 * 3);
    int rc = bz_make_batch(&d, idx, 2, &mean, &std, 0, NULL, 3, 32, 32, x, labels);
    int pad_zero = rc == 0, centred = rc == 0;
    for (int b = 0; rc == 0 && b < 2; b++) {
        for (int y = 0; y < 32; y++)
            for (int xx = 0; xx < 32; xx++)
                for (int c = 0; c < 3; c++) {
                    float v = x[((b * 32 + y) * 32 + xx) * 3 + c];
                    if (y < 2 || y >= 30 || xx < 2 || xx >= 30)
                        pad_zero &= v == 0.0f;
                    else
                        centred &= near(v, normalised(fashion_pixel(idx[b], y - 2, xx - 2),
                                                      mean, std));
                }
    }
    CHECK(pad_zero, "fashion batch: 2-pixel border is 0 (normalised units)", "rc %d", rc);
    CHECK(centred, "fashion batch: image centred and repeated over 3 channels", "rc %d", rc);
    CHECK(labels[0] == 2 && labels[1] == 3, "fashion batch labels", "%d %d", labels[0],
          labels[1]);
    float mean1, std1;
    bz_dataset_channel_stats(&d, &mean1, &std1);
    double sum = 0, sum_sq = 0;
    for (int p = 0; p < 5 * 784; p++)
        sum += d.images[p] / 255.0, sum_sq += (d.images[p] / 255.0) * (d.images[p] / 255.0);
    double m = sum / (5 * 784), s = sqrt(sum_sq / (5 * 784) - m * m);
    CHECK(fabs(mean1 - m) < 1e-6 && fabs(std1 - s) < 1e-6, "channel stats (population std)",
          "%f %f vs %f %f", (double)mean1, (double)std1, m, s);
    free(x);
    bz_dataset_free(&d);
}

/* Synthetic 3x32x32 images whose channels encode the source row and column
 * (8*y, 8*x) and 255 inside the image, so a cropped/flipped output reveals
 * the offset it was taken at. */
static bz_dataset coordinate_dataset(int n)
{
    bz_dataset d = { .kind = BZ_CIFAR10, .n = n, .c = 3, .h = 32, .w = 32, .classes = 10 };
    d.images = malloc((size_t)n * 3072);
    d.labels = calloc((size_t)n, sizeof *d.labels);
    for (int i = 0; i < n; i++)
        for (int p = 0; p < 1024; p++) {
            uint8_t *px = d.images + (size_t)i * 3072 + p * 3;
            px[0] = (uint8_t)(8 * (p / 32)), px[1] = (uint8_t)(8 * (p % 32)), px[2] = 255;
        }
    return d;
}

typedef struct {
    int dy, dx, flip, consistent;
} crop_seen;

static int decode(float v)
{
    return (int)lroundf(v * 255.0f / 8.0f);
}

/* Finds (dy, dx, flip) from two neighbouring inside pixels, then checks
 * every pixel against out[y][x] = img[y+dy][(flip ? 31-x : x) + dx]. */
static crop_seen infer_crop(const float *x)
{
    crop_seen s = { 0, 0, 0, 0 };
    int p0 = 0;
    while (p0 < 1023 && x[p0 * 3 + 2] != 1.0f)
        p0++;
    int y0 = p0 / 32, x0 = p0 % 32;
    if (x0 == 31 || x[(p0 + 1) * 3 + 2] != 1.0f)
        return s;
    s.flip = decode(x[(p0 + 1) * 3 + 1]) < decode(x[p0 * 3 + 1]);
    s.dy = decode(x[p0 * 3]) - y0;
    s.dx = decode(x[p0 * 3 + 1]) - (s.flip ? 31 - x0 : x0);
    s.consistent = 1;
    for (int p = 0; p < 1024; p++) {
        int sy = p / 32 + s.dy, sx = (s.flip ? 31 - p % 32 : p % 32) + s.dx;
        int inside = sy >= 0 && sy < 32 && sx >= 0 && sx < 32;
        const float *px = x + p * 3;
        if (inside)
            s.consistent &= decode(px[0]) == sy && decode(px[1]) == sx && px[2] == 1.0f;
        else
            s.consistent &= px[0] == 0.0f && px[1] == 0.0f && px[2] == 0.0f;
    }
    return s;
}

static void test_batch_augmentation(void)
{
    enum { N = 600 };
    bz_dataset d = coordinate_dataset(N);
    const float mean[3] = { 0, 0, 0 }, std[3] = { 1, 1, 1 };
    int32_t *idx = malloc(N * sizeof *idx);
    for (int i = 0; i < N; i++)
        idx[i] = i;
    float *x = malloc(sizeof(float) * N * 3072), *again = malloc(sizeof(float) * N * 3072);
    bz_rng rng;
    bz_rng_seed(&rng, 42, 7);
    int rc = bz_make_batch(&d, idx, N, mean, std, 1, &rng, 3, 32, 32, x, NULL);
    bz_rng_seed(&rng, 42, 7);
    rc |= bz_make_batch(&d, idx, N, mean, std, 1, &rng, 3, 32, 32, again, NULL);
    CHECK(rc == 0 && memcmp(x, again, sizeof(float) * N * 3072) == 0,
          "augmentation deterministic for a seed", "rc %d", rc);
    bz_rng_seed(&rng, 43, 7);
    rc = bz_make_batch(&d, idx, N, mean, std, 1, &rng, 3, 32, 32, again, NULL);
    CHECK(rc == 0 && memcmp(x, again, sizeof(float) * N * 3072) != 0,
          "another seed gives other crops", "rc %d", rc);

    int all_consistent = 1, in_range = 1, flips = 0, dy_seen[9] = { 0 }, dx_seen[9] = { 0 };
    for (int i = 0; i < N; i++) {
        crop_seen s = infer_crop(x + (size_t)i * 3072);
        all_consistent &= s.consistent;
        in_range &= abs(s.dy) <= 4 && abs(s.dx) <= 4;
        if (abs(s.dy) <= 4 && abs(s.dx) <= 4)
            dy_seen[s.dy + 4]++, dx_seen[s.dx + 4]++;
        flips += s.flip;
    }
    int every_offset = 1;
    for (int k = 0; k < 9; k++)
        every_offset &= dy_seen[k] > 0 && dx_seen[k] > 0;
    CHECK(all_consistent, "augmented images are zero-padded crops, flipped or not", "%s", "");
    CHECK(in_range, "every crop offset within [-4, 4]", "%s", "");
    CHECK(every_offset, "all 9 offsets occur in each direction", "%s", "");
    CHECK(flips > N * 4 / 10 && flips < N * 6 / 10, "about half the images flipped",
          "%d of %d", flips, N);
    CHECK(bz_make_batch(&d, idx, 1, mean, std, 1, NULL, 3, 32, 32, x, NULL) == -1,
          "augmentation without rng rejected", "%s", bz_last_error());
    free(x), free(again), free(idx);
    bz_dataset_free(&d);
}

int main(void)
{
    if (!mkdtemp(tmp_root)) {
        perror("mkdtemp");
        return 2;
    }
    test_fashion_real();
    test_fashion_small();
    test_fashion_damaged_data();
    test_fashion_bad_headers();
    test_cifar10();
    test_cifar100();
    test_names();
    test_batch_cifar_normalisation();
    test_batch_fashion_mapping();
    test_batch_augmentation();
    nftw(tmp_root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    CHECK_EXIT();
}
