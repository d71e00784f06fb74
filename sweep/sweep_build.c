/* The binaries of a sweep, built once by make before anything runs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "sweep.h"

void sweep_build(const sweep *s, int jobs, char *const *make_args)
{
    int n = 0, n_make = 0;
    while (make_args && make_args[n_make])
        n_make++;
    char **argv = xcalloc((size_t)(s->n_runs + n_make) + 8, sizeof *argv);
    argv[n++] = "make";
    argv[n++] = "--no-print-directory";
    argv[n++] = xasprintf("-j%d", jobs);
    size_t len = 16;
    for (int i = 0; i < s->n_runs; i++)
        len += strlen(s->runs[i].variant) + 1;
    char *variants = xcalloc(1, len);
    strcpy(variants, "VARIANTS=");
    argv[n++] = variants;
    for (int i = 0; i < n_make; i++)
        argv[n++] = make_args[i];
    int first_binary = n;
    for (int i = 0; i < s->n_runs; i++) {
        const char *v = s->runs[i].variant;
        int seen = 0;
        for (int j = 0; j < i; j++)
            seen |= strcmp(s->runs[j].variant, v) == 0;
        if (seen)
            continue;
        strcat(variants, i ? " " : "");
        strcat(variants, v);
        argv[n++] = xasprintf("build/%s/%s", v, v);
    }
    int n_binaries = n - first_binary;
    printf("sweep %s: building %d binar%s (make -j%d)\n", s->name, n_binaries,
           n_binaries == 1 ? "y" : "ies", jobs);
    fflush(NULL);
    /* a make that runs us must not hand its jobserver or flags down */
    unsetenv("MAKEFLAGS");
    unsetenv("MFLAGS");
    unsetenv("MAKELEVEL");
    if (run_program(NULL, argv, NULL) != 0)
        diag_fatal("building the sweep's binaries failed (make's messages above)");
}
