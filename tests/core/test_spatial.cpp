// The spatial arithmetic of convolutions and pools (core/shape.hpp), against
// hand-derived cases. PyTorch's formulas, in the code's names:
//   conv:  out = floor((in + pad_begin + pad_end - dilation*(kernel-1) - 1) / stride) + 1
//   pool:  the same with ceil in CeilMode, then: if (out-1)*stride >= in + pad, drop
//          the last window (it would start in the right padding)
//   same:  total = dilation*(kernel-1), begin = total/2, end = total - begin
#include <catch2/catch.hpp>

#include <cstddef>
#include <limits>

#include "ctcnn/core/diagnostics.hpp"
#include "ctcnn/core/shape.hpp"

using ctcnn::conv_out_extent;
using ctcnn::pool_out_extent;

TEST_CASE("dilated_extent and kernel_fits", "[core][spatial]") {
  STATIC_REQUIRE(ctcnn::dilated_extent(3, 1) == 3);
  STATIC_REQUIRE(ctcnn::dilated_extent(3, 3) == 7);  // taps at 0, 3, 6
  STATIC_REQUIRE(ctcnn::dilated_extent(1, 5) == 1);
  STATIC_REQUIRE(ctcnn::dilated_extent(5, 2) == 9);

  STATIC_REQUIRE(ctcnn::kernel_fits(4, 0, 0, 4, 1));       // kernel == in
  STATIC_REQUIRE_FALSE(ctcnn::kernel_fits(4, 0, 0, 7, 1));
  STATIC_REQUIRE(ctcnn::kernel_fits(3, 1, 1, 5, 1));       // kernel == in + 2*pad
  STATIC_REQUIRE_FALSE(ctcnn::kernel_fits(6, 0, 0, 3, 3));  // 7 > 6
  STATIC_REQUIRE(ctcnn::kernel_fits(6, 1, 0, 3, 3));       // 7 == 6 + 1
  STATIC_REQUIRE_FALSE(ctcnn::kernel_fits(4, 0, 0, 0, 1));  // zero kernel fits nothing
  STATIC_REQUIRE_FALSE(ctcnn::kernel_fits(4, 0, 0, 3, 0));  // zero dilation either
}

TEST_CASE("conv_out_extent: hand-derived cases", "[core][spatial]") {
  // LeNet-5's first layer: 28 + 2 + 2 - 5 + 1 = 28.
  STATIC_REQUIRE(conv_out_extent(28, 2, 2, 5, 1, 1) == 28);
  // LeNet-5's second layer: 14 - 5 + 1 = 10.
  STATIC_REQUIRE(conv_out_extent(14, 0, 0, 5, 1, 1) == 10);
  // Stride 2 with padding 1: floor((7 + 2 - 3) / 2) + 1 = 4 (windows at -1, 1, 3, 5).
  STATIC_REQUIRE(conv_out_extent(7, 1, 1, 3, 2, 1) == 4);
  // Stride 2, the last pixel unused: floor((8 - 3) / 2) + 1 = 3 (windows at 0, 2, 4).
  STATIC_REQUIRE(conv_out_extent(8, 0, 0, 3, 2, 1) == 3);
  // Kernel == in + 2*pad: exactly one output.
  STATIC_REQUIRE(conv_out_extent(4, 0, 0, 4, 1, 1) == 1);
  STATIC_REQUIRE(conv_out_extent(3, 1, 1, 5, 1, 1) == 1);
  // Stride larger than the kernel: windows at 0 and 5 of 10, floor(8/5) + 1 = 2.
  STATIC_REQUIRE(conv_out_extent(10, 0, 0, 2, 5, 1) == 2);
  // Dilation 3 (extent 7) on 6 pixels padded by 1: 8 - 7 + 1 = 2.
  STATIC_REQUIRE(conv_out_extent(6, 1, 1, 3, 1, 3) == 2);
  // Dilation 2 (extent 5), stride 2 on 9: floor(4/2) + 1 = 3.
  STATIC_REQUIRE(conv_out_extent(9, 0, 0, 3, 2, 2) == 3);
  // Unequal paddings ('same' with an even kernel): 5 + 1 + 2 - 4 + 1 = 5.
  STATIC_REQUIRE(conv_out_extent(5, 1, 2, 4, 1, 1) == 5);
  // 1x1 kernel keeps the extent; with stride 2, ceil(in/2).
  STATIC_REQUIRE(conv_out_extent(5, 0, 0, 1, 1, 1) == 5);
  STATIC_REQUIRE(conv_out_extent(5, 0, 0, 1, 2, 1) == 3);
}

TEST_CASE("conv_out_extent: 0 instead of wrapping around", "[core][spatial]") {
  STATIC_REQUIRE(conv_out_extent(4, 0, 0, 7, 1, 1) == 0);  // kernel larger than input
  STATIC_REQUIRE(conv_out_extent(6, 0, 0, 3, 1, 3) == 0);  // dilated kernel larger
  STATIC_REQUIRE(conv_out_extent(4, 0, 0, 3, 0, 1) == 0);  // zero stride
  STATIC_REQUIRE(conv_out_extent(4, 0, 0, 0, 1, 1) == 0);  // zero kernel
  STATIC_REQUIRE(conv_out_extent(4, 0, 0, 3, 1, 0) == 0);  // zero dilation
  STATIC_REQUIRE(conv_out_extent(0, 0, 0, 1, 1, 1) == 0);  // empty input
}

TEST_CASE("pool_out_extent: floor mode", "[core][spatial]") {
  STATIC_REQUIRE(pool_out_extent(28, 0, 2, 2, 1, false) == 14);
  STATIC_REQUIRE(pool_out_extent(5, 0, 2, 2, 1, false) == 2);   // the last row is dropped
  STATIC_REQUIRE(pool_out_extent(6, 1, 3, 2, 1, false) == 3);   // floor(5/2) + 1
  STATIC_REQUIRE(pool_out_extent(7, 0, 3, 1, 1, false) == 5);   // overlapping windows
  STATIC_REQUIRE(pool_out_extent(9, 0, 2, 2, 2, false) == 4);   // dilated: extent 3, floor(6/2)+1
  STATIC_REQUIRE(pool_out_extent(1, 0, 2, 2, 1, false) == 0);   // window larger than input
  STATIC_REQUIRE(pool_out_extent(1, 1, 2, 2, 1, false) == 1);   // fits once padded: 1/2 + 1
  STATIC_REQUIRE(pool_out_extent(4, 0, 2, 0, 1, false) == 0);   // zero stride
}

TEST_CASE("pool_out_extent: ceil mode follows PyTorch", "[core][spatial]") {
  // 5 with kernel 2, stride 2: floor 2, ceil 3; the third window starts at 4 < 5.
  STATIC_REQUIRE(pool_out_extent(5, 0, 2, 2, 1, true) == 3);
  // When the division is exact, ceil and floor agree.
  STATIC_REQUIRE(pool_out_extent(4, 0, 2, 2, 1, true) == 2);
  // 6, kernel 3, stride 2, pad 1: ceil(5/2) + 1 = 4; the last window starts at
  // 3*2 - 1 = 5 < 6, inside the input: kept (floor mode gives 3).
  STATIC_REQUIRE(pool_out_extent(6, 1, 3, 2, 1, true) == 4);
  STATIC_REQUIRE(pool_out_extent(6, 1, 3, 2, 1, false) == 3);
  // 5, kernel 2, stride 2, pad 1: ceil(5/2) + 1 = 4, but the 4th window would
  // start at 3*2 - 1 = 5, in the right padding: (4-1)*2 >= 5 + 1, dropped -> 3.
  STATIC_REQUIRE(pool_out_extent(5, 1, 2, 2, 1, true) == 3);
  // Stride larger than the kernel, no padding: 2, kernel 1, stride 2: ceil(1/2) + 1
  // = 2, the second window would start at 2 == in: dropped -> 1.
  STATIC_REQUIRE(pool_out_extent(2, 0, 1, 2, 1, true) == 1);
  // 3, kernel 1, stride 2: windows at 0 and 2, both inside: 2 in either mode.
  STATIC_REQUIRE(pool_out_extent(3, 0, 1, 2, 1, true) == 2);
  // 7, kernel 3, stride 3: floor(4/3) + 1 = 2, ceil(4/3) + 1 = 3 (start 6 < 7).
  STATIC_REQUIRE(pool_out_extent(7, 0, 3, 3, 1, false) == 2);
  STATIC_REQUIRE(pool_out_extent(7, 0, 3, 3, 1, true) == 3);
}

TEST_CASE("same padding: PyTorch's split, the odd element after", "[core][spatial]") {
  STATIC_REQUIRE(ctcnn::same_pad_begin(3, 1) == 1);
  STATIC_REQUIRE(ctcnn::same_pad_end(3, 1) == 1);
  STATIC_REQUIRE(ctcnn::same_pad_begin(4, 1) == 1);  // total 3
  STATIC_REQUIRE(ctcnn::same_pad_end(4, 1) == 2);
  STATIC_REQUIRE(ctcnn::same_pad_begin(5, 2) == 4);  // total 8
  STATIC_REQUIRE(ctcnn::same_pad_end(5, 2) == 4);
  STATIC_REQUIRE(ctcnn::same_pad_begin(2, 3) == 1);  // total 3
  STATIC_REQUIRE(ctcnn::same_pad_end(2, 3) == 2);
  STATIC_REQUIRE(ctcnn::same_pad_begin(1, 1) == 0);
  STATIC_REQUIRE(ctcnn::same_pad_end(1, 1) == 0);
  // With stride 1 the output keeps the input's extent, for odd and even kernels.
  STATIC_REQUIRE(conv_out_extent(7, ctcnn::same_pad_begin(4, 1), ctcnn::same_pad_end(4, 1), 4, 1,
                                 1) == 7);
  STATIC_REQUIRE(conv_out_extent(6, ctcnn::same_pad_begin(3, 3), ctcnn::same_pad_end(3, 3), 3, 1,
                                 3) == 6);
}

TEST_CASE("window_extent: a zero kernel or dilation fits nothing", "[core][spatial]") {
  STATIC_REQUIRE(ctcnn::detail::window_extent(3, 2) == 5);
  STATIC_REQUIRE(ctcnn::detail::window_extent(0, 1) == std::numeric_limits<std::size_t>::max());
  STATIC_REQUIRE(ctcnn::detail::window_extent(3, 0) == std::numeric_limits<std::size_t>::max());
}
