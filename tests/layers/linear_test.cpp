// Linear against the reference (forward, analytic backward: data, weight, bias)
// and finite differences, with and without bias; and inside a one-layer and a
// Flatten + Linear Sequential. Tolerances: see tests/reference/check.hpp.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "ctcnn/core/tensor.hpp"
#include "ctcnn/layers/flatten.hpp"
#include "ctcnn/layers/linear.hpp"
#include "ctcnn/net/sequential.hpp"
#include "reference/check.hpp"
#include "reference/linear.hpp"

namespace {

namespace cn = ctcnn;

// Weights in +-1/sqrt(in) (PyTorch's default range), then the bias.
std::vector<float> random_parameters(std::mt19937& rng, std::size_t in, std::size_t out, bool bias) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(in));
  std::vector<float> p = ref::uniform(rng, in * out, -bound, bound);
  if (bias) {
    const std::vector<float> b = ref::uniform(rng, out, -bound, bound);
    p.insert(p.end(), b.begin(), b.end());
  }
  return p;
}

void run(const ref::LayerFns& l, bool bias, const std::string& name, std::uint32_t seed,
         std::size_t batch) {
  const std::size_t in = l.in_size, out = l.out_size;
  INFO(name << " | batch " << batch << " | seed " << seed);
  std::mt19937 rng(seed);
  const std::vector<float> p = random_parameters(rng, in, out, bias);
  const std::vector<float> w(p.begin(), p.begin() + static_cast<long>(in * out));
  const std::vector<float> b(p.begin() + static_cast<long>(in * out), p.end());

  const std::vector<float> x = ref::uniform(rng, batch * in);
  ref::require_close(ref::forward(l, x, p, batch), ref::linear_forward(x, w, b, bias, batch, in, out),
                     ref::forward_tolerance, "y vs reference");
  ref::check_batch_consistency(l, x, p, batch);

  const std::vector<float> dy = ref::uniform(rng, batch * out);
  const ref::Gradients g = ref::backward(l, x, p, dy, batch);
  ref::require_close(g.dx, ref::linear_backward_data(w, dy, batch, in, out), ref::forward_tolerance,
                     "dx vs reference");
  ref::require_close(std::vector<float>(g.dparams.begin(), g.dparams.begin() + static_cast<long>(in * out)),
                     ref::linear_backward_weight(x, dy, batch, in, out), ref::forward_tolerance,
                     "dweight vs reference");
  if (bias)
    ref::require_close(std::vector<float>(g.dparams.begin() + static_cast<long>(in * out), g.dparams.end()),
                       ref::linear_backward_bias(dy, batch, out), ref::forward_tolerance,
                       "dbias vs reference");
  ref::check_gradients(l, std::vector<float>(x.begin(), x.begin() + static_cast<long>(2 * in)), p, 2, rng);
}

template <class Spec, std::size_t In, std::size_t Out, bool Bias>
void check(std::uint32_t seed, std::size_t batch = 3) {
  using L = typename Spec::template bind<cn::Shape<In>>;
  STATIC_REQUIRE(Spec::template accepts<cn::Shape<In>>);
  STATIC_REQUIRE(std::is_same_v<typename L::output_shape, cn::Shape<Out>>);
  STATIC_REQUIRE(L::parameter_count == In * Out + (Bias ? Out : 0));
  STATIC_REQUIRE(L::has_bias == Bias);
  STATIC_REQUIRE(L::macs == In * Out);
  run(ref::layer_fns<L>(), Bias, L::describe(), seed, batch);
}

}  // namespace

TEST_CASE("linear forward and backward", "[linear][forward][backward]") {
  check<cn::Linear<5>, 7, 5, true>(7000);
  check<cn::Linear<1>, 1, 1, true>(7001);
  check<cn::Linear<1>, 9, 1, true>(7002);
  check<cn::Linear<13>, 33, 13, true>(7003);
  check<cn::Linear<4, cn::InFeatures<6>>, 6, 4, true>(7004);
  check<cn::Linear<10>, 84, 10, true>(7005);
}

// The kernel tiles 4 samples x 4 rows (tails of either), with vectors along In
// (a tail when In is not a multiple of the vector width): a batch of 9 runs two
// whole sample tiles and a tail of one; LeNet-5's 400 -> 120 -> 84 -> 10 and
// the teaching ConvNet's 12800 -> 10 are among the shapes.
TEST_CASE("linear forward and backward over whole register tiles", "[linear][forward][backward]") {
  check<cn::Linear<120>, 400, 120, true>(7300, 9);
  check<cn::Linear<84>, 120, 84, true>(7301, 9);
  check<cn::Linear<10>, 84, 10, true>(7302, 9);
  check<cn::Linear<10>, 12800, 10, true>(7303, 5);
  check<cn::Linear<17, cn::NoBias>, 64, 17, false>(7304, 8);
  check<cn::Linear<16>, 16, 16, true>(7305, 4);
  check<cn::Linear<3>, 1, 3, true>(7306, 9);
}

TEST_CASE("linear without bias forward and backward", "[linear][forward][backward]") {
  check<cn::Linear<5, cn::NoBias>, 7, 5, false>(7100);
  check<cn::Linear<1, cn::NoBias>, 1, 1, false>(7101);
  check<cn::Linear<8, cn::NoBias, cn::InFeatures<3>>, 3, 8, false>(7102);
}

// Flatten then Linear in a network: the parameters sit in the network's buffer in
// PyTorch layout and the input gradient comes back in (C, H, W) order.
TEST_CASE("flatten + linear in a Sequential matches the reference", "[linear][flatten][sequential][forward][backward]") {
  struct Net : cn::Sequential<cn::Input<2, 3, 4>, cn::Flatten, cn::Linear<5>> {};
  constexpr std::size_t batch = 2, in = 24, out = 5;
  STATIC_REQUIRE(Net::output_shape == cn::Shape<5>{});
  STATIC_REQUIRE(Net::parameter_count == in * out + out);

  std::mt19937 rng(7200);
  Net net;
  const std::vector<float> p = random_parameters(rng, in, out, true);
  std::copy(p.begin(), p.end(), net.parameters().begin());
  const std::vector<float> w(p.begin(), p.begin() + in * out), b(p.begin() + in * out, p.end());
  cn::Tensor<cn::Shape<batch, 2, 3, 4>> x;
  const std::vector<float> xv = ref::uniform(rng, x.size());
  std::copy(xv.begin(), xv.end(), x.begin());
  auto ws = cn::make_workspace<batch>(net);
  const auto& y = net.forward(x, *ws);
  ref::require_close(std::vector<float>(y.begin(), y.end()), ref::linear_forward(xv, w, b, true, batch, in, out),
                     ref::forward_tolerance, "network y vs reference");

  cn::Tensor<cn::Shape<batch, out>> dy;
  const std::vector<float> dyv = ref::uniform(rng, dy.size());
  std::copy(dyv.begin(), dyv.end(), dy.begin());
  net.zero_grad();
  net.backward(*ws, dy, cn::InputGradient::compute);
  const auto dx = ws->input_grad();
  ref::require_close(std::vector<float>(dx.begin(), dx.end()), ref::linear_backward_data(w, dyv, batch, in, out),
                     ref::forward_tolerance, "network dx vs reference");
  const auto dw = net.weight_grad<1>();
  ref::require_close(std::vector<float>(dw.begin(), dw.end()), ref::linear_backward_weight(xv, dyv, batch, in, out),
                     ref::forward_tolerance, "network dweight vs reference");
  const auto db = net.bias_grad<1>();
  ref::require_close(std::vector<float>(db.begin(), db.end()), ref::linear_backward_bias(dyv, batch, out),
                     ref::forward_tolerance, "network dbias vs reference");
}
