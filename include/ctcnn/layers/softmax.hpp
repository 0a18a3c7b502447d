// ctcnn/layers/softmax.hpp
// Softmax and LogSoftmax over the first axis of each sample: over the features of
// a flat input, over the channels of a (C, H, W) input (torch.nn.Softmax(dim=1)
// on a batch). Output shape = input shape. No parameters.
// For training, prefer ending the network with logits and using the fused
// CrossEntropy loss: it is more accurate than Softmax followed by a log.
#pragma once

#include <cstddef>
#include <string>

#include "ctcnn/core/layer.hpp"
#include "ctcnn/core/shape.hpp"
#include "ctcnn/kernels/softmax.hpp"

namespace ctcnn {

template <class In, bool Log>
struct SoftmaxLayer : detail::pointwise_layer_base<In, In> {
  static constexpr std::size_t classes = In::dims[0];
  static constexpr std::size_t inner = In::size / classes;
  static constexpr std::size_t macs = 0;
  static void forward(const float* x, float* y, const float* /*params*/, std::size_t batch) {
    kernels::softmax_forward<classes, inner, Log>(x, y, batch);
  }
  static void backward(const float* /*x*/, const float* y, const float* dy, float* dx,
                       const float* /*params*/, float* /*dparams*/, std::size_t batch) {
    if (dx) kernels::softmax_backward<classes, inner, Log>(y, dy, dx, batch);
  }
  static std::string describe() { return Log ? "LogSoftmax" : "Softmax"; }
};

namespace detail {
template <bool Log>
struct softmax_spec {
  using is_layer_spec = void;
  template <class In>
  static constexpr bool accepts = In::rank >= 1 && In::size > 0;
  template <class In>
  using bind = SoftmaxLayer<In, Log>;
};
}  // namespace detail

struct Softmax : detail::softmax_spec<false> {};
struct LogSoftmax : detail::softmax_spec<true> {};

}  // namespace ctcnn
