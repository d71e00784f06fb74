/* A CSV reader (RFC 4180: quoted fields, doubled quotes, CRLF) that keeps
 * each row's line number for error messages. */
#ifndef SWEEP_CSV_H
#define SWEEP_CSV_H

typedef struct {
    char **fields;
    int n_fields;
    int line;           /* 1-based line where the row starts */
} csv_row;

typedef struct {
    const char *path;
    csv_row header;
    csv_row *rows;
    int n_rows;
} csv_table;

/* Reads path; a malformed file (unterminated quote, a row whose field count
 * differs from the header's) is reported as path:line and exits. */
csv_table csv_read(const char *path);
/* The header's index of a column, or -1. */
int csv_column(const csv_table *t, const char *name);
void csv_free(csv_table *t);

#endif
