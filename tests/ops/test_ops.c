/* Every operator kernel: optimised and float reference forward and
 * backward against the double-precision reference, whose backward is
 * checked against central finite differences of L = sum(y * dy) computed
 * in double.  Built with BZ_CUDA_CASES, the CUDA kernels instead. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../bz_check.h"
#include "op_case.h"
#if defined(BZ_CUDA_CASES)
#include "cuda/bz_cuda_model.h"  /* bz_cuda_device: whether a GPU can run the cases */
#endif

enum { FD_SAMPLES = 24 };

static unsigned long long rng_state = 88172645463325252ULL;

static double uniform(double lo, double hi)
{
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return lo + (hi - lo) * (double)(rng_state >> 11) / 9007199254740992.0;
}

static double *random_tensor(long n)
{
    double *v = calloc((size_t)(n ? n : 1), sizeof *v);
    for (long i = 0; i < n; i++)
        v[i] = uniform(-2.5, 2.5);
    return v;
}

/* max |a - b| / max(max |b|, floor): a norm-wise relative error; infinite
 * where either holds a NaN or an infinity (fmax would skip a NaN). */
static double rel_error(const double *a, const double *b, long n)
{
    double diff = 0, scale = 1e-3;
    for (long i = 0; i < n; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i]))
            return INFINITY;
        diff = fmax(diff, fabs(a[i] - b[i]));
        scale = fmax(scale, fabs(b[i]));
    }
    return diff / scale;
}

static double loss(const op_case *c, const double *const *in, const double *dy, double *y)
{
    c->forward(in, y);
    double l = 0;
    for (long i = 0; i < c->output_size; i++)
        l += y[i] * dy[i];
    return l;
}

/* Finite differences at FD_SAMPLES random elements of each input. */
static double finite_difference_error(const op_case *c, double **in, const double *dy,
                                      double *const *grads)
{
    double worst = 0, *y = calloc((size_t)c->output_size, sizeof *y);
    for (int k = 0; k < c->n_inputs; k++) {
        double scale = 1e-2;
        for (long i = 0; i < c->input_size[k]; i++)
            scale = fmax(scale, fabs(grads[k][i]));
        for (int s = 0; s < FD_SAMPLES; s++) {
            long i = (long)uniform(0, (double)c->input_size[k]);
            double saved = in[k][i], h = 1e-5;
            in[k][i] = saved + h;
            double up = loss(c, (const double *const *)in, dy, y);
            in[k][i] = saved - h;
            double down = loss(c, (const double *const *)in, dy, y);
            in[k][i] = saved;
            double e = fabs((up - down) / (2 * h) - grads[k][i]) / scale;
            worst = isnan(e) ? INFINITY : fmax(worst, e);   /* fmax skips a NaN */
        }
    }
    free(y);
    return worst;
}

static double **alloc_grads(const op_case *c, double fill)
{
    double **g = calloc(OP_CASE_MAX_INPUTS, sizeof *g);
    for (int k = 0; k < c->n_inputs; k++) {
        g[k] = calloc((size_t)(c->input_size[k] ? c->input_size[k] : 1), sizeof **g);
        for (long i = 0; i < c->input_size[k]; i++)
            g[k][i] = fill;
    }
    return g;
}

static void free_grads(double **g)
{
    for (int k = 0; k < OP_CASE_MAX_INPUTS; k++)
        free(g[k]);
    free(g);
}

static void check_forward(const op_case *f64, const op_case *other, const char *backend,
                          double **in, double tolerance)
{
    double *want = calloc((size_t)f64->output_size, sizeof *want);
    double *got = calloc((size_t)f64->output_size, sizeof *got);
    f64->forward((const double *const *)in, want);
    other->forward((const double *const *)in, got);
    double err = rel_error(got, want, f64->output_size);
    char name[160];
    snprintf(name, sizeof name, "%s forward: %s vs double reference", f64->name, backend);
    CHECK(err < tolerance, name, "relative error %.3g >= %.3g", err, tolerance);
    free(want), free(got);
}

/* A backend's backward against the double reference, plain and
 * accumulating onto a gradient that already holds ones. */
static void check_backward(const op_case *f64, const op_case *other, const char *backend,
                           double **in, const double *dy, double *const *want)
{
    for (int accumulate = 0; accumulate <= 1; accumulate++) {
        double **got = alloc_grads(f64, accumulate ? 1.0 : 0.0);
        other->backward((const double *const *)in, dy, got, accumulate);
        double err = 0;
        for (int k = 0; k < f64->n_inputs; k++) {
            for (long i = 0; accumulate && i < f64->input_size[k]; i++)
                got[k][i] -= 1.0;
            err = fmax(err, rel_error(got[k], want[k], f64->input_size[k]));
        }
        char name[160];
        snprintf(name, sizeof name, "%s backward%s: %s vs double reference", f64->name,
                 accumulate ? " (accumulating)" : "", backend);
        CHECK(err < 1e-4, name, "relative error %.3g", err);
        free_grads(got);
    }
}

/* The backends under test: the CPU ones, or (built with BZ_CUDA_CASES,
 * tests/t_ops_cuda.sh) the CUDA one, each against the double reference. */
typedef struct {
    const char *label;
    const op_case *const *cases;
} backend_cases;

#if defined(BZ_CUDA_CASES)
static const backend_cases backends[] = {{"CUDA", cuda_cases}};
enum { CHECK_FINITE_DIFFERENCES = 0 };  /* the CPU run checks the reference */
#else
/* opt_stream_cases: the optimised kernels built with BZ_STREAM_FLOATS 0,
 * so that every output takes the streaming-store path large ones take */
static const backend_cases backends[] = {{"float reference", ref_cases},
                                         {"optimised", opt_cases},
                                         {"optimised, streaming stores", opt_stream_cases}};
enum { CHECK_FINITE_DIFFERENCES = 1 };
#endif
enum { N_BACKENDS = sizeof backends / sizeof backends[0] };

static void check_case(int n)
{
    /* each case its own inputs, whichever shard runs it */
    rng_state = 88172645463325252ULL ^ ((unsigned long long)(n + 1) * 0x9E3779B97F4A7C15ULL);
    const op_case *f64 = f64_cases[n];
    double *in[OP_CASE_MAX_INPUTS] = {0};
    for (int k = 0; k < f64->n_inputs; k++)
        in[k] = random_tensor(f64->input_size[k]);
    for (int b = 0; b < N_BACKENDS; b++)
        check_forward(f64, backends[b].cases[n], backends[b].label, in, 1e-5);
    if (f64->has_backward) {
        double *dy = random_tensor(f64->output_size);
        double **grads = alloc_grads(f64, 0.0);
        f64->backward((const double *const *)in, dy, grads, 0);
        if (CHECK_FINITE_DIFFERENCES) {
            double err = finite_difference_error(f64, in, dy, grads);
            char name[160];
            snprintf(name, sizeof name, "%s backward: double reference vs finite differences",
                     f64->name);
            CHECK(err < 1e-6, name, "relative error %.3g", err);
        }
        for (int b = 0; b < N_BACKENDS; b++)
            check_backward(f64, backends[b].cases[n], backends[b].label, in, dy, grads);
        free_grads(grads);
        free(dy);
    }
    for (int k = 0; k < OP_CASE_MAX_INPUTS; k++)
        free(in[k]);
}

/* test_ops [SHARD/COUNT]: the cases n with n % COUNT == SHARD (default 0/1,
 * all), so that t_ops.sh can run the table on every core */
static void parse_shard(int argc, char **argv, int *shard, int *count)
{
    *shard = 0, *count = 1;
    if (argc > 2 || (argc == 2 && (sscanf(argv[1], "%d/%d", shard, count) != 2 || *count < 1 ||
                                    *shard < 0 || *shard >= *count))) {
        fprintf(stderr, "usage: %s [SHARD/COUNT]  (0 <= SHARD < COUNT)\n", argv[0]);
        exit(2);
    }
}

int main(int argc, char **argv)
{
    int shard, count;
    parse_shard(argc, argv, &shard, &count);
#if defined(BZ_CUDA_CASES)
    const char *unusable = bz_cuda_device.unusable();
    if (unusable) {
        printf("ok - CUDA operator kernels against the double reference # SKIP no usable GPU: "
               "%s\n", unusable);
        return 0;
    }
#endif
    int n = 0;
    for (; f64_cases[n]; n++)
        if (n % count == shard)
            check_case(n);
    if (shard == 0)
        CHECK(n >= 20, "operator test table is complete", "only %d cases", n);
    CHECK_EXIT();
}
