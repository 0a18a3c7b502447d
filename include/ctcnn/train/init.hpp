// ctcnn/train/init.hpp
// Parameter initialisers with torch.nn.init's formulas, seeded and reproducible.
//
// Per tensor (any std::span<float>, drawing from an Rng in element order):
//   init_uniform(t, lo, hi, rng)      U(lo, hi), as tensor.uniform_(lo, hi)
//   init_normal(t, mean, std, rng)    N(mean, std^2)
//   init_constant(t, v), init_zeros(t)
//   kaiming_uniform(t, fan, a, rng, nl)  U(-b, b),  b = gain(nl, a) * sqrt(3 / fan)
//   kaiming_normal(t, fan, a, rng, nl)   N(0, s^2), s = gain(nl, a) / sqrt(fan)
//   xavier_uniform(t, fan_in, fan_out, gain, rng)  U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out))
//   xavier_normal(t, fan_in, fan_out, gain, rng)   N(0, s^2), s = gain * sqrt(2 / (fan_in + fan_out))
// `fan` is fan_in or fan_out as the caller chooses (PyTorch's `mode`); fans_of()
// computes both from a PyTorch shape: for (Out, In, K...) fan_in = In * prod(K),
// fan_out = Out * prod(K); conv (O,I,KH,KW): I*KH*KW and O*KH*KW; linear (Out,In):
// In and Out. calculate_gain is torch.nn.init.calculate_gain.
//
// Whole networks (anything with for_each_parameter, e.g. every ctcnn network),
// one Rng for all tensors, drawn in layer order, weight before bias:
//   init_default(net, seed)          what PyTorch's Conv2d and Linear do when they
//                                    are built: weight kaiming_uniform with
//                                    a = sqrt(5), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
//                                    bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the
//                                    weight's fan_in.
//   init_parameters(net, w, b, seed) weight rule w (a WeightInit), bias rule b (a BiasInit).
// PyTorch compatibility: the uniform rules compute their bound in double exactly
// as torch.nn.init does and draw with Rng::uniform, which is tensor.uniform_ (see
// random.hpp). So init_default(net, s) gives, bit for bit, the parameters of the
// same network built in PyTorch after torch.manual_seed(s) (tested with LeNet-5),
// and so do the Kaiming-uniform, Xavier-uniform and Uniform rules. Normal rules
// have the right distribution but not PyTorch's values.
//
// Errors (std::invalid_argument): a weight of rank < 2 (no fan, as in PyTorch), a
// bias with no weight before it in its layer, a parameter named neither "weight"
// nor "bias", a fan of 0 for a rule that divides by it.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "ctcnn/core/layer.hpp"
#include "ctcnn/detail/format.hpp"
#include "ctcnn/train/random.hpp"

namespace ctcnn {

// torch.nn.init.calculate_gain's nonlinearities (conv covers conv1d/2d/3d and
// their transposes: all have gain 1).
enum class Nonlinearity { linear, conv, sigmoid, tanh, relu, leaky_relu, selu };
// Which fan Kaiming initialisation preserves the variance of.
enum class FanMode { fan_in, fan_out };

struct Fans {
  std::size_t fan_in;
  std::size_t fan_out;
};

// PyTorch's _calculate_fan_in_and_fan_out for a tensor of shape spec.dims.
inline Fans fans_of(const ParameterSpec& spec) {
  if (spec.rank < 2) {
    detail::throw_invalid_argument(
        "ctcnn: fans_of: parameter '%.*s' has rank %zu; fan_in and fan_out need at least 2 dimensions",
        static_cast<int>(spec.name.size()), spec.name.data(), spec.rank);
  }
  std::size_t receptive = 1;
  for (std::size_t i = 2; i < spec.rank; ++i) receptive *= spec.dims[i];
  return {spec.dims[1] * receptive, spec.dims[0] * receptive};
}

// negative_slope is used only by leaky_relu (PyTorch's default 0.01).
inline double calculate_gain(Nonlinearity nonlinearity, double negative_slope = 0.01) {
  switch (nonlinearity) {
    case Nonlinearity::linear:
    case Nonlinearity::conv:
    case Nonlinearity::sigmoid: return 1.0;
    case Nonlinearity::tanh: return 5.0 / 3;
    case Nonlinearity::relu: return std::sqrt(2.0);
    case Nonlinearity::leaky_relu: return std::sqrt(2.0 / (1 + negative_slope * negative_slope));
    case Nonlinearity::selu: return 3.0 / 4;
  }
  return 1.0;
}

namespace detail {
inline double checked_sqrt_fan(double fan, const char* rule) {
  if (!(fan > 0)) {
    throw_invalid_argument("ctcnn: %s: fan is 0; the rule divides by it", rule);
  }
  return std::sqrt(fan);
}
}  // namespace detail

// The bounds and standard deviations, in torch.nn.init's order of operations.
inline double kaiming_std(std::size_t fan, double a,
                          Nonlinearity nonlinearity = Nonlinearity::leaky_relu) {
  return calculate_gain(nonlinearity, a) /
         detail::checked_sqrt_fan(static_cast<double>(fan), "kaiming");
}
inline double kaiming_uniform_bound(std::size_t fan, double a,
                                    Nonlinearity nonlinearity = Nonlinearity::leaky_relu) {
  return std::sqrt(3.0) * kaiming_std(fan, a, nonlinearity);
}
inline double xavier_std(std::size_t fan_in, std::size_t fan_out, double gain = 1.0) {
  const double fans = static_cast<double>(fan_in + fan_out);
  detail::checked_sqrt_fan(fans, "xavier");
  return gain * std::sqrt(2.0 / fans);
}
inline double xavier_uniform_bound(std::size_t fan_in, std::size_t fan_out, double gain = 1.0) {
  return std::sqrt(3.0) * xavier_std(fan_in, fan_out, gain);
}
// The bias bound of PyTorch's Conv2d/Linear: 1/sqrt(fan_in), or 0 when fan_in is 0.
inline double default_bias_bound(std::size_t fan_in) {
  return fan_in > 0 ? 1 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
}

// ---- per tensor ----------------------------------------------------------------

// lo and hi are rounded to float first, as tensor.uniform_ does. Out of line: one
// copy of each drawing loop serves every rule.
[[gnu::cold, gnu::noinline]] inline void init_uniform(std::span<float> t, double lo, double hi, Rng& rng) {
  const auto l = static_cast<float>(lo), h = static_cast<float>(hi);
  for (float& v : t) v = rng.uniform(l, h);
}
[[gnu::cold, gnu::noinline]] inline void init_normal(std::span<float> t, double mean, double stddev, Rng& rng) {
  const auto m = static_cast<float>(mean), s = static_cast<float>(stddev);
  for (float& v : t) v = rng.normal(m, s);
}
inline void init_constant(std::span<float> t, float value) {
  for (float& v : t) v = value;
}
inline void init_zeros(std::span<float> t) { init_constant(t, 0.0f); }

inline void kaiming_uniform(std::span<float> t, std::size_t fan, double a, Rng& rng,
                            Nonlinearity nonlinearity = Nonlinearity::leaky_relu) {
  const double bound = kaiming_uniform_bound(fan, a, nonlinearity);
  init_uniform(t, -bound, bound, rng);
}
inline void kaiming_normal(std::span<float> t, std::size_t fan, double a, Rng& rng,
                           Nonlinearity nonlinearity = Nonlinearity::leaky_relu) {
  init_normal(t, 0.0, kaiming_std(fan, a, nonlinearity), rng);
}
inline void xavier_uniform(std::span<float> t, std::size_t fan_in, std::size_t fan_out,
                           double gain, Rng& rng) {
  const double bound = xavier_uniform_bound(fan_in, fan_out, gain);
  init_uniform(t, -bound, bound, rng);
}
inline void xavier_normal(std::span<float> t, std::size_t fan_in, std::size_t fan_out,
                          double gain, Rng& rng) {
  init_normal(t, 0.0, xavier_std(fan_in, fan_out, gain), rng);
}

// ---- rules for whole networks ------------------------------------------------------

// Descriptors, named after torch.nn.init's functions; defaults are PyTorch's.
namespace init {
// Weight: kaiming_uniform(a = sqrt(5)); bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
struct PyTorchDefault {};
struct KaimingUniform {
  double a = 0.0;
  FanMode mode = FanMode::fan_in;
  Nonlinearity nonlinearity = Nonlinearity::leaky_relu;
};
struct KaimingNormal {
  double a = 0.0;
  FanMode mode = FanMode::fan_in;
  Nonlinearity nonlinearity = Nonlinearity::leaky_relu;
};
struct XavierUniform {
  double gain = 1.0;
};
struct XavierNormal {
  double gain = 1.0;
};
struct Uniform {
  double lo = 0.0, hi = 1.0;
};
struct Normal {
  double mean = 0.0, std = 1.0;
};
struct Constant {
  float value = 0.0f;
};
struct Zeros {};
}  // namespace init

using WeightInit = std::variant<init::PyTorchDefault, init::KaimingUniform, init::KaimingNormal,
                                init::XavierUniform, init::XavierNormal, init::Uniform,
                                init::Normal, init::Constant, init::Zeros>;
// Fan-based rules need a rank-2 tensor, so a bias takes only these.
using BiasInit = std::variant<init::PyTorchDefault, init::Uniform, init::Normal, init::Constant,
                              init::Zeros>;

namespace detail {

// The switches below name the alternatives by index (std::get_if then checks each type).
static_assert(std::variant_size_v<WeightInit> == 9 && std::variant_size_v<BiasInit> == 5);
static_assert(std::is_same_v<std::variant_alternative_t<0, WeightInit>, init::PyTorchDefault> &&
              std::is_same_v<std::variant_alternative_t<8, WeightInit>, init::Zeros> &&
              std::is_same_v<std::variant_alternative_t<0, BiasInit>, init::PyTorchDefault> &&
              std::is_same_v<std::variant_alternative_t<4, BiasInit>, init::Zeros>);

// A switch over the alternative's index rather than std::visit: the visitor of
// std::visit is an ordinary (hot, -O3) function in which every rule's loop and
// the generator got inlined, 2,000 lines of optimised code per program for a
// call made once per tensor.
[[gnu::cold]] inline void apply_weight_init(const WeightInit& rule, std::span<float> t, Fans fans, Rng& rng) {
  const auto fan = [&](FanMode mode) { return mode == FanMode::fan_in ? fans.fan_in : fans.fan_out; };
  switch (rule.index()) {
    case 0: kaiming_uniform(t, fans.fan_in, std::sqrt(5.0), rng); break;
    case 1: {
      const auto& r = *std::get_if<init::KaimingUniform>(&rule);
      kaiming_uniform(t, fan(r.mode), r.a, rng, r.nonlinearity);
      break;
    }
    case 2: {
      const auto& r = *std::get_if<init::KaimingNormal>(&rule);
      kaiming_normal(t, fan(r.mode), r.a, rng, r.nonlinearity);
      break;
    }
    case 3: xavier_uniform(t, fans.fan_in, fans.fan_out, std::get_if<init::XavierUniform>(&rule)->gain, rng); break;
    case 4: xavier_normal(t, fans.fan_in, fans.fan_out, std::get_if<init::XavierNormal>(&rule)->gain, rng); break;
    case 5: {
      const auto& r = *std::get_if<init::Uniform>(&rule);
      init_uniform(t, r.lo, r.hi, rng);
      break;
    }
    case 6: {
      const auto& r = *std::get_if<init::Normal>(&rule);
      init_normal(t, r.mean, r.std, rng);
      break;
    }
    case 7: init_constant(t, std::get_if<init::Constant>(&rule)->value); break;
    default: init_zeros(t); break;  // init::Zeros
  }
}

[[gnu::cold]] inline void apply_bias_init(const BiasInit& rule, std::span<float> t, std::size_t fan_in,
                                          Rng& rng) {
  switch (rule.index()) {
    case 0: {
      const double bound = default_bias_bound(fan_in);
      init_uniform(t, -bound, bound, rng);
      break;
    }
    case 1: {
      const auto& r = *std::get_if<init::Uniform>(&rule);
      init_uniform(t, r.lo, r.hi, rng);
      break;
    }
    case 2: {
      const auto& r = *std::get_if<init::Normal>(&rule);
      init_normal(t, r.mean, r.std, rng);
      break;
    }
    case 3: init_constant(t, std::get_if<init::Constant>(&rule)->value); break;
    default: init_zeros(t); break;  // init::Zeros
  }
}

// One parameter tensor of init_parameters. A function, not the body of the
// lambda handed to for_each_parameter: a lambda's body is an ordinary (hot,
// -O3) function even inside a [[gnu::cold]] one.
struct init_walk {
  static constexpr std::size_t none = static_cast<std::size_t>(-1);
  std::size_t weight_layer = none;  // the layer whose weight was seen last, and its fan_in
  std::size_t fan_in = 0;
};

[[gnu::cold, gnu::noinline]] inline void init_parameter(init_walk& walk, std::size_t layer, const ParameterSpec& spec,
                                                        float* values, const WeightInit& weight,
                                                        const BiasInit& bias, Rng& rng) {
  const std::span<float> t(values, spec.size());
  if (spec.name == "weight") {
    const Fans fans = fans_of(spec);
    apply_weight_init(weight, t, fans, rng);
    walk.weight_layer = layer;
    walk.fan_in = fans.fan_in;
  } else if (spec.name == "bias") {
    if (walk.weight_layer != layer) {
      throw_invalid_argument("ctcnn: init_parameters: the bias of layer %zu has no weight before it", layer);
    }
    apply_bias_init(bias, t, walk.fan_in, rng);
  } else {
    throw_invalid_argument("ctcnn: init_parameters: no rule for parameter '%.*s' of layer %zu",
                           static_cast<int>(spec.name.size()), spec.name.data(), layer);
  }
}

}  // namespace detail

// Every parameter of net, in layer order, from rng (which advances).
template <class Net>
[[gnu::cold]] void init_parameters(Net& net, const WeightInit& weight, const BiasInit& bias, Rng& rng) {
  detail::init_walk walk;
  net.for_each_parameter([&](std::size_t layer, const ParameterSpec& spec, float* values, float* /*grads*/) {
    detail::init_parameter(walk, layer, spec, values, weight, bias, rng);
  });
}

template <class Net>
[[gnu::cold]] void init_parameters(Net& net, const WeightInit& weight, const BiasInit& bias,
                                   std::uint64_t seed) {
  Rng rng(seed);
  init_parameters(net, weight, bias, rng);
}

// PyTorch's default initialisation of every layer; see the header comment.
template <class Net>
[[gnu::cold]] void init_default(Net& net, std::uint64_t seed) {
  init_parameters(net, init::PyTorchDefault{}, init::PyTorchDefault{}, seed);
}

}  // namespace ctcnn
