/* The report's numbers: rows read from results CSVs, grouped by block x
 * position, summarised over seeds; BlockZoo's generality score per block. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../gen/diag.h"
#include "csv.h"
#include "report.h"

const metric_info report_metrics[N_METRICS] = {
    [M_VAL_ACC] = {"val_acc", "val acc", 0},
    [M_VAL_LOSS] = {"val_loss", "val loss", 0},
    [M_PARAMS] = {"params_total", "params", 0},
    [M_FLOPS] = {"flops", "FLOPs", 0},
    [M_MEMORY] = {"memory_mb", "memory (MB)", 0},
    [M_LATENCY] = {"latency_ms", "latency (ms)", 1},
    [M_THROUGHPUT] = {"throughput", "throughput (img/s)", 1},
    [M_TRAIN_TIME] = {"training_time", "training time (s)", 0},
};

double sample_mean(const double *x, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += x[i];
    return n ? s / n : NAN;
}

/* pandas' var(): the n-1 (sample) variance, NaN below two values */
double sample_var(const double *x, int n)
{
    if (n < 2)
        return NAN;
    double m = sample_mean(x, n), s = 0;
    for (int i = 0; i < n; i++)
        s += (x[i] - m) * (x[i] - m);
    return s / (n - 1);
}

void report_add_fact(report_data *r, const char *key, const char *value)
{
    for (int i = 0; i < r->n_facts; i++)
        if (strcmp(r->facts[i].key, key) == 0) {
            /* values are "; "-separated items: add a new one only */
            size_t n = strlen(value);
            for (const char *v = r->facts[i].value; v; v = strstr(v, "; ") ? strstr(v, "; ") + 2 : NULL)
                if (strncmp(v, value, n) == 0 && (v[n] == '\0' || strncmp(v + n, "; ", 2) == 0))
                    return;
            r->facts[i].value = xasprintf("%s; %s", r->facts[i].value, value);
            return;
        }
    r->facts = xrealloc(r->facts, (size_t)(r->n_facts + 1) * sizeof *r->facts);
    r->facts[r->n_facts++] = (fact){xstrdup(key), xstrdup(value)};
}

static double parse_number(const csv_table *t, const csv_row *row, int col, int may_be_empty)
{
    const char *text = row->fields[col];
    if (!*text && may_be_empty)
        return NAN;
    char *end;
    double v = strtod(text, &end);
    if (!*text || *end || !isfinite(v))
        diag_error((src_pos){t->path, row->line, 0}, "column '%s': '%s' is not a number",
                   t->header.fields[col], text);
    return v;
}

static const char *field_or(const csv_table *t, const csv_row *row, const char *column,
                            const char *otherwise)
{
    int c = csv_column(t, column);
    return c >= 0 ? row->fields[c] : otherwise;
}

static char *metrics_beside(const char *checkpoint)
{
    const char *slash = strrchr(checkpoint, '/');
    if (!*checkpoint || !slash)
        return NULL;
    char *path = xasprintf("%.*s/metrics.csv", (int)(slash - checkpoint), checkpoint);
    if (access(path, R_OK) == 0)
        return path;
    free(path);
    return NULL;
}

/* Run-time facts of the rows, for "how it was measured". */
static void note_row_facts(report_data *r, const csv_table *t, const csv_row *row)
{
    static const char *const columns[][2] = {
        {"cpu_model", "CPU"}, {"threads", "threads per run"}, {"device", "device"},
        {"gemm", "GEMM kernels"}, {"commit", "commit of the runs"}, {"dataset", "dataset"},
        {"epochs", "epochs"}, {"batch_size", "batch size"}, {"lr", "learning rate"},
        {"subset", "training subset (0: all)"}, {"val_subset", "validation subset (0: all)"},
        {"num_blocks", "blocks per stage"}, {"base_channels", "base channels"},
    };
    for (size_t i = 0; i < sizeof columns / sizeof columns[0]; i++) {
        const char *v = field_or(t, row, columns[i][0], "");
        if (*v)
            report_add_fact(r, columns[i][1], v);
    }
}

/* The parent directory's name (results/sweeps/<name>/results.csv names a
 * sweep), or the whole path where two files share that name. */
static const char *parent_name(const char *f)
{
    const char *slash = strrchr(f, '/');
    char *dir = slash ? xasprintf("%.*s", (int)(slash - f), f) : xstrdup(".");
    char *parent = strrchr(dir, '/');
    return parent ? parent + 1 : dir;
}

static const char *source_label(char **files, int n_files, int i)
{
    if (n_files == 1)
        return "";
    for (int j = 0; j < n_files; j++)
        if (j != i && strcmp(parent_name(files[j]), parent_name(files[i])) == 0)
            return files[i];
    return parent_name(files[i]);
}

static const char *const bench_columns[N_BENCH] = {"latency_ms", "throughput", "train_throughput"};

static int is_bench_csv(const csv_table *t)
{
    return csv_column(t, "val_acc") < 0 && csv_column(t, "batch_size") >= 0 &&
           csv_column(t, "experiment_name") >= 0 && csv_column(t, "train_throughput") >= 0;
}

static bench_point *bench_point_of(report_data *r, const char *experiment, const char *device,
                                   int batch)
{
    for (int i = 0; i < r->n_bench; i++)
        if (!strcmp(r->bench[i].experiment, experiment) && !strcmp(r->bench[i].device, device) &&
            r->bench[i].batch == batch)
            return &r->bench[i];
    r->bench = xrealloc(r->bench, (size_t)(r->n_bench + 1) * sizeof *r->bench);
    bench_point *p = &r->bench[r->n_bench++];
    *p = (bench_point){xstrdup(experiment), xstrdup(device), batch, 0, {0}, {0}};
    return p;
}

static void load_bench_rows(report_data *r, const csv_table *t)
{
    int batch_col = csv_column(t, "batch_size"), col[N_BENCH];
    for (int k = 0; k < N_BENCH; k++)
        if ((col[k] = csv_column(t, bench_columns[k])) < 0)
            diag_error((src_pos){t->path, 1, 0}, "missing column '%s'", bench_columns[k]);
    for (int i = 0; i < t->n_rows; i++) {
        const csv_row *row = &t->rows[i];
        double batch = parse_number(t, row, batch_col, 0);
        if (!(batch >= 1 && batch <= 1 << 30) || batch != (int)batch)
            diag_error((src_pos){t->path, row->line, 0}, "column 'batch_size': not a batch size");
        bench_point *p = bench_point_of(r, field_or(t, row, "experiment_name", ""),
                                        field_or(t, row, "device", ""), (int)batch);
        p->n++;
        for (int k = 0; k < N_BENCH; k++) {
            double v = parse_number(t, row, col[k], 1);
            if (!isnan(v)) {
                p->v[k] += v;
                p->count[k]++;
            }
        }
    }
}

static int cmp_bench(const void *a, const void *b)
{
    const bench_point *x = a, *y = b;
    int d = strcmp(x->experiment, y->experiment);
    if (!d)
        d = strcmp(x->device, y->device);
    return d ? d : x->batch - y->batch;
}

static void finish_bench(report_data *r)
{
    for (int i = 0; i < r->n_bench; i++)
        for (int k = 0; k < N_BENCH; k++)
            r->bench[i].v[k] = r->bench[i].count[k] ? r->bench[i].v[k] / r->bench[i].count[k] : NAN;
    if (r->n_bench)
        qsort(r->bench, (size_t)r->n_bench, sizeof *r->bench, cmp_bench);
}

static void load_file(report_data *r, const char *file, const char *source)
{
    csv_table t = csv_read(file);
    if (is_bench_csv(&t)) {
        if (t.n_rows == 0)
            diag_error((src_pos){file, 1, 0}, "no rows after the header");
        load_bench_rows(r, &t);
        csv_free(&t);
        return;
    }
    int col[N_METRICS];
    static const char *const required[] = {"block", "position"};
    for (size_t i = 0; i < 2; i++)
        if (csv_column(&t, required[i]) < 0)
            diag_error((src_pos){file, 1, 0}, "missing column '%s'", required[i]);
    for (int m = 0; m < N_METRICS; m++)
        if ((col[m] = csv_column(&t, report_metrics[m].column)) < 0)
            diag_error((src_pos){file, 1, 0}, "missing column '%s'", report_metrics[m].column);
    if (t.n_rows == 0)
        diag_error((src_pos){file, 1, 0}, "no rows after the header");
    r->rows = xrealloc(r->rows, (size_t)(r->n_rows + t.n_rows) * sizeof *r->rows);
    int status_col = csv_column(&t, "status"), left_out = 0;
    for (int i = 0; i < t.n_rows; i++) {
        const csv_row *row = &t.rows[i];
        /* a run that diverged (train's status column) has no result to compare */
        if (status_col >= 0 && strcmp(row->fields[status_col], "ok") != 0) {
            left_out++;
            continue;
        }
        report_row *out = &r->rows[r->n_rows++];
        *out = (report_row){.file = file, .line = row->line, .source = source};
        out->block = xstrdup(field_or(&t, row, "block", ""));
        out->position = xstrdup(field_or(&t, row, "position", ""));
        if (!*out->block || !*out->position)
            diag_error((src_pos){file, row->line, 0}, "empty block or position");
        out->experiment = xstrdup(field_or(&t, row, "experiment_name", ""));
        out->seed = xstrdup(field_or(&t, row, "seed", ""));
        for (int m = 0; m < N_METRICS; m++)
            out->v[m] = parse_number(&t, row, col[m], report_metrics[m].may_be_empty);
        out->metrics_csv = metrics_beside(field_or(&t, row, "checkpoint", ""));
        note_row_facts(r, &t, row);
    }
    if (left_out)
        report_add_fact(r, "runs left out (status not ok)", xasprintf("%d in %s", left_out, file));
    /* strings were copied: the table can go */
    csv_free(&t);
}

static int position_rank(const char *p)
{
    static const char *const order[] = {"early", "mid", "late"};
    for (int i = 0; i < 3; i++)
        if (strcmp(p, order[i]) == 0)
            return i;
    return 3;
}

static int cmp_position(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int d = position_rank(x) - position_rank(y);
    return d ? d : strcmp(x, y);
}

static int cmp_string(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_group(const void *a, const void *b)
{
    const report_group *x = a, *y = b;
    int d = strcmp(x->source, y->source);
    if (!d)
        d = strcmp(x->block, y->block);
    if (!d)
        d = position_rank(x->position) - position_rank(y->position);
    return d ? d : strcmp(x->position, y->position);
}

/* best first; a block with one row (no variance, NaN score) last */
static int cmp_score(const void *a, const void *b)
{
    const block_score *x = a, *y = b;
    int d = strcmp(x->source, y->source);
    if (d)
        return d;
    if (isnan(x->generality) != isnan(y->generality))
        return isnan(x->generality) ? 1 : -1;
    if (x->generality != y->generality)
        return x->generality > y->generality ? -1 : 1;
    return strcmp(x->block, y->block);
}

/* Distinct values of one string of every row, sorted with cmp. */
static const char **distinct(const report_data *r, size_t offset, int *n,
                             int (*cmp)(const void *, const void *))
{
    const char **out = xcalloc((size_t)r->n_rows, sizeof *out);
    *n = 0;
    for (int i = 0; i < r->n_rows; i++) {
        const char *v = *(const char *const *)((const char *)&r->rows[i] + offset);
        int seen = 0;
        for (int j = 0; j < *n && !seen; j++)
            seen = strcmp(out[j], v) == 0;
        if (!seen)
            out[(*n)++] = v;
    }
    qsort(out, (size_t)*n, sizeof *out, cmp);
    return out;
}

static void summarise(report_group *g, const report_data *r)
{
    double *x = xcalloc((size_t)g->n, sizeof *x);
    for (int m = 0; m < N_METRICS; m++) {
        int k = 0;
        for (int i = 0; i < g->n; i++)
            if (!isnan(r->rows[g->rows[i]].v[m]))
                x[k++] = r->rows[g->rows[i]].v[m];
        g->count[m] = k;
        g->mean[m] = sample_mean(x, k);
        g->std[m] = sqrt(sample_var(x, k));
    }
    free(x);
}

static void group_rows(report_data *r)
{
    r->groups = xcalloc((size_t)r->n_rows, sizeof *r->groups);
    for (int i = 0; i < r->n_rows; i++) {
        const report_row *row = &r->rows[i];
        report_group *g = NULL;
        for (int j = 0; j < r->n_groups && !g; j++)
            if (!strcmp(r->groups[j].source, row->source) && !strcmp(r->groups[j].block, row->block) &&
                !strcmp(r->groups[j].position, row->position))
                g = &r->groups[j];
        if (!g) {
            g = &r->groups[r->n_groups++];
            *g = (report_group){.source = row->source, .block = row->block, .position = row->position};
            g->rows = xcalloc((size_t)r->n_rows, sizeof *g->rows);
        }
        g->rows[g->n++] = i;
    }
    qsort(r->groups, (size_t)r->n_groups, sizeof *r->groups, cmp_group);
    for (int j = 0; j < r->n_groups; j++)
        summarise(&r->groups[j], r);
}

/* BlockZoo: df.groupby('block').apply(mean / (1 + var)) over val_acc,
 * per source when several CSVs are compared. */
static void score_blocks(report_data *r)
{
    int n_sources;
    const char **sources = distinct(r, offsetof(report_row, source), &n_sources, cmp_string);
    r->scores = xcalloc((size_t)(r->n_blocks * n_sources), sizeof *r->scores);
    double *acc = xcalloc((size_t)r->n_rows, sizeof *acc);
    for (int k = 0; k < n_sources * r->n_blocks; k++) {
        const char *source = sources[k / r->n_blocks], *block = r->blocks[k % r->n_blocks];
        int n = 0;
        for (int i = 0; i < r->n_rows; i++)
            if (strcmp(r->rows[i].block, block) == 0 && strcmp(r->rows[i].source, source) == 0)
                acc[n++] = r->rows[i].v[M_VAL_ACC];
        if (n == 0)
            continue;
        block_score *s = &r->scores[r->n_scores++];
        s->source = source;
        s->block = block;
        s->n = n;
        s->mean = sample_mean(acc, n);
        s->var = sample_var(acc, n);
        s->generality = s->mean / (1 + s->var);
    }
    free(acc);
    qsort(r->scores, (size_t)r->n_scores, sizeof *r->scores, cmp_score);
}

void report_load(report_data *r, char **files, int n_files)
{
    r->files = files;
    r->n_files = n_files;
    for (int i = 0; i < n_files; i++)
        load_file(r, files[i], source_label(files, n_files, i));
    if (r->n_rows == 0)
        diag_fatal("report: no finished run in the files (a bench CSV alone has no accuracy)");
    finish_bench(r);
    const char **sources = distinct(r, offsetof(report_row, source), &r->n_sources, cmp_string);
    free(sources);
    for (int i = 0; r->n_sources == 1 && i < r->n_rows; i++)
        r->rows[i].source = "";
    r->positions = distinct(r, offsetof(report_row, position), &r->n_positions, cmp_position);
    r->blocks = distinct(r, offsetof(report_row, block), &r->n_blocks, cmp_string);
    group_rows(r);
    score_blocks(r);
}
