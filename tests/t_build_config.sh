#!/bin/sh
# The build configuration is part of the build (build/config/, build/build_info.c):
# on one small experiment, switching CUDA on and off, building without an
# nvcc, or changing CFLAGS rebuilds what it affects and nothing else; a
# rebuild with nothing changed does nothing; `--device cuda` on a CPU-only
# binary names the real reason.  Prints TAP-style lines.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh

V="EXP=resnet_basic_block_mid NUM_BLOCKS=1 BASE_CHANNELS=8"
NAME=resnet_basic_block_mid-nb1-bc8
BIN=build/$NAME/$NAME
mkdir -p build/tests
T=$(mktemp -d "$PWD/build/tests/t_build_config.XXXXXX")
trap 'rm -rf "$T"' EXIT

# shellcheck disable=SC2086  # $V is a list of make variables
mk() { make --no-print-directory $V "$@"; }
up_to_date() { mk -q "$@"; }
out_of_date() { ! mk -q "$@"; }
device_error() {  # device_error: the one line of --device cuda on the binary
    "$BIN" bench --device cuda --benchmark-runs 1 --warmup-runs 0 --no-train 2>&1 >/dev/null | head -n 1
}
# compiles MAKE-ARGS...: the C and CUDA compiles `make -n` would run
compiles() { mk -n "$@" | grep -E '^(gcc|[^ ]*nvcc) .* -c ' | sed 's/.* -o \([^ ]*\).*/\1/'; }

if mk -s CUDA= >"$T/make.log" 2>&1; then ok "make CUDA= $V"; else
    sed 's/^/# /' "$T/make.log" | tail; notok "make CUDA= $V"; exit 1; fi
check "rebuilding with nothing changed does nothing (make -q)" up_to_date CUDA=
NVCC_FOUND=$(make -s print-nvcc 2>/dev/null)
if [ -n "$NVCC_FOUND" ]; then
    check "--device cuda on a CUDA= binary says it was built with CUDA=: $(device_error)" \
        sh -c 'echo "$1" | grep -q "built without CUDA: make ran with CUDA= (nvcc is "' sh "$(device_error)"
    check "switching CUDA on makes the binary out of date" out_of_date
    compiles >"$T/on"
    mk -n >"$T/on.all"
    check "switching CUDA on relinks, compiling the build record and at most the CUDA side (no runtime or model C object)" \
        sh -c '! grep -v "/runtime/cuda/bz_cuda_[a-z_]*\.o$" "$1" | grep -q "/runtime/[a-z]*/bz_[a-z_]*\.o$\|model_ref\.o\|model_opt\.o\|model_desc\.o\|main\.o" &&
               grep -q "build_info\.o$" "$1" && grep -q "^gcc .* -o $3 " "$2"' sh "$T/on" "$T/on.all" "$BIN"
    if mk -s >"$T/make.log" 2>&1; then ok "make $V (CUDA on)"; else
        sed 's/^/# /' "$T/make.log" | tail; notok "make $V (CUDA on)"; fi
    check "... then nothing to do" up_to_date
    check "the binary has its CUDA side: $(device_error)" \
        sh -c 'echo "$1" | grep -vq "built without CUDA"' sh "$(device_error)"
    # off PATH, make finds /usr/local/cuda/bin/nvcc: the same configuration
    # unless PATH's nvcc was another file (a wrapper, as on CI), which is a
    # change of compiler and must rebuild
    other=$(env PATH=/usr/bin:/bin make -s print-nvcc 2>/dev/null)
    if [ "$other" = "$NVCC_FOUND" ]; then
        check "nvcc off PATH is still found ($other): nothing to do" \
            env PATH=/usr/bin:/bin make --no-print-directory -q $V
    else
        check "nvcc off PATH is another nvcc ($other, not $NVCC_FOUND): the binary is out of date" \
            sh -c '! env PATH=/usr/bin:/bin make --no-print-directory -q $1' sh "$V"
    fi
else
    skip "switching CUDA on" "no nvcc on this machine"
fi
check "building without an nvcc (NVCC=) makes the binary out of date" out_of_date NVCC=
if mk -s NVCC= >"$T/make.log" 2>&1; then ok "make NVCC= $V"; else
    sed 's/^/# /' "$T/make.log" | tail; notok "make NVCC= $V"; fi
check "--device cuda then says no nvcc was found: $(device_error)" \
    sh -c 'echo "$1" | grep -q "built without CUDA: make found no nvcc"' sh "$(device_error)"
check "... and make NVCC= again does nothing" up_to_date NVCC=

compiles CUDA= CFLAGS=-DBZ_CONFIG_TEST >"$T/cflags"
units=$(grep -c "^ *build/kernels/" "build/$NAME/kernels.mk")
check "a new CFLAGS recompiles every C object of the binary: runtime, main, model, its $units kernel units (both backends), build record" \
    sh -c '[ "$(grep -c "/runtime/[a-z]*/bz_[a-z_]*\.o$" "$1")" -ge 20 ] && grep -q "model_opt\.o$" "$1" &&
           [ "$(grep -c "^build/kernels/.*\.\(ref\|opt\)\.o$" "$1")" -eq $(($2 * 2)) ] &&
           grep -q "main\.o$" "$1" && grep -q "build_info\.o$" "$1"' sh "$T/cflags" "$units"
check "make -n told it without changing anything: with the old CFLAGS, nothing to do" up_to_date NVCC=
mk -s CUDA= >"$T/make.log" 2>&1 || notok "make CUDA= $V (the state the other tests use)"
finish t_build_config
