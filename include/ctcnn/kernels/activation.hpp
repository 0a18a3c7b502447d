// ctcnn/kernels/activation.hpp
// Element-wise activation functions: value and derivative. The derivative is
// written in terms of whichever of x (input) or y (output) is cheaper, as
// PyTorch does (sigmoid and tanh from y, ReLU from y > 0).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

#include "ctcnn/core/simd.hpp"

namespace ctcnn::kernels {

// As PyTorch: NaN propagates (relu(NaN) = NaN, and a NaN output passes its
// gradient on), x <= 0 gives +0.
struct relu_fn {
  static float forward(float x) { return x <= 0.0f ? 0.0f : x; }
  static float backward(float /*x*/, float y, float dy) { return y <= 0.0f ? 0.0f : dy; }
};

template <std::intmax_t Num, std::intmax_t Den>
struct leaky_relu_fn {
  static constexpr float slope = static_cast<float>(Num) / static_cast<float>(Den);
  static float forward(float x) { return x > 0.0f ? x : x * slope; }
  static float backward(float x, float /*y*/, float dy) { return x > 0.0f ? dy : dy * slope; }
};

struct sigmoid_fn {
  static float forward(float x) { return 1.0f / (1.0f + std::exp(-x)); }
  static float backward(float /*x*/, float y, float dy) { return dy * y * (1.0f - y); }
};

struct tanh_fn {
  static float forward(float x) { return std::tanh(x); }
  static float backward(float /*x*/, float y, float dy) { return dy * (1.0f - y * y); }
};

template <class Fn>
void elementwise_forward(const float* x, float* y, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) y[i] = Fn::forward(x[i]);
}

template <class Fn>
void elementwise_backward(const float* x, const float* y, const float* dy, float* dx,
                          std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) dx[i] = Fn::backward(x[i], y[i], dy[i]);
}

// ReLU in whole vectors (GCC does not vectorise the scalar select on its own):
// simd::relu and simd::relu_gate are the same selects, lane by lane.
template <>
inline void elementwise_forward<relu_fn>(const float* x, float* y, std::size_t count) {
  constexpr std::size_t L = simd::lanes;
  const std::size_t whole = count / L * L;
  for (std::size_t i = 0; i < whole; i += L)
    simd::store(y + i, simd::relu(simd::load(x + i)));
  for (std::size_t i = whole; i < count; ++i) y[i] = relu_fn::forward(x[i]);
}
template <>
inline void elementwise_backward<relu_fn>(const float* /*x*/, const float* y, const float* dy,
                                          float* dx, std::size_t count) {
  constexpr std::size_t L = simd::lanes;
  const std::size_t whole = count / L * L;
  for (std::size_t i = 0; i < whole; i += L)
    simd::store(dx + i, simd::relu_gate(simd::load(y + i), simd::load(dy + i)));
  for (std::size_t i = whole; i < count; ++i) dx[i] = relu_fn::backward(0.0f, y[i], dy[i]);
}

}  // namespace ctcnn::kernels
