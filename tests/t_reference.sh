#!/bin/sh
# Every experiment of the pipeline issue, for 10 and 100 classes: bzgen's
# counts, state_dict and per-layer MACs against ../shared/reference.
cd "$(dirname "$0")/.." || exit 1
# The listings: ../shared/reference when present, else the copy of the
# facts this suite needs in tests/reference.
ref=../shared/reference
[ -d "$ref" ] || ref=tests/reference
make -s build/bzgen || { echo "not ok - build bzgen"; exit 1; }
for exp in $(make -s list); do
    case $exp in
        resnet_basic_block_*) block=ResNetBasicBlock ;;
        resnet_bottleneck_*) block=ResNetBottleneck ;;
        inverted_residual_*) block=InvertedResidual ;;
        universal_inverted_bottleneck_*) block=UniversalInvertedBottleneck ;;
        edge_residual_*) block=EdgeResidual ;;
        mbconv_ln_block_*) block=MBConvLNBlock ;;
        mobile_one_block_*) block=MobileOneBlock ;;
        reparam_large_kernel_conv_*) block=ReparamLargeKernelConv ;;
        ghost_bottleneck_v3_*) block=GhostBottleneckV3 ;;
        rep_mixer_*) block=RepMixer ;;
        *) echo "not ok - $exp: no reference block name known to this test"; continue ;;
    esac
    position=${exp##*_}
    for classes in 10 100; do
        dir=build/tests/reference/$exp-c$classes
        mkdir -p "$dir"
        if build/bzgen --spec "specs/$exp.yaml" --classes "$classes" --output "$dir/model.m4"; then
            /usr/bin/python3 tests/check_reference.py "$dir/desc.m4" "$block" "$position" \
                "$classes" "$ref"
        else
            echo "not ok - bzgen $exp classes=$classes"
        fi
    done
done
