// ReLU, LeakyReLU, Sigmoid and Tanh against the reference (forward, analytic
// backward) and finite differences, on several input shapes. Finite differences
// use inputs at least 0.05 away from 0 (the kinks of ReLU / LeakyReLU); the
// analytic comparison also covers exact zeros, where PyTorch takes the x <= 0
// branch. Tolerances: see tests/reference/check.hpp.
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "ctcnn/layers/activation.hpp"
#include "reference/activation.hpp"
#include "reference/check.hpp"

namespace {

namespace cn = ctcnn;
using ref::Activation;

void run(const ref::LayerFns& l, Activation a, double slope, const std::string& name,
         std::uint32_t seed) {
  INFO(name << " on " << l.in_size << " elements per sample | seed " << seed);
  std::mt19937 rng(seed);
  constexpr std::size_t batch = 3;
  const std::vector<float> none;
  std::vector<float> x = ref::away_from_zero(rng, batch * l.in_size, 0.05f, 3.0f);
  ref::require_close(ref::forward(l, x, none, batch), ref::activation_forward(a, x, slope),
                     ref::forward_tolerance, "y vs reference");
  ref::check_batch_consistency(l, x, none, batch);
  ref::check_gradients(l, x, none, batch, rng);

  // Exact zeros and saturating magnitudes, analytic backward only.
  x[0] = 0.0f;
  if (x.size() > 2) x[x.size() / 2] = -0.0f;
  if (x.size() > 3) x[1] = 30.0f, x[2] = -30.0f;
  const std::vector<float> dy = ref::uniform(rng, x.size());
  ref::require_close(ref::forward(l, x, none, batch), ref::activation_forward(a, x, slope),
                     ref::forward_tolerance, "y vs reference at 0 and +-30");
  ref::require_close(ref::backward(l, x, none, dy, batch).dx,
                     ref::activation_backward(a, x, dy, slope), ref::forward_tolerance,
                     "dx vs reference at 0 and +-30");
}

template <class Spec, class In>
void check(Activation a, double slope, std::uint32_t seed) {
  using L = typename Spec::template bind<In>;
  STATIC_REQUIRE(Spec::template accepts<In>);
  STATIC_REQUIRE(std::is_same_v<typename L::output_shape, In>);
  STATIC_REQUIRE(L::parameter_count == 0);
  run(ref::layer_fns<L>(), a, slope, L::describe(), seed);
}

template <class Spec>
void check_shapes(Activation a, double slope, std::uint32_t seed) {
  check<Spec, cn::Shape<3, 4, 5>>(a, slope, seed);
  check<Spec, cn::Shape<7>>(a, slope, seed + 1);
  check<Spec, cn::Shape<1>>(a, slope, seed + 2);
  check<Spec, cn::Shape<2, 1, 1>>(a, slope, seed + 3);
  check<Spec, cn::Shape<1, 9, 2>>(a, slope, seed + 4);
}

}  // namespace

TEST_CASE("relu forward and backward", "[relu][activation][forward][backward]") {
  check_shapes<cn::ReLU>(Activation::relu, 0.0, 5000);
}
TEST_CASE("leaky relu (default slope 0.01) forward and backward", "[leaky_relu][activation][forward][backward]") {
  check_shapes<cn::LeakyReLU<>>(Activation::leaky_relu, 0.01, 5100);
}
TEST_CASE("leaky relu (slope 1/5 and 3/2) forward and backward", "[leaky_relu][activation][forward][backward]") {
  check_shapes<cn::LeakyReLU<1, 5>>(Activation::leaky_relu, 0.2, 5200);
  check_shapes<cn::LeakyReLU<3, 2>>(Activation::leaky_relu, 1.5, 5300);
}
TEST_CASE("sigmoid forward and backward", "[sigmoid][activation][forward][backward]") {
  check_shapes<cn::Sigmoid>(Activation::sigmoid, 0.0, 5400);
}
TEST_CASE("tanh forward and backward", "[tanh][activation][forward][backward]") {
  check_shapes<cn::Tanh>(Activation::tanh, 0.0, 5500);
}
