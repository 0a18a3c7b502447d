// Losses: PyTorch goldens (losses.safetensors), a plain double-precision
// reference, central finite differences, stability and label-range errors.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "ctcnn/core/tensor.hpp"
#include "ctcnn/train/loss.hpp"
#include "ctcnn/train/random.hpp"
#include "train_test_support.hpp"

namespace {

using ctcnn::Shape;
using ctcnn::Tensor;
using ctcnn::train_test::close;
using ctcnn::train_test::require_all_close;
using Labels4 = Tensor<Shape<4>, std::int32_t>;

// The golden tolerance: PyTorch's float32 kernels against ours.
constexpr double golden_abs = 1e-6, golden_rel = 1e-5;

template <class T>
void fill_from(T& t, const std::vector<float>& v) {
  REQUIRE(v.size() == t.size());
  for (std::size_t i = 0; i < v.size(); ++i) t[i] = v[i];
}

Labels4 golden_targets(const ctcnn::io::SafetensorsFile& f) {
  const auto t = ctcnn::train_test::to_i64(f, "target");
  REQUIRE(t.size() == 4);
  Labels4 labels;
  for (std::size_t i = 0; i < 4; ++i) labels[i] = static_cast<std::int32_t>(t[i]);
  return labels;
}

template <class T>
void fill_random(T& t, ctcnn::Rng& rng, float scale) {
  for (auto& v : t) v = rng.normal(0.0f, scale);
}

// Cross-entropy with label smoothing s, straight from the definition, in double:
// loss = mean_n sum_c -q[n, c] * log_softmax(x_n)_c,  q = (1 - s) onehot + s / C.
template <std::size_t N, std::size_t C>
double reference_ce(const Tensor<Shape<N, C>>& x, const Tensor<Shape<N>, std::int32_t>& t,
                    double s, std::vector<double>& grad) {
  grad.assign(N * C, 0.0);
  double total = 0.0;
  for (std::size_t n = 0; n < N; ++n) {
    double m = x(n, 0);
    for (std::size_t c = 1; c < C; ++c) m = std::max(m, double{x(n, c)});
    double z = 0.0;
    for (std::size_t c = 0; c < C; ++c) z += std::exp(x(n, c) - m);
    for (std::size_t c = 0; c < C; ++c) {
      const double logp = x(n, c) - m - std::log(z);
      const double q = (c == static_cast<std::size_t>(t[n]) ? 1.0 - s : 0.0) + s / C;
      total -= q * logp;
      grad[n * C + c] = (std::exp(logp) - q) / N;
    }
  }
  return total / N;
}

// Central differences of a loss in float: the step actually taken (after rounding
// x +- h to float) is the denominator.
template <class Input, class LossOf>
std::vector<double> finite_differences(Input x, float h, LossOf loss_of) {
  std::vector<double> d(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const float x0 = x[i];
    x[i] = x0 + h;
    const float up_x = x[i];
    const double up = loss_of(x);
    x[i] = x0 - h;
    const float down_x = x[i];
    const double down = loss_of(x);
    x[i] = x0;
    d[i] = (up - down) / (static_cast<double>(up_x) - static_cast<double>(down_x));
  }
  return d;
}

}  // namespace

TEST_CASE("CrossEntropyLoss matches PyTorch, with and without label smoothing", "[loss][golden]") {
  const auto f = ctcnn::train_test::golden("losses");
  Tensor<Shape<4, 6>> logits, dlogits;
  fill_from(logits, f.to_f32("logits", {4, 6}));
  const Labels4 targets = golden_targets(f);

  SECTION("label_smoothing 0") {
    const float loss = ctcnn::CrossEntropyLoss{}(logits, targets, dlogits);
    CHECK(close(loss, f.to_f32("ce.loss", {})[0], golden_abs, golden_rel));
    require_all_close(dlogits, f.to_f32("ce.dlogits", {4, 6}), 24, golden_abs, golden_rel);
  }
  SECTION("label_smoothing 0.1") {
    // Through the short name CrossEntropy, the same type.
    STATIC_REQUIRE(std::is_same_v<ctcnn::CrossEntropy, ctcnn::CrossEntropyLoss>);
    const float loss = ctcnn::CrossEntropy{.label_smoothing = 0.1f}(logits, targets, dlogits);
    CHECK(close(loss, f.to_f32("ce_ls.loss", {})[0], golden_abs, golden_rel));
    require_all_close(dlogits, f.to_f32("ce_ls.dlogits", {4, 6}), 24, golden_abs, golden_rel);
  }
}

TEST_CASE("NLLLoss matches PyTorch", "[loss][golden]") {
  const auto f = ctcnn::train_test::golden("losses");
  Tensor<Shape<4, 6>> logp, dinput;
  fill_from(logp, f.to_f32("logp", {4, 6}));
  dinput.fill(42.0f);  // every element must be written, not only the targets
  const float loss = ctcnn::NLLLoss{}(logp, golden_targets(f), dinput);
  CHECK(close(loss, f.to_f32("nll.loss", {})[0], golden_abs, golden_rel));
  require_all_close(dinput, f.to_f32("nll.dinput", {4, 6}), 24, golden_abs, golden_rel);
}

TEST_CASE("MSELoss matches PyTorch", "[loss][golden]") {
  const auto f = ctcnn::train_test::golden("losses");
  Tensor<Shape<4, 3>> pred, target, dpred;
  fill_from(pred, f.to_f32("pred", {4, 3}));
  fill_from(target, f.to_f32("mse_target", {4, 3}));
  const float loss = ctcnn::MSELoss{}(pred, target, dpred);
  CHECK(close(loss, f.to_f32("mse.loss", {})[0], golden_abs, golden_rel));
  require_all_close(dpred, f.to_f32("mse.dinput", {4, 3}), 12, golden_abs, golden_rel);
}

TEST_CASE("CrossEntropyLoss agrees with a double-precision reference", "[loss]") {
  ctcnn::Rng rng(11);
  Tensor<Shape<16, 10>> logits, dlogits;
  fill_random(logits, rng, 3.0f);
  Tensor<Shape<16>, std::int32_t> targets;
  for (auto& t : targets) t = static_cast<std::int32_t>(rng.below(10));
  for (const float s : {0.0f, 0.1f, 0.5f, 1.0f}) {
    INFO("label_smoothing " << s);
    std::vector<double> expected_grad;
    const double expected = reference_ce(logits, targets, s, expected_grad);
    const float loss = ctcnn::CrossEntropyLoss{.label_smoothing = s}(logits, targets, dlogits);
    CHECK(close(loss, expected, 1e-6, 1e-6));
    require_all_close(dlogits, expected_grad, dlogits.size(), 1e-7, 1e-5);
  }
}

TEST_CASE("Loss gradients match central finite differences", "[loss][gradient]") {
  // Tolerance 2e-4 absolute: float rounding of a loss near 2 is ~2.4e-7, divided
  // by a step of 2e-2 that is ~2.4e-5; the O(h^2) truncation is smaller still.
  constexpr float h = 1e-2f;
  constexpr double tol = 2e-4;
  ctcnn::Rng rng(12);

  SECTION("CrossEntropyLoss") {
    Tensor<Shape<3, 5>> logits, dlogits;
    fill_random(logits, rng, 1.5f);
    const Tensor<Shape<3>, std::int32_t> targets = [] {
      Tensor<Shape<3>, std::int32_t> t;
      t[0] = 4, t[1] = 0, t[2] = 2;
      return t;
    }();
    for (const float s : {0.0f, 0.1f, 0.3f}) {
      INFO("label_smoothing " << s);
      const ctcnn::CrossEntropyLoss loss{.label_smoothing = s};
      loss(logits, targets, dlogits);
      Tensor<Shape<3, 5>> scratch;
      const auto fd = finite_differences(
          logits, h, [&](const Tensor<Shape<3, 5>>& x) { return loss(x, targets, scratch); });
      require_all_close(dlogits, fd, fd.size(), tol, 0.0);
    }
  }
  SECTION("NLLLoss") {
    Tensor<Shape<3, 4>> x, dx, scratch;
    fill_random(x, rng, 1.0f);
    Tensor<Shape<3>, std::int32_t> targets;
    targets[0] = 1, targets[1] = 3, targets[2] = 1;  // a repeated class
    ctcnn::NLLLoss{}(x, targets, dx);
    const auto fd = finite_differences(
        x, h, [&](const Tensor<Shape<3, 4>>& v) { return ctcnn::NLLLoss{}(v, targets, scratch); });
    require_all_close(dx, fd, fd.size(), tol, 0.0);
  }
  SECTION("MSELoss over a 4-d shape") {
    Tensor<Shape<2, 3, 2, 2>> pred, target, dpred, scratch;
    fill_random(pred, rng, 1.0f);
    fill_random(target, rng, 1.0f);
    ctcnn::MSELoss{}(pred, target, dpred);
    const auto fd = finite_differences(pred, h, [&](const Tensor<Shape<2, 3, 2, 2>>& p) {
      return ctcnn::MSELoss{}(p, target, scratch);
    });
    require_all_close(dpred, fd, fd.size(), tol, 0.0);
  }
}

TEST_CASE("CrossEntropyLoss is stable for logits of +-1e4", "[loss][stability]") {
  Tensor<Shape<2, 3>> logits, dlogits;
  // Row 0: the target holds the maximum. Row 1: the target is 2e4 below a tie.
  const float rows[2][3] = {{1e4f, -1e4f, 0.0f}, {-1e4f, 1e4f, 1e4f}};
  for (std::size_t n = 0; n < 2; ++n)
    for (std::size_t c = 0; c < 3; ++c) logits(n, c) = rows[n][c];
  Tensor<Shape<2>, std::int32_t> targets;
  targets[0] = 0, targets[1] = 0;

  const float loss = ctcnn::CrossEntropyLoss{}(logits, targets, dlogits);
  // By hand: row 0 loses 0; row 1 loses 1e4 + log 2 - (-1e4). Mean over 2 rows.
  REQUIRE(std::isfinite(loss));
  CHECK(loss == Approx(1e4 + std::log(2.0) / 2).epsilon(1e-6));
  // softmax row 0 = (1, 0, 0), row 1 = (0, 1/2, 1/2); minus one-hot, over N = 2.
  const float expected[6] = {0.0f, 0.0f, 0.0f, -0.5f, 0.25f, 0.25f};
  for (std::size_t i = 0; i < 6; ++i) {
    REQUIRE(std::isfinite(dlogits[i]));
    CHECK(dlogits[i] == Approx(expected[i]).margin(1e-7));
  }

  const float smoothed = ctcnn::CrossEntropyLoss{.label_smoothing = 0.1f}(logits, targets, dlogits);
  // loss_n = 0.9 * (lse - x_t) + 0.1/3 * sum_c (lse - x_c), with lse = 1e4 in row 0
  // and 1e4 + log 2 in row 1.
  const double row0 = 0.1 / 3 * (0 + 2e4 + 1e4);
  const double row1 = 0.9 * (2e4 + std::log(2.0)) + 0.1 / 3 * (2e4 + 3 * std::log(2.0));
  REQUIRE(std::isfinite(smoothed));
  CHECK(smoothed == Approx((row0 + row1) / 2).epsilon(1e-6));
  for (const float d : dlogits) REQUIRE(std::isfinite(d));
}

TEST_CASE("Losses accept the gradient written over their input", "[loss]") {
  ctcnn::Rng rng(13);
  Tensor<Shape<5, 7>> logits, separate;
  fill_random(logits, rng, 2.0f);
  Tensor<Shape<5>, std::int32_t> targets;
  for (auto& t : targets) t = static_cast<std::int32_t>(rng.below(7));

  const ctcnn::CrossEntropyLoss ce{.label_smoothing = 0.2f};
  Tensor<Shape<5, 7>> in_place = logits;
  const float expected = ce(logits, targets, separate);
  CHECK(ce(in_place, targets, in_place) == expected);
  for (std::size_t i = 0; i < separate.size(); ++i) CHECK(in_place[i] == separate[i]);

  in_place = logits;
  const float nll = ctcnn::NLLLoss{}(logits, targets, separate);
  CHECK(ctcnn::NLLLoss{}(in_place, targets, in_place) == nll);
  for (std::size_t i = 0; i < separate.size(); ++i) CHECK(in_place[i] == separate[i]);
}

TEST_CASE("A target outside 0..C-1 throws std::out_of_range and writes nothing",
          "[loss][error]") {
  Tensor<Shape<3, 6>> logits, grad;
  logits.fill(0.5f);
  for (const std::int32_t bad : {6, 7, -1, -100}) {
    Tensor<Shape<3>, std::int32_t> targets;
    targets[0] = 0, targets[1] = bad, targets[2] = 5;
    const std::string value = "target " + std::to_string(bad) + " of sample 1";
    INFO("target value " << bad);

    grad.fill(42.0f);
    REQUIRE_THROWS_MATCHES(ctcnn::CrossEntropyLoss{}(logits, targets, grad), std::out_of_range,
                           Catch::Matchers::Message("ctcnn::CrossEntropyLoss: " + value +
                                                    " is outside [0, 6)"));
    for (const float g : grad) REQUIRE(g == 42.0f);

    REQUIRE_THROWS_MATCHES(
        ctcnn::NLLLoss{}(logits, targets, grad), std::out_of_range,
        Catch::Matchers::Message("ctcnn::NLLLoss: " + value + " is outside [0, 6)"));
    for (const float g : grad) REQUIRE(g == 42.0f);
  }
  Tensor<Shape<3>, std::int32_t> edge;  // 0 and C - 1 are valid
  edge[0] = 0, edge[1] = 5, edge[2] = 5;
  CHECK_NOTHROW(ctcnn::CrossEntropyLoss{}(logits, edge, grad));
}
