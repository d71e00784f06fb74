/* model.m4: kernels, then the five model functions as straight-line calls. */
#include "emit.h"
#include "op.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct kernel_sink {
    const op_def *op;     /* whose kernels are being instantiated */
    int max_batch;
    kernel_set *set;
};

/* The line of (macro, name), or with macro NULL the first line of name;
 * -1 if none. */
static int find_line(const kernel_set *set, const char *macro, const char *name)
{
    for (int i = 0; i < set->n; i++) {
        const kernel_line *l = &set->lines[i];
        if (strcmp(l->name, name) == 0 && (!macro || strcmp(l->macro, macro) == 0))
            return i;
    }
    return -1;
}

/* Every macro an entry instantiates is one its kernel_macros lists: the
 * list is what tests/t_templates.sh checks each backend against. */
static void check_listed(const op_def *op, const char *macro)
{
    for (const char *const *m = op->kernel_macros; m && *m; m++)
        if (strcmp(*m, macro) == 0)
            return;
    diag_fatal("internal error: operator %s instantiates %s, which its kernel_macros "
               "do not list", op->name, macro);
}

/* A later macro of a name (a conv's backward or deploy kernel, a linear's
 * deploy kernel) calls helpers of the first (its forward kernel): that one
 * is its unit's base. */
void kernel_macro(kernel_sink *k, const char *macro, const char *name, const char *fmt, ...)
{
    check_listed(k->op, macro);
    kernel_set *set = k->set;
    if (find_line(set, macro, name) >= 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *args = xvasprintf(fmt, ap);
    va_end(ap);
    set->lines = xrealloc(set->lines, (size_t)(set->n + 1) * sizeof *set->lines);
    set->lines[set->n] = (kernel_line){
        .macro = xstrdup(macro), .name = xstrdup(name),
        .text = xasprintf("%s(bz_kernel_name([<%s>]), %s)", macro, name, args),
        .base = find_line(set, NULL, name)};
    set->n++;
    free(args);
}

int kernel_sink_max_batch(const kernel_sink *k)
{
    return k->max_batch;
}

kernel_set collect_kernels(const model_facts *f)
{
    kernel_set set = {0};
    kernel_sink k = {NULL, f->e->max_batch, &set};
    for (int i = 0; i < f->g->n_nodes; i++) {
        k.op = f->g->nodes[i].op;
        k.op->kernels(&k, &f->g->nodes[i]);
    }
    /* the sums that apply the BatchNorms before them (gen/fuse.c) */
    for (int i = 0; i < f->g->n_nodes; i++) {
        int a = f->fusion.absorber[i];
        if (a >= 0) {
            k.op = f->g->nodes[a].op;
            k.op->affine_kernels(&k, &f->g->nodes[a]);
        }
    }
    for (int s = 0; s < f->deploy.n_steps; s++) {
        k.op = f->deploy.steps[s].n->op;
        if (k.op->deploy_kernels)
            k.op->deploy_kernels(&k, &f->deploy.steps[s]);
    }
    return set;
}

void emit_forward_functions(FILE *out, const model_facts *f);
void emit_backward_function(FILE *out, const model_facts *f);
void emit_deploy_functions(FILE *out, const model_facts *f);

void emit_model(FILE *out, const model_facts *f)
{
    fprintf(out, "bz_model_header([<%s>], [<%s>], [<%s>], [<%s>])\n", f->e->name,
            f->registry_name, f->e->position, f->e->spec_path);
    fprintf(out, "bz_kernels_begin\n");
    for (int i = 0; i < f->kernels.n; i++) {
        const kernel_line *l = &f->kernels.lines[i];
        char *stem = kernel_unit_stem(NULL, l);
        fprintf(out, "bz_kernel_unit([<%s>])\n%s\n", stem, l->text);
        free(stem);
    }
    fprintf(out, "bz_kernels_end\n");
    emit_forward_functions(out, f);
    emit_backward_function(out, f);
    emit_deploy_functions(out, f);
    fprintf(out, "bz_backend_table\n");
}
