/* desc.m4: the tensor and layer tables and the model's static facts. */
#include "emit.h"
#include "yaml_doc.h"

static void emit_tensor(FILE *out, const param *p)
{
    long s[4] = {0, 0, 0, 0};
    for (int i = 0; i < p->ndim; i++)
        s[i] = p->shape[i];
    fprintf(out, "bz_tensor([<%s>], %d, %d, %d, %d, %ld, %ld, %ld, %ld, %ld, %ld, %ld, %.9g)\n",
            p->key, p->kind, p->layout, p->init, p->ndim, s[0], s[1], s[2], s[3], p->numel,
            p->offset, p->fan_in, p->init_value);
}

static int in_deploy(const model_facts *f, int node)
{
    for (int s = 0; s < f->deploy.n_steps; s++)
        if (f->deploy.steps[s].node == node)
            return 1;
    return 0;
}


static void emit_layer_row(FILE *out, const model_facts *f, int i)
{
    const node *n = &f->g->nodes[i];
    fprintf(out, "bz_layer_row([<%s>], [<%s>], %d, %d, %d, %d, %d, %d, %ld, %ld, %d)\n", n->name,
            n->torch_class, n->in_shape.c, n->in_shape.h, n->in_shape.w, n->out_shape.c,
            n->out_shape.h, n->out_shape.w, node_params(f->g, n), node_macs(n),
            in_deploy(f, i));
}

/* The spec, defaults and block files read, and the generation-time
 * overrides: equal hashes, equal networks and recipes. */
static uint64_t spec_hash(const experiment *e)
{
    int shape[] = {e->in_channels, e->input_size, e->classes, e->num_blocks, e->base_channels,
                   e->max_batch};
    return fnv1a64(ydoc_inputs_hash(), shape, sizeof shape);
}

#define FIELD(name, fmt, value) fprintf(out, "bz_field([<" name ">], [<" fmt ">])\n", value)

static void emit_fields(FILE *out, const model_facts *f)
{
    const experiment *e = f->e;
    const graph *g = f->g;
    FIELD("in_c", "%d", e->in_channels);
    FIELD("in_h", "%d", e->input_size);
    FIELD("in_w", "%d", e->input_size);
    FIELD("classes", "%d", e->classes);
    FIELD("num_blocks", "%d", e->num_blocks);
    FIELD("base_channels", "%d", e->base_channels);
    FIELD("max_batch", "%d", e->max_batch);
    FIELD("n_params", "%ld", g->n_param_floats);
    FIELD("n_buffers", "%ld", g->n_buffer_floats);
    FIELD("n_counters", "%ld", g->n_counters);
    FIELD("n_bn_saved", "%ld", g->n_bn_saved);
    FIELD("n_deploy_params", "%ld", f->deploy.n_floats);
    FIELD("n_workspace", "%ld", f->workspace);
    FIELD("params_train", "%ld", g->n_param_floats);
    FIELD("params_deploy", "%ld", f->deploy.params);
    FIELD("macs_train", "%ld", f->macs_train);
    FIELD("macs_deploy", "%ld", f->macs_deploy);
    FIELD("act_train_per_sample", "%ld", f->train.size);
    FIELD("act_eval_per_sample", "%ld", f->eval.size > f->dep.size ? f->eval.size : f->dep.size);
    FIELD("epochs", "%d", e->epochs);
    FIELD("batch_size", "%d", e->batch_size);
    FIELD("seed", "%d", e->seed);
    FIELD("train_subset", "%d", e->subset);
    FIELD("warmup_runs", "%d", e->warmup_runs);
    FIELD("benchmark_runs", "%d", e->benchmark_runs);
    FIELD("lr", "%.17g", e->lr);
    FIELD("spec_hash", "\"%016llx\"", (unsigned long long)spec_hash(e));
}

void emit_desc(FILE *out, const model_facts *f)
{
    fprintf(out, "bz_desc_header([<%s>], [<%s>], [<%s>], [<%s>], [<%s>])\n", f->e->name,
            f->registry_name, f->e->position, f->e->dataset, f->e->spec_path);
    fprintf(out, "bz_tensors_begin\n");
    for (int i = 0; i < f->g->n_params; i++)
        emit_tensor(out, &f->g->params[i]);
    fprintf(out, "bz_tensors_end\nbz_layers_begin\n");
    for (int i = 0; i < f->g->n_nodes; i++)
        emit_layer_row(out, f, i);
    for (int k = 0; k < f->g->n_groups; k++) {
        const node *m = &f->g->groups[k].merged;
        fprintf(out, "bz_layer_row([<%s>], [<%s>], %d, %d, %d, %d, %d, %d, %ld, %ld, 2)\n", m->name,
                m->torch_class, m->in_shape.c, m->in_shape.h, m->in_shape.w, m->out_shape.c,
                m->out_shape.h, m->out_shape.w,
                (long)m->conv.out_c * (m->in_shape.c / m->conv.groups) * m->conv.kh * m->conv.kw +
                    m->conv.out_c, node_macs(m));
    }
    fprintf(out, "bz_layers_end\nbz_steps_begin\n");
    emit_step_rows(out, f);
    fprintf(out, "bz_steps_end\nbz_desc_begin\n");
    emit_fields(out, f);
    fprintf(out, "bz_desc_end\n");
}
