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
 * node's name.  `op: $var` takes the operator from a variable.
 *
 * Operator attributes, besides name, op, input/inputs, when and class (the
 * PyTorch class for MAC counting: BatchNormAct2d counts 0):
 *   conv2d          out, kernel; stride 1, padding 0, groups 1, bias false,
 *                   trunc_normal_std (weight ~ timm's trunc_normal_(std),
 *                   bias 0; default PyTorch's kaiming-uniform init)
 *   batchnorm2d, layernorm2d   eps 1e-5
 *   avgpool2d       kernel; stride = kernel, padding 0, ceil_mode false,
 *                   count_include_pad true
 *   linear          out; bias true
 *   channel_scale   init (gamma's constant); gamma_dims 1 ([C]) or 3 ([C,1,1])
 *   add, sub, mul, concat   inputs: [a, b]
 *
 *   deploy:                         # re-parameterisation (reparam.c)
 *     - {name: reparam_conv, op: conv2d, output: sum, out: out, kernel: 3,
 *        padding: 1, input: x, when: ...}
 * replaces, in the deploy graph, every node between `input` (default: the
 * block input) and `output` by one conv with bias. */
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
