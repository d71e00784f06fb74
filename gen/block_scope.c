#include "block_scope.h"

#include <math.h>
#include <string.h>

static const char *const position_keys[] = {"early", "mid", "late", NULL};

int scope_declares(const block_scope *s, const char *name)
{
    if (!ynode_present(s->vars))
        return 0;
    for (int i = 0; i < ymap_size(s->vars); i++)
        if (strcmp(yscalar(ymap_key_at(s->vars, i), "variable name"), name) == 0)
            return 1;
    return 0;
}

static int find_var(block_scope *s, const char *name)
{
    if (!ynode_present(s->vars))
        return -1;
    for (int i = 0; i < ymap_size(s->vars); i++)
        if (strcmp(yscalar(ymap_key_at(s->vars, i), "variable name"), name) == 0)
            return i;
    return -1;
}

/* A var is an expression, or {early: e, mid: e, late: e}. */
static ynode var_for_position(block_scope *s, int index)
{
    ynode v = ymap_value_at(s->vars, index);
    const char *name = yscalar(ymap_key_at(s->vars, index), "variable name");
    if (!ynode_is_mapping(v))
        return v;
    ymap_check_keys(v, "position-dependent variable", position_keys);
    ynode chosen = ymap_get(v, s->position);
    if (!ynode_present(chosen))
        diag_error(ynode_pos(v), "variable '%s' has no value for position '%s'", name, s->position);
    return chosen;
}

/* A var set by the instantiating node's args (evaluated by the caller). */
static ynode arg_override(const block_scope *s, const char *name)
{
    ynode none = {s->vars.d, NULL};
    if (!ynode_present(s->args))
        return none;
    return ymap_get(s->args, name);
}

int scope_lookup(void *scope, const char *name, double *value)
{
    block_scope *s = scope;
    if (strcmp(name, "in") == 0 || strcmp(name, "out") == 0 || strcmp(name, "stride") == 0) {
        *value = name[0] == 'i' ? s->in : name[0] == 'o' ? s->out : s->stride;
        return 1;
    }
    ynode arg = arg_override(s, name);
    if (ynode_present(arg)) {
        *value = expr_eval(yscalar(arg, "argument"), ynode_text_pos(arg), scope_lookup, s->caller);
        return 1;
    }
    int i = find_var(s, name);
    if (i < 0)
        return 0;
    if (i >= 64)
        diag_error(ynode_pos(s->vars), "too many variables");
    ynode text = var_for_position(s, i);
    if (s->evaluating[i])
        diag_error(ynode_pos(text), "variable '%s' depends on itself", name);
    s->evaluating[i] = 1;
    *value = expr_eval(yscalar(text, "variable"), ynode_text_pos(text), scope_lookup, s);
    s->evaluating[i] = 0;
    return 1;
}

long scope_int(block_scope *s, ynode n, const char *what, long lo, long hi)
{
    double v = expr_eval(yscalar(n, what), ynode_text_pos(n), scope_lookup, s);
    if (v != floor(v))
        diag_error(ynode_pos(n), "%s must be a whole number, got %g", what, v);
    if (v < lo || v > hi)
        diag_error(ynode_pos(n), "%s must be in [%ld, %ld], got %g", what, lo, hi, v);
    return (long)v;
}

ynode scope_var_text(block_scope *s, const char *name, src_pos from)
{
    ynode arg = arg_override(s, name);
    if (ynode_present(arg))
        return arg;
    int i = find_var(s, name);
    if (i < 0)
        diag_error(from, "undefined variable '%s'", name);
    return var_for_position(s, i);
}
