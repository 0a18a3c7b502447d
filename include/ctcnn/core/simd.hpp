// ctcnn/core/simd.hpp
// The one vector type the kernels use, as wide as the target allows: AVX-512
// (16 floats), AVX2+FMA (8), otherwise SSE2 (4, present on every x86-64) or, off
// x86, a 4-float GCC vector. Kernels are written once against this interface and
// pick their register tiles from `simd::lanes`, so each build gets tiles sized
// for its registers. Only what the kernels need, all force-inlined.
#pragma once

#include <cstddef>
#include <utility>

#if defined(__AVX512F__) || defined(__AVX2__) || defined(__SSE2__)
#include <immintrin.h>
#endif

namespace ctcnn::simd {

#if defined(__AVX512F__)
inline constexpr std::size_t lanes = 16;
inline constexpr std::size_t registers = 32;
using vec = __m512;
[[gnu::always_inline]] inline vec zero() { return _mm512_setzero_ps(); }
[[gnu::always_inline]] inline vec broadcast(float v) { return _mm512_set1_ps(v); }
[[gnu::always_inline]] inline vec load(const float* p) { return _mm512_loadu_ps(p); }
[[gnu::always_inline]] inline void store(float* p, vec v) { _mm512_storeu_ps(p, v); }
[[gnu::always_inline]] inline vec fmadd(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
[[gnu::always_inline]] inline vec add(vec a, vec b) { return _mm512_add_ps(a, b); }
[[gnu::always_inline]] inline vec mul(vec a, vec b) { return _mm512_mul_ps(a, b); }
// The first n lanes (n <= lanes); the others read as zero and are not touched.
[[gnu::always_inline]] inline vec load_first(const float* p, std::size_t n) {
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
}
[[gnu::always_inline]] inline void store_first(float* p, vec v, std::size_t n) {
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v);
}
// v[0..16) as a 16 x 16 matrix (row i = v[i]) transposed in place: 64 shuffles
// (unpack within 128-bit lanes twice, then 128-bit blocks twice), written as
// vector-extension shuffles, which GCC 12 does not warn in.
[[gnu::always_inline]] inline void transpose(vec (&v)[16]) {
  vec t[16];
#pragma GCC unroll 8
  for (int k = 0; k < 8; ++k) {  // unpacklo_ps / unpackhi_ps
    t[2 * k] = __builtin_shufflevector(v[2 * k], v[2 * k + 1], 0, 16, 1, 17, 4, 20, 5, 21, 8,
                                       24, 9, 25, 12, 28, 13, 29);
    t[2 * k + 1] = __builtin_shufflevector(v[2 * k], v[2 * k + 1], 2, 18, 3, 19, 6, 22, 7, 23,
                                           10, 26, 11, 27, 14, 30, 15, 31);
  }
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k)  // unpacklo_pd / unpackhi_pd
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const vec a = t[4 * k + h], c = t[4 * k + h + 2];
      v[4 * k + 2 * h] = __builtin_shufflevector(a, c, 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25,
                                                 12, 13, 28, 29);
      v[4 * k + 2 * h + 1] = __builtin_shufflevector(a, c, 2, 3, 18, 19, 6, 7, 22, 23, 10, 11,
                                                     26, 27, 14, 15, 30, 31);
    }
#pragma GCC unroll 2
  for (int h = 0; h < 2; ++h)  // 128-bit blocks (0, 2 | 0, 2) and (1, 3 | 1, 3)
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      const vec a = v[8 * h + i], b = v[8 * h + 4 + i];
      t[8 * h + i] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24,
                                             25, 26, 27);
      t[8 * h + 4 + i] = __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22,
                                                 23, 28, 29, 30, 31);
    }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    const vec a = t[i], b = t[8 + i];
    v[i] = __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26,
                                   27);
    v[8 + i] = __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29,
                                       30, 31);
  }
}
// p[S*t] = v[t] for t < n (n <= 16); the elements between are not touched. S > 1:
// lanes spread by a permutation per 16 floats of the span, then masked stores.
template <std::size_t S>
[[gnu::always_inline]] inline void store_strided(float* p, vec v, std::size_t n) {
  if constexpr (S == 1) {
    if (n == 16)
      store(p, v);
    else
      store_first(p, v, n);
  } else {
#pragma GCC unroll 16
    for (std::size_t k = 0; k < S; ++k) {
      if (16 * k >= S * (n - 1) + 1) break;
      alignas(64) int idx[16];
      unsigned mask = 0;
      for (unsigned l = 0; l < 16; ++l) {
        const std::size_t f = 16 * k + l;  // float of the span
        idx[l] = static_cast<int>(f / S);
        if (f % S == 0 && f / S < n) mask |= 1u << l;
      }
      // maskz: the plain permute warns in GCC 12 (-Wuninitialized)
      const __mmask16 m = static_cast<__mmask16>(mask);
      _mm512_mask_storeu_ps(p + 16 * k, m, _mm512_maskz_permutexvar_ps(m, _mm512_load_si512(idx), v));
    }
  }
}
// Halves added with vector-extension shuffles: GCC 12 warns (-Wuninitialized)
// inside _mm512_reduce_add_ps and the other 512-bit extract/cast intrinsics.
[[gnu::always_inline]] inline float reduce_add(vec v) {
  using v8 = float __attribute__((vector_size(32)));
  using v4 = float __attribute__((vector_size(16)));
  const v8 s8 = __builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7) +
                __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15);
  const v4 s4 = __builtin_shufflevector(s8, s8, 0, 1, 2, 3) + __builtin_shufflevector(s8, s8, 4, 5, 6, 7);
  return (s4[0] + s4[2]) + (s4[1] + s4[3]);
}
#elif defined(__AVX2__) && defined(__FMA__)
inline constexpr std::size_t lanes = 8;
inline constexpr std::size_t registers = 16;
using vec = __m256;
[[gnu::always_inline]] inline vec zero() { return _mm256_setzero_ps(); }
[[gnu::always_inline]] inline vec broadcast(float v) { return _mm256_set1_ps(v); }
[[gnu::always_inline]] inline vec load(const float* p) { return _mm256_loadu_ps(p); }
[[gnu::always_inline]] inline void store(float* p, vec v) { _mm256_storeu_ps(p, v); }
[[gnu::always_inline]] inline vec fmadd(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
[[gnu::always_inline]] inline vec add(vec a, vec b) { return _mm256_add_ps(a, b); }
[[gnu::always_inline]] inline vec mul(vec a, vec b) { return _mm256_mul_ps(a, b); }
[[gnu::always_inline]] inline __m256i first_mask(std::size_t n) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), idx);
}
[[gnu::always_inline]] inline vec load_first(const float* p, std::size_t n) {
  return _mm256_maskload_ps(p, first_mask(n));
}
[[gnu::always_inline]] inline void store_first(float* p, vec v, std::size_t n) {
  _mm256_maskstore_ps(p, first_mask(n), v);
}
// v[0..8) as an 8 x 8 matrix (row i = v[i]) transposed in place.
[[gnu::always_inline]] inline void transpose(vec (&v)[8]) {
  vec t[8], u[8];
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    t[2 * k] = _mm256_unpacklo_ps(v[2 * k], v[2 * k + 1]);
    t[2 * k + 1] = _mm256_unpackhi_ps(v[2 * k], v[2 * k + 1]);
  }
#pragma GCC unroll 2
  for (int k = 0; k < 2; ++k) {
    u[4 * k] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0x44);
    u[4 * k + 1] = _mm256_shuffle_ps(t[4 * k], t[4 * k + 2], 0xee);
    u[4 * k + 2] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0x44);
    u[4 * k + 3] = _mm256_shuffle_ps(t[4 * k + 1], t[4 * k + 3], 0xee);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x20);
    v[4 + i] = _mm256_permute2f128_ps(u[i], u[4 + i], 0x31);
  }
}
[[gnu::always_inline]] inline float reduce_add(vec v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}
#else
// SSE2 (x86-64 baseline) or any GCC/Clang target: a 4-float vector extension;
// the compiler maps it to SSE (or the target's own) instructions. No FMA here:
// a multiply and an add, so results may differ from the FMA builds in the last bit.
inline constexpr std::size_t lanes = 4;
inline constexpr std::size_t registers = 16;
using vec = float __attribute__((vector_size(16)));
[[gnu::always_inline]] inline vec zero() { return vec{0.0f, 0.0f, 0.0f, 0.0f}; }
[[gnu::always_inline]] inline vec broadcast(float v) { return vec{v, v, v, v}; }
[[gnu::always_inline]] inline vec load(const float* p) {
  vec v;
  __builtin_memcpy(&v, p, sizeof v);
  return v;
}
[[gnu::always_inline]] inline void store(float* p, vec v) { __builtin_memcpy(p, &v, sizeof v); }
[[gnu::always_inline]] inline vec fmadd(vec a, vec b, vec c) { return a * b + c; }
[[gnu::always_inline]] inline vec add(vec a, vec b) { return a + b; }
[[gnu::always_inline]] inline vec mul(vec a, vec b) { return a * b; }
[[gnu::always_inline]] inline vec load_first(const float* p, std::size_t n) {
  vec v = zero();
  for (std::size_t i = 0; i < n; ++i) v[i] = p[i];
  return v;
}
[[gnu::always_inline]] inline void store_first(float* p, vec v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) p[i] = v[i];
}
[[gnu::always_inline]] inline float reduce_add(vec v) { return (v[0] + v[2]) + (v[1] + v[3]); }
// v[0..4) as a 4 x 4 matrix (row i = v[i]) transposed in place.
[[gnu::always_inline]] inline void transpose(vec (&v)[4]) {
  const vec a = __builtin_shufflevector(v[0], v[1], 0, 4, 1, 5);
  const vec b = __builtin_shufflevector(v[0], v[1], 2, 6, 3, 7);
  const vec c = __builtin_shufflevector(v[2], v[3], 0, 4, 1, 5);
  const vec d = __builtin_shufflevector(v[2], v[3], 2, 6, 3, 7);
  v[0] = __builtin_shufflevector(a, c, 0, 1, 4, 5);
  v[1] = __builtin_shufflevector(a, c, 2, 3, 6, 7);
  v[2] = __builtin_shufflevector(b, d, 0, 1, 4, 5);
  v[3] = __builtin_shufflevector(b, d, 2, 3, 6, 7);
}
#endif

#if !defined(__AVX512F__)
// p[S*t] = v[t] for t < n (n <= lanes); the elements between are not touched.
template <std::size_t S>
[[gnu::always_inline]] inline void store_strided(float* p, vec v, std::size_t n) {
  if constexpr (S == 1) {
    if (n == lanes)
      store(p, v);
    else
      store_first(p, v, n);
  } else {
    alignas(64) float lane[lanes];
    store(lane, v);
    for (std::size_t t = 0; t < n; ++t) p[S * t] = lane[t];
  }
}
#endif

constexpr std::size_t vectors_for(std::size_t n) { return (n + lanes - 1) / lanes; }

// ReLU as PyTorch computes it: x, except +0 where x <= 0; NaN stays NaN (MAXPS
// with 0 would have made it 0, hiding a diverged value from every check after).
// Vector-extension compares and selects: the same code for every lane count.
[[gnu::always_inline]] inline vec relu(vec x) { return x <= zero() ? zero() : x; }
// ReLU's backward from its output y: dy, except 0 where y <= 0 (a NaN output
// passes its gradient on, as PyTorch's threshold_backward does).
[[gnu::always_inline]] inline vec relu_gate(vec y, vec dy) { return y <= zero() ? zero() : dy; }

// One step of a pooling window's running maximum in PyTorch's order: v replaces
// m where v > m or v is NaN, unless m is NaN already (the first maximum and the
// first NaN win; -0 then +0 keeps -0). `which` becomes k where v replaced m.
[[gnu::always_inline]] inline void window_max_step(vec& m, vec& which, vec v, float k) {
  const auto take = ((v > m) | (v != v)) & (m == m);
  m = take ? v : m;
  which = take ? broadcast(k) : which;
}
// v where `which` is k, else 0.
[[gnu::always_inline]] inline vec where_equal(vec which, float k, vec v) {
  return which == broadcast(k) ? v : zero();
}

namespace detail {
template <std::size_t... I>
[[gnu::always_inline]] inline void deinterleave(vec lo, vec hi, vec& even, vec& odd,
                                                std::index_sequence<I...>) {
  even = __builtin_shufflevector(lo, hi, (2 * I)...);
  odd = __builtin_shufflevector(lo, hi, (2 * I + 1)...);
}
template <std::size_t... I>
[[gnu::always_inline]] inline void interleave(vec even, vec odd, vec& lo, vec& hi,
                                              std::index_sequence<I...>) {
  lo = __builtin_shufflevector(even, odd, (I % 2 == 0 ? I / 2 : lanes + I / 2)...);
  hi = __builtin_shufflevector(even, odd,
                               (I % 2 == 0 ? lanes / 2 + I / 2 : lanes + lanes / 2 + I / 2)...);
}
}  // namespace detail
// The 2*lanes floats lo:hi split into their even and odd elements.
[[gnu::always_inline]] inline void deinterleave(vec lo, vec hi, vec& even, vec& odd) {
  detail::deinterleave(lo, hi, even, odd, std::make_index_sequence<lanes>{});
}
// The inverse: even and odd elements woven back into lo:hi.
[[gnu::always_inline]] inline void interleave(vec even, vec odd, vec& lo, vec& hi) {
  detail::interleave(even, odd, lo, hi, std::make_index_sequence<lanes>{});
}

// Sum of n floats accumulated in double, in a fixed order: for long reductions
// (a bias gradient over every position of a batch) whose float sum would drift.
inline double sum_in_double(const float* p, std::size_t n) {
  std::size_t i = 0;
  double total = 0.0;
#if defined(__AVX512F__)
  __m512d a = _mm512_setzero_pd(), b = _mm512_setzero_pd();
  for (const std::size_t whole = n / 16 * 16; i < whole; i += 16) {
    a = _mm512_add_pd(a, _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p + i)));
    b = _mm512_add_pd(b, _mm512_maskz_cvtps_pd(0xFF, _mm256_loadu_ps(p + i + 8)));
  }
  alignas(64) double lanes_out[8];
  _mm512_store_pd(lanes_out, _mm512_add_pd(a, b));
  for (double v : lanes_out) total += v;
#elif defined(__AVX2__) && defined(__FMA__)
  __m256d a = _mm256_setzero_pd(), b = _mm256_setzero_pd();
  for (const std::size_t whole = n / 8 * 8; i < whole; i += 8) {
    a = _mm256_add_pd(a, _mm256_cvtps_pd(_mm_loadu_ps(p + i)));
    b = _mm256_add_pd(b, _mm256_cvtps_pd(_mm_loadu_ps(p + i + 4)));
  }
  alignas(32) double lanes_out[4];
  _mm256_store_pd(lanes_out, _mm256_add_pd(a, b));
  for (double v : lanes_out) total += v;
#else
  double a[4] = {0.0, 0.0, 0.0, 0.0};
  for (const std::size_t whole = n / 4 * 4; i < whole; i += 4)
    for (std::size_t k = 0; k < 4; ++k) a[k] += p[i + k];
  total = (a[0] + a[1]) + (a[2] + a[3]);
#endif
  for (; i < n; ++i) total += p[i];
  return total;
}

}  // namespace ctcnn::simd
