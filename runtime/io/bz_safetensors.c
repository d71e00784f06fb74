/* safetensors reader and writer, and the tensor-set helpers.
 *
 * File layout:  [u64 LE header length N] [N bytes JSON header] [data]
 * The header maps tensor names to {"dtype", "shape", "data_offsets":
 * [begin, end]}, offsets relative to the start of the data section, which
 * the tensors must cover exactly, without gaps or overlaps. */
#include "io/bz_tensor_io.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/bz_util.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tensor data is stored little-endian; this host is not"
#endif

/* The reference implementation refuses headers above 100 MB. */
#define MAX_HEADER_BYTES 100000000ULL

typedef struct {
    uint64_t begin, end;
    int index;  /* into the tensor set */
} byte_range;

/* ---- tensor sets ----------------------------------------------------- */

const bz_named_tensor *bz_tensor_set_find(const bz_tensor_set *set, const char *name)
{
    for (int i = 0; i < set->count; i++)
        if (strcmp(set->tensors[i].name, name) == 0)
            return &set->tensors[i];
    return NULL;
}

void bz_named_tensor_free(bz_named_tensor *t)
{
    free(t->name);
    free(t->data);
    memset(t, 0, sizeof *t);
}

void bz_tensor_set_free(bz_tensor_set *set)
{
    for (int i = 0; i < set->count; i++)
        bz_named_tensor_free(&set->tensors[i]);
    free(set->tensors);
    set->tensors = NULL;
    set->count = 0;
}

/* ---- dtypes and shapes ----------------------------------------------- */

static const char *dtype_name(int dtype)
{
    return dtype == BZ_F32 ? "F32" : dtype == BZ_I64 ? "I64" : "?";
}

static int dtype_size(int dtype)
{
    return dtype == BZ_F32 ? 4 : 8;
}

static int dtype_from_name(const char *name)
{
    if (strcmp(name, "F32") == 0)
        return BZ_F32;
    if (strcmp(name, "I64") == 0)
        return BZ_I64;
    return -1;
}

/* Product of the dimensions, or -1 if it overflows int64. */
static int64_t checked_numel(const int64_t *shape, int ndim)
{
    int64_t numel = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0 || (shape[d] > 0 && numel > INT64_MAX / 8 / shape[d]))
            return -1;
        numel *= shape[d];
    }
    return numel;
}


/* ---- reading: header -------------------------------------------------- */


static uint64_t load_u64_le(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

/* Reads and parses the JSON header; *header_len is its length. */
static json_t *read_header(FILE *fp, const char *path, uint64_t file_size,
                           uint64_t *header_len)
{
    unsigned char len_bytes[8];
    if (file_size < 8 || fread(len_bytes, 1, 8, fp) != 8) {
        bz_error("%s: truncated: %" PRIu64 " bytes, a safetensors file starts "
                 "with an 8-byte header length", path, file_size);
        return NULL;
    }
    uint64_t n = load_u64_le(len_bytes);
    if (n > file_size - 8) {
        bz_error("%s: header length %" PRIu64 " exceeds the %" PRIu64
                 " bytes that follow it", path, n, file_size - 8);
        return NULL;
    }
    if (n > MAX_HEADER_BYTES) {
        bz_error("%s: header length %" PRIu64 " is over the %llu-byte limit",
                 path, n, MAX_HEADER_BYTES);
        return NULL;
    }
    char *text = bz_xmalloc((size_t)n + 1);
    json_t *root = NULL;
    json_error_t err;
    if (fread(text, 1, (size_t)n, fp) != (size_t)n)
        bz_error("%s: cannot read the %" PRIu64 "-byte header", path, n);
    else if (!(root = json_loadb(text, (size_t)n, JSON_REJECT_DUPLICATES, &err)))
        bz_error("%s: header is not valid JSON: %s (column %d)", path, err.text,
                 err.column);
    else if (!json_is_object(root)) {
        bz_error("%s: header is not a JSON object", path);
        json_decref(root);
        root = NULL;
    }
    free(text);
    *header_len = n;
    return root;
}

/* ---- reading: one entry ------------------------------------------------ */

static int parse_dtype(const char *path, const char *name, json_t *info,
                       bz_named_tensor *t)
{
    const char *dtype = json_string_value(json_object_get(info, "dtype"));
    if (!dtype) {
        bz_error("%s: tensor '%s' has no \"dtype\" string", path, name);
        return -1;
    }
    t->dtype = dtype_from_name(dtype);
    if (t->dtype < 0) {
        bz_error("%s: tensor '%s' has dtype '%s'; only F32 and I64 are supported",
                 path, name, dtype);
        return -1;
    }
    return 0;
}

static int parse_shape(const char *path, const char *name, json_t *info,
                       bz_named_tensor *t)
{
    json_t *shape = json_object_get(info, "shape"), *dim;
    size_t d;
    if (!json_is_array(shape)) {
        bz_error("%s: tensor '%s' has no \"shape\" array", path, name);
        return -1;
    }
    if (json_array_size(shape) > 8) {
        bz_error("%s: tensor '%s' has %zu dimensions; at most 8 are supported",
                 path, name, json_array_size(shape));
        return -1;
    }
    t->ndim = (int)json_array_size(shape);
    json_array_foreach(shape, d, dim) {
        if (!json_is_integer(dim) || json_integer_value(dim) < 0) {
            bz_error("%s: tensor '%s' shape entry %zu is not a non-negative "
                     "integer", path, name, d);
            return -1;
        }
        t->shape[d] = json_integer_value(dim);
    }
    t->numel = checked_numel(t->shape, t->ndim);
    if (t->numel < 0) {
        bz_error("%s: tensor '%s' shape is too large", path, name);
        return -1;
    }
    return 0;
}

static int parse_offsets(const char *path, const char *name, json_t *info,
                         uint64_t data_size, byte_range *range)
{
    json_t *offsets = json_object_get(info, "data_offsets");
    json_t *b = json_array_get(offsets, 0), *e = json_array_get(offsets, 1);
    if (json_array_size(offsets) != 2 || !json_is_integer(b) || !json_is_integer(e) ||
        json_integer_value(b) < 0 || json_integer_value(e) < json_integer_value(b)) {
        bz_error("%s: tensor '%s' needs \"data_offsets\": [begin, end] with "
                 "0 <= begin <= end", path, name);
        return -1;
    }
    range->begin = (uint64_t)json_integer_value(b);
    range->end = (uint64_t)json_integer_value(e);
    if (range->end > data_size) {
        bz_error("%s: tensor '%s' data_offsets [%" PRIu64 ", %" PRIu64 "] exceed "
                 "the %" PRIu64 "-byte data section", path, name, range->begin,
                 range->end, data_size);
        return -1;
    }
    return 0;
}

static int parse_entry(const char *path, const char *name, json_t *info,
                       uint64_t data_size, bz_named_tensor *t, byte_range *range)
{
    char shape_buf[200];
    if (!json_is_object(info)) {
        bz_error("%s: entry '%s' is not a JSON object", path, name);
        return -1;
    }
    if (parse_dtype(path, name, info, t) || parse_shape(path, name, info, t) ||
        parse_offsets(path, name, info, data_size, range))
        return -1;
    uint64_t bytes = (uint64_t)t->numel * (uint64_t)dtype_size(t->dtype);
    if (range->end - range->begin != bytes) {
        bz_error("%s: tensor '%s' data_offsets [%" PRIu64 ", %" PRIu64 "] do not "
                 "match %s shape %s (%" PRIu64 " bytes)", path, name, range->begin,
                 range->end, dtype_name(t->dtype),
                 bz_shape_text(t->shape, t->ndim, shape_buf, sizeof shape_buf), bytes);
        return -1;
    }
    t->name = strdup(name);
    if (!t->name)
        bz_fatal("out of memory");
    return 0;
}

/* ---- reading: layout and data ---------------------------------------- */

static int compare_ranges(const void *a, const void *b)
{
    const byte_range *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* The tensors must tile the data section: sorted by offset, each starts
 * where the previous one ended, and the last ends at the file's end. */
static int check_layout(const char *path, const bz_tensor_set *set,
                        byte_range *ranges, uint64_t data_size)
{
    qsort(ranges, (size_t)set->count, sizeof *ranges, compare_ranges);
    uint64_t next = 0;
    for (int i = 0; i < set->count; i++) {
        if (ranges[i].begin != next) {
            bz_error("%s: tensor '%s' data_offsets [%" PRIu64 ", %" PRIu64 "] %s "
                     "the previous tensor, which ends at %" PRIu64, path,
                     set->tensors[ranges[i].index].name, ranges[i].begin,
                     ranges[i].end, ranges[i].begin < next ? "overlap" : "leave a gap after",
                     next);
            return -1;
        }
        next = ranges[i].end;
    }
    if (next != data_size) {
        bz_error("%s: the header describes %" PRIu64 " data bytes but the file "
                 "holds %" PRIu64, path, next, data_size);
        return -1;
    }
    return 0;
}

static int read_data(FILE *fp, const char *path, bz_tensor_set *set,
                     const byte_range *ranges, uint64_t data_start)
{
    for (int i = 0; i < set->count; i++) {
        bz_named_tensor *t = &set->tensors[ranges[i].index];
        size_t bytes = (size_t)(ranges[i].end - ranges[i].begin);
        if (posix_memalign(&t->data, 64, bytes ? bytes : 64) != 0)
            bz_fatal("out of memory reading %s", path);
        if (fseeko(fp, (off_t)(data_start + ranges[i].begin), SEEK_SET) != 0 ||
            fread(t->data, 1, bytes, fp) != bytes) {
            bz_error("%s: cannot read the data of tensor '%s'", path, t->name);
            return -1;
        }
    }
    return 0;
}

static int parse_entries(const char *path, json_t *root, uint64_t data_size,
                         bz_tensor_set *set, byte_range *ranges)
{
    const char *name;
    json_t *info;
    json_object_foreach(root, name, info) {
        if (strcmp(name, "__metadata__") == 0)
            continue;
        int i = set->count++;
        ranges[i].index = i;
        if (parse_entry(path, name, info, data_size, &set->tensors[i], &ranges[i]))
            return -1;
    }
    return 0;
}

int bz_safetensors_read(const char *path, bz_tensor_set *out)
{
    uint64_t file_size, header_len;
    out->count = 0;
    out->tensors = NULL;
    FILE *fp = bz_open_regular_file(path, &file_size);
    if (!fp)
        return -1;
    json_t *root = read_header(fp, path, file_size, &header_len);
    int rc = -1;
    if (root) {
        uint64_t data_start = 8 + header_len, data_size = file_size - data_start;
        size_t entries = json_object_size(root);
        byte_range *ranges = bz_xcalloc(entries, sizeof *ranges);
        out->tensors = bz_xcalloc(entries, sizeof *out->tensors);
        rc = parse_entries(path, root, data_size, out, ranges);
        if (rc == 0)
            rc = check_layout(path, out, ranges, data_size);
        if (rc == 0)
            rc = read_data(fp, path, out, ranges, data_start);
        free(ranges);
        json_decref(root);
    }
    fclose(fp);
    if (rc != 0)
        bz_tensor_set_free(out);
    return rc;
}

/* ---- writing --------------------------------------------------------- */

static int check_tensor(const char *path, const bz_named_tensor *t)
{
    const char *name = t->name ? t->name : "(null)";
    if (!t->name || (t->dtype != BZ_F32 && t->dtype != BZ_I64) ||
        t->ndim < 0 || t->ndim > 8 || checked_numel(t->shape, t->ndim) != t->numel ||
        (t->numel > 0 && !t->data)) {
        bz_error("%s: tensor '%s' is not a valid F32/I64 tensor of at most 8 "
                 "dimensions with numel matching its shape", path, name);
        return -1;
    }
    return 0;
}

static json_t *entry_json(const bz_named_tensor *t, uint64_t begin, uint64_t end)
{
    json_t *shape = json_array();
    for (int d = 0; d < t->ndim; d++)
        json_array_append_new(shape, json_integer(t->shape[d]));
    return json_pack("{s:s, s:o, s:[I, I]}", "dtype", dtype_name(t->dtype),
                     "shape", shape, "data_offsets", (json_int_t)begin,
                     (json_int_t)end);
}

/* Compact JSON, keys in the set's order, padded with spaces to a multiple
 * of 8 bytes as the reference writer does.  NULL on error. */
static char *header_text(const char *path, const bz_tensor_set *set, size_t *len)
{
    json_t *root = json_object();
    uint64_t offset = 0;
    for (int i = 0; i < set->count; i++) {
        const bz_named_tensor *t = &set->tensors[i];
        if (check_tensor(path, t) != 0)
            goto fail;
        uint64_t bytes = (uint64_t)t->numel * (uint64_t)dtype_size(t->dtype);
        if (json_object_get(root, t->name) || strcmp(t->name, "__metadata__") == 0) {
            bz_error("%s: tensor name '%s' is duplicated or reserved", path, t->name);
            goto fail;
        }
        json_t *entry = entry_json(t, offset, offset + bytes);
        if (!entry || json_object_set_new(root, t->name, entry) != 0) {
            bz_error("%s: tensor name '%s' is not valid UTF-8", path, t->name);
            goto fail;
        }
        offset += bytes;
    }
    char *text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        bz_fatal("out of memory");
    size_t n = strlen(text), padded = (n + 7) / 8 * 8;
    text = realloc(text, padded + 1);
    if (!text)
        bz_fatal("out of memory");
    memset(text + n, ' ', padded - n);
    text[padded] = '\0';
    *len = padded;
    return text;
fail:
    json_decref(root);
    return NULL;
}

int bz_safetensors_write(const char *path, const bz_tensor_set *set)
{
    size_t header_len;
    char *header = header_text(path, set, &header_len);
    if (!header)
        return -1;
    unsigned char len_bytes[8];
    for (int i = 0; i < 8; i++)
        len_bytes[i] = (unsigned char)((uint64_t)header_len >> (8 * i));
    bz_atomic_file f;
    if (bz_atomic_open(&f, path) != 0) {
        free(header);
        return -1;
    }
    fwrite(len_bytes, 1, 8, f.fp);
    fwrite(header, 1, header_len, f.fp);
    free(header);
    for (int i = 0; i < set->count; i++) {
        const bz_named_tensor *t = &set->tensors[i];
        if (t->numel > 0)
            fwrite(t->data, (size_t)dtype_size(t->dtype), (size_t)t->numel, f.fp);
    }
    return bz_atomic_commit(&f);  /* reports any failed fwrite via ferror */
}
