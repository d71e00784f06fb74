/* Writing the m4 data files: model.m4 (the network, expanded once per
 * backend by templates/model.c.m4) and desc.m4 (tables, expanded by
 * templates/desc.c.m4).  They hold macro calls with literal arguments
 * only; every name is quoted [<...>], so no YAML text can act as m4. */
#ifndef GEN_EMIT_H
#define GEN_EMIT_H

#include <stdio.h>
#include "analysis.h"
#include "spec.h"

/* One kernel instantiation of model.m4: MACRO(bz_kernel_name([<NAME>]),
 * literal arguments).  base: the index of the line whose helpers it calls
 * (the first line of the same name, its forward kernel), or -1. */
typedef struct {
    char *macro, *name, *text;
    int base;
} kernel_line;

typedef struct {
    kernel_line *lines;   /* in first-use order, each (macro, name) once */
    int n;
} kernel_set;

typedef struct {
    const experiment *e;
    const char *registry_name;
    const graph *g;
    deploy_graph deploy;
    memory_plan train, eval, dep;
    long workspace;
    long macs_train, macs_deploy;
    training_fusion fusion;     /* ReLUs applied by their producer's training kernels */
    kernel_set kernels;
    const char *kernel_dir;     /* where the kernel units go (--kernel-dir), or NULL */
} model_facts;

kernel_set collect_kernels(const model_facts *f);

void emit_model(FILE *out, const model_facts *f);
void emit_desc(FILE *out, const model_facts *f);
/* The kernel units (gen/emit_units.c): DIR/<macro>/<name>.m4 for each line
 * of the set, each compiled once per backend for every model that calls it,
 * rewritten only when its text changes; and the make fragment that lists
 * the model's units (KERNEL_UNITS_<name>). */
void write_kernel_units(const char *dir, const kernel_set *set);
/* A unit's path without suffix, DIR/<macro>/<name>
 * (build/kernels/conv2d_forward_kernel/conv2d_..._k3s1p1g1), or with DIR
 * NULL <macro>/<name>; the caller frees it. */
char *kernel_unit_stem(const char *dir, const kernel_line *l);
void emit_kernel_list(FILE *out, const model_facts *f);

/* Kernel names: one per distinct shape signature. */
char *kernel_name(const node *n, int deploy_bias);
/* The shortest decimal text that reads back as exactly v (%.17g at most):
 * 1e-05 stays 1e-05, 1.23456789e-05 keeps every digit. */
char *exact_double(double v);

/* Timed steps (desc->steps[], bz_mark): every layer call of the four
 * generated functions, numbered forward_train, forward_eval, backward (by
 * node), forward_deploy (by deploy step), then the backward's recomputes
 * (by tensor). */
enum { PHASE_FORWARD_TRAIN, PHASE_FORWARD_EVAL, PHASE_BACKWARD, PHASE_FORWARD_DEPLOY,
       PHASE_RECOMPUTE };
int step_of_node(const graph *g, int phase, int node);
int step_of_deploy(const graph *g, int deploy_step);
/* Whether node i has a call of its own (not a ReLU its producer applies, nor
 * a BatchNorm a consumer absorbs: gen/fuse.c). */
int node_has_own_call(const model_facts *f, int i);
/* Whether the backward recomputes tensor t with a call of its own (its
 * producer's kernel, not one fused into another's), and that call's step. */
int recompute_has_call(const model_facts *f, int t);
int step_of_recompute(const model_facts *f, int t);
/* MACs of one deploy step at batch 1 (a folded BN adds its bias). */
long deploy_step_macs(const deploy_step *s);
/* The kernel a deploy step calls (BN folded or groups merged: with bias). */
char *deploy_kernel_name(const deploy_step *s);
int deploy_step_prepacked(const model_facts *f, const deploy_step *s);
void emit_step_rows(FILE *out, const model_facts *f);
void emit_layer_comment(FILE *out, const node *n, const char *what, long macs, int step);

#endif
