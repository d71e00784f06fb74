/* The operator table: every operator bzgen knows, in the order the
 * "unknown operator" error lists them.  Each entry is defined with its
 * family in gen/op_<family>.c. */
#include "op.h"

#include <string.h>

extern const op_def op_conv2d, op_batchnorm2d, op_relu, op_hardswish, op_avgpool2d, op_add,
    op_global_avgpool, op_linear, op_channel_scale, op_sigmoid, op_mul, op_gelu,
    op_layernorm2d, op_hard_sigmoid, op_concat, op_sub, op_silu,
    op_maxpool2d, op_attention;

const op_def *const op_table[] = {
    &op_conv2d, &op_batchnorm2d, &op_relu, &op_hardswish, &op_avgpool2d, &op_add,
    &op_global_avgpool, &op_linear, &op_channel_scale, &op_sigmoid, &op_mul, &op_gelu,
    &op_layernorm2d, &op_hard_sigmoid, &op_concat, &op_sub, &op_silu,
    &op_maxpool2d, &op_attention,
};
const int op_table_size = (int)(sizeof op_table / sizeof op_table[0]);

const op_def *op_by_name(const char *name)
{
    for (int i = 0; i < op_table_size; i++)
        if (strcmp(op_table[i]->name, name) == 0)
            return op_table[i];
    return NULL;
}

/* Keys of every node, then the operator's attributes. */
static const char *const common_keys[] = {"name", "op", "input", "inputs", "when", "class",
                                          "param_owner", "macs_times"};
enum { N_COMMON = sizeof common_keys / sizeof common_keys[0], MAX_KEYS = 24 };

const char *const *op_keys(const op_def *op)
{
    static const char *keys[sizeof op_table / sizeof op_table[0]][MAX_KEYS];
    int i = 0;
    while (op_table[i] != op)
        i++;
    if (!keys[i][0]) {
        int n = 0;
        for (; n < N_COMMON; n++)
            keys[i][n] = common_keys[n];
        for (const attr_def *a = op->attrs; a && a->key; a++)
            keys[i][n++] = a->key;
    }
    return keys[i];
}
