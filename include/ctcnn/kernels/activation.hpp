// ctcnn/kernels/activation.hpp
// Element-wise activation functions: value and derivative. The derivative is
// written in terms of whichever of x (input) or y (output) is cheaper, as
// PyTorch does (sigmoid and tanh from y, ReLU from y > 0).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace ctcnn::kernels {

struct relu_fn {
  static float forward(float x) { return x > 0.0f ? x : 0.0f; }
  static float backward(float /*x*/, float y, float dy) { return y > 0.0f ? dy : 0.0f; }
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

}  // namespace ctcnn::kernels
