/* needs: util/bz_util.c */
/* Errors, aligned allocation, atomic output (including the exit hook),
 * directories, clocks. */
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bz_check.h"
#include "test_tmp.h"
#include "util/bz_util.h"

static char tmpdir[] = "/tmp/bz_test_util_XXXXXX";


static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int file_holds(const char *path, const char *expect)
{
    char buf[256] = {0};
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    return n == strlen(expect) && memcmp(buf, expect, n) == 0;
}

static int count_entries(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "exit $(ls -A '%s' | wc -l)", dir);
    int status = system(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_errors_and_alloc(void)
{
    bz_error("%s: value %d", "f.bin", 42);
    CHECK(strcmp(bz_last_error(), "f.bin: value 42") == 0, "bz_error formats the message", "%s",
          bz_last_error());
    int aligned = 1, zeroed = 1;
    int64_t sizes[4] = {0, 1, 17, 100000};
    for (int i = 0; i < 4; i++) {
        float *p = bz_alloc_floats(sizes[i]);
        aligned &= ((uintptr_t)p % 64) == 0;
        for (int64_t k = 0; k < sizes[i]; k++)
            zeroed &= p[k] == 0.0f;
        free(p);
    }
    CHECK(aligned && zeroed, "bz_alloc_floats is 64-byte aligned and zeroed", " ");
    int64_t big = (int64_t)3 << 19; /* 6 MiB: starts on a huge-page boundary */
    float *h = bz_alloc_floats(big);
    int big_zeroed = h[0] == 0.0f && h[big / 2] == 0.0f && h[big - 1] == 0.0f;
    CHECK(((uintptr_t)h % ((uintptr_t)2 << 20)) == 0 && big_zeroed,
          "bz_alloc_floats of 2 MiB or more is 2 MiB aligned and zeroed", "%p", (void *)h);
    free(h);
    char *c = bz_xcalloc(0, 8);
    free(c);
    free(bz_xmalloc(0));
    CHECK(1, "bz_xmalloc(0) and bz_xcalloc(0, n) return freeable memory", " ");
}

static void test_fatal(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 2);
        bz_set_program_name("prog");
        bz_fatal("broken %s", "thing");
    }
    close(fds[1]);
    char buf[100] = {0};
    ssize_t n = 0, got;
    while ((got = read(fds[0], buf + n, sizeof buf - 1 - (size_t)n)) > 0)
        n += got;
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    CHECK(n > 0 && strcmp(buf, "prog: broken thing\n") == 0 && WIFEXITED(status) &&
          WEXITSTATUS(status) == 1, "bz_fatal prints 'prog: message' and exits 1",
          "'%s' status %d", buf, status);
}

static void test_atomic(void)
{
    const char *path = in_tmp("out.txt");
    bz_atomic_file f;
    CHECK(bz_atomic_open(&f, path) == 0, "atomic open", "%s", bz_last_error());
    fputs("new", f.fp);
    CHECK(access(path, F_OK) != 0, "atomic file invisible before commit", " ");
    CHECK(bz_atomic_commit(&f) == 0 && file_holds(path, "new") && count_entries(tmpdir) == 1,
          "atomic commit renames, no temp left", "%s", bz_last_error());

    CHECK(bz_atomic_open(&f, path) == 0, "atomic open over an existing file", " ");
    fputs("half-written", f.fp);
    bz_atomic_abort(&f);
    CHECK(file_holds(path, "new") && count_entries(tmpdir) == 1 && f.fp == NULL,
          "atomic abort keeps the old file and removes the temp", " ");
    bz_atomic_abort(&f);  /* twice is harmless */

    const char *bad = in_tmp("missing/out.txt");
    CHECK(bz_atomic_open(&f, bad) == -1 && strstr(bz_last_error(), bad),
          "atomic open in a missing directory fails with the path", "%s", bz_last_error());

    pid_t pid = fork();
    if (pid == 0) {
        bz_atomic_file g;
        if (bz_atomic_open(&g, in_tmp("child.txt")) == 0)
            fputs("partial", g.fp);
        exit(0);  /* without commit: the exit hook removes the temp */
    }
    int status;
    waitpid(pid, &status, 0);
    CHECK(access(in_tmp("child.txt"), F_OK) != 0 && count_entries(tmpdir) == 1,
          "uncommitted temp file removed at exit", "%d entries", count_entries(tmpdir));

    CHECK(bz_atomic_open(&f, path) == 0, "atomic open, then fork", " ");
    pid = fork();
    if (pid == 0)
        exit(0);  /* the child must not remove the parent's temp */
    waitpid(pid, &status, 0);
    fputs("after fork", f.fp);
    CHECK(bz_atomic_commit(&f) == 0 && file_holds(path, "after fork"),
          "a forked child's exit keeps the parent's temp file", "%s", bz_last_error());
}

static void test_mkdir_and_clocks(void)
{
    const char *deep = in_tmp("a/b//c/");
    struct stat st;
    CHECK(bz_mkdir_p(deep) == 0 && stat(in_tmp("a/b/c"), &st) == 0 && S_ISDIR(st.st_mode),
          "mkdir_p creates nested directories", "%s", bz_last_error());
    CHECK(bz_mkdir_p(deep) == 0, "mkdir_p on an existing directory", "%s", bz_last_error());
    const char *file = in_tmp("out.txt");
    char under_file[600];
    snprintf(under_file, sizeof under_file, "%s/x", file);
    CHECK(bz_mkdir_p(file) == -1 && bz_mkdir_p(under_file) == -1 && strstr(bz_last_error(), file),
          "mkdir_p through a regular file fails", "%s", bz_last_error());
    double t0 = bz_now_seconds();
    usleep(20000);
    double dt = bz_now_seconds() - t0;
    CHECK(dt >= 0.019 && dt < 2, "bz_now_seconds measures a 20 ms sleep", "%g", dt);
    CHECK(bz_peak_rss_bytes() > 1 << 20, "bz_peak_rss_bytes is plausible", "%lld",
          (long long)bz_peak_rss_bytes());
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        bz_fatal("mkdtemp failed");
    test_errors_and_alloc();
    test_fatal();
    test_atomic();
    test_mkdir_and_clocks();
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    CHECK_EXIT();
}
