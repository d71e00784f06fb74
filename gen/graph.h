/* The network as bzgen sees it after instantiating every block: nodes in
 * execution order, tensors with per-sample NHWC shapes, parameters with
 * their state_dict keys.  Tensor 0 is the model input; the last node's
 * output is the logits. */
#ifndef GEN_GRAPH_H
#define GEN_GRAPH_H

#include "diag.h"

/* gen/op.h: one entry per operator. */
typedef struct op_def op_def;

typedef struct {
    int c, h, w;
} shape3;

typedef struct {
    int out_c, kh, kw, stride, pad, groups, bias, dilation;
} conv_attrs;

typedef struct {
    int kernel, stride, pad, ceil_mode, count_include_pad;
} pool_attrs;

typedef struct {
    char *name;             /* module path: "stage3.0.conv_pw"           */
    const char *param_prefix;   /* its parameters' keys start with this:
                               the name, or the block's path for a node
                               with param_owner: block (timm's ConvNeXt
                               gamma is stage3.0.gamma)              */
    const op_def *op;
    const char *torch_class;/* "Conv2d", "BatchNormAct2d", ...           */
    int in[2], n_in;        /* tensor ids                                */
    int out;                /* tensor id                                 */
    shape3 in_shape, out_shape;
    /* Attributes; each operator uses its own (gen/op_*.c). */
    conv_attrs conv;        /* conv2d                                    */
    pool_attrs pool;        /* avgpool2d                                 */
    double eps;             /* batchnorm2d, layernorm2d                  */
    int features, bias;     /* linear                                    */
    double init_value;      /* channel_scale: gamma's initial value      */
    int gamma_dims;         /* channel_scale: gamma is [C] (1) or [C,1,1] (3) */
    double init_std;        /* conv2d: > 0: weight ~ trunc_normal(0, std,
                               [-2, 2]) and bias 0 (timm's _init_weights) */
    int mul_b_pixels;       /* mul: 1 for a gate, else in_shape's HxW    */
    int heads, patch;       /* attention: heads; tokens of one sequence are
                               the pixels at one offset in every patch x patch
                               tile (1: all pixels, one sequence)        */
    int macs_times;         /* torchinfo counts the layer this many times
                               (macs_times: in the block file, default 1) */
    int param_first, n_param;
    int bn_index;           /* batchnorm2d: index among BNs              */
    long bn_saved_offset;   /* floats into bn_saved: [4][C] (the template's
                               batch statistics: mean, invstd, ...) */
    src_pos pos;
} node;

typedef struct {
    shape3 s;
    int producer;           /* node id, -1 for the input                 */
} tensor;

enum { KIND_PARAM, KIND_BUFFER, KIND_COUNTER };
enum { LAYOUT_PLAIN, LAYOUT_OHWI };
enum { INIT_ZERO, INIT_ONE, INIT_UNIFORM_FAN_IN, INIT_CONSTANT, INIT_TRUNC_NORMAL };

typedef struct {
    char *key;
    int kind, layout, init, ndim;
    long shape[4];
    long numel, offset, fan_in;
    double init_value;      /* INIT_CONSTANT: the value; INIT_TRUNC_NORMAL: the std */
} param;

/* A re-parameterisable sum of branches (MobileOne, RepLK, ...): in the
 * deploy graph one convolution replaces every member node. */
enum { MAX_BRANCHES = 8 };
typedef struct {
    node merged;            /* the deploy conv (not in graph.nodes)      */
    int in, out;            /* tensors: the branches' input, their sum   */
    int *members;           /* replaced train nodes                      */
    int n_members;
    /* Branch b adds sign[b] * scale[b] * bn[b](conv[b](in)); conv -1: an
     * identity branch (BN of the input), bn -1: the input itself, scale
     * -1: no layer scale, else the channel_scale node (RepMixer). */
    int conv[MAX_BRANCHES];
    int bn[MAX_BRANCHES];
    int scale[MAX_BRANCHES];
    int sign[MAX_BRANCHES];
    int n_branches;
} reparam_group;

typedef struct {
    node *nodes;
    int n_nodes, cap_nodes;
    reparam_group *groups;
    int n_groups;
    tensor *tensors;
    int n_tensors, cap_tensors;
    param *params;
    int n_params, cap_params;
    long n_param_floats, n_buffer_floats, n_counters, n_bn_saved;
    int n_bn;
} graph;

int graph_add_tensor(graph *g, shape3 s, int producer);
/* Layers in one network, sub-blocks expanded: a bound on what nested
 * sub-blocks can make (16 children x 7 levels would be 268 million). */
enum { MAX_GRAPH_NODES = 20000 };
node *graph_add_node(graph *g);
reparam_group *graph_add_group(graph *g);
/* Appends a parameter of `owner` named owner->name + "." + leaf. */
long graph_add_param(graph *g, node *owner, const char *leaf, int kind, int layout,
                     int init, int ndim, const long *shape, long fan_in);

long shape_numel(shape3 s);
/* Index of the single node that reads tensor t, or -1 if 0 or 2+ do. */
int sole_consumer(const graph *g, int t);

/* Output shape of a node whose inputs and attributes are set (its
 * operator's rule, then: not empty); errors at the node's position. */
shape3 infer_shape(const graph *g, node *n);
/* Creates the node's parameters (state_dict order). */
void add_node_params(graph *g, node *n);

#endif
