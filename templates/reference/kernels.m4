m4_dnl Reference backend: plain loops over real_t buffers, accumulating in
m4_dnl double.  Obviously correct, slow; the other backends are tested
m4_dnl against it.  The same kernels compile with real_t = double for the
m4_dnl finite-difference tests.
m4_include([<entry.m4>])m4_dnl
m4_include([<reference/conv2d.m4>])m4_dnl
m4_include([<reference/batchnorm2d.m4>])m4_dnl
m4_include([<reference/activation.m4>])m4_dnl
m4_include([<reference/pooling.m4>])m4_dnl
m4_include([<reference/elementwise.m4>])m4_dnl
m4_include([<reference/linear.m4>])m4_dnl
m4_include([<reference/layernorm2d.m4>])m4_dnl
m4_include([<reference/attention.m4>])m4_dnl
