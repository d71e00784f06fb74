/* bzsweep: runs a sweep (sweeps/<name>.yaml) of experiments x seeds here
 * or on Slurm, shows its state, and writes its report. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "sweep.h"

static void usage(FILE *to)
{
    fprintf(to,
        "usage: bzsweep run SWEEP.yaml [options]     run the sweep's unfinished runs\n"
        "       bzsweep status SWEEP.yaml [options]  one line per run and its state\n"
        "       bzsweep report [--output DIR] [--sweep SWEEP.yaml] RESULTS.csv...\n"
        "                                            tables, plots, HTML/Markdown/JSON\n"
        "       bzsweep task SWEEP_DIR INDEX         one Slurm array task (internal)\n\n"
        "A sweep file names experiments (globs over `make list`), seeds, the dataset,\n"
        "a variant and the training recipe; each setting can be overridden:\n"
        "  %s\n"
        "(--experiments and --seeds take space-separated lists.)\n\n"
        "  --out DIR          sweeps' directory (default results/sweeps): the sweep\n"
        "                     writes DIR/<name>/ (runs, results.csv)\n"
        "  --specs DIR        experiment specs (default specs)\n"
        "  --threads N        threads per run (default: cores / jobs)\n"
        "  --no-build         do not run make for the binaries first\n"
        "  --make VAR=VALUE   passed to make when building (repeatable)\n"
        "  --help             this text\n\n"
        "A finished run is never redone.  Given again, `run` continues an unfinished\n"
        "run from its training state (train --resume) where it left one under the same\n"
        "command, and starts the others again from a clean directory.  Ctrl-C or\n"
        "SIGTERM asks the runs to save their state and stop (killed after 30 s).\n",
        sweep_setting_names());
}

typedef struct {
    const char *out, *specs;
    int threads, build;
    char **make_args;
    int n_make;
} options;

static struct option *long_options(void)
{
    int n = sweep_setting_count();
    struct option *o = xcalloc((size_t)n + 8, sizeof *o);
    for (int i = 0; i < n; i++)
        o[i] = (struct option){sweep_setting_option(i), required_argument, NULL, 1000 + i};
    o[n] = (struct option){"out", required_argument, NULL, 'o'};
    o[n + 1] = (struct option){"specs", required_argument, NULL, 's'};
    o[n + 2] = (struct option){"threads", required_argument, NULL, 't'};
    o[n + 3] = (struct option){"no-build", no_argument, NULL, 'n'};
    o[n + 4] = (struct option){"make", required_argument, NULL, 'm'};
    o[n + 5] = (struct option){"help", no_argument, NULL, 'h'};
    return o;
}

static long int_arg(const char *name, const char *text, long lo, long hi)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (!*text || *end || v < lo || v > hi)
        diag_fatal("--%s wants an integer in [%ld, %ld], got '%s'", name, lo, hi, text);
    return v;
}

/* Parses the options after the command; returns the sweep file. */
static const char *parse(int argc, char **argv, sweep *s, options *o)
{
    struct option *longs = long_options();
    const char *file = argc > 2 && argv[2][0] != '-' ? argv[2] : NULL;
    if (file)
        sweep_load(s, file);
    optind = file ? 3 : 2;
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "h", longs, NULL)) != -1;) {
        if (c >= 1000) {
            sweep_override(s, longs[c - 1000].name, optarg);
            continue;
        }
        switch (c) {
        case 'o': o->out = optarg; break;
        case 's': o->specs = optarg; break;
        case 't': o->threads = (int)int_arg("threads", optarg, 1, 4096); break;
        case 'n': o->build = 0; break;
        case 'm':
            if (!strchr(optarg, '='))
                diag_fatal("--make wants VAR=VALUE, got '%s'", optarg);
            o->make_args = xrealloc(o->make_args, (size_t)(o->n_make + 2) * sizeof *o->make_args);
            o->make_args[o->n_make++] = optarg;
            o->make_args[o->n_make] = NULL;
            break;
        case 'h': usage(stdout); exit(0);
        default:
            diag_fatal("%s: unknown option or missing value '%s' (see bzsweep --help)", argv[1],
                       argv[optind - 1]);
        }
    }
    if (optind < argc)
        diag_fatal("%s: unexpected argument '%s' (see bzsweep --help)", argv[1], argv[optind]);
    if (!file)
        diag_fatal("%s: no sweep file (usage: bzsweep %s SWEEP.yaml [options])", argv[1], argv[1]);
    free(longs);
    return file;
}

/* Checks every setting; `run` then makes the sweeps' directory so that
 * every path it writes can be absolute. */
static void resolve(sweep *s, const options *o, int make_dir)
{
    if (strpbrk(o->out, "\t\n\r "))
        diag_fatal("--out: a path without spaces, tabs or newlines, got '%s'", o->out);
    sweep_resolve(s, o->specs, o->out);
    char *out = realpath(o->out, NULL);
    if (!out && !make_dir)
        out = xstrdup(o->out);
    if (!out) {
        make_dirs(o->out);
        if (!(out = realpath(o->out, NULL)))
            diag_fatal("--out: cannot create %s", o->out);
    }
    sweep_set_out(s, out);
    int cores = usable_cores();
    s->n_jobs = s->jobs.text ? atoi(s->jobs.text) : cores;
    s->threads_per_run = o->threads;
}

static int command_run(int argc, char **argv)
{
    sweep s;
    options o = {.out = "results/sweeps", .specs = "specs", .build = 1};
    parse(argc, argv, &s, &o);
    resolve(&s, &o, 1);
    char root[PATH_MAX], self[PATH_MAX];
    if (!getcwd(root, sizeof root) || !realpath("/proc/self/exe", self))
        diag_fatal("cannot find the working directory or this program");
    int slurm = s.runner.text && strcmp(s.runner.text, "slurm") == 0;
    sweep_lock(&s);
    sweep_check_finished(&s, root);
    if (o.build)
        sweep_build(&s, usable_cores(), o.make_args);
    sweep_write_plan(&s, root);
    if (slurm) {
        char abs_dir[PATH_MAX];
        if (!realpath(s.dir, abs_dir))
            diag_fatal("%s: cannot resolve", s.dir);
        s.dir = abs_dir;
        return sweep_submit_slurm(&s, self);
    }
    return sweep_run_local(&s);
}

static int command_status(int argc, char **argv)
{
    sweep s;
    options o = {.out = "results/sweeps", .specs = "specs", .build = 0};
    parse(argc, argv, &s, &o);
    resolve(&s, &o, 0);
    return sweep_print_status(&s);
}

int main(int argc, char **argv)
{
    diag_program = "bzsweep";
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return command_run(argc, argv);
    if (strcmp(argv[1], "status") == 0)
        return command_status(argc, argv);
    if (strcmp(argv[1], "report") == 0)
        return report_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "task") == 0) {
        if (argc != 4)
            diag_fatal("task: usage: bzsweep task SWEEP_DIR INDEX");
        return sweep_slurm_task(argv[2], (int)int_arg("task index", argv[3], 0, 1000000));
    }
    diag_fatal("unknown command '%s' (run, status, report, task; see bzsweep --help)", argv[1]);
}
