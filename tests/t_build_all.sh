#!/bin/sh
# The CI sweep: every spec generates, compiles (warnings are errors) and
# answers `profile`; generated sources are byte-identical across runs.
cd "$(dirname "$0")/.." || exit 1
jobs=$(nproc 2>/dev/null || echo 2)
if make -s -j"$jobs" all > build/all.log 2>&1; then
    echo "ok - make all builds every experiment"
else
    echo "not ok - make all: $(tail -3 build/all.log | tr '\n' '|')"
fi
for exp in $(make -s list); do
    bin=build/$exp/$exp
    if "$bin" profile --no-measure > build/$exp/profile.txt 2>&1; then
        echo "ok - $exp profile"
    else
        echo "not ok - $exp profile: $(tail -1 build/$exp/profile.txt)"
    fi
done
if make -q all; then
    echo "ok - make all again does nothing"
else
    echo "not ok - make all again would rebuild: $(make -n all | head -3 | tr '\n' '|')"
fi
exp=inverted_residual_late
mkdir -p build/tests/again
for f in model.m4 desc.m4 model_ref.c model_opt.c model_desc.c; do
    cp "build/$exp/$f" "build/tests/again/$f.first"
done
rm -f build/$exp/model.m4 build/$exp/desc.m4 build/$exp/model_*.c
make -s gen EXP=$exp > /dev/null
same=yes
for f in model.m4 desc.m4 model_ref.c model_opt.c model_desc.c; do
    cmp -s "build/$exp/$f" "build/tests/again/$f.first" || same="no ($f differs)"
done
[ "$same" = yes ] && echo "ok - generated sources are byte-identical across runs" ||
    echo "not ok - generated sources differ across runs: $same"
