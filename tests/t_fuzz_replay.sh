#!/bin/sh
# Replays every fuzzing corpus entry and every crash or hang AFL++ ever found
# (tests/fuzz/corpus/<target>/, tests/fuzz/crashes/<target>/) through bzgen
# and the readers' harness built with ASan and UBSan: each input must be
# accepted or refused with a message (exit 0 or 1), never crash.  No
# fuzzing here: `make fuzz` does that (README).  Prints TAP-style lines.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
. tests/fuzz/targets.sh

if ! make -s build/tests/bzgen-asan build/tests/fuzz_read-asan >build/tests/fuzz-make.log 2>&1; then
    sed 's/^/# /' build/tests/fuzz-make.log | tail
    notok "make builds the sanitized harnesses"
    exit 1
fi
export ASAN_OPTIONS=detect_leaks=0
BZGEN=$PWD/build/tests/bzgen-asan
READ=$PWD/build/tests/fuzz_read-asan
T=$(mktemp -d "$PWD/build/tests/t_fuzz_replay.XXXXXX")
trap 'rm -rf "$T"' EXIT

for target in $(fuzz_targets); do
    work=$T/$target
    fuzz_setup "$target" "$work"
    at=$(fuzz_input_path "$target" "$work")
    n=0 bad=""
    for f in tests/fuzz/corpus/"$target"/* tests/fuzz/crashes/"$target"/*; do
        [ -f "$f" ] || continue
        n=$((n + 1))
        input=$f
        if [ -n "$at" ]; then cp "$f" "$at"; input=$at; fi
        # shellcheck disable=SC2046  # the command is a word list
        timeout 30 $(fuzz_command "$target" "$work" "$BZGEN" "$READ" "$input") >/dev/null 2>"$T/err"
        rc=$?
        if [ $rc -gt 1 ]; then
            bad="$bad $f (exit $rc: $(grep -m1 -E 'ERROR|runtime error|error' "$T/err" | cut -c1-120))"
        fi
    done
    if [ $n -eq 0 ]; then
        notok "fuzz corpus $target: empty"
    elif [ -z "$bad" ]; then
        ok "fuzz corpus $target: $n inputs replayed under ASan+UBSan, none crashed"
    else
        notok "fuzz corpus $target:$bad"
    fi
done
finish t_fuzz_replay
