#!/bin/sh
# The single place that lists BlockZoo-C's system packages (Debian 12).
# Build: GNU m4, libyaml, OpenBLAS, zlib, pkg-config, gcc/make.
# Data:  Debian's Fashion-MNIST (the embedded default dataset).
# Sweep reports: gnuplot (plots).
# Tests: Debian's PyTorch and NumPy (an oracle), pandas (BlockZoo's analysis
#        snippets on a sweep's results), headless Chromium (the HTML report),
#        Slurm and munge (a one-node cluster for the Slurm runner).
# Fuzzing (make fuzz, only with --with-fuzz): AFL++.
# Usage: scripts/install-deps.sh [--no-test-deps] [--with-fuzz]
set -eu

build_packages="build-essential pkg-config m4 libyaml-dev libopenblas-openmp-dev libjansson-dev zlib1g-dev libgomp1"
data_packages="dataset-fashion-mnist"
report_packages="gnuplot-nox"
test_packages="python3-torch python3-numpy python3-pandas chromium slurm-wlm munge"
fuzz_packages="afl++"

packages="$build_packages $data_packages $report_packages"
test_deps=1
for arg in "$@"; do
    case $arg in
    --no-test-deps) test_deps=0 ;;
    --with-fuzz) packages="$packages $fuzz_packages" ;;
    *) echo "install-deps: unknown option '$arg' (--no-test-deps, --with-fuzz)" >&2; exit 2 ;;
    esac
done
if [ $test_deps = 1 ]; then
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
