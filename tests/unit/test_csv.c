/* needs: util/bz_util.c io/bz_csv.c */
/* Results CSV: header handling, RFC 4180 quoting, refusal of a foreign
 * header, and concurrent appends from many processes. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bz_check.h"
#include "test_tmp.h"
#include "io/bz_csv.h"
#include "util/bz_util.h"

#define WORKERS 8
#define ROWS_PER_WORKER 200

static char tmpdir[] = "/tmp/bz_test_csv_XXXXXX";
static const char *const header3[3] = {"a", "b", "c"};


static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    rewind(fp);
    char *b = bz_xmalloc((size_t)n + 1);
    b[fread(b, 1, (size_t)n, fp)] = '\0';
    fclose(fp);
    return b;
}

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "wb");
    if (!fp || fputs(text, fp) < 0 || fclose(fp) != 0)
        bz_fatal("cannot write %s", path);
}

static int file_is(const char *path, const char *expect)
{
    char *got = slurp(path);
    int same = got && strcmp(got, expect) == 0;
    if (!same)
        printf("# %s holds:\n# %s\n", path, got ? got : "(missing)");
    free(got);
    return same;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void test_create_and_quote(void)
{
    const char *path = in_tmp("new/dir/results.csv");
    const char *row1[3] = {"1", "x,y", "say \"hi\""};
    const char *row2[3] = {"two\nlines", "", NULL};
    int rc = bz_csv_append(path, 3, header3, row1);
    CHECK(rc == 0, "csv append creates directories and file", "%s", bz_last_error());
    rc = bz_csv_append(path, 3, header3, row2);
    CHECK(rc == 0 && file_is(path, "a,b,c\n1,\"x,y\",\"say \"\"hi\"\"\"\n\"two\nlines\",,\n"),
          "csv header once, RFC 4180 quoting of commas, quotes, newlines", "%s",
          bz_last_error());
}

static void test_existing_files(void)
{
    const char *row[3] = {"1", "2", "3"};
    const char *path = in_tmp("empty.csv");
    write_text(path, "");
    CHECK(bz_csv_append(path, 3, header3, row) == 0 && file_is(path, "a,b,c\n1,2,3\n"),
          "csv empty existing file gets the header", "%s", bz_last_error());

    path = in_tmp("crlf.csv");
    write_text(path, "a,b,c\r\n0,0,0\r\n");
    CHECK(bz_csv_append(path, 3, header3, row) == 0 &&
          file_is(path, "a,b,c\r\n0,0,0\r\n1,2,3\n"),
          "csv header with CRLF accepted", "%s", bz_last_error());

    path = in_tmp("nonl.csv");
    write_text(path, "a,b,c\n0,0,0");
    CHECK(bz_csv_append(path, 3, header3, row) == 0 && file_is(path, "a,b,c\n0,0,0\n1,2,3\n"),
          "csv last line without newline is not glued to the new row", "%s", bz_last_error());

    path = in_tmp("headonly.csv");
    write_text(path, "a,b,c");
    CHECK(bz_csv_append(path, 3, header3, row) == 0 && file_is(path, "a,b,c\n1,2,3\n"),
          "csv header without newline accepted", "%s", bz_last_error());
}

static void check_refused(const char *name, const char *content, const char *expect)
{
    const char *row[3] = {"1", "2", "3"};
    const char *path = in_tmp("foreign.csv");
    write_text(path, content);
    int rc = bz_csv_append(path, 3, header3, row);
    CHECK(rc == -1 && strstr(bz_last_error(), path) && strstr(bz_last_error(), expect) &&
          file_is(path, content), name, "rc %d: %s", rc, bz_last_error());
}

static void test_foreign_headers(void)
{
    check_refused("csv refuses a different column name", "a,x,c\n1,2,3\n",
                  "'x' in column 2, expected 'b'");
    check_refused("csv refuses fewer columns", "a,b\n1,2\n", "has 2 columns, expected 3");
    check_refused("csv refuses more columns", "a,b,c,d\n1,2,3,4\n", "more than the 3");
    check_refused("csv refuses a binary file", "\x7f" "ELF\x02\x01\x01", "column 1");
    const char *row[3] = {"1", "2", "3"};
    CHECK(bz_csv_append(tmpdir, 3, header3, row) == -1 && strstr(bz_last_error(), tmpdir),
          "csv refuses a directory", "%s", bz_last_error());
    CHECK(bz_csv_append(in_tmp("zero.csv"), 0, header3, row) == -1,
          "csv refuses zero columns", "%s", bz_last_error());
    write_text(in_tmp("file"), "");
    CHECK(bz_csv_append(in_tmp("file/x.csv"), 3, header3, row) == -1 &&
          strstr(bz_last_error(), "file"), "csv parent path is a file", "%s", bz_last_error());
}

/* Each worker appends rows "w,i,<long payload with , and \">" so that any
 * interleaving of two writes would break the line structure. */
static void append_rows(const char *path, int worker)
{
    char w[16], i_text[16], payload[1200];
    const char *fields[3] = {w, i_text, payload};
    snprintf(w, sizeof w, "%d", worker);
    for (int i = 0; i < ROWS_PER_WORKER; i++) {
        snprintf(i_text, sizeof i_text, "%d", i);
        memset(payload, 'a' + worker, 1000);
        snprintf(payload + 1000, 200, ",\"%d\"", i);
        if (bz_csv_append(path, 3, header3, fields) != 0) {
            fprintf(stderr, "worker %d: %s\n", worker, bz_last_error());
            _exit(1);
        }
    }
    _exit(0);
}

/* Parses one row written by append_rows; returns worker*ROWS + i or -1. */
static int parse_row(const char *line, size_t len)
{
    int w, i, n = 0;
    if (sscanf(line, "%d,%d,%n", &w, &i, &n) != 2 || w < 0 || w >= WORKERS ||
        i < 0 || i >= ROWS_PER_WORKER)
        return -1;
    char expect[1300] = "\"";
    memset(expect + 1, 'a' + w, 1000);
    snprintf(expect + 1001, sizeof expect - 1001, ",\"\"%d\"\"\"", i);
    size_t want = strlen(expect);
    if (len != (size_t)n + want || memcmp(line + n, expect, want) != 0)
        return -1;
    return w * ROWS_PER_WORKER + i;
}

static void test_concurrent_appends(void)
{
    const char *path = in_tmp("concurrent/results.csv");
    pid_t pids[WORKERS];
    for (int w = 0; w < WORKERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0)
            append_rows(path, w);
    }
    int workers_ok = 1, status;
    for (int w = 0; w < WORKERS; w++)
        workers_ok &= waitpid(pids[w], &status, 0) == pids[w] && WIFEXITED(status) &&
                      WEXITSTATUS(status) == 0;
    CHECK(workers_ok, "csv 8 concurrent appenders all succeed", " ");

    char *text = slurp(path);
    static char seen[WORKERS * ROWS_PER_WORKER];
    int lines = 0, good = 0, headers = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        int id = lines == 0 ? -1 : parse_row(line, len);
        headers += lines == 0 && len == 5 && memcmp(line, "a,b,c", 5) == 0;
        if (id >= 0 && !seen[id]++)
            good++;
        lines++;
        line = nl ? nl + 1 : line + len;
    }
    CHECK(headers == 1 && lines == 1 + WORKERS * ROWS_PER_WORKER &&
          good == WORKERS * ROWS_PER_WORKER,
          "csv concurrent appends: 1 header + 1600 distinct well-formed rows",
          "%d header, %d lines, %d good rows", headers, lines, good);
    free(text);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        bz_fatal("mkdtemp failed");
    test_create_and_quote();
    test_existing_files();
    test_foreign_headers();
    test_concurrent_appends();
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    CHECK_EXIT();
}
