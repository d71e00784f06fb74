/* The report's plots: a gnuplot script per plot (data inline, so that a
 * script can be re-run or edited alone), each drawn as SVG and PNG. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../gen/diag.h"
#include "child.h"
#include "csv.h"
#include "report.h"

/* one colour per position, one marker per block */
static const char *const position_colour[] = {"#1b9e77", "#d95f02", "#7570b3", "#888888"};
static const int block_marker[] = {5, 7, 9, 11, 13, 4, 6, 8, 10, 12, 1, 2, 3};
static const char *const block_colour[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

static int index_of(const char *const *list, int n, const char *v)
{
    for (int i = 0; i < n; i++)
        if (strcmp(list[i], v) == 0)
            return i;
    return 0;
}

static const char *colour_of_position(const report_data *r, const char *p)
{
    int i = index_of(r->positions, r->n_positions, p);
    return position_colour[i < 3 ? i : 3];
}

static int marker_of_block(const report_data *r, const char *b)
{
    return block_marker[index_of(r->blocks, r->n_blocks, b) % 13];
}

/* A string for a gnuplot double-quoted literal (noenhanced text). */
static void put_quoted(FILE *fp, const char *s)
{
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static void legend_blocks_and_positions(FILE *fp, const report_data *r)
{
    for (int b = 0; b < r->n_blocks; b++) {
        fprintf(fp, ", \\\n  keyentry with points pt %d ps 1.2 lc rgb \"black\" title ",
                marker_of_block(r, r->blocks[b]));
        put_quoted(fp, r->blocks[b]);
    }
    for (int p = 0; p < r->n_positions; p++) {
        fprintf(fp, ", \\\n  keyentry with points pt 7 ps 1.2 lc rgb \"%s\" title ",
                colour_of_position(r, r->positions[p]));
        put_quoted(fp, r->positions[p]);
    }
}

typedef struct {
    double x, y;
} point;

static int cmp_point(const void *a, const void *b)
{
    const point *p = a, *q = b;
    return p->x < q->x ? -1 : p->x > q->x ? 1 : (p->y > q->y ? -1 : p->y < q->y);
}

/* Points no other beats on both axes (lower x, higher accuracy). */
static int pareto_front(const report_data *r, int x_metric, point *front)
{
    int n = 0, k = 0;
    for (int g = 0; g < r->n_groups; g++)
        if (r->groups[g].count[x_metric])
            front[n++] = (point){r->groups[g].mean[x_metric], r->groups[g].mean[M_VAL_ACC]};
    qsort(front, (size_t)n, sizeof *front, cmp_point);
    double best = -INFINITY;
    for (int i = 0; i < n; i++)
        if (front[i].y > best) {
            best = front[i].y;
            front[k++] = front[i];
        }
    return k;
}

static void accuracy_against(FILE *fp, const report_data *r, int x_metric, int log_x)
{
    point *front = xcalloc((size_t)r->n_groups + 1, sizeof *front);
    int n_front = pareto_front(r, x_metric, front);
    fprintf(fp, "$front << EOD\n");
    for (int i = 0; i < n_front; i++)
        fprintf(fp, "%.9g %.9g\n", front[i].x, front[i].y);
    fprintf(fp, "EOD\n$groups << EOD\n");
    for (int g = 0; g < r->n_groups; g++)
        if (r->groups[g].count[x_metric])
            fprintf(fp, "%.9g %.9g\n\n\n", r->groups[g].mean[x_metric], r->groups[g].mean[M_VAL_ACC]);
    fprintf(fp, "EOD\n");
    free(front);
    fprintf(fp, "@TERMINAL\nset xlabel \"%s (mean over seeds)\"\nset ylabel \"validation accuracy\"\n"
                "set key outside right top\nset grid\n%s\nplot $front with lines dt 2 lw 1.5 "
                "lc rgb \"#444444\" title \"Pareto front\"",
            report_metrics[x_metric].label, log_x ? "set logscale x" : "unset logscale x");
    for (int g = 0, k = 0; g < r->n_groups; g++) {
        if (!r->groups[g].count[x_metric])
            continue;
        fprintf(fp, ", \\\n  $groups index %d with points pt %d ps 1.4 lc rgb \"%s\" notitle", k++,
                marker_of_block(r, r->groups[g].block),
                colour_of_position(r, r->groups[g].position));
    }
    legend_blocks_and_positions(fp, r);
    fprintf(fp, "\n");
}

/* Every run's accuracy, blocks along x, positions side by side. */
static void accuracy_by_position(FILE *fp, const report_data *r)
{
    fprintf(fp, "$runs << EOD\n");
    for (int p = 0; p < r->n_positions; p++) {
        double shift = r->n_positions > 1 ? 0.5 * ((double)p / (r->n_positions - 1) - 0.5) : 0;
        for (int i = 0; i < r->n_rows; i++)
            if (strcmp(r->rows[i].position, r->positions[p]) == 0)
                fprintf(fp, "%.4f %.9g\n", index_of(r->blocks, r->n_blocks, r->rows[i].block) + 1 + shift,
                        r->rows[i].v[M_VAL_ACC]);
        fprintf(fp, "\n\n");
    }
    fprintf(fp, "EOD\n@TERMINAL\nset ylabel \"validation accuracy\"\nset grid ytics\n"
                "set key outside right top\nset xrange [0.5:%d.5]\nset xtics rotate by -35 (",
            r->n_blocks);
    for (int b = 0; b < r->n_blocks; b++) {
        fprintf(fp, "%s", b ? ", " : "");
        put_quoted(fp, r->blocks[b]);
        fprintf(fp, " %d", b + 1);
    }
    fprintf(fp, ")\nplot ");
    for (int p = 0; p < r->n_positions; p++) {
        fprintf(fp, "%s$runs index %d with points pt 7 ps 1.1 lc rgb \"%s\" title ", p ? ", \\\n  " : "",
                p, colour_of_position(r, r->positions[p]));
        put_quoted(fp, r->positions[p]);
    }
    fprintf(fp, "\n");
}

/* Mean validation accuracy per epoch over a group's runs; returns epochs. */
static int group_curve(const report_data *r, const report_group *g, double *acc, int max_epochs)
{
    int count[512] = {0}, n_epochs = 0;
    for (int e = 0; e < max_epochs; e++)
        acc[e] = 0;
    for (int i = 0; i < g->n; i++) {
        const char *path = r->rows[g->rows[i]].metrics_csv;
        if (!path)
            continue;
        csv_table t = csv_read(path);
        int ep = csv_column(&t, "epoch"), va = csv_column(&t, "val_acc");
        for (int k = 0; ep >= 0 && va >= 0 && k < t.n_rows; k++) {
            int e = atoi(t.rows[k].fields[ep]) - 1;
            if (e >= 0 && e < max_epochs) {
                acc[e] += atof(t.rows[k].fields[va]);
                count[e]++;
                n_epochs = e + 1 > n_epochs ? e + 1 : n_epochs;
            }
        }
        csv_free(&t);
    }
    for (int e = 0; e < n_epochs; e++)
        acc[e] = count[e] ? acc[e] / count[e] : NAN;
    return n_epochs;
}

/* One panel per position, one line per block; returns 0 if no run has a
 * metrics CSV. */
static int training_curves(FILE *fp, const report_data *r)
{
    double acc[512];
    int any = 0;
    fprintf(fp, "$curves << EOD\n");
    for (int g = 0; g < r->n_groups; g++) {
        int n = group_curve(r, &r->groups[g], acc, 512);
        for (int e = 0; e < n; e++)
            if (!isnan(acc[e]))
                fprintf(fp, "%d %.9g\n", e + 1, acc[e]);
        fprintf(fp, n ? "\n\n" : "nan nan\n\n\n");
        any |= n > 0;
    }
    fprintf(fp, "EOD\n@TERMINAL\nset multiplot layout 1,%d\nset grid\nset xlabel \"epoch\"\n"
                "set ylabel \"validation accuracy\"\nset key bottom right font \",8\"\n",
            r->n_positions);
    for (int p = 0; p < r->n_positions; p++) {
        fprintf(fp, "set title ");
        put_quoted(fp, r->positions[p]);
        fprintf(fp, "\nplot ");
        int first = 1;
        for (int g = 0; g < r->n_groups; g++) {
            if (strcmp(r->groups[g].position, r->positions[p]) != 0)
                continue;
            int b = index_of(r->blocks, r->n_blocks, r->groups[g].block);
            fprintf(fp, "%s$curves index %d with linespoints pt %d ps 0.8 lc rgb \"%s\" title ",
                    first ? "" : ", \\\n  ", g, marker_of_block(r, r->groups[g].block),
                    block_colour[b % 10]);
            put_quoted(fp, r->groups[g].source[0]
                               ? xasprintf("%s (%s)", r->groups[g].block, r->groups[g].source)
                               : r->groups[g].block);
            first = 0;
        }
        fprintf(fp, "\n");
    }
    fprintf(fp, "unset multiplot\n");
    return any;
}

/* Throughput against batch size, one line per experiment and device. */
static void batch_scaling(FILE *fp, const report_data *r)
{
    fprintf(fp, "$scaling << EOD\n");
    for (int i = 0; i < r->n_bench; i++) {
        const bench_point *p = &r->bench[i];
        if (i && (strcmp(p->experiment, p[-1].experiment) || strcmp(p->device, p[-1].device))) {
            fprintf(fp, "\n\n");
        }
        fprintf(fp, "%d %.9g\n", p->batch, p->v[B_THROUGHPUT]);
    }
    fprintf(fp, "EOD\n@TERMINAL\nset logscale xy 2\nset grid\nset xlabel \"batch size\"\n"
                "set ylabel \"inference throughput (images/s)\"\nset key outside right top\nplot ");
    for (int i = 0, line = 0; i < r->n_bench; i++) {
        const bench_point *p = &r->bench[i];
        if (i && !strcmp(p->experiment, p[-1].experiment) && !strcmp(p->device, p[-1].device))
            continue;
        fprintf(fp, "%s$scaling index %d with linespoints pt 7 lc rgb \"%s\" title ",
                line ? ", \\\n  " : "", line, block_colour[line % 10]);
        put_quoted(fp, xasprintf("%s (%s)", p->experiment, p->device));
        line++;
    }
    fprintf(fp, "\n");
}

/* Writes <name>.gp: the data, then the plot for each terminal. */
static void run_gnuplot(const char *dir, const char *name, const char *body, int width, int height)
{
    char *path = xasprintf("%s/%s.gp", dir, name);
    FILE *fp = fopen(path, "w");
    if (!fp)
        diag_fatal("cannot write %s: %s", path, strerror(errno));
    /* the data blocks come first, then the plot once per terminal */
    const char *plot = strstr(body, "@TERMINAL\n");
    fprintf(fp, "# %s: drawn by `bzsweep report`; `gnuplot %s.gp` redraws it\n", name, name);
    fprintf(fp, "%.*s", (int)(plot - body), body);
    fprintf(fp, "set termoption noenhanced\n");
    fprintf(fp, "set terminal svg size %d,%d dynamic font \"sans,11\" background \"white\"\n"
                "set output \"%s.svg\"\n%s", width, height, name, plot + strlen("@TERMINAL\n"));
    fprintf(fp, "reset\nset terminal pngcairo size %d,%d font \"sans,10\"\nset output \"%s.png\"\n"
                "set termoption noenhanced\n%s", width, height, name, plot + strlen("@TERMINAL\n"));
    fprintf(fp, "set output\n");
    if (fclose(fp) != 0)
        diag_fatal("cannot write %s: %s", path, strerror(errno));
    /* gnuplot's warnings (an empty range of a one-epoch curve) go to a log */
    char *script = xasprintf("%s.gp", name), *argv[] = {"gnuplot", script, NULL};
    if (run_program(dir, argv, "gnuplot.log") != 0)
        diag_fatal("report: gnuplot failed on %s (Debian: gnuplot-nox; its messages: %s/gnuplot.log)",
                   path, dir);
    free(script);
    free(path);
}

/* The plot's body, from a writer into a memory stream. */
static char *body_of(void (*write)(FILE *, const report_data *, int, int), const report_data *r,
                     int a, int b)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&text, &len);
    if (!fp)
        diag_fatal("out of memory");
    write(fp, r, a, b);
    fclose(fp);
    return text;
}

static void write_accuracy_against(FILE *fp, const report_data *r, int metric, int log_x)
{
    accuracy_against(fp, r, metric, log_x);
}

static void write_by_position(FILE *fp, const report_data *r, int a, int b)
{
    (void)a;
    (void)b;
    accuracy_by_position(fp, r);
}

static void write_scaling(FILE *fp, const report_data *r, int a, int b)
{
    (void)a;
    (void)b;
    batch_scaling(fp, r);
}

static void write_curves(FILE *fp, const report_data *r, int a, int b)
{
    (void)a;
    (void)b;
    if (!training_curves(fp, r))
        fprintf(fp, "#no curves\n");
}

int report_plots(const report_data *r, const char *dir, plot_info *plots, int max_plots)
{
    static const struct {
        int metric, log_x;
        const char *name, *title;
    } scatter[] = {
        {M_LATENCY, 1, "acc_vs_latency", "Validation accuracy against batch-1 latency"},
        {M_FLOPS, 1, "acc_vs_flops", "Validation accuracy against FLOPs"},
        {M_PARAMS, 1, "acc_vs_params", "Validation accuracy against parameters"},
        {M_MEMORY, 0, "acc_vs_memory", "Validation accuracy against training memory"},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof scatter / sizeof scatter[0] && n < max_plots; i++) {
        int have = 0;
        for (int g = 0; g < r->n_groups; g++)
            have |= r->groups[g].count[scatter[i].metric] > 0;
        if (!have)
            continue;   /* e.g. no latency: every run without --bench */
        char *body = body_of(write_accuracy_against, r, scatter[i].metric, scatter[i].log_x);
        run_gnuplot(dir, scatter[i].name, body, 900, 520);
        plots[n++] = (plot_info){scatter[i].name, scatter[i].title};
        free(body);
    }
    char *body = body_of(write_by_position, r, 0, 0);
    run_gnuplot(dir, "acc_by_position", body, 900, 520);
    plots[n++] = (plot_info){"acc_by_position", "Validation accuracy by block and position (every run)"};
    free(body);
    body = body_of(write_curves, r, 0, 0);
    if (!strstr(body, "#no curves") && n < max_plots) {
        run_gnuplot(dir, "training_curves", body, 1200, 440);
        plots[n++] = (plot_info){"training_curves",
                                 "Training curves: validation accuracy per epoch (mean over seeds)"};
    }
    free(body);
    if (r->n_bench && n < max_plots) {
        body = body_of(write_scaling, r, 0, 0);
        run_gnuplot(dir, "batch_scaling", body, 900, 520);
        plots[n++] = (plot_info){"batch_scaling", "Inference throughput against batch size (bench --output)"};
        free(body);
    }
    return n;
}
