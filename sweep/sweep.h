/* bzsweep: a committed YAML file (sweeps/<name>.yaml) names experiments x
 * seeds, a variant and a training recipe; bzsweep runs every (experiment,
 * seed) with the experiment's binary, here or on Slurm, and keeps the
 * sweep's state in files under <out>/<name>/:
 *
 *   plan.tsv                  the runs of the last `run`, one per line:
 *                             run id, binary, train arguments (tab-separated)
 *   results.csv               one row per finished run, rebuilt from the
 *                             runs' rows after every finished run
 *   <experiment>/seed<k>/     one run: cmd (its command line), log.txt
 *                             (stdout and stderr), row.csv (train's row),
 *                             best.safetensors, metrics.csv, and state,
 *                             written last: "ok", or "failed <reason>"
 *   slurm/                    the job array's script, task list, job id
 */
#ifndef SWEEP_SWEEP_H
#define SWEEP_SWEEP_H

#include "../gen/diag.h"

/* A value and where it was set: a YAML node's position or the command
 * line, so every error names its origin. */
typedef struct {
    const char *text;   /* NULL: not set */
    src_pos at;
} setting;

/* Training options passed through to `train`, by YAML key. */
enum {
    TRAIN_EPOCHS, TRAIN_BATCH_SIZE, TRAIN_LR, TRAIN_SUBSET, TRAIN_VAL_SUBSET,
    TRAIN_BACKEND, TRAIN_DEVICE, TRAIN_PRECISION, TRAIN_BENCH, TRAIN_N
};
/* The variant: generation-time shape overrides, as make's variables. */
enum { VARIANT_NUM_BLOCKS, VARIANT_BASE_CHANNELS, VARIANT_CLASSES, VARIANT_INPUT_SIZE, VARIANT_N };
enum { SLURM_PARTITION, SLURM_TIME, SLURM_CPUS_PER_TASK, SLURM_N };

typedef struct {
    char *experiment;   /* spec name, e.g. inverted_residual_mid */
    char *variant;      /* binary's name: experiment plus variant suffix */
    long seed;
    char *id;           /* <experiment>/seed<k> */
    char *dir;          /* <sweep dir>/<id> */
} sweep_run;

typedef struct {
    const char *file;           /* the sweep YAML */
    char *name;                 /* its base name */
    char *dir;                  /* <out>/<name> */
    setting experiments, seeds; /* space-separated globs / integers */
    setting dataset, data;
    setting variant[VARIANT_N];
    setting train[TRAIN_N];
    setting slurm[SLURM_N];
    setting jobs, runner;
    /* resolved */
    sweep_run *runs;
    int n_runs;
    int n_jobs, threads_per_run;
} sweep;

/* sweep_file.c */
void sweep_load(sweep *s, const char *file);
/* Overrides one setting by its command-line name (--epochs ...); returns
 * 0, or -1 if the name is not a setting. */
int sweep_override(sweep *s, const char *name, const char *value);
/* Validates every setting and expands experiments x seeds over the specs
 * in specs_dir.  Errors name the YAML position or the option. */
void sweep_resolve(sweep *s, const char *specs_dir, const char *out_dir);
/* The train arguments of one run, NULL-terminated, without --threads. */
char **sweep_train_args(const sweep *s, const sweep_run *r);
/* Moves the sweep's directory (and its runs') under out_dir. */
void sweep_set_out(sweep *s, const char *out_dir);
const char *sweep_setting_names(void);
int sweep_setting_count(void);
const char *sweep_setting_option(int i);

/* sweep_state.c: a run's files.  Everything after `run` resolved the
 * sweep works from plan.tsv, so a Slurm task needs only the directory. */
typedef enum { RUN_NEW, RUN_RUNNING, RUN_OK, RUN_FAILED } run_state;
/* The state file's verdict; reason gets "failed: ..." text. */
run_state run_read_state(const char *run_dir, char *reason, int size);
/* Writes dir/name atomically (temporary file, fsync, rename); 0 or -1. */
int write_file_atomic(const char *dir, const char *name, const char *text);
/* Command line as one line (binary, then args, space-separated). */
char *command_text(const char *binary, char *const *args);
/* A whole file (NULL if unreadable), NUL-terminated. */
char *read_text(const char *path);
/* mkdir -p; exits with a message on failure. */
void make_dirs(const char *path);
/* rm -rf, without a shell; exits with a message on failure. */
void remove_tree(const char *dir);
/* Takes the sweep directory's lock for the rest of the process (a second
 * bzsweep on it exits with a message). */
void sweep_lock(const sweep *s);
/* Empties a run's directory: an unfinished run starts again cleanly. */
void run_reset(const char *run_dir);
/* Writes plan.tsv for the resolved sweep (binaries under root/build). */
void sweep_write_plan(const sweep *s, const char *root);
/* Refuses to reuse a finished run that another command made. */
void sweep_check_finished(const sweep *s, const char *root);

typedef struct {
    char *id, *dir, *binary;
    char **args;         /* NULL-terminated, without --threads */
} plan_run;
typedef struct {
    char *dir;
    plan_run *runs;
    int n;
} plan;
/* Reads <sweep dir>/plan.tsv; exits with file:line on a malformed line. */
plan plan_read(const char *sweep_dir);
/* Rebuilds <sweep dir>/results.csv from the rows of the finished runs, in
 * plan order, under a lock, atomically.  Returns the number of rows. */
int sweep_collect(const char *sweep_dir);

/* sweep_exec.c: one run as a child process */
/* Resets the run's directory, writes its cmd and starts it in a child
 * (stdout and stderr to log.txt; killed if bzsweep dies); returns the pid. */
int run_start(const plan_run *r, int threads);
/* Records how the child ended (a wait status) in the run's state file;
 * returns 1 if it finished, and a one-line reason otherwise. */
int run_finish(const plan_run *r, int wait_status, char *reason, int size);

/* sweep_local.c, sweep_slurm.c, sweep_status.c */
int sweep_run_local(const sweep *s);
int sweep_submit_slurm(const sweep *s, const char *self);
int sweep_slurm_task(const char *sweep_dir, int index);
/* squeue's state of each task of the submitted array (NULL entries: not
 * queued), or NULL if this sweep was never submitted. */
char **slurm_task_states(const char *sweep_dir, int n_tasks);
/* The squeue state of run `id` in tasks.txt, or NULL. */
const char *task_state_of(const char *tasks_path, const char *id, char **states);
int count_lines(const char *path);
int sweep_print_status(const sweep *s);
/* Builds every variant's binary with make; exits if make fails. */
void sweep_build(const sweep *s, int jobs, char *const *make_args);
/* Cores this process may run on. */
int usable_cores(void);

#endif
