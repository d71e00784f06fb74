/* Integer-valued expressions of block specs, e.g.
 *   make_divisible(in * exp, 8)      stride != 1 && in == out
 * Numbers are evaluated in double precision (timm's rounding rules take
 * fractional inputs); operators: ?: || && == != < <= > >= + - * / // %
 * unary - !, functions min, max, round, make_divisible. */
#ifndef GEN_EXPR_H
#define GEN_EXPR_H

#include "diag.h"

/* Returns 1 and sets *value when name is defined. */
typedef int (*expr_lookup_fn)(void *ctx, const char *name, double *value);

/* Errors (syntax, undefined name, division by zero) are reported at
 * `at`, with the column advanced to the offending character. */
double expr_eval(const char *text, src_pos at, expr_lookup_fn lookup, void *ctx);

/* timm.layers.make_divisible(v, divisor, min_value=None, round_limit=.9) */
double make_divisible(double v, double divisor);

#endif
