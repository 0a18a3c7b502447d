// ctcnn/kernels/linear.hpp
// Fully connected layer as fixed-size matrix products over a batch.
// Layouts: x (N, In)   w (Out, In)   b (Out)   y (N, Out)
#pragma once

#include <cstddef>

namespace ctcnn::kernels {

template <std::size_t In, std::size_t Out, bool Bias>
void linear_forward(const float* x, float* y, const float* w, const float* b, std::size_t batch) {
  for (std::size_t n = 0; n < batch; ++n) {
    const float* xn = x + n * In;
    float* yn = y + n * Out;
    for (std::size_t o = 0; o < Out; ++o) {
      const float* wo = w + o * In;
      float acc = 0.0f;
      for (std::size_t i = 0; i < In; ++i) acc += wo[i] * xn[i];
      yn[o] = Bias ? acc + b[o] : acc;
    }
  }
}

// dx = dy w (skipped when dx is null); dw += dy^T x; db += sum_n dy.
template <std::size_t In, std::size_t Out, bool Bias>
void linear_backward(const float* x, const float* dy, float* dx, const float* w, float* dw,
                     float* db, std::size_t batch) {
  for (std::size_t n = 0; n < batch; ++n) {
    const float* xn = x + n * In;
    const float* dyn = dy + n * Out;
    if (dx) {
      float* dxn = dx + n * In;
      for (std::size_t i = 0; i < In; ++i) dxn[i] = 0.0f;
      for (std::size_t o = 0; o < Out; ++o) {
        const float g = dyn[o];
        const float* wo = w + o * In;
        for (std::size_t i = 0; i < In; ++i) dxn[i] += g * wo[i];
      }
    }
    for (std::size_t o = 0; o < Out; ++o) {
      const float g = dyn[o];
      float* dwo = dw + o * In;
      for (std::size_t i = 0; i < In; ++i) dwo[i] += g * xn[i];
      if constexpr (Bias) db[o] += g;
    }
  }
}

}  // namespace ctcnn::kernels
