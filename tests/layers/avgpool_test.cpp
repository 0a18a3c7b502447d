// AvgPool2d against the reference loops: forward, backward against the reference
// backward and finite differences; count_include_pad both ways, ceil mode with
// windows running past the padded input. Tolerances: see tests/reference/check.hpp.
#include <catch2/catch.hpp>

#include "reference/pool_check.hpp"

namespace {

using pool_test::Case;
using pool_test::list;
namespace cn = ctcnn;

// channels, in_h, in_w, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
// ceil_mode, count_include_pad
constexpr ref::PoolSpec avg(std::size_t c, std::size_t h, std::size_t w, std::size_t kh,
                            std::size_t kw, std::size_t sh, std::size_t sw, std::size_t ph = 0,
                            std::size_t pw = 0, bool ceil = false, bool include_pad = true) {
  return ref::PoolSpec{c, h, w, kh, kw, sh, sw, ph, pw, 1, 1, ceil, include_pad};
}

using DefaultCases = std::tuple<
    Case<cn::AvgPool2d<2>, avg(2, 6, 6, 2, 2, 2, 2)>,
    Case<cn::AvgPool2d<2>, avg(1, 7, 5, 2, 2, 2, 2)>,
    Case<cn::AvgPool2d<cn::Kernel{2, 3}, cn::Stride<1, 2>>, avg(2, 5, 7, 2, 3, 1, 2)>,
    Case<cn::AvgPool2d<2, cn::Stride<3>>, avg(2, 8, 7, 2, 2, 3, 3)>,
    Case<cn::AvgPool2d<1>, avg(3, 1, 1, 1, 1, 1, 1)>,
    Case<cn::AvgPool2d<3, cn::Stride<1>>, avg(1, 3, 5, 3, 3, 1, 1)>>;

// Padding counted (the default, or IncludePad) and not counted (ExcludePad), with
// padding = kernel/2 and kernel == in + 2*pad.
using PaddingCases = std::tuple<
    Case<cn::AvgPool2d<3, cn::Stride<1>, cn::Padding<1>>, avg(2, 5, 4, 3, 3, 1, 1, 1, 1)>,
    Case<cn::AvgPool2d<3, cn::Stride<1>, cn::Padding<1>, cn::ExcludePad>, avg(2, 5, 4, 3, 3, 1, 1, 1, 1, false, false)>,
    Case<cn::AvgPool2d<3, cn::IncludePad, cn::Stride<1>, cn::Padding<1>>, avg(2, 5, 4, 3, 3, 1, 1, 1, 1)>,
    Case<cn::AvgPool2d<4, cn::Padding<2>, cn::Stride<3>, cn::ExcludePad>, avg(1, 7, 8, 4, 4, 3, 3, 2, 2, false, false)>,
    Case<cn::AvgPool2d<4, cn::Padding<2>, cn::Stride<3>>, avg(1, 7, 8, 4, 4, 3, 3, 2, 2)>,
    Case<cn::AvgPool2d<cn::Kernel{3, 5}, cn::Padding<1, 2>, cn::Stride<2>>, avg(2, 6, 7, 3, 5, 2, 2, 1, 2)>,
    Case<cn::AvgPool2d<4, cn::Padding<1>, cn::ExcludePad>, avg(2, 2, 2, 4, 4, 4, 4, 1, 1, false, false)>,
    Case<cn::AvgPool2d<4, cn::Padding<1>>, avg(2, 2, 2, 4, 4, 4, 4, 1, 1)>>;

// CeilMode: the last window runs past the padded input and is clipped to it
// (the divisor with padding counted) or to the input (ExcludePad).
using CeilCases = std::tuple<
    Case<cn::AvgPool2d<3, cn::Stride<2>, cn::Padding<1>, cn::CeilMode>, avg(2, 6, 6, 3, 3, 2, 2, 1, 1, true)>,
    Case<cn::AvgPool2d<3, cn::Stride<2>, cn::Padding<1>, cn::CeilMode, cn::ExcludePad>,
         avg(2, 6, 6, 3, 3, 2, 2, 1, 1, true, false)>,
    Case<cn::AvgPool2d<2, cn::CeilMode>, avg(1, 5, 5, 2, 2, 2, 2, 0, 0, true)>,
    Case<cn::AvgPool2d<2, cn::Padding<1>, cn::CeilMode>, avg(2, 5, 5, 2, 2, 2, 2, 1, 1, true)>,
    Case<cn::AvgPool2d<cn::Kernel{3, 2}, cn::Padding<1>, cn::IncludePad, cn::CeilMode, cn::Stride<2>>,
         avg(1, 6, 7, 3, 2, 2, 2, 1, 1, true)>,
    Case<cn::AvgPool2d<cn::Kernel{3, 2}, cn::ExcludePad, cn::Padding<1>, cn::CeilMode, cn::Stride<2, 3>>,
         avg(1, 6, 7, 3, 2, 2, 3, 1, 1, true, false)>>;

constexpr std::uint64_t random_cases = 24;

}  // namespace

TEST_CASE("avgpool2d forward: default stride and floor mode", "[avgpool2d][forward]") {
  pool_test::forward_all<false>(list<DefaultCases>, 4000);
}
TEST_CASE("avgpool2d backward: default stride and floor mode", "[avgpool2d][backward]") {
  pool_test::backward_all<false>(list<DefaultCases>, 4100);
}
TEST_CASE("avgpool2d forward: padding included and excluded", "[avgpool2d][forward][pad]") {
  pool_test::forward_all<false>(list<PaddingCases>, 4200);
}
TEST_CASE("avgpool2d backward: padding included and excluded", "[avgpool2d][backward][pad]") {
  pool_test::backward_all<false>(list<PaddingCases>, 4300);
}
TEST_CASE("avgpool2d forward: CeilMode windows clipped", "[avgpool2d][forward][ceil]") {
  pool_test::forward_all<false>(list<CeilCases>, 4400);
}
TEST_CASE("avgpool2d backward: CeilMode windows clipped", "[avgpool2d][backward][ceil]") {
  pool_test::backward_all<false>(list<CeilCases>, 4500);
}
TEST_CASE("avgpool2d forward: random configurations", "[avgpool2d][forward][random]") {
  pool_test::random_forward<false>(4600, std::make_integer_sequence<std::uint64_t, random_cases>{});
}
TEST_CASE("avgpool2d backward: random configurations", "[avgpool2d][backward][random]") {
  pool_test::random_backward<false>(4700, std::make_integer_sequence<std::uint64_t, random_cases>{});
}

// The divisor, derived by hand for in 6, kernel 3, stride 2, pad 1, ceil mode: the
// last window starts at 3*2 - 1 = 5 and would cover rows 5..7, the padded input
// ends at row 6 (exclusive 7), so it covers rows 5..6: 2 rows counted with padding,
// 1 real row. On a 1-channel 6x6 input of ones the corner output is then
// 1*1 / (2*2) = 0.25 with padding counted and 1 without.
TEST_CASE("reference avg pool divisor at a clipped ceil-mode window", "[avgpool2d][reference]") {
  ref::PoolSpec s{1, 6, 6, 3, 3, 2, 2, 1, 1, 1, 1, true, true};
  const std::vector<float> ones(36, 1.0f);
  REQUIRE(s.out_h() == 4);
  CHECK(ref::avg_pool_forward(s, ones, 1)[15] == 0.25f);
  CHECK(ref::avg_pool_forward(s, ones, 1)[0] == 4.0f / 9.0f);
  s.count_include_pad = false;
  CHECK(ref::avg_pool_forward(s, ones, 1)[15] == 1.0f);
  CHECK(ref::avg_pool_forward(s, ones, 1)[0] == 1.0f);
}
