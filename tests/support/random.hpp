// Reproducible random fills for tests: every test states its seed, so a failure
// can be replayed exactly.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <span>

namespace ctcnn::test {

// Uniform values in [lo, hi).
inline void fill_uniform(std::span<float> out, std::uint32_t seed, float lo = -1.0f,
                         float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (float& v : out) v = dist(gen);
}

// PyTorch's default initialisation bound for a layer with `fan_in` inputs per
// output, 1/sqrt(fan_in): parameters drawn from it keep activations of order 1.
inline float default_init_bound(std::size_t fan_in) {
  return 1.0f / std::sqrt(static_cast<float>(fan_in));
}

template <class T>
std::span<float> span_of(T& t) {
  return std::span<float>(t.data(), t.size());
}

}  // namespace ctcnn::test
