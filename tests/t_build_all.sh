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
# generated again from scratch in another build directory: the same bytes
exp=inverted_residual_late
again=build/tests/again
rm -rf "$again"
make -s gen EXP=$exp B=$again > /dev/null
units=$(sed -n 's|^ *build/\(kernels/[^ ]*\).*|\1|p' build/$exp/kernels.mk)
same=yes
for f in $exp/model.m4 $exp/desc.m4 $exp/model_ref.c $exp/model_opt.c $exp/model_desc.c \
         $exp/model.cu $(for u in $units; do echo "$u.m4 $u.ref.c $u.opt.c"; done); do
    cmp -s "build/$f" "$again/$f" || same="no ($f differs)"
done
sed "s|$again/|build/|" "$again/$exp/kernels.mk" | cmp -s - build/$exp/kernels.mk ||
    same="no (kernels.mk differs)"
n=$(echo "$units" | wc -w)
[ "$same" = yes ] && echo "ok - generated sources (the model's and its $n kernel units') are byte-identical across runs" ||
    echo "not ok - generated sources differ across runs: $same"
rm -rf "$again"
