/* What every generated C source includes: a model's (build/<exp>/model_*.c)
 * and a kernel unit's (build/kernels/<macro>/<name>.{ref,opt}.c).  make
 * precompiles it for the kernel units (build/pch/), so it must stay the
 * first thing they include. */
#ifndef BZ_SOURCE_H
#define BZ_SOURCE_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(_OPENMP)
#include <omp.h>
#endif
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "bz_kernels.h"
#include "bz_model.h"
#include "util/bz_util.h"

/* the generated kernels' scalar (the operator tests build them with double) */
typedef float real_t;

#endif
