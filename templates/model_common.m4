m4_dnl What every model skeleton (model.c.m4, model.cu.m4) shares: the
m4_dnl functions' frames, the layer comments and calls, buffer addresses.
m4_dnl bz_forward_begin(function)
m4_define([<bz_forward_begin>], [<
static void bz_fn_prefix[<>]_$1(bz_model *m, const float *x, float *logits, int batch)
{
    (void)x;>])m4_dnl
m4_define([<bz_backward_begin>], [<
static void bz_fn_prefix[<>]_backward(bz_model *m, const float *dlogits, int batch)
{
    const float *x = m->input;  /* kept by the runtime from forward_train */>])m4_dnl
m4_define([<bz_function_end>], [<}>])m4_dnl
m4_dnl bz_layer(name, operator, input shape, output shape, attributes, MACs,
m4_dnl          timed step): the comment that opens a layer, and its timing mark
m4_define([<bz_layer>], [<    /* [<$1>]: [<$2>] [<$3>] -> [<$4$5>], $6 MACs */
    bz_mark(m, $7);>])m4_dnl
m4_define([<bz_steps_end>], [<    bz_mark(m, -1);>])m4_dnl
m4_dnl bz_recompute_comment(name, operator, timed step): a tensor the backward
m4_dnl reads, recomputed rather than kept from the forward (gen/recompute.c)
m4_define([<bz_recompute_comment>], [<    /* recompute [<$1>] ([<$2>]) for the backward of the layer below */
    bz_mark(m, $3);>])m4_dnl
m4_dnl bz_statistics_comment(name): a BatchNorm whose output the add after it,
m4_dnl name, applies (gen/fuse.c): here only its batch statistics
m4_define([<bz_statistics_comment>], [<    /* batch statistics only: [<$1>] applies the normalisation as it reads */>])m4_dnl
m4_dnl bz_applied_comment(name): a ReLU whose producer's kernel applies it
m4_dnl as it writes (gen/fuse.c)
m4_define([<bz_applied_comment>], [<    /* applied by [<$1>]'s kernel as it writes */>])m4_dnl
m4_dnl bz_passed_comment: an add's backward whose inputs' gradients are its
m4_dnl own gradient's buffer (gen/fuse.c): nothing to compute
m4_define([<bz_passed_comment>], [<    /* gradient passed on: each input's gradient is this buffer */>])m4_dnl
m4_dnl bz_relu_backward_comment(name): a ReLU whose backward the backward of
m4_dnl its producer, name, applies (gen/fuse.c)
m4_define([<bz_relu_backward_comment>], [<    /* applied by [<$1>]'s backward, which reads this gradient */>])m4_dnl
m4_dnl bz_call(function, arguments): a kernel call at the current batch (the
m4_dnl function named without the backend's prefix)
m4_define([<bz_call>], [<    bz_kernel_name($1)($2, batch);>])m4_dnl
m4_dnl Buffer addresses.  bz_act offsets are per sample.
m4_define([<bz_input>], [<x>])m4_dnl
m4_define([<bz_logits>], [<logits>])m4_dnl
m4_define([<bz_dlogits>], [<dlogits>])m4_dnl
m4_define([<bz_null>], [<NULL>])m4_dnl
m4_define([<bz_act>], [<(m->act + $1L * batch)>])m4_dnl
m4_dnl Arena addresses: bz_param(offset, what lives there), printed with
m4_dnl its state_dict key (or deploy-arena name) as a comment.
m4_define([<bz_param>], [<(m->params + $1 /* [<$2>] */)>])m4_dnl
m4_define([<bz_grad>], [<(m->grads + $1 /* d [<$2>] */)>])m4_dnl
m4_define([<bz_buffer>], [<(m->buffers + $1 /* [<$2>] */)>])m4_dnl
m4_define([<bz_counter>], [<(m->counters + $1 /* [<$2>] */)>])m4_dnl
m4_define([<bz_bn_saved>], [<(m->bn_saved + $1 /* [<$2>] */)>])m4_dnl
m4_define([<bz_deploy>], [<(m->deploy_params + $1 /* [<$2>] */)>])m4_dnl
m4_define([<bz_workspace>], [<m->workspace>])m4_dnl
m4_define([<bz_momentum>], [<m->bn_momentum>])m4_dnl
