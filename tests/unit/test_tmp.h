/* Scratch files for the unit tests: each test sets tmpdir (a mkdtemp
 * template) and names its files with in_tmp(). */
#ifndef TEST_TMP_H
#define TEST_TMP_H

#include <stdio.h>

static const char *in_tmp_dir(const char *dir, const char *name)
{
    static char bufs[4][512];
    static int next;
    char *buf = bufs[next++ % 4];
    snprintf(buf, sizeof bufs[0], "%s/%s", dir, name);
    return buf;
}

#define in_tmp(name) in_tmp_dir(tmpdir, (name))

#endif
