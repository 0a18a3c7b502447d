#!/usr/bin/env bash
# The full check before a release (not CI: it builds the suite three times):
#   gcc    g++, Release, warnings as errors, all tests
#   clang  clang++, Release, warnings as errors, all tests
#   asan   g++, AddressSanitizer + UndefinedBehaviorSanitizer, all tests
# Each runs scripts/test.sh in its own build directory and logs to
# <dir>/check_all.log; the script goes on after a failure and prints one line
# per build at the end.
#
#   bash scripts/check_all.sh [gcc] [clang] [asan]     (default: all three)
# Environment: CTCNN_BUILD_PREFIX (default: build-check), so build-check-gcc etc.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/common.sh

# clang and its OpenMP runtime come on top of the usual packages.
ctcnn_install_packages "${CTCNN_PACKAGES[@]}" clang libomp-dev || exit 1

prefix=${CTCNN_BUILD_PREFIX:-build-check}
builds=("$@")
if ((${#builds[@]} == 0)); then
  builds=(gcc clang asan)
fi

declare -A status seconds
for name in "${builds[@]}"; do
  case $name in
    gcc) args=(-DCMAKE_CXX_COMPILER=g++ -DCMAKE_COMPILE_WARNING_AS_ERROR=ON) ;;
    clang) args=(-DCMAKE_CXX_COMPILER=clang++ -DCMAKE_COMPILE_WARNING_AS_ERROR=ON) ;;
    asan) args=(-DCMAKE_CXX_COMPILER=g++ -DCTCNN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
    *) echo "unknown build '$name' (gcc, clang, asan)" >&2; exit 2 ;;
  esac
  dir=$prefix-$name
  log=$dir/check_all.log
  mkdir -p "$dir"
  echo "== $name: $dir (log: $log)"
  start=$SECONDS
  # Leak checking stays on; stack traces of UBSan reports help find the line.
  if CTCNN_BUILD_DIR=$dir UBSAN_OPTIONS=print_stacktrace=1 bash scripts/test.sh "${args[@]}" \
       >"$log" 2>&1; then
    status[$name]=passed
  else
    status[$name]=FAILED
    tail -n 40 "$log"
  fi
  seconds[$name]=$((SECONDS - start))
  grep -E '^[0-9]+% tests passed' "$log" || true
done

echo
failed=0
for name in "${builds[@]}"; do
  # "[-Wfoo]" ends a warning, "[-Werror=foo]" one that warnings-as-errors stopped.
  warnings=$(grep -cE '(warning|error): .*\[-W' "$prefix-$name/check_all.log" || true)
  printf '%-6s %-7s %5ss  %s compiler warnings  (%s)\n' "$name" "${status[$name]}" \
    "${seconds[$name]}" "$warnings" "$prefix-$name/check_all.log"
  [[ ${status[$name]} == passed ]] || failed=1
done
exit $failed
