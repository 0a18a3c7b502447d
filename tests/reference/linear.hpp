// tests/reference/linear.hpp
// Reference fully connected layer, torch.nn.Linear: y = x W^T + b, in double.
// Layouts: x (N, In)  w (Out, In)  b (Out)  y (N, Out)
#pragma once

#include <cstddef>
#include <vector>

namespace ref {

// b is ignored when !bias.
inline std::vector<float> linear_forward(const std::vector<float>& x, const std::vector<float>& w,
                                         const std::vector<float>& b, bool bias, std::size_t batch,
                                         std::size_t in, std::size_t out) {
  std::vector<float> y(batch * out);
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t o = 0; o < out; ++o) {
      double acc = bias ? b[o] : 0.0;
      for (std::size_t i = 0; i < in; ++i) acc += static_cast<double>(w[o * in + i]) * x[n * in + i];
      y[n * out + o] = static_cast<float>(acc);
    }
  return y;
}

// dx[n,i] = sum_o dy[n,o] w[o,i]
inline std::vector<float> linear_backward_data(const std::vector<float>& w,
                                               const std::vector<float>& dy, std::size_t batch,
                                               std::size_t in, std::size_t out) {
  std::vector<float> dx(batch * in);
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t i = 0; i < in; ++i) {
      double acc = 0.0;
      for (std::size_t o = 0; o < out; ++o) acc += static_cast<double>(dy[n * out + o]) * w[o * in + i];
      dx[n * in + i] = static_cast<float>(acc);
    }
  return dx;
}

// dw[o,i] = sum_n dy[n,o] x[n,i]
inline std::vector<float> linear_backward_weight(const std::vector<float>& x,
                                                 const std::vector<float>& dy, std::size_t batch,
                                                 std::size_t in, std::size_t out) {
  std::vector<float> dw(out * in);
  for (std::size_t o = 0; o < out; ++o)
    for (std::size_t i = 0; i < in; ++i) {
      double acc = 0.0;
      for (std::size_t n = 0; n < batch; ++n) acc += static_cast<double>(dy[n * out + o]) * x[n * in + i];
      dw[o * in + i] = static_cast<float>(acc);
    }
  return dw;
}

// db[o] = sum_n dy[n,o]
inline std::vector<float> linear_backward_bias(const std::vector<float>& dy, std::size_t batch,
                                               std::size_t out) {
  std::vector<float> db(out);
  for (std::size_t o = 0; o < out; ++o) {
    double acc = 0.0;
    for (std::size_t n = 0; n < batch; ++n) acc += dy[n * out + o];
    db[o] = static_cast<float>(acc);
  }
  return db;
}

}  // namespace ref
