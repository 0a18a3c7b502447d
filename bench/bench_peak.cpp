// bench/bench_peak.cpp
// This core's FP32 FMA peak: independent chains of fused multiply-adds (more
// chains than latency x ports, so the FMA units never wait on a result), for
// 512-bit and 256-bit vectors. The report divides every conv figure by the
// widest one measured.
#include <cstddef>

#include <benchmark/benchmark.h>
#include <immintrin.h>

#include "bench_common.hpp"

namespace bench {
namespace {

// 16 chains x `Lanes` floats x 2 flops per FMA, `inner` FMAs per chain per iteration.
constexpr int inner = 1024;

#if defined(__AVX512F__)
void peak_fma_avx512(benchmark::State& state) {
  set_threads(1);
  const __m512 m = _mm512_set1_ps(0.999f), c = _mm512_set1_ps(1e-3f);
  __m512 a[16];
  for (int i = 0; i < 16; ++i) a[i] = _mm512_set1_ps(static_cast<float>(i));
  for (auto _ : state) {
    for (int k = 0; k < inner; ++k) {
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) a[i] = _mm512_fmadd_ps(a[i], m, c);
    }
    for (auto& v : a) benchmark::DoNotOptimize(v);
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * 16 * 16 * inner, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(peak_fma_avx512);
#endif

#if defined(__AVX2__) && defined(__FMA__)
void peak_fma_avx2(benchmark::State& state) {
  set_threads(1);
  const __m256 m = _mm256_set1_ps(0.999f), c = _mm256_set1_ps(1e-3f);
  __m256 a[16];
  for (int i = 0; i < 16; ++i) a[i] = _mm256_set1_ps(static_cast<float>(i));
  for (auto _ : state) {
    for (int k = 0; k < inner; ++k) {
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i) a[i] = _mm256_fmadd_ps(a[i], m, c);
    }
    for (auto& v : a) benchmark::DoNotOptimize(v);
  }
  state.counters["FLOP/s"] =
      benchmark::Counter(2.0 * 16 * 8 * inner, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(peak_fma_avx2);
#endif

}  // namespace
}  // namespace bench
