/* Diagnostics: every error names file:line:column and stops bzgen before
 * anything is written. */
#ifndef GEN_DIAG_H
#define GEN_DIAG_H

#include <stdarg.h>
#include <stddef.h>

typedef struct {
    const char *file;
    int line, column;   /* 1-based; 0 when unknown */
} src_pos;

/* The program named by diag_fatal ("bzgen" unless a tool that shares
 * these readers sets it). */
extern const char *diag_program;

_Noreturn void diag_error(src_pos at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void diag_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
