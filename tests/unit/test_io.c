/* needs: util/bz_util.c io/bz_safetensors.c io/bz_npy.c */
/* safetensors and .npy: round trips, the on-disk format (checked with
 * NumPy where /usr/bin/python3 has it), and malformed files, each of which
 * must give -1 and a message naming the file, never a crash. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bz_check.h"
#include "test_tmp.h"
#include "io/bz_tensor_io.h"
#include "util/bz_util.h"

static char tmpdir[] = "/tmp/bz_test_io_XXXXXX";
static int have_numpy;

/* ---- helpers --------------------------------------------------------- */


static void write_bytes(const char *path, const void *bytes, size_t n)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(bytes, 1, n, fp) != n || fclose(fp) != 0)
        bz_fatal("cannot write %s", path);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    *n = (size_t)ftell(fp);
    rewind(fp);
    unsigned char *b = bz_xmalloc(*n + 1);
    if (fread(b, 1, *n, fp) != *n)
        *n = 0;
    fclose(fp);
    b[*n] = 0;
    return b;
}

/* A safetensors file from a header text (not padded) and data bytes. */
static void write_safetensors_raw(const char *path, const char *header,
                                  const void *data, size_t data_len)
{
    size_t hlen = strlen(header);
    unsigned char *b = bz_xmalloc(8 + hlen + data_len);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, header, hlen);
    if (data_len)
        memcpy(b + 8 + hlen, data, data_len);
    write_bytes(path, b, 8 + hlen + data_len);
    free(b);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int run_python(const char *script_name, const char *script)
{
    const char *script_path = in_tmp(script_name);
    char cmd[1200];
    write_bytes(script_path, script, strlen(script));
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", script_path, tmpdir);
    return system(cmd);
}

/* Expects the read to fail with a message naming the file. */
static void check_st_rejected(const char *name, const char *path, const char *expect)
{
    bz_tensor_set set = {5, NULL};
    int rc = bz_safetensors_read(path, &set);
    const char *msg = bz_last_error();
    CHECK(rc == -1 && strstr(msg, path) && (!expect || strstr(msg, expect)) &&
          set.count == 0 && set.tensors == NULL && !strchr(msg, '\n'),
          name, "rc %d, count %d, message '%s' (want '%s')", rc, set.count, msg,
          expect ? expect : "");
}

static void check_npy_rejected(const char *name, const char *path, int dtype,
                               const char *expect)
{
    bz_named_tensor t;
    int rc = bz_npy_read(path, dtype, &t);
    const char *msg = bz_last_error();
    CHECK(rc == -1 && strstr(msg, path) && (!expect || strstr(msg, expect)) &&
          t.data == NULL && t.name == NULL,
          name, "rc %d, message '%s' (want '%s')", rc, msg, expect ? expect : "");
}

/* ---- safetensors ----------------------------------------------------- */

static float w_data[6] = {1.5f, -2.0f, 3.25f, 0.0f, -0.0f, 1e-30f};
static int64_t idx_data[4] = {0, -1, INT64_MAX, INT64_MIN};
static int64_t nbt_data[1] = {7};

static bz_tensor_set example_set(bz_named_tensor *t)
{
    memset(t, 0, 4 * sizeof *t);
    t[0] = (bz_named_tensor){"conv.weight", BZ_F32, 2, {2, 3}, 6, w_data};
    t[1] = (bz_named_tensor){"bn.num_batches_tracked", BZ_I64, 0, {0}, 1, nbt_data};
    t[2] = (bz_named_tensor){"idx", BZ_I64, 1, {4}, 4, idx_data};
    t[3] = (bz_named_tensor){"empty", BZ_F32, 2, {0, 5}, 0, NULL};
    return (bz_tensor_set){4, t};
}

static int same_contents(const bz_named_tensor *a, const bz_named_tensor *b)
{
    size_t bytes = (size_t)a->numel * (a->dtype == BZ_F32 ? 4 : 8);
    return a->dtype == b->dtype &&
           a->ndim == b->ndim && a->numel == b->numel &&
           memcmp(a->shape, b->shape, (size_t)a->ndim * sizeof a->shape[0]) == 0 &&
           (bytes == 0 || memcmp(a->data, b->data, bytes) == 0);
}

static void test_safetensors_round_trip(void)
{
    bz_named_tensor t[4];
    bz_tensor_set set = example_set(t), back;
    const char *path = in_tmp("w.safetensors");
    CHECK(bz_safetensors_write(path, &set) == 0, "safetensors write", "%s", bz_last_error());
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0, "safetensors write leaves no temp file", "%s exists", tmp);
    int rc = bz_safetensors_read(path, &back);
    CHECK(rc == 0 && back.count == 4, "safetensors read back", "rc %d count %d: %s", rc,
          back.count, bz_last_error());
    if (rc != 0)
        return;
    int same = 1, aligned = 1;
    for (int i = 0; i < 4; i++) {
        same &= strcmp(t[i].name, back.tensors[i].name) == 0 &&
                same_contents(&t[i], &back.tensors[i]);
        aligned &= ((uintptr_t)back.tensors[i].data % 64) == 0;
    }
    CHECK(same, "safetensors round trip: names, order, shapes, values (F32, I64, 0-d, empty)", " ");
    CHECK(aligned, "safetensors data is 64-byte aligned", " ");
    const bz_named_tensor *nbt = bz_tensor_set_find(&back, "bn.num_batches_tracked");
    CHECK(nbt && nbt->ndim == 0 && nbt->numel == 1 && ((int64_t *)nbt->data)[0] == 7,
          "safetensors 0-d I64 tensor", " ");
    CHECK(bz_tensor_set_find(&back, "missing") == NULL, "bz_tensor_set_find unknown name", " ");
    bz_tensor_set_free(&back);
    CHECK(back.count == 0 && back.tensors == NULL, "bz_tensor_set_free clears the set", " ");
}

static void test_safetensors_format(void)
{
    size_t n;
    unsigned char *b = read_bytes(in_tmp("w.safetensors"), &n);
    const char *expect = "{\"conv.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],"
                         "\"data_offsets\":[0,24]},\"bn.num_batches_tracked\":"
                         "{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]},"
                         "\"idx\":{\"dtype\":\"I64\",\"shape\":[4],\"data_offsets\":"
                         "[32,64]},\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],"
                         "\"data_offsets\":[64,64]}}";
    uint64_t hlen = 0;
    for (int i = 7; b && n >= 8 && i >= 0; i--)
        hlen = (hlen << 8) | b[i];
    int padded = b && hlen % 8 == 0 && hlen >= strlen(expect) && 8 + hlen + 64 == n;
    CHECK(padded, "safetensors header padded to a multiple of 8, data follows", "hlen %llu, size %zu",
          (unsigned long long)hlen, n);
    int spaces_only = padded && memcmp(b + 8, expect, strlen(expect)) == 0;
    for (size_t i = strlen(expect); spaces_only && i < hlen; i++)
        spaces_only = b[8 + i] == ' ';
    CHECK(spaces_only, "safetensors header is compact JSON in insertion order", "%.*s",
          (int)(b ? hlen : 0), b ? (char *)b + 8 : "");
    free(b);
}

/* NumPy reads our file by hand (struct + json) and writes one with
 * __metadata__, a different key order, and offsets not in key order. */
static void test_safetensors_python(void)
{
    if (!have_numpy) {
        printf("ok - safetensors cross-check with NumPy # SKIP no /usr/bin/python3 numpy\n");
        return;
    }
    const char *script =
        "import json, struct, sys, numpy as np\n"
        "d = sys.argv[1]\n"
        "b = open(d + '/w.safetensors', 'rb').read()\n"
        "n = struct.unpack('<Q', b[:8])[0]\n"
        "h = json.loads(b[8:8 + n])\n"
        "w = h['conv.weight']; s, e = w['data_offsets']\n"
        "a = np.frombuffer(b[8 + n + s:8 + n + e], '<f4').reshape(w['shape'])\n"
        "assert a.tolist() == [[1.5, -2.0, 3.25], [0.0, -0.0, np.float32(1e-30)]], a\n"
        "i = h['idx']; s, e = i['data_offsets']\n"
        "assert np.frombuffer(b[8 + n + s:8 + n + e], '<i8').tolist() == [0, -1, 2**63 - 1, -2**63]\n"
        "x = np.arange(12, dtype='<f4').reshape(3, 4) / 8\n"
        "y = np.array([3, 1, 4], dtype='<i8')\n"
        "hdr = {'__metadata__': {'format': 'pt'},\n"
        "       'y': {'dtype': 'I64', 'shape': [3], 'data_offsets': [0, 24]},\n"
        "       'x': {'shape': [3, 4], 'data_offsets': [24, 72], 'dtype': 'F32'}}\n"
        "t = json.dumps(hdr).encode()\n"
        "open(d + '/py.safetensors', 'wb').write(struct.pack('<Q', len(t)) + t + y.tobytes() + x.tobytes())\n";
    CHECK(run_python("st.py", script) == 0, "NumPy reads our safetensors file", " ");
    bz_tensor_set set;
    int rc = bz_safetensors_read(in_tmp("py.safetensors"), &set);
    CHECK(rc == 0 && set.count == 2, "read safetensors written by Python (with __metadata__)",
          "%s", bz_last_error());
    if (rc != 0)
        return;
    const bz_named_tensor *x = bz_tensor_set_find(&set, "x"), *y = bz_tensor_set_find(&set, "y");
    int ok = x && y && x->dtype == BZ_F32 && x->ndim == 2 && x->shape[0] == 3 &&
             x->shape[1] == 4 && y->dtype == BZ_I64 && y->numel == 3 &&
             ((int64_t *)y->data)[2] == 4;
    for (int i = 0; ok && i < 12; i++)
        ok = ((float *)x->data)[i] == (float)i / 8;
    CHECK(ok, "Python safetensors values", " ");
    bz_tensor_set_free(&set);
}

static void test_safetensors_malformed(void)
{
    const char *p = in_tmp("bad.safetensors");
    unsigned char zeros[64] = {0};
    float four[4] = {1, 2, 3, 4};

    write_bytes(p, "", 0);
    check_st_rejected("safetensors empty file", p, "truncated");
    write_bytes(p, "\x10\0\0", 3);
    check_st_rejected("safetensors 3-byte file", p, "truncated");
    write_bytes(p, "\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10);
    check_st_rejected("safetensors header length 2^63", p, "header length");
    write_bytes(p, "\x40\0\0\0\0\0\0\0{}", 10);
    check_st_rejected("safetensors header length beyond the file", p, "header length");
    write_safetensors_raw(p, "{\"a\": {\"dtype\": ", NULL, 0);
    check_st_rejected("safetensors bad JSON", p, "not valid JSON");
    write_safetensors_raw(p, "[1, 2]", NULL, 0);
    check_st_rejected("safetensors JSON array header", p, "not a JSON object");
    write_safetensors_raw(p, "{\"a\": 3}", NULL, 0);
    check_st_rejected("safetensors entry not an object", p, "'a'");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", zeros, 4);
    check_st_rejected("safetensors unsupported dtype F16", p, "F16");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"Q9\",\"shape\":[2],\"data_offsets\":[0,4]}}", zeros, 4);
    check_st_rejected("safetensors unknown dtype", p, "Q9");
    write_safetensors_raw(p, "{\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}}", zeros, 8);
    check_st_rejected("safetensors missing dtype", p, "dtype");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", zeros, 8);
    check_st_rejected("safetensors missing shape", p, "shape");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", zeros, 8);
    check_st_rejected("safetensors negative dimension", p, "shape");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", zeros, 8);
    check_st_rejected("safetensors non-integer dimension", p, "shape");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", zeros, 8);
    check_st_rejected("safetensors 9 dimensions", p, "dimensions");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,8]}}", zeros, 8);
    check_st_rejected("safetensors shape product overflows", p, "too large");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", zeros, 8);
    check_st_rejected("safetensors missing data_offsets", p, "data_offsets");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", zeros, 8);
    check_st_rejected("safetensors data_offsets with one entry", p, "data_offsets");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", zeros, 8);
    check_st_rejected("safetensors reversed data_offsets", p, "begin <= end");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", zeros, 8);
    check_st_rejected("safetensors negative data_offsets", p, "data_offsets");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[250],\"data_offsets\":[0,1000]}}", zeros, 8);
    check_st_rejected("safetensors data_offsets beyond the file", p, "exceed the 8-byte data section");
    write_safetensors_raw(p, "{\"x\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,12]}}", four, 12);
    {
        char want[600];
        snprintf(want, sizeof want, "%s: tensor 'x' data_offsets [0, 12] do not match "
                 "F32 shape [4] (16 bytes)", p);
        CHECK(bz_safetensors_read(p, &(bz_tensor_set){0, NULL}) == -1 &&
              strcmp(bz_last_error(), want) == 0, "safetensors size mismatch message",
              "got '%s'", bz_last_error());
    }
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,8]}}", zeros, 8);
    check_st_rejected("safetensors I64 shape vs bytes", p, "do not match I64 shape [2] (16 bytes)");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                          "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", zeros, 12);
    check_st_rejected("safetensors overlapping tensors", p, "overlap");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                          "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", zeros, 12);
    check_st_rejected("safetensors gap between tensors", p, "gap");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", zeros, 12);
    check_st_rejected("safetensors trailing data not described", p, "describes 4 data bytes");
    write_safetensors_raw(p, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                          "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", zeros, 8);
    check_st_rejected("safetensors duplicate keys", p, "not valid JSON");
    check_st_rejected("safetensors missing file", in_tmp("nope.safetensors"), "cannot open");
    check_st_rejected("safetensors directory", tmpdir, "not a regular file");
}

/* Every truncation of a valid file and a sweep of single-byte corruptions
 * must be handled without a crash (ASan/UBSan watch). */
static void test_safetensors_fuzz(void)
{
    size_t n;
    unsigned char *good = read_bytes(in_tmp("w.safetensors"), &n);
    const char *p = in_tmp("fuzz.safetensors");
    bz_tensor_set set;
    int truncations_rejected = good != NULL;
    for (size_t len = 0; good && len < n; len++) {
        write_bytes(p, good, len);
        truncations_rejected &= bz_safetensors_read(p, &set) == -1 && set.count == 0;
    }
    CHECK(truncations_rejected, "safetensors: every truncation is rejected", " ");
    int consistent = good != NULL;
    for (size_t i = 0; good && i < n; i += 3) {
        unsigned char saved = good[i];
        good[i] = (unsigned char)(saved ^ (i % 7 == 0 ? 0x80 : 0x11));
        write_bytes(p, good, n);
        int rc = bz_safetensors_read(p, &set);
        consistent &= (rc == 0 && set.count > 0) || (rc == -1 && set.count == 0);
        bz_tensor_set_free(&set);
        good[i] = saved;
    }
    CHECK(consistent, "safetensors: corrupted bytes give a clean result or error", " ");
    free(good);
}

static void test_safetensors_write_errors(void)
{
    bz_named_tensor t[4];
    bz_tensor_set set = example_set(t);
    t[2].name = "conv.weight";
    CHECK(bz_safetensors_write(in_tmp("dup.safetensors"), &set) == -1 &&
          strstr(bz_last_error(), "duplicated") &&
          access(in_tmp("dup.safetensors"), F_OK) != 0,
          "safetensors write rejects duplicate names", "%s", bz_last_error());
    set = example_set(t);
    t[0].numel = 5;
    CHECK(bz_safetensors_write(in_tmp("n.safetensors"), &set) == -1 &&
          strstr(bz_last_error(), "conv.weight"),
          "safetensors write rejects numel not matching shape", "%s", bz_last_error());
    set = example_set(t);
    const char *nodir = in_tmp("no/such/dir/w.safetensors");
    CHECK(bz_safetensors_write(nodir, &set) == -1 && strstr(bz_last_error(), nodir),
          "safetensors write into a missing directory fails cleanly", "%s", bz_last_error());
}

/* ---- npy ------------------------------------------------------------- */

static void test_npy_round_trip(void)
{
    float f[6] = {0.5f, -1, 2, 3, 4, 1e20f};
    int64_t l[5] = {9, 0, -3, INT64_MAX, 2};
    float scalar = 42;
    bz_named_tensor cases[4] = {
        {NULL, BZ_F32, 2, {2, 3}, 6, f},
        {NULL, BZ_I64, 1, {5}, 5, l},
        {NULL, BZ_F32, 0, {0}, 1, &scalar},
        {NULL, BZ_F32, 2, {0, 3}, 0, NULL},
    };
    const char *names[4] = {"f.npy", "l.npy", "s.npy", "e.npy"};
    int ok = 1, aligned = 1;
    for (int i = 0; i < 4; i++) {
        const char *path = in_tmp(names[i]);
        bz_named_tensor back;
        ok &= bz_npy_write(path, &cases[i]) == 0;
        ok &= bz_npy_read(path, cases[i].dtype, &back) == 0;
        if (!ok)
            break;
        size_t n;
        unsigned char *b = read_bytes(path, &n);
        size_t hlen = (size_t)b[8] | (size_t)b[9] << 8;
        aligned &= memcmp(b, "\x93NUMPY\x01\x00", 8) == 0 && (10 + hlen) % 64 == 0 &&
                   b[10 + hlen - 1] == '\n';
        free(b);
        ok &= same_contents(&cases[i], &back);
        bz_named_tensor_free(&back);
    }
    CHECK(ok, "npy round trip (F32 2-d, I64 1-d, 0-d, empty)", "%s", bz_last_error());
    CHECK(aligned, "npy v1.0 header ends with newline, data at a multiple of 64", " ");
}

static void test_npy_python(void)
{
    if (!have_numpy) {
        printf("ok - npy cross-check with NumPy # SKIP no /usr/bin/python3 numpy\n");
        return;
    }
    const char *script =
        "import sys, numpy as np\n"
        "d = sys.argv[1] + '/'\n"
        "a = np.load(d + 'f.npy'); assert a.dtype == np.float32 and a.shape == (2, 3), a\n"
        "assert a.tolist() == [[0.5, -1, 2], [3, 4, np.float32(1e20)]], a\n"
        "b = np.load(d + 'l.npy'); assert b.dtype == np.int64 and b.tolist() == [9, 0, -3, 2**63 - 1, 2]\n"
        "s = np.load(d + 's.npy'); assert s.shape == () and s == 42\n"
        "e = np.load(d + 'e.npy'); assert e.shape == (0, 3)\n"
        "x = np.arange(24).reshape(2, 3, 4)\n"
        "np.save(d + 'p_f4.npy', (x / 4).astype('<f4'))\n"
        "np.save(d + 'p_f8.npy', x / 4)\n"
        "np.save(d + 'p_i8.npy', x.astype('<i8') - 5)\n"
        "np.save(d + 'p_i4.npy', x.astype('<i4') - 5)\n"
        "np.save(d + 'p_u1.npy', (x * 10).astype('u1'))\n"
        "np.save(d + 'p_f4_int.npy', np.array([3, 0, 9], dtype='<f4'))\n"
        "np.save(d + 'p_f4_frac.npy', np.array([3, 0.5], dtype='<f4'))\n"
        "np.save(d + 'p_fortran.npy', np.asfortranarray(x[0].astype('<f4')))\n"
        "np.save(d + 'p_big.npy', x.astype('>f4'))\n"
        "np.save(d + 'p_bool.npy', x > 3)\n"
        "with open(d + 'p_v2.npy', 'wb') as f:\n"
        "    np.lib.format.write_array(f, (x / 4).astype('<f4'), version=(2, 0))\n";
    CHECK(run_python("npy.py", script) == 0, "NumPy loads our .npy files and writes test files", " ");
    const char *sources[5] = {"p_f4.npy", "p_f8.npy", "p_i8.npy", "p_i4.npy", "p_u1.npy"};
    for (int s = 0; s < 5; s++) {
        for (int want = BZ_F32; want <= BZ_I64; want++) {
            bz_named_tensor t;
            char name[100];
            snprintf(name, sizeof name, "npy from NumPy: %s as %s", sources[s],
                     want == BZ_F32 ? "F32" : "I64");
            int is_float = s < 2, rc = bz_npy_read(in_tmp(sources[s]), want, &t);
            int ok = rc == 0 && t.dtype == want && t.ndim == 3 && t.shape[0] == 2 &&
                     t.shape[1] == 3 && t.shape[2] == 4 && t.numel == 24;
            for (int i = 0; ok && i < 24; i++) {
                double expect = s < 2 ? i / 4.0 : s < 4 ? i - 5 : i * 10 % 256;
                double got = want == BZ_F32 ? ((float *)t.data)[i] : (double)((int64_t *)t.data)[i];
                ok = got == expect;
            }
            if (is_float && want == BZ_I64)  /* i/4 is fractional */
                CHECK(rc == -1 && strstr(bz_last_error(), "not an integer"), name,
                      "rc %d: %s", rc, bz_last_error());
            else
                CHECK(ok, name, "rc %d: %s", rc, bz_last_error());
            if (rc == 0)
                bz_named_tensor_free(&t);
        }
    }
    bz_named_tensor t;
    int rc = bz_npy_read(in_tmp("p_v2.npy"), BZ_F32, &t);
    CHECK(rc == 0 && t.numel == 24 && ((float *)t.data)[23] == 23 / 4.0f,
          "npy version 2.0 from NumPy", "%s", bz_last_error());
    if (rc == 0)
        bz_named_tensor_free(&t);
    rc = bz_npy_read(in_tmp("p_f4_int.npy"), BZ_I64, &t);
    CHECK(rc == 0 && ((int64_t *)t.data)[2] == 9, "npy integral '<f4' read as I64", "%s",
          bz_last_error());
    if (rc == 0)
        bz_named_tensor_free(&t);
    check_npy_rejected("npy fractional '<f4' as I64", in_tmp("p_f4_frac.npy"), BZ_I64, "element 1");
    check_npy_rejected("npy fortran_order True", in_tmp("p_fortran.npy"), BZ_F32, "fortran_order");
    check_npy_rejected("npy big-endian '>f4'", in_tmp("p_big.npy"), BZ_F32, "'>f4'");
    check_npy_rejected("npy bool", in_tmp("p_bool.npy"), BZ_F32, "'|b1'");
}

/* A v1.0 file from a header dict (padded here) and data bytes. */
static void write_npy_raw(const char *path, const char *dict, const void *data, size_t n)
{
    char header[512];
    size_t len = strlen(dict), total = (10 + len + 1 + 63) / 64 * 64;
    memcpy(header, "\x93NUMPY\x01\x00", 8);
    header[8] = (char)((total - 10) & 0xff);
    header[9] = (char)((total - 10) >> 8);
    memcpy(header + 10, dict, len);
    memset(header + 10 + len, ' ', total - 10 - len);
    header[total - 1] = '\n';
    unsigned char *b = bz_xmalloc(total + n);
    memcpy(b, header, total);
    if (n)
        memcpy(b + total, data, n);
    write_bytes(path, b, total + n);
    free(b);
}

static void test_npy_malformed(void)
{
    const char *p = in_tmp("bad.npy");
    float data[8] = {0};
    bz_named_tensor t;

    write_bytes(p, "", 0);
    check_npy_rejected("npy empty file", p, BZ_F32, "magic");
    write_bytes(p, "\x93NUMPX\x01\x00\x10\x00{}", 12);
    check_npy_rejected("npy bad magic", p, BZ_F32, "magic");
    write_bytes(p, "\x93NUMPY\x03\x00\x10\x00\x00\x00{}", 14);
    check_npy_rejected("npy version 3.0", p, BZ_F32, "version 3.0");
    write_bytes(p, "\x93NUMPY\x02\x00\x10", 9);
    check_npy_rejected("npy truncated preamble", p, BZ_F32, NULL);
    write_bytes(p, "\x93NUMPY\x01\x00\xff\xff{}", 12);
    check_npy_rejected("npy header length beyond the file", p, BZ_F32, "header length");
    write_bytes(p, "\x93NUMPY\x02\x00\xff\xff\xff\xff{}", 14);
    check_npy_rejected("npy v2 header length 4 GiB", p, BZ_F32, "header length");
    write_npy_raw(p, "garbage", data, 8);
    check_npy_rejected("npy garbage header", p, BZ_F32, "bad .npy header");
    write_npy_raw(p, "{'descr': '<f4', 'shape': (2,), }", data, 8);
    check_npy_rejected("npy header missing fortran_order", p, BZ_F32, "missing");
    write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", data, 8);
    check_npy_rejected("npy header with an extra key", p, BZ_F32, "unexpected key");
    write_npy_raw(p, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}", data, 8);
    check_npy_rejected("npy header with a duplicated key", p, BZ_F32, "duplicated");
    write_npy_raw(p, "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}", data, 8);
    check_npy_rejected("npy bad fortran_order", p, BZ_F32, "fortran_order");
    write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1)}", data, 8);
    check_npy_rejected("npy negative dimension", p, BZ_F32, "shape");
    write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3)}", data, 8);
    check_npy_rejected("npy malformed shape tuple", p, BZ_F32, "shape");
    write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,2)}", data, 8);
    check_npy_rejected("npy 9 dimensions", p, BZ_F32, "8 dimensions");
    write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}", data, 8);
    check_npy_rejected("npy dimension overflows int64", p, BZ_F32, "too large");
    write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296)}", data, 8);
    check_npy_rejected("npy shape product beyond the file", p, BZ_F32, "needs more than");
    write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", data, 8);
    check_npy_rejected("npy data shorter than shape", p, BZ_F32, "needs 12 data bytes but the file holds 8");
    write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", data, 8);
    check_npy_rejected("npy data longer than shape", p, BZ_F32, "needs 4 data bytes");
    write_npy_raw(p, "{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", data, 8);
    check_npy_rejected("npy complex dtype", p, BZ_F32, "'<c8'");
    write_npy_raw(p, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} extra", data, 8);
    check_npy_rejected("npy text after the header dict", p, BZ_F32, "after the dict");
    write_npy_raw(p, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (2,)}", data, 8);
    int rc = bz_npy_read(p, BZ_F32, &t);
    CHECK(rc == 0 && t.numel == 2, "npy header with double quotes and no trailing comma", "%s",
          bz_last_error());
    if (rc == 0)
        bz_named_tensor_free(&t);
    check_npy_rejected("npy missing file", in_tmp("nope.npy"), BZ_F32, "cannot open");

    size_t n;
    unsigned char *good = read_bytes(in_tmp("f.npy"), &n);
    int all_rejected = good != NULL;
    for (size_t len = 0; good && len < n; len++) {
        write_bytes(p, good, len);
        all_rejected &= bz_npy_read(p, BZ_F32, &t) == -1 && t.data == NULL;
    }
    CHECK(all_rejected, "npy: every truncation is rejected", " ");
    free(good);

    bz_named_tensor bad = {NULL, BZ_F32, 1, {3}, 2, data};
    CHECK(bz_npy_write(in_tmp("w.npy"), &bad) == -1 && strstr(bz_last_error(), "w.npy") &&
          access(in_tmp("w.npy"), F_OK) != 0,
          "npy write rejects numel not matching shape", "%s", bz_last_error());
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        bz_fatal("mkdtemp failed");
    have_numpy = access("/usr/bin/python3", X_OK) == 0 &&
                 system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") == 0;
    test_safetensors_round_trip();
    test_safetensors_format();
    test_safetensors_python();
    test_safetensors_malformed();
    test_safetensors_fuzz();
    test_safetensors_write_errors();
    test_npy_round_trip();
    test_npy_python();
    test_npy_malformed();
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    CHECK_EXIT();
}
