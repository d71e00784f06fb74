/* conv2d: torch.nn.Conv2d over NHWC, weights OHWI.  The optimised
 * backend's algorithm for each layer (GEMM, im2col, tiled, grouped,
 * Winograd) and its workspace are chosen here. */
#include "emit.h"
#include "op.h"

#include <stdlib.h>

static const attr_def conv_attrs_def[] = {
    {"out", ATTR_INT, 1, 0, 1, 1 << 20, offsetof(node, conv.out_c)},
    {"kernel", ATTR_INT, 1, 0, 1, 64, offsetof(node, conv.kh)},
    {"stride", ATTR_INT, 0, 1, 1, 64, offsetof(node, conv.stride)},
    {"padding", ATTR_INT, 0, 0, 0, 64, offsetof(node, conv.pad)},
    {"groups", ATTR_INT, 0, 1, 1, 1 << 20, offsetof(node, conv.groups)},
    {"dilation", ATTR_INT, 0, 1, 1, 64, offsetof(node, conv.dilation)},
    {"bias", ATTR_BOOL, 0, 0, 0, 1, offsetof(node, conv.bias)},
    {"trunc_normal_std", ATTR_REAL, 0, 0, 0, 1, offsetof(node, init_std)},
    {NULL, 0, 0, 0, 0, 0, 0},
};

static void conv_finish(node *n, ynode def)
{
    n->conv.kw = n->conv.kh;
    ynode std = ymap_get(def, "trunc_normal_std");
    if (ynode_present(std) && !(n->init_std > 0 && n->init_std < 1))
        diag_error(ynode_pos(std), "trunc_normal_std must lie in (0, 1)");
}

static shape3 conv_shape(const graph *g, node *n)
{
    shape3 x = op_input_shape(g, n, 0);
    const conv_attrs *c = &n->conv;
    if (c->groups < 1 || x.c % c->groups != 0)
        diag_error(n->pos, "%s: groups %d do not divide the %d input channels", n->name,
                   c->groups, x.c);
    if (c->out_c % c->groups != 0)
        diag_error(n->pos, "%s: groups %d do not divide the %d output channels", n->name,
                   c->groups, c->out_c);
    int span = c->dilation * (c->kh - 1) + 1;
    if (c->dilation > 1 && (span > x.h + 2 * c->pad || span > x.w + 2 * c->pad))
        diag_error(n->pos, "%s: kernel %d dilated by %d spans %d pixels, more than the padded "
                   "%dx%d input", n->name, c->kh, c->dilation, span, x.h + 2 * c->pad,
                   x.w + 2 * c->pad);
    shape3 y = {c->out_c, window_count(x.h, c->kh, c->stride, c->pad, c->dilation, 0),
                window_count(x.w, c->kw, c->stride, c->pad, c->dilation, 0)};
    return y;
}

static void conv_params(graph *g, node *n)
{
    const conv_attrs *c = &n->conv;
    long cin = n->in_shape.c / c->groups;
    long w_shape[4] = {c->out_c, cin, c->kh, c->kw};
    long fan_in = cin * c->kh * c->kw;
    int normal = n->init_std > 0;
    long w = graph_add_param(g, n, "weight", KIND_PARAM, LAYOUT_OHWI,
                             normal ? INIT_TRUNC_NORMAL : INIT_UNIFORM_FAN_IN, 4, w_shape, fan_in);
    g->params[w].init_value = n->init_std;
    if (c->bias)
        graph_add_param(g, n, "bias", KIND_PARAM, LAYOUT_PLAIN,
                        normal ? INIT_ZERO : INIT_UNIFORM_FAN_IN, 1, w_shape, fan_in);
}

static long conv_macs(const node *n)
{
    const conv_attrs *c = &n->conv;
    long pixels = (long)n->out_shape.h * n->out_shape.w;
    return ((long)c->out_c * (n->in_shape.c / c->groups) * c->kh * c->kw +
            (c->bias ? c->out_c : 0)) * pixels;
}

static char *conv_kernel_name(const node *n, int deploy_bias)
{
    shape3 x = n->in_shape, y = n->out_shape;
    char *dilated = n->conv.dilation > 1 ? xasprintf("d%d", n->conv.dilation) : xstrdup("");
    char *name = xasprintf("conv2d_%dx%dx%d_to_%dx%dx%d_k%ds%dp%d%sg%d%s", x.c, x.h, x.w, y.c, y.h,
                           y.w, n->conv.kh, n->conv.stride, n->conv.pad, dilated, n->conv.groups,
                           n->conv.bias || deploy_bias ? "_bias" : "");
    free(dilated);
    return name;
}

static char *conv_describe(const node *n)
{
    const conv_attrs *c = &n->conv;
    char *dilated = c->dilation > 1 ? xasprintf(" d%d", c->dilation) : xstrdup("");
    char *text = xasprintf("k%dx%d s%d p%d%s g%d%s", c->kh, c->kw, c->stride, c->pad, dilated,
                           c->groups, c->bias ? " bias" : "");
    free(dilated);
    return text;
}

/* ---- the optimised backend's algorithm and workspace ---- */

/* 8M floats (32 MiB) bounds the im2col buffer of one GEMM chunk. */
enum { WORKSPACE_LIMIT = 8 << 20 };

static int conv_is_pointwise(const node *n)
{
    const conv_attrs *c = &n->conv;
    return c->kh == 1 && c->kw == 1 && c->stride == 1 && c->pad == 0;
}

/* The tiled and grouped templates step through the kernel one pixel at
 * a time; Winograd takes a dilation as sub-maps, im2col and the direct
 * loops take any. */
static int conv_is_dilated(const node *n)
{
    return n->conv.dilation > 1 && (n->conv.kh > 1 || n->conv.kw > 1);
}

static int conv_uses_im2col(const node *n)
{
    return n->conv.groups == 1 && !conv_is_pointwise(n);
}

static long im2col_floats_per_sample(const node *n)
{
    return (long)n->out_shape.h * n->out_shape.w * n->conv.kh * n->conv.kw * n->in_shape.c;
}

static long dense_weight_floats(const node *n)
{
    return (long)n->conv.kh * n->conv.kw * n->in_shape.c * n->conv.out_c;
}

long conv2d_weight_numel(const node *n)
{
    return (long)n->conv.out_c * (n->in_shape.c / n->conv.groups) * n->conv.kh * n->conv.kw;
}

/* Winograd (templates/optimised/conv2d_winograd.m4: F(2x2, 3x3) in the
 * training forward, F(4x4, 3x3) in the backward and the deploy graph):
 * dense 3x3 stride-1 convs padded by their dilation d, whose inputs and
 * outputs fill 16-lane vectors (its transformed products run on the tiled
 * pointwise core both ways) and whose map splits into d x d sub-maps (of
 * the pixels congruent mod d, each an ordinary 3x3 conv) that hold a
 * whole 4x4 tile (on a smaller one most of the 36 products per tile would
 * be of padding). */
static int conv_uses_winograd(const node *n)
{
    const conv_attrs *c = &n->conv;
    int d = c->dilation, h = n->out_shape.h, w = n->out_shape.w;
    return c->groups == 1 && c->kh == 3 && c->kw == 3 && c->stride == 1 && c->pad == d &&
           n->in_shape.c % 16 == 0 && c->out_c % 16 == 0 && h % d == 0 && w % d == 0 &&
           h / d >= 4 && w / d >= 4;
}

/* A Winograd chunk's transformed input and output: 8 MiB, to stay in the
 * last-level cache between the transforms and the products ... */
enum { WINOGRAD_CHUNK_FLOATS = 2 << 20 };

/* ... but at least this many tiles, the rows of each product, so that
 * every block of its kernel (read from memory: 36 of them do not fit in
 * the cache) serves enough rows to keep the FMA units busy. */
enum { WINOGRAD_MIN_TILES = 128 };

/* The transformed kernel of tile size m: (m + 2)^2 values per 3x3. */
static long winograd_kernel_floats(const node *n, int m)
{
    return (long)(m + 2) * (m + 2) * n->in_shape.c * n->conv.out_c;
}

/* A deploy conv on a map of fewer F(4x4) tiles than this keeps an
 * F(2x2, 3x3) kernel (16 values per 3x3 instead of 36) beside its F(4x4)
 * one, for batches of fewer tiles than this in all (batch 1 on 8x8
 * maps): there the products read each kernel value for a few tiles only,
 * so that the kernel's size, not the multiplies, bounds the time.  The
 * template's SMALL_MAP_TILES (conv2d_winograd.m4) is the same number:
 * this one decides whether the room is reserved, that one which kernel
 * a batch runs; results are the same either way. */
enum { WINOGRAD_SMALL_MAP_TILES = 16 };

static long winograd_tiles_per_sample(const node *n, int m)
{
    int d = n->conv.dilation;
    return (long)d * d * ((n->out_shape.h / d + m - 1) / m) * ((n->out_shape.w / d + m - 1) / m);
}

static int conv_winograd_small_map(const node *n)
{
    return conv_uses_winograd(n) && winograd_tiles_per_sample(n, 4) < WINOGRAD_SMALL_MAP_TILES;
}

/* The padding after each position of a transformed buffer: the template's
 * BZ_WINOGRAD_PLANE_PAD (runtime/kernels/bz_winograd.h), which keeps the
 * positions off multiples of 4 KiB apart. */
enum { WINOGRAD_PLANE_PAD = 16 };

/* The template's layout (bz_winograd_sizes) for tile size m: one
 * transformed kernel and, per sample of a chunk, (m + 2)^2 positions of
 * its m x m tiles (of every sub-map) times (cin + cout) channels, and the
 * padding of the input's and output's positions. */
static long winograd_workspace_floats(const node *n, int m, int max_batch)
{
    long tiles = winograd_tiles_per_sample(n, m);
    long per_sample = (long)(m + 2) * (m + 2) * tiles * (n->in_shape.c + n->conv.out_c);
    long samples = WINOGRAD_CHUNK_FLOATS / per_sample;
    long enough_rows = (WINOGRAD_MIN_TILES + tiles - 1) / tiles;
    samples = samples < enough_rows ? enough_rows : samples;
    samples = samples > max_batch ? max_batch : samples;
    return winograd_kernel_floats(n, m) + samples * per_sample +
           2L * (m + 2) * (m + 2) * WINOGRAD_PLANE_PAD;
}

/* The workspace for both tile sizes, expressed, like every conv
 * workspace, in samples of im2col rows. */
static int winograd_chunk_samples(const node *n, int max_batch)
{
    long f2 = winograd_workspace_floats(n, 2, max_batch);
    long f4 = winograd_workspace_floats(n, 4, max_batch);
    /* a small-map deploy conv packs both kernels there once (prepack) */
    long both = winograd_kernel_floats(n, 4) + winograd_kernel_floats(n, 2);
    long need = f2 > f4 ? f2 : f4;
    if (conv_winograd_small_map(n) && both > need)
        need = both;
    long per = im2col_floats_per_sample(n);
    return (int)((need + per - 1) / per);
}

/* The tiled weight gradient sums each thread's samples into sums of its
 * own where they fit in 1 MiB of its L2 (conv2d_tiled.m4's OWN_SUMS_MAX
 * floats) and the workspace has room for every thread's: a pointwise
 * conv reserves room for this many (a 64 -> 64 1x1 conv's backward at
 * batch 64: 4.3 -> 3.7 ms on 2 threads); with more threads its sums are
 * split among them. */
enum { POINTWISE_SUM_SLOTS = 4, OWN_SUMS_MAX = 1 << 18 };

long pointwise_tiled_workspace(long weights)
{
    return weights <= OWN_SUMS_MAX ? POINTWISE_SUM_SLOTS * weights : weights;
}

/* The workspace in samples of im2col rows: as many as WORKSPACE_LIMIT
 * holds for im2col; for a pointwise conv (tiled: it only packs its
 * weights there, and sums its weight gradient) enough rows for
 * pointwise_tiled_workspace. */
static int conv_chunk_samples(const node *n, int max_batch)
{
    if (conv_uses_winograd(n))
        return winograd_chunk_samples(n, max_batch);
    long per = im2col_floats_per_sample(n);
    if (conv_is_pointwise(n))
        return (int)((pointwise_tiled_workspace(dense_weight_floats(n)) + per - 1) / per);
    long chunk = WORKSPACE_LIMIT / per;
    if (chunk < 1)
        chunk = 1;
    return (int)(chunk < max_batch ? chunk : max_batch);
}

/* The register-tiled direct convolution (templates/optimised/conv2d_tiled.m4)
 * takes dense convs whose width fills whole 16-lane vectors: pointwise
 * ones read their input in place; the others need the im2col workspace
 * to hold the packed weights and one zero-padded sample. */
static int conv_uses_tiled(const node *n, int max_batch)
{
    const conv_attrs *c = &n->conv;
    if (c->groups != 1 || c->out_c % 16 || conv_uses_winograd(n) || conv_is_dilated(n))
        return 0;
    if (conv_is_pointwise(n))
        return 1;
    long padded = c->pad ? (long)(n->in_shape.h + 2 * c->pad) * (n->in_shape.w + 2 * c->pad) *
                               n->in_shape.c : 0;
    long workspace = conv_chunk_samples(n, max_batch) * im2col_floats_per_sample(n);
    return workspace >= dense_weight_floats(n) + padded;
}

static long conv_workspace(const node *n, int max_batch)
{
    if (!(conv_uses_im2col(n) || conv_uses_tiled(n, max_batch) || conv_uses_winograd(n)))
        return 0;
    return conv_chunk_samples(n, max_batch) * im2col_floats_per_sample(n);
}

/* The grouped template (templates/optimised/conv2d_grouped.m4) sums a
 * group's inputs one at a time per output channel: narrow groups (ResNeXt's
 * 2 to 8, depthwise's 1) only. */
enum { GROUPED_MAX_INPUTS = 16 };

static int conv_uses_grouped(const node *n)
{
    const conv_attrs *c = &n->conv;
    return c->groups > 1 && !conv_is_dilated(n) && n->in_shape.c / c->groups <= GROUPED_MAX_INPUTS;
}

/* A deploy conv whose kernel packs (or transposes) its weights (the
 * tiled, Winograd and grouped algorithms): it is packed once in
 * deploy_fold and its forward_packed skips the packing. */
static int conv_prepacked(const node *n, int max_batch)
{
    return conv_uses_tiled(n, max_batch) || conv_uses_winograd(n) || conv_uses_grouped(n);
}

/* The optimised backend's algorithm; the reference backend implements
 * every one with the same plain loops. */
static const char *conv_algorithm(const node *n, int max_batch)
{
    const conv_attrs *c = &n->conv;
    if (conv_uses_winograd(n))
        return conv_winograd_small_map(n) ? "winograd_small_map" : "winograd";
    if (conv_uses_tiled(n, max_batch))
        return conv_uses_im2col(n) ? "tiled" : "pointwise_tiled";
    if (c->groups == 1)
        return conv_uses_im2col(n) ? "im2col" : "pointwise";
    if (conv_uses_grouped(n))
        return "grouped";
    return "direct";
}

/* ---- kernels and calls ---- */

/* cuBLAS takes a 1x1 stride-1 unpadded dense conv as one GEMM; the CUDA
 * backend's direct kernels take every other one. */
static const char *conv_cuda_algorithm(const node *n)
{
    return n->conv.groups == 1 && conv_is_pointwise(n) ? "gemm" : "direct";
}

/* bz_conv2d_<pass>_kernel(name, shapes and attributes, chunk, workspace,
 * optimised algorithm, CUDA algorithm, dilation, act: the activation
 * applied to the output as it is stored, a bz_activation.h constant,
 * residual: 1 where the output adds to what y holds, before act) */
static void conv_kernel(kernel_sink *k, const node *n, const char *name, int bias,
                        const char *act, int residual, const char *pass)
{
    int max_batch = kernel_sink_max_batch(k);
    const conv_attrs *c = &n->conv;
    long workspace = conv_workspace(n, max_batch);
    char *macro = xasprintf("bz_conv2d_%s_kernel", pass);
    kernel_macro(k, macro, name, "%d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %d, %ld, "
                 "[<%s>], [<%s>], %d, %s, %d", n->in_shape.c, n->in_shape.h, n->in_shape.w,
                 c->out_c, n->out_shape.h, n->out_shape.w, c->kh, c->kw, c->stride, c->pad,
                 c->groups, c->bias || bias, workspace ? conv_chunk_samples(n, max_batch) : 0,
                 workspace, conv_algorithm(n, max_batch), conv_cuda_algorithm(n), c->dilation,
                 act, residual);
    free(macro);
}

static void conv_kernels(kernel_sink *k, const node *n)
{
    char *name = conv_kernel_name(n, 0);
    conv_kernel(k, n, name, 0, "BZ_ACT_NONE", 0, "forward");
    conv_kernel(k, n, name, 0, "BZ_ACT_NONE", 0, "backward");
    free(name);
}

static void conv_deploy_kernels(kernel_sink *k, const deploy_step *s)
{
    int bias = s->folded_bn >= 0 || s->group >= 0;
    const char *act = s->fused_act ? s->fused_act->deploy_activation : "BZ_ACT_NONE";
    char *name = deploy_kernel_name(s);
    int residual = s->residual >= 0;
    conv_kernel(k, s->n, name, bias, act, residual, "forward");
    if (conv_prepacked(s->n, kernel_sink_max_batch(k)))
        conv_kernel(k, s->n, name, bias, act, residual, "deploy");
    free(name);
}

/* The dense algorithms' kernels (every backend's) add a residual. */
static int conv_adds_residual(const node *n)
{
    return n->conv.groups == 1;
}

static void conv_forward(const op_call *c, int train)
{
    (void)train;
    op_call_emit(c, "_forward", "%s, %s, %s, %s, bz_workspace", c->x[0], c->param[0],
                 c->param[1], c->y);
}

/* A conv is rerun in the backward rather than kept (gen/recompute.c) when
 * it does at most 64 multiply-adds per output value (depthwise convs, the
 * stem's 3 input channels, 1x1 convs of up to 64 channels): on two cores
 * that costs about what writing its output and reading its input do, so
 * about what recomputing a BatchNorm and its activation costs. */
enum { RECOMPUTE_MAX_MACS_PER_OUTPUT = 64 };

static int conv_cheap_to_recompute(const node *n)
{
    long per_output = (long)(n->in_shape.c / n->conv.groups) * n->conv.kh * n->conv.kw;
    return per_output <= RECOMPUTE_MAX_MACS_PER_OUTPUT;
}

static void conv_backward(const op_call *c)
{
    op_call_emit(c, "_backward", "%s, %s, %s, %s, %d, %s, %s, bz_workspace", c->x[0],
                 c->param[0], c->dy, c->dx[0], c->accumulate[0], c->grad[0], c->grad[1]);
}

static void conv_deploy_forward(const op_call *c)
{
    op_call_emit(c, c->prepacked ? "_forward_packed" : "_forward", "%s, %s, %s, %s, bz_workspace",
                 c->x[0], c->w, c->b, c->y);
}

/* The deploy arena's room for a conv's weights: the Winograd kernel is
 * transformed there in place (36 values per 3x3; on a small map also the
 * 16 of F(2x2, 3x3) after them). */
static long conv_deploy_weights(const node *n)
{
    if (!conv_uses_winograd(n))
        return conv2d_weight_numel(n);
    long small_map = conv_winograd_small_map(n) ? winograd_kernel_floats(n, 2) : 0;
    return winograd_kernel_floats(n, 4) + small_map;
}

static long conv_deploy_bias(const node *n, int folded_norm)
{
    return n->conv.bias || folded_norm ? n->conv.out_c : 0;
}

static void conv_fold(FILE *out, const graph *g, const deploy_step *s)
{
    const node *n = s->n;
    long k = (long)(n->in_shape.c / n->conv.groups) * n->conv.kh * n->conv.kw;
    if (s->folded_bn < 0) {
        fold_copy(out, g, n, 0, s->w_offset, k * n->conv.out_c);
        if (n->conv.bias)
            fold_copy(out, g, n, 1, s->b_offset, n->conv.out_c);
        return;
    }
    const node *bn = &g->nodes[s->folded_bn];
    char *r[7] = {param_ref(g, n, 0), n->conv.bias ? param_ref(g, n, 1) : xstrdup("bz_null")};
    for (int i = 0; i < 4; i++)
        r[2 + i] = param_ref(g, bn, i);
    char *w = deploy_ref(s->w_offset, n->name, "weight (BN folded)");
    char *b = deploy_ref(s->b_offset, n->name, "bias (BN folded)");
    fprintf(out, "bz_fold_call([<bz_fold_conv_batchnorm>], [<%s, %s, %s, %s, %s, %s, %s, %d, %ld, "
            "%s, %s>])\n", r[0], r[1], r[2], r[3], r[4], r[5], exact_double(bn->eps),
            n->conv.out_c, k, w, b);
    for (int i = 0; i < 6; i++)
        free(r[i]);
    free(w), free(b);
}

static const char *const conv_macros[] = {"bz_conv2d_forward_kernel", "bz_conv2d_backward_kernel",
                                          "bz_conv2d_deploy_kernel", NULL};

const op_def op_conv2d = {
    .name = "conv2d",
    .torch_class = "Conv2d",
    .n_inputs = 1,
    .attrs = conv_attrs_def,
    .finish_attrs = conv_finish,
    .infer_shape = conv_shape,
    .add_params = conv_params,
    .macs = conv_macs,
    .backward_saves = SAVES_INPUTS,
    .kernel_name = conv_kernel_name,
    .describe = conv_describe,
    .kernel_macros = conv_macros,
    .kernels = conv_kernels,
    .forward = conv_forward,
    .backward = conv_backward,
    .recompute = op_recompute_by_forward,
    .cheap_to_recompute = conv_cheap_to_recompute,
    .deploy_weights = conv_deploy_weights,
    .deploy_bias = conv_deploy_bias,
    .fold = conv_fold,
    .deploy_kernels = conv_deploy_kernels,
    .deploy_forward = conv_deploy_forward,
    .absorbs_next_norm = 1, .applies_activation = 1,
    .adds_residual = conv_adds_residual,
    .absorbs_next_scale = 1,
    .workspace = conv_workspace,
    .prepacked = conv_prepacked,
    .reparam = REPARAM_CONV,
};
