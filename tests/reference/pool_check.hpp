// tests/reference/pool_check.hpp
// The checks every MaxPool2d / AvgPool2d test configuration goes through. As for
// convolutions, a case pairs a library spec with the reference's own description
// (ref::PoolSpec); the library supplies none of the reference's numbers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "ctcnn/layers/pool.hpp"
#include "reference/check.hpp"
#include "reference/pool.hpp"

namespace pool_test {

template <class Spec, ref::PoolSpec S>
struct Case {
  using spec = Spec;
  using layer = typename Spec::template bind<ctcnn::Shape<S.channels, S.in_h, S.in_w>>;
  static constexpr ref::PoolSpec ref_spec = S;
};

inline std::string describe(const ref::PoolSpec& s) {
  return "in (" + std::to_string(s.channels) + "," + std::to_string(s.in_h) + "," +
         std::to_string(s.in_w) + ") k " + std::to_string(s.kernel_h) + "x" +
         std::to_string(s.kernel_w) + " s " + std::to_string(s.stride_h) + "x" +
         std::to_string(s.stride_w) + " p " + std::to_string(s.pad_h) + "x" +
         std::to_string(s.pad_w) + " d " + std::to_string(s.dilation_h) + "x" +
         std::to_string(s.dilation_w) + (s.ceil_mode ? " ceil" : "") +
         (s.count_include_pad ? "" : " exclude-pad");
}

// Max pooling is checked on inputs whose values are at least 0.0375 apart, so the
// window maxima are unambiguous and a finite-difference step (1e-2) cannot change
// them; once centred on 0 and once all negative (padding must never win).
inline void run_forward(const ref::LayerFns& l, const ref::PoolSpec& s, bool max,
                        const std::string& name, std::uint32_t seed) {
  INFO(name << " | reference: " << describe(s) << " | seed " << seed);
  std::mt19937 rng(seed);
  constexpr std::size_t batch = 3;
  const std::vector<float> none;
  std::vector<float> x = max ? ref::distinct(rng, batch * s.in_size()) : ref::uniform(rng, batch * s.in_size());
  ref::require_close(ref::forward(l, x, none, batch),
                     max ? ref::max_pool_forward(s, x, batch) : ref::avg_pool_forward(s, x, batch),
                     ref::forward_tolerance, "y vs reference");
  ref::check_batch_consistency(l, x, none, batch);
  for (float& v : x) v -= 100.0f;
  ref::require_close(ref::forward(l, x, none, batch),
                     max ? ref::max_pool_forward(s, x, batch) : ref::avg_pool_forward(s, x, batch),
                     ref::forward_tolerance, "y vs reference, all inputs negative");
}

inline void run_backward(const ref::LayerFns& l, const ref::PoolSpec& s, bool max,
                         const std::string& name, std::uint32_t seed) {
  INFO(name << " | reference: " << describe(s) << " | seed " << seed);
  std::mt19937 rng(seed);
  constexpr std::size_t batch = 2;
  const std::vector<float> none;
  const std::vector<float> x =
      max ? ref::distinct(rng, batch * s.in_size()) : ref::uniform(rng, batch * s.in_size());
  const std::vector<float> dy = ref::uniform(rng, batch * s.out_size());
  ref::require_close(ref::backward(l, x, none, dy, batch).dx,
                     max ? ref::max_pool_backward(s, x, dy, batch) : ref::avg_pool_backward(s, dy, batch),
                     ref::forward_tolerance, "dx vs reference");
  ref::check_gradients(l, x, none, batch, rng);
}

// The library's compile-time output shape equals the reference formula.
template <class C>
void check_static() {
  using L = typename C::layer;
  constexpr ref::PoolSpec S = C::ref_spec;
  STATIC_REQUIRE(C::spec::template accepts<ctcnn::Shape<S.channels, S.in_h, S.in_w>> && L::ok);
  STATIC_REQUIRE(std::is_same_v<typename L::output_shape,
                                ctcnn::Shape<S.channels, S.out_h(), S.out_w()>>);
  STATIC_REQUIRE(L::parameter_count == 0);
}

template <class C, bool Max>
void check_forward(std::uint32_t seed) {
  check_static<C>();
  run_forward(ref::layer_fns<typename C::layer>(), C::ref_spec, Max, C::layer::describe(), seed);
}
template <class C, bool Max>
void check_backward(std::uint32_t seed) {
  check_static<C>();
  run_backward(ref::layer_fns<typename C::layer>(), C::ref_spec, Max, C::layer::describe(), seed);
}

template <bool Max, class... Cases>
void forward_all(std::tuple<Cases...>*, std::uint32_t seed) {
  (check_forward<Cases, Max>(seed++), ...);
}
template <bool Max, class... Cases>
void backward_all(std::tuple<Cases...>*, std::uint32_t seed) {
  (check_backward<Cases, Max>(seed++), ...);
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

// A valid random pooling: padding at most kernel/2 (PyTorch's rule), dilation for
// max pooling only, the input just large enough plus a random margin.
constexpr ref::PoolSpec random_case(std::uint64_t index, bool max) {
  std::uint64_t state = 0xBADC0DEull + 104729 * index + (max ? 1 : 0);
  auto pick = [&state](std::size_t lo, std::size_t hi) {
    return lo + static_cast<std::size_t>(splitmix64(state) % (hi - lo + 1));
  };
  ref::PoolSpec s{};
  s.channels = pick(1, 3);
  s.kernel_h = pick(1, 4);
  s.kernel_w = pick(1, 4);
  s.stride_h = pick(0, 2) == 0 ? pick(1, 4) : s.kernel_h;  // default stride = kernel
  s.stride_w = pick(0, 2) == 0 ? pick(1, 4) : s.kernel_w;
  s.pad_h = pick(0, s.kernel_h / 2);
  s.pad_w = pick(0, s.kernel_w / 2);
  if (max) {
    s.dilation_h = pick(0, 3) == 0 ? 2 : 1;
    s.dilation_w = pick(0, 3) == 0 ? pick(2, 3) : 1;
  }
  s.ceil_mode = pick(0, 1) == 1;
  s.count_include_pad = max || pick(0, 1) == 1;
  auto min_extent = [](std::size_t kernel, std::size_t dil, std::size_t pad) {
    const std::size_t extent = dil * (kernel - 1) + 1;
    return extent > 2 * pad + 1 ? extent - 2 * pad : std::size_t{1};
  };
  s.in_h = min_extent(s.kernel_h, s.dilation_h, s.pad_h) + pick(0, 6);
  s.in_w = min_extent(s.kernel_w, s.dilation_w, s.pad_w) + pick(0, 6);
  return s;
}

// The library spec of a random case; options in a different order for max and avg.
template <ref::PoolSpec S, bool Max>
struct random_spec;
template <ref::PoolSpec S>
struct random_spec<S, true> {
  using with_stride = ctcnn::MaxPool2d<ctcnn::Kernel{S.kernel_h, S.kernel_w},
                                       ctcnn::Padding<S.pad_h, S.pad_w>,
                                       ctcnn::Dilation<S.dilation_h, S.dilation_w>,
                                       ctcnn::Stride<S.stride_h, S.stride_w>>;
  using with_ceil = ctcnn::MaxPool2d<ctcnn::Kernel{S.kernel_h, S.kernel_w}, ctcnn::CeilMode,
                                     ctcnn::Stride<S.stride_h, S.stride_w>,
                                     ctcnn::Padding<S.pad_h, S.pad_w>,
                                     ctcnn::Dilation<S.dilation_h, S.dilation_w>>;
  using type = std::conditional_t<S.ceil_mode, with_ceil, with_stride>;
};
template <ref::PoolSpec S>
struct random_spec<S, false> {
  using count = std::conditional_t<S.count_include_pad, ctcnn::IncludePad, ctcnn::ExcludePad>;
  using floor_mode = ctcnn::AvgPool2d<ctcnn::Kernel{S.kernel_h, S.kernel_w},
                                      ctcnn::Stride<S.stride_h, S.stride_w>, count,
                                      ctcnn::Padding<S.pad_h, S.pad_w>>;
  using ceil_mode = ctcnn::AvgPool2d<ctcnn::Kernel{S.kernel_h, S.kernel_w}, count,
                                     ctcnn::Padding<S.pad_h, S.pad_w>, ctcnn::CeilMode,
                                     ctcnn::Stride<S.stride_h, S.stride_w>>;
  using type = std::conditional_t<S.ceil_mode, ceil_mode, floor_mode>;
};

template <std::uint64_t I, bool Max>
using RandomCase = Case<typename random_spec<random_case(I, Max), Max>::type, random_case(I, Max)>;

template <bool Max, std::uint64_t... I>
void random_forward(std::uint32_t seed, std::integer_sequence<std::uint64_t, I...>) {
  (check_forward<RandomCase<I, Max>, Max>(seed + static_cast<std::uint32_t>(I)), ...);
}
template <bool Max, std::uint64_t... I>
void random_backward(std::uint32_t seed, std::integer_sequence<std::uint64_t, I...>) {
  (check_backward<RandomCase<I, Max>, Max>(seed + static_cast<std::uint32_t>(I)), ...);
}

}  // namespace pool_test
