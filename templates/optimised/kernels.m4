m4_dnl Optimised CPU backend: OpenBLAS GEMM for dense convolutions, OpenMP
m4_dnl and SIMD elsewhere.  Pooling, linear and LayerNorm2d use the reference templates
m4_dnl (a negligible share of the time in these networks).
m4_include([<reference/kernels.m4>])m4_dnl
m4_include([<optimised/conv2d.m4>])m4_dnl
m4_include([<optimised/conv2d_tiled.m4>])m4_dnl
m4_include([<optimised/conv2d_winograd.m4>])m4_dnl
m4_include([<optimised/batchnorm2d.m4>])m4_dnl
m4_include([<optimised/activation.m4>])m4_dnl
m4_include([<optimised/elementwise.m4>])m4_dnl
