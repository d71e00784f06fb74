#include "scaffold.h"

#include <string.h>
#include "block.h"

static const char *const stage_positions[3] = {"early", "mid", "late"};

static int instantiate(graph *g, const char *blocks_dir, const char *position, const char *stem,
                       src_pos from, const char *prefix, int x, long out, long stride)
{
    block_env env = {blocks_dir, position};
    ydoc *doc = block_load(&env, stem, from);
    return block_instantiate(g, &env, doc, prefix, x, g->tensors[x].s.c, out, stride);
}

const char *build_scaffold(graph *g, const experiment *e, const char *blocks_dir)
{
    shape3 input = {e->in_channels, e->input_size, e->input_size};
    int x = graph_add_tensor(g, input, -1);
    long b = e->base_channels;
    long widths[4] = {b, b, 2 * b, 4 * b};
    long strides[3] = {1, 2, 2};
    x = instantiate(g, blocks_dir, e->position, e->stem, e->stem_pos, "stem", x, widths[0], 1);
    for (int s = 0; s < 3; s++) {
        const char *pos = stage_positions[s];
        int tested = strcmp(pos, e->position) == 0;
        const char *stem = tested ? e->block : e->filler;
        src_pos from = tested ? e->block_pos : e->filler_pos;
        for (int i = 0; i < e->num_blocks; i++) {
            char *prefix = xasprintf("stage%d.%d", s + 1, i);
            x = instantiate(g, blocks_dir, pos, stem, from, prefix, x, widths[s + 1],
                            i == 0 ? strides[s] : 1);
        }
    }
    x = instantiate(g, blocks_dir, e->position, e->head, e->head_pos, "head", x, e->classes, 1);
    shape3 y = g->tensors[x].s;
    if (y.h != 1 || y.w != 1 || g->tensors[x].producer != g->n_nodes - 1)
        diag_error(e->head_pos, "head '%s' must end in the logits node (got %dx%dx%d)", e->head,
                   y.c, y.h, y.w);
    block_env env = {blocks_dir, e->position};
    return block_registry_name(block_load(&env, e->block, e->block_pos));
}
