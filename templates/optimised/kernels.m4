m4_dnl Optimised CPU backend: OpenBLAS GEMM for dense convolutions and
m4_dnl OpenMP loops elsewhere.  Operators without an optimised template
m4_dnl here use the reference one.
m4_include([<reference/kernels.m4>])m4_dnl
m4_include([<optimised/conv2d.m4>])m4_dnl
