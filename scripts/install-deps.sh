#!/bin/sh
# The single place that lists BlockZoo-C's system packages (Debian 12).
# Build: GNU m4, libyaml, OpenBLAS, zlib, pkg-config, gcc/make.
# Data:  Debian's Fashion-MNIST (the embedded default dataset).
# Tests: Debian's PyTorch and NumPy, used only as an oracle by tests/.
# Usage: scripts/install-deps.sh [--no-test-deps]
set -eu

build_packages="build-essential pkg-config m4 libyaml-dev libopenblas-openmp-dev libjansson-dev zlib1g-dev libgomp1"
data_packages="dataset-fashion-mnist"
test_packages="python3-torch python3-numpy"

packages="$build_packages $data_packages"
if [ "${1:-}" != "--no-test-deps" ]; then
    packages="$packages $test_packages"
fi

missing=""
for p in $packages; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

echo "install-deps: installing$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
