#!/bin/sh
# bzgen's handling of bad input, plus a few positive checks.
#
# Every directory tests/bad_yaml/<case>/ is one malformed input: spec.yaml,
# defaults.yaml and blocks/ (what bzgen reads), an optional `args` (extra
# bzgen arguments, one per line) and `expect`, two lines:
#     the location bzgen must report, relative to the case directory:
#         file:line:column, or file:line (any column), or file (no position)
#     a substring of the message
# bzgen runs inside the case directory as
#     bzgen --spec spec.yaml --blocks blocks --defaults defaults.yaml --output TMP/model.m4
# and passes when it exits non-zero, writes exactly one line to stderr,
# "LOCATION: error: MESSAGE", whose location is the expected one (or, for a
# shorter expectation, extends it by ':...') and whose message contains the
# expected substring, and writes nothing into the fresh output directory.
# Prints one TAP line per check; exits 1 when any check fails.
set -u
cd "$(dirname "$0")/.." || exit 1
root=$(pwd)
# bzgen built with ASan and UBSan (-fno-sanitize-recover=all): a memory or
# undefined-behaviour error on any input fails its check
bzgen="$root/build/tests/bzgen-asan"
export ASAN_OPTIONS=detect_leaks=0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

status=0
pass() { echo "ok - $*"; }
fail() { echo "not ok - $*"; status=1; }

if ! make -s build/tests/bzgen-asan >"$tmp/make.log" 2>&1; then
    fail "bad_yaml: make -s build/tests/bzgen-asan failed: $(head -n 1 "$tmp/make.log")"
    exit 1
fi

runner=""
command -v timeout >/dev/null 2>&1 && runner="timeout 60"

# one_line FILE: succeeds when FILE is exactly one non-empty, newline-ended line.
one_line() {
    [ "$(wc -l <"$1" | tr -d ' ')" = 1 ] && [ -n "$(head -n 1 "$1")" ]
}

# Describes what is in directory $1 (empty when nothing).
# shellcheck disable=SC2012  # bzgen writes plain names; ls -A is enough
listing() {
    (cd "$1" && ls -A | tr '\n' ' ' | sed 's/ $//')
}

for dir in tests/bad_yaml/*/; do
    [ -d "$dir" ] || continue
    case_name=$(basename "$dir")
    if [ ! -f "$dir/expect" ] || [ ! -f "$dir/spec.yaml" ]; then
        fail "bad_yaml $case_name: needs spec.yaml and expect"
        continue
    fi
    { read -r loc; read -r msg; } <"$dir/expect"
    if [ -z "${loc:-}" ] || [ -z "${msg:-}" ]; then
        fail "bad_yaml $case_name: expect must hold a location line and a message line"
        continue
    fi
    out="$tmp/$case_name"
    rm -rf "$out"
    mkdir "$out"
    (
        cd "$dir" || exit 99
        set -- --spec spec.yaml --blocks blocks --defaults defaults.yaml --output "$out/model.m4"
        if [ -f args ]; then
            while IFS= read -r a || [ -n "$a" ]; do
                set -- "$@" "$a"
            done <args
        fi
        $runner "$bzgen" "$@" >"$tmp/stdout" 2>"$tmp/stderr"
        rc=$?
        exit $rc
    )
    rc=$?
    line=$(head -n 1 "$tmp/stderr")
    written=$(listing "$out")
    if [ "$rc" -eq 0 ]; then
        fail "bad_yaml $case_name: bzgen accepted it (exit 0)"
    elif [ "$rc" -eq 124 ]; then
        fail "bad_yaml $case_name: bzgen timed out"
    elif [ "$rc" -gt 128 ]; then
        fail "bad_yaml $case_name: bzgen crashed (exit $rc, signal $((rc - 128)))${line:+: $line}"
    elif ! one_line "$tmp/stderr"; then
        fail "bad_yaml $case_name: stderr is not exactly one line ($(wc -l <"$tmp/stderr" | tr -d ' ') lines): $line"
    else
        case "$line" in
        *": error: "*)
            got_loc=${line%%": error: "*}
            got_msg=${line#*": error: "}
            ;;
        *)
            got_loc=""
            got_msg=$line
            ;;
        esac
        case "$got_loc" in
        "$loc" | "$loc":*) loc_ok=1 ;;
        *) loc_ok=0 ;;
        esac
        case "$got_msg" in
        *"$msg"*) msg_ok=1 ;;
        *) msg_ok=0 ;;
        esac
        if [ -z "$got_loc" ]; then
            fail "bad_yaml $case_name: not 'LOCATION: error: MESSAGE': $line"
        elif [ "$loc_ok" = 0 ]; then
            fail "bad_yaml $case_name: reported at $got_loc, expected $loc: $line"
        elif [ "$msg_ok" = 0 ]; then
            fail "bad_yaml $case_name: message lacks '$msg': $line"
        elif [ -n "$written" ]; then
            fail "bad_yaml $case_name: wrote output despite the error: $written"
        else
            pass "bad_yaml $case_name: $got_loc $got_msg"
        fi
    fi
done

# A 520 KB chain of 130,000 '?:' (the stack overflowed before they counted
# towards the nesting limit): one line, at the expression, quoted short.
deep="$tmp/deep_ternary"
cp -r tests/bad_yaml/expr_deep_ternary "$deep"
awk '/kernel:/ { printf "    kernel: "; for (i = 0; i < 130000; i++) printf "1?3:"; print "3"; next } { print }' \
    tests/bad_yaml/expr_deep_ternary/blocks/bad.yaml >"$deep/blocks/bad.yaml"
(cd "$deep" && $runner "$bzgen" --spec spec.yaml --blocks blocks --defaults defaults.yaml \
    --output "$tmp/deep.m4" >/dev/null 2>"$tmp/stderr")
rc=$?
if [ $rc -eq 1 ] && one_line "$tmp/stderr" && grep -q "bad.yaml:6:[0-9]*: error: in expression '1?3:.\{53\}\.\.\.': nested too deeply" "$tmp/stderr" &&
   [ "$(wc -c <"$deep/blocks/bad.yaml")" -gt 500000 ]; then
    pass "bad_yaml: a 520 KB ?: chain is refused in one short line"
else
    fail "bad_yaml: a 520 KB ?: chain: exit $rc: $(head -c 300 "$tmp/stderr")"
fi

# Sub-block fan-out: nested sub-blocks are bounded by the layer limit (16
# children x 7 levels would be 268 million layers), and a 10,000-layer
# network generates (its memory plan once took minutes; see README).
# fan_out DIR CHILDREN LEVELS LEAVES: blocks/big.yaml, sub-blocks l1..lN
fan_out() {
    mkdir -p "$1/blocks"
    cp blocks/*.yaml specs/defaults.yaml "$1/blocks/" && mv "$1/blocks/defaults.yaml" "$1/"
    printf 'block: big\nposition: late\nscaffold: {num_blocks: 1}\n' >"$1/spec.yaml"
    awk -v children="$2" -v levels="$3" -v leaves="$4" -v dir="$1/blocks" 'BEGIN {
        for (l = 1; l <= levels; l++) {
            f = dir "/l" l ".yaml"
            print "name: L" l "\nnodes:" > f
            for (i = 0; i < (l == 1 ? leaves : children); i++)
                print (l == 1 ? "  - {name: r" i ", op: relu}" : "  - {name: c" i ", op: l" (l - 1) "}") > f
        }
        f = dir "/big.yaml"
        print "name: Big\nnodes:\n  - {name: conv1, op: conv2d, out: out, kernel: 1, stride: stride}" > f
        for (i = 0; i < children; i++)
            print "  - {name: s" i ", op: l" levels "}" > f
    }'
}
fan_out "$tmp/fan7" 16 6 16
(cd "$tmp/fan7" && $runner "$bzgen" --spec spec.yaml --blocks blocks --defaults defaults.yaml \
    --output "$tmp/fan7.m4" >/dev/null 2>"$tmp/stderr")
rc=$?
if [ $rc -eq 1 ] && one_line "$tmp/stderr" && grep -q "grows past 20000 layers" "$tmp/stderr"; then
    pass "bad_yaml: 16 sub-blocks x 7 levels stop at the layer limit: $(cat "$tmp/stderr")"
else
    fail "bad_yaml: 16 sub-blocks x 7 levels: exit $rc: $(head -c 300 "$tmp/stderr")"
fi
fan_out "$tmp/fan10k" 80 1 125
mkdir -p "$tmp/fan10k_out"
if (cd "$tmp/fan10k" && $runner "$bzgen" --spec spec.yaml --blocks blocks --defaults defaults.yaml \
        --output "$tmp/fan10k_out/model.m4" >/dev/null 2>"$tmp/stderr") &&
   [ "$(grep -c "^bz_layer_row(\[<stage3\.0\.s[0-9]*\.r[0-9]*>\], \[<ReLU>\]" "$tmp/fan10k_out/desc.m4")" -eq 10000 ]; then
    pass "bzgen generates a network of 10,000 relu layers (80 sub-blocks of 125)"
else
    fail "bzgen on 10,000 layers: $(head -c 300 "$tmp/stderr")"
fi

# A BatchNorm eps reaches the generated code exactly (it was %g: 1.23457e-05).
cp -r blocks "$tmp/eps_blocks"
sed -i 's/{name: bn1, op: batchnorm2d}/{name: bn1, op: batchnorm2d, eps: 0.0000123456789}/' \
    "$tmp/eps_blocks/resnet_basic_block.yaml"
if $runner "$bzgen" --spec specs/resnet_basic_block_mid.yaml --blocks "$tmp/eps_blocks" \
       --output "$tmp/eps.m4" 2>"$tmp/stderr" &&
   grep -q "1.23456789e-05, bz_momentum" "$tmp/eps.m4" && ! grep -q "1.23457e-05" "$tmp/eps.m4" &&
   grep -q ", 1e-05, bz_momentum" "$tmp/eps.m4"; then
    pass "bzgen writes a BatchNorm eps of 0.0000123456789 exactly (1.23456789e-05), 1e-5 as 1e-05"
else
    fail "bzgen writes a BatchNorm eps exactly: $(grep -o "[0-9.e-]*, bz_momentum" "$tmp/eps.m4" | sort -u | tr '\n' ' ')"
fi

# A residual add folds into the conv before it only where the add's other
# operand may be overwritten: not the conv's own input (sum1: conv2 reads
# act1, which the sum would take over while conv2 still reads it), but a
# tensor nothing reads after the conv but the add (sum2: d, that conv3 read).
mkdir -p "$tmp/residual/blocks"
cp blocks/*.yaml specs/defaults.yaml "$tmp/residual/blocks/"
mv "$tmp/residual/blocks/defaults.yaml" "$tmp/residual/"
printf 'block: selfres\nposition: late\nscaffold: {num_blocks: 1}\n' >"$tmp/residual/spec.yaml"
cat >"$tmp/residual/blocks/selfres.yaml" <<'YAML'
name: SelfRes
nodes:
  - {name: conv1, op: conv2d, out: out, kernel: 1, stride: stride}
  - {name: act1, op: relu}
  - {name: conv2, op: conv2d, out: out, kernel: 3, padding: 1}
  - {name: sum1, op: add, inputs: [act1, conv2]}
  - {name: conv3, op: conv2d, out: out, kernel: 1}
  - {name: conv4, op: conv2d, out: out, kernel: 1}
  - {name: sum2, op: add, inputs: [sum1, conv4]}
YAML
if (cd "$tmp/residual" && $runner "$bzgen" --spec spec.yaml --blocks blocks --defaults defaults.yaml \
        --output "$tmp/residual/model.m4" >/dev/null 2>"$tmp/stderr") &&
   sed -n '/^bz_forward_begin(\[<forward_deploy>\])/,$p' "$tmp/residual/model.m4" \
       >"$tmp/residual/deploy.m4" &&
   grep -q '^bz_layer(\[<stage3\.0\.sum1>\], \[<add>\]' "$tmp/residual/deploy.m4" &&
   grep -q '^bz_layer(\[<stage3\.0\.conv2>\], \[<Conv2d>\]' "$tmp/residual/deploy.m4" &&
   grep -q '^bz_layer(\[<stage3\.0\.conv4>\], \[<Conv2d + residual add fused>\]' "$tmp/residual/deploy.m4" &&
   ! grep -q '^bz_layer(\[<stage3\.0\.sum2>\]' "$tmp/residual/deploy.m4"; then
    pass "deploy graph: an add folds into the conv before it (sum2 into conv4), not where that conv reads the other operand (sum1)"
else
    fail "deploy graph's residual adds: $(head -c 300 "$tmp/stderr"; grep -o '^bz_layer(\[<stage3\.0\.[a-z0-9]*>\], \[<[^>]*>' "$tmp/residual/deploy.m4" | tr '\n' ' ')"
fi

# --output must not overwrite an input: the spec, the defaults, a block file.
for victim in spec defaults block; do
    mkdir -p "$tmp/victim_$victim/blocks"
    cp blocks/*.yaml "$tmp/victim_$victim/blocks/"
    cp specs/resnet_basic_block_mid.yaml "$tmp/victim_$victim/spec.yaml"
    cp specs/defaults.yaml "$tmp/victim_$victim/defaults.yaml"
    case $victim in
    spec) target=spec.yaml ;;
    defaults) target=defaults.yaml ;;
    block) target=blocks/resnet_basic_block.yaml ;;
    esac
    cp "$tmp/victim_$victim/$target" "$tmp/victim.before"
    (cd "$tmp/victim_$victim" && "$bzgen" --spec spec.yaml --blocks blocks --output "$target" \
        >/dev/null 2>"$tmp/stderr")
    rc=$?
    if [ $rc -eq 1 ] && one_line "$tmp/stderr" && grep -q "would overwrite the input" "$tmp/stderr" &&
       cmp -s "$tmp/victim.before" "$tmp/victim_$victim/$target"; then
        pass "bzgen --output refuses to overwrite its $victim file: $(cat "$tmp/stderr")"
    else
        fail "bzgen --output onto its $victim file: exit $rc: $(head -n 1 "$tmp/stderr")"
    fi
done

# Positive checks: every real experiment spec is accepted.
for spec in specs/*.yaml; do
    [ "$(basename "$spec")" = defaults.yaml ] && continue
    out="$tmp/accept"
    rm -rf "$out"
    mkdir "$out"
    $runner "$bzgen" --spec "$spec" --blocks blocks --output "$out/model.m4" >"$tmp/stdout" 2>"$tmp/stderr"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "bzgen accepts $spec: exit $rc: $(head -n 1 "$tmp/stderr")"
    elif [ -s "$tmp/stderr" ]; then
        fail "bzgen accepts $spec: wrote to stderr: $(head -n 1 "$tmp/stderr")"
    elif [ ! -s "$out/model.m4" ] || [ ! -s "$out/desc.m4" ]; then
        fail "bzgen accepts $spec: model.m4 and desc.m4 not both written (have: $(listing "$out"))"
    elif [ "$(listing "$out")" != "desc.m4 model.m4" ]; then
        fail "bzgen accepts $spec: unexpected files left: $(listing "$out")"
    else
        pass "bzgen accepts $spec"
    fi
done

# Determinism: two runs on the same spec give the same bytes.
det_ok=1
for run in 1 2; do
    mkdir "$tmp/det$run"
    if ! $runner "$bzgen" --spec specs/inverted_residual_late.yaml --blocks blocks \
        --output "$tmp/det$run/model.m4" >/dev/null 2>"$tmp/stderr"; then
        fail "bzgen output byte-identical across runs: run $run failed: $(head -n 1 "$tmp/stderr")"
        det_ok=0
        break
    fi
done
if [ "$det_ok" = 1 ]; then
    if cmp -s "$tmp/det1/model.m4" "$tmp/det2/model.m4" && cmp -s "$tmp/det1/desc.m4" "$tmp/det2/desc.m4"; then
        pass "bzgen output byte-identical across runs"
    else
        fail "bzgen output byte-identical across runs: model.m4 or desc.m4 differs between runs"
    fi
fi

# Kernel units (--kernel-dir): two experiments share one directory; each
# lists its units in kernels.mk; a unit both call is written once (the
# second experiment and a rerun leave the file alone: same inode); a conv's
# backward unit holds its forward kernel as the base whose helpers it calls.
kd=$tmp/units/kernels
mkdir -p "$tmp/units/a" "$tmp/units/b"
inodes() { find "$kd" -name '*.m4' -exec stat -c '%n %i' {} + | sort; }
if $runner "$bzgen" --spec specs/resnet_basic_block_mid.yaml --blocks blocks \
       --output "$tmp/units/a/model.m4" --kernel-dir "$kd" 2>"$tmp/stderr" &&
   inodes >"$tmp/units/inodes1" &&
   $runner "$bzgen" --spec specs/se_basic_block_mid.yaml --blocks blocks \
       --output "$tmp/units/b/model.m4" --kernel-dir "$kd" 2>>"$tmp/stderr" &&
   $runner "$bzgen" --spec specs/resnet_basic_block_mid.yaml --blocks blocks \
       --output "$tmp/units/a/model.m4" --kernel-dir "$kd" 2>>"$tmp/stderr"; then
    sed -n "s|^ *$kd/\([^ ]*\).*|\1|p" "$tmp/units/a/kernels.mk" | sort >"$tmp/units/la"
    sed -n "s|^ *$kd/\([^ ]*\).*|\1|p" "$tmp/units/b/kernels.mk" | sort >"$tmp/units/lb"
    shared=$(comm -12 "$tmp/units/la" "$tmp/units/lb" | wc -l)
    missing=$(cat "$tmp/units/la" "$tmp/units/lb" | while read -r u; do
        [ -f "$kd/$u.m4" ] || echo "$u"; done | head -n 1)
    lines=$(grep -c '_kernels\?(bz_kernel_name' "$tmp/units/a/model.m4")
    bwd=$(find "$kd/conv2d_backward_kernel" -name '*.m4' | head -n 1)
    if [ -z "$missing" ] && [ "$(wc -l <"$tmp/units/la")" -eq "$lines" ] && [ "$shared" -ge 10 ] &&
       inodes | grep -F -f "$tmp/units/la" | cmp -s - "$tmp/units/inodes1" &&
       sed -n 2,3p "$bwd" | grep -q '^bz_conv2d_forward_kernel(bz_kernel_name' &&
       [ "$(sed -n 2p "$bwd")" = bz_unit_base ] && [ "$(sed -n 4p "$bwd")" = bz_unit_entries ]; then
        pass "bzgen --kernel-dir: $lines units listed and written, $shared shared by two experiments and left alone when written again, backward units on their forward"
    else
        fail "bzgen --kernel-dir: missing '$missing', $(wc -l <"$tmp/units/la") of $lines listed, $shared shared, inodes $(inodes | grep -F -f "$tmp/units/la" | cmp - "$tmp/units/inodes1" 2>&1 | head -n 1)"
    fi
else
    fail "bzgen --kernel-dir: $(head -n 1 "$tmp/stderr")"
fi
mkdir -p "$tmp/badkd"
for dir in "$tmp/badkd/a b" "$tmp/badkd/model.m4/kernels"; do
    rm -rf "$tmp/badkd/out" && mkdir "$tmp/badkd/out"
    : >"$tmp/badkd/model.m4"
    "$bzgen" --spec specs/resnet_basic_block_mid.yaml --blocks blocks --output "$tmp/badkd/out/model.m4" \
        --kernel-dir "$dir" >/dev/null 2>"$tmp/stderr"
    rc=$?
    if [ $rc -eq 1 ] && one_line "$tmp/stderr" && [ -z "$(listing "$tmp/badkd/out")" ]; then
        pass "bzgen --kernel-dir '${dir#"$tmp"/}': one-line error, nothing written: $(cat "$tmp/stderr")"
    else
        fail "bzgen --kernel-dir '${dir#"$tmp"/}': exit $rc, left $(listing "$tmp/badkd/out"): $(head -n 1 "$tmp/stderr")"
    fi
done

# Command line.
"$bzgen" --help >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^usage: bzgen' "$tmp/stdout" && [ ! -s "$tmp/stderr" ]; then
    pass "bzgen --help exits 0 and prints the usage"
else
    fail "bzgen --help: exit $rc, stdout starts '$(head -n 1 "$tmp/stdout")', stderr '$(head -n 1 "$tmp/stderr")'"
fi

"$bzgen" --frobnicate >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
if [ "$rc" -eq 1 ] && one_line "$tmp/stderr" && grep -q -- 'frobnicate' "$tmp/stderr" && [ ! -s "$tmp/stdout" ]; then
    pass "bzgen rejects an unknown option: $(cat "$tmp/stderr")"
else
    fail "bzgen --frobnicate: exit $rc (want 1), stderr: $(head -n 3 "$tmp/stderr" | tr '\n' '|')"
fi

exit $status
