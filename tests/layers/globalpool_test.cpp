// GlobalAvgPool2d and GlobalMaxPool2d against the reference (forward, analytic
// backward) and finite differences; max pooling on inputs without near-ties.
// Tolerances: see tests/reference/check.hpp.
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "ctcnn/layers/pool.hpp"
#include "reference/check.hpp"
#include "reference/pool.hpp"

namespace {

namespace cn = ctcnn;

void run(const ref::LayerFns& l, bool max, std::size_t channels, const std::string& name,
         std::uint32_t seed) {
  const std::size_t plane = l.in_size / channels;
  INFO(name << " on " << channels << " channels of " << plane << " | seed " << seed);
  std::mt19937 rng(seed);
  constexpr std::size_t batch = 3;
  const std::vector<float> none;
  std::vector<float> x = max ? ref::distinct(rng, batch * l.in_size) : ref::uniform(rng, batch * l.in_size);
  ref::require_close(ref::forward(l, x, none, batch),
                     max ? ref::global_max_pool_forward(x, batch, channels, plane)
                         : ref::global_avg_pool_forward(x, batch, channels, plane),
                     ref::forward_tolerance, "y vs reference");
  ref::check_batch_consistency(l, x, none, batch);
  const std::vector<float> dy = ref::uniform(rng, batch * channels);
  ref::require_close(ref::backward(l, x, none, dy, batch).dx,
                     max ? ref::global_max_pool_backward(x, dy, batch, channels, plane)
                         : ref::global_avg_pool_backward(dy, batch, channels, plane),
                     ref::forward_tolerance, "dx vs reference");
  ref::check_gradients(l, x, none, batch, rng);
  for (float& v : x) v -= 100.0f;
  ref::require_close(ref::forward(l, x, none, batch),
                     max ? ref::global_max_pool_forward(x, batch, channels, plane)
                         : ref::global_avg_pool_forward(x, batch, channels, plane),
                     ref::forward_tolerance, "y vs reference, all inputs negative");
}

template <class Spec, std::size_t C, std::size_t H, std::size_t W>
void check(bool max, std::uint32_t seed) {
  using L = typename Spec::template bind<cn::Shape<C, H, W>>;
  STATIC_REQUIRE(Spec::template accepts<cn::Shape<C, H, W>>);
  STATIC_REQUIRE(std::is_same_v<typename L::output_shape, cn::Shape<C>>);
  STATIC_REQUIRE(L::parameter_count == 0);
  run(ref::layer_fns<L>(), max, C, L::describe(), seed);
}

template <class Spec>
void check_shapes(bool max, std::uint32_t seed) {
  check<Spec, 3, 4, 5>(max, seed);
  check<Spec, 1, 1, 1>(max, seed + 1);
  check<Spec, 2, 7, 3>(max, seed + 2);
  check<Spec, 16, 5, 5>(max, seed + 3);
}

}  // namespace

TEST_CASE("global avg pool forward and backward", "[globalavgpool2d][forward][backward]") {
  check_shapes<cn::GlobalAvgPool2d>(false, 9000);
}
TEST_CASE("global max pool forward and backward", "[globalmaxpool2d][forward][backward]") {
  check_shapes<cn::GlobalMaxPool2d>(true, 9100);
}
