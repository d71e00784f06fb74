/* `status`: one line per run of the sweep, with its state and, for a
 * finished run, its accuracy and time. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "csv.h"
#include "sweep.h"

/* A local bzsweep holds the sweep's lock while it runs. */
static int local_runner_alive(const char *sweep_dir)
{
    char *path = xasprintf("%s/.bzsweep.lock", sweep_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC), alive = 0;
    free(path);
    if (fd >= 0) {
        alive = flock(fd, LOCK_SH | LOCK_NB) != 0;
        close(fd);
    }
    return alive;
}

static void print_finished(const char *run_dir)
{
    char *path = xasprintf("%s/row.csv", run_dir);
    csv_table t = csv_read(path);
    int acc = csv_column(&t, "val_acc"), secs = csv_column(&t, "training_time");
    if (t.n_rows == 1 && acc >= 0 && secs >= 0)
        printf("%-8s %8.2f%% %8.0f s", "ok", 100.0 * atof(t.rows[0].fields[acc]),
               atof(t.rows[0].fields[secs]));
    csv_free(&t);
    free(path);
}

int sweep_print_status(const sweep *s)
{
    char *tasks = xasprintf("%s/slurm/tasks.txt", s->dir);
    char **states = slurm_task_states(s->dir, count_lines(tasks));
    int alive = local_runner_alive(s->dir), counts[5] = {0};
    static const char *const names[5] = {"ok", "failed", "running", "queued", "not run"};
    printf("%-44s %-8s %9s %10s  %s\n", "run", "state", "val_acc", "time", "detail");
    for (int i = 0; i < s->n_runs; i++) {
        char reason[512];
        run_state st = run_read_state(s->runs[i].dir, reason, sizeof reason);
        const char *queued = task_state_of(tasks, s->runs[i].id, states);
        printf("%-44s ", s->runs[i].id);
        if (st == RUN_OK) {
            print_finished(s->runs[i].dir);
            counts[0]++;
        } else if (st == RUN_FAILED) {
            const char *why = strncmp(reason, "failed: ", 8) == 0 ? reason + 8 : reason;
            printf("%-8s %9s %10s  %s; log %s/log.txt", "failed", "", "", why,
                   s->runs[i].dir);
            counts[1]++;
        } else if (queued) {
            int running = strcmp(queued, "RUNNING") == 0;
            printf("%-8s %9s %10s  Slurm: %s", running ? "running" : "queued", "", "", queued);
            counts[running ? 2 : 3]++;
        } else if (st == RUN_RUNNING && alive) {
            printf("%-8s %9s %10s  log %s/log.txt", "running", "", "", s->runs[i].dir);
            counts[2]++;
        } else {
            printf("%-8s %9s %10s  %s", "not run", "", "",
                   st == RUN_RUNNING ? "interrupted; `make sweep` starts it again" : "");
            counts[4]++;
        }
        printf("\n");
    }
    printf("sweep %s: %d runs:", s->name, s->n_runs);
    for (int k = 0; k < 5; k++)
        printf(" %d %s%s", counts[k], names[k], k < 4 ? "," : "\n");
    return 0;
}
