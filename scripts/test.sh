#!/usr/bin/env bash
# Command (2) of the README, and what CI runs: installs what is missing (no apt
# at all when everything is there), configures a Release build with the tests,
# builds everything and runs the whole suite.
#
#   bash scripts/test.sh [extra cmake configure arguments...]
# Environment: CTCNN_BUILD_DIR (default: build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

ctcnn_install_packages "${CTCNN_PACKAGES[@]}"

build=${CTCNN_BUILD_DIR:-build}
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTCNN_BUILD_TESTS=ON "$@"
cmake --build "$build" -j"$(nproc)"
cd "$build"
ctest --output-on-failure -j2
