/* Seeded, platform-independent random numbers (PCG32). */
#ifndef BZ_RNG_H
#define BZ_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state, inc;
} bz_rng;

void bz_rng_seed(bz_rng *r, uint64_t seed, uint64_t stream);
uint32_t bz_rng_u32(bz_rng *r);
uint32_t bz_rng_below(bz_rng *r, uint32_t bound);      /* unbiased [0, bound) */
double bz_rng_uniform(bz_rng *r);                      /* [0, 1), 53 bits     */
float bz_rng_uniform_range(bz_rng *r, float lo, float hi);
double bz_rng_normal(bz_rng *r);                       /* Box-Muller          */
void bz_rng_shuffle(bz_rng *r, int32_t *v, int64_t n); /* Fisher-Yates        */

#endif
