#include "emit.h"

#include <stdlib.h>

char *kernel_name(const node *n, int deploy_bias)
{
    shape3 x = n->in_shape, y = n->out_shape;
    switch (n->op) {
    case OP_CONV2D:
        return xasprintf("conv2d_%dx%dx%d_to_%dx%dx%d_k%ds%dp%dg%d%s", x.c, x.h, x.w, y.c, y.h, y.w,
                         n->conv.kh, n->conv.stride, n->conv.pad, n->conv.groups,
                         n->conv.bias || deploy_bias ? "_bias" : "");
    case OP_BATCHNORM2D:
        return xasprintf("%s_%dx%dx%d", deploy_bias ? "channel_affine" : "batchnorm2d", x.c, x.h, x.w);
    case OP_AVGPOOL2D:
        return xasprintf("avgpool2d_%dx%dx%d_to_%dx%d_k%ds%dp%d%s", x.c, x.h, x.w, y.h, y.w,
                         n->pool.kernel, n->pool.stride, n->pool.pad,
                         n->pool.count_include_pad ? "" : "_exclude_pad");
    case OP_GLOBAL_AVGPOOL:
        return xasprintf("global_avgpool_%dx%dx%d", x.c, x.h, x.w);
    case OP_MUL:
        return xasprintf("mul_%dx%dx%d%s", x.c, x.h, x.w, n->mul_b_pixels == 1 ? "_gate" : "");
    case OP_CONCAT:
        return xasprintf("concat_%d_%d_x%d", x.c, y.c - x.c, x.h * x.w);
    case OP_LAYERNORM2D:
        return xasprintf("layernorm2d_%dx%dx%d", x.c, x.h, x.w);
    case OP_CHANNEL_SCALE:
        return xasprintf("channel_scale_%dx%dx%d", x.c, x.h, x.w);
    case OP_LINEAR:
        return xasprintf("linear_%d_to_%d%s", x.c, y.c, n->bias ? "_bias" : "");
    default:
        return xasprintf("%s_%ld", op_name(n->op), shape_numel(x));
    }
}

char *exact_double(double v)
{
    for (int digits = 1; digits < 17; digits++) {
        char *text = xasprintf("%.*g", digits, v);
        if (strtod(text, NULL) == v)
            return text;
        free(text);
    }
    return xasprintf("%.17g", v);
}
