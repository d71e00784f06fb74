#!/bin/sh
# `bzsweep report` on a known results CSV that this test writes: every number
# of report.json against one computed here independently (means, standard
# deviations, BlockZoo's generality, the ranking), the Markdown's links, the
# HTML in headless Chromium (tables and every plot, nothing fetched, a
# screenshot for a person in build/tests/report.png), several CSVs at once,
# and bad CSVs.  Prints TAP-style "ok - ..." / "not ok - ..." lines.
# shellcheck disable=SC2016  # the sh -c snippets expand their own $1, $2
set -u
cd "$(dirname "$0")/.." || exit 1

PY=/usr/bin/python3
. tests/tap.sh

mkdir -p build/tests
T=$(mktemp -d "$PWD/build/tests/t_report.XXXXXX")
trap 'rm -rf "$T"' EXIT
SW=build/bzsweep
if ! make -s $SW >"$T/make.log" 2>&1; then
    sed 's/^/# /' "$T/make.log" | tail -n 20
    notok "make builds $SW"
    exit 1
fi

# ---- a known CSV: 3 blocks x 3 positions x 3 seeds, BlockZoo's columns,
# per-run metrics CSVs beside the checkpoints for the training curves ----
$PY - "$T" <<'EOF'
import csv, os, random, sys
t = sys.argv[1]
rng = random.Random(7)
cols = ("timestamp,block,dataset,position,epochs,batch_size,lr,val_loss,val_acc,training_time,"
        "params_total,params_trainable,flops,memory_mb,latency_ms,latency_std,throughput,device,"
        "num_blocks,base_channels,out_dim,experiment_name,notes,seed,checkpoint").split(",")
with open(f"{t}/known.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(cols)
    for block in ("ResNetBasicBlock", "InvertedResidual", "MobileOneBlock"):
        for position in ("early", "mid", "late"):
            for seed in range(3):
                run = f"{t}/runs/{block}_{position}/seed{seed}"
                os.makedirs(run)
                with open(f"{run}/metrics.csv", "w") as m:
                    m.write("epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds\n")
                    for e in range(1, 4):
                        m.write(f"{e},1.0,0.5,1.0,{0.5 + 0.1 * e + rng.random() / 50:.6f},0.001,1.0\n")
                lat = "" if (block, seed) == ("MobileOneBlock", 2) else f"{rng.uniform(0.2, 2):.6f}"
                w.writerow(["2026-12-02T00:00:00+00:00", block, "fashion_mnist", position, 3, 128,
                            0.001, f"{rng.uniform(0.3, 0.9):.6f}", f"{rng.uniform(0.6, 0.95):.6f}",
                            f"{rng.uniform(10, 99):.3f}", rng.randrange(10000, 90000), 0,
                            rng.randrange(10**6, 10**8), f"{rng.uniform(30, 300):.3f}", lat,
                            "0.01" if lat else "", f"{rng.uniform(100, 5000):.3f}" if lat else "",
                            "cpu", 1, 16, 10, f"{block}_{position}", "", seed, f"{run}/best.safetensors"])
EOF
if $SW report "$T/known.csv" --output "$T/report" >"$T/report.out" 2>&1; then
    ok "report on a known CSV of 27 runs"
else
    sed 's/^/# /' "$T/report.out"; notok "report on a known CSV of 27 runs"
fi
check "report: index.html, report.md, report.json and each plot as SVG, PNG and gnuplot script" sh -c '
    cd "$1" && [ -s index.html ] && [ -s report.md ] && [ -s report.json ] &&
    for p in acc_vs_latency acc_vs_flops acc_vs_params acc_vs_memory acc_by_position training_curves; do
        [ -s $p.svg ] && [ -s $p.png ] && [ -s $p.gp ] || exit 1; done' sh "$T/report"

check "report.json: every mean, std, count, generality and rank equals an independent computation" $PY - "$T/known.csv" "$T/report/report.json" <<'EOF'
import csv, json, math, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
rep = json.load(open(sys.argv[2]))
metrics = ["val_acc", "val_loss", "params_total", "flops", "memory_mb", "latency_ms",
           "throughput", "training_time"]
def close(a, b):
    return (a is None and b is None) or (a is not None and b is not None and
                                         math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12))
groups = {}
for r in rows:
    groups.setdefault((r["block"], r["position"]), []).append(r)
assert len(rep["groups"]) == len(groups) == 9, len(rep["groups"])
for g in rep["groups"]:
    rs = groups[(g["block"], g["position"])]
    assert g["seeds"] == len(rs) == 3, g
    for m in metrics:
        xs = [float(r[m]) for r in rs if r[m] != ""]
        want_mean = statistics.fmean(xs) if xs else None
        want_std = statistics.stdev(xs) if len(xs) > 1 else None
        got = g["metrics"][m]
        assert got["count"] == len(xs), (g["block"], m, got)
        assert close(got["mean"], want_mean) and close(got["std"], want_std), (g["block"], m, got, want_mean, want_std)
blocks = {}
for r in rows:
    blocks.setdefault(r["block"], []).append(float(r["val_acc"]))
gen = {b: statistics.fmean(x) / (1 + statistics.variance(x)) for b, x in blocks.items()}
assert [s["block"] for s in rep["generality"]] == sorted(gen, key=lambda b: -gen[b]), rep["generality"]
for s in rep["generality"]:
    assert s["rows"] == 9 and close(s["generality"], gen[s["block"]]), s
    assert close(s["val_acc_var"], statistics.variance(blocks[s["block"]])), s
for pos in ("early", "mid", "late"):
    means = {b: statistics.fmean(float(r["val_acc"]) for r in groups[(b, pos)]) for b in blocks}
    want = sorted(means, key=lambda b: -means[b])
    got = rep["ranking"][pos]
    assert [e["block"] for e in got] == want and [e["rank"] for e in got] == [1, 2, 3], got
    assert all(close(e["val_acc_mean"], means[e["block"]]) for e in got), got
EOF

check "report.md: the tables, and every link resolves to a file beside it" $PY - "$T/report" <<'EOF'
import os, re, sys
d = sys.argv[1]
md = open(os.path.join(d, "report.md")).read()
for title in ("Per block and position", "Generality per block", "Ranking of blocks by position",
              "How it was measured"):
    assert "## " + title in md, title
links = re.findall(r"\]\(([^)]+)\)", md)
assert len(links) >= 19, links   # 6 plots x (SVG, PNG, script) + report.json
missing = [l for l in links if not os.path.isfile(os.path.join(d, l))]
assert not missing, missing
assert len(re.findall(r"^\| ResNetBasicBlock \| (early|mid|late) \| 3 \|", md, re.M)) == 3, "a row per position"
EOF

check "index.html: self-contained (no image, script or stylesheet fetched, SVG inlined)" $PY - "$T/report/index.html" <<'EOF'
import re, sys
html = open(sys.argv[1]).read()
assert "<img" not in html and "<script" not in html and "<link" not in html, "external content"
assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html), "a URL to fetch"
assert html.count("<svg") == 6 and "<?xml" not in html, html.count("<svg")
EOF

if command -v chromium >/dev/null 2>&1; then
    chrome() {  # headless, no network at all
        timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
            --host-resolver-rules="MAP * ~NOTFOUND" --window-size=1300,2400 "$@" 2>/dev/null
    }
    chrome --dump-dom "file://$T/report/index.html" >"$T/dom.html"
    check "Chromium renders the page: 3 tables, 6 plots each with its drawing, no error" $PY - "$T/dom.html" <<'EOF'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.tables = {}; self.table = None; self.figs = []; self.svg_paths = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table": self.table = a.get("id"); self.tables[self.table] = 0
        if tag == "tr" and self.table: self.tables[self.table] += 1
        if tag == "figure": self.figs.append(0)
        if tag in ("path", "polyline", "circle", "use") and self.figs: self.figs[-1] += 1
    def handle_endtag(self, tag):
        if tag == "table": self.table = None
p = P(); p.feed(open(sys.argv[1]).read())
assert p.tables == {"summary": 10, "generality": 4, "ranking": 4}, p.tables
assert len(p.figs) == 6 and all(n > 10 for n in p.figs), p.figs
EOF
    rm -f build/tests/report.png
    chrome --screenshot="$PWD/build/tests/report.png" "file://$T/report/index.html" >/dev/null
    check "Chromium writes a screenshot of the report for a person: build/tests/report.png" \
        sh -c '[ "$(head -c 4 build/tests/report.png | od -An -c | tr -d " ")" = "211PNG" ] &&
               [ "$(stat -c %s build/tests/report.png)" -gt 50000 ]'
else
    skip "the HTML report in headless Chromium" "chromium is not installed (Debian: chromium)"
fi

# ---- several CSVs: one source each ---------------------------------------
mkdir -p "$T/machine_a" "$T/machine_b"
cp "$T/known.csv" "$T/machine_a/results.csv"
head -n 10 "$T/known.csv" >"$T/machine_b/results.csv"
$SW report "$T/machine_a/results.csv" "$T/machine_b/results.csv" --output "$T/both" >"$T/both.out" 2>&1
check "report on two CSVs: groups per source (9 + 3), sources named in the tables" $PY -c '
import json, sys
r = json.load(open(sys.argv[1]))
src = [g["source"] for g in r["groups"]]
assert src.count("machine_a") == 9 and src.count("machine_b") == 3, src
assert r["rows"] == 36
' "$T/both/report.json"

# ---- a bench --output CSV beside the results: the batch-scaling table ----
cat >"$T/bench.csv" <<'EOF'
timestamp,block,position,experiment_name,device,backend,threads,batch_size,warmup_runs,benchmark_runs,latency_ms,latency_std,latency_median_ms,latency_p90_ms,throughput,gflops,train_step_ms,train_throughput,params_total,flops,num_blocks,base_channels,out_dim,cpu_model,gemm,commit
t,B,mid,b_mid,cpu,optimised,2,1,1,5,2.0,0,0,0,500,1,10,100,1,1,1,8,10,cpu,gemm,c
t,B,mid,b_mid,cpu,optimised,2,1,1,5,4.0,0,0,0,250,1,30,50,1,1,1,8,10,cpu,gemm,c
t,B,mid,b_mid,cpu,optimised,2,8,1,5,8.0,0,0,0,1000,1,,,1,1,1,8,10,cpu,gemm,c
t,A,late,a_late,cpu,optimised,2,1,1,5,1.0,0,0,0,1000,1,5,200,1,1,1,8,10,cpu,gemm,c
EOF
$SW report "$T/known.csv" "$T/bench.csv" --output "$T/scaling" >"$T/scaling.out" 2>&1
check "report with a bench --output CSV: batch scaling averaged per experiment and batch, plotted" $PY -c '
import json, os, sys
r = json.load(open(sys.argv[1] + "/report.json"))
assert len(r["groups"]) == 9 and "source" not in r["groups"][0], r["groups"][0]
got = [(p["experiment"], p["batch_size"], p["rows"], p["latency_ms"], p["throughput"], p["train_throughput"])
       for p in r["batch_scaling"]]
assert got == [("a_late", 1, 1, 1.0, 1000.0, 200.0), ("b_mid", 1, 2, 3.0, 375.0, 75.0),
               ("b_mid", 8, 1, 8.0, 1000.0, None)], got
assert os.path.getsize(sys.argv[1] + "/batch_scaling.svg") > 1000
assert "<table id=\"batch-scaling\">" in open(sys.argv[1] + "/index.html").read()
' "$T/scaling"

# ---- the same under ASan/UBSan: no memory error on good and bad input ----
if gcc -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
       -o "$T/bzsweep_asan" sweep/*.c gen/yaml_doc.c gen/diag.c -lyaml -lm -ljansson 2>"$T/asan.log"; then
    check "report under ASan/UBSan: a known CSV, a bench CSV, a corrupt CSV" sh -c '
        export ASAN_OPTIONS=detect_leaks=0
        "$1/bzsweep_asan" report "$1/known.csv" "$1/known.csv" "$1/bench.csv" --output "$1/asan" >/dev/null 2>"$1/asan.err" &&
        sed "3s/,cpu,/,\"cpu,/" "$1/known.csv" >"$1/corrupt.csv" &&
        ! "$1/bzsweep_asan" report "$1/corrupt.csv" --output "$1/asan2" 2>>"$1/asan.err" &&
        ! grep -q "Sanitizer" "$1/asan.err"' sh "$T"
else
    sed 's/^/# /' "$T/asan.log" | tail -n 5; notok "bzsweep builds with ASan/UBSan"
fi

# ---- bad CSVs: file:line and a non-zero exit, nothing written ----------
bad_csv() {  # bad_csv NAME EXPECTED-REGEX: the CSV is made from known.csv by a sed script on stdin
    name=$1 want=$2
    sed -f /dev/stdin "$T/known.csv" >"$T/$name.csv"
    if $SW report "$T/$name.csv" --output "$T/bad" >"$T/bad.out" 2>"$T/bad.err"; then
        notok "$name: accepted"
    elif [ "$(wc -l <"$T/bad.err")" -ne 1 ] || ! grep -Eq "$want" "$T/bad.err"; then
        sed 's/^/# /' "$T/bad.err"; notok "$name: error message"
    elif [ -e "$T/bad" ] || [ -e "$T/bad.tmp" ]; then
        notok "$name: a report was written"
    else
        ok "$name: $(cat "$T/bad.err")"
    fi
}
echo '1s/,val_acc,/,accuracy,/' | bad_csv missing_column "missing_column.csv:1: error: missing column 'val_acc'"
echo '3s/,cpu,/,cpu,extra,/' | bad_csv extra_field "extra_field.csv:3: error: 26 fields, the header has 25"
printf '%s\n' '5s/^\([^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,[^,]*,\)[^,]*/\1abc/' |
    bad_csv not_a_number "not_a_number.csv:5: error: column 'val_acc': 'abc' is not a number"
echo '6s/,cpu,/,"cpu,/' | bad_csv open_quote "open_quote.csv:6: error: unterminated quoted field"
echo '2,$d' | bad_csv no_rows "no_rows.csv:1: error: no rows after the header"
mkdir -p "$T/precious"
echo keep >"$T/precious/data.txt"
if $SW report "$T/known.csv" --output "$T/precious" >/dev/null 2>"$T/bad.err"; then
    notok "report --output onto a directory that is not a report: accepted"
else
    check "report --output onto a directory that is not a report is refused, the directory kept" \
        sh -c 'grep -q "is not a report" "$1/bad.err" && [ "$(cat "$1/precious/data.txt")" = keep ]' sh "$T"
fi
if $SW report "$T/none.csv" >/dev/null 2>"$T/bad.err"; then notok "a missing CSV: accepted"; else
    check "a missing CSV: one line naming it" grep -q "none.csv: error: cannot open" "$T/bad.err"; fi

finish t_report
