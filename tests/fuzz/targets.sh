# Sourced by scripts/fuzz.sh (AFL++) and tests/t_fuzz_replay.sh (replay
# under ASan and UBSan): the fuzz targets and how each runs one input.
#   fuzz_targets                 the target names
#   fuzz_setup TARGET WORK       prepares WORK (block: a blocks/ copy and a spec)
#   fuzz_input_path TARGET WORK  where the input goes ("" when it is an argument)
#   fuzz_command TARGET WORK BZGEN FUZZ_READ INPUT
#                                the command line; INPUT is @@ for AFL
# Every command exits 0 (accepted) or 1 (refused with a message); a signal
# or a sanitizer's report is a defect.
fuzz_targets() { echo npy safetensors idx cifar100 spec block; }

fuzz_setup() {
    mkdir -p "$2/out"
    if [ "$1" = block ]; then
        mkdir -p "$2/blocks"
        cp blocks/*.yaml "$2/blocks/"
        printf 'block: fuzzed\nposition: mid\nscaffold: {num_blocks: 1}\n' >"$2/spec.yaml"
    fi
}

fuzz_input_path() {
    if [ "$1" = block ]; then echo "$2/blocks/fuzzed.yaml"; else echo ""; fi
}

fuzz_command() {
    case $1 in
    npy | safetensors | idx | cifar100) echo "$4 $1 $5" ;;
    spec) echo "$3 --spec $5 --blocks blocks --defaults specs/defaults.yaml --output $2/out/model.m4" ;;
    block) echo "$3 --spec $2/spec.yaml --blocks $2/blocks --defaults specs/defaults.yaml --output $2/out/model.m4" ;;
    esac
}
