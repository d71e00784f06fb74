m4_dnl bz_entry(signature): a kernel function that model code calls (an
m4_dnl entry point), where the static functions around it are its helpers.
m4_dnl Its form depends on where the kernel is expanded:
m4_dnl   a C kernel unit (model.c.m4)              an external definition
m4_dnl   a C model source (model.c.m4)             a declaration only
m4_dnl   otherwise (a unit's base kernel, model.cu, the operator tests)
m4_dnl                                             static, as here
m4_define([<bz_static_entry>], [<static __attribute__((unused)) [<$1>]>])m4_dnl
m4_define([<bz_external_entry>], [<[<$1>]>])m4_dnl
m4_define([<bz_entry>], m4_defn([<bz_static_entry>]))m4_dnl
m4_dnl bz_kernel_name(name): a kernel's name with the backend's prefix
m4_dnl (opt_relu_65536), as bzgen writes it in model.m4 and the units, so
m4_dnl that the backends' units link into one binary side by side
m4_define([<bz_kernel_name>], [<bz_fn_prefix[<>]_[<$1>]>])m4_dnl
