/* Child processes: a program run to its end, and waiting for one. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "child.h"
#include "../gen/diag.h"

int wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            diag_fatal("waitpid: %s", strerror(errno));
    return status;
}

int run_program(const char *dir, char *const *argv, const char *stderr_file)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        diag_fatal("fork: %s", strerror(errno));
    if (pid == 0) {
        if ((dir && chdir(dir) != 0) || (stderr_file && !freopen(stderr_file, "a", stderr)))
            _exit(127);
        execvp(argv[0], argv);
        fprintf(stderr, "bzsweep: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int status = wait_child(pid);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}
