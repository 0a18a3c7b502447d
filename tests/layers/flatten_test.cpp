// Flatten against the reference index map (forward and backward) and finite
// differences. Tolerances: see tests/reference/check.hpp (a copy is exact).
#include <cstddef>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "ctcnn/layers/flatten.hpp"
#include "reference/check.hpp"
#include "reference/flatten.hpp"

namespace {

namespace cn = ctcnn;

template <std::size_t C, std::size_t H, std::size_t W>
void check(std::uint32_t seed) {
  using L = cn::Flatten::bind<cn::Shape<C, H, W>>;
  STATIC_REQUIRE(std::is_same_v<typename L::output_shape, cn::Shape<C * H * W>>);
  STATIC_REQUIRE(L::parameter_count == 0);
  const ref::LayerFns l = ref::layer_fns<L>();
  INFO("Flatten on (" << C << "," << H << "," << W << ") | seed " << seed);
  std::mt19937 rng(seed);
  constexpr std::size_t batch = 3;
  const std::vector<float> none;
  const std::vector<float> x = ref::uniform(rng, batch * C * H * W);
  ref::require_close(ref::forward(l, x, none, batch), ref::flatten_forward(x, batch, C, H, W), 0.0,
                     "y vs reference");
  const std::vector<float> dy = ref::uniform(rng, x.size());
  ref::require_close(ref::backward(l, x, none, dy, batch).dx, ref::flatten_backward(dy, batch, C, H, W),
                     0.0, "dx vs reference");
  ref::check_gradients(l, x, none, batch, rng);
}

}  // namespace

TEST_CASE("flatten forward and backward", "[flatten][forward][backward]") {
  check<2, 3, 4>(8000);
  check<1, 1, 1>(8001);
  check<5, 1, 7>(8002);
  check<16, 5, 5>(8003);
  STATIC_REQUIRE(std::is_same_v<cn::Flatten::bind<cn::Shape<10>>::output_shape, cn::Shape<10>>);
}
