// ctcnn/kernels/softmax.hpp
// Softmax and log-softmax along the first axis of each sample (dim=1 of a batch,
// PyTorch's default for 2-d and 4-d inputs), numerically stable (max subtracted).
// Layout per sample: (Classes, Inner) where Inner is the product of the other axes.
#pragma once

#include <cmath>
#include <cstddef>

namespace ctcnn::kernels {

template <std::size_t Classes, std::size_t Inner, bool Log>
void softmax_forward(const float* x, float* y, std::size_t batch) {
  for (std::size_t n = 0; n < batch; ++n) {
    const float* xn = x + n * Classes * Inner;
    float* yn = y + n * Classes * Inner;
    for (std::size_t j = 0; j < Inner; ++j) {
      float m = xn[j];
      for (std::size_t c = 1; c < Classes; ++c) m = std::fmax(m, xn[c * Inner + j]);
      float sum = 0.0f;
      for (std::size_t c = 0; c < Classes; ++c) sum += std::exp(xn[c * Inner + j] - m);
      if constexpr (Log) {
        const float log_sum = std::log(sum) + m;
        for (std::size_t c = 0; c < Classes; ++c) yn[c * Inner + j] = xn[c * Inner + j] - log_sum;
      } else {
        const float inv = 1.0f / sum;
        for (std::size_t c = 0; c < Classes; ++c)
          yn[c * Inner + j] = std::exp(xn[c * Inner + j] - m) * inv;
      }
    }
  }
}

// softmax:     dx = y * (dy - sum(dy * y))
// log-softmax: dx = dy - exp(y) * sum(dy)
template <std::size_t Classes, std::size_t Inner, bool Log>
void softmax_backward(const float* y, const float* dy, float* dx, std::size_t batch) {
  for (std::size_t n = 0; n < batch; ++n) {
    const std::size_t base = n * Classes * Inner;
    for (std::size_t j = 0; j < Inner; ++j) {
      float dot = 0.0f;
      for (std::size_t c = 0; c < Classes; ++c) {
        const std::size_t i = base + c * Inner + j;
        dot += Log ? dy[i] : dy[i] * y[i];
      }
      for (std::size_t c = 0; c < Classes; ++c) {
        const std::size_t i = base + c * Inner + j;
        dx[i] = Log ? dy[i] - std::exp(y[i]) * dot : y[i] * (dy[i] - dot);
      }
    }
  }
}

}  // namespace ctcnn::kernels
