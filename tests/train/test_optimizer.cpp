// Optimizers against PyTorch 1.13 (optimizers.safetensors): p0 (16), g (5, 16)
// and, for each configuration, the parameters after each of 5 steps. The
// hyper-parameters come from the file's metadata, so the test and the file
// cannot drift apart.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE__)
#include <immintrin.h>
#endif

#include "ctcnn/ctcnn.hpp"
#include "ctcnn/train/optimizer.hpp"
#include "train_test_support.hpp"

namespace {

using nlohmann::json;
using ctcnn::train_test::require_all_close;

struct TinyModel {
  std::array<float, 16> params{};
  std::array<float, 16> grads{};
  std::span<float, 16> parameters() { return params; }
  std::span<float, 16> gradients() { return grads; }
};

struct DynamicModel {  // a run-time extent is not enough
  std::vector<float> p;
  std::span<float> parameters() { return p; }
  std::span<float> gradients() { return p; }
};
struct MismatchedModel {
  std::array<float, 4> p{};
  std::array<float, 3> g{};
  std::span<float, 4> parameters() { return p; }
  std::span<float, 3> gradients() { return g; }
};

using ctcnn::train_test::LeNet5;

// The golden tolerance: PyTorch's float32 arithmetic against ours.
constexpr double golden_abs = 1e-6, golden_rel = 1e-5;
constexpr std::size_t steps = 5;

// The configurations generate.py writes; each must be in the file and be run.
const std::set<std::string> expected_configs = {
    "sgd",     "sgd_momentum", "sgd_dampening", "sgd_nesterov", "sgd_wd",   "adam",
    "adam_betas", "adam_wd",   "adam_amsgrad",  "adamw",        "adamw_wd", "adamw_amsgrad"};

struct Golden {
  ctcnn::io::SafetensorsFile file = ctcnn::train_test::golden("optimizers");
  std::vector<float> p0 = file.to_f32("p0", {16});
  std::vector<float> g = file.to_f32("g", {steps, 16});

  // name -> hyper-parameters, for every metadata entry that describes an optimizer.
  std::map<std::string, json> configs() const {
    std::map<std::string, json> out;
    for (const auto& [key, value] : file.metadata()) {
      const json j = json::parse(value, nullptr, /*allow_exceptions=*/false);
      if (j.is_object() && j.contains("optimizer")) out.emplace(key, j);
    }
    return out;
  }
};

ctcnn::SGDOptions sgd_options(const json& j) {
  return {.lr = j.at("lr").get<float>(),
          .momentum = j.at("momentum").get<float>(),
          .dampening = j.at("dampening").get<float>(),
          .weight_decay = j.at("weight_decay").get<float>(),
          .nesterov = j.at("nesterov").get<bool>()};
}
template <class Options>
Options adam_options(const json& j) {
  REQUIRE(j.at("betas").size() == 2);
  return {.lr = j.at("lr").get<float>(),
          .beta1 = j.at("betas")[0].get<float>(),
          .beta2 = j.at("betas")[1].get<float>(),
          .eps = j.at("eps").get<float>(),
          .weight_decay = j.at("weight_decay").get<float>(),
          .amsgrad = j.at("amsgrad").get<bool>()};
}

// Builds the optimizer a configuration names, on `model`, and hands it to f.
template <class F>
void with_optimizer(const json& j, TinyModel& model, F&& f) {
  const std::string kind = j.at("optimizer").get<std::string>();
  if (kind == "SGD") {
    ctcnn::SGD opt(model, sgd_options(j));
    f(opt);
  } else if (kind == "Adam") {
    ctcnn::Adam opt(model, adam_options<ctcnn::AdamOptions>(j));
    f(opt);
  } else if (kind == "AdamW") {
    ctcnn::AdamW opt(model, adam_options<ctcnn::AdamWOptions>(j));
    f(opt);
  } else {
    FAIL("unknown optimizer in the golden file: " << kind);
  }
}

// p.grad = g[t]; opt.step() for t in [first, last).
template <class Opt>
void run_steps(Opt& opt, TinyModel& model, const std::vector<float>& g, std::size_t first,
               std::size_t last, std::vector<std::vector<float>>* rows = nullptr) {
  for (std::size_t t = first; t < last; ++t) {
    opt.zero_grad();
    for (std::size_t i = 0; i < 16; ++i) model.grads[i] += g[t * 16 + i];
    opt.step();
    if (rows) rows->emplace_back(model.params.begin(), model.params.end());
  }
}

std::map<std::string, std::vector<float>> save_state(auto& opt) {
  std::map<std::string, std::vector<float>> state;
  opt.for_each_state([&](std::string_view name, std::span<float> values) {
    state.emplace(std::string(name), std::vector<float>(values.begin(), values.end()));
  });
  return state;
}

}  // namespace

TEST_CASE("Optimizer concepts", "[optimizer]") {
  STATIC_REQUIRE(ctcnn::Trainable<TinyModel>);
  STATIC_REQUIRE(ctcnn::Trainable<LeNet5>);
  STATIC_REQUIRE_FALSE(ctcnn::Trainable<DynamicModel>);
  STATIC_REQUIRE_FALSE(ctcnn::Trainable<MismatchedModel>);
  STATIC_REQUIRE_FALSE(ctcnn::Trainable<int>);
  STATIC_REQUIRE(ctcnn::parameter_count_of<LeNet5> == 61'706);
  STATIC_REQUIRE(ctcnn::Optimizer<ctcnn::SGD<TinyModel>>);
  STATIC_REQUIRE(ctcnn::Optimizer<ctcnn::Adam<LeNet5>>);
  STATIC_REQUIRE(ctcnn::Optimizer<ctcnn::AdamW<TinyModel>>);
  STATIC_REQUIRE_FALSE(ctcnn::Optimizer<TinyModel>);
  // State is part of the object: nothing on the heap.
  STATIC_REQUIRE(sizeof(ctcnn::Adam<LeNet5>) >= 3 * 61'706 * sizeof(float));
}

TEST_CASE("Optimizers match PyTorch 1.13 step by step", "[optimizer][golden]") {
  const Golden golden;
  const auto configs = golden.configs();
  std::set<std::string> names;
  for (const auto& [name, hp] : configs) names.insert(name);
  REQUIRE(names == expected_configs);

  for (const auto& [name, hp] : configs) {
    DYNAMIC_SECTION(name << " " << hp.dump()) {
      const auto expected = golden.file.to_f32(name + ".p", {steps, 16});
      TinyModel model;
      std::copy(golden.p0.begin(), golden.p0.end(), model.params.begin());
      with_optimizer(hp, model, [&](auto& opt) {
        std::vector<std::vector<float>> rows;
        run_steps(opt, model, golden.g, 0, steps, &rows);
        CHECK(opt.step_count() == steps);
        for (std::size_t t = 0; t < steps; ++t) {
          INFO("after step " << t + 1);
          require_all_close(rows[t], expected.data() + t * 16, 16, golden_abs, golden_rel);
        }
      });
    }
  }
}

TEST_CASE("Optimizer state round-trips through for_each_state and set_step_count",
          "[optimizer][golden][checkpoint]") {
  const Golden golden;
  for (const auto& [name, hp] : golden.configs()) {
    DYNAMIC_SECTION(name) {
      const auto expected = golden.file.to_f32(name + ".p", {steps, 16});
      TinyModel straight;
      std::copy(golden.p0.begin(), golden.p0.end(), straight.params.begin());
      with_optimizer(hp, straight, [&](auto& opt) { run_steps(opt, straight, golden.g, 0, steps); });

      // Two steps; the state leaves; a new optimizer takes it and does the other three.
      TinyModel model;
      std::copy(golden.p0.begin(), golden.p0.end(), model.params.begin());
      std::map<std::string, std::vector<float>> state;
      std::size_t step_count = 0;
      with_optimizer(hp, model, [&](auto& opt) {
        run_steps(opt, model, golden.g, 0, 2);
        state = save_state(opt);
        step_count = opt.step_count();
      });
      CHECK(step_count == 2);
      with_optimizer(hp, model, [&](auto& opt) {
        std::size_t restored = 0;
        opt.for_each_state([&](std::string_view buffer, std::span<float> values) {
          const auto& saved = state.at(std::string(buffer));
          REQUIRE(saved.size() == values.size());
          std::copy(saved.begin(), saved.end(), values.begin());
          ++restored;
        });
        CHECK(restored == state.size());
        opt.set_step_count(step_count);
        run_steps(opt, model, golden.g, 2, steps);
      });
      // Bit for bit the uninterrupted run, and PyTorch's fifth row.
      CHECK(model.params == straight.params);
      require_all_close(model.params, expected.data() + 4 * 16, 16, golden_abs, golden_rel);
    }
  }
}

TEST_CASE("for_each_state names the buffers PyTorch keeps", "[optimizer][checkpoint]") {
  TinyModel model;
  const auto names = [](auto& opt) {
    std::vector<std::string> out;
    opt.for_each_state([&](std::string_view name, std::span<float> values) {
      CHECK(values.size() == 16);
      out.emplace_back(name);
    });
    return out;
  };
  ctcnn::SGD plain(model);
  CHECK(names(plain).empty());
  ctcnn::SGD momentum(model, {.momentum = 0.9f});
  CHECK(names(momentum) == std::vector<std::string>{"momentum_buffer"});
  ctcnn::Adam adam(model);
  CHECK(names(adam) == std::vector<std::string>{"exp_avg", "exp_avg_sq"});
  ctcnn::AdamW amsgrad(model, {.amsgrad = true});
  CHECK(names(amsgrad) == std::vector<std::string>{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"});

  const auto& const_adam = adam;  // read-only view for writers
  std::size_t buffers = 0;
  const_adam.for_each_state([&](std::string_view, std::span<const float>) { ++buffers; });
  CHECK(buffers == 2);
}

TEST_CASE("Optimizer options are checked as PyTorch checks them", "[optimizer][error]") {
  TinyModel m;
  using ctcnn::SGD, ctcnn::Adam, ctcnn::AdamW;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_AS(SGD(m, {.lr = -0.1f}), std::invalid_argument);
  CHECK_THROWS_AS(SGD(m, {.lr = nan}), std::invalid_argument);
  CHECK_THROWS_AS(SGD(m, {.momentum = -0.5f}), std::invalid_argument);
  CHECK_THROWS_AS(SGD(m, {.weight_decay = -1e-4f}), std::invalid_argument);
  CHECK_THROWS_AS(SGD(m, {.nesterov = true}), std::invalid_argument);  // momentum 0
  CHECK_THROWS_AS(SGD(m, {.momentum = 0.9f, .dampening = 0.1f, .nesterov = true}),
                  std::invalid_argument);
  CHECK_NOTHROW(SGD(m, {.momentum = 0.9f, .nesterov = true}));
  CHECK_THROWS_AS(Adam(m, {.beta1 = 1.0f}), std::invalid_argument);
  CHECK_THROWS_AS(Adam(m, {.beta2 = -0.1f}), std::invalid_argument);
  CHECK_THROWS_AS(Adam(m, {.eps = -1e-8f}), std::invalid_argument);
  CHECK_THROWS_AS(AdamW(m, {.weight_decay = -0.01f}), std::invalid_argument);
  CHECK_THROWS_WITH(Adam(m, {.lr = -1.0f}),
                    Catch::Matchers::StartsWith("ctcnn::Adam: invalid learning rate: -1"));
  Adam ok(m);
  CHECK_THROWS_AS(ok.set_lr(-1.0f), std::invalid_argument);
  CHECK(ok.lr() == 1e-3f);
}

TEST_CASE("zero_grad, lr, set_lr and step_count", "[optimizer]") {
  TinyModel m;
  for (std::size_t i = 0; i < 16; ++i) {
    m.params[i] = static_cast<float>(i);
    m.grads[i] = 0.5f;
  }
  ctcnn::SGD opt(m, {.lr = 0.25f});
  CHECK(opt.lr() == 0.25f);
  CHECK(opt.step_count() == 0);
  opt.step();  // p -= 0.25 * 0.5, exact in binary
  CHECK(opt.step_count() == 1);
  for (std::size_t i = 0; i < 16; ++i) CHECK(m.params[i] == static_cast<float>(i) - 0.125f);
  opt.set_lr(1.0f);
  CHECK(opt.lr() == 1.0f);
  opt.step();
  for (std::size_t i = 0; i < 16; ++i) CHECK(m.params[i] == static_cast<float>(i) - 0.625f);
  opt.zero_grad();
  for (const float g : m.grads) CHECK(g == 0.0f);
  opt.set_step_count(40);
  CHECK(opt.step_count() == 40);
}

TEST_CASE("Optimizers step a whole network", "[optimizer]") {
  auto net = std::make_unique<LeNet5>();
  auto params = net->parameters();
  auto grads = net->gradients();
  for (std::size_t i = 0; i < params.size(); ++i) {
    params[i] = 0.01f * static_cast<float>(i % 97);
    grads[i] = (i % 3 == 0 ? -1.0f : 1.0f) * 0.001f * static_cast<float>(1 + i % 13);
  }
  const std::vector<float> p0(params.begin(), params.end());

  SECTION("SGD: p - lr * g") {
    ctcnn::SGD opt(*net, {.lr = 0.1f});
    opt.step();
    for (std::size_t i = 0; i < params.size(); ++i)
      REQUIRE(params[i] == Approx(p0[i] - 0.1f * grads[i]).margin(1e-7));
  }
  SECTION("Adam: the first step moves every parameter by lr against its gradient's sign") {
    // m / sqrt(v) after bias correction is g / |g| on step 1 (up to eps).
    auto opt = std::make_unique<ctcnn::Adam<LeNet5>>(*net, ctcnn::AdamOptions{.lr = 1e-2f});
    opt->step();
    for (std::size_t i = 0; i < params.size(); ++i) {
      const float expected = p0[i] - (grads[i] > 0 ? 1e-2f : -1e-2f);
      REQUIRE(params[i] == Approx(expected).margin(1e-6));
    }
  }
}

// A parameter whose gradient stays 0 sees its moments decay by beta^t; from about
// step 800 on (0.9^t from 1e-4) exact arithmetic would keep them as denormals,
// each operation on which is a microcode assist. The updates flush them to 0
// instead, and leave the caller's floating-point mode as it was.
TEST_CASE("Optimizer state decays to zero instead of into denormals", "[optimizer]") {
  const auto has_denormal = [](std::span<const float> values) {
    for (const float v : values)
      if (std::fpclassify(v) == FP_SUBNORMAL) return true;
    return false;
  };
  const auto run = [&](auto& opt, TinyModel& model, auto state_name) {
    opt.zero_grad();
    model.grads.fill(1e-3f);
    opt.step();
    std::size_t steps_with_denormals = 0;
    float last_nonzero = 1.0f;
    for (int t = 0; t < 1000; ++t) {
      opt.zero_grad();
      opt.step();
      opt.for_each_state([&](std::string_view name, std::span<float> values) {
        if (name != state_name) return;
        if (has_denormal(values)) ++steps_with_denormals;
        if (values[0] != 0.0f) last_nonzero = values[0];
      });
    }
    CHECK(steps_with_denormals == 0);
    CHECK(std::fpclassify(last_nonzero) == FP_NORMAL);
    CHECK(last_nonzero < 1e-36f);  // it did decay all the way down before vanishing
    CHECK_FALSE(has_denormal(model.params));
  };
#if defined(__SSE__)
  constexpr unsigned mode_bits = ~0x3Fu;  // all but the exception flags
  const unsigned caller_mode = _mm_getcsr() & mode_bits;
#endif
  SECTION("Adam's first moment") {
    TinyModel model;
    model.params.fill(0.5f);
    auto opt = std::make_unique<ctcnn::Adam<TinyModel>>(model);
    run(*opt, model, std::string_view("exp_avg"));
  }
  SECTION("SGD's momentum buffer") {
    TinyModel model;
    model.params.fill(0.5f);
    ctcnn::SGD opt(model, {.lr = 0.01f, .momentum = 0.9f});
    run(opt, model, std::string_view("momentum_buffer"));
  }
#if defined(__SSE__)
  CHECK((_mm_getcsr() & mode_bits) == caller_mode);
#endif
}
