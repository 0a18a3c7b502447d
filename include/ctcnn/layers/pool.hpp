// ctcnn/layers/pool.hpp
// Pooling, as torch.nn.MaxPool2d / AvgPool2d, and Keras-style global pools.
//
//   MaxPool2d<Kernel, Options...>, AvgPool2d<Kernel, Options...>:
//     input (C, H, W) -> (C, OH, OW), per axis
//     OH = floor_or_ceil((H + 2*pad - dilation*(kernel-1) - 1) / stride) + 1,
//     and in CeilMode the last window must start inside the input or left padding.
//   Kernel: a number or Kernel{rows, cols}. Options, in any order:
//     Stride<S>/<R,C> (default: the kernel, as PyTorch), Padding<P>/<R,C> (default 0,
//     at most kernel/2, PyTorch's rule), CeilMode; MaxPool2d also Dilation<D>/<R,C>;
//     AvgPool2d also ExcludePad (PyTorch's count_include_pad=False; the default
//     IncludePad counts padded zeros in the divisor, as PyTorch does).
//   GlobalAvgPool2d, GlobalMaxPool2d: (C, H, W) -> (C), the mean / max of each
//     channel (Keras' GlobalAveragePooling2D; PyTorch's AdaptiveAvgPool2d(1)
//     followed by Flatten).
// No parameters. Cost: one comparison or addition per window element (0 MACs).
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>

#include "ctcnn/core/diagnostics.hpp"
#include "ctcnn/core/layer.hpp"
#include "ctcnn/core/options.hpp"
#include "ctcnn/core/shape.hpp"
#include "ctcnn/detail/format.hpp"
#include "ctcnn/kernels/pool.hpp"

namespace ctcnn {

namespace detail {

// Pool2dLayer::describe, e.g. "MaxPool2d(k2)". Not a template (see describe_conv).
[[gnu::cold]] inline std::string describe_pool(const PoolGeometry& g, bool max) {
  std::string s = max ? "MaxPool2d(" : "AvgPool2d(";
  append_extent(s, "k", g.kernel_h, g.kernel_w);
  if (g.stride_h != g.kernel_h || g.stride_w != g.kernel_w) append_extent(s, ", s", g.stride_h, g.stride_w);
  if (g.pad_h || g.pad_w) append_extent(s, ", p", g.pad_h, g.pad_w);
  if (g.dilation_h != 1 || g.dilation_w != 1) append_extent(s, ", d", g.dilation_h, g.dilation_w);
  if (!max && !g.count_include_pad) s += ", exclude pad";
  s += ')';
  return s;
}

}  // namespace detail

template <PoolGeometry G, bool Max>
struct Pool2dLayer {
  using input_shape = Shape<G.channels, G.in_h, G.in_w>;
  using output_shape = Shape<G.channels, G.out_h, G.out_w>;
  static constexpr PoolGeometry geometry = G;
  static constexpr bool ok = true;
  static constexpr std::size_t parameter_count = 0;
  static constexpr std::size_t macs = 0;
  static constexpr std::size_t rf_kernel_rows = dilated_extent(G.kernel_h, G.dilation_h);
  static constexpr std::size_t rf_kernel_cols = dilated_extent(G.kernel_w, G.dilation_w);
  static constexpr std::size_t rf_stride_rows = G.stride_h, rf_stride_cols = G.stride_w;
  static constexpr bool rf_global = false;
  static constexpr std::array<ParameterSpec, 0> parameter_specs() { return {}; }

  static void forward(const float* x, float* y, const float* /*params*/, std::size_t batch) {
    if constexpr (Max) {
      kernels::max_pool_forward<G>(x, y, batch);
    } else {
      kernels::avg_pool_forward<G>(x, y, batch);
    }
  }
  static void backward(const float* x, const float* /*y*/, const float* dy, float* dx,
                       const float* /*params*/, float* /*dparams*/, std::size_t batch) {
    if (!dx) return;
    if constexpr (Max) {
      kernels::max_pool_backward<G>(x, dy, dx, batch);
    } else {
      kernels::avg_pool_backward<G>(dy, dx, batch);
    }
  }
  // A ReLU just below: its backward and this one's in one pass (Sequential
  // calls this instead of the two; x is the ReLU's output, dx the gradient
  // w.r.t. the ReLU's input).
  static void backward_through_relu(const float* x, const float* dy, float* dx, std::size_t batch)
    requires Max
  {
    if (dx) kernels::max_pool_backward<G, true>(x, dy, dx, batch);
  }
  static std::string describe() { return detail::describe_pool(G, Max); }
};

namespace detail {

// The parts shared by MaxPool2d and AvgPool2d.
template <class Self, bool Max, auto K, class... Options>
struct pool2d_spec {
  using is_layer_spec = void;
  static constexpr std::size_t kernel_rows = ::ctcnn::detail::kernel_rows<K>();
  static constexpr std::size_t kernel_cols = ::ctcnn::detail::kernel_cols<K>();
  using stride =
      find_option_t<option_kind::stride, Stride<kernel_rows, kernel_cols>, Options...>;
  using padding = find_option_t<option_kind::padding, Valid, Options...>;
  using dilation = find_option_t<option_kind::dilation, Dilation<1>, Options...>;
  static constexpr bool ceil_mode = count_option<option_kind::ceil_mode, Options...> > 0;
  static constexpr bool count_include_pad =
      find_option_t<option_kind::count_include_pad, IncludePad, Options...>::include;

  // Same is a Conv2d padding: PyTorch's pools take no padding='same'.
  template <class Option>
  static constexpr bool known_option() {
    if constexpr (std::is_same_v<Option, Same>) {
      return false;
    } else if constexpr (Max) {
      return option_allowed<Option, option_kind::stride, option_kind::padding,
                            option_kind::dilation, option_kind::ceil_mode>;
    } else {
      return option_allowed<Option, option_kind::stride, option_kind::padding,
                            option_kind::ceil_mode, option_kind::count_include_pad>;
    }
  }

  template <bool Loud, class In>
  static constexpr bool checks() {
    constexpr std::size_t H = dim_or_zero<In, 1>();
    constexpr std::size_t W = dim_or_zero<In, 2>();
    return all_of_checks<
        check_option_known<Loud, Self, Options, known_option<Options>()>...,
        check_option_once<Loud, Self, option_kind_of_t<Options>,
                          count_option<option_kind_of_t<Options>, Options...>>...,
        check_input_rank<Loud, Self, 3, In::rank>,
        check_window_nonzero<Loud, Self, kernel_rows, kernel_cols, stride::rows, stride::cols,
                             dilation::rows, dilation::cols>,
        check_pool_padding<Loud, Self, rows, padding::rows, kernel_rows>,
        check_pool_padding<Loud, Self, cols, padding::cols, kernel_cols>,
        check_pool_window_fits<Loud, Self, rows, H, padding::rows, kernel_rows, dilation::rows>,
        check_pool_window_fits<Loud, Self, cols, W, padding::cols, kernel_cols, dilation::cols>>;
  }

  template <class In>
  static constexpr bool accepts = checks<false, In>();

  template <class In>
  static constexpr PoolGeometry geometry() {
    constexpr std::size_t H = dim_or_zero<In, 1>();
    constexpr std::size_t W = dim_or_zero<In, 2>();
    return PoolGeometry{
        dim_or_zero<In, 0>(),
        H,
        W,
        pool_out_extent(H, padding::rows, kernel_rows, stride::rows, dilation::rows, ceil_mode),
        pool_out_extent(W, padding::cols, kernel_cols, stride::cols, dilation::cols, ceil_mode),
        kernel_rows,
        kernel_cols,
        stride::rows,
        stride::cols,
        padding::rows,
        padding::cols,
        dilation::rows,
        dilation::cols,
        count_include_pad};
  }

  template <class In>
  using bind =
      std::conditional_t<checks<true, In>(), Pool2dLayer<geometry<In>(), Max>, failed_layer<In>>;
};

}  // namespace detail

template <auto K, class... Options>
struct MaxPool2d : detail::pool2d_spec<MaxPool2d<K, Options...>, true, K, Options...> {};

template <auto K, class... Options>
struct AvgPool2d : detail::pool2d_spec<AvgPool2d<K, Options...>, false, K, Options...> {};

template <class In, bool Max>
struct GlobalPool2dLayer {
  using input_shape = In;
  using output_shape = Shape<In::dims[0]>;
  static constexpr std::size_t channels = In::dims[0];
  static constexpr std::size_t plane = In::size / channels;
  static constexpr bool ok = true;
  static constexpr std::size_t parameter_count = 0;
  static constexpr std::size_t macs = 0;
  static constexpr std::size_t rf_kernel_rows = 1, rf_kernel_cols = 1;
  static constexpr std::size_t rf_stride_rows = 1, rf_stride_cols = 1;
  static constexpr bool rf_global = true;
  static constexpr std::array<ParameterSpec, 0> parameter_specs() { return {}; }
  static void forward(const float* x, float* y, const float* /*params*/, std::size_t batch) {
    kernels::global_pool_forward<channels, plane, Max>(x, y, batch);
  }
  static void backward(const float* x, const float* /*y*/, const float* dy, float* dx,
                       const float* /*params*/, float* /*dparams*/, std::size_t batch) {
    if (dx) kernels::global_pool_backward<channels, plane, Max>(x, dy, dx, batch);
  }
  static std::string describe() { return Max ? "GlobalMaxPool2d" : "GlobalAvgPool2d"; }
};

namespace detail {
template <class Self, bool Max>
struct global_pool_spec {
  using is_layer_spec = void;
  template <bool Loud, class In>
  static constexpr bool checks() {
    return all_of_checks<check_input_rank<Loud, Self, 3, In::rank>>;
  }
  template <class In>
  static constexpr bool accepts = checks<false, In>();
  template <class In>
  using bind =
      std::conditional_t<checks<true, In>(), GlobalPool2dLayer<In, Max>, failed_layer<In>>;
};
}  // namespace detail

struct GlobalAvgPool2d : detail::global_pool_spec<GlobalAvgPool2d, false> {};
struct GlobalMaxPool2d : detail::global_pool_spec<GlobalMaxPool2d, true> {};

}  // namespace ctcnn
