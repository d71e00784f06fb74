/* Results CSV: safe concurrent appends. */
#ifndef BZ_CSV_H
#define BZ_CSV_H

/* Appends one row to path (creating it and its directory, and writing the
 * header first, when the file is new or empty).  The whole row is written
 * with one write(2) under flock(LOCK_EX), so concurrent appenders never
 * interleave or lose rows.  Fields are quoted per RFC 4180 when needed.
 * Returns -1 (bz_last_error) on failure, or if an existing file's header
 * differs from `header`. */
int bz_csv_append(const char *path, int ncols, const char *const *header,
                  const char *const *fields);

/* 0 if path is absent or empty or starts with exactly this header; else
 * -1 (bz_last_error names the first differing column).  Called before a
 * long measurement, so that it does not end on an incompatible file. */
int bz_csv_check_header(const char *path, int ncols, const char *const *header);

#endif
