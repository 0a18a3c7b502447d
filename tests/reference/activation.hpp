// tests/reference/activation.hpp
// Reference element-wise activations and their derivatives, evaluated in double
// (PyTorch's definitions: ReLU and LeakyReLU take the x <= 0 branch at 0).
//   relu(x)           = max(x, 0)              relu'(x)       = x > 0
//   leaky_relu(x, a)  = x > 0 ? x : a*x        leaky_relu'(x) = x > 0 ? 1 : a
//   sigmoid(x)        = 1 / (1 + exp(-x))      sigmoid'(x)    = s (1 - s)
//   tanh(x)                                    tanh'(x)       = 1 - tanh(x)^2
#pragma once

#include <cmath>
#include <cstddef>
#include <vector>

namespace ref {

enum class Activation { relu, leaky_relu, sigmoid, tanh };

inline double activation_value(Activation a, double x, double slope) {
  switch (a) {
    case Activation::relu:
      return x > 0.0 ? x : 0.0;
    case Activation::leaky_relu:
      return x > 0.0 ? x : slope * x;
    case Activation::sigmoid:
      return 1.0 / (1.0 + std::exp(-x));
    case Activation::tanh:
      return std::tanh(x);
  }
  return 0.0;
}

inline double activation_derivative(Activation a, double x, double slope) {
  switch (a) {
    case Activation::relu:
      return x > 0.0 ? 1.0 : 0.0;
    case Activation::leaky_relu:
      return x > 0.0 ? 1.0 : slope;
    case Activation::sigmoid: {
      const double s = 1.0 / (1.0 + std::exp(-x));
      return s * (1.0 - s);
    }
    case Activation::tanh: {
      const double t = std::tanh(x);
      return 1.0 - t * t;
    }
  }
  return 0.0;
}

// slope is used by leaky_relu only.
inline std::vector<float> activation_forward(Activation a, const std::vector<float>& x,
                                             double slope = 0.0) {
  std::vector<float> y(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    y[i] = static_cast<float>(activation_value(a, x[i], slope));
  return y;
}

// dx = f'(x) * dy
inline std::vector<float> activation_backward(Activation a, const std::vector<float>& x,
                                              const std::vector<float>& dy, double slope = 0.0) {
  std::vector<float> dx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    dx[i] = static_cast<float>(activation_derivative(a, x[i], slope) * dy[i]);
  return dx;
}

}  // namespace ref
