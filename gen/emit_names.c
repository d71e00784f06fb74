#include "emit.h"
#include "op.h"

#include <stdlib.h>

char *kernel_name(const node *n, int deploy_form)
{
    return n->op->kernel_name(n, deploy_form);
}

char *exact_double(double v)
{
    for (int digits = 1; digits < 17; digits++) {
        char *text = xasprintf("%.*g", digits, v);
        if (strtod(text, NULL) == v)
            return text;
        free(text);
    }
    return xasprintf("%.17g", v);
}
