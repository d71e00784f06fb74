/* The report's three forms: report.json (every number of the tables),
 * report.md (tables, plots as SVG and PNG beside it) and index.html (one
 * self-contained file, plots inlined as SVG).  The tables are built once
 * as grids of text and rendered twice. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gen/diag.h"
#include "report.h"

static const char *const number_format[N_METRICS] = {
    [M_VAL_ACC] = "%.4f", [M_VAL_LOSS] = "%.4f", [M_PARAMS] = "%.0f", [M_FLOPS] = "%.0f",
    [M_MEMORY] = "%.1f", [M_LATENCY] = "%.3f", [M_THROUGHPUT] = "%.1f", [M_TRAIN_TIME] = "%.1f",
};

typedef struct {
    const char *title, *note;
    int n_cols, n_rows;
    char **cells;   /* (n_rows + 1) x n_cols, the header first */
} grid;

static grid grid_new(const char *title, const char *note, int n_cols, int n_rows)
{
    grid g = {title, note, n_cols, n_rows, xcalloc((size_t)(n_rows + 1) * (size_t)n_cols, sizeof(char *))};
    return g;
}

static void cell(grid *g, int row, int col, char *text) { g->cells[row * g->n_cols + col] = text; }

static char *mean_std(double mean, double std, const char *fmt)
{
    if (isnan(mean))
        return xstrdup("-");
    char *m = xasprintf(fmt, mean);
    if (isnan(std))
        return m;
    char *s = xasprintf(fmt, std), *t = xasprintf("%s ± %s", m, s);
    free(m);
    free(s);
    return t;
}

static grid summary_grid(const report_data *r)
{
    int multi = r->n_sources > 1, c0 = multi ? 1 : 0;
    grid g = grid_new("Per block and position", "mean ± standard deviation over seeds (n-1)",
                      c0 + 3 + N_METRICS, r->n_groups);
    if (multi)
        cell(&g, 0, 0, xstrdup("source"));
    cell(&g, 0, c0, xstrdup("block"));
    cell(&g, 0, c0 + 1, xstrdup("position"));
    cell(&g, 0, c0 + 2, xstrdup("seeds"));
    for (int m = 0; m < N_METRICS; m++)
        cell(&g, 0, c0 + 3 + m, xstrdup(report_metrics[m].label));
    for (int i = 0; i < r->n_groups; i++) {
        const report_group *gr = &r->groups[i];
        if (multi)
            cell(&g, i + 1, 0, xstrdup(gr->source));
        cell(&g, i + 1, c0, xstrdup(gr->block));
        cell(&g, i + 1, c0 + 1, xstrdup(gr->position));
        cell(&g, i + 1, c0 + 2, xasprintf("%d", gr->n));
        for (int m = 0; m < N_METRICS; m++)
            cell(&g, i + 1, c0 + 3 + m, mean_std(gr->mean[m], gr->std[m], number_format[m]));
    }
    return g;
}

static grid generality_grid(const report_data *r)
{
    grid g = grid_new("Generality per block",
                      "BlockZoo's score: mean val_acc / (1 + sample variance of val_acc) over the "
                      "block's rows (every position and seed)", 5, r->n_scores);
    const char *head[] = {"block", "rows", "val_acc mean", "val_acc variance", "generality"};
    for (int c = 0; c < 5; c++)
        cell(&g, 0, c, xstrdup(head[c]));
    for (int i = 0; i < r->n_scores; i++) {
        const block_score *s = &r->scores[i];
        cell(&g, i + 1, 0, s->source[0] ? xasprintf("%s / %s", s->block, s->source) : xstrdup(s->block));
        cell(&g, i + 1, 1, xasprintf("%d", s->n));
        cell(&g, i + 1, 2, mean_std(s->mean, NAN, "%.4f"));
        cell(&g, i + 1, 3, mean_std(s->var, NAN, "%.6f"));
        cell(&g, i + 1, 4, mean_std(s->generality, NAN, "%.4f"));
    }
    return g;
}

/* Groups of one position, best mean accuracy first. */
static int position_ranking(const report_data *r, const char *position, int *order)
{
    int n = 0;
    for (int i = 0; i < r->n_groups; i++)
        if (strcmp(r->groups[i].position, position) == 0)
            order[n++] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && r->groups[order[j]].mean[M_VAL_ACC] >
                                     r->groups[order[j - 1]].mean[M_VAL_ACC]; j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    return n;
}

static grid ranking_grid(const report_data *r)
{
    int *order = xcalloc((size_t)r->n_groups, sizeof *order), most = 0;
    for (int p = 0; p < r->n_positions; p++) {
        int n = position_ranking(r, r->positions[p], order);
        most = n > most ? n : most;
    }
    grid g = grid_new("Ranking of blocks by position", "by mean validation accuracy, best first",
                      1 + r->n_positions, most);
    cell(&g, 0, 0, xstrdup("rank"));
    for (int i = 0; i < most; i++)
        cell(&g, i + 1, 0, xasprintf("%d", i + 1));
    for (int p = 0; p < r->n_positions; p++) {
        cell(&g, 0, p + 1, xstrdup(r->positions[p]));
        int n = position_ranking(r, r->positions[p], order);
        for (int i = 0; i < most; i++) {
            const report_group *gr = i < n ? &r->groups[order[i]] : NULL;
            cell(&g, i + 1, p + 1, !gr ? xstrdup("")
                                      : xasprintf("%s%s%s (%.4f)", gr->block, gr->source[0] ? " / " : "",
                                                  gr->source, gr->mean[M_VAL_ACC]));
        }
    }
    free(order);
    return g;
}

static grid bench_grid(const report_data *r)
{
    grid g = grid_new("Batch scaling", "from bench --output CSVs: mean over the rows of each "
                      "batch size; latency of the deploy graph, training step throughput", 6,
                      r->n_bench);
    const char *head[] = {"experiment", "device", "batch", "latency (ms)", "throughput (img/s)",
                          "training (img/s)"};
    static const char *const fmt[N_BENCH] = {"%.3f", "%.1f", "%.1f"};
    for (int c = 0; c < 6; c++)
        cell(&g, 0, c, xstrdup(head[c]));
    for (int i = 0; i < r->n_bench; i++) {
        const bench_point *p = &r->bench[i];
        cell(&g, i + 1, 0, xstrdup(p->experiment));
        cell(&g, i + 1, 1, xstrdup(p->device));
        cell(&g, i + 1, 2, xasprintf("%d", p->batch));
        for (int k = 0; k < N_BENCH; k++)
            cell(&g, i + 1, 3 + k, mean_std(p->v[k], NAN, fmt[k]));
    }
    return g;
}

static FILE *open_out(const char *dir, const char *name, char **path)
{
    *path = xasprintf("%s/%s", dir, name);
    FILE *fp = fopen(*path, "w");
    if (!fp)
        diag_fatal("cannot write %s: %s", *path, strerror(errno));
    return fp;
}

static void close_out(FILE *fp, char *path)
{
    if (fclose(fp) != 0)
        diag_fatal("cannot write %s: %s", path, strerror(errno));
    free(path);
}

/* ---- JSON ---- */

static json_t *number_or_null(double v) { return isnan(v) ? json_null() : json_real(v); }

static json_t *groups_json(const report_data *r)
{
    json_t *a = json_array();
    for (int i = 0; i < r->n_groups; i++) {
        const report_group *g = &r->groups[i];
        json_t *o = json_object(), *m = json_object();
        if (r->n_sources > 1)
            json_object_set_new(o, "source", json_string(g->source));
        json_object_set_new(o, "block", json_string(g->block));
        json_object_set_new(o, "position", json_string(g->position));
        json_object_set_new(o, "seeds", json_integer(g->n));
        for (int k = 0; k < N_METRICS; k++)
            json_object_set_new(m, report_metrics[k].column,
                                json_pack("{s:o, s:o, s:i}", "mean", number_or_null(g->mean[k]),
                                          "std", number_or_null(g->std[k]), "count", g->count[k]));
        json_object_set_new(o, "metrics", m);
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *generality_json(const report_data *r)
{
    json_t *a = json_array();
    for (int i = 0; i < r->n_scores; i++) {
        const block_score *s = &r->scores[i];
        json_t *e = json_pack("{s:s, s:i, s:o, s:o, s:o}", "block", s->block, "rows", s->n,
                              "val_acc_mean", number_or_null(s->mean), "val_acc_var",
                              number_or_null(s->var), "generality", number_or_null(s->generality));
        if (r->n_sources > 1)
            json_object_set_new(e, "source", json_string(s->source));
        json_array_append_new(a, e);
    }
    return a;
}

static json_t *ranking_json(const report_data *r)
{
    json_t *o = json_object();
    int *order = xcalloc((size_t)r->n_groups, sizeof *order);
    for (int p = 0; p < r->n_positions; p++) {
        json_t *a = json_array();
        int n = position_ranking(r, r->positions[p], order);
        for (int i = 0; i < n; i++) {
            const report_group *g = &r->groups[order[i]];
            json_t *e = json_pack("{s:i, s:s, s:o}", "rank", i + 1, "block", g->block,
                                  "val_acc_mean", number_or_null(g->mean[M_VAL_ACC]));
            if (r->n_sources > 1)
                json_object_set_new(e, "source", json_string(g->source));
            json_array_append_new(a, e);
        }
        json_object_set_new(o, r->positions[p], a);
    }
    free(order);
    return o;
}

static json_t *bench_json(const report_data *r)
{
    json_t *a = json_array();
    for (int i = 0; i < r->n_bench; i++) {
        const bench_point *p = &r->bench[i];
        json_array_append_new(a, json_pack("{s:s, s:s, s:i, s:i, s:o, s:o, s:o}", "experiment",
                                           p->experiment, "device", p->device, "batch_size",
                                           p->batch, "rows", p->n, "latency_ms",
                                           number_or_null(p->v[B_LATENCY]), "throughput",
                                           number_or_null(p->v[B_THROUGHPUT]), "train_throughput",
                                           number_or_null(p->v[B_TRAIN_THROUGHPUT])));
    }
    return a;
}

void report_write_json(const report_data *r, const char *dir)
{
    json_t *root = json_object(), *files = json_array(), *facts = json_object();
    for (int i = 0; i < r->n_files; i++)
        json_array_append_new(files, json_string(r->files[i]));
    for (int i = 0; i < r->n_facts; i++)
        json_object_set_new(facts, r->facts[i].key, json_string(r->facts[i].value));
    json_object_set_new(root, "files", files);
    json_object_set_new(root, "rows", json_integer(r->n_rows));
    json_object_set_new(root, "groups", groups_json(r));
    json_object_set_new(root, "generality", generality_json(r));
    json_object_set_new(root, "ranking", ranking_json(r));
    if (r->n_bench)
        json_object_set_new(root, "batch_scaling", bench_json(r));
    json_object_set_new(root, "measured", facts);
    char *path = xasprintf("%s/report.json", dir);
    if (json_dump_file(root, path, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) != 0)
        diag_fatal("cannot write %s", path);
    json_decref(root);
    free(path);
}

/* ---- Markdown ---- */

static void markdown_grid(FILE *fp, const grid *g)
{
    fprintf(fp, "## %s\n\n%s.\n\n|", g->title, g->note);
    for (int c = 0; c < g->n_cols; c++)
        fprintf(fp, " %s |", g->cells[c]);
    fprintf(fp, "\n|");
    for (int c = 0; c < g->n_cols; c++)
        fprintf(fp, " --- |");
    for (int i = 1; i <= g->n_rows; i++) {
        fprintf(fp, "\n|");
        for (int c = 0; c < g->n_cols; c++)
            fprintf(fp, " %s |", g->cells[i * g->n_cols + c]);
    }
    fprintf(fp, "\n\n");
}

static void free_grid(grid *g)
{
    for (int i = 0; i < (g->n_rows + 1) * g->n_cols; i++)
        free(g->cells[i]);
    free(g->cells);
}

/* The report's tables, in order; returns how many. */
static int make_grids(const report_data *r, grid *grids)
{
    grids[0] = summary_grid(r);
    grids[1] = generality_grid(r);
    grids[2] = ranking_grid(r);
    if (!r->n_bench)
        return 3;
    grids[3] = bench_grid(r);
    return 4;
}

void report_write_markdown(const report_data *r, const char *dir, const plot_info *plots, int n)
{
    char *path;
    FILE *fp = open_out(dir, "report.md", &path);
    grid grids[4];
    int n_grids = make_grids(r, grids);
    fprintf(fp, "# BlockZoo comparison\n\n%d runs from %d results file%s.\n\n", r->n_rows,
            r->n_files, r->n_files > 1 ? "s" : "");
    for (int i = 0; i < n_grids; i++) {
        markdown_grid(fp, &grids[i]);
        free_grid(&grids[i]);
    }
    fprintf(fp, "## Plots\n\n");
    for (int i = 0; i < n; i++)
        fprintf(fp, "### %s\n\n![%s](%s.svg)\n\nPNG: [%s.png](%s.png); gnuplot script: [%s.gp](%s.gp)\n\n",
                plots[i].title, plots[i].title, plots[i].name, plots[i].name, plots[i].name,
                plots[i].name, plots[i].name);
    fprintf(fp, "## How it was measured\n\n");
    for (int i = 0; i < r->n_facts; i++)
        fprintf(fp, "- %s: %s\n", r->facts[i].key, r->facts[i].value);
    fprintf(fp, "\nEvery number of these tables is in [report.json](report.json).\n");
    close_out(fp, path);
}

/* ---- HTML ---- */

static void put_html(FILE *fp, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '&': fputs("&amp;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default: fputc(*s, fp);
        }
}

static void html_grid(FILE *fp, const grid *g, const char *id)
{
    fprintf(fp, "<h2>");
    put_html(fp, g->title);
    fprintf(fp, "</h2>\n<p>");
    put_html(fp, g->note);
    fprintf(fp, ".</p>\n<table id=\"%s\">\n<tr>", id);
    for (int c = 0; c < g->n_cols; c++) {
        fprintf(fp, "<th>");
        put_html(fp, g->cells[c]);
        fprintf(fp, "</th>");
    }
    fprintf(fp, "</tr>\n");
    for (int i = 1; i <= g->n_rows; i++) {
        fprintf(fp, "<tr>");
        for (int c = 0; c < g->n_cols; c++) {
            fprintf(fp, "<td>");
            put_html(fp, g->cells[i * g->n_cols + c]);
            fprintf(fp, "</td>");
        }
        fprintf(fp, "</tr>\n");
    }
    fprintf(fp, "</table>\n");
}

/* gnuplot's SVG without its XML declaration and DOCTYPE, for inlining. */
static void inline_svg(FILE *fp, const char *dir, const char *name)
{
    char *path = xasprintf("%s/%s.svg", dir, name), line[8192];
    FILE *in = fopen(path, "r");
    if (!in)
        diag_fatal("cannot read %s: %s", path, strerror(errno));
    int started = 0;
    while (fgets(line, sizeof line, in)) {
        started |= strncmp(line, "<svg", 4) == 0;
        if (started)
            fputs(line, fp);
    }
    fclose(in);
    free(path);
}

void report_write_html(const report_data *r, const char *dir, const plot_info *plots, int n)
{
    char *path;
    FILE *fp = open_out(dir, "index.html", &path);
    grid grids[4];
    static const char *const ids[4] = {"summary", "generality", "ranking", "batch-scaling"};
    int n_grids = make_grids(r, grids);
    fprintf(fp, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                "<title>BlockZoo comparison</title>\n<style>\n"
                "body{font-family:sans-serif;margin:2em;max-width:1300px}\n"
                "table{border-collapse:collapse;margin-bottom:1em;font-size:90%%}\n"
                "td,th{border:1px solid #bbb;padding:3px 7px;text-align:right;white-space:nowrap}\n"
                "td:first-child,th:first-child{text-align:left}\nth{background:#eee}\n"
                "figure{margin:1em 0}\nfigcaption{font-weight:bold}\n"
                "pre{background:#f6f6f6;padding:1em}\n</style>\n</head>\n<body>\n"
                "<h1>BlockZoo comparison</h1>\n<p>%d runs from %d results file%s.</p>\n",
            r->n_rows, r->n_files, r->n_files > 1 ? "s" : "");
    for (int i = 0; i < n_grids; i++) {
        html_grid(fp, &grids[i], ids[i]);
        free_grid(&grids[i]);
    }
    fprintf(fp, "<h2>Plots</h2>\n");
    for (int i = 0; i < n; i++) {
        fprintf(fp, "<figure id=\"plot-%s\">\n<figcaption>", plots[i].name);
        put_html(fp, plots[i].title);
        fprintf(fp, "</figcaption>\n");
        inline_svg(fp, dir, plots[i].name);
        fprintf(fp, "</figure>\n");
    }
    fprintf(fp, "<h2>How it was measured</h2>\n<ul>\n");
    for (int i = 0; i < r->n_facts; i++) {
        fprintf(fp, "<li>");
        put_html(fp, r->facts[i].key);
        fprintf(fp, ": ");
        put_html(fp, r->facts[i].value);
        fprintf(fp, "</li>\n");
    }
    fprintf(fp, "</ul>\n</body>\n</html>\n");
    close_out(fp, path);
}
