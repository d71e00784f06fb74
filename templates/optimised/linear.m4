m4_dnl bz_linear_kernels(name, in, out, bias, pixels, algorithm, workspace
m4_dnl floats, act, residual): x [B][pixels][in], w [out][in], y [B][pixels][out], every
m4_dnl pixel of the batch one row.  A per-pixel Linear is a 1x1 conv on a
m4_dnl pixels x 1 map, w [out][in] its OHWI weights: these are that conv's
m4_dnl kernels (conv2d.m4, conv2d_tiled.m4) for the algorithm bzgen chose:
m4_dnl   pointwise        one OpenBLAS GEMM, the bias added after it
m4_dnl   pointwise_tiled  16n inputs and outputs: the register-tiled core,
m4_dnl                    the bias in its accumulators, the weights packed
m4_dnl                    in the workspace (GEMMs without AVX-512)
m4_dnl bz_linear_as_conv(conv kernel macro, the linear's arguments): that
m4_dnl macro called with the 1x1 conv's arguments.
m4_define([<bz_linear_as_conv>], [<$1([<$2>], $3, $6, 1, $4, $6, 1, 1, 1, 1, 0, 1, $5, 1, $8,
                                   [<$7>], [<gemm>], 1, $9, $10)>])m4_dnl
m4_define([<bz_linear_forward_kernel>], [<
bz_linear_as_conv([<bz_conv2d_forward_kernel>], $@)>])m4_dnl
m4_define([<bz_linear_backward_kernel>], [<
bz_linear_as_conv([<bz_conv2d_backward_kernel>], $@)>])m4_dnl
m4_define([<bz_linear_kernels>], [<bz_linear_forward_kernel($@)
bz_linear_backward_kernel($@)>])m4_dnl
m4_dnl bz_linear_deploy_kernel(the same arguments): prefix_prepack(w,
m4_dnl workspace) and prefix_forward_packed, as a deploy conv's; only the
m4_dnl tiled algorithm packs.
m4_define([<bz_linear_deploy_kernel>], [<
bz_linear_as_conv([<bz_conv2d_deploy_kernel>], $@)>])m4_dnl
