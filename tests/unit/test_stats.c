/* needs: util/bz_util.c bench/bz_stats.c */
/* bz_summarise against values computed with NumPy (mean, std ddof=1,
 * median, percentile 90 with linear interpolation). */
#include <math.h>
#include <string.h>

#include "bz_check.h"
#include "bench/bz_stats.h"

static int close_to(double got, double want)
{
    return fabs(got - want) <= 1e-12 * (1.0 + fabs(want));
}

static void check_summary(const char *name, const double *v, int n, double mean,
                          double std, double median, double p90, double min, double max)
{
    bz_summary s = bz_summarise(v, n);
    CHECK(s.n == n && close_to(s.mean, mean) && close_to(s.std, std) &&
          close_to(s.median, median) && close_to(s.p90, p90) && s.min == min && s.max == max,
          name, "n %d mean %.17g std %.17g median %.17g p90 %.17g min %g max %g",
          s.n, s.mean, s.std, s.median, s.p90, s.min, s.max);
}

int main(void)
{
    double even[8] = {3, 1, 4, 1, 5, 9, 2, 6};
    double copy[8];
    memcpy(copy, even, sizeof even);
    check_summary("stats of 8 unsorted values (numpy)", even, 8, 3.875, 2.748376143938713,
                  3.5, 6.8999999999999995, 1, 9);
    CHECK(memcmp(copy, even, sizeof even) == 0, "stats leaves the input unsorted", " ");

    double odd[11] = {110, 20, 30, 40, 50, 60, 70, 80, 90, 100, 10};
    check_summary("stats of 11 values (numpy)", odd, 11, 60, 33.166247903554, 60, 100, 10, 110);

    double one = 2.5;
    check_summary("stats of one value: std 0", &one, 1, 2.5, 0, 2.5, 2.5, 2.5, 2.5);

    bz_summary none = bz_summarise(NULL, 0);
    CHECK(none.n == 0 && none.mean == 0 && none.std == 0, "stats of no values are zero", " ");
    CHECK_EXIT();
}
