/* Results CSV: safe concurrent appends (one write(2) per row under flock). */
#include "io/bz_csv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/bz_util.h"

typedef struct {
    char *text;
    size_t len, cap;
} text_buf;

static void buf_put(text_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        while (b->len + n + 1 > b->cap)
            b->cap = b->cap ? 2 * b->cap : 256;
        b->text = realloc(b->text, b->cap);
        if (!b->text)
            bz_fatal("out of memory");
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

/* RFC 4180: quote a field holding a comma, quote or line break, doubling
 * the quotes inside it. */
static void put_field(text_buf *b, const char *field)
{
    if (!field)
        field = "";
    if (!field[strcspn(field, ",\"\r\n")]) {
        buf_put(b, field, strlen(field));
        return;
    }
    buf_put(b, "\"", 1);
    for (const char *p = field; *p; p++) {
        if (*p == '"')
            buf_put(b, "\"\"", 2);
        else
            buf_put(b, p, 1);
    }
    buf_put(b, "\"", 1);
}

static void put_line(text_buf *b, int ncols, const char *const *fields)
{
    for (int i = 0; i < ncols; i++) {
        if (i > 0)
            buf_put(b, ",", 1);
        put_field(b, fields[i]);
    }
    buf_put(b, "\n", 1);
}

static int make_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char *dir = strndup(path, (size_t)(slash - path));
    if (!dir)
        bz_fatal("out of memory");
    int rc = bz_mkdir_p(dir);
    free(dir);
    return rc;
}

/* Names the first column where the file's header line `got` (
 * NUL-terminated, possibly cut short) differs from the expected names. */
static void report_header_mismatch(const char *path, const char *got, int ncols,
                                   const char *const *names)
{
    const char *end = got + strcspn(got, "\r\n"), *p = got;
    for (int col = 0; col < ncols; col++, p++) {
        if (p > end) {
            bz_error("%s: existing header has %d columns, expected %d; "
                     "refusing to append", path, col, ncols);
            return;
        }
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *field_end = comma ? comma : end;
        const char *want = names[col] ? names[col] : "";
        if (strlen(want) != (size_t)(field_end - p) ||
            memcmp(want, p, (size_t)(field_end - p)) != 0) {
            bz_error("%s: existing header has '%.*s' in column %d, expected '%s'; "
                     "refusing to append", path, (int)(field_end - p), p, col + 1, want);
            return;
        }
        p = field_end;
    }
    bz_error("%s: existing header has more than the %d expected columns; "
             "refusing to append", path, ncols);
}

/* Checks that the file starts with exactly `header` (a line ending in
 * "\n"; "\r\n" in the file is accepted too). */
static int check_header(int fd, const char *path, const text_buf *header,
                        int ncols, const char *const *names)
{
    size_t want = header->len - 1;  /* without its '\n' */
    char *got = bz_xmalloc(want + 3);
    ssize_t n = pread(fd, got, want + 2, 0);
    got[n > 0 ? n : 0] = '\0';
    int ok = n >= (ssize_t)want && memcmp(got, header->text, want) == 0 &&
             (n == (ssize_t)want || got[want] == '\n' ||
              (n == (ssize_t)want + 2 && got[want] == '\r' && got[want + 1] == '\n'));
    if (n < 0) {
        bz_error("%s: cannot read header: %s", path, strerror(errno));
    } else if (!ok) {
        report_header_mismatch(path, got, ncols, names);
    }
    free(got);
    return ok ? 0 : -1;
}

/* A row after a last line without its '\n' (another tool's crash) would
 * be glued onto it, so the row then starts with a line break. */
static int ends_with_newline(int fd, off_t size)
{
    char last = '\n';
    return size == 0 || (pread(fd, &last, 1, size - 1) == 1 && last == '\n');
}

/* Writes `text` with a single write(2); a short write is undone so no
 * partial row stays in the file. */
static int write_all_or_nothing(int fd, const char *path, const text_buf *text,
                                off_t old_size)
{
    ssize_t n;
    do {
        n = write(fd, text->text, text->len);
    } while (n < 0 && errno == EINTR);
    if (n == (ssize_t)text->len)
        return 0;
    int err = n < 0 ? errno : ENOSPC;
    if (n > 0 && ftruncate(fd, old_size) != 0)
        err = errno;
    bz_error("%s: cannot append row: %s", path, strerror(err));
    return -1;
}

static int lock_exclusive(int fd, const char *path)
{
    int rc;
    do {
        rc = flock(fd, LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0)
        bz_error("%s: cannot lock: %s", path, strerror(errno));
    return rc;
}

static int append_locked(int fd, const char *path, int ncols,
                         const char *const *header, const char *const *fields)
{
    struct stat st;
    text_buf head = {0}, out = {0};
    int rc = -1;
    put_line(&head, ncols, header);
    if (fstat(fd, &st) != 0) {
        bz_error("%s: cannot stat: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        bz_error("%s: not a regular file", path);
    } else if (st.st_size == 0 || check_header(fd, path, &head, ncols, header) == 0) {
        if (st.st_size == 0)
            buf_put(&out, head.text, head.len);
        else if (!ends_with_newline(fd, st.st_size))
            buf_put(&out, "\n", 1);
        put_line(&out, ncols, fields);
        rc = write_all_or_nothing(fd, path, &out, st.st_size);
    }
    free(head.text);
    free(out.text);
    return rc;
}

int bz_csv_append(const char *path, int ncols, const char *const *header,
                  const char *const *fields)
{
    if (ncols <= 0) {
        bz_error("%s: a CSV row needs at least one column", path);
        return -1;
    }
    if (make_parent_dir(path) != 0)
        return -1;
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        bz_error("%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    int rc = lock_exclusive(fd, path);
    if (rc == 0)
        rc = append_locked(fd, path, ncols, header, fields);
    close(fd);  /* releases the lock */
    return rc;
}

int bz_csv_check_header(const char *path, int ncols, const char *const *header)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;   /* bz_csv_append creates it, or says why it cannot */
    struct stat st;
    text_buf head = {0};
    int rc = 0;
    put_line(&head, ncols, header);
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        bz_error("%s: not a regular file", path);
        rc = -1;
    } else if (st.st_size > 0) {
        rc = check_header(fd, path, &head, ncols, header);
    }
    free(head.text);
    close(fd);
    return rc;
}
