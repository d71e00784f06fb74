/* Output paths checked before a long run: where a file would go, whether
 * two paths name one file, whether a place can be written. */
#include "io/bz_paths.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/bz_util.h"

/* Appends the components of rest to the absolute path out, lexically:
 * "." is dropped, ".." drops the last component (rest does not exist, so
 * no link can be in the way). */
static void append_components(char *out, size_t size, const char *rest)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", rest);
    for (char *save, *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0)
            continue;
        if (strcmp(c, "..") == 0) {
            char *slash = strrchr(out, '/');
            if (slash)
                *(slash == out ? slash + 1 : slash) = '\0';
            continue;
        }
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", n && out[n - 1] == '/' ? "" : "/", c);
    }
}

/* The absolute form of path: its longest existing prefix resolved by
 * realpath, the rest normalised lexically. */
static void canonical(const char *path, char *out, size_t size)
{
    char prefix[PATH_MAX];
    snprintf(prefix, sizeof prefix, "%s", path);
    size_t cut = strlen(prefix);
    for (;;) {
        char resolved[PATH_MAX];
        if (cut > 0 && realpath(prefix, resolved)) {
            snprintf(out, size, "%s", resolved);
            append_components(out, size, path + cut);
            return;
        }
        char *slash = strrchr(prefix, '/');
        if (!slash) {   /* nothing exists: relative to the working directory */
            if (!getcwd(out, size))
                snprintf(out, size, "/");
            append_components(out, size, path);
            return;
        }
        if (slash == prefix) {
            snprintf(out, size, "/");
            append_components(out, size, path + 1);
            return;
        }
        *slash = '\0';
        cut = (size_t)(slash - prefix);
    }
}

int bz_same_path(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ca[PATH_MAX], cb[PATH_MAX];
    canonical(a, ca, sizeof ca);
    canonical(b, cb, sizeof cb);
    return strcmp(ca, cb) == 0;
}

int bz_path_inside(const char *path, const char *dir)
{
    char cp[PATH_MAX], cd[PATH_MAX];
    canonical(path, cp, sizeof cp);
    canonical(dir, cd, sizeof cd);
    size_t n = strlen(cd);
    return strncmp(cp, cd, n) == 0 && cp[n] == '/';
}

int bz_check_writable_file(const char *path, const char *what)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            bz_error("%s %s: not a regular file", what, path);
            return -1;
        }
        if (access(path, W_OK) != 0) {
            bz_error("%s %s: cannot write: %s", what, path, strerror(errno));
            return -1;
        }
        return 0;
    }
    /* not there yet: the nearest existing directory above must take it */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        if (stat(dir, &st) == 0)
            break;
        if (!slash || slash == dir)
            break;
    }
    if (!S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
        bz_error("%s %s: cannot be created in %s", what, path, dir);
        return -1;
    }
    return 0;
}

int bz_check_output_dir(const char *dir, const char *what)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
            bz_error("%s %s: %s", what, dir, !S_ISDIR(st.st_mode) ? "exists and is not a directory"
                                                                   : "cannot write into it");
            return -1;
        }
        return 0;
    }
    return bz_check_writable_file(dir, what);
}

int bz_remove_stale_temporaries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    for (struct dirent *e; (e = readdir(d));) {
        static const char *const ours[] = {"best.safetensors.tmp.", "metrics.csv.tmp.",
                                           "last_state.safetensors.tmp.", NULL};
        const char *tmp = NULL;
        for (int k = 0; ours[k] && !tmp; k++)
            if (strncmp(e->d_name, ours[k], strlen(ours[k])) == 0)
                tmp = e->d_name + strlen(ours[k]) - 5;
        if (!tmp || !tmp[5] || strspn(tmp + 5, "0123456789") != strlen(tmp + 5))
            continue;
        long pid = strtol(tmp + 5, NULL, 10);
        if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;   /* its writer may still be alive */
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        removed += unlink(path) == 0;
    }
    closedir(d);
    return removed;
}
