#!/usr/bin/env bash
# Builds ctcnn_bench (Release, host instruction set) in build-bench/ and prints
# the table of every figure beside oneDNN's. Needs libbenchmark-dev (and
# libdnnl-dev for the oneDNN columns). Extra arguments go to the benchmark, e.g.
#   bench/run.sh --benchmark_filter='S5|net_'
# Environment: REPS (default 9), MIN_TIME (seconds per repetition, default 0.1),
# BUILD_DIR (default <repo>/build-bench).
#
# The repetitions of all benchmarks run in random order, interleaved: on a
# shared machine a burst of load then lands on ctcnn's and oneDNN's
# repetitions alike instead of on all of one and none of the other, and the
# ratios of medians hold much stiller (S6 and S7 forward, three runs on
# 2026-11-22: 0.84-0.90 and 0.87-1.00 while the GFLOP/s moved by 40%; one
# benchmark after another, single ratios had moved by up to 0.5).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
reps="${REPS:-9}"
min_time="${MIN_TIME:-0.1}"
# Threads that wait at a barrier sleep instead of spinning: on a shared machine
# a spinning thread holds a core that its partner needs (measured here: the
# 2-thread figures fell 10x under load with the default, active spinning).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"
mkdir -p "$build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCTCNN_BUILD_BENCHMARKS=ON \
      -DCTCNN_BUILD_TESTS=OFF -DCTCNN_BUILD_EXAMPLES=OFF > "$build/cmake.log"
cmake --build "$build" --target ctcnn_bench -j 2
out="$build/bench_results.json"
# Each vCPU's counters before and after: the report shows how much time the
# hypervisor gave to other guests (steal) while the bench wanted the core.
[ -r /proc/stat ] && grep '^cpu[0-9]' /proc/stat > "$build/cpu_stat_before"
"$build/bench/ctcnn_bench" --benchmark_repetitions="$reps" --benchmark_min_time="$min_time" \
    --benchmark_enable_random_interleaving=true \
    --benchmark_out="$out" --benchmark_out_format=json "$@" >&2
if [ -r /proc/stat ]; then
  grep '^cpu[0-9]' /proc/stat > "$build/cpu_stat_after"
  python3 "$root/bench/report.py" "$out" "$build/cpu_stat_before" "$build/cpu_stat_after"
else
  python3 "$root/bench/report.py" "$out"
fi
