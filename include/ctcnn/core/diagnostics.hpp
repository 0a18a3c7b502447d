// ctcnn/core/diagnostics.hpp
// Compile-time checks that print their numbers. C++20 static_assert messages
// cannot hold values, so every rule is a class template whose arguments are the
// layer (the spec the user wrote, e.g. ctcnn::Conv2d<6, 7>), the axis and the
// numbers involved; g++ and clang print those arguments on the "in instantiation
// of" lines next to the message, and both print the failed comparison with the
// numbers substituted (g++: "the comparison reduces to '(4 >= 7)'", clang:
// "requirement '4UL + 0UL + 0UL >= window_extent(7UL, 1UL)'").
// Message format: "ctcnn::<Layer>: <what is wrong>: <rule>"; checks shared by
// several layers say "ctcnn:" and name the layer in their template arguments.
//
// Every check takes `Loud` first and has a `value`. Loud = false only computes the
// value (the quiet `accepts<In>` of each layer, so rejection can be tested
// without a hard error). Loud = true (when a network is built) also instantiates
// a function template, `report_*`, whose body holds the static_assert. The
// assertion lives in a function body, not in the check class, because clang
// marks a class whose static_assert failed as invalid, so its `value` stops
// being a constant and every use of it adds an error of its own; a failed
// assertion in a function body leaves the check's value usable, so the first
// error is the only one with both compilers. The assertion's condition is the
// plain comparison (no `!Loud ||` in front) so that it is printed reduced to
// numbers. Checks are combined with all_of_checks, which stops instantiating at
// the first failure.
#pragma once

#include <cstddef>
#include <limits>
#include <type_traits>

#include "ctcnn/core/shape.hpp"

namespace ctcnn::detail {

// Axis names printed in check arguments.
struct rows {};
struct cols {};

// dilation*(kernel-1) + 1, the extent a dilated kernel covers; the largest size
// when kernel or dilation is 0, so that such a window fits nothing instead of
// wrapping around to a small number (check_window_nonzero reports it first).
constexpr std::size_t window_extent(std::size_t kernel, std::size_t dilation) {
  return kernel == 0 || dilation == 0 ? std::numeric_limits<std::size_t>::max()
                                      : dilated_extent(kernel, dilation);
}

// ---- structure -----------------------------------------------------------------

template <class Layer, class Option, bool Known>
constexpr auto report_option_known() {
  static_assert(Known,
                "ctcnn: option not understood by this layer: remove it; the layer's header "
                "lists the options it takes (template arguments: true, layer, option)");
  return Known;
}
template <bool Loud, class Layer, class Option, bool Known>
struct check_option_known : std::bool_constant<Known> {};
template <class Layer, class Option, bool Known>
struct check_option_known<true, Layer, Option, Known> : std::bool_constant<Known> {
  using reported = decltype(report_option_known<Layer, Option, Known>());
};

template <class Layer, class OptionKind, std::size_t Times>
constexpr auto report_option_once() {
  static_assert(Times <= 1,
                "ctcnn: the same option given more than once: give each kind of option at most "
                "once (template arguments: true, layer, option kind, times given)");
  return Times <= 1;
}
template <bool Loud, class Layer, class OptionKind, std::size_t Times>
struct check_option_once : std::bool_constant<(Times <= 1)> {};
template <class Layer, class OptionKind, std::size_t Times>
struct check_option_once<true, Layer, OptionKind, Times> : std::bool_constant<(Times <= 1)> {
  using reported = decltype(report_option_once<Layer, OptionKind, Times>());
};

// Used by Sequential for each type after Input; Position counts from 0, as
// Net::layer_t<I> does.
template <class Type, std::size_t Position, bool IsLayer>
constexpr auto report_is_layer_spec() {
  static_assert(IsLayer,
                "ctcnn::Sequential: not a layer: every type after Input must be a layer spec "
                "such as Conv2d<6, 5> or ReLU; options such as Stride<2> go inside the layer "
                "(template arguments: true, the type, its position from 0 after Input)");
  return IsLayer;
}
template <bool Loud, class Type, std::size_t Position, bool IsLayer>
struct check_is_layer_spec : std::bool_constant<IsLayer> {};
template <class Type, std::size_t Position, bool IsLayer>
struct check_is_layer_spec<true, Type, Position, IsLayer> : std::bool_constant<IsLayer> {
  using reported = decltype(report_is_layer_spec<Type, Position, IsLayer>());
};

template <class Layer, std::size_t ExpectedRank, std::size_t InputRank>
constexpr auto report_input_rank() {
  static_assert(InputRank == ExpectedRank,
                "ctcnn: input of the wrong rank for this layer: Conv2d and the 2-d pools need "
                "(C, H, W), rank 3; Linear needs a flat input, rank 1: add Flatten before it "
                "(template arguments: true, layer, rank needed, rank of the input)");
  return InputRank == ExpectedRank;
}
template <bool Loud, class Layer, std::size_t ExpectedRank, std::size_t InputRank>
struct check_input_rank : std::bool_constant<ExpectedRank == InputRank> {};
template <class Layer, std::size_t ExpectedRank, std::size_t InputRank>
struct check_input_rank<true, Layer, ExpectedRank, InputRank>
    : std::bool_constant<ExpectedRank == InputRank> {
  using reported = decltype(report_input_rank<Layer, ExpectedRank, InputRank>());
};

// ---- sizes that must be at least 1 ------------------------------------------------

template <class Layer, std::size_t KernelRows, std::size_t KernelCols>
constexpr auto report_kernel_nonzero() {
  static_assert(KernelRows > 0 && KernelCols > 0,
                "ctcnn: zero kernel size: the kernel must be at least 1x1 "
                "(template arguments: true, layer, kernel rows, kernel cols)");
  return KernelRows > 0 && KernelCols > 0;
}
template <bool Loud, class Layer, std::size_t KernelRows, std::size_t KernelCols>
struct check_kernel_nonzero : std::bool_constant<(KernelRows > 0 && KernelCols > 0)> {};
template <class Layer, std::size_t KernelRows, std::size_t KernelCols>
struct check_kernel_nonzero<true, Layer, KernelRows, KernelCols>
    : std::bool_constant<(KernelRows > 0 && KernelCols > 0)> {
  using reported = decltype(report_kernel_nonzero<Layer, KernelRows, KernelCols>());
};

template <class Layer, std::size_t StrideRows, std::size_t StrideCols>
constexpr auto report_stride_nonzero() {
  static_assert(StrideRows > 0 && StrideCols > 0,
                "ctcnn: zero stride: the stride must be at least 1 "
                "(template arguments: true, layer, stride rows, stride cols)");
  return StrideRows > 0 && StrideCols > 0;
}
template <bool Loud, class Layer, std::size_t StrideRows, std::size_t StrideCols>
struct check_stride_nonzero : std::bool_constant<(StrideRows > 0 && StrideCols > 0)> {};
template <class Layer, std::size_t StrideRows, std::size_t StrideCols>
struct check_stride_nonzero<true, Layer, StrideRows, StrideCols>
    : std::bool_constant<(StrideRows > 0 && StrideCols > 0)> {
  using reported = decltype(report_stride_nonzero<Layer, StrideRows, StrideCols>());
};

template <class Layer, std::size_t DilationRows, std::size_t DilationCols>
constexpr auto report_dilation_nonzero() {
  static_assert(DilationRows > 0 && DilationCols > 0,
                "ctcnn: zero dilation: the dilation must be at least 1 "
                "(template arguments: true, layer, dilation rows, dilation cols)");
  return DilationRows > 0 && DilationCols > 0;
}
template <bool Loud, class Layer, std::size_t DilationRows, std::size_t DilationCols>
struct check_dilation_nonzero : std::bool_constant<(DilationRows > 0 && DilationCols > 0)> {};
template <class Layer, std::size_t DilationRows, std::size_t DilationCols>
struct check_dilation_nonzero<true, Layer, DilationRows, DilationCols>
    : std::bool_constant<(DilationRows > 0 && DilationCols > 0)> {
  using reported = decltype(report_dilation_nonzero<Layer, DilationRows, DilationCols>());
};

template <class Layer, std::size_t Count>
constexpr auto report_out_count_nonzero() {
  static_assert(Count > 0,
                "ctcnn: zero output channels / features: give at least 1 "
                "(template arguments: true, layer, count given)");
  return Count > 0;
}
template <bool Loud, class Layer, std::size_t Count>
struct check_out_count_nonzero : std::bool_constant<(Count > 0)> {};
template <class Layer, std::size_t Count>
struct check_out_count_nonzero<true, Layer, Count> : std::bool_constant<(Count > 0)> {
  using reported = decltype(report_out_count_nonzero<Layer, Count>());
};

// ---- stated input sizes ----------------------------------------------------------

template <class Layer, std::size_t Declared, std::size_t Actual>
constexpr auto report_in_channels() {
  static_assert(Declared == Actual,
                "ctcnn::Conv2d: InChannels does not match the input: the declared channels must "
                "equal the channels of the layer's input "
                "(template arguments: true, layer, declared, actual)");
  return Declared == Actual;
}
template <bool Loud, class Layer, std::size_t Declared, std::size_t Actual>
struct check_in_channels : std::bool_constant<Declared == Actual> {};
template <class Layer, std::size_t Declared, std::size_t Actual>
struct check_in_channels<true, Layer, Declared, Actual> : std::bool_constant<Declared == Actual> {
  using reported = decltype(report_in_channels<Layer, Declared, Actual>());
};

template <class Layer, std::size_t Declared, std::size_t Actual>
constexpr auto report_in_features() {
  static_assert(Declared == Actual,
                "ctcnn::Linear: InFeatures does not match the input: the declared features must "
                "equal the size of the layer's input "
                "(template arguments: true, layer, declared, actual)");
  return Declared == Actual;
}
template <bool Loud, class Layer, std::size_t Declared, std::size_t Actual>
struct check_in_features : std::bool_constant<Declared == Actual> {};
template <class Layer, std::size_t Declared, std::size_t Actual>
struct check_in_features<true, Layer, Declared, Actual> : std::bool_constant<Declared == Actual> {
  using reported = decltype(report_in_features<Layer, Declared, Actual>());
};

// ---- windows and padding --------------------------------------------------------

template <class Layer, class Axis, std::size_t In, std::size_t PadBefore, std::size_t PadAfter,
          std::size_t Kernel, std::size_t Dilation>
constexpr auto report_conv_kernel_fits() {
  static_assert(In + PadBefore + PadAfter >= window_extent(Kernel, Dilation),
                "ctcnn::Conv2d: dilated kernel larger than padded input: need "
                "in + pad_before + pad_after >= dilation*(kernel-1) + 1 (template arguments: "
                "true, layer, axis, in, pad_before, pad_after, kernel, dilation)");
  return In + PadBefore + PadAfter >= window_extent(Kernel, Dilation);
}
template <bool Loud, class Layer, class Axis, std::size_t In, std::size_t PadBefore,
          std::size_t PadAfter, std::size_t Kernel, std::size_t Dilation>
struct check_conv_kernel_fits
    : std::bool_constant<(In + PadBefore + PadAfter >= window_extent(Kernel, Dilation))> {};
template <class Layer, class Axis, std::size_t In, std::size_t PadBefore, std::size_t PadAfter,
          std::size_t Kernel, std::size_t Dilation>
struct check_conv_kernel_fits<true, Layer, Axis, In, PadBefore, PadAfter, Kernel, Dilation>
    : std::bool_constant<(In + PadBefore + PadAfter >= window_extent(Kernel, Dilation))> {
  using reported =
      decltype(report_conv_kernel_fits<Layer, Axis, In, PadBefore, PadAfter, Kernel, Dilation>());
};

template <class Layer, class Axis, std::size_t Stride>
constexpr auto report_same_needs_stride_one() {
  static_assert(Stride == 1,
                "ctcnn::Conv2d: padding Same with a stride other than 1: Same needs stride 1 "
                "(as in PyTorch); give Padding<P> instead "
                "(template arguments: true, layer, axis, stride)");
  return Stride == 1;
}
template <bool Loud, class Layer, class Axis, std::size_t Stride>
struct check_same_needs_stride_one : std::bool_constant<Stride == 1> {};
template <class Layer, class Axis, std::size_t Stride>
struct check_same_needs_stride_one<true, Layer, Axis, Stride> : std::bool_constant<Stride == 1> {
  using reported = decltype(report_same_needs_stride_one<Layer, Axis, Stride>());
};

template <class Layer, class Axis, std::size_t Pad, std::size_t In>
constexpr auto report_reflect_pad() {
  static_assert(Pad < In,
                "ctcnn::Conv2d: reflect padding not smaller than the input: need pad < in "
                "(template arguments: true, layer, axis, pad, in)");
  return Pad < In;
}
template <bool Loud, class Layer, class Axis, std::size_t Pad, std::size_t In>
struct check_reflect_pad : std::bool_constant<(Pad < In)> {};
template <class Layer, class Axis, std::size_t Pad, std::size_t In>
struct check_reflect_pad<true, Layer, Axis, Pad, In> : std::bool_constant<(Pad < In)> {
  using reported = decltype(report_reflect_pad<Layer, Axis, Pad, In>());
};

template <class Layer, class Axis, std::size_t Pad, std::size_t In>
constexpr auto report_circular_pad() {
  static_assert(Pad <= In,
                "ctcnn::Conv2d: circular padding larger than the input: need pad <= in "
                "(template arguments: true, layer, axis, pad, in)");
  return Pad <= In;
}
template <bool Loud, class Layer, class Axis, std::size_t Pad, std::size_t In>
struct check_circular_pad : std::bool_constant<(Pad <= In)> {};
template <class Layer, class Axis, std::size_t Pad, std::size_t In>
struct check_circular_pad<true, Layer, Axis, Pad, In> : std::bool_constant<(Pad <= In)> {
  using reported = decltype(report_circular_pad<Layer, Axis, Pad, In>());
};

template <class Layer, class Axis, std::size_t In, std::size_t Pad, std::size_t Kernel,
          std::size_t Dilation>
constexpr auto report_pool_window_fits() {
  static_assert(In + 2 * Pad >= window_extent(Kernel, Dilation),
                "ctcnn::MaxPool2d/AvgPool2d: pooling window larger than padded input: need "
                "in + 2*pad >= dilation*(kernel-1) + 1 (template arguments: true, layer, axis, "
                "in, pad, kernel, dilation)");
  return In + 2 * Pad >= window_extent(Kernel, Dilation);
}
template <bool Loud, class Layer, class Axis, std::size_t In, std::size_t Pad, std::size_t Kernel,
          std::size_t Dilation>
struct check_pool_window_fits
    : std::bool_constant<(In + 2 * Pad >= window_extent(Kernel, Dilation))> {};
template <class Layer, class Axis, std::size_t In, std::size_t Pad, std::size_t Kernel,
          std::size_t Dilation>
struct check_pool_window_fits<true, Layer, Axis, In, Pad, Kernel, Dilation>
    : std::bool_constant<(In + 2 * Pad >= window_extent(Kernel, Dilation))> {
  using reported = decltype(report_pool_window_fits<Layer, Axis, In, Pad, Kernel, Dilation>());
};

template <class Layer, class Axis, std::size_t Pad, std::size_t Kernel>
constexpr auto report_pool_padding() {
  static_assert(Pad <= Kernel / 2,
                "ctcnn::MaxPool2d/AvgPool2d: padding larger than half the kernel: need "
                "pad <= kernel/2 (as in PyTorch) (template arguments: true, layer, axis, pad, "
                "kernel)");
  return Pad <= Kernel / 2;
}
template <bool Loud, class Layer, class Axis, std::size_t Pad, std::size_t Kernel>
struct check_pool_padding : std::bool_constant<(Pad <= Kernel / 2)> {};
template <class Layer, class Axis, std::size_t Pad, std::size_t Kernel>
struct check_pool_padding<true, Layer, Axis, Pad, Kernel>
    : std::bool_constant<(Pad <= Kernel / 2)> {
  using reported = decltype(report_pool_padding<Layer, Axis, Pad, Kernel>());
};

// ---- combining checks ------------------------------------------------------------

// Kernel, then stride, then dilation: the first that is zero reports.
template <bool Loud, class Layer, std::size_t KernelRows, std::size_t KernelCols,
          std::size_t StrideRows, std::size_t StrideCols, std::size_t DilationRows,
          std::size_t DilationCols>
struct check_window_nonzero
    : std::bool_constant<std::conjunction_v<
          check_kernel_nonzero<Loud, Layer, KernelRows, KernelCols>,
          check_stride_nonzero<Loud, Layer, StrideRows, StrideCols>,
          check_dilation_nonzero<Loud, Layer, DilationRows, DilationCols>>> {};

// A check's value, read here rather than inside all_of so that g++ prints the
// failing check (with its numbers) on a "required from" line of its own instead
// of folding it into all_of's "recursively required from".
template <class Check>
inline constexpr bool check_passes = Check::value;

// True when every check holds. Instantiates the checks in order and stops at the
// first that fails, so that its error is the only one.
template <class... Checks>
struct all_of : std::true_type {};
template <class First, class... Rest>
struct all_of<First, Rest...>
    : std::conditional_t<check_passes<First>, all_of<Rest...>, std::false_type> {};

template <class... Checks>
inline constexpr bool all_of_checks = all_of<Checks...>::value;

// dims[I] of a shape, or 0 when the shape has fewer axes (so a wrong-rank input
// reaches check_input_rank instead of an out-of-bounds constant expression).
template <class S, std::size_t I>
constexpr std::size_t dim_or_zero() {
  if constexpr (I < S::rank) {
    return S::dims[I];
  } else {
    return 0;
  }
}

}  // namespace ctcnn::detail
