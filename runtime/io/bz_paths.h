/* Output paths, checked before a long run rather than after it. */
#ifndef BZ_PATHS_H
#define BZ_PATHS_H

/* 1 if a and b name one file (existing: by device and inode; otherwise by
 * their absolute form). */
int bz_same_path(const char *a, const char *b);
/* 1 if path lies below dir (both in their absolute form). */
int bz_path_inside(const char *path, const char *dir);
/* 0 if path is a regular file we may write, or could be created (with its
 * missing directories); else -1 with bz_last_error naming `what`. */
int bz_check_writable_file(const char *path, const char *what);
/* 0 if dir is a directory we may write or could be created; else -1. */
int bz_check_output_dir(const char *dir, const char *what);

/* Removes a run's own temporary files in dir (best.safetensors, metrics.csv
 * or last_state.safetensors + .tmp.PID, bz_atomic_open's) whose writer is
 * dead: what a kill -9 left half-written.  Returns how many. */
int bz_remove_stale_temporaries(const char *dir);

#endif
