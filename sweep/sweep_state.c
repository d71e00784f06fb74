/* A sweep's files on disk: plan.tsv, each run's state, results.csv. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sweep.h"

char *read_text(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    size_t cap = 4096, n = 0;
    char *text = xmalloc(cap);
    for (size_t got; (got = fread(text + n, 1, cap - n - 1, fp)) > 0;) {
        n += got;
        if (cap - n < 2)
            text = xrealloc(text, cap *= 2);
    }
    fclose(fp);
    text[n] = '\0';
    return text;
}

int write_file_atomic(const char *dir, const char *name, const char *text)
{
    char *path = xasprintf("%s/%s", dir, name), *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644), rc = -1;
    if (fd >= 0) {
        size_t len = strlen(text), done = 0;
        while (done < len) {
            ssize_t w = write(fd, text + done, len - done);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                break;
            done += (size_t)w;
        }
        if (done == len && fsync(fd) == 0 && close(fd) == 0) {
            fd = -1;
            rc = rename(tmp, path);
        }
        if (fd >= 0)
            close(fd);
        if (rc != 0) {
            int err = errno;
            unlink(tmp);
            errno = err;
        }
    }
    free(path);
    free(tmp);
    return rc;
}

run_state run_read_state(const char *run_dir, char *reason, int size)
{
    char *path = xasprintf("%s/state", run_dir);
    char *text = read_text(path);
    free(path);
    if (reason && size)
        reason[0] = '\0';
    if (!text) {
        char *cmd = xasprintf("%s/cmd", run_dir);
        int started = access(cmd, F_OK) == 0;
        free(cmd);
        return started ? RUN_RUNNING : RUN_NEW;
    }
    text[strcspn(text, "\n")] = '\0';
    run_state st = strcmp(text, "ok") == 0 ? RUN_OK : RUN_FAILED;
    if (reason && size)
        snprintf(reason, (size_t)size, "%s", text);
    free(text);
    return st;
}

char *command_text(const char *binary, char *const *args)
{
    size_t len = strlen(binary) + 2;
    for (int i = 0; args[i]; i++)
        len += strlen(args[i]) + 1;
    char *text = xcalloc(1, len);
    strcpy(text, binary);
    for (int i = 0; args[i]; i++) {
        strcat(text, " ");
        strcat(text, args[i]);
    }
    strcat(text, "\n");
    return text;
}

static int remove_root;   /* nftw passes no context: remove_tree's "the directory too" */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if ((ftw->level > 0 || remove_root) && remove(path) != 0 && errno != ENOENT)
        diag_fatal("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

void remove_tree(const char *dir)
{
    remove_root = 1;
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    remove_root = 0;
}

void make_dirs(const char *path)
{
    char *p = xstrdup(path);
    for (char *c = p + 1; *c; c++)
        if (*c == '/') {
            *c = '\0';
            if (mkdir(p, 0755) != 0 && errno != EEXIST)
                diag_fatal("cannot create %s: %s", p, strerror(errno));
            *c = '/';
        }
    if (mkdir(p, 0755) != 0 && errno != EEXIST)
        diag_fatal("cannot create %s: %s", p, strerror(errno));
    free(p);
}

void sweep_lock(const sweep *s)
{
    make_dirs(s->dir);
    char *path = xasprintf("%s/.bzsweep.lock", s->dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0)
        diag_fatal("%s: another bzsweep is running this sweep", s->dir);
    free(path);   /* fd stays open: the lock lasts as long as the process */
}

void run_reset(const char *run_dir)
{
    make_dirs(run_dir);
    /* the verdict first: a run is never "ok" without its files */
    char *state = xasprintf("%s/state", run_dir);
    if (unlink(state) != 0 && errno != ENOENT)
        diag_fatal("cannot remove %s: %s", state, strerror(errno));
    free(state);
    nftw(run_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static char *plan_line(const sweep *s, const sweep_run *r, const char *root)
{
    char **args = sweep_train_args(s, r);
    char *line = xasprintf("%s\t%s/build/%s/%s", r->id, root, r->variant, r->variant);
    for (int a = 0; args[a]; a++) {
        char *longer = xasprintf("%s\t%s", line, args[a]);
        free(line);
        line = longer;
        free(args[a]);
    }
    free(args);
    return line;
}

static void append_line(char **text, size_t *len, size_t *cap, const char *line)
{
    while (*len + strlen(line) + 2 > *cap)
        *text = xrealloc(*text, *cap *= 2);
    *len += (size_t)sprintf(*text + *len, "%s\n", line);
}

static int selected(const sweep *s, const char *id)
{
    for (int i = 0; i < s->n_runs; i++)
        if (strcmp(s->runs[i].id, id) == 0)
            return 1;
    return 0;
}

/* This sweep's runs, then those of earlier selections that it does not
 * name, so that results.csv keeps every finished run of the directory. */
void sweep_write_plan(const sweep *s, const char *root)
{
    make_dirs(s->dir);
    size_t cap = 1 << 16, len = 0;
    char *text = xcalloc(1, cap);
    for (int i = 0; i < s->n_runs; i++) {
        char *line = plan_line(s, &s->runs[i], root);
        append_line(&text, &len, &cap, line);
        free(line);
    }
    char *old_path = xasprintf("%s/plan.tsv", s->dir), *old = read_text(old_path);
    for (char *save, *line = old ? strtok_r(old, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *id = xasprintf("%.*s", (int)strcspn(line, "\t"), line);
        if (!selected(s, id))
            append_line(&text, &len, &cap, line);
        free(id);
    }
    free(old);
    free(old_path);
    if (write_file_atomic(s->dir, "plan.tsv", text) != 0)
        diag_fatal("cannot write %s/plan.tsv: %s", s->dir, strerror(errno));
    free(text);
}

/* <experiment>/seed<k>: a name of letters, digits and '_', then digits */
static int valid_run_id(const char *id)
{
    size_t name = strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    const char *seed = id + name;
    return name > 0 && strncmp(seed, "/seed", 5) == 0 && seed[5] &&
           strspn(seed + 5, "0123456789") == strlen(seed + 5);
}

plan plan_read(const char *sweep_dir)
{
    plan p = {xstrdup(sweep_dir), NULL, 0};
    char *path = xasprintf("%s/plan.tsv", sweep_dir);
    char *text = read_text(path);
    if (!text)
        diag_fatal("%s: %s (has this sweep been run?)", path, strerror(errno));
    int line_no = 0;
    for (char *save, *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        line_no++;
        plan_run r = {0};
        int n = 0;
        for (char *s2, *f = strtok_r(line, "\t", &s2); f; f = strtok_r(NULL, "\t", &s2)) {
            if (n == 0)
                r.id = f;
            else if (n == 1)
                r.binary = f;
            else {
                r.args = xrealloc(r.args, (size_t)(n - 1) * sizeof *r.args);
                r.args[n - 2] = f;
            }
            n++;
        }
        if (n < 3 || !valid_run_id(r.id))
            diag_error((src_pos){path, line_no, 1}, "malformed plan line");
        r.args = xrealloc(r.args, (size_t)(n - 1) * sizeof *r.args);
        r.args[n - 2] = NULL;
        r.dir = xasprintf("%s/%s", sweep_dir, r.id);
        p.runs = xrealloc(p.runs, (size_t)(p.n + 1) * sizeof *p.runs);
        p.runs[p.n++] = r;
    }
    free(path);
    return p;
}

void sweep_check_finished(const sweep *s, const char *root)
{
    for (int i = 0; i < s->n_runs; i++) {
        const sweep_run *r = &s->runs[i];
        if (run_read_state(r->dir, NULL, 0) != RUN_OK)
            continue;
        char *path = xasprintf("%s/cmd", r->dir), *had = read_text(path);
        char *binary = xasprintf("%s/build/%s/%s", root, r->variant, r->variant);
        char **args = sweep_train_args(s, r), *want = command_text(binary, args);
        if (!had || strcmp(had, want) != 0)
            diag_fatal("%s: run %s finished with another command than this sweep's now (see %s); "
                       "use another --out or remove %s", s->dir, r->id, path, s->dir);
        for (int a = 0; args[a]; a++)
            free(args[a]);
        free(args);
        free(had);
        free(want);
        free(binary);
        free(path);
    }
}

/* The first line of a run's row.csv is the header, the rest its row.  A
 * run whose row cannot be used is left out with a warning: one bad file
 * must not stop a sweep. */
static int append_row(const plan_run *r, char **header, char **rows, size_t *len, size_t *cap)
{
    char *path = xasprintf("%s/row.csv", r->dir);
    char *text = read_text(path);
    char *body = text ? strchr(text, '\n') : NULL;
    const char *problem = !text ? "missing although the run finished"
                          : !body || !body[1] ? "no row after the header"
                          : NULL;
    if (!problem) {
        *body++ = '\0';
        if (!*header)
            *header = xstrdup(text);
        else if (strcmp(*header, text) != 0)
            problem = "its header differs from the other runs' (a binary of another version)";
    }
    if (problem) {
        fprintf(stderr, "bzsweep: warning: %s: %s; the run is left out of results.csv\n", path,
                problem);
        free(text);
        free(path);
        return 0;
    }
    size_t n = strlen(body);
    while (*len + n + 2 > *cap)
        *rows = xrealloc(*rows, *cap *= 2);
    memcpy(*rows + *len, body, n + 1);
    *len += n;
    if ((*rows)[*len - 1] != '\n')
        (*rows)[(*len)++] = '\n';
    (*rows)[*len] = '\0';
    free(text);
    free(path);
    return 1;
}

int sweep_collect(const char *sweep_dir)
{
    plan p = plan_read(sweep_dir);
    char *lock_path = xasprintf("%s/results.csv.lock", sweep_dir);
    int lock = open(lock_path, O_RDWR | O_CREAT, 0644);
    if (lock < 0 || flock(lock, LOCK_EX) != 0)
        diag_fatal("cannot lock %s: %s", lock_path, strerror(errno));
    char *header = NULL;
    size_t cap = 1 << 16, len = 0;
    char *rows = xcalloc(1, cap);
    int n_rows = 0;
    for (int i = 0; i < p.n; i++)
        if (run_read_state(p.runs[i].dir, NULL, 0) == RUN_OK)
            n_rows += append_row(&p.runs[i], &header, &rows, &len, &cap);
    if (header) {
        char *text = xasprintf("%s\n%s", header, rows);
        if (write_file_atomic(sweep_dir, "results.csv", text) != 0)
            diag_fatal("cannot write %s/results.csv: %s", sweep_dir, strerror(errno));
        free(text);
    } else {
        char *path = xasprintf("%s/results.csv", sweep_dir);
        unlink(path);
        free(path);
    }
    close(lock);
    free(lock_path);
    free(header);
    free(rows);
    return n_rows;
}
