/* One operator test case as every backend's test unit exposes it: the
 * kernels under test wrapped behind a double-precision interface, so one
 * harness can compare backends and finite differences. */
#ifndef OP_CASE_H
#define OP_CASE_H

enum { OP_CASE_MAX_INPUTS = 4 };

typedef struct {
    const char *name;
    int batch;
    int n_inputs;                       /* differentiable inputs         */
    long input_size[OP_CASE_MAX_INPUTS];
    long output_size;
    int has_backward;
    void (*forward)(const double *const *inputs, double *output);
    /* grads[i] (+)= dL/d input i for dL/dy = dy; accumulate keeps what
     * grads held, as the generated backward passes do for fan-out. */
    void (*backward)(const double *const *inputs, const double *dy, double *const *grads,
                     int accumulate);
} op_case;

extern const op_case *const f64_cases[], *const ref_cases[], *const opt_cases[],
    *const opt_stream_cases[];
/* tests/ops/ops_cuda.cu.m4 */
extern const op_case *const cuda_cases[];

#endif
