#!/bin/sh
# make fuzz TARGET=<target> [SECONDS=600]: fuzzes one target with AFL++
# (Debian afl++: scripts/install-deps.sh --with-fuzz), the harness built with
# afl-cc and ASan, from the seed corpus tests/fuzz/corpus/<target>/.  AFL's
# state goes to build/fuzz/<target>/; every crash or hang it finds is copied
# to tests/fuzz/crashes/<target>/, which the suite replays
# (tests/t_fuzz_replay.sh) once the defect is fixed.
set -eu
cd "$(dirname "$0")/.."
. tests/fuzz/targets.sh
target=${1:-}
seconds=${2:-600}
if [ -z "$target" ] || ! fuzz_targets | tr ' ' '\n' | grep -qx "$target"; then
    echo "fuzz: TARGET is one of: $(fuzz_targets)" >&2
    exit 2
fi
if ! command -v afl-fuzz >/dev/null 2>&1; then
    echo "fuzz: afl-fuzz not found: scripts/install-deps.sh --with-fuzz installs AFL++" >&2
    exit 2
fi
make -s build/fuzz/bzgen build/fuzz/fuzz_read
work=$PWD/build/fuzz/$target
rm -rf "$work"
fuzz_setup "$target" "$work/run"
at=$(fuzz_input_path "$target" "$work/run")
# shellcheck disable=SC2046  # the command is a word list
set -- $(fuzz_command "$target" "$work/run" "$PWD/build/fuzz/bzgen" "$PWD/build/fuzz/fuzz_read" @@)
[ -n "$at" ] && set -- $(fuzz_command "$target" "$work/run" "$PWD/build/fuzz/bzgen" "$PWD/build/fuzz/fuzz_read" "$at")
echo "fuzz: $target for $seconds s: $*"
AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 \
    afl-fuzz -i "tests/fuzz/corpus/$target" -o "$work/afl" -m none -t 5000 -V "$seconds" \
    ${at:+-f "$at"} -- "$@" >"$work/afl.log" 2>&1 || true
stats=$work/afl/default/fuzzer_stats
if [ ! -f "$stats" ]; then
    tail -n 20 "$work/afl.log" >&2
    echo "fuzz: afl-fuzz did not run (log: $work/afl.log)" >&2
    exit 1
fi
found=0
mkdir -p "tests/fuzz/crashes/$target"
for f in "$work"/afl/default/crashes/id:* "$work"/afl/default/hangs/id:*; do
    [ -f "$f" ] || continue
    kind=$(basename "$(dirname "$f")")
    cp "$f" "tests/fuzz/crashes/$target/$kind-$(date +%Y%m%d)-$(basename "$f" | cut -d, -f1 | tr : _)"
    found=$((found + 1))
done
rmdir "tests/fuzz/crashes/$target" 2>/dev/null || true
execs=$(sed -n 's/^execs_done *: *//p' "$stats")
paths=$(sed -n 's/^corpus_count *: *//p' "$stats")
where=""
[ "$found" -gt 0 ] && where=" (copied to tests/fuzz/crashes/$target/)"
echo "fuzz: $target ran $seconds s, $execs executions, $paths corpus entries; $found crashes or hangs$where"
[ "$found" -eq 0 ]
