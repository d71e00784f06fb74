/* `bzsweep report`: per block x position statistics, BlockZoo's
 * generality score, plots (gnuplot) and the report as HTML, Markdown and
 * JSON, from one or more results CSVs. */
#ifndef SWEEP_REPORT_H
#define SWEEP_REPORT_H

/* The numbers summarised per block x position, in table order. */
enum { M_VAL_ACC, M_VAL_LOSS, M_PARAMS, M_FLOPS, M_MEMORY, M_LATENCY, M_THROUGHPUT, M_TRAIN_TIME,
       N_METRICS };

typedef struct {
    const char *column;   /* results CSV column                      */
    const char *label;    /* table and axis label                    */
    int may_be_empty;     /* bench columns: a run without --bench    */
} metric_info;
extern const metric_info report_metrics[N_METRICS];

typedef struct {
    const char *file;
    int line;
    const char *source;       /* which CSV, when several are compared */
    const char *block, *position, *experiment;
    const char *seed;         /* "" when the CSV has no seed column   */
    double v[N_METRICS];      /* NaN: empty                           */
    char *metrics_csv;        /* per-epoch metrics beside the checkpoint, or NULL */
} report_row;

typedef struct {
    const char *source, *block, *position;
    int n;                    /* rows (seeds)                          */
    int count[N_METRICS];     /* rows with a value                     */
    double mean[N_METRICS], std[N_METRICS];   /* std: NaN below 2 rows */
    int *rows;                /* indices into report_data.rows         */
} report_group;

typedef struct {
    const char *source, *block;
    int n;
    double mean, var, generality;   /* BlockZoo: mean / (1 + var), var with n-1 */
} block_score;

typedef struct {
    const char *key, *value;
} fact;

/* A batch size of one experiment from `bench --output` CSVs, averaged
 * over the rows that measured it (NaN: not measured). */
enum { B_LATENCY, B_THROUGHPUT, B_TRAIN_THROUGHPUT, N_BENCH };
typedef struct {
    const char *experiment, *device;
    int batch, n;
    double v[N_BENCH];
    int count[N_BENCH];
} bench_point;

typedef struct {
    char **files;
    int n_files;
    int n_sources;            /* results CSVs; > 1: groups per source  */
    report_row *rows;
    int n_rows;
    report_group *groups;     /* sorted: source, block, position order */
    int n_groups;
    block_score *scores;      /* sorted by generality, best first     */
    int n_scores;
    const char **positions;   /* early, mid, late, then others         */
    int n_positions;
    const char **blocks;      /* sorted by name                        */
    int n_blocks;
    bench_point *bench;       /* sorted: experiment, device, batch     */
    int n_bench;
    fact *facts;              /* "how it was measured"                 */
    int n_facts;
    const char *sweep_file;   /* or NULL                               */
} report_data;

/* report_data.c: reads and checks the CSVs (a missing column, a corrupt
 * row: file:line and exit), then groups and summarises.  A CSV without
 * val_acc that has bench's columns is a batch-scaling table. */
void report_load(report_data *r, char **files, int n_files);
void report_add_fact(report_data *r, const char *key, const char *value);
double sample_mean(const double *x, int n);
double sample_var(const double *x, int n);

/* report_plots.c: gnuplot scripts, SVG and PNG, in dir; returns the plot
 * names written (NULL-terminated) with their titles. */
typedef struct {
    const char *name, *title;
} plot_info;
int report_plots(const report_data *r, const char *dir, plot_info *plots, int max_plots);

/* report_write.c */
void report_write_json(const report_data *r, const char *dir);
void report_write_markdown(const report_data *r, const char *dir, const plot_info *plots, int n);
void report_write_html(const report_data *r, const char *dir, const plot_info *plots, int n);

int report_main(int argc, char **argv);

#endif
