// Conv2d on random configurations generated at compile time (conv_test::random_case:
// every option drawn, pad modes, Same, dilation, strides, NoBias; inputs just large
// enough for the kernel and the pad mode). Forward against the reference loops,
// backward against the reference backward and finite differences. Tolerances: see
// tests/reference/check.hpp.
#include <catch2/catch.hpp>

#include "reference/conv2d_check.hpp"

namespace {
constexpr std::uint64_t random_cases = 32;
}  // namespace

TEST_CASE("conv2d forward: random configurations", "[conv2d][forward][random]") {
  conv_test::random_forward<0>(1000, std::make_integer_sequence<std::uint64_t, random_cases>{});
}

TEST_CASE("conv2d backward: random configurations", "[conv2d][backward][random]") {
  conv_test::random_backward<0>(2000, std::make_integer_sequence<std::uint64_t, random_cases>{});
}
