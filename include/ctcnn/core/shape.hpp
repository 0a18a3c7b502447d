// ctcnn/core/shape.hpp
// Shape<Dims...>: a tensor shape as a type and a value, plus the spatial
// arithmetic shared by every convolution-like layer. Everything is constexpr
// (not consteval: clang 14 rejects valid consteval calls in class templates).
#pragma once

#include <array>
#include <cstddef>

namespace ctcnn {

template <std::size_t... Dims>
struct Shape {
  static constexpr std::size_t rank = sizeof...(Dims);
  static constexpr std::size_t size = (std::size_t{1} * ... * Dims);
  static constexpr std::array<std::size_t, rank> dims{Dims...};

  template <std::size_t I>
    requires(I < rank)
  static constexpr std::size_t dim = dims[I];

  // Row-major stride of axis I, in elements.
  template <std::size_t I>
    requires(I < rank)
  static constexpr std::size_t stride = [] {
    std::size_t s = 1;
    for (std::size_t a = I + 1; a < rank; ++a) s *= dims[a];
    return s;
  }();
};

template <std::size_t... A, std::size_t... B>
constexpr bool operator==(Shape<A...>, Shape<B...>) {
  if constexpr (sizeof...(A) != sizeof...(B)) {
    return false;
  } else {
    return ((A == B) && ...);
  }
}

template <class T>
inline constexpr bool is_shape_v = false;
template <std::size_t... D>
inline constexpr bool is_shape_v<Shape<D...>> = true;

// Prepends a batch axis: batched_t<7, Shape<1,28,28>> is Shape<7,1,28,28>.
template <std::size_t N, class S>
struct batched;
template <std::size_t N, std::size_t... D>
struct batched<N, Shape<D...>> {
  using type = Shape<N, D...>;
};
template <std::size_t N, class S>
using batched_t = typename batched<N, S>::type;

// ---- spatial arithmetic ------------------------------------------------------
// Used by Conv2d and the pooling layers, rows and columns separately.

// The extent a dilated kernel covers: dilation*(kernel-1) + 1.
constexpr std::size_t dilated_extent(std::size_t kernel, std::size_t dilation) {
  return dilation * (kernel - 1) + 1;
}

// Whether the dilated kernel fits the padded input: in + pad_begin + pad_end >=
// dilation*(kernel-1) + 1. Checked before conv_out_extent subtracts anything.
constexpr bool kernel_fits(std::size_t in, std::size_t pad_begin, std::size_t pad_end,
                           std::size_t kernel, std::size_t dilation) {
  return kernel > 0 && dilation > 0 && in + pad_begin + pad_end >= dilated_extent(kernel, dilation);
}

// out = floor((in + pad_begin + pad_end - dilation*(kernel-1) - 1) / stride) + 1,
// PyTorch's formula with the two paddings allowed to differ ('same' with an even
// kernel). Returns 0 when the kernel does not fit, so a caller that forgot to
// check still cannot wrap around.
constexpr std::size_t conv_out_extent(std::size_t in, std::size_t pad_begin, std::size_t pad_end,
                                      std::size_t kernel, std::size_t stride,
                                      std::size_t dilation) {
  if (stride == 0 || !kernel_fits(in, pad_begin, pad_end, kernel, dilation)) return 0;
  return (in + pad_begin + pad_end - dilated_extent(kernel, dilation)) / stride + 1;
}

// Pooling output size with PyTorch's ceil_mode rule: in ceil mode the last
// window must still start inside the input or the left padding.
constexpr std::size_t pool_out_extent(std::size_t in, std::size_t pad, std::size_t kernel,
                                      std::size_t stride, std::size_t dilation, bool ceil_mode) {
  if (stride == 0 || !kernel_fits(in, pad, pad, kernel, dilation)) return 0;
  const std::size_t span = in + 2 * pad - dilated_extent(kernel, dilation);
  std::size_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) --out;
  return out;
}

// PyTorch's padding='same' for stride 1: total = dilation*(kernel-1), split with
// the odd element after (bottom/right), as torch.nn.Conv2d does for even kernels.
constexpr std::size_t same_pad_begin(std::size_t kernel, std::size_t dilation) {
  return dilation * (kernel - 1) / 2;
}
constexpr std::size_t same_pad_end(std::size_t kernel, std::size_t dilation) {
  return dilation * (kernel - 1) - same_pad_begin(kernel, dilation);
}

}  // namespace ctcnn
