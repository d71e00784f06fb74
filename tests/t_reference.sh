#!/bin/sh
# Every experiment, for 10 and 100 classes: bzgen's counts, state_dict and
# per-layer MACs against ../shared/reference.
cd "$(dirname "$0")/.." || exit 1
# The listings: ../shared/reference when present, else the copy of the
# facts this suite needs in tests/reference.  Blocks that BlockZoo's
# reference does not cover (issue 15) are checked against the listings
# derived from their PyTorch twins, tests/reference/derived (made by
# tests/torch_ref/derive_reference.py).
shared=../shared/reference
[ -d "$shared" ] || shared=tests/reference
derived=tests/reference/derived
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
        se_basic_block_*) block=SEBasicBlock ;;
        resnext_bottleneck_*) block=ResNeXtBottleneck ;;
        preact_basic_block_*) block=PreActBasicBlock ;;
        depthwise_separable_conv_*) block=DepthwiseSeparableConv ;;
        dilated_basic_block_*) block=DilatedBasicBlock ;;
        convnext_block_*) block=ConvNeXtBlock ;;
        mobile_vit_block_*) block=MobileVitBlock ;;
        *) echo "not ok - $exp: no reference block name known to this test"; continue ;;
    esac
    position=${exp##*_}
    ref=$shared
    [ -f "$ref/${block}_$position.txt" ] || ref=$derived
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
