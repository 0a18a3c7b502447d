// ctcnn/core/layer.hpp
// What a layer is. A layer template the user writes (Conv2d<6, 5>) is a *spec*:
// it holds only its own settings. Bound to an input shape by the network,
//   typename Spec::template bind<InShape>
// it becomes a *bound layer* with fixed shapes and static kernels:
//
//   input_shape, output_shape           per-sample Shape types
//   ok                                   false only for the placeholder of a failed bind
//   parameter_count, macs                per sample, constants
//   rf_kernel_rows/cols, rf_stride_*     for the receptive field (rf_global: mixes all)
//   forward(x, y, params, batch)         x: (batch, input)  y: (batch, output)
//   backward(x, y, dy, dx, params, dparams, batch)
//                                        dx may be null (nothing upstream needs it);
//                                        dparams is accumulated into (+=), as in PyTorch
//   describe()                           one line for summaries
//   parameter_specs()                    names, offsets and PyTorch shapes of its tensors
//
// Parameters live in the network's flat buffer in PyTorch layout, weight first
// then bias, so they can be exchanged with PyTorch without conversion.
#pragma once

#include <array>
#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>

#include "ctcnn/core/shape.hpp"
#include "ctcnn/detail/format.hpp"

namespace ctcnn {

// One parameter tensor of a layer, in PyTorch layout.
struct ParameterSpec {
  std::string_view name;  // "weight", "bias"
  std::size_t offset;     // in floats, from the start of the layer's parameters
  std::size_t rank;
  std::array<std::size_t, 4> dims;
  constexpr std::size_t size() const {
    std::size_t s = 1;
    for (std::size_t i = 0; i < rank; ++i) s *= dims[i];
    return s;
  }
};

template <class L>
concept BoundLayer = requires(const float* cx, float* x, std::size_t n) {
  typename L::input_shape;
  typename L::output_shape;
  requires is_shape_v<typename L::input_shape> && is_shape_v<typename L::output_shape>;
  { L::ok } -> std::convertible_to<bool>;
  { L::parameter_count } -> std::convertible_to<std::size_t>;
  { L::macs } -> std::convertible_to<std::size_t>;
  { L::rf_kernel_rows } -> std::convertible_to<std::size_t>;
  { L::rf_kernel_cols } -> std::convertible_to<std::size_t>;
  { L::rf_stride_rows } -> std::convertible_to<std::size_t>;
  { L::rf_stride_cols } -> std::convertible_to<std::size_t>;
  { L::rf_global } -> std::convertible_to<bool>;
  L::forward(cx, x, cx, n);
  L::backward(cx, cx, cx, x, cx, x, n);
  { L::describe() } -> std::convertible_to<std::string>;
  L::parameter_specs();
};

// A spec that can be bound to input shape In (quietly: no hard error).
template <class Spec, class In>
concept LayerFor = requires {
  { Spec::template accepts<In> } -> std::convertible_to<bool>;
  requires Spec::template accepts<In>;
};

// What a layer spec must provide before a network can use it.
template <class Spec>
concept LayerSpec = requires { typename Spec::is_layer_spec; };

namespace detail {

// Stands in for a layer whose checks failed, so the network stops binding the
// layers after it: the first error is the only one.
template <class In>
struct failed_layer {
  using input_shape = In;
  using output_shape = In;
  static constexpr bool ok = false;
};

// Defaults for layers that hold no parameters and look at one position at a time.
template <class In, class Out>
struct pointwise_layer_base {
  using input_shape = In;
  using output_shape = Out;
  static constexpr bool ok = true;
  static constexpr std::size_t parameter_count = 0;
  static constexpr std::size_t rf_kernel_rows = 1, rf_kernel_cols = 1;
  static constexpr std::size_t rf_stride_rows = 1, rf_stride_cols = 1;
  static constexpr bool rf_global = false;
  static constexpr std::array<ParameterSpec, 0> parameter_specs() { return {}; }
};

// prefix, then "r" when r == c or "rxc": kernel, stride, ... in layer descriptions.
[[gnu::cold]] inline void append_extent(std::string& s, const char* prefix, std::size_t r, std::size_t c) {
  if (r == c) {
    append_format(s, "%s%zu", prefix, r);
  } else {
    append_format(s, "%s%zux%zu", prefix, r, c);
  }
}

[[gnu::cold]] inline std::string shape_string(std::size_t rank, const std::size_t* dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < rank; ++i) append_format(s, "%s%zu", i ? ", " : "", dims[i]);
  s += ')';
  return s;
}
template <class S>
std::string shape_string() {
  return shape_string(S::rank, S::dims.data());
}

}  // namespace detail
}  // namespace ctcnn
