/* The Slurm runner: the unfinished runs of a sweep as one job array.  Each
 * task is `bzsweep task <sweep dir> <index>`: it runs one plan entry the
 * way the local runner does and rebuilds results.csv under its lock. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "sweep.h"

static char *slurm_dir(const char *sweep_dir) { return xasprintf("%s/slurm", sweep_dir); }

int count_lines(const char *path)
{
    FILE *fp = fopen(path, "r");
    int n = 0, c;
    while (fp && (c = fgetc(fp)) != EOF)
        n += c == '\n';
    if (fp)
        fclose(fp);
    return n;
}

const char *task_state_of(const char *tasks_path, const char *id, char **states)
{
    if (!states)
        return NULL;
    char line[1024];
    FILE *fp = fopen(tasks_path, "r");
    const char *state = NULL;
    for (int task = 0; fp && fgets(line, sizeof line, fp); task++) {
        line[strcspn(line, "\n")] = '\0';
        if (strcmp(line, id) == 0)
            state = states[task];
    }
    if (fp)
        fclose(fp);
    return state;
}

/* Runs argv, returns its stdout (trailing newline removed); if it cannot
 * run or fails: exits, or returns NULL where may_fail. */
static char *capture(char *const *argv, int may_fail)
{
    int fds[2];
    if (pipe(fds) != 0)
        diag_fatal("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        diag_fatal("fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        if (may_fail)
            freopen("/dev/null", "w", stderr);
        execvp(argv[0], argv);
        fprintf(stderr, "bzsweep: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0, cap = 256;
    char *out = xmalloc(cap);
    for (ssize_t n; (n = read(fds[0], out + len, cap - len - 1)) != 0;) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        len += (size_t)n;
        if (cap - len < 2)
            out = xrealloc(out, cap *= 2);
    }
    out[len] = '\0';
    close(fds[0]);
    int status = wait_child(pid);
    if ((!WIFEXITED(status) || WEXITSTATUS(status) != 0) && may_fail) {
        free(out);
        return NULL;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        diag_fatal("%s failed (exit status %d)", argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    while (len && (out[len - 1] == '\n' || out[len - 1] == '\r'))
        out[--len] = '\0';
    return out;
}

static char *array_script(const sweep *s, const char *self, const char *dir)
{
    return xasprintf("#!/bin/sh\n"
                     "# Slurm job array of sweep %s: task i runs line i of tasks.txt\n"
                     "exec '%s' task '%s' \"$SLURM_ARRAY_TASK_ID\"\n",
                     s->name, self, dir);
}

int sweep_submit_slurm(const sweep *s, const char *self)
{
    plan p = plan_read(s->dir);
    char *dir = slurm_dir(s->dir);
    mkdir(dir, 0755);
    size_t cap = 4096, len = 0;
    char *tasks = xcalloc(1, cap);
    int n = 0, queued = 0;
    /* the task decides between resuming a run and starting it afresh; runs
     * still queued or running from an earlier submission are left to it */
    char *old_tasks = xasprintf("%s/tasks.txt", dir);
    char **states = slurm_task_states(s->dir, count_lines(old_tasks));
    for (int i = 0; i < s->n_runs; i++) {
        if (run_read_state(p.runs[i].dir, NULL, 0) == RUN_OK)
            continue;
        if (task_state_of(old_tasks, p.runs[i].id, states)) {
            queued++;
            continue;
        }
        while (len + strlen(p.runs[i].id) + 2 > cap)
            tasks = xrealloc(tasks, cap *= 2);
        len += (size_t)sprintf(tasks + len, "%s\n", p.runs[i].id);
        n++;
    }
    if (n == 0) {
        printf("sweep %s: %d runs finished, %d queued or running; nothing to submit\n", s->name,
               s->n_runs - queued, queued);
        return sweep_collect(s->dir) >= 0 ? 0 : 1;
    }
    char *script = array_script(s, self, s->dir);
    if (write_file_atomic(dir, "tasks.txt", tasks) != 0 ||
        write_file_atomic(dir, "array.sh", script) != 0)
        diag_fatal("cannot write %s: %s", dir, strerror(errno));
    char *array = xasprintf("--array=0-%d", n - 1);
    char *cpus = xasprintf("--cpus-per-task=%s", s->slurm[SLURM_CPUS_PER_TASK].text
                                                      ? s->slurm[SLURM_CPUS_PER_TASK].text : "1");
    char *time = xasprintf("--time=%s", s->slurm[SLURM_TIME].text ? s->slurm[SLURM_TIME].text : "60");
    char *output = xasprintf("--output=%s/%%A_%%a.out", dir);
    char *name = xasprintf("--job-name=bzsweep-%s", s->name);
    char *partition = s->slurm[SLURM_PARTITION].text
                          ? xasprintf("--partition=%s", s->slurm[SLURM_PARTITION].text) : NULL;
    char *script_path = xasprintf("%s/array.sh", dir);
    char *argv[] = {"sbatch", "--parsable", array, cpus, time, output, name,
                    partition ? partition : script_path, partition ? script_path : NULL, NULL};
    char *job = capture(argv, 0);
    job[strcspn(job, ";")] = '\0';   /* --parsable: "jobid[;cluster]" */
    char *job_line = xasprintf("%s\n", job);
    if (write_file_atomic(dir, "job", job_line) != 0)
        diag_fatal("cannot write %s/job: %s", dir, strerror(errno));
    printf("sweep %s: submitted %d runs as Slurm job array %s (%s %s %s%s%s); "
           "`make sweep-status SWEEP=%s` follows it\n", s->name, n, job, array, cpus, time,
           partition ? " " : "", partition ? partition : "", s->name);
    return 0;
}

/* Slurm's SIGTERM (time limit, preemption) reaches every process of the
 * job: the run saves its state and exits, and the task outlives it to
 * record that (a second SIGTERM would end the run at once). */
static void note_signal(int sig) { (void)sig; }

int sweep_slurm_task(const char *sweep_dir, int index)
{
    plan p = plan_read(sweep_dir);
    char *dir = slurm_dir(sweep_dir), *path = xasprintf("%s/tasks.txt", dir);
    FILE *fp = fopen(path, "r");
    if (!fp)
        diag_fatal("%s: %s", path, strerror(errno));
    char id[1024] = "";
    for (int i = 0; i <= index; i++)
        if (!fgets(id, sizeof id, fp))
            diag_fatal("%s: no task %d", path, index);
    fclose(fp);
    id[strcspn(id, "\n")] = '\0';
    for (int i = 0; i < p.n; i++) {
        if (strcmp(p.runs[i].id, id) != 0)
            continue;
        if (run_read_state(p.runs[i].dir, NULL, 0) == RUN_OK) {
            printf("%s: finished before (a requeued task)\n", id);
            return 0;
        }
        const char *cpus = getenv("SLURM_CPUS_PER_TASK");
        int threads = cpus && atoi(cpus) > 0 ? atoi(cpus) : 1;
        struct sigaction note = {.sa_handler = note_signal};
        sigaction(SIGTERM, &note, NULL);
        sigaction(SIGINT, &note, NULL);
        int status = wait_child((pid_t)run_start(&p.runs[i], threads));
        char reason[512];
        int ok = run_finish(&p.runs[i], status, reason, sizeof reason);
        sweep_collect(sweep_dir);
        printf("%s: %s\n", id, reason);
        return ok ? 0 : 1;
    }
    diag_fatal("%s: task %d names run '%s', which is not in the plan", path, index, id);
}

/* Pending and running tasks of the submitted array, from squeue: a
 * state word per line of tasks.txt (NULL: none known). */
char **slurm_task_states(const char *sweep_dir, int n_tasks)
{
    char *path = xasprintf("%s/slurm/job", sweep_dir);
    FILE *fp = fopen(path, "r");
    free(path);
    if (!fp)
        return NULL;
    char job[64] = "";
    if (!fgets(job, sizeof job, fp))
        job[0] = '\0';
    fclose(fp);
    job[strcspn(job, "\n")] = '\0';
    char **states = xcalloc((size_t)n_tasks + 1, sizeof *states);
    char *argv[] = {"squeue", "-h", "-r", "-j", job, "-o", "%K %T", NULL};
    /* squeue fails once the job has left its memory: no task is queued */
    char *out = capture(argv, 1);
    if (!out)
        out = xstrdup("");
    for (char *save, *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        int task;
        char state[32];
        if (sscanf(line, "%d %31s", &task, state) == 2 && task >= 0 && task < n_tasks)
            states[task] = xstrdup(state);
    }
    free(out);
    return states;
}
