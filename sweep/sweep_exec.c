/* One run: the experiment binary's `train` in a child process. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sweep.h"

int usable_cores(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static _Noreturn void exec_child(const plan_run *r, char **argv, pid_t parent, int append)
{
    /* a killed sweep must not leave its runs writing into directories that
     * the next sweep resets */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
        _exit(127);
    /* its own process group: a terminal's Ctrl-C reaches bzsweep alone,
     * which then asks each run once (SIGTERM) to save its state and stop */
    setpgid(0, 0);
    char *log = xasprintf("%s/log.txt", r->dir);
    int fd = open(log, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
        _exit(127);
    close(fd);
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0)
        dup2(null, STDIN_FILENO);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    execv(r->binary, argv);
    fprintf(stderr, "bzsweep: cannot run %s: %s\n", r->binary, strerror(errno));
    _exit(127);
}

/* An unfinished run made by this very command that left a training state
 * (a signal stopped it, or it was killed after an epoch) continues from it
 * with --resume; anything else starts again from an empty directory. */
static int can_resume(const plan_run *r, const char *cmd)
{
    char *cmd_path = xasprintf("%s/cmd", r->dir), *state = xasprintf("%s/last_state.safetensors", r->dir);
    char *had = read_text(cmd_path);
    int ok = had && strcmp(had, cmd) == 0 && access(state, R_OK) == 0;
    free(had);
    free(cmd_path);
    free(state);
    return ok;
}

int run_start(const plan_run *r, int threads)
{
    char *cmd = command_text(r->binary, r->args);
    int resume = can_resume(r, cmd);
    if (resume) {
        /* the interrupted run's row and verdict go; its state and log stay */
        char *row = xasprintf("%s/row.csv", r->dir), *state = xasprintf("%s/state", r->dir);
        unlink(state);
        unlink(row);
        free(row);
        free(state);
    } else {
        run_reset(r->dir);
        if (write_file_atomic(r->dir, "cmd", cmd) != 0)
            diag_fatal("cannot write %s/cmd: %s", r->dir, strerror(errno));
    }
    free(cmd);
    int n = 0;
    while (r->args[n])
        n++;
    char **argv = xcalloc((size_t)n + 5, sizeof *argv);
    char thread_text[16];
    snprintf(thread_text, sizeof thread_text, "%d", threads);
    argv[0] = r->binary;
    memcpy(argv + 1, r->args, (size_t)n * sizeof *argv);
    argv[n + 1] = "--threads";
    argv[n + 2] = thread_text;
    argv[n + 3] = resume ? "--resume" : NULL;
    fflush(NULL);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0)
        diag_fatal("fork: %s", strerror(errno));
    if (pid == 0)
        exec_child(r, argv, parent, resume);
    free(argv);
    return (int)pid;
}

/* The last non-empty line of the run's log: its error message. */
static void last_log_line(const plan_run *r, char *out, int size)
{
    char *path = xasprintf("%s/log.txt", r->dir);
    FILE *fp = fopen(path, "rb");
    free(path);
    out[0] = '\0';
    if (!fp)
        return;
    char line[512];
    while (fgets(line, sizeof line, fp)) {
        char *cr = strrchr(line, '\r');   /* a progress line: its last state */
        char *text = cr && cr[1] && cr[1] != '\n' ? cr + 1 : line;
        text[strcspn(text, "\r\n")] = '\0';
        if (*text)
            snprintf(out, (size_t)size, "%.200s", text);
    }
    fclose(fp);
}

int run_finish(const plan_run *r, int wait_status, char *reason, int size)
{
    char last[256], *row = xasprintf("%s/row.csv", r->dir);
    last_log_line(r, last, sizeof last);
    if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0 && access(row, F_OK) == 0)
        snprintf(reason, (size_t)size, "ok");
    else if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0)
        snprintf(reason, (size_t)size, "failed: exit status 0 but no results row");
    else if (WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 75)
        snprintf(reason, (size_t)size, "failed: interrupted (exit status 75; the next run resumes "
                 "it): %s", last);
    else if (WIFEXITED(wait_status) && strstr(last, "--resume:")) {
        /* a state that another build or other settings left: start afresh */
        char *state = xasprintf("%s/last_state.safetensors", r->dir);
        unlink(state);
        free(state);
        snprintf(reason, (size_t)size, "failed: its training state could not be resumed (the next "
                 "run starts afresh): %s", last);
    } else if (WIFEXITED(wait_status))
        snprintf(reason, (size_t)size, "failed: exit status %d: %s", WEXITSTATUS(wait_status), last);
    else
        snprintf(reason, (size_t)size, "failed: killed by signal %d (%s)", WTERMSIG(wait_status),
                 strsignal(WTERMSIG(wait_status)));
    free(row);
    char *text = xasprintf("%s\n", reason);
    if (write_file_atomic(r->dir, "state", text) != 0)
        diag_fatal("cannot write %s/state: %s", r->dir, strerror(errno));
    free(text);
    return strcmp(reason, "ok") == 0;
}
