/* A YAML file loaded with libyaml's document API, with typed accessors
 * that report errors at the offending node's position. */
#ifndef GEN_YAML_DOC_H
#define GEN_YAML_DOC_H

#include <stddef.h>
#include <stdint.h>
#include <yaml.h>
#include "diag.h"

typedef struct {
    const char *path;
    yaml_document_t doc;
} ydoc;

typedef struct {
    ydoc *d;
    yaml_node_t *node;    /* NULL: absent */
} ynode;

/* Loads path; syntax errors and an empty or non-mapping root are fatal. */
ydoc *ydoc_load(const char *path);
/* FNV-1a 64 over the bytes of every file ydoc_load has read, in order:
 * what a generated model was made from. */
uint64_t ydoc_inputs_hash(void);
uint64_t fnv1a64(uint64_t hash, const void *bytes, size_t n);
/* The input file (as ydoc_load was given it) that path names, or NULL:
 * an output must never overwrite one. */
const char *ydoc_input_at(const char *path);
ynode ydoc_root(ydoc *d);

src_pos ynode_pos(ynode n);
/* Where a scalar's text starts (after an opening quote). */
src_pos ynode_text_pos(ynode n);
int ynode_present(ynode n);
int ynode_is_scalar(ynode n);
int ynode_is_mapping(ynode n);
int ynode_is_sequence(ynode n);

/* Mapping access.  ymap_check_keys rejects any key not in allowed
 * (NULL-terminated), and duplicate keys. */
void ymap_check_keys(ynode map, const char *what, const char *const *allowed);
ynode ymap_get(ynode map, const char *key);
int ymap_size(ynode map);
ynode ymap_key_at(ynode map, int i);
ynode ymap_value_at(ynode map, int i);

int yseq_size(ynode seq);
ynode yseq_at(ynode seq, int i);

/* Scalars, with the expected type named in the error. */
const char *yscalar(ynode n, const char *what);
long yint(ynode n, const char *what, long lo, long hi);
/* A finite number in [lo, hi] (inf, nan and overflow refused). */
double ynumber(ynode n, const char *what, double lo, double hi);
int ybool(ynode n, const char *what);
/* A safe identifier: [A-Za-z_][A-Za-z0-9_]* */
const char *yident(ynode n, const char *what);

#endif
