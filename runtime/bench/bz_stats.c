/* Summary statistics of repeated timings. */
#include "bench/bz_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/bz_util.h"

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy.percentile's default ("linear"): position q/100 * (n-1) between
 * the sorted values. */
static double percentile_sorted(const double *sorted, int n, double q)
{
    double pos = q / 100.0 * (double)(n - 1);
    int lo = (int)floor(pos);
    if (lo >= n - 1)
        return sorted[n - 1];
    double frac = pos - (double)lo;
    return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

static double sample_std(const double *v, int n, double mean)
{
    if (n < 2)
        return 0.0;
    double sum_sq = 0.0;
    for (int i = 0; i < n; i++)
        sum_sq += (v[i] - mean) * (v[i] - mean);
    return sqrt(sum_sq / (double)(n - 1));
}

/* n <= 0 gives all zeros; a single value has std 0. */
bz_summary bz_summarise(const double *values, int n)
{
    bz_summary s;
    memset(&s, 0, sizeof s);
    if (n <= 0)
        return s;
    double *sorted = bz_xmalloc((size_t)n * sizeof *sorted);
    memcpy(sorted, values, (size_t)n * sizeof *sorted);
    qsort(sorted, (size_t)n, sizeof *sorted, compare_doubles);
    double sum = 0.0;
    for (int i = 0; i < n; i++)
        sum += sorted[i];
    s.n = n;
    s.mean = sum / (double)n;
    s.std = sample_std(sorted, n, s.mean);
    s.median = percentile_sorted(sorted, n, 50.0);
    s.p90 = percentile_sorted(sorted, n, 90.0);
    s.min = sorted[0];
    s.max = sorted[n - 1];
    free(sorted);
    return s;
}
