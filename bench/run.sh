#!/usr/bin/env bash
# Builds ctcnn_bench (Release, host instruction set) in build-bench/ and prints
# the table of every figure beside oneDNN's. Needs libbenchmark-dev (and
# libdnnl-dev for the oneDNN columns). Extra arguments go to the benchmark, e.g.
#   bench/run.sh --benchmark_filter='S5|net_'
# Environment: REPS (default 3), BUILD_DIR (default <repo>/build-bench).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
reps="${REPS:-3}"
# Threads that wait at a barrier sleep instead of spinning: on a shared machine
# a spinning thread holds a core that its partner needs (measured here: the
# 2-thread figures fell 10x under load with the default, active spinning).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTCNN_BUILD_BENCHMARKS=ON \
      -DCTCNN_BUILD_TESTS=OFF -DCTCNN_BUILD_EXAMPLES=OFF > "$build/cmake.log"
cmake --build "$build" --target ctcnn_bench -j 2
out="$build/bench_results.json"
"$build/bench/ctcnn_bench" --benchmark_repetitions="$reps" --benchmark_out="$out" \
    --benchmark_out_format=json "$@" >&2
python3 "$root/bench/report.py" "$out"
