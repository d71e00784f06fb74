#!/bin/sh
# Templates that forget a kernel fail the build: for each backend, a copy of
# templates/ without its definition of bz_relu_kernels (the optimised
# backend: nor the reference's it falls back on) makes the m4 step of
# a ReLU kernel unit (build/kernels/relu_kernels/; CUDA: the model's
# source, which holds its kernels) fail, naming the generated file and the
# macro
# (scripts/check-expanded.sh, run by every m4 rule of the Makefile); with
# the real templates the same step passes.  A template that calls a
# misspelt helper macro fails the same way.  Every backend defines every
# kernel macro that bzgen's operator table names (bzgen --list-operators).
# Prints TAP-style lines.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh

V=resnet_basic_block_mid-nb1-bc8
if ! make -s CUDA= EXP=resnet_basic_block_mid NUM_BLOCKS=1 BASE_CHANNELS=8 gen >/dev/null 2>&1; then
    notok "make gen $V"; exit 1
fi
MODEL=build/$V/model.m4
# unit MACRO: the first of the model's kernel units of MACRO
unit() { sed -n "s|^ *\(build/kernels/$1/[^ ]*\).*|\1.m4|p" "build/$V/kernels.mk" | head -n 1; }
RELU=$(unit relu_kernels) BN=$(unit batchnorm2d_kernels)
T=$(mktemp -d "$PWD/build/tests/t_templates.XXXXXX")
trap 'rm -rf "$T"' EXIT

for backend in reference optimised cuda; do
    case $backend in
    reference) main=model.c.m4 prefix=ref relu=$RELU bn_unit=$BN ;;
    optimised) main=model.c.m4 prefix=opt relu=$RELU bn_unit=$BN ;;
    # CUDA kernels are expanded in the model's source (templates/model.cu.m4)
    cuda) main=model.cu.m4 prefix=cuda relu=$MODEL bn_unit=$MODEL ;;
    esac
    expand() {  # expand TEMPLATES-DIR [INPUT]: m4 and the check, as the Makefile does
        in=${2:-$relu}
        m4 -P -I "$1" -D bz_backend_label=$backend -D bz_fn_prefix=$prefix "$1/$main" "$in" \
            >"$T/out.tmp" && scripts/check-expanded.sh "$T/out.c" "$T/out.tmp" "$in"
    }
    check "$backend: the real templates define every macro $V uses" expand templates "$MODEL"
    [ "$relu" = "$MODEL" ] || check "$backend: ... and expand its ReLU unit $relu" expand templates "$relu"
    rm -rf "$T/templates" && cp -r templates "$T/templates"
    # drop the backend's definition of bz_relu_kernels (its whole m4_define);
    # the optimised backend falls back on the reference's, so both go
    dirs=$backend
    [ $backend = optimised ] && dirs="optimised reference"
    for d in $dirs; do
        awk '/^m4_define\(\[<bz_relu_kernels>\]/ { skip = 1 } skip && /^>\]\)/ { skip = 0; next } !skip' \
            "templates/$d/activation.m4" >"$T/templates/$d/activation.m4"
    done
    # planted DONE WHAT ERROR: where the shell test DONE says the change to
    # the copy of templates/ took, expanding with the copy fails with ERROR
    planted() {  # planted DONE WHAT ERROR [INPUT]
        if ! eval "$1"; then
            notok "$backend: the test could not make $2"
        elif expand "$T/templates" "${4:-$relu}" 2>"$T/err"; then
            notok "$backend: $2 still builds"
        else
            check "$backend: $2 fails: $(cat "$T/err")" grep -q "$3" "$T/err"
        fi
    }
    planted "! grep -q 'bz_relu_kernels>\]' '$T/templates/$backend/activation.m4'" \
        "a template without bz_relu_kernels" \
        "out.c:[0-9]*: error: macro bz_relu_kernels .* is not defined by the templates"
    # a misspelt helper: the relu template calls bz_relu_helpr, defined nowhere
    rm -rf "$T/templates" && cp -r templates "$T/templates"
    file=$(grep -l '^m4_define(\[<bz_relu_kernels>\]' "templates/$backend"/*.m4 | head -n 1)
    sed 's/^m4_define(\[<bz_relu_kernels>\], \[</&bz_relu_helpr($@)/' "$file" \
        >"$T/templates/$backend/$(basename "$file")"
    planted "grep -q bz_relu_helpr '$T/templates/$backend/$(basename "$file")'" \
        "a template calling the misspelt bz_relu_helpr" \
        "out.c:[0-9]*: error: bz_relu_helpr is neither expanded"
    # a kernel macro's name in a comment of another template: m4 expands it
    # with no arguments, a function named "_forward" in the output
    rm -rf "$T/templates" && cp -r templates "$T/templates"
    bn=templates/$backend/batchnorm2d.m4
    sed 's|^m4_define(\[<bz_batchnorm2d_kernels>\], \[<|&/* see bz_relu_kernels */|' "$bn" \
        >"$T/$bn"
    planted "grep -q 'see bz_relu_kernels' '$T/$bn'" "a macro expanded without arguments" \
        "out.c:[0-9]*: error: function _[a-z_]* has no name before its suffix" "$bn_unit"
    # every kernel macro of the operator table is defined by this backend
    {
        echo 'm4_changequote([<, >])m4_dnl'
        echo "m4_include([<$backend/kernels.m4>])m4_dnl"
        build/bzgen --list-operators | while read -r op class saves macros; do
            for m in $macros; do
                echo "m4_ifdef([<$m>], [<>], [<missing $m ($op)>])m4_dnl"
            done
        done
    } >"$T/table.m4"
    m4 -P -I templates "$T/table.m4" >"$T/missing" 2>&1
    check "$backend: defines every kernel macro of the operator table" \
        sh -c "! grep -q . '$T/missing'"
    [ -s "$T/missing" ] && sed 's/^/#   /' "$T/missing"
done
# the listing itself: every operator of gen/op_table.c, each with a macro
want=$(grep -o '&op_[a-z0-9_]*' gen/op_table.c | sort -u | wc -l)
n=$(build/bzgen --list-operators | awk 'NF >= 4' | wc -l)
check "bzgen --list-operators lists the $want operators of gen/op_table.c with their kernel macros ($n)" \
    test "$n" -eq "$want" -a "$want" -ge 17
finish t_templates
