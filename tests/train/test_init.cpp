// Initialisers: torch.nn.init's formulas (statistics of 100k draws), PyTorch's
// own values (lenet5_weights.safetensors and a few tensors computed with torch
// 1.13), determinism, and the per-layer bounds of init_default on LeNet-5.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "ctcnn/train/init.hpp"
#include "ctcnn/train/random.hpp"
#include "train_test_support.hpp"

namespace {

using ctcnn::train_test::LeNet5;
using ctcnn::FanMode;
using ctcnn::Nonlinearity;

constexpr std::size_t draws = 100'000;

struct Stats {
  double mean = 0, variance = 0, max_abs = 0;
};
Stats stats(std::span<const float> x) {
  Stats s;
  for (const float v : x) s.mean += v;
  s.mean /= static_cast<double>(x.size());
  for (const float v : x) {
    s.variance += (v - s.mean) * (v - s.mean);
    s.max_abs = std::max(s.max_abs, static_cast<double>(std::abs(v)));
  }
  s.variance /= static_cast<double>(x.size());
  return s;
}

// U(-b, b) over 100k draws: every |x| <= b (as float), the largest within 1e-3 of b,
// mean within 5 standard errors (5 * b / sqrt(3e5)), variance b^2/3 within 2%.
void check_uniform(std::span<const float> x, double b) {
  const Stats s = stats(x);
  INFO("bound " << b << ", max |x| " << s.max_abs);
  CHECK(s.max_abs <= static_cast<float>(b));
  CHECK(s.max_abs >= b * (1 - 1e-3));
  CHECK(s.mean == Approx(0).margin(5 * b / std::sqrt(3.0 * draws)));
  CHECK(s.variance == Approx(b * b / 3).epsilon(0.02));
}
// N(0, sd^2) over 100k draws: mean within 5 standard errors, variance within 3%.
void check_normal(std::span<const float> x, double sd) {
  const Stats s = stats(x);
  INFO("sd " << sd);
  CHECK(s.mean == Approx(0).margin(5 * sd / std::sqrt(double{draws})));
  CHECK(s.variance == Approx(sd * sd).epsilon(0.03));
}

// PyTorch's fan_in per parameter tensor of LeNet-5, written out from the shapes:
// conv1 (6,1,5,5), conv2 (16,6,5,5), fc1 (120,400), fc2 (84,120), fc3 (10,84).
struct TensorFan {
  std::string name;
  std::size_t size, fan_in, fan_out;
};
const std::vector<TensorFan> lenet_tensors = {
    {"0.weight", 150, 25, 150},     {"0.bias", 6, 25, 150},     {"3.weight", 2400, 150, 400},
    {"3.bias", 16, 150, 400},       {"7.weight", 48000, 400, 120}, {"7.bias", 120, 400, 120},
    {"9.weight", 10080, 120, 84},   {"9.bias", 84, 120, 84},    {"11.weight", 840, 84, 10},
    {"11.bias", 10, 84, 10}};

// Every parameter tensor of a network under its state_dict name.
template <class Net>
std::vector<std::pair<std::string, std::span<float>>> named_tensors(Net& net) {
  std::vector<std::pair<std::string, std::span<float>>> out;
  net.for_each_parameter([&](std::size_t layer, const ctcnn::ParameterSpec& spec, float* values,
                             float*) {
    out.emplace_back(std::to_string(layer) + "." + std::string(spec.name),
                     std::span<float>(values, spec.size()));
  });
  return out;
}

// A network stand-in that hands out whatever specs a test wants.
struct FakeNet {
  std::vector<ctcnn::ParameterSpec> specs;
  std::vector<std::size_t> layers;
  std::array<float, 64> values{}, grads{};
  template <class F>
  void for_each_parameter(F&& f) {
    for (std::size_t i = 0; i < specs.size(); ++i) f(layers[i], specs[i], values.data(), grads.data());
  }
};

}  // namespace

TEST_CASE("calculate_gain and fans_of follow torch.nn.init", "[init]") {
  CHECK(ctcnn::calculate_gain(Nonlinearity::linear) == 1.0);
  CHECK(ctcnn::calculate_gain(Nonlinearity::conv) == 1.0);
  CHECK(ctcnn::calculate_gain(Nonlinearity::sigmoid) == 1.0);
  CHECK(ctcnn::calculate_gain(Nonlinearity::tanh) == Approx(5.0 / 3));
  CHECK(ctcnn::calculate_gain(Nonlinearity::relu) == Approx(std::sqrt(2.0)));
  CHECK(ctcnn::calculate_gain(Nonlinearity::leaky_relu) == Approx(std::sqrt(2.0 / 1.0001)));
  CHECK(ctcnn::calculate_gain(Nonlinearity::leaky_relu, 0.2) == Approx(std::sqrt(2.0 / 1.04)));
  CHECK(ctcnn::calculate_gain(Nonlinearity::selu) == 0.75);

  const ctcnn::ParameterSpec conv{"weight", 0, 4, {16, 6, 5, 3}};
  CHECK(ctcnn::fans_of(conv).fan_in == 6 * 5 * 3);
  CHECK(ctcnn::fans_of(conv).fan_out == 16 * 5 * 3);
  const ctcnn::ParameterSpec linear{"weight", 0, 2, {120, 400, 0, 0}};
  CHECK(ctcnn::fans_of(linear).fan_in == 400);
  CHECK(ctcnn::fans_of(linear).fan_out == 120);
  const ctcnn::ParameterSpec bias{"bias", 0, 1, {120, 0, 0, 0}};
  CHECK_THROWS_AS(ctcnn::fans_of(bias), std::invalid_argument);
}

TEST_CASE("Per-tensor initialisers: statistics of 100k draws", "[init]") {
  std::vector<float> w(draws);
  ctcnn::Rng rng(21);

  SECTION("kaiming_uniform: b = gain * sqrt(3 / fan)") {
    ctcnn::kaiming_uniform(w, 50, 0.0, rng, Nonlinearity::relu);
    check_uniform(w, std::sqrt(2.0) * std::sqrt(3.0 / 50));
    ctcnn::kaiming_uniform(w, 75, 0.3, rng);  // leaky_relu with slope 0.3
    check_uniform(w, std::sqrt(2.0 / 1.09) * std::sqrt(3.0 / 75));
    ctcnn::kaiming_uniform(w, 400, std::sqrt(5.0), rng);  // PyTorch's default: 1/sqrt(fan)
    check_uniform(w, 1.0 / 20);
  }
  SECTION("kaiming_normal: sd = gain / sqrt(fan)") {
    ctcnn::kaiming_normal(w, 60, 0.0, rng, Nonlinearity::relu);
    check_normal(w, std::sqrt(2.0 / 60));
    ctcnn::kaiming_normal(w, 10, 0.0, rng, Nonlinearity::tanh);
    check_normal(w, 5.0 / 3 / std::sqrt(10.0));
  }
  SECTION("xavier_uniform: b = gain * sqrt(6 / (fan_in + fan_out))") {
    ctcnn::xavier_uniform(w, 30, 70, 2.0, rng);
    check_uniform(w, 2.0 * std::sqrt(6.0 / 100));
  }
  SECTION("xavier_normal: sd = gain * sqrt(2 / (fan_in + fan_out))") {
    ctcnn::xavier_normal(w, 30, 70, 1.0, rng);
    check_normal(w, std::sqrt(2.0 / 100));
  }
  SECTION("uniform, normal, constant, zeros") {
    ctcnn::init_uniform(w, -0.25, 0.25, rng);
    check_uniform(w, 0.25);
    ctcnn::init_normal(w, 0.0, 0.1, rng);
    check_normal(w, 0.1);
    ctcnn::init_constant(w, 0.5f);
    CHECK(std::all_of(w.begin(), w.end(), [](float v) { return v == 0.5f; }));
    ctcnn::init_zeros(w);
    CHECK(std::all_of(w.begin(), w.end(), [](float v) { return v == 0.0f; }));
  }
  SECTION("a zero fan is an error, not an infinite bound") {
    CHECK_THROWS_AS(ctcnn::kaiming_uniform(w, 0, 0.0, rng), std::invalid_argument);
    CHECK_THROWS_AS(ctcnn::xavier_normal(w, 0, 0, 1.0, rng), std::invalid_argument);
  }
}

TEST_CASE("Uniform initialisers draw PyTorch's values", "[init][golden]") {
  SECTION("xavier_uniform") {
    // torch.manual_seed(7); w = torch.empty(4, 3, 2); nn.init.xavier_uniform_(w, gain=2.0)
    // (torch 1.13, tests/golden's interpreter): fan_in 6, fan_out 8.
    const float expected[24] = {
        0x1.7692e4p-4f,  -0x1.93d2e6p-1f, 0x1.aaeb86p-2f,  0x1.a4b1fap-2f,  -0x1.664b76p-1f,
        -0x1.91e3d0p-3f, -0x1.88b800p-1f, 0x1.5be210p-2f,  -0x1.692648p-2f, 0x1.d6f4cep-1f,
        0x1.dbe218p-1f,  0x1.11295ep-3f,  -0x1.1dca9ep-1f, -0x1.89bf22p-1f, -0x1.267a26p-3f,
        -0x1.7951bep-2f, 0x1.277886p-1f,  -0x1.1e3610p+0f, 0x1.3b0490p+0f,  -0x1.06ed24p+0f,
        0x1.00aafap+0f,  -0x1.d1a5e2p-3f, 0x1.58d41ap-1f,  0x1.053cf2p-1f};
    const ctcnn::ParameterSpec spec{"weight", 0, 3, {4, 3, 2, 0}};
    const ctcnn::Fans fans = ctcnn::fans_of(spec);
    std::array<float, 24> w{};
    ctcnn::Rng rng(7);
    ctcnn::xavier_uniform(w, fans.fan_in, fans.fan_out, 2.0, rng);
    for (std::size_t i = 0; i < 24; ++i) {
      INFO("element " << i << ": " << ctcnn::train_test::hex(w[i]) << " vs PyTorch's "
                      << ctcnn::train_test::hex(expected[i]));
      CHECK(w[i] == expected[i]);
    }
  }
  SECTION("kaiming_uniform, fan_out, relu") {
    // torch.manual_seed(123456789); w = torch.empty(5, 2, 3, 3)
    // nn.init.kaiming_uniform_(w, mode='fan_out', nonlinearity='relu'); w.flatten()[:8]
    const float expected[8] = {-0x1.1b69e2p-4f, 0x1.3d9d98p-4f,  0x1.656a8ep-3f, -0x1.8c3164p-4f,
                               -0x1.4596c6p-5f, -0x1.1cbea2p-3f, 0x1.01d6aep-3f, 0x1.09f758p-4f};
    const ctcnn::ParameterSpec spec{"weight", 0, 4, {5, 2, 3, 3}};
    std::array<float, 90> w{};
    ctcnn::Rng rng(123456789);
    ctcnn::kaiming_uniform(w, ctcnn::fans_of(spec).fan_out, 0.0, rng, Nonlinearity::relu);
    for (std::size_t i = 0; i < 8; ++i) {
      INFO("element " << i << ": " << ctcnn::train_test::hex(w[i]) << " vs PyTorch's "
                      << ctcnn::train_test::hex(expected[i]));
      CHECK(w[i] == expected[i]);
    }
  }
}

TEST_CASE("init_default(LeNet-5, 0) is PyTorch's LeNet-5 after torch.manual_seed(0)",
          "[init][golden]") {
  const auto golden = ctcnn::train_test::golden("lenet5_weights");
  auto net = std::make_unique<LeNet5>();
  ctcnn::init_default(*net, 0);
  const auto tensors = named_tensors(*net);
  REQUIRE(tensors.size() == golden.tensors().size());
  for (const auto& [name, values] : tensors) {
    INFO(name);
    const std::vector<float> expected = golden.to_f32(name);
    REQUIRE(expected.size() == values.size());
    std::size_t differing = 0, first = values.size();
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values[i] != expected[i] && differing++ == 0) first = i;
    }
    INFO(differing << " elements differ; the first is element " << first);
    CHECK(differing == 0);  // bit for bit: the same generator and the same arithmetic
  }
}

TEST_CASE("init_default on LeNet-5: every tensor within 1/sqrt(fan_in), and reaching it",
          "[init]") {
  auto net = std::make_unique<LeNet5>();
  ctcnn::init_default(*net, 1234);
  const auto tensors = named_tensors(*net);
  REQUIRE(tensors.size() == lenet_tensors.size());
  for (std::size_t t = 0; t < tensors.size(); ++t) {
    const auto& [name, values] = tensors[t];
    const TensorFan& expected = lenet_tensors[t];
    INFO(name);
    REQUIRE(name == expected.name);
    REQUIRE(values.size() == expected.size);
    const double bound = 1 / std::sqrt(static_cast<double>(expected.fan_in));
    const Stats s = stats(values);
    CHECK(s.max_abs <= static_cast<float>(bound));
    // The largest of n draws of |U(0, b)| falls below b (1 - 10/n) with probability
    // (1 - 10/n)^n < e^-10; meaningful for tensors of more than 10 values.
    CHECK(s.max_abs >= bound * (1 - 10.0 / static_cast<double>(values.size())));
    if (values.size() >= 10'000) CHECK(s.variance == Approx(bound * bound / 3).epsilon(0.05));
  }
  for (const float g : net->gradients()) REQUIRE(g == 0.0f);
}

TEST_CASE("Initialisation is reproducible: the same seed gives the same bits, a new seed new values",
          "[init]") {
  auto a = std::make_unique<LeNet5>();
  auto b = std::make_unique<LeNet5>();
  ctcnn::init_default(*a, 42);
  ctcnn::init_default(*b, 42);
  CHECK(std::equal(a->parameters().begin(), a->parameters().end(), b->parameters().begin()));

  ctcnn::init_default(*b, 43);
  std::size_t equal = 0;
  for (std::size_t i = 0; i < a->parameters().size(); ++i)
    equal += a->parameters()[i] == b->parameters()[i];
  CHECK(equal < a->parameters().size() / 1000);

  // The seed overload is a fresh Rng(seed).
  const ctcnn::WeightInit w = ctcnn::init::KaimingNormal{.mode = FanMode::fan_out};
  const ctcnn::BiasInit bias = ctcnn::init::Normal{.mean = 0.0, .std = 0.01};
  ctcnn::init_parameters(*a, w, bias, 5);
  ctcnn::Rng rng(5);
  ctcnn::init_parameters(*b, w, bias, rng);
  CHECK(std::equal(a->parameters().begin(), a->parameters().end(), b->parameters().begin()));
  CHECK(rng != ctcnn::Rng(5));  // the Rng overload advances the caller's generator
}

TEST_CASE("init_parameters applies each rule with the layer's fans", "[init]") {
  auto net = std::make_unique<LeNet5>();
  const auto tensors = named_tensors(*net);
  const auto check_each = [&](auto check_weight, auto check_bias) {
    for (std::size_t t = 0; t < tensors.size(); ++t) {
      INFO(tensors[t].first);
      if (t % 2 == 0) {
        check_weight(tensors[t].second, lenet_tensors[t]);
      } else {
        check_bias(tensors[t].second, lenet_tensors[t]);
      }
    }
  };
  const auto all_equal = [](float value) {
    return [value](std::span<const float> x, const TensorFan&) {
      CHECK(std::all_of(x.begin(), x.end(), [&](float v) { return v == value; }));
    };
  };

  SECTION("Zeros and Constant") {
    ctcnn::init_parameters(*net, ctcnn::init::Zeros{}, ctcnn::init::Constant{0.5f}, 1);
    check_each(all_equal(0.0f), all_equal(0.5f));
    ctcnn::init_parameters(*net, ctcnn::init::Constant{-2.0f}, ctcnn::init::Zeros{}, 1);
    check_each(all_equal(-2.0f), all_equal(0.0f));
  }
  SECTION("XavierUniform and Uniform bias") {
    ctcnn::init_parameters(*net, ctcnn::init::XavierUniform{.gain = 1.5},
                           ctcnn::init::Uniform{.lo = 0.1, .hi = 0.2}, 2);
    check_each(
        [](std::span<const float> x, const TensorFan& f) {
          const double b = 1.5 * std::sqrt(6.0 / static_cast<double>(f.fan_in + f.fan_out));
          CHECK(stats(x).max_abs <= static_cast<float>(b));
          CHECK(stats(x).max_abs >= b * (1 - 10.0 / static_cast<double>(x.size())));
        },
        [](std::span<const float> x, const TensorFan&) {
          CHECK(std::all_of(x.begin(), x.end(), [](float v) { return v >= 0.1f && v <= 0.2f; }));
        });
  }
  SECTION("KaimingNormal with fan_out, on the 48000 weights of fc1") {
    ctcnn::init_parameters(
        *net, ctcnn::init::KaimingNormal{.mode = FanMode::fan_out, .nonlinearity = Nonlinearity::relu},
        ctcnn::init::Zeros{}, 3);
    const Stats s = stats(tensors[4].second);  // 7.weight: fan_out 120
    CHECK(s.variance == Approx(2.0 / 120).epsilon(0.05));
    CHECK(std::all_of(tensors[5].second.begin(), tensors[5].second.end(),
                      [](float v) { return v == 0.0f; }));
  }
  for (const float g : net->gradients()) REQUIRE(g == 0.0f);
}

TEST_CASE("init_parameters rejects tensors it has no rule for", "[init][error]") {
  FakeNet net;
  SECTION("a weight of rank 1") {
    net.specs = {{"weight", 0, 1, {8, 0, 0, 0}}};
    net.layers = {0};
    CHECK_THROWS_WITH(ctcnn::init_default(net, 0), Catch::Matchers::Contains("rank 1"));
  }
  SECTION("a bias without a weight in its layer") {
    net.specs = {{"weight", 0, 2, {2, 3, 0, 0}}, {"bias", 6, 1, {2, 0, 0, 0}}};
    net.layers = {0, 1};
    CHECK_THROWS_WITH(ctcnn::init_default(net, 0),
                      Catch::Matchers::Contains("bias of layer 1 has no weight"));
  }
  SECTION("an unknown name") {
    net.specs = {{"running_mean", 0, 1, {4, 0, 0, 0}}};
    net.layers = {2};
    CHECK_THROWS_WITH(ctcnn::init_default(net, 0),
                      Catch::Matchers::Contains("'running_mean' of layer 2"));
  }
  SECTION("a well-formed layer passes") {
    net.specs = {{"weight", 0, 2, {2, 3, 0, 0}}, {"bias", 6, 1, {2, 0, 0, 0}}};
    net.layers = {0, 0};
    CHECK_NOTHROW(ctcnn::init_default(net, 0));
  }
}
