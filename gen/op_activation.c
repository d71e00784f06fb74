/* Elementwise activations y = f(x).  Their backward reads x, or y where
 * f' is a function of y (relu, sigmoid): backward_saves says which, and
 * the kernel's first backward argument is that tensor. */
#include "op.h"

#include <stdlib.h>

static void activation_forward(const op_call *c, int train)
{
    (void)train;
    op_call_emit(c, "_forward", "%s, %s", c->x[0], c->y);
}

static void activation_backward(const op_call *c)
{
    const char *saved = c->n->op->backward_saves == SAVES_OUTPUT ? c->y : c->x[0];
    op_call_emit(c, "_backward", "%s, %s, %s, %d", saved, c->dy, c->dx[0], c->accumulate[0]);
}

#define ACTIVATION(entry, yaml, class, saves, epilogue, act)                                   \
    static const char *const entry##_macros[] = {"bz_" yaml "_kernels", NULL};               \
    const op_def entry = {                                                                    \
        .name = yaml,                                                                         \
        .torch_class = class,                                                                 \
        .n_inputs = 1,                                                                        \
        .attrs = op_no_attrs,                                                                 \
        .backward_saves = saves,                                                              \
        .kernel_name = op_numel_kernel_name,                                                  \
        .kernel_macros = entry##_macros,                                                      \
        .kernels = op_numel_kernels,                                                          \
        .forward = activation_forward,                                                        \
        .backward = activation_backward,                                                      \
        .recompute = op_recompute_by_forward,                                                 \
        .in_place = 1,                                                                        \
        .conv_epilogue = epilogue,                                                            \
        .deploy_activation = act,                                                             \
    }

ACTIVATION(op_relu, "relu", "ReLU", SAVES_OUTPUT, 1, "BZ_ACT_RELU");
ACTIVATION(op_sigmoid, "sigmoid", "Sigmoid", SAVES_OUTPUT, 0, "BZ_ACT_SIGMOID");
ACTIVATION(op_hardswish, "hardswish", "Hardswish", SAVES_INPUTS, 0, "BZ_ACT_HARDSWISH");
ACTIVATION(op_gelu, "gelu", "GELU", SAVES_INPUTS, 0, "BZ_ACT_GELU");  /* exact (erf) form */
ACTIVATION(op_silu, "silu", "SiLU", SAVES_INPUTS, 0, "BZ_ACT_SILU");  /* x * sigmoid(x) */
ACTIVATION(op_hard_sigmoid, "hard_sigmoid", "Hardsigmoid", SAVES_INPUTS, 0,
           "BZ_ACT_HARD_SIGMOID");                                     /* relu6(x + 3) / 6 */
