/* Writing the m4 data files: model.m4 (the network, expanded once per
 * backend by templates/model.c.m4) and desc.m4 (tables, expanded by
 * templates/desc.c.m4).  They hold macro calls with literal arguments
 * only; every name is quoted [<...>], so no YAML text can act as m4. */
#ifndef GEN_EMIT_H
#define GEN_EMIT_H

#include <stdio.h>
#include "analysis.h"
#include "spec.h"

typedef struct {
    const experiment *e;
    const char *registry_name;
    const graph *g;
    deploy_graph deploy;
    memory_plan train, eval, dep;
    long workspace;
    long macs_train, macs_deploy;
} model_facts;

void emit_model(FILE *out, const model_facts *f);
void emit_desc(FILE *out, const model_facts *f);

/* Kernel names: one per distinct shape signature. */
char *kernel_name(const node *n, int deploy_bias);

#endif
