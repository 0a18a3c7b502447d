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
# OpenMP's wait policy is left to libgomp's default unless OMP_WAIT_POLICY is
# set: a thread that reaches a barrier first spins for a while (~300k
# iterations), then sleeps. The bench measures on an otherwise idle machine, and
# there a sleeping thread costs a wake-up of its idle vCPU at every parallel
# region, which this VM's host answered in 10-300 us: on 2026-11-22, runs of
# both policies alternately, passive waits took simple_cnn's 2-thread training
# step to 0.79-1.39 ms (the 1-thread step: 0.85-0.98 ms) against 0.57-0.61 ms
# with the default. With another process busy on the cores, spinning threads
# hold a core their partner needs: set OMP_WAIT_POLICY=passive then.
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
