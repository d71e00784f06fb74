#include "spec.h"

#include <string.h>
#include "yaml_doc.h"

static const char *const top_keys[] = {"block", "position", "description", "scaffold", "train", "bench", NULL};
static const char *const scaffold_keys[] = {"input_channels", "input_size", "base_channels", "num_blocks",
                                            "classes", "stem", "filler", "head", NULL};
static const char *const train_keys[] = {"dataset", "epochs", "batch_size", "lr", "seed", "subset", NULL};
static const char *const bench_keys[] = {"warmup_runs", "benchmark_runs", "max_batch", NULL};
static const char *const datasets[] = {"fashion_mnist", "cifar10", "cifar100", NULL};
static const char *const positions[] = {"early", "mid", "late", NULL};

static void set_int(ynode map, const char *key, int *dst, long lo, long hi)
{
    ynode v = ymap_get(map, key);
    if (ynode_present(v))
        *dst = (int)yint(v, key, lo, hi);
}

static void set_ident(ynode map, const char *key, const char **dst, src_pos *where)
{
    ynode v = ymap_get(map, key);
    if (ynode_present(v)) {
        *dst = yident(v, key);
        *where = ynode_pos(v);
    }
}

static void set_choice(ynode map, const char *key, const char **dst, const char *const *choices)
{
    ynode v = ymap_get(map, key);
    if (!ynode_present(v))
        return;
    const char *s = yscalar(v, key);
    for (const char *const *c = choices; *c; c++)
        if (strcmp(*c, s) == 0) {
            *dst = *c;
            return;
        }
    diag_error(ynode_pos(v), "unknown %s '%s'", key, s);
}

static void apply_scaffold(experiment *e, ynode s)
{
    ymap_check_keys(s, "scaffold", scaffold_keys);
    set_int(s, "input_channels", &e->in_channels, 1, 64);
    set_int(s, "input_size", &e->input_size, 8, 1024);
    set_int(s, "base_channels", &e->base_channels, 1, 4096);
    set_int(s, "num_blocks", &e->num_blocks, 1, 64);
    set_int(s, "classes", &e->classes, 2, 100000);
    set_ident(s, "stem", &e->stem, &e->stem_pos);
    set_ident(s, "filler", &e->filler, &e->filler_pos);
    set_ident(s, "head", &e->head, &e->head_pos);
}

static void apply_train(experiment *e, ynode t)
{
    ymap_check_keys(t, "train", train_keys);
    set_choice(t, "dataset", &e->dataset, datasets);
    set_int(t, "epochs", &e->epochs, 1, 100000);
    set_int(t, "batch_size", &e->batch_size, 1, 65536);
    set_int(t, "seed", &e->seed, 0, 2147483647);
    set_int(t, "subset", &e->subset, 0, 100000000);
    ynode lr = ymap_get(t, "lr");
    /* the range train --lr accepts */
    if (ynode_present(lr))
        e->lr = ynumber(lr, "lr", 1e-12, 1e3);
}

static void apply_bench(experiment *e, ynode b)
{
    ymap_check_keys(b, "bench", bench_keys);
    set_int(b, "warmup_runs", &e->warmup_runs, 0, 1000000);
    set_int(b, "benchmark_runs", &e->benchmark_runs, 1, 1000000);
    set_int(b, "max_batch", &e->max_batch, 1, 65536);
}

static void apply_file(experiment *e, const char *path, int is_defaults)
{
    ynode root = ydoc_root(ydoc_load(path));
    ymap_check_keys(root, is_defaults ? "defaults" : "experiment spec", top_keys);
    set_ident(root, "block", &e->block, &e->block_pos);
    ynode description = ymap_get(root, "description");
    if (ynode_present(description))
        yscalar(description, "description");
    set_choice(root, "position", &e->position, positions);
    ynode s = ymap_get(root, "scaffold"), t = ymap_get(root, "train"), b = ymap_get(root, "bench");
    if (ynode_present(s))
        apply_scaffold(e, s);
    if (ynode_present(t))
        apply_train(e, t);
    if (ynode_present(b))
        apply_bench(e, b);
    if (!is_defaults && (!e->block || !e->position))
        diag_error(ynode_pos(root), "experiment spec needs 'block' and 'position'");
}

static void require(const experiment *e, const char *what, const void *value)
{
    if (!value)
        diag_error((src_pos){e->spec_path, 0, 0}, "no '%s' in the spec or defaults", what);
}

void spec_load(experiment *e, const char *defaults_path, const char *spec_path,
               const spec_overrides *o)
{
    memset(e, 0, sizeof *e);
    e->spec_path = spec_path;
    e->in_channels = 3;
    e->input_size = 32;
    e->lr = 1e-3;
    apply_file(e, defaults_path, 1);
    apply_file(e, spec_path, 0);
    if (o->num_blocks)
        e->num_blocks = o->num_blocks;
    if (o->base_channels)
        e->base_channels = o->base_channels;
    if (o->classes)
        e->classes = o->classes;
    if (o->input_size)
        e->input_size = o->input_size;
    require(e, "stem", e->stem);
    require(e, "filler", e->filler);
    require(e, "head", e->head);
    require(e, "dataset", e->dataset);
    if (!e->base_channels || !e->num_blocks || !e->classes || !e->epochs || !e->batch_size ||
        !e->max_batch || !e->benchmark_runs)
        diag_error((src_pos){spec_path, 0, 0}, "incomplete spec: scaffold, train and bench "
                   "settings must come from the spec or defaults");
    if (e->batch_size > e->max_batch)
        e->max_batch = e->batch_size;
}
