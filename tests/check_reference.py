"""Checks bzgen's tables (build/<variant>/desc.m4) against ../shared/reference:
parameter, buffer and MAC totals (summary.csv), the train-time state_dict
(keys, shapes, dtypes, order) and per-layer MACs (torchinfo leaf calls);
and the MACs of the per-layer timing tables (the multiply-adds run).
Usage: check_reference.py DESC_M4 BLOCK POSITION CLASSES REFERENCE_DIR
Prints TAP lines."""
import csv
import re
import sys

ARG = r"\[<(.*?)>\]|(-?\d+)"


def macro_args(line):
    return [a if a else int(b) for a, b in re.findall(ARG, line[line.index("(") + 1:])]


def read_desc(path):
    tensors, layers, fields = [], {}, {}
    for line in open(path):
        if line.startswith("bz_tensor("):
            key, kind, _layout, _init, ndim, s0, s1, s2, s3, *_ = macro_args(line)
            dtype = "int64" if kind == 2 else "float32"
            tensors.append((key, [s0, s1, s2, s3][:ndim], dtype))
        elif line.startswith("bz_layer_row("):
            a = macro_args(line)
            layers[a[0]] = (a[9], a[10])   # MACs, deploy flag (2: deploy only)
        elif line.startswith("bz_field("):
            name, value = re.findall(r"\[<(.*?)>\]", line)
            fields[name] = value
    return tensors, layers, fields


def section(lines, title):
    out, inside = [], False
    for line in lines:
        if line.startswith("====="):
            inside = title in line
            continue
        if inside and line.strip():
            out.append(line.rstrip("\n"))
    return out


def reference_state_dict(lines, classes):
    rows = []
    for line in section(lines, "TRAIN-TIME MODEL: state_dict"):
        key, shape, dtype = line.split("\t")
        dims = [int(d) for d in shape.strip("[]").split(",") if d.strip()]
        if key.startswith("head.2."):
            dims[0] = classes
        rows.append((key, dims, dtype))
    return rows


def reference_leaf_macs(lines, classes, model="TRAIN-TIME MODEL"):
    macs = {}
    for line in section(lines, model + ": leaf-module forward calls"):
        name, cls, _shape, value = line.split("\t")
        value = int(value)
        if name == "head.2":
            value = (256 + 1) * classes if value else 0
        macs[name] = macs.get(name, 0) + value
    return macs


def execution_order(rows, block):
    """bzgen lists parameters in execution order; timm's state_dict lists
    them in registration order, a module's own parameters first.  The two
    differ only where a module is registered before one whose output it
    takes, or holds a parameter of its own:
      - PreActBasic registers `downsample` first but runs it on norm1's
        output, so bzgen's <block>.downsample.conv.weight follows that
        block's norm1 entries;
      - ConvNeXtBlock's gamma (a parameter of the block) multiplies the
        MLP's output, so bzgen's <block>.gamma follows <block>.mlp.fc2.bias.
    Returns the reference rows in bzgen's order (the same rows otherwise)."""
    if block == "PreActBasicBlock":
        moved, after, note = ".downsample.conv.weight", "norm1.", "each downsample.conv after its block's norm1"
    elif block == "ConvNeXtBlock":
        moved, after, note = ".gamma", "mlp.fc2.", "each gamma after its block's mlp.fc2"
    else:
        return rows, ""
    rows = list(rows)
    for key in [r[0] for r in rows if r[0].endswith(moved) and r[0].startswith("stage")]:
        prefix = key[: -len(moved) + 1]
        row = rows.pop([r[0] for r in rows].index(key))
        last = max(i for i, r in enumerate(rows) if r[0].startswith(prefix + after))
        rows.insert(last + 1, row)
    return rows, " (timm's, but %s: bzgen's execution order)" % note


def report(ok, what, detail=""):
    print(("ok - " if ok else "not ok - ") + what + ("" if ok else ": " + detail))
    return ok


def main():
    desc, block, position, classes, ref_dir = sys.argv[1:6]
    classes = int(classes)
    tensors, layers, fields = read_desc(desc)
    label = "%s %s classes=%d" % (block, position, classes)
    with open("%s/summary.csv" % ref_dir) as f:
        row = next(r for r in csv.DictReader(f) if r["block"] == block
                   and r["position"] == position and int(r["out_dim"]) == classes)
    for ours, theirs in (("params_train", "params_train"), ("params_deploy", "params_deploy"),
                         ("n_buffers", "buffers"), ("macs_train", "macs_train"),
                         ("macs_deploy", "macs_deploy")):
        report(int(fields[ours]) == int(row[theirs]), "%s: %s = %s" % (label, theirs, row[theirs]),
               "bzgen says %s" % fields[ours])
    lines = open("%s/%s_%s.txt" % (ref_dir, block, position)).readlines()
    want, note = execution_order(reference_state_dict(lines, classes), block)
    report(tensors == want, "%s: state_dict keys, shapes, dtypes, order%s (%d tensors)"
           % (label, note, len(want)),
           "first difference: %r" % (next(((a, b) for a, b in zip(tensors, want) if a != b),
                                          (len(tensors), len(want))),))
    train = {n: m for n, (m, flag) in layers.items() if flag != 2}
    leaf = reference_leaf_macs(lines, classes)
    wrong = [(n, m, train.get(n, 0)) for n, m in leaf.items() if m and train.get(n, 0) != m]
    extra = [n for n, m in train.items() if m and leaf.get(n, 0) == 0]
    report(not wrong and not extra, "%s: per-layer MACs equal torchinfo's leaf calls" % label,
           "differ: %s extra: %s" % (wrong[:3], extra[:3]))
    deploy = reference_leaf_macs(lines, classes, "DEPLOY MODEL")
    ours = {n: m for n, (m, _flag) in layers.items()}
    wrong = [(n, m, ours.get(n, 0)) for n, m in deploy.items() if m and ours.get(n, 0) != m]
    report(not wrong, "%s: deploy graph's per-layer MACs equal torchinfo's" % label,
           "differ: %s" % wrong[:3])
    wrong = [w for w in timed_macs(desc) if w[1] != w[2]]
    report(not wrong, "%s: the timing tables' MACs are those run (a Linear's on every "
           "pixel, attention's products), else torchinfo's" % label,
           "layer, table, expected: %s" % wrong[:3])


# MobileViT's attention runs on the pixels at one offset of every 2 x 2
# patch (blocks/mobile_vit_block.yaml): 4 sequences of H W / 4 tokens
ATTENTION_SEQUENCES = 4


def timed_macs(path):
    """[(layer, forward-train step MACs, the multiply-adds its kernel runs)]"""
    rows, steps = [], []
    for line in open(path):
        if line.startswith("bz_layer_row("):
            rows.append(macro_args(line))
        elif line.startswith("bz_step_row(0,"):
            steps.append(macro_args(line))
    out = []
    for _phase, layer, _kernel, macs in steps:
        name, op, _ic, _ih, _iw, c, h, w, params, counted, _flag = rows[layer]
        run = counted
        if op == "Linear":
            run = params * h * w
        elif op == "scaled_dot_product_attention":
            tokens = h * w // ATTENTION_SEQUENCES
            run = 2 * tokens * tokens * c * ATTENTION_SEQUENCES
        out.append((name, macs, run))
    return out


main()
