/* Names visible to a block's expressions: in, out, stride and its vars. */
#ifndef GEN_BLOCK_SCOPE_H
#define GEN_BLOCK_SCOPE_H

#include "expr.h"
#include "yaml_doc.h"

typedef struct block_scope {
    ynode vars;                 /* the block's vars mapping (may be absent) */
    const char *position;
    long in, out, stride;
    int evaluating[64];         /* cycle guard, by var index */
    ynode args;                 /* a sub-block's args: override vars         */
    struct block_scope *caller; /* where args' expressions are evaluated     */
} block_scope;

int scope_lookup(void *scope, const char *name, double *value);
int scope_declares(const block_scope *s, const char *name);
/* An integer-valued expression held by a YAML scalar, checked in [lo, hi]. */
long scope_int(block_scope *s, ynode n, const char *what, long lo, long hi);
/* The text of var `name` for this position (for `op: $name`). */
ynode scope_var_text(block_scope *s, const char *name, src_pos from);

#endif
