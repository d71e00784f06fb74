/* PCG32 (XSH-RR 64/32), as in O'Neill's pcg32_random_r / pcg32_srandom_r,
 * so a seed gives the same stream on every platform. */
#include "util/bz_rng.h"

#include <math.h>

#include "util/bz_util.h"

#define PCG32_MULTIPLIER 6364136223846793005ULL

uint32_t bz_rng_u32(bz_rng *r)
{
    uint64_t old = r->state;
    r->state = old * PCG32_MULTIPLIER + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31u));
}

void bz_rng_seed(bz_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1u) | 1u;
    bz_rng_u32(r);
    r->state += seed;
    bz_rng_u32(r);
}

/* Rejection sampling: values below 2^32 mod bound would make the low
 * residues more likely, so they are redrawn. */
uint32_t bz_rng_below(bz_rng *r, uint32_t bound)
{
    if (bound == 0)
        bz_fatal("bz_rng_below: bound must be positive");
    uint32_t threshold = (0u - bound) % bound;
    for (;;) {
        uint32_t x = bz_rng_u32(r);
        if (x >= threshold)
            return x % bound;
    }
}

/* 27 + 26 random bits over 2^53, as numpy's random_sample does. */
double bz_rng_uniform(bz_rng *r)
{
    uint32_t a = bz_rng_u32(r) >> 5;
    uint32_t b = bz_rng_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

float bz_rng_uniform_range(bz_rng *r, float lo, float hi)
{
    float x = (float)((double)lo + ((double)hi - (double)lo) * bz_rng_uniform(r));
    /* Rounding to float can land on hi; keep the interval half-open. */
    if (hi > lo && x >= hi)
        x = nextafterf(hi, lo);
    return x;
}

double bz_rng_normal(bz_rng *r)
{
    const double two_pi = 6.283185307179586476925286766559;
    double u1 = 1.0 - bz_rng_uniform(r);  /* (0, 1]: log stays finite */
    double u2 = bz_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(two_pi * u2);
}

void bz_rng_shuffle(bz_rng *r, int32_t *v, int64_t n)
{
    if (n > (int64_t)UINT32_MAX)
        bz_fatal("bz_rng_shuffle: %lld elements is too many", (long long)n);
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = bz_rng_below(r, (uint32_t)(i + 1));
        int32_t t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}
