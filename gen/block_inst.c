/* Instantiating a block: node definitions -> graph nodes, in dependency
 * order, with names prefixed by the block's module path. */
#include "block.h"
#include "block_scope.h"
#include "op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { INPUT_OF_BLOCK = -1, MAX_DEFS = 256, MAX_DEPTH = 8 };
enum { DEF_OPERATOR, DEF_SUBBLOCK, DEF_IDENTITY };

typedef struct {
    ynode def;
    const char *name;
    int kind;                 /* DEF_OPERATOR (op), DEF_SUBBLOCK, DEF_IDENTITY */
    const op_def *op;
    const char *op_text;
    src_pos op_pos;
    int exists;
    int inputs[2], n_inputs;  /* def indices or INPUT_OF_BLOCK */
    int visit;                /* 0 new, 1 on the DFS stack, 2 built */
    int tensor;
} node_def;

typedef struct {
    graph *g;
    const block_env *env;
    const char *prefix;
    block_scope scope;
    int input_tensor;
    node_def defs[MAX_DEFS];
    int n_defs;
    int depth;
} instance;

static const char *const keys_plain[] = {"name", "op", "input", "inputs", "when", "class", NULL};
static const char *const keys_subblock[] = {"name", "op", "input", "inputs", "when", "class",
                                            "args", NULL};

typedef struct {
    ynode args;                 /* the sub-block node's args, or absent  */
    block_scope *caller;
} call_site;

static int instantiate_at_depth(graph *g, const block_env *env, ydoc *block, const char *prefix,
                                int input, long in, long out, long stride, int depth,
                                call_site site);

static const char *const *keys_for(const node_def *d)
{
    return d->kind == DEF_OPERATOR ? op_keys(d->op) : d->kind == DEF_SUBBLOCK ? keys_subblock
                                                                              : keys_plain;
}

/* Module-path components: [A-Za-z0-9_]+ joined by '.', never starting
 * with the m4 prefixes, so no name can act as a macro in the templates. */
static void check_node_name(ynode n, const char *name)
{
    int ok = name[0] != '\0' && strcmp(name, "input") != 0;
    for (const char *p = name; ok && *p; p++) {
        int start = p == name || p[-1] == '.';
        ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
             *p == '_' || (*p == '.' && !start && p[1] != '\0');
        if (ok && start && (strncmp(p, "bz_", 3) == 0 || strncmp(p, "m4_", 3) == 0))
            ok = 0;
    }
    if (!ok)
        diag_error(ynode_pos(n), "invalid node name '%s' (want a module path like 'conv1' or "
                   "'downsample.1'; 'input' is reserved)", name);
}

static int def_kind(const char *text)
{
    if (op_by_name(text))
        return DEF_OPERATOR;
    if (strcmp(text, "identity") == 0 || strcmp(text, "flatten") == 0)
        return DEF_IDENTITY;
    return DEF_SUBBLOCK;
}

static const char *operator_list(void)
{
    static char list[512];
    if (!list[0])
        for (int i = 0; i < op_table_size; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                     op_table[i]->name);
    return list;
}

static void parse_op(instance *b, node_def *d)
{
    ynode op = ymap_get(d->def, "op");
    if (!ynode_present(op))
        diag_error(ynode_pos(d->def), "node '%s' needs an 'op'", d->name);
    d->op_pos = ynode_pos(op);
    d->op_text = yscalar(op, "op");
    if (d->op_text[0] == '$') {
        ynode v = scope_var_text(&b->scope, d->op_text + 1, d->op_pos);
        d->op_text = yident(v, "operator variable");
    }
    d->kind = def_kind(d->op_text);
    d->op = op_by_name(d->op_text);
    if (d->kind == DEF_SUBBLOCK && !block_exists(b->env, d->op_text))
        diag_error(d->op_pos, "unknown operator '%s' (operators: %s, identity, flatten; "
                   "and no block file %s/%s.yaml)", d->op_text, operator_list(), b->env->blocks_dir,
                   d->op_text);
}

static void parse_def(instance *b, int i, ynode def)
{
    node_def *d = &b->defs[i];
    d->def = def;
    if (!ynode_is_mapping(def))
        diag_error(ynode_pos(def), "each node must be a mapping with 'name' and 'op'");
    ynode name = ymap_get(def, "name");
    if (!ynode_present(name))
        diag_error(ynode_pos(def), "node needs a 'name'");
    d->name = yscalar(name, "node name");
    check_node_name(name, d->name);
    for (int j = 0; j < i; j++)
        if (strcmp(b->defs[j].name, d->name) == 0)
            diag_error(ynode_pos(name), "duplicate node name '%s'", d->name);
    parse_op(b, d);
    ymap_check_keys(def, d->kind == DEF_SUBBLOCK ? "sub-block node" : "node", keys_for(d));
    ynode when = ymap_get(def, "when");
    d->exists = !ynode_present(when) || scope_int(&b->scope, when, "when", -(1L << 40), 1L << 40) != 0;
}

static int resolve_name(instance *b, ynode ref)
{
    const char *name = yscalar(ref, "input name");
    if (strcmp(name, "input") == 0)
        return INPUT_OF_BLOCK;
    for (int j = 0; j < b->n_defs; j++)
        if (strcmp(b->defs[j].name, name) == 0)
            return j;
    diag_error(ynode_pos(ref), "undefined node '%s'", name);
}

static void resolve_inputs(instance *b, int i)
{
    node_def *d = &b->defs[i];
    ynode one = ymap_get(d->def, "input"), many = ymap_get(d->def, "inputs");
    int want = d->kind == DEF_OPERATOR ? d->op->n_inputs : 1;
    if (ynode_present(one) && ynode_present(many))
        diag_error(ynode_pos(many), "node '%s': give 'input' or 'inputs', not both", d->name);
    if (ynode_present(many)) {
        if (!ynode_is_sequence(many) || yseq_size(many) != want)
            diag_error(ynode_pos(many), "node '%s' (%s) takes %d input%s", d->name, d->op_text,
                       want, want > 1 ? "s" : "");
        for (int k = 0; k < want; k++)
            d->inputs[k] = resolve_name(b, yseq_at(many, k));
        d->n_inputs = want;
        return;
    }
    if (want != 1)
        diag_error(ynode_pos(d->def), "node '%s' (%s) needs 'inputs: [a, b]'", d->name, d->op_text);
    d->inputs[0] = ynode_present(one) ? resolve_name(b, one) : i == 0 ? INPUT_OF_BLOCK : i - 1;
    d->n_inputs = 1;
}

static int input_tensor(instance *b, int def_index)
{
    return def_index == INPUT_OF_BLOCK ? b->input_tensor : b->defs[def_index].tensor;
}

static long attr_int(instance *b, node_def *d, const char *key, long fallback, long lo, long hi)
{
    ynode v = ymap_get(d->def, key);
    return ynode_present(v) ? scope_int(&b->scope, v, key, lo, hi) : fallback;
}

/* The operator's attributes (its attr_def list), then its own rules. */
static void read_attributes(instance *b, node_def *d, node *n)
{
    for (const attr_def *a = n->op->attrs; a->key; a++) {
        ynode v = ymap_get(d->def, a->key);
        void *field = (char *)n + a->field;
        if (!ynode_present(v) && a->required)
            diag_error(ynode_pos(d->def), "node '%s' (%s) needs '%s'", d->name, d->op_text,
                       a->key);
        if (a->type == ATTR_REAL)
            *(double *)field = ynode_present(v) ? ynumber(v, a->key, a->lo, a->hi) : a->fallback;
        else if (a->type == ATTR_BOOL)
            *(int *)field = ynode_present(v) ? ybool(v, a->key) : (int)a->fallback;
        else
            *(int *)field = (int)(ynode_present(v) ? scope_int(&b->scope, v, a->key, (long)a->lo,
                                                               (long)a->hi)
                                                   : (long)a->fallback);
    }
    if (n->op->finish_attrs)
        n->op->finish_attrs(n, d->def);
}

/* Module paths become state_dict keys: two modules may not share one,
 * which a sub-block's inner names could otherwise cause. */
/* The module paths in use (one network per bzgen run): open addressing
 * on FNV-1a, grown at half full, so that 20,000 layers check in linear
 * time. */
static struct {
    const char **slots;
    size_t cap, used;
} paths_in_use;

static size_t path_slot(const char **slots, size_t cap, const char *path)
{
    size_t i = (size_t)fnv1a64(14695981039346656037ull, path, strlen(path)) & (cap - 1);
    while (slots[i] && strcmp(slots[i], path) != 0)
        i = (i + 1) & (cap - 1);
    return i;
}

static void check_unique_name(const char *path, src_pos at, const char *what)
{
    if (2 * (paths_in_use.used + 1) > paths_in_use.cap) {
        size_t cap = paths_in_use.cap ? 2 * paths_in_use.cap : 1024;
        const char **slots = xcalloc(cap, sizeof *slots);
        for (size_t i = 0; i < paths_in_use.cap; i++)
            if (paths_in_use.slots[i])
                slots[path_slot(slots, cap, paths_in_use.slots[i])] = paths_in_use.slots[i];
        free(paths_in_use.slots);
        paths_in_use.slots = slots;
        paths_in_use.cap = cap;
    }
    size_t i = path_slot(paths_in_use.slots, paths_in_use.cap, path);
    if (paths_in_use.slots[i])
        diag_error(at, "%s '%s' is already used by another node", what, path);
    paths_in_use.slots[i] = path;
    paths_in_use.used++;
}

/* param_owner: node (the default: keys are the node's path + leaf) or
 * block (keys are the enclosing block's path + leaf, as a parameter that
 * timm registers on the block module itself). */
static const char *param_prefix(instance *b, node_def *d, node *n)
{
    ynode owner = ymap_get(d->def, "param_owner");
    if (!ynode_present(owner) || strcmp(yscalar(owner, "param_owner"), "node") == 0)
        return n->name;
    if (strcmp(yscalar(owner, "param_owner"), "block") != 0)
        diag_error(ynode_pos(owner), "param_owner must be 'node' or 'block', got '%s'",
                   yscalar(owner, "param_owner"));
    if (!n->op->add_params)
        diag_error(ynode_pos(owner), "node '%s' (%s) has no parameters to own", d->name,
                   d->op_text);
    return b->prefix;
}

static void build_operator(instance *b, node_def *d)
{
    graph *g = b->g;
    char *path = b->prefix[0] ? xasprintf("%s.%s", b->prefix, d->name) : xstrdup(d->name);
    if (g->n_nodes >= MAX_GRAPH_NODES)
        diag_error(ynode_pos(d->def), "the network grows past %d layers here (sub-blocks "
                   "expanded), BlockZoo-C's limit", MAX_GRAPH_NODES);
    check_unique_name(path, ynode_pos(ymap_get(d->def, "name")), "module path");
    node *n = graph_add_node(g);
    n->name = path;
    n->op = d->op;
    n->pos = ynode_pos(d->def);
    ynode cls = ymap_get(d->def, "class");
    n->torch_class = ynode_present(cls) ? yident(cls, "class") : n->op->torch_class;
    n->n_in = d->n_inputs;
    for (int k = 0; k < d->n_inputs; k++)
        n->in[k] = input_tensor(b, d->inputs[k]);
    n->in_shape = g->tensors[n->in[0]].s;
    read_attributes(b, d, n);
    n->out_shape = infer_shape(g, n);
    int id = (int)(n - g->nodes);
    n->out = graph_add_tensor(g, n->out_shape, id);
    n = &g->nodes[id];
    n->param_prefix = param_prefix(b, d, n);
    n->macs_times = (int)attr_int(b, d, "macs_times", 1, 1, 1 << 20);
    add_node_params(g, n);
    if (n->param_prefix != n->name)
        for (int k = 0; k < n->n_param; k++)
            check_unique_name(g->params[n->param_first + k].key, ynode_pos(d->def),
                              "the block's parameter key");
    d->tensor = n->out;
}

/* args set in, out, stride, or any variable the sub-block declares. */
static void check_args(ydoc *sub, ynode args)
{
    if (!ynode_is_mapping(args))
        diag_error(ynode_pos(args), "args must be a mapping");
    block_scope declared = {.vars = ymap_get(ydoc_root(sub), "vars")};
    for (int i = 0; i < ymap_size(args); i++) {
        const char *key = yident(ymap_key_at(args, i), "argument name");
        int builtin = strcmp(key, "in") == 0 || strcmp(key, "out") == 0 || strcmp(key, "stride") == 0;
        if (!builtin && !scope_declares(&declared, key))
            diag_error(ynode_pos(ymap_key_at(args, i)), "unknown argument '%s': block '%s' has no "
                       "variable of that name", key, block_registry_name(sub));
        for (int j = 0; j < i; j++)
            if (strcmp(yscalar(ymap_key_at(args, j), "argument name"), key) == 0)
                diag_error(ynode_pos(ymap_key_at(args, i)), "duplicate argument '%s'", key);
    }
}

static void build_subblock(instance *b, node_def *d)
{
    ydoc *sub = block_load(b->env, d->op_text, d->op_pos);
    int x = input_tensor(b, d->inputs[0]);
    long in = b->g->tensors[x].s.c, out = in, stride = 1;
    ynode args = ymap_get(d->def, "args");
    if (ynode_present(args)) {
        check_args(sub, args);
        in = attr_int(b, &(node_def){.def = args}, "in", in, 1, 1 << 20);
        out = attr_int(b, &(node_def){.def = args}, "out", out, 1, 1 << 20);
        stride = attr_int(b, &(node_def){.def = args}, "stride", stride, 1, 64);
    }
    if (in != b->g->tensors[x].s.c)
        diag_error(ynode_pos(d->def), "sub-block '%s' declared in=%ld but its input has %d channels",
                   d->name, in, b->g->tensors[x].s.c);
    char *prefix = b->prefix[0] ? xasprintf("%s.%s", b->prefix, d->name) : xstrdup(d->name);
    call_site site = {args, &b->scope};
    d->tensor = instantiate_at_depth(b->g, b->env, sub, prefix, x, in, out, stride, b->depth + 1,
                                     site);
    if (b->g->tensors[d->tensor].s.c != out)
        diag_error(ynode_pos(d->def), "sub-block '%s' (%s) produces %d channels, expected out=%ld",
                   d->name, d->op_text, b->g->tensors[d->tensor].s.c, out);
}

static void build_def(instance *b, int i)
{
    node_def *d = &b->defs[i];
    if (d->visit == 2)
        return;
    if (d->visit == 1)
        diag_error(ynode_pos(d->def), "cycle: node '%s' depends on itself", d->name);
    d->visit = 1;
    for (int k = 0; k < d->n_inputs; k++)
        if (d->inputs[k] != INPUT_OF_BLOCK)
            build_def(b, d->inputs[k]);
    if (!d->exists || d->kind == DEF_IDENTITY)
        d->tensor = input_tensor(b, d->inputs[0]);
    else if (d->kind == DEF_SUBBLOCK)
        build_subblock(b, d);
    else
        build_operator(b, d);
    d->visit = 2;
}

static int block_output(instance *b, ynode root)
{
    ynode out = ymap_get(root, "output");
    if (!ynode_present(out))
        return b->n_defs - 1;
    int i = resolve_name(b, out);
    if (i == INPUT_OF_BLOCK)
        diag_error(ynode_pos(out), "block output cannot be its input");
    return i;
}

/* Every existing node must feed the output: a dangling node would have no
 * gradient and usually means a misspelt input. */
static void mark_used(instance *b, int i, char *used)
{
    if (i == INPUT_OF_BLOCK || used[i])
        return;
    used[i] = 1;
    for (int k = 0; k < b->defs[i].n_inputs; k++)
        mark_used(b, b->defs[i].inputs[k], used);
}

static void check_all_used(instance *b, int output)
{
    char used[MAX_DEFS] = {0};
    mark_used(b, output, used);
    for (int i = 0; i < b->n_defs; i++)
        if (!used[i] && b->defs[i].exists)
            diag_error(ynode_pos(b->defs[i].def), "node '%s' does not contribute to the block output",
                       b->defs[i].name);
}

static const char *const keys_deploy[] = {"name", "op", "input", "output", "out", "kernel",
                                           "stride", "padding", "groups", "when", NULL};

/* A deploy entry: one conv2d (with bias) that replaces the sum of
 * branches ending at `output`; reparam.c finds and checks the branches. */
static void add_reparam(instance *b, ynode def)
{
    ymap_check_keys(def, "deploy entry", keys_deploy);
    ynode when = ymap_get(def, "when");
    if (ynode_present(when) && scope_int(&b->scope, when, "when", -(1L << 40), 1L << 40) == 0)
        return;
    node_def d = {.def = def, .name = yscalar(ymap_get(def, "name"), "deploy name"),
                  .op_text = op_conv2d.name, .kind = DEF_OPERATOR, .op = &op_conv2d};
    check_node_name(ymap_get(def, "name"), d.name);
    if (strcmp(yscalar(ymap_get(def, "op"), "deploy op"), op_conv2d.name) != 0)
        diag_error(ynode_pos(ymap_get(def, "op")), "deploy entries are conv2d");
    ynode in = ymap_get(def, "input"), out = ymap_get(def, "output");
    if (!ynode_present(out))
        diag_error(ynode_pos(def), "deploy '%s' needs 'output': the node of the branch sum", d.name);
    reparam_group *r = graph_add_group(b->g);
    node *n = &r->merged;
    n->name = b->prefix[0] ? xasprintf("%s.%s", b->prefix, d.name) : xstrdup(d.name);
    n->op = &op_conv2d;
    n->torch_class = op_conv2d.torch_class;
    n->pos = ynode_pos(def);
    r->in = ynode_present(in) ? input_tensor(b, resolve_name(b, in)) : b->input_tensor;
    r->out = input_tensor(b, resolve_name(b, out));
    n->n_in = 1;
    n->in[0] = r->in;
    n->in_shape = b->g->tensors[r->in].s;
    read_attributes(b, &d, n);
    n->conv.bias = 1;
    n->out_shape = infer_shape(b->g, n);
}

static int instantiate_at_depth(graph *g, const block_env *env, ydoc *block, const char *prefix,
                                int input, long in, long out, long stride, int depth,
                                call_site site)
{
    ynode root = ydoc_root(block);
    if (depth > MAX_DEPTH)
        diag_error(ynode_pos(root), "sub-blocks nested deeper than %d (does a block include itself?)",
                   MAX_DEPTH);
    instance *b = xcalloc(1, sizeof *b);
    *b = (instance){.g = g, .env = env, .prefix = prefix, .input_tensor = input, .depth = depth};
    b->scope = (block_scope){.vars = ymap_get(root, "vars"), .position = env->position,
                             .in = in, .out = out, .stride = stride, .args = site.args,
                             .caller = site.caller};
    ynode nodes = ymap_get(root, "nodes");
    b->n_defs = yseq_size(nodes);
    if (b->n_defs > MAX_DEFS)
        diag_error(ynode_pos(nodes), "more than %d nodes in one block", MAX_DEFS);
    for (int i = 0; i < b->n_defs; i++)
        parse_def(b, i, yseq_at(nodes, i));
    for (int i = 0; i < b->n_defs; i++)
        resolve_inputs(b, i);
    int output = block_output(b, root);
    check_all_used(b, output);
    for (int i = 0; i < b->n_defs; i++)
        build_def(b, i);
    ynode deploy = ymap_get(root, "deploy");
    for (int i = 0; ynode_present(deploy) && i < yseq_size(deploy); i++)
        add_reparam(b, yseq_at(deploy, i));
    int result = b->defs[output].tensor;
    free(b);
    return result;
}

int block_instantiate(graph *g, const block_env *env, ydoc *block, const char *prefix, int input,
                      long in, long out, long stride)
{
    call_site none = {{NULL, NULL}, NULL};
    int y = instantiate_at_depth(g, env, block, prefix, input, in, out, stride, 0, none);
    if (g->tensors[y].s.c != out)
        diag_error(ynode_pos(ydoc_root(block)), "block '%s' at %s produces %d channels, expected %ld",
                   block_registry_name(block), prefix, g->tensors[y].s.c, out);
    return y;
}
