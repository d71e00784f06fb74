/* needs: util/bz_util.c util/bz_rng.c data/bz_data.c data/bz_data_idx.c data/bz_data_cifar.c io/bz_safetensors.c io/bz_npy.c */
/* A fuzzing harness for the binary's readers: `fuzz_read KIND FILE` reads
 * FILE as KIND and exits 0 (read) or 1 (refused with a message); anything
 * else (a signal, a sanitizer report) is a defect.
 *   npy           a tensor file (.npy), float32 or int64
 *   safetensors   a weights file
 *   idx           Fashion-MNIST's training split: FILE is a 4-byte
 *                 little-endian length L, L bytes of the images file, then
 *                 the labels file (each may be gzipped or not)
 *   cifar100      CIFAR-100's train.bin
 * Built by `make fuzz` with afl-cc and ASan, and by tests/t_fuzz_replay.sh
 * with gcc, ASan and UBSan to replay the corpora under tests/fuzz/. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/bz_data.h"
#include "io/bz_tensor_io.h"
#include "util/bz_util.h"

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 1 << 16;
    unsigned char *b = malloc(cap);
    *n = 0;
    for (size_t got; b && (got = fread(b + *n, 1, cap - *n, fp)) > 0;) {
        *n += got;
        if (*n == cap)
            b = realloc(b, cap *= 2);
    }
    fclose(fp);
    return b;
}

static int put(const char *dir, const char *name, const unsigned char *data, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(data, 1, n, fp) != n || fclose(fp) != 0)
        return -1;
    return 0;
}

static void remove_dir(const char *dir, const char *const *names)
{
    char path[4096];
    for (int i = 0; names[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* The dataset kinds read a directory: FILE's parts go into a fresh one. */
static int read_dataset(const char *kind, const unsigned char *data, size_t n)
{
    static const char *const idx_names[] = {"train-images-idx3-ubyte.gz",
                                            "train-labels-idx1-ubyte.gz", NULL};
    static const char *const cifar_names[] = {"train.bin", NULL};
    char dir[] = "/tmp/fuzz_read.XXXXXX";
    if (!mkdtemp(dir))
        return 2;
    int idx = strcmp(kind, "idx") == 0, rc;
    if (idx) {
        uint32_t l = n >= 4 ? (uint32_t)data[0] | (uint32_t)data[1] << 8 |
                                  (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24
                            : 0;
        size_t images = n >= 4 && l <= n - 4 ? l : (n >= 4 ? n - 4 : 0);
        const unsigned char *p = n >= 4 ? data + 4 : data;
        rc = put(dir, idx_names[0], p, images) | put(dir, idx_names[1], p + images,
                                                       (n >= 4 ? n - 4 : 0) - images);
    } else {
        rc = put(dir, cifar_names[0], data, n);
    }
    bz_dataset d;
    if (rc == 0)
        rc = bz_dataset_load(idx ? "fashion_mnist" : "cifar100", dir, 1, &d) == 0 ? 0 : 1;
    if (rc == 0)
        bz_dataset_free(&d);
    else
        fprintf(stderr, "%s\n", bz_last_error());
    remove_dir(dir, idx ? idx_names : cifar_names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fuzz_read npy|safetensors|idx|cifar100 FILE\n");
        return 2;
    }
    const char *kind = argv[1], *path = argv[2];
    if (strcmp(kind, "npy") == 0) {
        bz_named_tensor t;
        if (bz_npy_read(path, BZ_F32, &t) != 0 && bz_npy_read(path, BZ_I64, &t) != 0) {
            fprintf(stderr, "%s\n", bz_last_error());
            return 1;
        }
        free(t.data);
        return 0;
    }
    if (strcmp(kind, "safetensors") == 0) {
        bz_tensor_set set;
        if (bz_safetensors_read(path, &set) != 0) {
            fprintf(stderr, "%s\n", bz_last_error());
            return 1;
        }
        bz_tensor_set_free(&set);
        return 0;
    }
    if (strcmp(kind, "idx") == 0 || strcmp(kind, "cifar100") == 0) {
        size_t n;
        unsigned char *data = slurp(path, &n);
        if (!data)
            return 2;
        int rc = read_dataset(kind, data, n);
        free(data);
        return rc;
    }
    fprintf(stderr, "fuzz_read: unknown kind '%s'\n", kind);
    return 2;
}
