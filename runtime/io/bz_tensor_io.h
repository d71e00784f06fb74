/* safetensors and .npy files. */
#ifndef BZ_TENSOR_IO_H
#define BZ_TENSOR_IO_H

#include <stdint.h>

enum bz_dtype { BZ_F32, BZ_I64 };

typedef struct {
    char *name;
    int dtype;          /* enum bz_dtype */
    int ndim;
    int64_t shape[8];
    int64_t numel;
    void *data;         /* numel elements of dtype, owned */
} bz_named_tensor;

typedef struct {
    int count;
    bz_named_tensor *tensors;
} bz_tensor_set;

/* safetensors: 8-byte little-endian header length, JSON header
 * {"name": {"dtype": "F32"|"I64", "shape": [...], "data_offsets": [b, e]},
 *  "__metadata__": {...}}, then the raw little-endian data.
 * Reading validates everything (header length vs file size, JSON syntax,
 * dtypes, offsets in bounds, contiguous and non-overlapping, numel vs
 * byte size) and returns -1 with bz_last_error() naming the file. */
int bz_safetensors_read(const char *path, bz_tensor_set *out);
/* Writes atomically (temp file + rename), tensors in the given order. */
int bz_safetensors_write(const char *path, const bz_tensor_set *set);
const bz_named_tensor *bz_tensor_set_find(const bz_tensor_set *set, const char *name);
void bz_tensor_set_free(bz_tensor_set *set);

/* .npy version 1.0, C order, '<f4' or '<i8' (also accepts '<i4', '|u1',
 * '<f8', converted to the requested dtype).  Reading validates the magic,
 * header dict, shape against file size. */
int bz_npy_read(const char *path, int want_dtype, bz_named_tensor *out);
int bz_npy_write(const char *path, const bz_named_tensor *t);  /* atomic */
void bz_named_tensor_free(bz_named_tensor *t);

#endif
