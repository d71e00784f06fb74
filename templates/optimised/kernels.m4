m4_dnl Optimised CPU backend: OpenBLAS GEMM for dense convolutions, OpenMP
m4_dnl and SIMD elsewhere.  Max pooling uses the reference template.
m4_include([<reference/kernels.m4>])m4_dnl
m4_include([<optimised/conv2d.m4>])m4_dnl
m4_include([<optimised/conv2d_grouped.m4>])m4_dnl
m4_include([<optimised/conv2d_tiled.m4>])m4_dnl
m4_include([<optimised/conv2d_winograd.m4>])m4_dnl
m4_include([<optimised/batchnorm2d.m4>])m4_dnl
m4_include([<optimised/activation.m4>])m4_dnl
m4_include([<optimised/elementwise.m4>])m4_dnl
m4_include([<optimised/linear.m4>])m4_dnl
m4_include([<optimised/attention.m4>])m4_dnl
m4_include([<optimised/layernorm2d.m4>])m4_dnl
m4_include([<optimised/pooling.m4>])m4_dnl
m4_dnl The entry points bzgen calls: the algorithm it chose (argument 16)
m4_dnl names the template; the reference loops serve as the direct one.
m4_define([<bz_conv2d_direct_forward_kernel>], m4_defn([<bz_conv2d_forward_kernel>]))m4_dnl
m4_define([<bz_conv2d_direct_backward_kernel>], m4_defn([<bz_conv2d_backward_kernel>]))m4_dnl
m4_define([<bz_conv2d_forward_kernel>], [<bz_conv2d_$16_forward_kernel($@)>])m4_dnl
m4_define([<bz_conv2d_backward_kernel>], [<bz_conv2d_$16_backward_kernel($@)>])m4_dnl
m4_define([<bz_conv2d_deploy_kernel>], [<bz_conv2d_$16_deploy_kernel($@)>])m4_dnl
