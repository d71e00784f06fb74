/* CIFAR-10 / CIFAR-100 in the official binary format.  A record is the
 * label byte(s) (CIFAR-100: coarse then fine) followed by 3072 pixel bytes
 * as three 32x32 planes R, G, B (CHW); they are stored here as HWC. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/bz_data.h"
#include "util/bz_util.h"

#define CIFAR_SIDE 32
#define CIFAR_CHANNELS 3
#define CIFAR_PIXELS (CIFAR_SIDE * CIFAR_SIDE * CIFAR_CHANNELS)
#define CIFAR100_COARSE_CLASSES 20
#define MAX_FILES 5

int bz_data_load_cifar(int kind, const char *dir, int train, bz_dataset *out);

typedef struct {
    int label_bytes;      /* 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine) */
    int classes;
    int file_count;
    char *paths[MAX_FILES];
    int counts[MAX_FILES];
} cifar_layout;

static char *join_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = bz_xmalloc(len);
    snprintf(path, len, "%s/%s", dir, name);
    return path;
}

static void layout_init(cifar_layout *l, int kind, const char *dir, int train)
{
    memset(l, 0, sizeof *l);
    if (kind == BZ_CIFAR100) {
        l->label_bytes = 2;
        l->classes = 100;
        l->file_count = 1;
        l->paths[0] = join_path(dir, train ? "train.bin" : "test.bin");
        return;
    }
    l->label_bytes = 1;
    l->classes = 10;
    l->file_count = train ? 5 : 1;
    for (int i = 0; i < l->file_count; i++) {
        char name[32];
        if (train)
            snprintf(name, sizeof name, "data_batch_%d.bin", i + 1);
        else
            snprintf(name, sizeof name, "test_batch.bin");
        l->paths[i] = join_path(dir, name);
    }
}

static void layout_free(cifar_layout *l)
{
    for (int i = 0; i < l->file_count; i++)
        free(l->paths[i]);
}

/* Counts a file's records from its size, which must be a positive multiple
 * of the record size. */
static int count_records(const char *path, int record_bytes, int *count)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        bz_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        bz_error("%s: not a regular file", path);
        return -1;
    }
    if (st.st_size == 0 || st.st_size % record_bytes != 0) {
        bz_error("%s: size %lld is not a positive multiple of the record size %d", path,
                 (long long)st.st_size, record_bytes);
        return -1;
    }
    if (st.st_size / record_bytes > INT_MAX / CIFAR_PIXELS) {
        bz_error("%s: too many records", path);
        return -1;
    }
    *count = (int)(st.st_size / record_bytes);
    return 0;
}

static int check_labels(const uint8_t *record, const cifar_layout *l, const char *path,
                        int index)
{
    if (l->label_bytes == 2 && record[0] >= CIFAR100_COARSE_CLASSES) {
        bz_error("%s: coarse label %u of record %d is out of range 0..%d", path, record[0],
                 index, CIFAR100_COARSE_CLASSES - 1);
        return -1;
    }
    uint8_t label = record[l->label_bytes - 1];
    if (label >= l->classes) {
        bz_error("%s: label %u of record %d is out of range 0..%d", path, label, index,
                 l->classes - 1);
        return -1;
    }
    return 0;
}

static void planes_to_hwc(const uint8_t *chw, uint8_t *hwc)
{
    const int plane = CIFAR_SIDE * CIFAR_SIDE;
    for (int p = 0; p < plane; p++)
        for (int c = 0; c < CIFAR_CHANNELS; c++)
            hwc[p * CIFAR_CHANNELS + c] = chw[c * plane + p];
}

/* Appends one file's records to images/labels. */
static int read_file(const char *path, const cifar_layout *l, int count, uint8_t *images,
                     int32_t *labels)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        bz_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    const size_t record_bytes = (size_t)l->label_bytes + CIFAR_PIXELS;
    uint8_t record[2 + CIFAR_PIXELS];
    int status = 0;
    for (int i = 0; i < count && status == 0; i++) {
        if (fread(record, 1, record_bytes, fp) != record_bytes) {
            bz_error("%s: truncated at record %d of %d", path, i, count);
            status = -1;
        } else if (check_labels(record, l, path, i) != 0) {
            status = -1;
        } else {
            labels[i] = record[l->label_bytes - 1];
            planes_to_hwc(record + l->label_bytes, images + (size_t)i * CIFAR_PIXELS);
        }
    }
    fclose(fp);
    return status;
}

static int count_all(cifar_layout *l, int *total)
{
    *total = 0;
    for (int i = 0; i < l->file_count; i++) {
        if (count_records(l->paths[i], l->label_bytes + CIFAR_PIXELS, &l->counts[i]) != 0)
            return -1;
        if (l->counts[i] > INT_MAX / CIFAR_PIXELS - *total) {
            bz_error("%s: too many records in total", l->paths[i]);
            return -1;
        }
        *total += l->counts[i];
    }
    return 0;
}

static int read_all(const cifar_layout *l, uint8_t *images, int32_t *labels)
{
    size_t done = 0;
    for (int i = 0; i < l->file_count; i++) {
        if (read_file(l->paths[i], l, l->counts[i], images + done * CIFAR_PIXELS,
                      labels + done) != 0)
            return -1;
        done += (size_t)l->counts[i];
    }
    return 0;
}

int bz_data_load_cifar(int kind, const char *dir, int train, bz_dataset *out)
{
    cifar_layout layout;
    layout_init(&layout, kind, dir, train);
    int total = 0, status = count_all(&layout, &total);
    uint8_t *images = NULL;
    int32_t *labels = NULL;
    if (status == 0) {
        images = bz_xmalloc((size_t)total * CIFAR_PIXELS);
        labels = bz_xmalloc((size_t)total * sizeof *labels);
        status = read_all(&layout, images, labels);
    }
    layout_free(&layout);
    if (status != 0) {
        free(images);
        free(labels);
        return -1;
    }
    *out = (bz_dataset){ .kind = kind, .n = total, .c = CIFAR_CHANNELS, .h = CIFAR_SIDE,
                         .w = CIFAR_SIDE, .classes = layout.classes,
                         .images = images, .labels = labels };
    return 0;
}
