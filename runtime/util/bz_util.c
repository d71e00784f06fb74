/* Errors, allocation, atomic file output, clocks. */
#include "util/bz_util.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- errors ---------------------------------------------------------- */

static char last_error[1024];
static const char *program_name;

void bz_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

const char *bz_last_error(void)
{
    return last_error;
}

void bz_set_program_name(const char *name)
{
    program_name = name;
}

_Noreturn void bz_fatal(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ",
            program_name ? program_name : program_invocation_short_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ---- allocation ------------------------------------------------------ */

void *bz_xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        bz_fatal("out of memory allocating %zu bytes", bytes);
    return p;
}

void *bz_xrealloc(void *p, size_t bytes)
{
    void *q = realloc(p, bytes ? bytes : 1);
    if (!q)
        bz_fatal("out of memory growing a buffer to %zu bytes", bytes);
    return q;
}

void *bz_xcalloc(size_t n, size_t size)
{
    void *p = (n && size) ? calloc(n, size) : calloc(1, 1);
    if (!p)
        bz_fatal("out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

/* Buffers of 2 MiB or more (weights, packed deploy kernels, activations,
 * workspaces) start on a 2 MiB boundary and ask for transparent huge
 * pages: a batch-1 inference streams 39 MB of packed kernels, 10,000 pages
 * of 4 KiB (on Zen 4, side by side: batch 1 and batch-64 training 3 to 5%
 * faster).  Where THP is off, madvise fails and the buffer keeps small
 * pages. */
#define HUGE_PAGE_BYTES ((size_t)2 << 20)

static void advise_huge_pages(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

float *bz_alloc_floats(int64_t n)
{
    void *p = NULL;
    if (n < 0 || (uint64_t)n > SIZE_MAX / sizeof(float))
        bz_fatal("cannot allocate %lld floats", (long long)n);
    size_t bytes = (size_t)n * sizeof(float);
    int huge = bytes >= HUGE_PAGE_BYTES;
    if (posix_memalign(&p, huge ? HUGE_PAGE_BYTES : 64, bytes ? bytes : 64) != 0)
        bz_fatal("out of memory allocating %lld floats", (long long)n);
    if (huge)
        advise_huge_pages(p, bytes);
    memset(p, 0, bytes);
    return p;
}

/* ---- atomic output --------------------------------------------------- */

/* Temp files not yet committed or aborted, unlinked by the atexit hook.
 * Each entry remembers its creator's pid so a forked child that exits
 * does not delete its parent's files. */
typedef struct {
    char *tmp_path;
    pid_t owner;
} pending_tmp;

static pending_tmp *pending;
static size_t pending_count, pending_cap;

static void unlink_pending_at_exit(void)
{
    for (size_t i = 0; i < pending_count; i++)
        if (pending[i].owner == getpid())
            unlink(pending[i].tmp_path);
}

static void pending_add(const char *tmp_path)
{
    static int hook_installed;
    if (!hook_installed) {
        atexit(unlink_pending_at_exit);
        hook_installed = 1;
    }
    if (pending_count == pending_cap) {
        pending_cap = pending_cap ? 2 * pending_cap : 8;
        pending = realloc(pending, pending_cap * sizeof *pending);
        if (!pending)
            bz_fatal("out of memory");
    }
    pending[pending_count].tmp_path = strdup(tmp_path);
    if (!pending[pending_count].tmp_path)
        bz_fatal("out of memory");
    pending[pending_count].owner = getpid();
    pending_count++;
}

static void pending_remove(const char *tmp_path)
{
    for (size_t i = 0; i < pending_count; i++) {
        if (strcmp(pending[i].tmp_path, tmp_path) == 0) {
            free(pending[i].tmp_path);
            pending[i] = pending[--pending_count];
            return;
        }
    }
}

static void atomic_release(bz_atomic_file *f)
{
    if (f->tmp_path)
        pending_remove(f->tmp_path);
    free(f->path);
    free(f->tmp_path);
    f->fp = NULL;
    f->path = NULL;
    f->tmp_path = NULL;
}

int bz_atomic_open(bz_atomic_file *f, const char *path)
{
    f->fp = NULL;
    f->path = strdup(path);
    if (!f->path || asprintf(&f->tmp_path, "%s.tmp.%ld", path,
                             (long)getpid()) < 0)
        bz_fatal("out of memory");
    f->fp = fopen(f->tmp_path, "wb");
    if (!f->fp) {
        bz_error("%s: cannot create %s: %s", path, f->tmp_path,
                 strerror(errno));
        free(f->path);
        free(f->tmp_path);
        f->path = f->tmp_path = NULL;
        return -1;
    }
    pending_add(f->tmp_path);
    return 0;
}

/* Flushes, syncs and closes the temp file; 0 or errno. */
static int close_synced(FILE *fp)
{
    int err = 0;
    if (fflush(fp) != 0 || ferror(fp))
        err = errno ? errno : EIO;
    else if (fsync(fileno(fp)) != 0)
        err = errno;
    if (fclose(fp) != 0 && !err)
        err = errno;
    return err;
}

/* A test hook (tests/t_resume.sh): BZ_TEST_KILL_BEFORE_RENAME=TEXT:N kills
 * the process at the Nth commit of a file whose path contains TEXT, the
 * temporary file complete and the rename not done: a crash at the worst
 * moment.  Unset, it costs one getenv per commit. */
static void test_crash_point(const char *path)
{
    static int seen;
    const char *hook = getenv("BZ_TEST_KILL_BEFORE_RENAME");
    if (!hook || !*hook)
        return;
    const char *colon = strrchr(hook, ':');
    size_t len = colon ? (size_t)(colon - hook) : strlen(hook);
    int nth = colon ? atoi(colon + 1) : 1;
    char text[256];
    snprintf(text, sizeof text, "%.*s", (int)len, hook);
    if (strstr(path, text) && ++seen == nth)
        raise(SIGKILL);
}

int bz_atomic_commit(bz_atomic_file *f)
{
    if (!f->fp) {
        bz_error("%s: commit of a file that is not open",
                 f->path ? f->path : "(null)");
        return -1;
    }
    errno = 0;
    int err = close_synced(f->fp);
    f->fp = NULL;
    if (!err)
        test_crash_point(f->path);
    if (!err && rename(f->tmp_path, f->path) != 0)
        err = errno;
    if (err) {
        bz_error("%s: cannot write: %s", f->path, strerror(err));
        unlink(f->tmp_path);
        atomic_release(f);
        return -1;
    }
    atomic_release(f);
    return 0;
}

void bz_atomic_abort(bz_atomic_file *f)
{
    if (f->fp)
        fclose(f->fp);
    if (f->tmp_path)
        unlink(f->tmp_path);
    atomic_release(f);
}

/* ---- directories, clocks, memory ------------------------------------- */

static int mkdir_one(const char *dir)
{
    struct stat st;
    if (mkdir(dir, 0777) == 0)
        return 0;
    if (errno == EEXIST && stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        return 0;
    if (errno == EEXIST)
        errno = ENOTDIR;
    bz_error("%s: cannot create directory: %s", dir, strerror(errno));
    return -1;
}

int bz_mkdir_p(const char *dir)
{
    char *copy = strdup(dir);
    if (!copy)
        bz_fatal("out of memory");
    int rc = 0;
    for (char *p = copy + 1; rc == 0 && *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        rc = mkdir_one(copy);
        *p = '/';
    }
    if (rc == 0 && *copy)
        rc = mkdir_one(copy);
    free(copy);
    return rc;
}

double bz_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int64_t bz_peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (int64_t)ru.ru_maxrss * 1024;  /* Linux reports KiB */
}

FILE *bz_open_regular_file(const char *path, uint64_t *size)
{
    struct stat st;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        bz_error("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        bz_error("%s: not a regular file", path);
        fclose(fp);
        return NULL;
    }
    *size = (uint64_t)st.st_size;
    return fp;
}

const char *bz_shape_text(const int64_t *shape, int ndim, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "[");
    for (int d = 0; d < ndim && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%lld", d ? ", " : "",
                                 (long long)shape[d]);
    if (used < size)
        snprintf(buf + used, size - used, "]");
    return buf;
}
