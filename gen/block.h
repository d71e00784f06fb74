/* Block files (blocks/<name>.yaml) and their instantiation into the graph.
 *
 *   name: InvertedResidual          # BlockZoo registry name
 *   vars:                           # expressions over in, out, stride
 *     exp: {early: 4, mid: 4, late: 6}
 *     mid: make_divisible(in * exp, 8)
 *   nodes:                          # a graph; default input = previous node
 *     - {name: conv_pw, op: conv2d, out: mid, kernel: 1}
 *     - {name: skip, op: add, inputs: [bn3, input], when: in == out && stride == 1}
 *   output: skip                    # default: the last node
 *
 * A node whose `when` is false, and every identity/flatten node, stands
 * for its input.  An `op` that is not an operator names another block file
 * (a sub-block), instantiated with `args: {in, out, stride}` under the
 * node's name.  `op: $var` takes the operator from a variable. */
#ifndef GEN_BLOCK_H
#define GEN_BLOCK_H

#include "graph.h"
#include "yaml_doc.h"

typedef struct {
    const char *blocks_dir;
    const char *position;      /* "early", "mid", "late" */
} block_env;

/* Loads blocks_dir/<file_stem>.yaml; `from` locates the reference for
 * errors.  Returns the block's registry name through *registry_name. */
ydoc *block_load(const block_env *env, const char *file_stem, src_pos from);
const char *block_registry_name(ydoc *block);
int block_exists(const block_env *env, const char *file_stem);

/* Instantiates the block under `prefix` on tensor `input`; returns the
 * output tensor. */
int block_instantiate(graph *g, const block_env *env, ydoc *block, const char *prefix,
                      int input, long in, long out, long stride);

#endif
