// MaxPool2d against the reference loops: forward (inputs without near-ties,
// centred and all negative), backward against the reference backward and finite
// differences. Tolerances: see tests/reference/check.hpp.
#include <catch2/catch.hpp>

#include "reference/pool_check.hpp"

namespace {

using pool_test::Case;
using pool_test::list;
namespace cn = ctcnn;

// channels, in_h, in_w, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
// dilation_h, dilation_w, ceil_mode
constexpr ref::PoolSpec max(std::size_t c, std::size_t h, std::size_t w, std::size_t kh,
                            std::size_t kw, std::size_t sh, std::size_t sw, std::size_t ph = 0,
                            std::size_t pw = 0, std::size_t dh = 1, std::size_t dw = 1,
                            bool ceil = false) {
  return ref::PoolSpec{c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ceil, true};
}

// Floor mode: the default stride (= kernel) drops what does not fill a window.
using DefaultCases = std::tuple<
    Case<cn::MaxPool2d<2>, max(1, 6, 6, 2, 2, 2, 2)>,
    Case<cn::MaxPool2d<2>, max(2, 7, 5, 2, 2, 2, 2)>,
    // 2x2 windows run in whole vectors: rows of 19 outputs (a full AVX-512
    // vector and a part), 32 (two full ones), LeNet's 14, odd sizes left over
    Case<cn::MaxPool2d<2>, max(2, 9, 39, 2, 2, 2, 2)>,
    Case<cn::MaxPool2d<2>, max(1, 4, 64, 2, 2, 2, 2)>,
    Case<cn::MaxPool2d<2>, max(3, 28, 28, 2, 2, 2, 2)>,
    Case<cn::MaxPool2d<3>, max(3, 11, 9, 3, 3, 3, 3)>,
    Case<cn::MaxPool2d<cn::Kernel{2, 3}>, max(2, 5, 8, 2, 3, 2, 3)>,
    Case<cn::MaxPool2d<1>, max(2, 1, 1, 1, 1, 1, 1)>,
    Case<cn::MaxPool2d<2, cn::Stride<3>>, max(2, 8, 7, 2, 2, 3, 3)>,
    Case<cn::MaxPool2d<2, cn::Stride<1, 3>>, max(1, 5, 9, 2, 2, 1, 3)>>;

// CeilMode: one more window where the floor formula drops a partial one, except
// when that window would start in the right padding (PyTorch drops it).
using CeilCases = std::tuple<
    Case<cn::MaxPool2d<3, cn::Stride<2>, cn::Padding<1>, cn::CeilMode>, max(2, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, true)>,
    Case<cn::MaxPool2d<2, cn::CeilMode>, max(1, 5, 5, 2, 2, 2, 2, 0, 0, 1, 1, true)>,
    Case<cn::MaxPool2d<2, cn::Stride<2>, cn::Padding<1>, cn::CeilMode>, max(2, 5, 5, 2, 2, 2, 2, 1, 1, 1, 1, true)>,
    Case<cn::MaxPool2d<2, cn::Padding<1>, cn::CeilMode>, max(1, 4, 6, 2, 2, 2, 2, 1, 1, 1, 1, true)>,
    Case<cn::MaxPool2d<cn::Kernel{3, 2}, cn::Stride<2, 3>, cn::CeilMode>, max(2, 7, 8, 3, 2, 2, 3, 0, 0, 1, 1, true)>,
    Case<cn::MaxPool2d<3, cn::CeilMode, cn::Stride<2>, cn::Dilation<2>, cn::Padding<1>>,
         max(1, 8, 9, 3, 3, 2, 2, 1, 1, 2, 2, true)>>;

// Padding = kernel/2 (the most PyTorch allows), dilation, kernel == in + 2*pad.
using PadDilationCases = std::tuple<
    Case<cn::MaxPool2d<3, cn::Stride<1>, cn::Padding<1>>, max(2, 5, 4, 3, 3, 1, 1, 1, 1)>,
    Case<cn::MaxPool2d<5, cn::Padding<2>, cn::Stride<2>>, max(1, 7, 6, 5, 5, 2, 2, 2, 2)>,
    Case<cn::MaxPool2d<4, cn::Padding<2>>, max(2, 6, 7, 4, 4, 4, 4, 2, 2)>,
    Case<cn::MaxPool2d<cn::Kernel{3, 4}, cn::Padding<1, 2>, cn::Stride<2>>, max(1, 6, 7, 3, 4, 2, 2, 1, 2)>,
    Case<cn::MaxPool2d<2, cn::Stride<1>, cn::Padding<1>, cn::Dilation<2>>, max(2, 5, 5, 2, 2, 1, 1, 1, 1, 2, 2)>,
    Case<cn::MaxPool2d<2, cn::Dilation<2, 3>, cn::Stride<1, 2>>, max(1, 6, 9, 2, 2, 1, 2, 0, 0, 2, 3)>,
    Case<cn::MaxPool2d<4, cn::Padding<1>>, max(2, 2, 2, 4, 4, 4, 4, 1, 1)>,
    Case<cn::MaxPool2d<3, cn::Padding<1>, cn::Dilation<2>>, max(1, 3, 3, 3, 3, 3, 3, 1, 1, 2, 2)>>;

constexpr std::uint64_t random_cases = 24;

}  // namespace

TEST_CASE("maxpool2d forward: default stride and floor mode", "[maxpool2d][forward]") {
  pool_test::forward_all<true>(list<DefaultCases>, 3000);
}
TEST_CASE("maxpool2d backward: default stride and floor mode", "[maxpool2d][backward]") {
  pool_test::backward_all<true>(list<DefaultCases>, 3100);
}
TEST_CASE("maxpool2d forward: CeilMode keeps and drops the last window", "[maxpool2d][forward][ceil]") {
  pool_test::forward_all<true>(list<CeilCases>, 3200);
}
TEST_CASE("maxpool2d backward: CeilMode keeps and drops the last window", "[maxpool2d][backward][ceil]") {
  pool_test::backward_all<true>(list<CeilCases>, 3300);
}
TEST_CASE("maxpool2d forward: padding kernel/2, dilation, kernel == in + 2*pad", "[maxpool2d][forward]") {
  pool_test::forward_all<true>(list<PadDilationCases>, 3400);
}
TEST_CASE("maxpool2d backward: padding kernel/2, dilation, kernel == in + 2*pad", "[maxpool2d][backward]") {
  pool_test::backward_all<true>(list<PadDilationCases>, 3500);
}
TEST_CASE("maxpool2d forward: random configurations", "[maxpool2d][forward][random]") {
  pool_test::random_forward<true>(3600, std::make_integer_sequence<std::uint64_t, random_cases>{});
}
TEST_CASE("maxpool2d backward: random configurations", "[maxpool2d][backward][random]") {
  pool_test::random_backward<true>(3700, std::make_integer_sequence<std::uint64_t, random_cases>{});
}

// The ceil-mode rule, derived by hand: in 5, kernel 2, stride 2, pad 1 gives
// ceil((5 + 2 - 2) / 2) + 1 = 4 windows, but the 4th would start at 3*2 - 1 = 5,
// in the right padding, so PyTorch keeps 3; without padding, ceil((5 - 2) / 2) + 1 = 3
// windows, the last starting at 4, inside the input (floor mode: 2).
TEST_CASE("reference pool_out_size follows PyTorch's ceil-mode rule", "[maxpool2d][reference]") {
  STATIC_REQUIRE(ref::pool_out_size(5, 1, 2, 2, 1, true) == 3);
  STATIC_REQUIRE(ref::pool_out_size(5, 1, 2, 2, 1, false) == 3);
  STATIC_REQUIRE(ref::pool_out_size(5, 0, 2, 2, 1, true) == 3);
  STATIC_REQUIRE(ref::pool_out_size(5, 0, 2, 2, 1, false) == 2);
  STATIC_REQUIRE(ref::pool_out_size(6, 1, 3, 2, 1, true) == 4);
  STATIC_REQUIRE(ref::pool_out_size(6, 1, 3, 2, 1, false) == 3);
}
