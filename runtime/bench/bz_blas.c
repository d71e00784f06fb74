/* Which OpenBLAS kernels run.  OpenBLAS chooses its kernel set when it is
 * loaded, before main(), honouring OPENBLAS_CORETYPE.  These machines set
 * OPENBLAS_CORETYPE=Haswell, which confines an AVX-512 CPU to the AVX2
 * kernels at about 60% of the GEMM rate; a binary that benchmarks itself
 * must not do that silently.  So on an AVX-512 CPU a forced non-AVX-512
 * core is dropped and the program re-executes itself once, unless
 * BZ_KEEP_OPENBLAS_CORETYPE=1 asks to keep it (valgrind cannot decode
 * AVX-512); bz_gemm_kernels() reports what happened. */
#include "bench/bz_bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

char *openblas_get_corename(void);
char *openblas_get_config(void);

#define WAS_VARIABLE "BZ_OPENBLAS_CORETYPE_WAS"

static int is_avx512_core(const char *core)
{
    static const char *const cores[] = {"skylakex", "cooperlake", "sapphirerapids"};
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++)
        if (strcasecmp(core, cores[i]) == 0)
            return 1;
    return 0;
}

static int cpu_has_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

void bz_blas_select_kernels(char **argv)
{
    const char *forced = getenv("OPENBLAS_CORETYPE");
    const char *keep = getenv("BZ_KEEP_OPENBLAS_CORETYPE");
    if (!forced || (keep && *keep && *keep != '0') || is_avx512_core(forced) || !cpu_has_avx512())
        return;
    if (setenv(WAS_VARIABLE, forced, 1) != 0 || unsetenv("OPENBLAS_CORETYPE") != 0)
        return;
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* exec failed: run on with the forced kernels; bz_gemm_kernels says so */
    setenv("OPENBLAS_CORETYPE", forced, 1);
    unsetenv(WAS_VARIABLE);
}

const char *bz_gemm_kernels(void)
{
    static char text[512];
    const char *forced = getenv("OPENBLAS_CORETYPE"), *was = getenv(WAS_VARIABLE);
    const char *core = openblas_get_corename();
    int n = snprintf(text, sizeof text, "OpenBLAS (%s), %s kernels", openblas_get_config(), core);
    if (was)
        snprintf(text + n, sizeof text - (size_t)n,
                 " (OPENBLAS_CORETYPE=%s from the environment dropped: this CPU has AVX-512)",
                 was);
    else if (forced && !is_avx512_core(core) && cpu_has_avx512())
        snprintf(text + n, sizeof text - (size_t)n,
                 " (forced by OPENBLAS_CORETYPE=%s on an AVX-512 CPU: expect about 60%% of "
                 "the GEMM rate)", forced);
    return text;
}
