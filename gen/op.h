/* The operator table.  Everything bzgen knows about an operator lives in
 * one op_def: its YAML name and PyTorch class, its attributes, inputs,
 * parameters, shape rule, MAC count, what its backward reads, its kernel
 * names, the kernel macros it instantiates and how its calls are written
 * in training, evaluation and deployment.  One file per family
 * (gen/op_conv2d.c, gen/op_activation.c, ...) defines the entries;
 * gen/op_table.c lists them.  The rest of gen/ loops over the table and
 * calls these hooks: it never asks which operator a node is.
 *
 * Adding an operator: gen/ADDING_AN_OPERATOR.md. */
#ifndef GEN_OP_H
#define GEN_OP_H

#include <stddef.h>
#include <stdio.h>

#include "analysis.h"
#include "yaml_doc.h"

/* An attribute of a node in a block file: read from its YAML key, checked
 * against [lo, hi] and stored in the node at `field`. */
typedef enum {
    ATTR_INT,       /* an integer expression of the block's variables: int field */
    ATTR_BOOL,      /* true/false: int field                                     */
    ATTR_REAL       /* a number literal: double field                            */
} attr_type;

typedef struct {
    const char *key;
    attr_type type;
    int required;
    double fallback;        /* when absent (not range-checked)       */
    double lo, hi;
    size_t field;           /* offsetof(node, ...)                   */
} attr_def;

/* What backward reads besides dy (the memory planner keeps it alive). */
enum { SAVES_NOTHING = 0, SAVES_INPUTS = 1, SAVES_OUTPUT = 2 };

/* A node's part in a re-parameterisable sum of branches (gen/reparam.c). */
typedef enum {
    REPARAM_NONE,   /* cannot be inside a group                          */
    REPARAM_SUM,    /* adds its two inputs' branches, the second x sign  */
    REPARAM_SCALE,  /* a layer scale over the branches below it          */
    REPARAM_NORM,   /* a branch's BatchNorm                              */
    REPARAM_CONV    /* a branch's convolution (under its BatchNorm)      */
} reparam_role;

/* One layer call being written: every address it may pass, as m4 text
 * (bz_act(...), bz_param(...), ...).  Hooks pick what their kernel takes
 * and write it with op_call_emit. */
enum { MAX_NODE_PARAMS = 5 };
typedef struct {
    FILE *out;
    const node *n;
    const char *kernel;         /* kernel_name() of this call          */
    char *x[2], *y;             /* inputs, output                      */
    char *dx[2], *dy;           /* their gradients (backward)          */
    int accumulate[2];          /* add into dx[k] rather than overwrite */
    char *param[MAX_NODE_PARAMS];   /* state_dict order, its own arena */
    char *grad[MAX_NODE_PARAMS];    /* KIND_PARAM ones                 */
    char *w, *b;                /* deploy arena: weights, bias (or bz_null) */
    const deploy_step *step;    /* deploy calls                        */
    int prepacked;              /* deploy conv on weights packed once  */
    int relu;                   /* training forward or recompute: y is the
                                   output of the ReLU after this node, which
                                   the kernel applies (op_def.relu_epilogue);
                                   backward: dy is that ReLU's output
                                   gradient (op_def.backward_relu) */
    char *affine[2];            /* forward_affine: input k's BatchNorm as
                                   "gamma, beta, saved" (x[k] is that
                                   BatchNorm's input), or "bz_null, bz_null,
                                   bz_null": x[k] as it is */
} op_call;

/* gen/emit_calls.c: the addresses of node n's call from plan p; kernel,
 * w, b and step are the caller's.  A backward call also has the gradients;
 * it and a recompute read values where the backward finds them (a
 * recomputed tensor's second copy). */
typedef enum { CALL_FORWARD, CALL_BACKWARD, CALL_RECOMPUTE } call_phase;
op_call op_call_open(FILE *out, const graph *g, const memory_plan *p, const node *n,
                     call_phase phase);
void op_call_close(op_call *c);
char *op_call_tensor(const graph *g, const memory_plan *p, int t);
void op_call_emit(const op_call *c, const char *suffix, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Where the kernel instantiations go: each (macro, kernel name) once. */
typedef struct kernel_sink kernel_sink;
void kernel_macro(kernel_sink *k, const char *macro, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int kernel_sink_max_batch(const kernel_sink *k);

struct op_def {
    const char *name;               /* YAML spelling: "conv2d"                  */
    const char *torch_class;        /* default module class: "Conv2d"           */
    int n_inputs;                   /* 1 or 2                                   */
    const attr_def *attrs;          /* {NULL}-terminated                        */
    /* Cross-attribute rules and derived fields after reading; may be NULL. */
    void (*finish_attrs)(node *n, ynode def);
    /* Output shape from the inputs (errors at n->pos); NULL: the input's. */
    shape3 (*infer_shape)(const graph *g, node *n);
    void (*add_params)(graph *g, node *n);          /* state_dict order; NULL: none */
    long (*macs)(const node *n);                    /* torchinfo's; NULL: 0  */
    /* The multiply-adds its kernel runs per sample, where torchinfo counts
     * fewer (a Linear's weights once, not per pixel; attention 0): the
     * per-layer timing tables' GFLOP/s.  NULL: the counted ones. */
    long (*work_macs)(const node *n);
    int backward_saves;
    /* Kernel name: one per distinct shape signature; deploy_form: the
     * deploy step's kernel (with bias, or the op's own deploy kernel). */
    char *(*kernel_name)(const node *n, int deploy_form);
    char *(*describe)(const node *n);               /* layer comment; NULL: "" */
    const char *const *kernel_macros;   /* every macro the hooks instantiate */
    void (*kernels)(kernel_sink *k, const node *n);
    void (*forward)(const op_call *c, int train);
    void (*backward)(const op_call *c);
    /* Reruns the forward in the backward pass from the same inputs and
     * writes exactly what the training forward wrote (a BatchNorm applies
     * its saved batch statistics and leaves the running ones alone).  The
     * memory planner recomputes an output that the backward reads, when
     * every input is kept anyway, instead of keeping it through the
     * forward (gen/recompute.c).  NULL: never recomputed (convolutions,
     * linear, attention: too costly to run twice). */
    void (*recompute)(const op_call *c);
    /* With recompute set: whether this node is cheap enough to rerun;
     * NULL: always. */
    int (*cheap_to_recompute)(const node *n);
    /* Every kernel of its training step (forward, recompute, backward)
     * writes each output element after it has read every input element of
     * the same index that it needs, and nothing else after: an output may
     * share memory with an input read there for the last time (the memory
     * planner lets it).  Elementwise activations, BatchNorm. */
    int in_place;
    /* Its training forward and recompute can apply the ReLU that is its
     * output's only consumer (op_call.relu), saving that ReLU's pass over
     * memory (gen/fuse.c): BatchNorm, add, sub. */
    int relu_epilogue;
    /* With relu_epilogue: its backward can apply that ReLU's backward too
     * (op_call.relu in the backward call: dy is the ReLU output's gradient,
     * zero where its own output was not positive), and the ReLU's backward
     * pass goes (gen/fuse.c): BatchNorm. */
    int backward_relu;
    /* Bit k set: input k's gradient is dy itself (add: both inputs; sub: the
     * first).  Where this node is that input's only consumer, the input's
     * gradient is dy's buffer and its backward writes nothing for it
     * (gen/fuse.c, training_fusion.grad_alias): NULL as that dx. */
    int passes_gradient;
    /* Training-step fusion with the BatchNorms before it (gen/fuse.c): a
     * BatchNorm whose output only this node reads computes its batch
     * statistics alone (its forward_statistics), and this node's
     * forward_affine applies that BatchNorm's scale and shift as it reads
     * the BatchNorm's input, in the training forward and in its recompute;
     * the BatchNorm's output is never written.  affine_kernels instantiates
     * the kernels forward_affine calls.  add. */
    void (*affine_kernels)(kernel_sink *k, const node *n);
    void (*forward_affine)(const op_call *c);
    void (*forward_statistics)(const op_call *c);
    /* With forward_statistics: what forward_affine passes for it, from its
     * own call (op_call.affine's text: "gamma, beta, saved"). */
    char *(*affine_operands)(const op_call *c);
    /* Deployment.  Floats of the deploy arena: weights (w_offset) and bias
     * (b_offset; 0: none).  fold writes deploy_fold's calls; NULL with no
     * parameters.  deploy_kernels and deploy_forward: NULL for the
     * training kernels and forward(c, 0). */
    long (*deploy_weights)(const node *n);
    long (*deploy_bias)(const node *n, int folded_norm);
    void (*fold)(FILE *out, const graph *g, const deploy_step *s);
    void (*deploy_kernels)(kernel_sink *k, const deploy_step *s);
    void (*deploy_forward)(const op_call *c);
    int deploy_own_kernel;          /* its deploy step calls kernel_name(n, 1)  */
    int absorbs_next_norm;          /* a following BN folds into it (conv)      */
    int folds_into_conv;            /* it folds into a preceding conv (BN)      */
    int absorbs_next_scale;         /* a following layer scale folds into its
                                       weights, after any BN (conv, linear)     */
    int folds_as_scale;             /* it folds so: y = x gamma[c] (channel_scale) */
    int (*adds_residual)(const node *n); /* its deploy kernel can add a residual
                                       as it stores: it absorbs the add after
                                       it (dense convs, linear); NULL: never    */
    int folds_as_residual;          /* a conv or linear before it adds its other
                                       operand in its kernel (add)              */
    int applies_activation;         /* its deploy kernel applies the activation
                                       (one with deploy_activation) that is the
                                       only consumer of its output, after any
                                       BN and scale it absorbed (conv, linear)  */
    int conv_epilogue;              /* a relu_epilogue operator in training, or a
                                       deploy sum, applies it (ReLU)            */
    const char *deploy_activation;  /* a preceding deploy conv applies it as it
                                       stores its output: this constant of
                                       runtime/kernels/bz_activation.h (the
                                       kernels' last argument); NULL: never     */
    int deploy_relu_epilogue;       /* its deploy step, too, applies the ReLU that
                                       is its output's only consumer, through
                                       op_call.relu (add, sub)                  */
    long (*workspace)(const node *n, int max_batch);  /* scratch floats; NULL: 0 */
    int (*prepacked)(const node *n, int max_batch);   /* deploy weights packed once */
    reparam_role reparam;
    int reparam_sign;               /* REPARAM_SUM: +1 add, -1 subtract */
};

/* The table (gen/op_table.c), in YAML-listing order. */
extern const op_def *const op_table[];
extern const int op_table_size;
const op_def *op_by_name(const char *name);     /* NULL: none */
/* The convolution, which a block's deploy entry (re-parameterisation)
 * creates directly. */
extern const op_def op_conv2d;
/* Floats of a convolution's OHWI weight (a re-parameterised group's
 * merged conv counts them as deploy parameters). */
long conv2d_weight_numel(const node *n);
/* The workspace of a pointwise conv (or linear) of that many weights on
 * the tiled core: its packed weights, and room for the weight-gradient
 * sums of a few threads (gen/op_conv2d.c). */
long pointwise_tiled_workspace(long weights);
/* The keys a node of this operator may have (common ones included). */
const char *const *op_keys(const op_def *op);

/* Helpers the entries share (gen/op_common.c). */
extern const attr_def op_no_attrs[];            /* {NULL}: no attributes */
/* "<op>_<elements per sample>", and bz_<op>_kernels(name, elements): the
 * kernels of an operator that only needs the element count. */
char *op_numel_kernel_name(const node *n, int deploy_form);
void op_numel_kernels(kernel_sink *k, const node *n);
/* macro(name, channels, pixels per sample), name the entry's kernel name. */
void op_channel_kernels(kernel_sink *k, const node *n, const char *macro, int deploy_form);
shape3 op_input_shape(const graph *g, const node *n, int i);
/* PyTorch's window count of a conv or pool along one axis. */
int window_count(int size, int kernel, int stride, int pad, int dilation, int ceil_mode);
/* "bz_param(offset, [<key>])": an arena address and what lives there. */
char *arena_ref(const char *arena, long offset, const char *key);
/* Parameter k of node n in its arena (param, buffer or counter). */
char *param_ref(const graph *g, const node *n, int k);
/* A deploy-arena address (bz_null for offset -1), named "owner what". */
char *deploy_ref(long offset, const char *owner, const char *what);
const param *node_param(const graph *g, const node *n, int k);
/* The recompute hook of an operator whose forward has no side effect. */
void op_recompute_by_forward(const op_call *c);
/* bz_fold_call([<bz_copy_floats>], ...) of parameter k into the deploy arena. */
void fold_copy(FILE *out, const graph *g, const node *n, int k, long to, long floats);

#endif
