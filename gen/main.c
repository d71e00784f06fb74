/* bzgen: experiment spec + block files -> m4 data for one experiment. */
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emit.h"
#include "op.h"
#include "scaffold.h"
#include "yaml_doc.h"

static const char usage[] =
    "usage: bzgen --spec specs/<exp>.yaml --output build/<exp>/model.m4 [options]\n"
    "\n"
    "Reads the experiment spec (over specs/defaults.yaml) and the block files,\n"
    "builds the whole network, infers and checks every shape, plans memory, and\n"
    "writes two m4 data files: OUTPUT (the network) and desc.m4 beside it (tables).\n"
    "Nothing is written when any input is invalid.\n"
    "\n"
    "  --spec FILE            experiment spec (required)\n"
    "  --output FILE          model.m4 to write (required); desc.m4 goes beside it\n"
    "  --kernel-dir DIR       also write each kernel instantiation of model.m4 as a\n"
    "                         unit, DIR/<macro>/<name>.m4 (shared by every model\n"
    "                         that calls it; rewritten only when its text changes),\n"
    "                         and kernels.mk beside OUTPUT, the list of the units\n"
    "  --defaults FILE        shared defaults (default: defaults.yaml beside the spec)\n"
    "  --blocks DIR           block files (default: blocks)\n"
    "  --name NAME            experiment name (default: the spec's file name)\n"
    "  --num-blocks N         blocks per stage (overrides the spec)\n"
    "  --base-channels N      width of the first stage (overrides the spec)\n"
    "  --classes N            output classes (overrides the spec)\n"
    "  --input-size N         input height and width (overrides the spec)\n"
    "  --keep-activations     keep every tensor the backward reads from the forward\n"
    "                         (default: recompute BatchNorm, activation, add, pool\n"
    "                         and cheap conv outputs in the backward from the kept\n"
    "                         conv outputs: about half the memory, up to 16% more\n"
    "                         training time)\n"
    "  --list-operators       print each operator of the table: name, PyTorch class,\n"
    "                         what its backward reads (x, y, x+y, -) and the kernel\n"
    "                         macros every backend's templates must define; exit\n"
    "  --help                 this text\n";

typedef struct {
    const char *spec, *output, *defaults, *blocks, *name, *kernel_dir;
    spec_overrides overrides;
    int keep_activations;
} options;

static int parse_count(const char *opt, const char *text, int hi)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v < 1 || v > hi)
        diag_fatal("--%s wants an integer in [1, %d], got '%s'", opt, hi, text);
    return (int)v;
}

/* One line per operator: its YAML name, PyTorch class, what its backward
 * reads besides dy (x, y, x+y or -) and its kernel macros. */
static void list_operators(void)
{
    static const char *const saves[] = {"-", "x", "y", "x+y"};
    for (int i = 0; i < op_table_size; i++) {
        printf("%s %s %s", op_table[i]->name, op_table[i]->torch_class,
               saves[op_table[i]->backward_saves]);
        for (const char *const *m = op_table[i]->kernel_macros; *m; m++)
            printf(" %s", *m);
        printf("\n");
    }
}

static options parse_options(int argc, char **argv)
{
    static const struct option longs[] = {
        {"spec", required_argument, 0, 's'},       {"output", required_argument, 0, 'o'},
        {"defaults", required_argument, 0, 'd'},   {"blocks", required_argument, 0, 'b'},
        {"name", required_argument, 0, 'n'},       {"num-blocks", required_argument, 0, 'N'},
        {"base-channels", required_argument, 0, 'C'}, {"classes", required_argument, 0, 'K'},
        {"input-size", required_argument, 0, 'I'}, {"help", no_argument, 0, 'h'},
        {"list-operators", no_argument, 0, 'L'},   {"keep-activations", no_argument, 0, 'k'},
        {"kernel-dir", required_argument, 0, 'D'},
        {0, 0, 0, 0}};
    options o = {.blocks = "blocks"};
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 's': o.spec = optarg; break;
        case 'o': o.output = optarg; break;
        case 'D': o.kernel_dir = optarg; break;
        case 'd': o.defaults = optarg; break;
        case 'b': o.blocks = optarg; break;
        case 'n': o.name = optarg; break;
        case 'N': o.overrides.num_blocks = parse_count("num-blocks", optarg, 64); break;
        case 'C': o.overrides.base_channels = parse_count("base-channels", optarg, 4096); break;
        case 'K': o.overrides.classes = parse_count("classes", optarg, 100000); break;
        case 'I': o.overrides.input_size = parse_count("input-size", optarg, 1024); break;
        case 'h': fputs(usage, stdout); exit(0);
        case 'L': list_operators(); exit(0);
        case 'k': o.keep_activations = 1; break;
        default: diag_fatal("unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc)
        diag_fatal("unexpected argument '%s' (see --help)", argv[optind]);
    if (!o.spec || !o.output)
        diag_fatal("--spec and --output are required (see --help)");
    return o;
}

/* Text that reaches generated code and file names: a conservative set. */
static void check_plain_text(const char *what, const char *text, const char *extra)
{
    for (const char *p = text; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || strchr(extra, *p)))
            diag_fatal("%s '%s' may only hold letters, digits, '_' and '%s'", what, text, extra);
    if (!*text)
        diag_fatal("%s must not be empty", what);
}

static char *default_name(const char *spec)
{
    char *copy = xstrdup(spec);
    char *base = xstrdup(basename(copy));
    char *dot = strrchr(base, '.');
    if (dot)
        *dot = '\0';
    free(copy);
    return base;
}

static char *sibling(const char *path, const char *file)
{
    char *copy = xstrdup(path);
    char *s = xasprintf("%s/%s", dirname(copy), file);
    free(copy);
    return s;
}

typedef void (*emit_fn)(FILE *, const model_facts *);

/* model.m4, desc.m4 and (with --kernel-dir) kernels.mk are written to
 * temporaries first and renamed only when all are complete, after the
 * kernel units they name. */
static void write_outputs(const char *model_path, const model_facts *f)
{
    const char *paths[3] = {model_path, sibling(model_path, "desc.m4"),
                            sibling(model_path, "kernels.mk")};
    emit_fn emitters[3] = {emit_model, emit_desc, emit_kernel_list};
    int n = f->kernel_dir ? 3 : 2;
    char *tmp[3];
    for (int i = 0; i < n; i++) {
        tmp[i] = xasprintf("%s.tmp", paths[i]);
        const char *input = ydoc_input_at(paths[i]) ? ydoc_input_at(paths[i]) : ydoc_input_at(tmp[i]);
        if (input)
            diag_fatal("--output: %s would overwrite the input %s; choose another file", paths[i],
                       input);
    }
    if (f->kernel_dir)
        write_kernel_units(f->kernel_dir, &f->kernels);
    for (int i = 0; i < n; i++) {
        FILE *fp = fopen(tmp[i], "w");
        if (!fp)
            diag_fatal("cannot write %s", tmp[i]);
        emitters[i](fp, f);
        if (fclose(fp) != 0)
            diag_fatal("cannot write %s", tmp[i]);
    }
    for (int i = 0; i < n; i++)
        if (rename(tmp[i], paths[i]) != 0)
            diag_fatal("cannot rename %s", tmp[i]);
}

static long node_workspace(const node *n, int max_batch)
{
    return n->op->workspace ? n->op->workspace(n, max_batch) : 0;
}

static long total_workspace(const graph *g, int max_batch)
{
    long w = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        long need = node_workspace(&g->nodes[i], max_batch);
        if (need > w)
            w = need;
    }
    for (int k = 0; k < g->n_groups; k++) {  /* the deploy graph's merged convs */
        long need = node_workspace(&g->groups[k].merged, max_batch);
        if (need > w)
            w = need;
    }
    return w;
}

int main(int argc, char **argv)
{
    options o = parse_options(argc, argv);
    check_plain_text("spec path", o.spec, "./-");
    if (o.name)
        check_plain_text("--name", o.name, "-");
    if (o.kernel_dir)
        check_plain_text("--kernel-dir", o.kernel_dir, "./-");
    experiment e;
    char *defaults = o.defaults ? xstrdup(o.defaults) : sibling(o.spec, "defaults.yaml");
    spec_load(&e, defaults, o.spec, &o.overrides);
    e.name = o.name ? o.name : default_name(o.spec);
    check_plain_text("experiment name", e.name, "-");
    graph g = {0};
    model_facts f = {.e = &e, .g = &g};
    f.registry_name = build_scaffold(&g, &e, o.blocks);
    resolve_reparam_groups(&g);
    f.deploy = build_deploy(&g);
    f.fusion = plan_training_fusion(&g);
    f.train = plan_training(&g, &f.fusion, !o.keep_activations);
    f.eval = plan_inference(&g);
    f.dep = plan_deploy(&g, &f.deploy);
    f.workspace = total_workspace(&g, e.max_batch);
    for (int i = 0; i < g.n_nodes; i++)
        f.macs_train += node_macs(&g.nodes[i]);
    /* BlockZoo profiles timm's reparameterised model: groups merged, every
     * other BatchNorm kept (our deploy graph folds those too; the counts
     * follow BlockZoo). */
    f.macs_deploy = f.deploy.macs;
    f.kernels = collect_kernels(&f);
    f.kernel_dir = o.kernel_dir;
    write_outputs(o.output, &f);
    return 0;
}
