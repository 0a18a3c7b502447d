// tests/reference/flatten.hpp
// Reference flatten, torch.nn.Flatten(): (N, C, H, W) -> (N, C*H*W), element
// (c, h, w) of a sample going to position (c*H + h)*W + w; backward is the inverse map.
#pragma once

#include <cstddef>
#include <vector>

namespace ref {

inline std::vector<float> flatten_forward(const std::vector<float>& x, std::size_t batch,
                                          std::size_t c_n, std::size_t h_n, std::size_t w_n) {
  std::vector<float> y(batch * c_n * h_n * w_n);
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t c = 0; c < c_n; ++c)
      for (std::size_t h = 0; h < h_n; ++h)
        for (std::size_t w = 0; w < w_n; ++w)
          y[n * (c_n * h_n * w_n) + (c * h_n + h) * w_n + w] = x[((n * c_n + c) * h_n + h) * w_n + w];
  return y;
}

inline std::vector<float> flatten_backward(const std::vector<float>& dy, std::size_t batch,
                                           std::size_t c_n, std::size_t h_n, std::size_t w_n) {
  std::vector<float> dx(batch * c_n * h_n * w_n);
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t c = 0; c < c_n; ++c)
      for (std::size_t h = 0; h < h_n; ++h)
        for (std::size_t w = 0; w < w_n; ++w)
          dx[((n * c_n + c) * h_n + h) * w_n + w] = dy[n * (c_n * h_n * w_n) + (c * h_n + h) * w_n + w];
  return dx;
}

}  // namespace ref
