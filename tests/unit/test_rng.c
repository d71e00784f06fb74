/* needs: util/bz_util.c util/bz_rng.c */
/* PCG32 against the reference implementation's published output, and
 * the ranges and rough distributions of the derived draws. */
#include <math.h>
#include <string.h>

#include "bz_check.h"
#include "util/bz_rng.h"

static void test_reference_stream(void)
{
    /* pcg32-demo: pcg32_srandom_r(&rng, 42u, 54u), first six outputs */
    const uint32_t expect[6] = {0xa15c02b7, 0x7b47f409, 0xba1d3330,
                                0x83d2f293, 0xbfa4784b, 0xcbed606e};
    bz_rng r;
    bz_rng_seed(&r, 42, 54);
    int same = 1;
    for (int i = 0; i < 6; i++)
        same &= bz_rng_u32(&r) == expect[i];
    CHECK(same, "rng matches the PCG32 reference stream (seed 42, stream 54)", " ");
}

static void test_determinism(void)
{
    bz_rng a, b, c;
    bz_rng_seed(&a, 1234, 1);
    bz_rng_seed(&b, 1234, 1);
    bz_rng_seed(&c, 1234, 2);
    int same = 1, differs = 0;
    for (int i = 0; i < 1000; i++) {
        uint32_t x = bz_rng_u32(&a);
        same &= x == bz_rng_u32(&b);
        differs += x != bz_rng_u32(&c);
    }
    CHECK(same, "rng same seed and stream give the same numbers", " ");
    CHECK(differs > 990, "rng another stream gives other numbers", "%d differ", differs);
}

static void test_below(void)
{
    bz_rng r;
    bz_rng_seed(&r, 7, 0);
    int counts[7] = {0}, in_range = 1;
    for (int i = 0; i < 70000; i++) {
        uint32_t x = bz_rng_below(&r, 7);
        in_range &= x < 7;
        if (x < 7)
            counts[x]++;
    }
    int balanced = 1;
    for (int k = 0; k < 7; k++)
        balanced &= counts[k] > 9500 && counts[k] < 10500;
    CHECK(in_range, "rng below(7) stays in [0, 7)", " ");
    CHECK(balanced, "rng below(7) is roughly uniform", "%d %d %d %d %d %d %d", counts[0],
          counts[1], counts[2], counts[3], counts[4], counts[5], counts[6]);
    int edge = bz_rng_below(&r, 1) == 0;
    for (int i = 0; i < 1000; i++)
        edge &= bz_rng_below(&r, 0x80000001u) < 0x80000001u &&
                bz_rng_below(&r, UINT32_MAX) < UINT32_MAX;
    CHECK(edge, "rng below(1), below(2^31 + 1), below(2^32 - 1) in range", " ");
}

static void test_uniform(void)
{
    bz_rng r;
    bz_rng_seed(&r, 99, 3);
    double sum = 0;
    int in_unit = 1, in_range = 1, below_hi = 1;
    for (int i = 0; i < 100000; i++) {
        double u = bz_rng_uniform(&r);
        float f = bz_rng_uniform_range(&r, -2.0f, 3.0f);
        float tiny = bz_rng_uniform_range(&r, 1.0f, nextafterf(1.0f, 2.0f));
        in_unit &= u >= 0.0 && u < 1.0;
        in_range &= f >= -2.0f && f < 3.0f;
        below_hi &= tiny == 1.0f;
        sum += u;
    }
    CHECK(in_unit, "rng uniform in [0, 1)", " ");
    CHECK(fabs(sum / 100000 - 0.5) < 0.01, "rng uniform mean near 0.5", "%g", sum / 100000);
    CHECK(in_range, "rng uniform_range(-2, 3) in [-2, 3)", " ");
    CHECK(below_hi, "rng uniform_range never returns hi", " ");
}

static void test_normal_and_shuffle(void)
{
    bz_rng r;
    bz_rng_seed(&r, 5, 5);
    double sum = 0, sum_sq = 0;
    int finite = 1;
    for (int i = 0; i < 100000; i++) {
        double x = bz_rng_normal(&r);
        finite &= isfinite(x);
        sum += x;
        sum_sq += x * x;
    }
    double mean = sum / 100000, var = sum_sq / 100000 - mean * mean;
    CHECK(finite && fabs(mean) < 0.02 && fabs(var - 1) < 0.03, "rng normal: mean 0, variance 1",
          "mean %g var %g", mean, var);

    int32_t v[100], w[100], seen[100] = {0};
    for (int i = 0; i < 100; i++)
        v[i] = w[i] = i;
    bz_rng a, b;
    bz_rng_seed(&a, 11, 0);
    bz_rng_seed(&b, 11, 0);
    bz_rng_shuffle(&a, v, 100);
    bz_rng_shuffle(&b, w, 100);
    int perm = 1, moved = 0;
    for (int i = 0; i < 100; i++) {
        perm &= v[i] >= 0 && v[i] < 100 && !seen[v[i]]++;
        moved += v[i] != i;
    }
    CHECK(perm && moved > 80, "rng shuffle is a permutation", "%d moved", moved);
    CHECK(memcmp(v, w, sizeof v) == 0, "rng shuffle is deterministic", " ");
    bz_rng_shuffle(&a, v, 0);
    bz_rng_shuffle(&a, v, 1);
    CHECK(1, "rng shuffle of 0 and 1 elements", " ");
}

int main(void)
{
    test_reference_stream();
    test_determinism();
    test_below();
    test_uniform();
    test_normal_and_shuffle();
    CHECK_EXIT();
}
