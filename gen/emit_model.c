/* model.m4: kernels, then the five model functions as straight-line calls. */
#include "emit.h"
#include "op.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct kernel_sink {
    FILE *out;
    const op_def *op;     /* whose kernels are being instantiated */
    int max_batch;
    char **seen;          /* "macro name" of the instantiations so far */
    int n_seen;
};

static int first_use(kernel_sink *k, const char *macro, const char *name)
{
    char *key = xasprintf("%s %s", macro, name);
    for (int i = 0; i < k->n_seen; i++)
        if (strcmp(k->seen[i], key) == 0) {
            free(key);
            return 0;
        }
    k->seen = xrealloc(k->seen, (size_t)(k->n_seen + 1) * sizeof *k->seen);
    k->seen[k->n_seen++] = key;
    return 1;
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

void kernel_macro(kernel_sink *k, const char *macro, const char *name, const char *fmt, ...)
{
    check_listed(k->op, macro);
    if (!first_use(k, macro, name))
        return;
    va_list ap;
    fprintf(k->out, "%s([<%s>], ", macro, name);
    va_start(ap, fmt);
    vfprintf(k->out, fmt, ap);
    va_end(ap);
    fprintf(k->out, ")\n");
}

int kernel_sink_max_batch(const kernel_sink *k)
{
    return k->max_batch;
}

static void emit_kernels(kernel_sink *k, const model_facts *f)
{
    fprintf(k->out, "bz_kernels_begin\n");
    for (int i = 0; i < f->g->n_nodes; i++) {
        k->op = f->g->nodes[i].op;
        k->op->kernels(k, &f->g->nodes[i]);
    }
    /* the sums that apply the BatchNorms before them (gen/fuse.c) */
    for (int i = 0; i < f->g->n_nodes; i++) {
        int a = f->fusion.absorber[i];
        if (a >= 0) {
            k->op = f->g->nodes[a].op;
            k->op->affine_kernels(k, &f->g->nodes[a]);
        }
    }
    for (int s = 0; s < f->deploy.n_steps; s++) {
        k->op = f->deploy.steps[s].n->op;
        if (k->op->deploy_kernels)
            k->op->deploy_kernels(k, &f->deploy.steps[s]);
    }
}

void emit_forward_functions(FILE *out, const model_facts *f);
void emit_backward_function(FILE *out, const model_facts *f);
void emit_deploy_functions(FILE *out, const model_facts *f);

void emit_model(FILE *out, const model_facts *f)
{
    kernel_sink k = {out, NULL, f->e->max_batch, NULL, 0};
    fprintf(out, "bz_model_header([<%s>], [<%s>], [<%s>], [<%s>])\n", f->e->name,
            f->registry_name, f->e->position, f->e->spec_path);
    emit_kernels(&k, f);
    emit_forward_functions(out, f);
    emit_backward_function(out, f);
    emit_deploy_functions(out, f);
    fprintf(out, "bz_backend_table\n");
    for (int i = 0; i < k.n_seen; i++)
        free(k.seen[i]);
    free(k.seen);
}
