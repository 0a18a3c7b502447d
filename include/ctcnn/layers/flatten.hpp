// ctcnn/layers/flatten.hpp
// Flatten: (C, H, W) -> (C*H*W), row-major, as torch.nn.Flatten(). Any input shape.
// No parameters, no arithmetic: a copy forward, a copy backward.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>

#include "ctcnn/core/layer.hpp"
#include "ctcnn/core/shape.hpp"

namespace ctcnn {

template <class In>
struct FlattenLayer : detail::pointwise_layer_base<In, Shape<In::size>> {
  static constexpr std::size_t macs = 0;
  // The output is the input's floats in the same order: Sequential leaves the
  // gradient where it lies instead of calling backward.
  static constexpr bool reshape_only = true;
  static void forward(const float* x, float* y, const float* /*params*/, std::size_t batch) {
    std::copy(x, x + batch * In::size, y);
  }
  static void backward(const float* /*x*/, const float* /*y*/, const float* dy, float* dx,
                       const float* /*params*/, float* /*dparams*/, std::size_t batch) {
    if (dx) std::copy(dy, dy + batch * In::size, dx);
  }
  static std::string describe() { return "Flatten"; }
};

struct Flatten {
  using is_layer_spec = void;
  template <class In>
  static constexpr bool accepts = true;
  template <class In>
  using bind = FlattenLayer<In>;
};

}  // namespace ctcnn
