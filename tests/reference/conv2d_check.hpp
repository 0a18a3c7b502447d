// tests/reference/conv2d_check.hpp
// The checks every Conv2d test configuration goes through, shared by the conv
// test files (split so each translation unit stays quick to compile).
//
// A case pairs a library spec with the reference's own description of the same
// convolution (ref::ConvSpec, paddings spelled out per side): the library never
// supplies the numbers the reference uses.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "ctcnn/layers/conv2d.hpp"
#include "reference/check.hpp"
#include "reference/conv2d.hpp"

namespace conv_test {

template <class Spec, ref::ConvSpec S>
struct Case {
  using spec = Spec;
  using layer = typename Spec::template bind<ctcnn::Shape<S.in_c, S.in_h, S.in_w>>;
  static constexpr ref::ConvSpec ref_spec = S;
};

inline std::string describe(const ref::ConvSpec& s) {
  static constexpr const char* modes[] = {"zeros", "reflect", "replicate", "circular"};
  return "in (" + std::to_string(s.in_c) + "," + std::to_string(s.in_h) + "," +
         std::to_string(s.in_w) + ") out_c " + std::to_string(s.out_c) + " k " +
         std::to_string(s.kernel_h) + "x" + std::to_string(s.kernel_w) + " s " +
         std::to_string(s.stride_h) + "x" + std::to_string(s.stride_w) + " pad t/b/l/r " +
         std::to_string(s.pad_top) + "/" + std::to_string(s.pad_bottom) + "/" +
         std::to_string(s.pad_left) + "/" + std::to_string(s.pad_right) + " d " +
         std::to_string(s.dilation_h) + "x" + std::to_string(s.dilation_w) + " " +
         modes[static_cast<int>(s.mode)] + (s.bias ? "" : " no-bias");
}

// Every case states the reference's view of the same convolution, paddings per side.
constexpr ref::ConvSpec spec(std::size_t c, std::size_t h, std::size_t w, std::size_t o,
                        std::size_t kh, std::size_t kw) {
  ref::ConvSpec s{};
  s.in_c = c, s.in_h = h, s.in_w = w, s.out_c = o, s.kernel_h = kh, s.kernel_w = kw;
  return s;
}
constexpr ref::ConvSpec stride(ref::ConvSpec s, std::size_t sh, std::size_t sw) {
  s.stride_h = sh, s.stride_w = sw;
  return s;
}
constexpr ref::ConvSpec pad(ref::ConvSpec s, std::size_t top, std::size_t bottom, std::size_t left,
                       std::size_t right) {
  s.pad_top = top, s.pad_bottom = bottom, s.pad_left = left, s.pad_right = right;
  return s;
}
constexpr ref::ConvSpec dilate(ref::ConvSpec s, std::size_t dh, std::size_t dw) {
  s.dilation_h = dh, s.dilation_w = dw;
  return s;
}
constexpr ref::ConvSpec mode(ref::ConvSpec s, ref::PadMode m) {
  s.mode = m;
  return s;
}
constexpr ref::ConvSpec no_bias(ref::ConvSpec s) {
  s.bias = false;
  return s;
}

// Weights uniform in +-1/sqrt(fan_in) (PyTorch's default range) keep outputs O(1),
// so the relative tolerance means the same thing for every configuration.
inline std::vector<float> random_parameters(std::mt19937& rng, const ref::ConvSpec& s) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(s.in_c * s.kernel_h * s.kernel_w));
  std::vector<float> p = ref::uniform(rng, s.weight_size(), -bound, bound);
  if (s.bias) {
    const std::vector<float> b = ref::uniform(rng, s.out_c, -0.5f, 0.5f);
    p.insert(p.end(), b.begin(), b.end());
  }
  return p;
}

inline std::vector<float> weights_of(const std::vector<float>& p, const ref::ConvSpec& s) {
  return {p.begin(), p.begin() + static_cast<long>(s.weight_size())};
}
inline std::vector<float> bias_of(const std::vector<float>& p, const ref::ConvSpec& s) {
  return {p.begin() + static_cast<long>(s.weight_size()), p.end()};
}

// Forward vs the reference at batch 3, and batch vs one sample at a time.
inline void run_forward(const ref::LayerFns& l, const ref::ConvSpec& s, const std::string& name,
                        std::uint32_t seed) {
  INFO(name << " | reference: " << describe(s) << " | seed " << seed);
  std::mt19937 rng(seed);
  constexpr std::size_t batch = 3;
  const std::vector<float> x = ref::uniform(rng, batch * s.in_size());
  const std::vector<float> p = random_parameters(rng, s);
  ref::require_close(ref::forward(l, x, p, batch),
                     ref::conv2d_forward(s, x, weights_of(p, s), bias_of(p, s), batch),
                     ref::forward_tolerance, "y vs reference");
  ref::check_batch_consistency(l, x, p, batch);
}

// Backward vs the reference's analytic backward, then vs finite differences
// (plus accumulation and dx == nullptr), at batch 2.
inline void run_backward(const ref::LayerFns& l, const ref::ConvSpec& s, const std::string& name,
                         std::uint32_t seed) {
  INFO(name << " | reference: " << describe(s) << " | seed " << seed);
  std::mt19937 rng(seed);
  constexpr std::size_t batch = 2;
  const std::vector<float> x = ref::uniform(rng, batch * s.in_size());
  const std::vector<float> p = random_parameters(rng, s);
  const std::vector<float> dy = ref::uniform(rng, batch * s.out_size());
  const ref::Gradients g = ref::backward(l, x, p, dy, batch);
  ref::require_close(g.dx, ref::conv2d_backward_data(s, weights_of(p, s), dy, batch),
                     ref::forward_tolerance, "dx vs reference");
  ref::require_close(weights_of(g.dparams, s), ref::conv2d_backward_weight(s, x, dy, batch),
                     ref::forward_tolerance, "dweight vs reference");
  if (s.bias)
    ref::require_close(bias_of(g.dparams, s), ref::conv2d_backward_bias(s, dy, batch),
                       ref::forward_tolerance, "dbias vs reference");
  ref::check_gradients(l, x, p, batch, rng);
}

// What the library computes at compile time (shape, parameter count, MACs)
// equals the reference formula.
template <class C>
void check_static() {
  using L = typename C::layer;
  constexpr ref::ConvSpec S = C::ref_spec;
  STATIC_REQUIRE(C::spec::template accepts<ctcnn::Shape<S.in_c, S.in_h, S.in_w>> && L::ok);
  STATIC_REQUIRE(std::is_same_v<typename L::output_shape,
                                ctcnn::Shape<S.out_c, S.out_h(), S.out_w()>>);
  STATIC_REQUIRE(L::parameter_count == S.parameter_count() && L::has_bias == S.bias);
  STATIC_REQUIRE(L::macs == S.out_size() * S.in_c * S.kernel_h * S.kernel_w);
}

template <class C>
void check_forward(std::uint32_t seed) {
  check_static<C>();
  run_forward(ref::layer_fns<typename C::layer>(), C::ref_spec, C::layer::describe(), seed);
}
template <class C>
void check_backward(std::uint32_t seed) {
  check_static<C>();
  run_backward(ref::layer_fns<typename C::layer>(), C::ref_spec, C::layer::describe(), seed);
}

template <class... Cases>
void forward_all(std::uint32_t seed) {
  (check_forward<Cases>(seed++), ...);
}
template <class... Cases>
void backward_all(std::uint32_t seed) {
  (check_backward<Cases>(seed++), ...);
}

// A list of cases as a tuple type: forward(list<Cases>, seed).
template <class... Cases>
void forward(std::tuple<Cases...>*, std::uint32_t seed) {
  forward_all<Cases...>(seed);
}
template <class... Cases>
void backward(std::tuple<Cases...>*, std::uint32_t seed) {
  backward_all<Cases...>(seed);
}
template <class List>
constexpr List* list = nullptr;

// ---- random configurations, generated at compile time ------------------------------

constexpr std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A valid random configuration: small sizes, every option drawn, the input made
// just large enough for the kernel and the pad mode's rule (plus a random margin).
struct Random {
  ref::ConvSpec spec;
  bool same;  // padding given as Same (else Padding<pad_top, pad_left>)
};

constexpr Random random_case(std::uint64_t index) {
  std::uint64_t state = 0xC0FFEEull + 7919 * index;
  auto pick = [&state](std::size_t lo, std::size_t hi) {
    return lo + static_cast<std::size_t>(splitmix64(state) % (hi - lo + 1));
  };
  ref::ConvSpec s{};
  // Mostly small, sometimes many channels (the library may put output channels in
  // SIMD lanes, with a partial last vector) and long rows (several column vectors).
  constexpr std::size_t wide_out[] = {8, 16, 17, 20, 32, 33};
  s.in_c = pick(0, 3) == 0 ? pick(4, 8) : pick(1, 3);
  s.out_c = pick(0, 2) == 0 ? wide_out[pick(0, 5)] : pick(1, 4);
  s.kernel_h = pick(1, 4);
  s.kernel_w = pick(1, 4);
  s.dilation_h = pick(0, 3) == 0 ? pick(2, 3) : 1;
  s.dilation_w = pick(0, 3) == 0 ? pick(2, 3) : 1;
  s.mode = static_cast<ref::PadMode>(pick(0, 3));
  s.bias = pick(0, 3) != 0;
  const bool same = pick(0, 4) == 0;
  const bool unit_stride = pick(0, 1) == 0;  // the common case, and the one with fast paths
  if (same) {
    s.pad_top = ref::same_pad_before(s.kernel_h, s.dilation_h);
    s.pad_bottom = ref::same_pad_after(s.kernel_h, s.dilation_h);
    s.pad_left = ref::same_pad_before(s.kernel_w, s.dilation_w);
    s.pad_right = ref::same_pad_after(s.kernel_w, s.dilation_w);
  } else {
    s.stride_h = unit_stride ? 1 : pick(1, 3);
    s.stride_w = unit_stride ? 1 : pick(1, 3);
    s.pad_top = s.pad_bottom = pick(0, 2);
    s.pad_left = s.pad_right = pick(0, 2);
  }
  auto min_extent = [&](std::size_t kernel, std::size_t dil, std::size_t before, std::size_t after) {
    const std::size_t extent = dil * (kernel - 1) + 1;
    std::size_t n = extent > before + after ? extent - before - after : 1;
    const std::size_t pad = before > after ? before : after;
    if (s.mode == ref::PadMode::reflect && n <= pad) n = pad + 1;
    if (s.mode == ref::PadMode::circular && n < pad) n = pad;
    return n < 1 ? std::size_t{1} : n;
  };
  s.in_h = min_extent(s.kernel_h, s.dilation_h, s.pad_top, s.pad_bottom) + pick(0, 5);
  s.in_w = min_extent(s.kernel_w, s.dilation_w, s.pad_left, s.pad_right) +
           (pick(0, 3) == 0 ? pick(10, 30) : pick(0, 5));
  return {s, same};
}

template <ref::PadMode M>
using pad_mode_t = ctcnn::PadMode<std::tuple_element_t<
    static_cast<std::size_t>(M),
    std::tuple<ctcnn::Zeros, ctcnn::Reflect, ctcnn::Replicate, ctcnn::Circular>>>;

template <Random R>
struct random_spec {
  static constexpr ref::ConvSpec s = R.spec;
  using padding = std::conditional_t<R.same, ctcnn::Same, ctcnn::Padding<s.pad_top, s.pad_left>>;
  using with_bias = ctcnn::Conv2d<s.out_c, ctcnn::Kernel{s.kernel_h, s.kernel_w},
                                  ctcnn::Stride<s.stride_h, s.stride_w>, padding,
                                  ctcnn::Dilation<s.dilation_h, s.dilation_w>, pad_mode_t<s.mode>>;
  using without_bias =
      ctcnn::Conv2d<s.out_c, ctcnn::Kernel{s.kernel_h, s.kernel_w}, ctcnn::NoBias,
                    pad_mode_t<s.mode>, ctcnn::Dilation<s.dilation_h, s.dilation_w>, padding,
                    ctcnn::Stride<s.stride_h, s.stride_w>>;
  using type = std::conditional_t<s.bias, with_bias, without_bias>;
};

template <std::uint64_t I>
using RandomCase =
    Case<typename random_spec<random_case(I)>::type, random_case(I).spec>;

// Cases First .. First+Count-1 of the random sequence.
template <std::uint64_t First, std::uint64_t... I>
void random_forward(std::uint32_t seed, std::integer_sequence<std::uint64_t, I...>) {
  forward_all<RandomCase<First + I>...>(seed);
}
template <std::uint64_t First, std::uint64_t... I>
void random_backward(std::uint32_t seed, std::integer_sequence<std::uint64_t, I...>) {
  backward_all<RandomCase<First + I>...>(seed);
}

}  // namespace conv_test
