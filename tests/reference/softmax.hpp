// tests/reference/softmax.hpp
// Reference softmax and log-softmax over the first axis of each sample
// (torch.nn.Softmax(dim=1) on a batch), in double. Each sample is viewed as
// (classes, inner): inner is the product of the remaining axes, and every inner
// position is normalised separately over the classes.
//   softmax:     y_c = exp(x_c - m) / sum_k exp(x_k - m)        (m = max_k x_k)
//   log-softmax: y_c = x_c - m - log(sum_k exp(x_k - m))
//   backward:    dx_c = y_c (dy_c - sum_k dy_k y_k)             (softmax)
//                dx_c = dy_c - softmax_c * sum_k dy_k            (log-softmax)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace ref {

// Returns softmax (or log-softmax) in double, the backward needs it unrounded.
inline std::vector<double> softmax_values(const std::vector<float>& x, std::size_t batch,
                                          std::size_t classes, std::size_t inner, bool log) {
  std::vector<double> y(x.size());
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t j = 0; j < inner; ++j) {
      auto at = [&](std::size_t c) { return (n * classes + c) * inner + j; };
      double m = x[at(0)];
      for (std::size_t c = 1; c < classes; ++c) m = std::max(m, static_cast<double>(x[at(c)]));
      double sum = 0.0;
      for (std::size_t c = 0; c < classes; ++c) sum += std::exp(x[at(c)] - m);
      for (std::size_t c = 0; c < classes; ++c)
        y[at(c)] = log ? x[at(c)] - m - std::log(sum) : std::exp(x[at(c)] - m) / sum;
    }
  return y;
}

inline std::vector<float> softmax_forward(const std::vector<float>& x, std::size_t batch,
                                          std::size_t classes, std::size_t inner, bool log) {
  const std::vector<double> y = softmax_values(x, batch, classes, inner, log);
  return std::vector<float>(y.begin(), y.end());
}

inline std::vector<float> softmax_backward(const std::vector<float>& x, const std::vector<float>& dy,
                                           std::size_t batch, std::size_t classes,
                                           std::size_t inner, bool log) {
  const std::vector<double> p = softmax_values(x, batch, classes, inner, false);
  std::vector<float> dx(x.size());
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t j = 0; j < inner; ++j) {
      auto at = [&](std::size_t c) { return (n * classes + c) * inner + j; };
      double dot = 0.0;
      for (std::size_t c = 0; c < classes; ++c) dot += log ? dy[at(c)] : dy[at(c)] * p[at(c)];
      for (std::size_t c = 0; c < classes; ++c)
        dx[at(c)] = static_cast<float>(log ? dy[at(c)] - p[at(c)] * dot : p[at(c)] * (dy[at(c)] - dot));
    }
  return dx;
}

}  // namespace ref
