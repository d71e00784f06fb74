/* Summary statistics of repeated timings. */
#ifndef BZ_STATS_H
#define BZ_STATS_H

typedef struct {
    double mean, std, median, p90, min, max;   /* std: sample (n-1) */
    int n;
} bz_summary;

/* Sorts a copy; linear interpolation between order statistics like
 * numpy.percentile's default. */
bz_summary bz_summarise(const double *values, int n);

#endif
