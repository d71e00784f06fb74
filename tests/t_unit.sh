#!/bin/sh
# C unit tests: builds every tests/unit/test_*.c into build/tests/<name>
# with AddressSanitizer and UBSan and runs it.  A test's first line names
# the runtime sources it links, so a test never depends on runtime files
# it does not use, by their path under runtime/:
#     /* needs: util/bz_util.c io/bz_safetensors.c */
# (tokens starting with '-' are passed to the compiler as extra flags).
# A test that fails to build, crashes or exits non-zero prints a
# "not ok" line, so it is always counted by tests/run.sh.
set -u
cd "$(dirname "$0")/.."
out=build/tests
mkdir -p "$out"

if make -s runtime >"$out/make-runtime.log" 2>&1; then
    echo "ok - make runtime builds build/libbzrt.a"
else
    echo "not ok - make runtime: failed, see $out/make-runtime.log (unit tests below build their own sources)"
fi

CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -fopenmp
 -fsanitize=address,undefined -fno-sanitize-recover=all -Iruntime -Itests
 $(pkg-config --cflags jansson zlib openblas)"
LIBS="$(pkg-config --libs jansson zlib openblas) -lm"
# The tests fork and check files themselves; leaks are valgrind's job.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
runner=""
command -v timeout >/dev/null 2>&1 && runner="timeout 600"

status=0
for src in tests/unit/test_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    needs=$(head -n 1 "$src" | sed -n 's|^/\* *needs:\(.*\)\*/ *$|\1|p')
    if ! head -n 1 "$src" | grep -q '^/\* *needs:'; then
        echo "not ok - $name: first line must be /* needs: <runtime sources> */"
        status=1
        continue
    fi
    sources=""
    flags=""
    for item in $needs; do
        case "$item" in
        -*) flags="$flags $item" ;;
        *) sources="$sources runtime/$item" ;;
        esac
    done
    # shellcheck disable=SC2086  # word splitting of flag lists is intended
    if ! gcc $CFLAGS $flags -o "$out/$name" "$src" $sources $LIBS >"$out/$name.build.log" 2>&1; then
        cat "$out/$name.build.log"
        echo "not ok - $name: build failed"
        status=1
        continue
    fi
    $runner "./$out/$name" >"$out/$name.log" 2>&1
    rc=$?
    cat "$out/$name.log"
    if [ "$rc" -ne 0 ]; then
        status=1
        # A failed CHECK is already counted; a crash or exit without one is not.
        grep -q '^not ok - ' "$out/$name.log" ||
            echo "not ok - $name: exit status $rc"
    fi
done
exit $status
