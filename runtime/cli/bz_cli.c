#include "cli/bz_cli.h"

#include <errno.h>
#include <getopt.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "model/bz_runtime_model.h"
#include "util/bz_util.h"

void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);

long bz_opt_long(const char *name, const char *text, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || errno || v < lo || v > hi)
        bz_fatal("--%s wants an integer in [%ld, %ld], got '%s'", name, lo, hi, text);
    return v;
}

double bz_opt_double(const char *name, const char *text, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (*text == '\0' || *end != '\0' || errno || !(v >= lo && v <= hi))
        bz_fatal("--%s wants a number in [%g, %g], got '%s'", name, lo, hi, text);
    return v;
}

const bz_backend *bz_opt_backend(const bz_model_desc *d, const char *text)
{
    const bz_backend *b = bz_backend_by_name(d, text ? text : "optimised");
    if (!b)
        bz_fatal("--backend wants 'reference' or 'optimised', got '%s'", text);
    return b;
}

static int cuda_usable(const bz_model_desc *d)
{
    return d->cuda && !d->cuda->device->unusable();
}

static void apply_precision(const bz_backend *b, const char *precision)
{
    if (!b->device) {
        if (precision && strcmp(precision, "fp32") != 0)
            bz_fatal("--precision %s applies to --device cuda; the CPU backends compute in fp32",
                     precision);
        return;
    }
    if (b->device->set_precision(precision ? precision : "tf32") != 0)
        bz_fatal("%s", bz_last_error());
}

/* build/build_info.c: why a CPU-only binary has no CUDA; absent (NULL) in
 * test programs that link the runtime alone */
extern const char bz_build_cuda_note[] __attribute__((weak));

const bz_backend *bz_opt_device(const bz_model_desc *d, const char *device, const char *backend,
                                const char *precision)
{
    const bz_backend *b;
    if (!device)
        device = backend || !cuda_usable(d) ? "cpu" : "cuda";
    if (strcmp(device, "cpu") == 0) {
        b = bz_opt_backend(d, backend);
    } else if (strcmp(device, "cuda") == 0) {
        if (backend)
            bz_fatal("--backend names a CPU backend; it does not go with --device cuda");
        if (!d->cuda)
            bz_fatal("--device cuda: this binary was built without CUDA: %s",
                     &bz_build_cuda_note != NULL && bz_build_cuda_note[0]
                         ? bz_build_cuda_note : "its CUDA side was not linked");
        const char *why = d->cuda->device->unusable();
        if (why)
            bz_fatal("--device cuda: no usable GPU: %s", why);
        b = d->cuda;
    } else {
        bz_fatal("--device wants 'cpu' or 'cuda', got '%s'", device);
    }
    apply_precision(b, precision);
    return b;
}

void bz_set_threads(int threads)
{
    if (threads <= 0)
        return;
    omp_set_num_threads(threads);
    openblas_set_num_threads(threads);
}

int bz_get_threads(void)
{
    return omp_get_max_threads();
}

void bz_bad_option(const char *command, char **argv)
{
    const char *opt = argv[optind - 1];
    if (optopt && optopt != '?')
        bz_fatal("%s: option '%s' needs a value (see %s --help)", command, opt, command);
    bz_fatal("%s: unknown option '%s' (see %s --help)", command, opt, command);
}
