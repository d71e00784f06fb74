/* The local runner: JOBS runs at a time on this machine, one progress line,
 * failures recorded and reported at the end. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sweep.h"

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig) { stop_signal = sig; }

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    const sweep *s;
    plan p;
    int *todo;          /* plan indices still to run, in order */
    int n_todo, next;
    int *pid_of;        /* per plan index: running child, or 0 */
    double *started;
    int done, failed, running, skipped;
    double busy_s;      /* seconds of the runs finished here */
    int jobs, threads, tty;
} pool;

static void format_eta(double s, char *out, int size)
{
    if (s < 0)
        snprintf(out, (size_t)size, "?");
    else if (s < 3600)
        snprintf(out, (size_t)size, "%dm%02ds", (int)s / 60, (int)s % 60);
    else
        snprintf(out, (size_t)size, "%dh%02dm", (int)s / 3600, (int)s % 3600 / 60);
}

static void progress(const pool *q, const char *event)
{
    int left = q->n_todo - q->next;
    double per_run = q->done + q->failed ? q->busy_s / (q->done + q->failed) : -1;
    char eta[32];
    format_eta(per_run < 0 ? -1 : per_run * (left + q->running * 0.5) / q->jobs, eta, sizeof eta);
    char line[256];
    snprintf(line, sizeof line, "sweep %s: %d done, %d running, %d failed, %d left, ETA %s",
             q->s->name, q->done + q->skipped, q->running, q->failed, left, eta);
    if (q->tty) {
        if (event)
            printf("\r\033[K%s\n", event);
        printf("\r\033[K%s", line);
    } else if (event) {
        printf("%s  (%s)\n", event, line);
    }
    fflush(stdout);
}

static void start_next(pool *q)
{
    int i = q->todo[q->next++];
    q->pid_of[i] = run_start(&q->p.runs[i], q->threads);
    q->started[i] = now_s();
    q->running++;
    char event[256];
    snprintf(event, sizeof event, "started %s", q->p.runs[i].id);
    progress(q, q->tty ? NULL : event);
}

static void reap(pool *q, int pid, int status)
{
    for (int i = 0; i < q->p.n; i++) {
        if (q->pid_of[i] != pid)
            continue;
        q->pid_of[i] = 0;
        q->running--;
        char reason[512], event[1024];
        double took = now_s() - q->started[i];
        q->busy_s += took;
        if (run_finish(&q->p.runs[i], status, reason, sizeof reason)) {
            q->done++;
            snprintf(event, sizeof event, "ok      %s (%.0f s)", q->p.runs[i].id, took);
        } else {
            q->failed++;
            snprintf(event, sizeof event, "FAILED  %s (%.0f s): %s; log %s/log.txt",
                     q->p.runs[i].id, took, reason + strlen("failed: "), q->p.runs[i].dir);
        }
        sweep_collect(q->s->dir);
        progress(q, event);
        return;
    }
}

/* Ctrl-C, SIGTERM: the runs in flight get SIGTERM, save their training
 * state at the next batch boundary and exit (the next `run` resumes them);
 * any still running after STOP_GRACE seconds is killed. */
#define STOP_GRACE 30.0
static void stop_all(pool *q)
{
    for (int i = 0; i < q->p.n; i++)
        if (q->pid_of[i])
            kill(q->pid_of[i], SIGTERM);
    double deadline = now_s() + STOP_GRACE;
    while (q->running > 0) {
        int status, pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            reap(q, pid, status);
            continue;
        }
        if (pid < 0 && errno != EINTR)
            break;
        if (now_s() > deadline)
            for (int i = 0; i < q->p.n; i++)
                if (q->pid_of[i])
                    kill(q->pid_of[i], SIGKILL);
        struct timespec nap = {0, 50 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    sweep_collect(q->s->dir);
    printf("%ssweep %s: stopped by signal %d with %d runs unfinished; run the same command "
           "again to continue\n", q->tty ? "\r\033[K" : "", q->s->name, (int)stop_signal,
           q->n_todo - q->next + q->running);
}

static void report_failures(const pool *q)
{
    printf("sweep %s: %d failed:\n", q->s->name, q->failed);
    for (int i = 0; i < q->p.n; i++) {
        char reason[512];
        if (run_read_state(q->p.runs[i].dir, reason, sizeof reason) == RUN_FAILED && q->started[i])
            printf("  %s: %s\n    log: %s/log.txt\n", q->p.runs[i].id, reason, q->p.runs[i].dir);
    }
}

static void select_todo(pool *q)
{
    q->todo = xcalloc((size_t)q->p.n, sizeof *q->todo);
    for (int i = 0; i < q->s->n_runs; i++) {   /* the plan starts with this sweep's runs */
        if (run_read_state(q->p.runs[i].dir, NULL, 0) == RUN_OK)
            q->skipped++;
        else
            q->todo[q->n_todo++] = i;
    }
}

int sweep_run_local(const sweep *s)
{
    pool q = {.s = s, .p = plan_read(s->dir), .tty = isatty(STDOUT_FILENO)};
    if (q.p.n < s->n_runs)
        diag_fatal("%s/plan.tsv: %d runs, the sweep has %d", s->dir, q.p.n, s->n_runs);
    q.pid_of = xcalloc((size_t)q.p.n, sizeof *q.pid_of);
    q.started = xcalloc((size_t)q.p.n, sizeof *q.started);
    select_todo(&q);
    q.jobs = s->n_jobs < q.n_todo ? s->n_jobs : (q.n_todo ? q.n_todo : 1);
    /* from JOBS, not from how many runs are left: a run resumed later must
     * get the thread count it started with (its results depend on it) */
    q.threads = s->threads_per_run ? s->threads_per_run : usable_cores() / s->n_jobs;
    if (q.threads < 1)
        q.threads = 1;
    printf("sweep %s: %d runs, %d finished before, %d to run, %d at a time with %d thread%s "
           "each; results in %s/results.csv\n", s->name, s->n_runs, q.skipped, q.n_todo, q.jobs,
           q.threads, q.threads > 1 ? "s" : "", s->dir);
    struct sigaction sa = {.sa_handler = on_stop};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sweep_collect(s->dir);
    while (!stop_signal && (q.next < q.n_todo || q.running)) {
        while (!stop_signal && q.running < q.jobs && q.next < q.n_todo)
            start_next(&q);
        /* polled, so that a signal between the test above and a blocking
         * wait cannot go unseen until a run ends */
        int status, pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            reap(&q, pid, status);
        } else if (pid < 0 && errno != EINTR) {
            diag_fatal("waitpid: %s", strerror(errno));
        } else {
            struct timespec nap = {0, 50 * 1000 * 1000};
            nanosleep(&nap, NULL);
        }
    }
    if (stop_signal) {
        stop_all(&q);
        return 128 + stop_signal;
    }
    if (q.tty)
        printf("\r\033[K");
    printf("sweep %s: %d of %d runs finished (%d before this command), %d failed; %s/results.csv\n",
           s->name, q.done + q.skipped, s->n_runs, q.skipped, q.failed, s->dir);
    if (q.failed)
        report_failures(&q);
    return q.failed ? 1 : 0;
}
