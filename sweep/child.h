/* Child processes of bzsweep. */
#ifndef SWEEP_CHILD_H
#define SWEEP_CHILD_H

#include <sys/types.h>

/* waitpid until it answers; returns the wait status. */
int wait_child(pid_t pid);
/* Runs argv (PATH searched) in dir (NULL: here), stderr appended to
 * stderr_file (NULL: ours); 0 if it exits 0, else -1. */
int run_program(const char *dir, char *const *argv, const char *stderr_file);

#endif
