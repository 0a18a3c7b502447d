// Softmax and LogSoftmax over the first axis of each sample against the reference
// (forward, analytic backward) and finite differences, on flat and (C, H, W)
// inputs, including a single class and large logits (stability). Tolerances: see
// tests/reference/check.hpp.
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <catch2/catch.hpp>

#include "ctcnn/layers/softmax.hpp"
#include "reference/check.hpp"
#include "reference/softmax.hpp"

namespace {

namespace cn = ctcnn;

void run(const ref::LayerFns& l, std::size_t classes, bool log, const std::string& name,
         std::uint32_t seed) {
  const std::size_t inner = l.in_size / classes;
  INFO(name << " over " << classes << " classes x " << inner << " positions | seed " << seed);
  std::mt19937 rng(seed);
  constexpr std::size_t batch = 3;
  const std::vector<float> none;
  std::vector<float> x = ref::uniform(rng, batch * l.in_size, -3.0f, 3.0f);
  ref::require_close(ref::forward(l, x, none, batch),
                     ref::softmax_forward(x, batch, classes, inner, log), ref::forward_tolerance,
                     "y vs reference");
  ref::check_batch_consistency(l, x, none, batch);
  const std::vector<float> dy = ref::uniform(rng, x.size());
  ref::require_close(ref::backward(l, x, none, dy, batch).dx,
                     ref::softmax_backward(x, dy, batch, classes, inner, log),
                     ref::forward_tolerance, "dx vs reference");
  ref::check_gradients(l, x, none, batch, rng);

  // Logits far beyond exp's float range: a stable implementation subtracts the max.
  for (float& v : x) v = v * 30.0f + 100.0f;
  ref::require_close(ref::forward(l, x, none, batch),
                     ref::softmax_forward(x, batch, classes, inner, log), ref::forward_tolerance,
                     "y vs reference, logits around 100 +- 90");
}

template <class Spec, class In>
void check(bool log, std::uint32_t seed) {
  using L = typename Spec::template bind<In>;
  STATIC_REQUIRE(Spec::template accepts<In>);
  STATIC_REQUIRE(std::is_same_v<typename L::output_shape, In>);
  STATIC_REQUIRE(L::parameter_count == 0);
  run(ref::layer_fns<L>(), In::dims[0], log, L::describe(), seed);
}

template <class Spec>
void check_shapes(bool log, std::uint32_t seed) {
  check<Spec, cn::Shape<10>>(log, seed);
  check<Spec, cn::Shape<4, 3, 5>>(log, seed + 1);
  check<Spec, cn::Shape<3, 2>>(log, seed + 2);
  check<Spec, cn::Shape<5, 1, 1>>(log, seed + 3);
  check<Spec, cn::Shape<1>>(log, seed + 4);
  check<Spec, cn::Shape<1, 2, 3>>(log, seed + 5);
}

}  // namespace

TEST_CASE("softmax forward and backward", "[softmax][forward][backward]") {
  check_shapes<cn::Softmax>(false, 6000);
}
TEST_CASE("log-softmax forward and backward", "[log_softmax][softmax][forward][backward]") {
  check_shapes<cn::LogSoftmax>(true, 6100);
}
