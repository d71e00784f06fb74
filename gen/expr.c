#include "expr.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *text, *p;
    src_pos at;
    expr_lookup_fn lookup;
    void *ctx;
    int depth;
} parser;

enum { MAX_NESTING = 64 };

static double parse_ternary(parser *ps);

_Noreturn static void fail(parser *ps, const char *msg, const char *detail)
{
    src_pos here = ps->at;
    here.column += (int)(ps->p - ps->text);
    /* a long expression is quoted by its first 60 characters: the column
     * says where the error is */
    int n = (int)strlen(ps->text);
    diag_error(here, "in expression '%.*s%s': %s%s", n > 60 ? 57 : n, ps->text, n > 60 ? "..." : "",
               msg, detail);
}

static void skip_space(parser *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t')
        ps->p++;
}

static int accept(parser *ps, const char *tok)
{
    skip_space(ps);
    size_t n = strlen(tok);
    if (strncmp(ps->p, tok, n) != 0)
        return 0;
    /* "/" must not swallow the first half of "//", "<" not "<=", ... */
    if (n == 1 && (tok[0] == '/' || tok[0] == '<' || tok[0] == '>' || tok[0] == '!') &&
        (ps->p[1] == '/' || ps->p[1] == '='))
        return 0;
    ps->p += n;
    return 1;
}

static void expect(parser *ps, const char *tok)
{
    if (!accept(ps, tok))
        fail(ps, "expected ", tok);
}

double make_divisible(double v, double divisor)
{
    double new_v = floor(floor(v + divisor / 2) / divisor) * divisor;
    if (new_v < divisor)
        new_v = divisor;
    if (new_v < 0.9 * v)
        new_v += divisor;
    return new_v;
}

static int parse_args(parser *ps, double *args, int max)
{
    int n = 0;
    if (accept(ps, ")"))
        return 0;
    do {
        if (n == max)
            fail(ps, "too many arguments", "");
        args[n++] = parse_ternary(ps);
    } while (accept(ps, ","));
    expect(ps, ")");
    return n;
}

static double call_function(parser *ps, const char *name)
{
    double a[4];
    int n = parse_args(ps, a, 4);
    if (strcmp(name, "min") == 0 && n == 2)
        return a[0] < a[1] ? a[0] : a[1];
    if (strcmp(name, "max") == 0 && n == 2)
        return a[0] > a[1] ? a[0] : a[1];
    if (strcmp(name, "round") == 0 && n == 1)
        return nearbyint(a[0]);   /* Python's round: half to even */
    if (strcmp(name, "make_divisible") == 0 && n == 2)
        return make_divisible(a[0], a[1]);
    fail(ps, "unknown function or wrong number of arguments: ", name);
}

static double parse_name(parser *ps)
{
    char name[64];
    size_t n = 0;
    while (isalnum((unsigned char)*ps->p) || *ps->p == '_') {
        if (n + 1 >= sizeof name)
            fail(ps, "name too long", "");
        name[n++] = *ps->p++;
    }
    name[n] = '\0';
    if (accept(ps, "("))
        return call_function(ps, name);
    double v;
    if (!ps->lookup(ps->ctx, name, &v)) {
        ps->p -= n;
        fail(ps, "undefined name ", name);
    }
    return v;
}

static double parse_primary(parser *ps)
{
    skip_space(ps);
    if (accept(ps, "(")) {
        if (++ps->depth > MAX_NESTING)
            fail(ps, "nested too deeply", "");
        double v = parse_ternary(ps);
        expect(ps, ")");
        ps->depth--;
        return v;
    }
    if (isdigit((unsigned char)*ps->p) || *ps->p == '.') {
        char *end;
        double v = strtod(ps->p, &end);
        ps->p = end;
        return v;
    }
    if (isalpha((unsigned char)*ps->p) || *ps->p == '_')
        return parse_name(ps);
    fail(ps, *ps->p ? "unexpected character" : "unexpected end", "");
}

static double parse_unary(parser *ps)
{
    if (++ps->depth > MAX_NESTING)
        fail(ps, "nested too deeply", "");
    double v = accept(ps, "-") ? -parse_unary(ps) : accept(ps, "!") ? !parse_unary(ps)
                                                                     : parse_primary(ps);
    ps->depth--;
    return v;
}

static double parse_mul(parser *ps)
{
    double v = parse_unary(ps);
    for (;;) {
        if (accept(ps, "*")) {
            v *= parse_unary(ps);
            continue;
        }
        skip_space(ps);
        const char *op = ps->p;
        int floor_div = accept(ps, "//");
        int mod = !floor_div && accept(ps, "%");
        if (!floor_div && !mod && !accept(ps, "/"))
            return v;
        double d = parse_unary(ps);
        if (d == 0) {
            ps->p = op;
            fail(ps, "division by zero", "");
        }
        v = floor_div ? floor(v / d) : mod ? v - d * floor(v / d) : v / d;
    }
}

static double parse_add(parser *ps)
{
    double v = parse_mul(ps);
    for (;;) {
        if (accept(ps, "+"))
            v += parse_mul(ps);
        else if (accept(ps, "-"))
            v -= parse_mul(ps);
        else
            return v;
    }
}

static double parse_compare(parser *ps)
{
    double v = parse_add(ps);
    if (accept(ps, "=="))
        return v == parse_add(ps);
    if (accept(ps, "!="))
        return v != parse_add(ps);
    if (accept(ps, "<="))
        return v <= parse_add(ps);
    if (accept(ps, ">="))
        return v >= parse_add(ps);
    if (accept(ps, "<"))
        return v < parse_add(ps);
    if (accept(ps, ">"))
        return v > parse_add(ps);
    return v;
}

static double parse_and(parser *ps)
{
    double v = parse_compare(ps);
    while (accept(ps, "&&")) {
        double w = parse_compare(ps);
        v = v != 0 && w != 0;
    }
    return v;
}

static double parse_or(parser *ps)
{
    double v = parse_and(ps);
    while (accept(ps, "||")) {
        double w = parse_and(ps);
        v = v != 0 || w != 0;
    }
    return v;
}

/* A nested ?: counts towards MAX_NESTING as a parenthesis does (a chain
 * of 130,000 once overflowed the stack). */
static double parse_ternary(parser *ps)
{
    double v = parse_or(ps);
    if (!accept(ps, "?"))
        return v;
    if (++ps->depth > MAX_NESTING)
        fail(ps, "nested too deeply", "");
    double a = parse_ternary(ps);
    expect(ps, ":");
    double b = parse_ternary(ps);
    ps->depth--;
    return v != 0 ? a : b;
}

double expr_eval(const char *text, src_pos at, expr_lookup_fn lookup, void *ctx)
{
    parser ps = {text, text, at, lookup, ctx, 0};
    double v = parse_ternary(&ps);
    skip_space(&ps);
    if (*ps.p)
        fail(&ps, "unexpected trailing text", "");
    return v;
}
