// ctcnn/layers/activation.hpp
// Element-wise activations, any input shape, output shape = input shape:
//   ReLU                 max(x, 0)
//   LeakyReLU<Num, Den>  x > 0 ? x : (Num/Den) x   (default slope 1/100 = 0.01, as
//                        PyTorch; a ratio because clang 14 has no float template
//                        arguments: LeakyReLU<1, 5> is slope 0.2)
//   Sigmoid              1 / (1 + exp(-x))
//   Tanh                 tanh(x)
// No parameters; cost: one function evaluation per element, counted as 0 MACs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "ctcnn/core/layer.hpp"
#include "ctcnn/core/shape.hpp"
#include "ctcnn/detail/format.hpp"
#include "ctcnn/kernels/activation.hpp"

namespace ctcnn {

template <class In, class Fn, class Name>
struct ActivationLayer : detail::pointwise_layer_base<In, In> {
  static constexpr std::size_t macs = 0;
  // A max pool right above takes this layer's backward into its own (Sequential).
  static constexpr bool is_relu = std::is_same_v<Fn, kernels::relu_fn>;
  static void forward(const float* x, float* y, const float* /*params*/, std::size_t batch) {
    kernels::elementwise_forward<Fn>(x, y, batch * In::size);
  }
  static void backward(const float* x, const float* y, const float* dy, float* dx,
                       const float* /*params*/, float* /*dparams*/, std::size_t batch) {
    if (dx) kernels::elementwise_backward<Fn>(x, y, dy, dx, batch * In::size);
  }
  static std::string describe() { return Name::describe(); }
};

namespace detail {
// An activation spec: accepts any shape, binds to ActivationLayer.
template <class Self, class Fn>
struct activation_spec {
  using is_layer_spec = void;
  template <class In>
  static constexpr bool accepts = true;
  template <class In>
  using bind = ActivationLayer<In, Fn, Self>;
};
}  // namespace detail

struct ReLU : detail::activation_spec<ReLU, kernels::relu_fn> {
  static std::string describe() { return "ReLU"; }
};

template <std::intmax_t Num = 1, std::intmax_t Den = 100>
struct LeakyReLU : detail::activation_spec<LeakyReLU<Num, Den>, kernels::leaky_relu_fn<Num, Den>> {
  static_assert(Den != 0, "ctcnn::LeakyReLU: the slope's denominator must not be zero");
  static std::string describe() { return detail::formatted("LeakyReLU(%jd/%jd)", Num, Den); }
};

struct Sigmoid : detail::activation_spec<Sigmoid, kernels::sigmoid_fn> {
  static std::string describe() { return "Sigmoid"; }
};

struct Tanh : detail::activation_spec<Tanh, kernels::tanh_fn> {
  static std::string describe() { return "Tanh"; }
};

}  // namespace ctcnn
