/* CSV rows of `bench --output` and `profile --output`. */
#ifndef BZ_MEASURE_CSV_H
#define BZ_MEASURE_CSV_H

#include <stdint.h>

#include "bench/bz_bench.h"
#include "model/bz_model.h"
#include "report/bz_results.h"

/* 0 if the file can take our rows (absent, empty or our header), checked
 * before measuring; -1 (bz_last_error) otherwise. */
int bz_bench_csv_check(const char *path);
int bz_profile_csv_check(const char *path);

/* One row per batch size; inference columns empty without with_inference,
 * training columns empty when r->train_runs is 0.  0 or -1. */
int bz_bench_csv_append(const char *path, const bz_model_desc *d, const bz_backend *b,
                        const bz_bench_result *r, int with_inference);
/* One row; peak RSS left empty when not measured (0).  0 or -1. */
int bz_profile_csv_append(const char *path, const bz_model_desc *d, const bz_memory_plan *p,
                          int64_t peak_rss_bytes);

#endif
