/* Fashion-MNIST in gzipped IDX format (big-endian headers). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data/bz_data.h"
#include "util/bz_util.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
#define FASHION_SIDE 28
#define FASHION_CLASSES 10
#define READ_CHUNK (1u << 20)

int bz_data_load_fashion(const char *dir, int train, bz_dataset *out);

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* zlib prefixes its messages with the file name; drop it, ours has it. */
static const char *zlib_message(gzFile gz, const char *path)
{
    int zerr = Z_OK;
    const char *msg = gzerror(gz, &zerr);
    size_t len = strlen(path);
    if (strncmp(msg, path, len) == 0 && strncmp(msg + len, ": ", 2) == 0)
        msg += len + 2;
    return msg;
}

static void report_short_read(gzFile gz, const char *path, const char *what, size_t want,
                              size_t got)
{
    int zerr = Z_OK;
    gzerror(gz, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END)
        bz_error("%s: %s after %zu of %zu bytes of %s", path, zlib_message(gz, path), got,
                 want, what);
    else
        bz_error("%s: truncated: %zu of %zu bytes of %s", path, got, want, what);
}

/* Reads exactly `want` bytes.  The buffer grows as data arrives, so a
 * corrupt header claiming a huge count fails on the short read instead of
 * allocating it all up front. */
static uint8_t *read_exact(gzFile gz, const char *path, const char *what, size_t want)
{
    uint8_t *buf = NULL;
    size_t got = 0, cap = 0;
    while (got < want) {
        size_t chunk = want - got < READ_CHUNK ? want - got : READ_CHUNK;
        if (got + chunk > cap) {
            size_t new_cap = cap * 2 > got + chunk ? cap * 2 : got + chunk;
            if (new_cap > want)
                new_cap = want;
            uint8_t *grown = realloc(buf, new_cap);
            if (!grown) {
                free(buf);
                bz_error("%s: out of memory reading %zu bytes", path, want);
                return NULL;
            }
            buf = grown;
            cap = new_cap;
        }
        int n = gzread(gz, buf + got, (unsigned)chunk);
        if (n <= 0) {
            report_short_read(gz, path, what, want, got);
            free(buf);
            return NULL;
        }
        got += (size_t)n;
    }
    return buf;
}

static int expect_end(gzFile gz, const char *path)
{
    uint8_t extra;
    int n = gzread(gz, &extra, 1);
    if (n == 0)
        return 0;
    if (n < 0)
        bz_error("%s: %s at the end of the data", path, zlib_message(gz, path));
    else
        bz_error("%s: unexpected data after the last record", path);
    return -1;
}

static gzFile open_gz(const char *path)
{
    errno = 0;
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        bz_error("%s: cannot open: %s", path, errno ? strerror(errno) : "gzopen failed");
    return gz;
}

/* Header: magic, n, rows, cols (each big-endian uint32). */
static int read_image_header(gzFile gz, const char *path, int *count)
{
    uint8_t *hdr = read_exact(gz, path, "header", 16);
    if (!hdr)
        return -1;
    uint32_t magic = be32(hdr), n = be32(hdr + 4), rows = be32(hdr + 8), cols = be32(hdr + 12);
    free(hdr);
    if (magic != IDX_IMAGES_MAGIC) {
        bz_error("%s: bad magic 0x%08x (expected 0x%08x, IDX uint8 images)", path, magic,
                 IDX_IMAGES_MAGIC);
        return -1;
    }
    if (rows != FASHION_SIDE || cols != FASHION_SIDE) {
        bz_error("%s: images are %ux%u, expected %dx%d", path, rows, cols, FASHION_SIDE,
                 FASHION_SIDE);
        return -1;
    }
    if (n == 0 || n > (uint32_t)(INT_MAX / (FASHION_SIDE * FASHION_SIDE))) {
        bz_error("%s: image count %u is out of range 1..%d", path, n,
                 INT_MAX / (FASHION_SIDE * FASHION_SIDE));
        return -1;
    }
    *count = (int)n;
    return 0;
}

static uint8_t *load_images(const char *path, int *count)
{
    gzFile gz = open_gz(path);
    if (!gz)
        return NULL;
    uint8_t *pixels = NULL;
    if (read_image_header(gz, path, count) == 0) {
        pixels = read_exact(gz, path, "pixels", (size_t)*count * FASHION_SIDE * FASHION_SIDE);
        if (pixels && expect_end(gz, path) != 0) {
            free(pixels);
            pixels = NULL;
        }
    }
    gzclose(gz);
    return pixels;
}

static int check_label_header(const uint8_t *hdr, const char *path, int expected_count)
{
    uint32_t magic = be32(hdr), n = be32(hdr + 4);
    if (magic != IDX_LABELS_MAGIC) {
        bz_error("%s: bad magic 0x%08x (expected 0x%08x, IDX uint8 labels)", path, magic,
                 IDX_LABELS_MAGIC);
        return -1;
    }
    if (n != (uint32_t)expected_count) {
        bz_error("%s: %u labels but %d images", path, n, expected_count);
        return -1;
    }
    return 0;
}

static int32_t *labels_from_bytes(const uint8_t *raw, int count, const char *path)
{
    for (int i = 0; i < count; i++) {
        if (raw[i] >= FASHION_CLASSES) {
            bz_error("%s: label %u of record %d is out of range 0..%d", path, raw[i], i,
                     FASHION_CLASSES - 1);
            return NULL;
        }
    }
    int32_t *labels = bz_xmalloc((size_t)count * sizeof *labels);
    for (int i = 0; i < count; i++)
        labels[i] = raw[i];
    return labels;
}

static int32_t *load_labels(const char *path, int expected_count)
{
    gzFile gz = open_gz(path);
    if (!gz)
        return NULL;
    int32_t *labels = NULL;
    uint8_t *hdr = read_exact(gz, path, "header", 8);
    if (hdr && check_label_header(hdr, path, expected_count) == 0) {
        uint8_t *raw = read_exact(gz, path, "labels", (size_t)expected_count);
        if (raw && expect_end(gz, path) == 0)
            labels = labels_from_bytes(raw, expected_count, path);
        free(raw);
    }
    free(hdr);
    gzclose(gz);
    return labels;
}

static char *join_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *path = bz_xmalloc(len);
    snprintf(path, len, "%s/%s", dir, name);
    return path;
}

int bz_data_load_fashion(const char *dir, int train, bz_dataset *out)
{
    const char *prefix = train ? "train" : "t10k";
    char name[64];
    snprintf(name, sizeof name, "%s-images-idx3-ubyte.gz", prefix);
    char *images_path = join_path(dir, name);
    snprintf(name, sizeof name, "%s-labels-idx1-ubyte.gz", prefix);
    char *labels_path = join_path(dir, name);

    int count = 0;
    uint8_t *images = load_images(images_path, &count);
    int32_t *labels = images ? load_labels(labels_path, count) : NULL;
    free(images_path);
    free(labels_path);
    if (!labels) {
        free(images);
        return -1;
    }
    *out = (bz_dataset){ .kind = BZ_FASHION_MNIST, .n = count, .c = 1, .h = FASHION_SIDE,
                         .w = FASHION_SIDE, .classes = FASHION_CLASSES,
                         .images = images, .labels = labels };
    return 0;
}
