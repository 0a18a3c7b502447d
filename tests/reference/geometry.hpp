// tests/reference/geometry.hpp
// Output-size formulas and padding index maps of the reference implementations,
// written from PyTorch's definitions (torch.nn.Conv2d / MaxPool2d / AvgPool2d
// docs, aten's pooling_output_shape, torch.nn.functional.pad), independently of
// include/ctcnn. constexpr so tests can compare the library's static shapes
// against them with STATIC_REQUIRE.
#pragma once

#include <cstddef>

namespace ref {

// Convolution: out = floor((in + pad_begin + pad_end - dilation*(kernel-1) - 1) / stride) + 1.
// 0 when the dilated kernel does not fit the padded input (PyTorch raises).
constexpr std::size_t conv_out_size(std::size_t in, std::size_t pad_begin, std::size_t pad_end,
                                    std::size_t kernel, std::size_t stride,
                                    std::size_t dilation) {
  const long span = static_cast<long>(in + pad_begin + pad_end) -
                    static_cast<long>(dilation * (kernel - 1)) - 1;
  if (span < 0 || stride == 0) return 0;
  return static_cast<std::size_t>(span / static_cast<long>(stride)) + 1;
}

// Pooling (aten pooling_output_shape): the same with floor or ceil; in ceil mode
// a last window that would start in the right padding (or beyond) is dropped,
// i.e. every window must start inside the input or the left padding.
constexpr std::size_t pool_out_size(std::size_t in, std::size_t pad, std::size_t kernel,
                                    std::size_t stride, std::size_t dilation, bool ceil_mode) {
  const long span = static_cast<long>(in + 2 * pad) - static_cast<long>(dilation * (kernel - 1)) - 1;
  const long s = static_cast<long>(stride);
  if (span < 0 || s == 0) return 0;
  long out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= static_cast<long>(in + pad)) --out;
  return static_cast<std::size_t>(out);
}

// padding='same' (stride 1): the total dilation*(kernel-1) split in two, the odd
// extra element after (bottom / right), as PyTorch does.
constexpr std::size_t same_pad_before(std::size_t kernel, std::size_t dilation) {
  return (dilation * (kernel - 1)) / 2;
}
constexpr std::size_t same_pad_after(std::size_t kernel, std::size_t dilation) {
  return dilation * (kernel - 1) - same_pad_before(kernel, dilation);
}

enum class PadMode { zeros, reflect, replicate, circular };

// Index in [0, n) that coordinate i (relative to the unpadded input, so it may be
// negative or >= n) reads from, or -1 for a zero. PyTorch's definitions:
//   reflect:   mirror about the first and last element, which is not repeated
//              (needs pad < n)
//   replicate: the nearest edge element
//   circular:  wrap around (needs pad <= n)
constexpr long pad_source(PadMode mode, long i, long n) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::zeros:
      return -1;
    case PadMode::reflect:
      if (n == 1) return 0;  // only reachable with pad >= n, which PyTorch rejects
      while (i < 0 || i >= n) {
        if (i < 0) i = -i;
        if (i >= n) i = 2 * (n - 1) - i;
      }
      return i;
    case PadMode::replicate:
      return i < 0 ? 0 : n - 1;
    case PadMode::circular:
      while (i < 0) i += n;
      while (i >= n) i -= n;
      return i;
  }
  return -1;
}

}  // namespace ref
