// ctcnn/core/diagnostics.hpp
// Compile-time checks that print their numbers. C++20 static_assert messages
// cannot hold values, so every rule is a class template whose arguments are the
// layer (the option spec the user wrote), the axis and the numbers involved; both
// g++ and clang print those arguments in the "in instantiation of" line above
// the message. Message format: "ctcnn::<Layer>: <what is wrong>: <rule>".
//
// Every check takes `Loud` first: Loud = true fires the static_assert (used when
// a network is built), Loud = false only computes `value` (used by the quiet
// `accepts<In>` of each layer, so rejection can be tested without a hard error).
// Checks are combined with std::conjunction, which stops instantiating at the
// first failure, so a broken layer reports one error, not a cascade.
#pragma once

#include <cstddef>
#include <type_traits>

#include "ctcnn/core/shape.hpp"

namespace ctcnn::detail {

// Axis names printed in check arguments.
struct rows {};
struct cols {};

// ---- structure -----------------------------------------------------------------

template <bool Loud, class Layer, class Option, bool Known>
struct check_option_known : std::bool_constant<Known> {
  static_assert(!Loud || Known,
                "ctcnn: option not understood by this layer: the second template argument "
                "is the option; the layer's header lists the options it takes");
};

template <bool Loud, class Layer, class OptionKind, std::size_t Times>
struct check_option_once : std::bool_constant<Times <= 1> {
  static_assert(!Loud || Times <= 1,
                "ctcnn: the same kind of option is given more than once: give each at most once "
                "(template arguments: layer, option kind, times given)");
};

template <bool Loud, class Layer, std::size_t ExpectedRank, std::size_t InputRank>
struct check_input_rank : std::bool_constant<ExpectedRank == InputRank> {
  static_assert(!Loud || ExpectedRank == InputRank,
                "ctcnn: layer input has the wrong rank: Conv2d and the 2-d pools need (C,H,W) "
                "(rank 3), Linear needs a flat input (rank 1, add Flatten) "
                "(template arguments: layer, rank needed, rank of the input)");
};

// ---- sizes that must be at least 1 ------------------------------------------------

template <bool Loud, class Layer, std::size_t KernelRows, std::size_t KernelCols,
          std::size_t StrideRows, std::size_t StrideCols, std::size_t DilationRows,
          std::size_t DilationCols>
struct check_window_nonzero
    : std::bool_constant<KernelRows && KernelCols && StrideRows && StrideCols && DilationRows &&
                         DilationCols> {
  static_assert(!Loud || (KernelRows && KernelCols && StrideRows && StrideCols && DilationRows &&
                          DilationCols),
                "ctcnn: kernel, stride and dilation must be at least 1: zero (or negative) given "
                "(template arguments: layer, kernel rows, kernel cols, stride rows, stride cols, "
                "dilation rows, dilation cols)");
};

template <bool Loud, class Layer, std::size_t Count>
struct check_out_count_nonzero : std::bool_constant<(Count > 0)> {
  static_assert(!Loud || Count > 0,
                "ctcnn: output channels / features must be at least 1 "
                "(template arguments: layer, count given)");
};

// ---- stated input sizes ----------------------------------------------------------

template <bool Loud, class Layer, std::size_t Declared, std::size_t Actual>
struct check_in_channels : std::bool_constant<Declared == Actual> {
  static_assert(!Loud || Declared == Actual,
                "ctcnn::Conv2d: InChannels does not match the channels of the layer's input: "
                "declared must equal actual (template arguments: layer, declared, actual)");
};

template <bool Loud, class Layer, std::size_t Declared, std::size_t Actual>
struct check_in_features : std::bool_constant<Declared == Actual> {
  static_assert(!Loud || Declared == Actual,
                "ctcnn::Linear: InFeatures does not match the size of the layer's input: "
                "declared must equal actual (template arguments: layer, declared, actual)");
};

// ---- windows and padding --------------------------------------------------------

template <bool Loud, class Layer, class Axis, std::size_t In, std::size_t PadBefore,
          std::size_t PadAfter, std::size_t Kernel, std::size_t Dilation>
struct check_conv_kernel_fits
    : std::bool_constant<kernel_fits(In, PadBefore, PadAfter, Kernel, Dilation)> {
  static_assert(!Loud || kernel_fits(In, PadBefore, PadAfter, Kernel, Dilation),
                "ctcnn::Conv2d: dilated kernel larger than padded input: need "
                "in + pad_before + pad_after >= dilation*(kernel-1) + 1 (template arguments: "
                "layer, axis, in, pad_before, pad_after, kernel, dilation)");
};

template <bool Loud, class Layer, class Axis, std::size_t Stride>
struct check_same_needs_stride_one : std::bool_constant<Stride == 1> {
  static_assert(!Loud || Stride == 1,
                "ctcnn::Conv2d: padding Same needs stride 1 (as in PyTorch): use explicit Padding "
                "with a stride (template arguments: layer, axis, stride)");
};

template <bool Loud, class Layer, class Axis, std::size_t Pad, std::size_t In>
struct check_reflect_pad : std::bool_constant<(Pad < In)> {
  static_assert(!Loud || Pad < In,
                "ctcnn::Conv2d: reflect padding must be smaller than the input: need pad < in "
                "(template arguments: layer, axis, pad, in)");
};

template <bool Loud, class Layer, class Axis, std::size_t Pad, std::size_t In>
struct check_circular_pad : std::bool_constant<(Pad <= In)> {
  static_assert(!Loud || Pad <= In,
                "ctcnn::Conv2d: circular padding must not exceed the input: need pad <= in "
                "(template arguments: layer, axis, pad, in)");
};

template <bool Loud, class Layer, class Axis, std::size_t In, std::size_t Pad, std::size_t Kernel,
          std::size_t Dilation>
struct check_pool_window_fits : std::bool_constant<kernel_fits(In, Pad, Pad, Kernel, Dilation)> {
  static_assert(!Loud || kernel_fits(In, Pad, Pad, Kernel, Dilation),
                "ctcnn::MaxPool2d/AvgPool2d: pooling window larger than padded input: need "
                "in + 2*pad >= dilation*(kernel-1) + 1 (template arguments: layer, axis, in, pad, "
                "kernel, dilation)");
};

template <bool Loud, class Layer, class Axis, std::size_t Pad, std::size_t Kernel>
struct check_pool_padding : std::bool_constant<(Pad <= Kernel / 2)> {
  static_assert(!Loud || Pad <= Kernel / 2,
                "ctcnn::MaxPool2d/AvgPool2d: padding larger than half the kernel: need "
                "pad <= kernel/2 (PyTorch's rule) (template arguments: layer, axis, pad, kernel)");
};

// All checks in order; instantiation stops at the first that fails.
template <class... Checks>
inline constexpr bool all_of_checks = std::conjunction_v<Checks...>;

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
