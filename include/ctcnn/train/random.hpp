// ctcnn/train/random.hpp
// Rng: a small seeded generator whose streams are the same on every platform,
// compiler and standard library, and whose uniform floats are PyTorch's.
//
// Bits: std::mt19937 seeded with the low 32 bits of the seed. Its output is fixed
// by the C++ standard, and it is the engine of PyTorch's CPU generator, which
// torch.manual_seed(s) seeds the same way. So Rng(s).uniform(lo, hi) draws what
// torch.manual_seed(s); tensor.uniform_(lo, hi) draws, value for value, and the
// initialisers built on it (init.hpp) reproduce PyTorch's default initialisation.
//
// Floats are made by hand, never by std::uniform_real_distribution or
// std::normal_distribution (their algorithms are implementation-defined):
//   uniform(lo, hi):  x = (u32 & 0xFFFFFF) * 2^-24;  fma(x, hi - lo, lo)
//                     PyTorch's transformation x * (hi - lo) + lo, which the
//                     torch 1.13 x86 build that wrote tests/golden evaluates
//                     with a fused multiply-add (a separate
//                     multiply and add differs in the last bit for about half
//                     the values of U(-0.2, 0.2)). std::fma rounds once on every
//                     platform, whatever the compiler contracts. The interval
//                     is [lo, hi): hi itself is reachable only through rounding.
//   uniform01():      53 random bits as a double in [0, 1).
//   normal(m, s):     Box-Muller on two uniform01 draws, in double, one value
//                     per call (no cached second value: the state is the engine
//                     alone). uniform, below and shuffle are bit-identical
//                     everywhere; normal goes through std::log, std::cos and
//                     std::sqrt in double and then rounds to float, so two C
//                     libraries can only disagree when their last-bit
//                     difference in double crosses a float rounding boundary.
//                     It is not PyTorch's normal_ (whose result depends on the
//                     CPU's vector width).
//   below(n):         an unbiased integer in [0, n) by rejection.
//   shuffle(f, l):    Fisher-Yates with below() (std::shuffle's algorithm is
//                     implementation-defined).
// Rng also models std::uniform_random_bit_generator (32-bit results).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <numbers>
#include <random>
#include <utility>

namespace ctcnn {

class Rng {
 public:
  using result_type = std::uint32_t;

  // As torch.manual_seed: only the low 32 bits of the seed select the stream.
  explicit Rng(std::uint64_t seed) : engine_(static_cast<std::uint32_t>(seed)) {}

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }
  result_type operator()() { return next_u32(); }

  // One 32-bit output of the engine.
  std::uint32_t next_u32() { return static_cast<std::uint32_t>(engine_()); }
  // Two outputs, the first in the high half (as PyTorch's random64()).
  std::uint64_t next() {
    const std::uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }

  float uniform(float lo, float hi) {
    const float x = static_cast<float>(next_u32() & 0xFFFFFFu) * 0x1p-24f;
    return std::fma(x, hi - lo, lo);
  }
  double uniform01() { return static_cast<double>(next() >> 11) * 0x1p-53; }

  float normal(float mean, float stddev) {
    const double u1 = 1.0 - uniform01();  // (0, 1]: log(u1) is finite
    const double u2 = uniform01();
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    return static_cast<float>(static_cast<double>(mean) + static_cast<double>(stddev) * z);
  }

  // Uniform in [0, n); n must be > 0. Rejects the top (2^64 mod n) values so that
  // every residue is equally likely.
  std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;  // 2^64 mod n
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }

  template <std::random_access_iterator It>
  void shuffle(It first, It last) {
    const auto n = static_cast<std::uint64_t>(last - first);
    for (std::uint64_t i = n; i > 1; --i) {
      const auto j = below(i);
      using std::swap;
      swap(first[static_cast<std::ptrdiff_t>(i - 1)], first[static_cast<std::ptrdiff_t>(j)]);
    }
  }

  // Advances the stream by `count` 32-bit outputs.
  void discard(unsigned long long count) { engine_.discard(count); }

  // The whole state, for checkpoints: std::mt19937 writes and reads it as text
  // (its operator<< / >> format is fixed by the standard).
  const std::mt19937& engine() const { return engine_; }
  std::mt19937& engine() { return engine_; }

  friend bool operator==(const Rng&, const Rng&) = default;

 private:
  std::mt19937 engine_;
};

}  // namespace ctcnn
