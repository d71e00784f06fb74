m4_dnl CUDA backend: every operator as plain CUDA kernels, one thread per
m4_dnl output element (reductions: one block per reduced element, summed in
m4_dnl double in a fixed order), launched from host functions with the
m4_dnl reference backend's names and signatures on device pointers, so that
m4_dnl bzgen's model.m4 drives every backend alike.  Correctness first: the
m4_dnl GEMM-based convolutions and fused epilogues come on top of these.
m4_include([<entry.m4>])m4_dnl
m4_include([<cuda/conv2d.m4>])m4_dnl
m4_include([<cuda/batchnorm2d.m4>])m4_dnl
m4_include([<cuda/activation.m4>])m4_dnl
m4_include([<cuda/pooling.m4>])m4_dnl
m4_include([<cuda/elementwise.m4>])m4_dnl
m4_include([<cuda/linear.m4>])m4_dnl
m4_include([<cuda/layernorm2d.m4>])m4_dnl
m4_include([<cuda/attention.m4>])m4_dnl
