/* What bzgen computes about a graph before writing anything: torchinfo
 * MACs, the deploy graph, liveness-based memory plans, GEMM workspace. */
#ifndef GEN_ANALYSIS_H
#define GEN_ANALYSIS_H

#include "graph.h"

/* torchinfo's rule (see shared/reference/README.md): conv weight and
 * bias x output pixels; other leaves' weight/bias x 1; modules with
 * children (BatchNormAct2d) and parameter-free ops count 0. */
long node_macs(const node *n);
/* The multiply-adds its kernel runs per sample (op_def.work_macs). */
long node_work_macs(const node *n);
long graph_params(const graph *g);     /* trainable floats */
long node_params(const graph *g, const node *n);   /* trainable floats */

/* Re-parameterisable groups (reparam.c): finds each group's branches and
 * members and checks that merging them is exact; errors otherwise. */
void resolve_reparam_groups(graph *g);
int reparam_group_of(const graph *g, int node);   /* -1: none */

/* Deploy graph: a conv whose only consumer is a BatchNorm absorbs it, a
 * conv or linear the layer scale after it, and a re-parameterisable group
 * becomes its merged conv. */
typedef struct {
    const node *n;      /* what runs: a train node or a group's merged conv */
    int node;           /* the train-graph node computed here, -1: group  */
    int group;          /* reparam group index, or -1                     */
    int folded_bn;      /* BN node merged into this conv, or -1           */
    int in, out;        /* tensor ids (out: the BN's output when folded,
                           the activation's when fused)                   */
    long w_offset, b_offset;   /* deploy arena; b_offset -1: no bias      */
    const op_def *fused_act; /* the activation its kernel applies to its
                           output (a conv: any with deploy_activation; a
                           sum: ReLU), or NULL                            */
    int folded_scale;   /* layer scale (channel_scale) node folded into its
                           weights and bias after the BN, or -1           */
    int residual;       /* the other operand of the add it absorbed, which
                           its kernel adds as it stores (the memory plan
                           gives the sum that operand's buffer: y holds it
                           when the kernel runs), or -1                   */
} deploy_step;

typedef struct {
    deploy_step *steps;
    int n_steps;
    long n_floats;      /* deploy arena size                              */
    long params;        /* BlockZoo's params_deploy: the train count with
                           each group's members replaced by its conv      */
    long macs;          /* torchinfo MACs of that graph, batch 1          */
} deploy_graph;

deploy_graph build_deploy(const graph *g);

/* Per-sample activation offsets (floats, -1: not in the arena) for one
 * mode; `size` is the arena's per-sample size. */
typedef struct {
    long *act_offset;   /* by tensor id */
    long *grad_offset;  /* by tensor id; training only */
    long *back_offset;  /* by tensor id, training only: where the backward
                           reads it (its recomputed copy, or act_offset) */
    int *recompute_before;  /* by tensor id, training only: the node before
                           whose backward it is recomputed, -1: none    */
    long size;
} memory_plan;

/* Training-step fusion (gen/fuse.c), by node: applier[i], the node whose
 * kernels apply ReLU i (op_def.relu_epilogue); applied[i], the ReLU that
 * node i's kernels apply; absorber[i], the node whose forward_affine
 * applies BatchNorm i (which then only computes its statistics); -1: none.
 * By tensor: grad_alias[t], the tensor whose gradient buffer is t's (an
 * add passed its gradient to t unchanged: op_def.passes_gradient; or t's
 * gradient is never written, its producer's backward reading that of the
 * ReLU after it: op_def.backward_relu), -1: its own. */
typedef struct {
    int *applier, *applied, *absorber;
    int *grad_alias;
} training_fusion;
training_fusion plan_training_fusion(const graph *g);
/* Whether node i's backward runs inside its producer's (a ReLU whose
 * producer has op_def.backward_relu); backward_reads: what node i's own
 * backward reads besides dy (op_def.backward_saves; nothing when its
 * producer's backward applies it). */
int backward_applied_by_producer(const graph *g, const training_fusion *f, int i);
int backward_reads(const graph *g, const training_fusion *f, int i);

/* Tensors the backward recomputes rather than keeps (gen/recompute.c).
 * rerun: by node, whether it may be rerun; recompute_always gives the
 * nodes of operators that always may, recompute_on_trial says whether a
 * node may be tried (a cheap conv: kept where the plan is not smaller).
 * plan_recompute returns, by tensor id, the node before whose backward it
 * is recomputed, -1 for the others. */
char *recompute_always(const graph *g);
int recompute_on_trial(const graph *g, int node);
int *plan_recompute(const graph *g, const training_fusion *fusion, const char *rerun);

/* recompute 0: every tensor a backward reads is kept from the forward. */
memory_plan plan_training(const graph *g, const training_fusion *fusion, int recompute);
memory_plan plan_inference(const graph *g);
memory_plan plan_deploy(const graph *g, const deploy_graph *d);

#endif
