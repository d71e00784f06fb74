/* Loading and caching block files. */
#include "block.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *stem;
    ydoc *doc;
} cached_block;

static cached_block cache[64];
static int n_cached;

static const char *const block_keys[] = {"name", "description", "vars", "nodes", "output",
                                         "deploy", NULL};

static const char *const builtin_names[] = {"in", "out", "stride", "input", NULL};

/* Variables: unique identifiers that do not shadow the block's arguments. */
static void check_vars(ynode vars)
{
    if (!ynode_is_mapping(vars))
        diag_error(ynode_pos(vars), "'vars' must be a mapping of name: expression");
    for (int i = 0; i < ymap_size(vars); i++) {
        ynode key = ymap_key_at(vars, i);
        const char *name = yident(key, "variable name");
        for (const char *const *b = builtin_names; *b; b++)
            if (strcmp(*b, name) == 0)
                diag_error(ynode_pos(key), "variable '%s' would shadow the block argument '%s'",
                           name, name);
        for (int j = 0; j < i; j++)
            if (strcmp(yscalar(ymap_key_at(vars, j), "variable name"), name) == 0)
                diag_error(ynode_pos(key), "duplicate variable '%s'", name);
    }
}

static void validate_block(ydoc *d)
{
    ynode root = ydoc_root(d);
    ymap_check_keys(root, "block file", block_keys);
    ynode name = ymap_get(root, "name");
    if (!ynode_present(name))
        diag_error(ynode_pos(root), "block file needs a 'name' (BlockZoo registry name)");
    yident(name, "block name");
    ynode nodes = ymap_get(root, "nodes");
    if (!ynode_is_sequence(nodes) || yseq_size(nodes) == 0)
        diag_error(ynode_pos(ynode_present(nodes) ? nodes : root),
                   "block needs 'nodes': a non-empty list");
    ynode description = ymap_get(root, "description");
    if (ynode_present(description))
        yscalar(description, "description");
    ynode vars = ymap_get(root, "vars");
    if (ynode_present(vars))
        check_vars(vars);
    ynode deploy = ymap_get(root, "deploy");
    if (ynode_present(deploy) && !ynode_is_sequence(deploy))
        diag_error(ynode_pos(deploy), "'deploy' must be a list of re-parameterised convolutions");
}

static void check_stem(const char *stem, src_pos from)
{
    for (const char *p = stem; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            diag_error(from, "block name '%s' must be a snake_case file name", stem);
}

ydoc *block_load(const block_env *env, const char *stem, src_pos from)
{
    for (int i = 0; i < n_cached; i++)
        if (strcmp(cache[i].stem, stem) == 0)
            return cache[i].doc;
    check_stem(stem, from);
    char *path = xasprintf("%s/%s.yaml", env->blocks_dir, stem);
    if (access(path, R_OK) != 0)
        diag_error(from, "unknown block '%s' (no file %s)", stem, path);
    if (n_cached == (int)(sizeof cache / sizeof cache[0]))
        diag_fatal("too many block files");
    ydoc *d = ydoc_load(path);
    validate_block(d);
    cache[n_cached].stem = xstrdup(stem);
    cache[n_cached].doc = d;
    n_cached++;
    return d;
}

int block_exists(const block_env *env, const char *stem)
{
    char *path = xasprintf("%s/%s.yaml", env->blocks_dir, stem);
    int found = access(path, R_OK) == 0;
    free(path);
    return found;
}

const char *block_registry_name(ydoc *block)
{
    return yscalar(ymap_get(ydoc_root(block), "name"), "block name");
}
