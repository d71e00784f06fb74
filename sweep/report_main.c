/* `bzsweep report [--output DIR] [--sweep SWEEP.yaml] [RESULTS.csv...]`:
 * reads the CSVs, then writes the report into a fresh directory that
 * replaces DIR only when complete. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../gen/diag.h"
#include "report.h"
#include "sweep.h"

static void usage(FILE *to)
{
    fprintf(to,
        "usage: bzsweep report [--sweep SWEEP.yaml] [--out DIR] [--output DIR] [RESULTS.csv...]\n\n"
        "Summarises results CSVs (one row per run, BlockZoo's columns) per block and\n"
        "position: mean and standard deviation over seeds, BlockZoo's generality score,\n"
        "the ranking of blocks at each position, and plots (gnuplot): accuracy against\n"
        "latency, FLOPs, parameters and memory with the Pareto front, accuracy by\n"
        "position, training curves.  Writes DIR/index.html (self-contained),\n"
        "DIR/report.md with the plots as SVG and PNG, and DIR/report.json.\n\n"
        "  --sweep FILE   the sweep's results (OUT/<name>/results.csv) into OUT/<name>/report\n"
        "  --out DIR      sweeps' directory (default results/sweeps)\n"
        "  --output DIR   where the report goes (default: beside the first CSV, report/)\n"
        "  --help         this text\n"
        "Several CSVs compare sweeps or machines: each is a source in the tables.\n");
}

static char *first_line_of(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    char line[256] = "";
    if (!p)
        return NULL;
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    int rc = pclose(p);
    line[strcspn(line, "\n")] = '\0';
    return rc == 0 && line[0] ? xstrdup(line) : NULL;
}

static void machine_facts(report_data *r)
{
    char *cpu = first_line_of("sed -n 's/^model name[^:]*: //p' /proc/cpuinfo 2>/dev/null | head -1");
    char *cores = first_line_of("nproc 2>/dev/null");
    char *gpu = first_line_of("nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null");
    char *commit = first_line_of("git rev-parse --short HEAD 2>/dev/null");
    char now[64];
    time_t t = time(NULL);
    strftime(now, sizeof now, "%Y-%m-%d %H:%M:%S %z", localtime(&t));
    report_add_fact(r, "report made", now);
    report_add_fact(r, "report machine", xasprintf("%s, %s cores, GPU: %s", cpu ? cpu : "unknown CPU",
                                                   cores ? cores : "?", gpu ? gpu : "none"));
    report_add_fact(r, "commit of the report", commit ? commit : "unknown");
    if (r->sweep_file)
        report_add_fact(r, "sweep file", r->sweep_file);
    for (int i = 0; i < r->n_files; i++)
        report_add_fact(r, "results", r->files[i]);
}

/* DIR is replaced only if it is absent, empty or an earlier report (it
 * holds report.json): --output pointing elsewhere must not delete data. */
static void check_replaceable(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) != 0)
        return;
    char *json = xasprintf("%s/report.json", dir);
    DIR *d = opendir(dir);
    int empty = d != NULL;
    for (struct dirent *e; d && (e = readdir(d));)
        empty &= strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    if (d)
        closedir(d);
    if (!S_ISDIR(st.st_mode) || (!empty && access(json, F_OK) != 0))
        diag_fatal("report: --output %s exists and is not a report (no report.json); choose "
                   "another directory", dir);
    free(json);
}

static char *default_output(const char *csv)
{
    const char *slash = strrchr(csv, '/');
    return slash ? xasprintf("%.*s/report", (int)(slash - csv), csv) : xstrdup("report");
}

static char *sweep_results(const char *sweep_file, const char *out)
{
    const char *base = strrchr(sweep_file, '/') ? strrchr(sweep_file, '/') + 1 : sweep_file;
    const char *dot = strrchr(base, '.');
    if (access(sweep_file, R_OK) != 0)
        diag_fatal("report: %s: %s", sweep_file, strerror(errno));
    return xasprintf("%s/%.*s/results.csv", out, dot ? (int)(dot - base) : (int)strlen(base), base);
}

int report_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"output", required_argument, NULL, 'o'}, {"sweep", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'd'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
    };
    const char *output = NULL, *out = "results/sweeps";
    report_data r = {0};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, "h", longs, NULL)) != -1;) {
        switch (c) {
        case 'o': output = optarg; break;
        case 's': r.sweep_file = optarg; break;
        case 'd': out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: diag_fatal("report: unknown option or missing value '%s' (see bzsweep report --help)",
                            argv[optind - 1]);
        }
    }
    char **files = argv + optind;
    int n_files = argc - optind;
    if (r.sweep_file && n_files == 0) {
        files = xcalloc(2, sizeof *files);
        files[0] = sweep_results(r.sweep_file, out);
        n_files = 1;
    }
    if (n_files == 0)
        diag_fatal("report: no results CSV (give files, or --sweep SWEEP.yaml)");
    report_load(&r, files, n_files);
    machine_facts(&r);
    char *dir = output ? xstrdup(output) : default_output(files[0]);
    check_replaceable(dir);
    char *tmp = xasprintf("%s.tmp", dir);
    remove_tree(tmp);
    if (mkdir(tmp, 0755) != 0)
        diag_fatal("report: cannot create %s: %s", tmp, strerror(errno));
    plot_info plots[8];
    int n_plots = report_plots(&r, tmp, plots, 8);
    report_write_json(&r, tmp);
    report_write_markdown(&r, tmp, plots, n_plots);
    report_write_html(&r, tmp, plots, n_plots);
    remove_tree(dir);
    if (rename(tmp, dir) != 0)
        diag_fatal("report: cannot rename %s to %s: %s", tmp, dir, strerror(errno));
    printf("report of %d runs (%d block x position groups, %d plots): %s/index.html, report.md, "
           "report.json\n", r.n_rows, r.n_groups, n_plots, dir);
    return 0;
}
