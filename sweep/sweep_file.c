/* The sweep file and its command-line overrides: one table of settings,
 * each with its YAML place, option name, type and range, and the `train`
 * flag it becomes. */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gen/yaml_doc.h"
#include "sweep.h"

typedef enum { K_INT, K_NUMBER, K_CHOICE, K_PATH, K_BOOL, K_DURATION, K_GLOBS, K_SEEDS } kind;

typedef struct {
    const char *section;   /* YAML mapping it lives in; NULL: top level   */
    const char *key;       /* YAML key                                    */
    const char *option;    /* command-line option, without the dashes     */
    kind k;
    double lo, hi;         /* K_INT, K_NUMBER                             */
    const char *choices;   /* K_CHOICE: "a|b|c"                           */
    const char *flag;      /* train's flag, or NULL                       */
    size_t offset;         /* of the setting in sweep                     */
} setting_spec;

#define AT(field) offsetof(sweep, field)
static const setting_spec settings[] = {
    {NULL, "experiments", "experiments", K_GLOBS, 0, 0, NULL, NULL, AT(experiments)},
    {NULL, "seeds", "seeds", K_SEEDS, 0, 2147483647, NULL, NULL, AT(seeds)},
    {NULL, "dataset", "dataset", K_CHOICE, 0, 0, "fashion_mnist|cifar10|cifar100", "--dataset", AT(dataset)},
    {NULL, "data", "data", K_PATH, 0, 0, NULL, "--data", AT(data)},
    {NULL, "jobs", "jobs", K_INT, 1, 1024, NULL, NULL, AT(jobs)},
    {NULL, "runner", "runner", K_CHOICE, 0, 0, "local|slurm", NULL, AT(runner)},
    {"variant", "num_blocks", "num-blocks", K_INT, 1, 64, NULL, NULL, AT(variant[VARIANT_NUM_BLOCKS])},
    {"variant", "base_channels", "base-channels", K_INT, 1, 4096, NULL, NULL, AT(variant[VARIANT_BASE_CHANNELS])},
    {"variant", "classes", "classes", K_INT, 2, 100000, NULL, NULL, AT(variant[VARIANT_CLASSES])},
    {"variant", "input_size", "input-size", K_INT, 4, 4096, NULL, NULL, AT(variant[VARIANT_INPUT_SIZE])},
    {"train", "epochs", "epochs", K_INT, 1, 1000000, NULL, "--epochs", AT(train[TRAIN_EPOCHS])},
    {"train", "batch_size", "batch-size", K_INT, 1, 65536, NULL, "--batch-size", AT(train[TRAIN_BATCH_SIZE])},
    {"train", "lr", "lr", K_NUMBER, 1e-12, 1e3, NULL, "--lr", AT(train[TRAIN_LR])},
    {"train", "subset", "subset", K_INT, 0, 2147483647, NULL, "--subset", AT(train[TRAIN_SUBSET])},
    {"train", "val_subset", "val-subset", K_INT, 0, 2147483647, NULL, "--val-subset", AT(train[TRAIN_VAL_SUBSET])},
    {"train", "backend", "backend", K_CHOICE, 0, 0, "optimised|reference", "--backend", AT(train[TRAIN_BACKEND])},
    {"train", "device", "device", K_CHOICE, 0, 0, "cpu|cuda", "--device", AT(train[TRAIN_DEVICE])},
    {"train", "precision", "precision", K_CHOICE, 0, 0, "fp32|tf32", "--precision", AT(train[TRAIN_PRECISION])},
    {"train", "bench", "bench", K_BOOL, 0, 0, NULL, NULL, AT(train[TRAIN_BENCH])},
    {"slurm", "partition", "partition", K_PATH, 0, 0, NULL, NULL, AT(slurm[SLURM_PARTITION])},
    {"slurm", "time", "time", K_DURATION, 0, 0, NULL, NULL, AT(slurm[SLURM_TIME])},
    {"slurm", "cpus_per_task", "cpus-per-task", K_INT, 1, 1024, NULL, NULL, AT(slurm[SLURM_CPUS_PER_TASK])},
};
#define N_SETTINGS (int)(sizeof settings / sizeof settings[0])
static const char *const sections[] = {"variant", "train", "slurm", NULL};

static setting *setting_of(sweep *s, const setting_spec *spec)
{
    return (setting *)((char *)s + spec->offset);
}

int sweep_setting_count(void) { return N_SETTINGS; }
const char *sweep_setting_option(int i) { return settings[i].option; }

const char *sweep_setting_names(void)
{
    static char names[1024];
    if (!names[0])
        for (int i = 0; i < N_SETTINGS; i++)
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s--%s",
                     i ? ", " : "", settings[i].option);
    return names;
}

/* A sequence of scalars (or one scalar) as space-separated words. */
static const char *words_of(ynode n, const char *what)
{
    if (!ynode_is_sequence(n)) {
        return yscalar(n, what);
    }
    if (yseq_size(n) == 0)
        diag_error(ynode_pos(n), "%s: empty list", what);
    size_t len = 1;
    for (int i = 0; i < yseq_size(n); i++)
        len += strlen(yscalar(yseq_at(n, i), what)) + 1;
    char *text = xcalloc(1, len);
    for (int i = 0; i < yseq_size(n); i++) {
        const char *w = yscalar(yseq_at(n, i), what);
        if (!*w || strpbrk(w, " \t\n"))
            diag_error(ynode_pos(yseq_at(n, i)), "%s: '%s' is not one word", what, w);
        if (i)
            strcat(text, " ");
        strcat(text, w);
    }
    return text;
}

static void load_section(sweep *s, ynode map, const char *section)
{
    const char *allowed[N_SETTINGS + 8];
    int n = 0;
    if (!section) {
        allowed[n++] = "description";
        for (int i = 0; sections[i]; i++)
            allowed[n++] = sections[i];
    }
    for (int i = 0; i < N_SETTINGS; i++)
        if ((section == NULL) == (settings[i].section == NULL) &&
            (!section || strcmp(section, settings[i].section) == 0))
            allowed[n++] = settings[i].key;
    allowed[n] = NULL;
    ymap_check_keys(map, section ? section : "the sweep", allowed);
    for (int i = 0; i < N_SETTINGS; i++) {
        const setting_spec *spec = &settings[i];
        if ((section == NULL) != (spec->section == NULL) ||
            (section && strcmp(section, spec->section) != 0))
            continue;
        ynode v = ymap_get(map, spec->key);
        if (!ynode_present(v))
            continue;
        setting *set = setting_of(s, spec);
        set->at = ynode_pos(v);
        set->text = (spec->k == K_GLOBS || spec->k == K_SEEDS) ? words_of(v, spec->key)
                                                              : yscalar(v, spec->key);
    }
}

void sweep_load(sweep *s, const char *file)
{
    memset(s, 0, sizeof *s);
    s->file = file;
    const char *base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
    s->name = xstrdup(base);
    char *dot = strrchr(s->name, '.');
    if (!dot || (strcmp(dot, ".yaml") != 0 && strcmp(dot, ".yml") != 0))
        diag_fatal("%s: a sweep file is named <sweep>.yaml", file);
    *dot = '\0';
    for (const char *c = s->name; *c; c++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *c) ||
            s->name[0] == '.')
            diag_fatal("%s: a sweep's name is letters, digits, '_', '-' and '.'", file);
    ydoc *d = ydoc_load(file);
    ynode root = ydoc_root(d);
    load_section(s, root, NULL);
    for (int i = 0; sections[i]; i++) {
        ynode sec = ymap_get(root, sections[i]);
        if (ynode_present(sec))
            load_section(s, sec, sections[i]);
    }
    /* the document stays loaded: settings point into it */
}

int sweep_override(sweep *s, const char *name, const char *value)
{
    for (int i = 0; i < N_SETTINGS; i++)
        if (strcmp(settings[i].option, name) == 0) {
            setting *set = setting_of(s, &settings[i]);
            set->text = value;
            set->at = (src_pos){xasprintf("bzsweep: --%s", name), 0, 0};
            return 0;
        }
    return -1;
}

static void check_value(const setting_spec *spec, const setting *set)
{
    const char *t = set->text;
    char *end;
    errno = 0;
    switch (spec->k) {
    case K_INT: {
        long v = strtol(t, &end, 10);
        if (!*t || *end || errno)
            diag_error(set->at, "%s must be an integer, got '%s'", spec->key, t);
        if (v < spec->lo || v > spec->hi)
            diag_error(set->at, "%s must be in [%.0f, %.0f], got %ld", spec->key, spec->lo,
                       spec->hi, v);
        break;
    }
    case K_NUMBER: {
        double v = strtod(t, &end);
        if (!*t || *end || errno || !(v >= spec->lo && v <= spec->hi))
            diag_error(set->at, "%s must be a number in [%g, %g], got '%s'", spec->key,
                       spec->lo, spec->hi, t);
        break;
    }
    case K_CHOICE: {
        size_t n = strlen(t);
        const char *c = strstr(spec->choices, t);
        int ok = n && c && (c == spec->choices || c[-1] == '|') && (c[n] == '|' || !c[n]);
        if (!ok)
            diag_error(set->at, "%s must be one of %s, got '%s'", spec->key, spec->choices, t);
        break;
    }
    case K_BOOL:
        if (strcmp(t, "true") && strcmp(t, "false"))
            diag_error(set->at, "%s must be true or false, got '%s'", spec->key, t);
        break;
    case K_PATH:
        if (!*t || strpbrk(t, "\t\n\r"))
            diag_error(set->at, "%s must be a non-empty path without tabs or newlines", spec->key);
        break;
    case K_DURATION:
        if (!*t || strspn(t, "0123456789:-") != strlen(t))
            diag_error(set->at, "%s must be a Slurm time (minutes, H:MM:SS or D-HH:MM), got '%s'",
                       spec->key, t);
        break;
    case K_GLOBS:
    case K_SEEDS:
        break;   /* sweep_resolve expands them */
    }
}

/* The specs except defaults.yaml: `make list`. */
static char **list_experiments(const char *specs_dir, int *n)
{
    DIR *dir = opendir(specs_dir);
    if (!dir)
        diag_fatal("%s: %s", specs_dir, strerror(errno));
    char **names = NULL;
    *n = 0;
    for (struct dirent *e; (e = readdir(dir));) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0 ||
            strcmp(e->d_name, "defaults.yaml") == 0)
            continue;
        names = xrealloc(names, (size_t)(*n + 1) * sizeof *names);
        names[(*n)++] = xasprintf("%.*s", (int)len - 5, e->d_name);
    }
    closedir(dir);
    return names;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Each glob in order; an experiment is taken once, at its first match. */
static char **select_experiments(const sweep *s, const char *specs_dir, int *n_selected)
{
    int n_all;
    char **all = list_experiments(specs_dir, &n_all);
    qsort(all, (size_t)n_all, sizeof *all, cmp_names);
    char **chosen = xcalloc((size_t)n_all + 1, sizeof *chosen);
    int n = 0;
    char *globs = xstrdup(s->experiments.text);
    for (char *save, *g = strtok_r(globs, " \t\n", &save); g; g = strtok_r(NULL, " \t\n", &save)) {
        int matched = 0;
        for (int i = 0; i < n_all; i++) {
            if (fnmatch(g, all[i], 0) != 0)
                continue;
            matched = 1;
            int seen = 0;
            for (int j = 0; j < n; j++)
                seen |= strcmp(chosen[j], all[i]) == 0;
            if (!seen)
                chosen[n++] = all[i];
        }
        if (!matched)
            diag_error(s->experiments.at, "experiments: '%s' matches no experiment in %s/ "
                       "(see `make list`)", g, specs_dir);
    }
    if (n == 0)
        diag_error(s->experiments.at, "experiments: the selection is empty");
    *n_selected = n;
    return chosen;
}

static long *parse_seeds(const setting *set, int *n)
{
    long *seeds = NULL;
    *n = 0;
    char *text = xstrdup(set->text);
    for (char *save, *w = strtok_r(text, " \t\n,", &save); w; w = strtok_r(NULL, " \t\n,", &save)) {
        char *end;
        errno = 0;
        long v = strtol(w, &end, 10);
        if (*end || errno || v < 0 || v > 2147483647)
            diag_error(set->at, "seeds: '%s' is not a seed (an integer in [0, 2147483647])", w);
        for (int i = 0; i < *n; i++)
            if (seeds[i] == v)
                diag_error(set->at, "seeds: %ld is listed twice", v);
        seeds = xrealloc(seeds, (size_t)(*n + 1) * sizeof *seeds);
        seeds[(*n)++] = v;
    }
    if (*n == 0)
        diag_error(set->at, "seeds: the list is empty");
    return seeds;
}

static char *variant_name(const sweep *s, const char *experiment)
{
    static const char *const suffix[VARIANT_N] = {"-nb", "-bc", "-c", "-in"};
    char *name = xstrdup(experiment);
    for (int v = 0; v < VARIANT_N; v++)
        if (s->variant[v].text) {
            char *longer = xasprintf("%s%s%ld", name, suffix[v], strtol(s->variant[v].text, NULL, 10));
            free(name);
            name = longer;
        }
    return name;
}

void sweep_resolve(sweep *s, const char *specs_dir, const char *out_dir)
{
    src_pos whole = {s->file, 0, 0};
    if (!s->experiments.text)
        diag_error(whole, "no 'experiments' (a list of globs over `make list`)");
    if (!s->seeds.text)
        s->seeds = (setting){"0", whole};
    for (int i = 0; i < N_SETTINGS; i++) {
        const setting *set = setting_of(s, &settings[i]);
        if (set->text)
            check_value(&settings[i], set);
    }
    int n_exp, n_seeds;
    char **exps = select_experiments(s, specs_dir, &n_exp);
    long *seeds = parse_seeds(&s->seeds, &n_seeds);
    s->dir = xasprintf("%s/%s", out_dir, s->name);
    s->n_runs = n_exp * n_seeds;
    s->runs = xcalloc((size_t)s->n_runs, sizeof *s->runs);
    for (int e = 0; e < n_exp; e++)
        for (int k = 0; k < n_seeds; k++) {
            sweep_run *r = &s->runs[e * n_seeds + k];
            r->experiment = exps[e];
            r->variant = variant_name(s, exps[e]);
            r->seed = seeds[k];
            r->id = xasprintf("%s/seed%ld", exps[e], seeds[k]);
            r->dir = xasprintf("%s/%s", s->dir, r->id);
        }
}

void sweep_set_out(sweep *s, const char *out_dir)
{
    s->dir = xasprintf("%s/%s", out_dir, s->name);
    for (int i = 0; i < s->n_runs; i++)
        s->runs[i].dir = xasprintf("%s/%s", s->dir, s->runs[i].id);
}

static void push(char ***args, int *n, const char *a)
{
    *args = xrealloc(*args, (size_t)(*n + 2) * sizeof **args);
    (*args)[(*n)++] = xstrdup(a);
    (*args)[*n] = NULL;
}

char **sweep_train_args(const sweep *s, const sweep_run *r)
{
    char **args = NULL;
    int n = 0;
    char seed[32];
    snprintf(seed, sizeof seed, "%ld", r->seed);
    push(&args, &n, "train");
    push(&args, &n, "--seed");
    push(&args, &n, seed);
    for (int i = 0; i < N_SETTINGS; i++) {
        const setting *set = setting_of((sweep *)s, &settings[i]);
        if (settings[i].flag && set->text) {
            push(&args, &n, settings[i].flag);
            push(&args, &n, set->text);
        }
    }
    if (s->train[TRAIN_BENCH].text && strcmp(s->train[TRAIN_BENCH].text, "false") == 0)
        push(&args, &n, "--no-bench");
    char *out = xasprintf("%s", r->dir), *row = xasprintf("%s/row.csv", r->dir);
    push(&args, &n, "--output-dir");
    push(&args, &n, out);
    push(&args, &n, "--results");
    push(&args, &n, row);
    free(out);
    free(row);
    return args;
}
