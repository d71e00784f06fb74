/* NumPy .npy reader (versions 1.0 and 2.0) and writer (version 1.0).
 *
 * File layout:  "\x93NUMPY" major minor, header length (u16 LE in 1.0,
 * u32 LE in 2.0), then a Python dict literal such as
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n', then the raw C-order data. */
#include "io/bz_tensor_io.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/bz_util.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "tensor data is stored little-endian; this host is not"
#endif

#define MAX_HEADER_BYTES (1u << 20)
#define DATA_ALIGNMENT 64  /* numpy's ARRAY_ALIGN */

enum source_kind { SRC_F32, SRC_F64, SRC_I64, SRC_I32, SRC_U8 };

static const struct {
    const char *descr;
    int kind, size;
} source_dtypes[] = {
    {"<f4", SRC_F32, 4}, {"<f8", SRC_F64, 8}, {"<i8", SRC_I64, 8},
    {"<i4", SRC_I32, 4}, {"|u1", SRC_U8, 1},
};

typedef struct {
    char descr[16];
    int fortran_order;
    int ndim;
    int64_t shape[8];
} npy_header;

/* ---- header dict parsing --------------------------------------------- */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_spaces(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n'))
        c->p++;
}

/* Skips spaces, then tells whether ch comes next. */
static int next_is(cursor *c, char ch)
{
    skip_spaces(c);
    return c->p < c->end && *c->p == ch;
}

/* Skips spaces, then consumes ch if it comes next. */
static int accept(cursor *c, char ch)
{
    if (!next_is(c, ch))
        return 0;
    c->p++;
    return 1;
}

static int accept_word(cursor *c, const char *word)
{
    size_t n = strlen(word);
    skip_spaces(c);
    if ((size_t)(c->end - c->p) >= n && memcmp(c->p, word, n) == 0) {
        c->p += n;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes, at most size - 1 characters. */
static const char *parse_string(cursor *c, char *out, size_t size)
{
    skip_spaces(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return "expected a quoted string";
    char quote = *c->p++;
    size_t n = 0;
    while (c->p < c->end && *c->p != quote && *c->p != '\\' && n + 1 < size)
        out[n++] = *c->p++;
    if (c->p >= c->end || *c->p != quote)
        return "unterminated, escaped or overlong string";
    c->p++;
    out[n] = '\0';
    return NULL;
}

static const char *parse_bool(cursor *c, int *value)
{
    if (accept_word(c, "True"))
        *value = 1;
    else if (accept_word(c, "False"))
        *value = 0;
    else
        return "fortran_order is not True or False";
    return NULL;
}

static const char *parse_dim(cursor *c, int64_t *dim)
{
    skip_spaces(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return "shape entry is not a non-negative integer";
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v > (INT64_MAX - 9) / 10)
            return "shape entry is too large";
        v = v * 10 + (*c->p++ - '0');
    }
    if (c->p < c->end && *c->p == 'L')  /* Python 2 long */
        c->p++;
    *dim = v;
    return NULL;
}

/* "()", "(4,)", "(2, 3)" and "(2, 3,)". */
static const char *parse_shape(cursor *c, int64_t *shape, int *ndim)
{
    const char *err;
    if (!accept(c, '('))
        return "shape is not a tuple";
    *ndim = 0;
    while (!accept(c, ')')) {
        if (*ndim == 8)
            return "shape has more than 8 dimensions";
        if ((err = parse_dim(c, &shape[(*ndim)++])))
            return err;
        if (!accept(c, ',') && !next_is(c, ')'))
            return "shape tuple is malformed";
    }
    return NULL;
}

static const char *parse_entry(cursor *c, npy_header *h, int *seen)
{
    char key[32];
    const char *err = parse_string(c, key, sizeof key);
    if (err)
        return err;
    if (!accept(c, ':'))
        return "expected ':' after a key";
    int bit = strcmp(key, "descr") == 0 ? 1 : strcmp(key, "fortran_order") == 0 ? 2
            : strcmp(key, "shape") == 0 ? 4 : 0;
    if (!bit)
        return "unexpected key (only descr, fortran_order and shape)";
    if (*seen & bit)
        return "duplicated key";
    *seen |= bit;
    if (bit == 1)
        return parse_string(c, h->descr, sizeof h->descr);
    if (bit == 2)
        return parse_bool(c, &h->fortran_order);
    return parse_shape(c, h->shape, &h->ndim);
}

static const char *parse_header_dict(const char *text, size_t len, npy_header *h)
{
    cursor c = {text, text + len};
    const char *err;
    int seen = 0;
    if (!accept(&c, '{'))
        return "does not start with '{'";
    while (!accept(&c, '}')) {
        if ((err = parse_entry(&c, h, &seen)))
            return err;
        if (!accept(&c, ',') && !next_is(&c, '}'))
            return "expected ',' or '}'";
    }
    skip_spaces(&c);
    if (c.p != c.end)
        return "unexpected text after the dict";
    if (seen != 7)
        return "missing descr, fortran_order or shape";
    return NULL;
}

/* ---- reading ---------------------------------------------------------- */


/* Magic, version and header length; leaves fp at the header dict. */
static int read_preamble(FILE *fp, const char *path, uint64_t file_size,
                         uint64_t *header_len, uint64_t *data_start)
{
    unsigned char b[12];
    if (fread(b, 1, 10, fp) != 10 || memcmp(b, "\x93NUMPY", 6) != 0) {
        bz_error("%s: not a .npy file (no \\x93NUMPY magic)", path);
        return -1;
    }
    if ((b[6] != 1 && b[6] != 2) || b[7] != 0) {
        bz_error("%s: unsupported .npy version %d.%d (1.0 and 2.0 are)", path,
                 b[6], b[7]);
        return -1;
    }
    if (b[6] == 2 && fread(b + 10, 1, 2, fp) != 2) {
        bz_error("%s: truncated .npy preamble", path);
        return -1;
    }
    *header_len = b[6] == 1 ? (uint64_t)b[8] | (uint64_t)b[9] << 8
                : (uint64_t)b[8] | (uint64_t)b[9] << 8 | (uint64_t)b[10] << 16 |
                  (uint64_t)b[11] << 24;
    *data_start = (b[6] == 1 ? 10 : 12) + *header_len;
    if (*data_start > file_size) {
        bz_error("%s: header length %" PRIu64 " runs past the end of the "
                 "%" PRIu64 "-byte file", path, *header_len, file_size);
        return -1;
    }
    if (*header_len > MAX_HEADER_BYTES) {
        bz_error("%s: header length %" PRIu64 " is over the %u-byte limit", path,
                 *header_len, MAX_HEADER_BYTES);
        return -1;
    }
    return 0;
}

static int read_header(FILE *fp, const char *path, uint64_t file_size,
                       npy_header *h, uint64_t *data_start)
{
    uint64_t len;
    if (read_preamble(fp, path, file_size, &len, data_start) != 0)
        return -1;
    char *text = bz_xmalloc((size_t)len + 1);
    const char *err = NULL;
    if (fread(text, 1, (size_t)len, fp) != (size_t)len)
        err = "cannot be read";
    else
        err = parse_header_dict(text, (size_t)len, h);
    free(text);
    if (err) {
        bz_error("%s: bad .npy header: %s", path, err);
        return -1;
    }
    return 0;
}

static int find_source_dtype(const char *path, const npy_header *h)
{
    for (size_t i = 0; i < sizeof source_dtypes / sizeof source_dtypes[0]; i++)
        if (strcmp(h->descr, source_dtypes[i].descr) == 0)
            return (int)i;
    bz_error("%s: dtype '%s' is not supported ('<f4', '<f8', '<i8', '<i4' "
             "and '|u1' are)", path, h->descr);
    return -1;
}


/* Element count of the header's shape, checked against the data bytes. */
static int64_t checked_numel(const char *path, const npy_header *h, int elem_size,
                             uint64_t data_bytes)
{
    char shape_buf[200];
    uint64_t numel = 1;
    for (int d = 0; d < h->ndim; d++) {
        if (h->shape[d] == 0)
            numel = 0;
        else if (numel > data_bytes / (uint64_t)h->shape[d])
            numel = data_bytes + 1;  /* too large either way */
        else
            numel *= (uint64_t)h->shape[d];
    }
    if (numel > data_bytes) {
        bz_error("%s: shape %s of '%s' needs more than the %" PRIu64 " data "
                 "bytes in the file", path, bz_shape_text(h->shape, h->ndim, shape_buf, sizeof shape_buf),
                 h->descr, data_bytes);
        return -1;
    }
    if (numel * (uint64_t)elem_size != data_bytes) {
        bz_error("%s: shape %s of '%s' needs %" PRIu64 " data bytes but the file "
                 "holds %" PRIu64, path, bz_shape_text(h->shape, h->ndim, shape_buf, sizeof shape_buf),
                 h->descr, numel * (uint64_t)elem_size, data_bytes);
        return -1;
    }
    return (int64_t)numel;
}

static void convert_to_f32(const void *src, int kind, int64_t n, float *dst)
{
    for (int64_t i = 0; i < n; i++) {
        switch (kind) {
        case SRC_F32: dst[i] = ((const float *)src)[i]; break;
        case SRC_F64: dst[i] = (float)((const double *)src)[i]; break;
        case SRC_I64: dst[i] = (float)((const int64_t *)src)[i]; break;
        case SRC_I32: dst[i] = (float)((const int32_t *)src)[i]; break;
        default: dst[i] = ((const uint8_t *)src)[i]; break;
        }
    }
}

/* Floats convert only when they hold an integer; returns the index of the
 * first one that does not, or -1. */
static int64_t convert_to_i64(const void *src, int kind, int64_t n, int64_t *dst)
{
    for (int64_t i = 0; i < n; i++) {
        double f = kind == SRC_F32 ? ((const float *)src)[i]
                 : kind == SRC_F64 ? ((const double *)src)[i] : 0.0;
        switch (kind) {
        case SRC_I64: dst[i] = ((const int64_t *)src)[i]; break;
        case SRC_I32: dst[i] = ((const int32_t *)src)[i]; break;
        case SRC_U8: dst[i] = ((const uint8_t *)src)[i]; break;
        default:
            if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0) ||
                f != floor(f))
                return i;
            dst[i] = (int64_t)f;
        }
    }
    return -1;
}

static int read_and_convert(FILE *fp, const char *path, int src, int want_dtype,
                            bz_named_tensor *out)
{
    int kind = source_dtypes[src].kind;
    size_t src_bytes = (size_t)out->numel * (size_t)source_dtypes[src].size;
    size_t out_bytes = (size_t)out->numel * (want_dtype == BZ_F32 ? 4 : 8);
    int same = (kind == SRC_F32 && want_dtype == BZ_F32) ||
               (kind == SRC_I64 && want_dtype == BZ_I64);
    if (posix_memalign(&out->data, 64, out_bytes ? out_bytes : 64) != 0)
        bz_fatal("out of memory reading %s", path);
    void *raw = same ? out->data : bz_xmalloc(src_bytes);
    int64_t bad = -1;
    if (fread(raw, 1, src_bytes, fp) != src_bytes) {
        bz_error("%s: cannot read the data", path);
        bad = 0;
    } else if (!same && want_dtype == BZ_F32) {
        convert_to_f32(raw, kind, out->numel, out->data);
    } else if (!same) {
        bad = convert_to_i64(raw, kind, out->numel, out->data);
        if (bad >= 0)
            bz_error("%s: cannot read '%s' data as int64: element %" PRId64
                     " is not an integer", path, source_dtypes[src].descr, bad);
    }
    if (!same)
        free(raw);
    return bad >= 0 ? -1 : 0;
}

/* out->name is set to a copy of the path. */
int bz_npy_read(const char *path, int want_dtype, bz_named_tensor *out)
{
    npy_header h;
    uint64_t file_size, data_start;
    int rc = -1, src = -1;
    memset(out, 0, sizeof *out);
    if (want_dtype != BZ_F32 && want_dtype != BZ_I64) {
        bz_error("%s: requested dtype must be F32 or I64", path);
        return -1;
    }
    FILE *fp = bz_open_regular_file(path, &file_size);
    if (!fp)
        return -1;
    memset(&h, 0, sizeof h);
    if (read_header(fp, path, file_size, &h, &data_start) == 0 &&
        (src = find_source_dtype(path, &h)) >= 0) {
        if (h.fortran_order)
            bz_error("%s: fortran_order True is not supported (save a "
                     "C-contiguous array)", path);
        else if ((out->numel = checked_numel(path, &h, source_dtypes[src].size,
                                             file_size - data_start)) >= 0)
            rc = 0;
    }
    if (rc == 0) {
        out->dtype = want_dtype;
        out->ndim = h.ndim;
        memcpy(out->shape, h.shape, sizeof h.shape);
        rc = read_and_convert(fp, path, src, want_dtype, out);
    }
    fclose(fp);
    if (rc == 0 && !(out->name = strdup(path)))
        bz_fatal("out of memory");
    if (rc != 0)
        bz_named_tensor_free(out);
    return rc;
}

/* ---- writing --------------------------------------------------------- */

static int check_tensor(const char *path, const bz_named_tensor *t)
{
    int64_t numel = 1;
    int ok = (t->dtype == BZ_F32 || t->dtype == BZ_I64) && t->ndim >= 0 &&
             t->ndim <= 8;
    for (int d = 0; ok && d < t->ndim; d++) {
        ok = t->shape[d] >= 0 && (t->shape[d] == 0 || numel <= INT64_MAX / 8 / t->shape[d]);
        numel *= ok ? t->shape[d] : 1;
    }
    if (!ok || numel != t->numel || (numel > 0 && !t->data)) {
        bz_error("%s: not a valid F32/I64 tensor of at most 8 dimensions with "
                 "numel matching its shape", path);
        return -1;
    }
    return 0;
}

/* The dict, padded with spaces and ended by '\n' so that the data starts
 * at a multiple of 64 bytes. */
static size_t header_text(const bz_named_tensor *t, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "{'descr': '%s', 'fortran_order': False, "
                                "'shape': (", t->dtype == BZ_F32 ? "<f4" : "<i8");
    for (int d = 0; d < t->ndim; d++)
        n += (size_t)snprintf(buf + n, size - n, "%s%" PRId64, d ? ", " : "", t->shape[d]);
    n += (size_t)snprintf(buf + n, size - n, "%s), }", t->ndim == 1 ? "," : "");
    size_t total = (10 + n + 1 + DATA_ALIGNMENT - 1) / DATA_ALIGNMENT * DATA_ALIGNMENT;
    memset(buf + n, ' ', total - 10 - n - 1);
    buf[total - 10 - 1] = '\n';
    return total - 10;
}

int bz_npy_write(const char *path, const bz_named_tensor *t)
{
    char header[512];  /* 8 dims of 19 digits fit with room to spare */
    if (check_tensor(path, t) != 0)
        return -1;
    size_t len = header_text(t, header, sizeof header);
    unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                  (unsigned char)(len & 0xff), (unsigned char)(len >> 8)};
    bz_atomic_file f;
    if (bz_atomic_open(&f, path) != 0)
        return -1;
    fwrite(preamble, 1, sizeof preamble, f.fp);
    fwrite(header, 1, len, f.fp);
    if (t->numel > 0)
        fwrite(t->data, t->dtype == BZ_F32 ? 4 : 8, (size_t)t->numel, f.fp);
    return bz_atomic_commit(&f);  /* reports any failed fwrite via ferror */
}
