// ctcnn/layers/conv2d.hpp
// Conv2d<OutChannels, Kernel, Options...>: 2-d cross-correlation, as torch.nn.Conv2d.
//
//   input (C, H, W) -> output (OutChannels, OH, OW), per axis
//   OH = floor((H + pad_before + pad_after - dilation*(kernel-1) - 1) / stride) + 1
//
// Kernel: a number (square) or Kernel{rows, cols}. Options, in any order:
//   Stride<S> / Stride<R, C>      default 1
//   Padding<P> / Padding<R, C>    default 0; or Same (stride 1; odd extra padding
//                                 goes after, as PyTorch) or Valid (no padding)
//   Dilation<D> / Dilation<R, C>  default 1
//   PadMode<Zeros|Reflect|Replicate|Circular>  PyTorch's padding_mode; default Zeros
//   NoBias                        no bias term
//   InChannels<C>                 assert the input has C channels
// Requires: kernel, stride, dilation >= 1; the dilated kernel fits the padded
// input; reflect padding < input, circular padding <= input; Same only with stride 1.
// Parameters: weight (O, C, KH, KW), then bias (O).
// Cost: O*OH*OW*C*KH*KW multiply-adds per sample.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>

#include "ctcnn/core/diagnostics.hpp"
#include "ctcnn/core/layer.hpp"
#include "ctcnn/core/options.hpp"
#include "ctcnn/core/shape.hpp"
#include "ctcnn/detail/format.hpp"
#include "ctcnn/kernels/conv2d.hpp"

namespace ctcnn {

// The bound convolution: one fixed geometry.
namespace detail {

// Conv2dLayer::describe, e.g. "Conv2d(1->6, k5, p2)". Not a template: each
// layer type adds a call, not its own copy of the formatting.
[[gnu::cold]] inline std::string describe_conv(const ConvGeometry& g) {
  std::string s = formatted("Conv2d(%zu->%zu", g.in_c, g.out_c);
  append_extent(s, ", k", g.kernel_h, g.kernel_w);
  if (g.stride_h != 1 || g.stride_w != 1) append_extent(s, ", s", g.stride_h, g.stride_w);
  if (g.pad_top || g.pad_bottom || g.pad_left || g.pad_right) {
    if (g.pad_top == g.pad_bottom && g.pad_left == g.pad_right) {
      append_extent(s, ", p", g.pad_top, g.pad_left);
    } else {
      append_format(s, ", p%zu,%zu,%zu,%zu", g.pad_top, g.pad_bottom, g.pad_left, g.pad_right);
    }
  }
  if (g.dilation_h != 1 || g.dilation_w != 1) append_extent(s, ", d", g.dilation_h, g.dilation_w);
  static constexpr const char* modes[] = {"", ", reflect", ", replicate", ", circular"};
  s += modes[static_cast<int>(g.pad_kind)];
  if (!g.bias) s += ", no bias";
  s += ')';
  return s;
}

}  // namespace detail

template <ConvGeometry G>
struct Conv2dLayer {
  using input_shape = Shape<G.in_c, G.in_h, G.in_w>;
  using output_shape = Shape<G.out_c, G.out_h, G.out_w>;
  using weight_shape = Shape<G.out_c, G.in_c, G.kernel_h, G.kernel_w>;
  using bias_shape = Shape<G.out_c>;
  static constexpr ConvGeometry geometry = G;
  static constexpr bool ok = true;
  static constexpr bool has_bias = G.bias;
  static constexpr std::size_t parameter_count = G.weight_size() + (G.bias ? G.out_c : 0);
  static constexpr std::size_t macs = G.out_size() * G.in_c * G.kernel_h * G.kernel_w;
  static constexpr std::size_t rf_kernel_rows = dilated_extent(G.kernel_h, G.dilation_h);
  static constexpr std::size_t rf_kernel_cols = dilated_extent(G.kernel_w, G.dilation_w);
  static constexpr std::size_t rf_stride_rows = G.stride_h, rf_stride_cols = G.stride_w;
  static constexpr bool rf_global = false;

  static constexpr auto parameter_specs() {
    constexpr ParameterSpec weight{"weight", 0, 4, {G.out_c, G.in_c, G.kernel_h, G.kernel_w}};
    if constexpr (G.bias) {
      return std::array<ParameterSpec, 2>{weight,
                                          ParameterSpec{"bias", G.weight_size(), 1, {G.out_c}}};
    } else {
      return std::array<ParameterSpec, 1>{weight};
    }
  }

  // x: (N, C, H, W)  y: (N, O, OH, OW)  params: weight (O, C, KH, KW), bias (O)
  static void forward(const float* x, float* y, const float* params, std::size_t batch) {
    kernels::conv2d_forward<G>(x, y, params, params + G.weight_size(), batch);
  }
  static void backward(const float* x, const float* /*y*/, const float* dy, float* dx,
                       const float* params, float* dparams, std::size_t batch) {
    kernels::conv2d_backward<G>(x, dy, dx, params, dparams, dparams + G.weight_size(), batch);
  }

  static std::string describe() { return detail::describe_conv(G); }
};

template <std::size_t OutChannels, auto K, class... Options>
struct Conv2d {
  using is_layer_spec = void;
  using stride = detail::find_option_t<option_kind::stride, Stride<1>, Options...>;
  using padding = detail::find_option_t<option_kind::padding, Valid, Options...>;
  using dilation = detail::find_option_t<option_kind::dilation, Dilation<1>, Options...>;
  using pad_mode = detail::find_option_t<option_kind::pad_mode, PadMode<Zeros>, Options...>;
  using in_channels = detail::find_option_t<option_kind::in_channels, void, Options...>;
  static constexpr std::size_t kernel_rows = detail::kernel_rows<K>();
  static constexpr std::size_t kernel_cols = detail::kernel_cols<K>();
  static constexpr bool bias = detail::count_option<option_kind::bias, Options...> == 0;
  static constexpr std::size_t pad_top =
      padding::same ? same_pad_begin(kernel_rows, dilation::rows) : padding::rows;
  static constexpr std::size_t pad_bottom =
      padding::same ? same_pad_end(kernel_rows, dilation::rows) : padding::rows;
  static constexpr std::size_t pad_left =
      padding::same ? same_pad_begin(kernel_cols, dilation::cols) : padding::cols;
  static constexpr std::size_t pad_right =
      padding::same ? same_pad_end(kernel_cols, dilation::cols) : padding::cols;

  template <bool Loud, class In>
  static constexpr bool checks() {
    constexpr std::size_t C = detail::dim_or_zero<In, 0>();
    constexpr std::size_t H = detail::dim_or_zero<In, 1>();
    constexpr std::size_t W = detail::dim_or_zero<In, 2>();
    constexpr PadKind kind = pad_mode::kind;
    return detail::all_of_checks<
        detail::check_option_known<Loud, Conv2d, Options,
                                   detail::option_allowed<Options, option_kind::stride,
                                                          option_kind::padding,
                                                          option_kind::dilation,
                                                          option_kind::bias,
                                                          option_kind::pad_mode,
                                                          option_kind::in_channels>>...,
        detail::check_option_once<Loud, Conv2d, detail::option_kind_of_t<Options>,
                                  detail::count_option<detail::option_kind_of_t<Options>,
                                                       Options...>>...,
        detail::check_input_rank<Loud, Conv2d, 3, In::rank>,
        detail::check_out_count_nonzero<Loud, Conv2d, OutChannels>,
        detail::check_window_nonzero<Loud, Conv2d, kernel_rows, kernel_cols, stride::rows,
                                     stride::cols, dilation::rows, dilation::cols>,
        detail::check_in_channels<Loud, Conv2d, in_channels_value<C>(), C>,
        detail::check_same_needs_stride_one<Loud, Conv2d, detail::rows,
                                            padding::same ? stride::rows : 1>,
        detail::check_same_needs_stride_one<Loud, Conv2d, detail::cols,
                                            padding::same ? stride::cols : 1>,
        detail::check_conv_kernel_fits<Loud, Conv2d, detail::rows, H, pad_top, pad_bottom,
                                       kernel_rows, dilation::rows>,
        detail::check_conv_kernel_fits<Loud, Conv2d, detail::cols, W, pad_left, pad_right,
                                       kernel_cols, dilation::cols>,
        detail::check_reflect_pad<Loud, Conv2d, detail::rows,
                                  kind == PadKind::reflect ? std::max(pad_top, pad_bottom) : 0,
                                  kind == PadKind::reflect ? H : 1>,
        detail::check_reflect_pad<Loud, Conv2d, detail::cols,
                                  kind == PadKind::reflect ? std::max(pad_left, pad_right) : 0,
                                  kind == PadKind::reflect ? W : 1>,
        detail::check_circular_pad<Loud, Conv2d, detail::rows,
                                   kind == PadKind::circular ? std::max(pad_top, pad_bottom) : 0,
                                   H>,
        detail::check_circular_pad<Loud, Conv2d, detail::cols,
                                   kind == PadKind::circular ? std::max(pad_left, pad_right) : 0,
                                   W>>;
  }

  template <class In>
  static constexpr bool accepts = checks<false, In>();

  template <class In>
  static constexpr ConvGeometry geometry() {
    constexpr std::size_t H = detail::dim_or_zero<In, 1>();
    constexpr std::size_t W = detail::dim_or_zero<In, 2>();
    return ConvGeometry{detail::dim_or_zero<In, 0>(),
                        H,
                        W,
                        OutChannels,
                        conv_out_extent(H, pad_top, pad_bottom, kernel_rows, stride::rows,
                                        dilation::rows),
                        conv_out_extent(W, pad_left, pad_right, kernel_cols, stride::cols,
                                        dilation::cols),
                        kernel_rows,
                        kernel_cols,
                        stride::rows,
                        stride::cols,
                        pad_top,
                        pad_bottom,
                        pad_left,
                        pad_right,
                        dilation::rows,
                        dilation::cols,
                        pad_mode::kind,
                        bias};
  }

  template <class In>
  using bind = std::conditional_t<checks<true, In>(), Conv2dLayer<geometry<In>()>,
                                  detail::failed_layer<In>>;

 private:
  template <std::size_t Actual>
  static constexpr std::size_t in_channels_value() {
    if constexpr (std::is_void_v<in_channels>) {
      return Actual;
    } else {
      return in_channels::value;
    }
  }
};

}  // namespace ctcnn
