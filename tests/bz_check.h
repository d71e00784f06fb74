/* Minimal TAP-style checks for the C unit tests: each CHECK prints
 * "ok - name" or "not ok - name: detail"; tests/run.sh counts them. */
#ifndef BZ_CHECK_H
#define BZ_CHECK_H

#include <stdio.h>

static int bz_check_failures;

#define CHECK(cond, name, ...)                                         \
    do {                                                               \
        if (cond) {                                                    \
            printf("ok - %s\n", (name));                               \
        } else {                                                       \
            printf("not ok - %s: ", (name));                           \
            printf(__VA_ARGS__);                                       \
            printf("\n");                                              \
            bz_check_failures++;                                       \
        }                                                              \
        fflush(stdout);                                                \
    } while (0)

#define CHECK_EXIT() return bz_check_failures ? 1 : 0

#endif
