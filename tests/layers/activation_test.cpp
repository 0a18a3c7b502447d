// ReLU, LeakyReLU, Sigmoid and Tanh against the reference (forward, analytic
// backward) and finite differences, on several input shapes. Finite differences
// use inputs at least 0.05 away from 0 (the kinks of ReLU / LeakyReLU); the
// analytic comparison also covers exact zeros, where PyTorch takes the x <= 0
// branch. Tolerances: see tests/reference/check.hpp.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "ctcnn/kernels/activation.hpp"
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

// PyTorch's relu keeps NaN (relu(NaN) = NaN) and its backward passes a NaN
// output's gradient on (threshold_backward zeroes only where y <= 0); -0 and 0
// give +0. A ReLU that made NaN 0 would hide a diverged layer from every check
// after it. 37 elements: whole vectors for every lane count, and a scalar tail.
TEST_CASE("relu keeps NaN and gives +0 for -0, forward and backward, as PyTorch", "[relu][activation][nan]") {
  constexpr std::size_t n = 37;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> x(n), dy(n);
  for (std::size_t i = 0; i < n; ++i) {
    const float pattern[] = {nan, -0.0f, 0.0f, -2.5f, 1.5f};
    x[i] = pattern[(i * 3) % 5];
    dy[i] = 10.0f + static_cast<float>(i);
  }
  x[n - 1] = nan;  // in the scalar tail too
  std::vector<float> y(n), dx(n);
  ctcnn::kernels::elementwise_forward<ctcnn::kernels::relu_fn>(x.data(), y.data(), n);
  ctcnn::kernels::elementwise_backward<ctcnn::kernels::relu_fn>(x.data(), y.data(), dy.data(), dx.data(), n);
  std::size_t nans = 0;
  for (std::size_t i = 0; i < n; ++i) {
    INFO("element " << i << ": x = " << x[i] << ", y = " << y[i] << ", dx = " << dx[i]);
    if (std::isnan(x[i])) {
      ++nans;
      CHECK(std::isnan(y[i]));
      CHECK(dx[i] == dy[i]);
    } else if (x[i] <= 0.0f) {
      CHECK(y[i] == 0.0f);
      CHECK_FALSE(std::signbit(y[i]));
      CHECK(dx[i] == 0.0f);
    } else {
      CHECK(y[i] == x[i]);
      CHECK(dx[i] == dy[i]);
    }
  }
  CHECK(nans >= 8);
}
