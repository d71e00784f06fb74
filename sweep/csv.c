#include "csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gen/diag.h"

typedef struct {
    FILE *fp;
    const char *path;
    int line;
} reader;

static void push_char(char **buf, size_t *len, size_t *cap, int c)
{
    if (*len + 2 > *cap)
        *buf = xrealloc(*buf, *cap = *cap ? *cap * 2 : 64);
    (*buf)[(*len)++] = (char)c;
    (*buf)[*len] = '\0';
}

static void push_field(csv_row *row, char *text)
{
    row->fields = xrealloc(row->fields, (size_t)(row->n_fields + 1) * sizeof *row->fields);
    row->fields[row->n_fields++] = text ? text : xstrdup("");
}

/* One record; returns 0 at the end of the file. */
static int read_row(reader *r, csv_row *row)
{
    memset(row, 0, sizeof *row);
    row->line = r->line;
    int c = fgetc(r->fp);
    if (c == EOF)
        return 0;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int quoted = 0, was_quoted = 0;
    for (;; c = fgetc(r->fp)) {
        if (c == EOF && quoted)
            diag_error((src_pos){r->path, row->line, 0}, "unterminated quoted field");
        if (quoted) {
            if (c == '"') {
                int next = fgetc(r->fp);
                if (next == '"') {
                    push_char(&buf, &len, &cap, '"');
                    continue;
                }
                quoted = 0;
                ungetc(next, r->fp);
                continue;
            }
            r->line += c == '\n';
            push_char(&buf, &len, &cap, c);
            continue;
        }
        if (c == '"' && len == 0 && !was_quoted) {
            quoted = was_quoted = 1;
            continue;
        }
        if (c == ',' || c == '\n' || c == EOF || c == '\r') {
            if (c == '\r' && (c = fgetc(r->fp)) != '\n')
                diag_error((src_pos){r->path, r->line, 0}, "a carriage return inside a row");
            push_field(row, buf);
            buf = NULL;
            len = cap = 0;
            was_quoted = 0;
            if (c != ',') {
                r->line++;
                return 1;
            }
            continue;
        }
        if (was_quoted)
            diag_error((src_pos){r->path, r->line, 0}, "text after a closing quote");
        push_char(&buf, &len, &cap, c);
    }
}

csv_table csv_read(const char *path)
{
    csv_table t = {.path = path};
    reader r = {fopen(path, "rb"), path, 1};
    if (!r.fp)
        diag_error((src_pos){path, 0, 0}, "cannot open: %s", strerror(errno));
    if (!read_row(&r, &t.header))
        diag_error((src_pos){path, 0, 0}, "empty file: no header");
    for (csv_row row; read_row(&r, &row);) {
        if (row.n_fields == 1 && !row.fields[0][0]) {
            free(row.fields[0]);
            free(row.fields);
            continue;   /* a blank line */
        }
        if (row.n_fields != t.header.n_fields)
            diag_error((src_pos){path, row.line, 0}, "%d fields, the header has %d",
                       row.n_fields, t.header.n_fields);
        t.rows = xrealloc(t.rows, (size_t)(t.n_rows + 1) * sizeof *t.rows);
        t.rows[t.n_rows++] = row;
    }
    fclose(r.fp);
    return t;
}

int csv_column(const csv_table *t, const char *name)
{
    for (int i = 0; i < t->header.n_fields; i++)
        if (strcmp(t->header.fields[i], name) == 0)
            return i;
    return -1;
}

static void free_row(csv_row *row)
{
    for (int i = 0; i < row->n_fields; i++)
        free(row->fields[i]);
    free(row->fields);
}

void csv_free(csv_table *t)
{
    free_row(&t->header);
    for (int i = 0; i < t->n_rows; i++)
        free_row(&t->rows[i]);
    free(t->rows);
}
