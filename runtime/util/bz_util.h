/* Errors, allocation, atomic file output, clocks. */
#ifndef BZ_UTIL_H
#define BZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Every runtime function that can fail on input returns -1 and records a
 * one-line message (no trailing newline) retrievable here. */
void bz_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *bz_last_error(void);

/* Prints "<program>: <message>" on stderr and exits with status 1.  (The
 * runtime's CUDA glue includes this header as C++.) */
#ifdef __cplusplus
[[noreturn]] void bz_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#else
_Noreturn void bz_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#endif
void bz_set_program_name(const char *name);

void *bz_xmalloc(size_t bytes);          /* aborts via bz_fatal on failure  */
void *bz_xrealloc(void *p, size_t bytes);
void *bz_xcalloc(size_t n, size_t size);
float *bz_alloc_floats(int64_t n);       /* 64-byte aligned, zeroed; >= 2 MiB: huge pages */

/* Atomic output: write to "<path>.tmp.<pid>", rename on commit; abort
 * unlinks.  An atexit hook unlinks any temp file still open, so a failed
 * run never leaves a half-written file. */
typedef struct {
    FILE *fp;
    char *path;
    char *tmp_path;
} bz_atomic_file;
int bz_atomic_open(bz_atomic_file *f, const char *path);
int bz_atomic_commit(bz_atomic_file *f);
void bz_atomic_abort(bz_atomic_file *f);

int bz_mkdir_p(const char *dir);         /* 0 on success or if it exists */

/* Opens a regular file for reading and reports its size; NULL with
 * bz_last_error() naming the path otherwise. */
FILE *bz_open_regular_file(const char *path, uint64_t *size);

/* "[2, 3]" into buf, for messages; returns buf. */
const char *bz_shape_text(const int64_t *shape, int ndim, char *buf, size_t size);

double bz_now_seconds(void);             /* CLOCK_MONOTONIC */
int64_t bz_peak_rss_bytes(void);         /* getrusage ru_maxrss */

#endif
