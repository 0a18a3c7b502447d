#!/usr/bin/env bash
# Command (1) of the README, for a fresh Debian 12 machine (as root): installs
# what is missing, configures and builds the main program, and runs it with the
# arguments given. The main program is the Fashion-MNIST training example when
# the tree has it, else the LeNet-5 example.
#
#   bash scripts/setup_and_run.sh [program arguments...]
# Environment: CTCNN_BUILD_DIR (default: build); OMP_WAIT_POLICY (default: passive).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ctcnn_install_packages "${CTCNN_PACKAGES[@]}"

# OpenMP threads that spin at barriers starve each other when another process
# holds a core: with the second core busy, the main job ran 4x slower on two
# spinning threads (2,990 images/s) than on one (12,700); sleeping waits
# (passive) cost nothing measurable on a quiet machine. Unless already set.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"

build=${CTCNN_BUILD_DIR:-build}
main=lenet5
if [[ -f examples/lenet_fashion_mnist.cpp ]]; then
  main=lenet_fashion_mnist
fi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$(nproc)" --target "$main"
exec "$build/examples/$main" "$@"
