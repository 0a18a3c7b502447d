// tests/reference/check.hpp
// What the layer tests share: random data with fixed seeds, element-wise
// comparison with a stated tolerance, calling a bound layer on std::vectors, and
// the finite-difference gradient check every layer's backward goes through.
//
// Tolerances (used by every layer test):
//   forward and analytic backward vs. the reference loops:
//       |actual - expected| <= 1e-5 * max(1, |expected|)
//   backward vs. central finite differences (loss L = sum(y * r), r fixed random,
//   L summed in double from the layer's float outputs, step h = 1e-2):
//       |analytic - numeric| <= 2e-3 * max(1, |numeric|)
//   on every element of dx and of the parameter gradient, or on 160 of them drawn
//   at random for larger tensors (which the reference comparison covers in full).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace ref {

inline constexpr double forward_tolerance = 1e-5;
inline constexpr double fd_step = 1e-2;
inline constexpr double fd_tolerance = 2e-3;
inline constexpr std::size_t fd_max_elements = 160;

// ---- random data ----------------------------------------------------------------

inline std::vector<float> uniform(std::mt19937& rng, std::size_t n, float lo = -1.0f,
                                  float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& e : v) e = dist(rng);
  return v;
}

// Values at least `gap` apart (a shuffled ramp plus jitter below gap/4), so no
// max-pool window has a near-tie that a finite-difference step could flip.
inline std::vector<float> distinct(std::mt19937& rng, std::size_t n, float gap = 0.05f) {
  std::vector<float> v(n);
  std::uniform_real_distribution<float> jitter(0.0f, gap / 4);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = (static_cast<float>(i) - static_cast<float>(n) / 2) * gap + jitter(rng);
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

// Uniform in [-hi, -margin] or [margin, hi]: keeps finite differences off the kinks
// of ReLU and LeakyReLU at 0.
inline std::vector<float> away_from_zero(std::mt19937& rng, std::size_t n, float margin = 0.05f,
                                         float hi = 2.0f) {
  std::uniform_real_distribution<float> mag(margin, hi);
  std::bernoulli_distribution sign(0.5);
  std::vector<float> v(n);
  for (auto& e : v) e = sign(rng) ? mag(rng) : -mag(rng);
  return v;
}

// ---- comparison -----------------------------------------------------------------

// One REQUIRE per tensor (not per element): reports how many elements fail and
// the worst one with its index.
inline void require_close(const std::vector<float>& actual, const std::vector<float>& expected,
                          double tolerance, const std::string& what) {
  REQUIRE(actual.size() == expected.size());
  std::size_t failures = 0, worst = 0;
  double worst_ratio = -1.0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    const double bound = tolerance * std::max(1.0, std::abs(e));
    const double err = std::abs(a - e);
    const double ratio = std::isnan(err) ? std::numeric_limits<double>::infinity() : err / bound;
    if (!(err <= bound) && !(a == e)) ++failures;  // a == e: equal infinities
    if (ratio > worst_ratio && !(a == e)) {
      worst_ratio = ratio;
      worst = i;
    }
  }
  std::ostringstream os;
  os.precision(9);
  os << what << ": " << failures << " of " << actual.size() << " elements outside "
     << tolerance << " * max(1, |expected|)";
  if (worst_ratio >= 0)
    os << "; worst at [" << worst << "]: actual " << actual[worst] << ", expected "
       << expected[worst] << " (" << worst_ratio << " x the bound)";
  INFO(os.str());
  REQUIRE(failures == 0);
}

// ---- a bound layer on std::vectors ------------------------------------------------

// A bound layer reduced to its sizes and entry points, so the checks below are
// compiled once per file rather than once per configuration (compile time).
struct LayerFns {
  std::size_t in_size, out_size, parameter_count;
  void (*forward)(const float* x, float* y, const float* params, std::size_t batch);
  void (*backward)(const float* x, const float* y, const float* dy, float* dx,
                   const float* params, float* dparams, std::size_t batch);
};

template <class L>
constexpr LayerFns layer_fns() {
  return {L::input_shape::size, L::output_shape::size, L::parameter_count, &L::forward,
          &L::backward};
}

// y is filled with NaN first, so an output the layer never writes shows up.
inline std::vector<float> forward(const LayerFns& l, const std::vector<float>& x,
                                  const std::vector<float>& params, std::size_t batch) {
  REQUIRE(x.size() == batch * l.in_size);
  REQUIRE(params.size() == l.parameter_count);
  std::vector<float> y(batch * l.out_size, std::numeric_limits<float>::quiet_NaN());
  l.forward(x.data(), y.data(), params.data(), batch);
  return y;
}

struct Gradients {
  std::vector<float> dx, dparams;
};

// dx is filled with NaN first (backward must overwrite it, as Sequential reuses
// its gradient buffers); dparams starts from dparams_init (accumulated into).
// With want_dx == false the layer gets dx == nullptr and dx comes back empty.
inline Gradients backward(const LayerFns& l, const std::vector<float>& x,
                          const std::vector<float>& params, const std::vector<float>& dy,
                          std::size_t batch, bool want_dx = true,
                          std::vector<float> dparams_init = {}) {
  const std::vector<float> y = forward(l, x, params, batch);
  REQUIRE(dy.size() == y.size());
  Gradients g;
  if (want_dx) g.dx.assign(batch * l.in_size, std::numeric_limits<float>::quiet_NaN());
  g.dparams = dparams_init.empty() ? std::vector<float>(l.parameter_count, 0.0f) : dparams_init;
  REQUIRE(g.dparams.size() == l.parameter_count);
  float no_parameters = 0.0f;  // a valid pointer for layers that have none
  l.backward(x.data(), y.data(), dy.data(), want_dx ? g.dx.data() : nullptr, params.data(),
             l.parameter_count ? g.dparams.data() : &no_parameters, batch);
  return g;
}

// L = sum(y * r) in double from the layer's float outputs.
inline double loss(const LayerFns& l, const std::vector<float>& x, const std::vector<float>& params,
                   const std::vector<float>& r, std::size_t batch) {
  std::vector<float> y(batch * l.out_size);
  l.forward(x.data(), y.data(), params.data(), batch);
  double sum = 0.0;
  for (std::size_t i = 0; i < y.size(); ++i) sum += static_cast<double>(y[i]) * r[i];
  return sum;
}

// Central differences of L = sum(y * r) with respect to the elements `indices`
// of x (when `wrt_input`) or of the parameters. The step actually taken is the
// float-rounded one, so the quotient divides by the true difference of the inputs.
inline std::vector<float> numeric_gradient(const LayerFns& l, std::vector<float> x,
                                           std::vector<float> params, const std::vector<float>& r,
                                           std::size_t batch, bool wrt_input,
                                           const std::vector<std::size_t>& indices, double step) {
  std::vector<float>& v = wrt_input ? x : params;
  std::vector<float> g;
  for (const std::size_t i : indices) {
    const float saved = v[i];
    const float plus = static_cast<float>(saved + step);
    const float minus = static_cast<float>(saved - step);
    v[i] = plus;
    const double l_plus = loss(l, x, params, r, batch);
    v[i] = minus;
    const double l_minus = loss(l, x, params, r, batch);
    v[i] = saved;
    g.push_back(static_cast<float>((l_plus - l_minus) /
                                   (static_cast<double>(plus) - static_cast<double>(minus))));
  }
  return g;
}

// Every index of a tensor of n elements, or fd_max_elements of them drawn at
// random when it is larger (big layers: the analytic comparison with the
// reference covers every element, finite differences a sample).
inline std::vector<std::size_t> fd_indices(std::mt19937& rng, std::size_t n) {
  std::vector<std::size_t> all(n);
  std::iota(all.begin(), all.end(), std::size_t{0});
  if (n <= fd_max_elements) return all;
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(fd_max_elements);
  std::sort(all.begin(), all.end());
  return all;
}

inline void require_fd_close(const LayerFns& l, const std::vector<float>& analytic,
                             const std::vector<float>& x, const std::vector<float>& params,
                             const std::vector<float>& r, std::size_t batch, bool wrt_input,
                             std::mt19937& rng, double step, double tolerance) {
  const std::vector<std::size_t> idx = fd_indices(rng, analytic.size());
  std::vector<float> picked;
  for (const std::size_t i : idx) picked.push_back(analytic[i]);
  require_close(picked, numeric_gradient(l, x, params, r, batch, wrt_input, idx, step), tolerance,
                std::string(wrt_input ? "dx" : "dparams") + " vs finite differences (" +
                    std::to_string(idx.size()) + " of " + std::to_string(analytic.size()) +
                    " elements)");
}

// The full backward check of one layer at one point (x, params):
//  - dx and every parameter gradient against central finite differences;
//  - parameter gradients accumulate: backward from g0 gives g0 + g, and a second
//    backward after the first gives 2 g;
//  - backward with dx == nullptr gives the same parameter gradients.
inline void check_gradients(const LayerFns& l, const std::vector<float>& x,
                            const std::vector<float>& params, std::size_t batch,
                            std::mt19937& rng, double step = fd_step,
                            double tolerance = fd_tolerance) {
  const std::vector<float> r = uniform(rng, batch * l.out_size);
  const Gradients g = backward(l, x, params, r, batch);

  require_fd_close(l, g.dx, x, params, r, batch, true, rng, step, tolerance);
  if (l.parameter_count == 0) {
    // Nothing to accumulate; the call without dx must still be valid.
    REQUIRE(backward(l, x, params, r, batch, false).dx.empty());
    return;
  }
  require_fd_close(l, g.dparams, x, params, r, batch, false, rng, step, tolerance);

  const std::vector<float> g0 = uniform(rng, l.parameter_count);
  std::vector<float> expected(g0.size());
  for (std::size_t i = 0; i < g0.size(); ++i) expected[i] = g0[i] + g.dparams[i];
  require_close(backward(l, x, params, r, batch, true, g0).dparams, expected, forward_tolerance,
                "dparams accumulate onto existing gradients");

  const std::vector<float> twice = backward(l, x, params, r, batch, true, g.dparams).dparams;
  for (std::size_t i = 0; i < g0.size(); ++i) expected[i] = 2 * g.dparams[i];
  require_close(twice, expected, forward_tolerance, "backward twice doubles dparams");

  require_close(backward(l, x, params, r, batch, false).dparams, g.dparams, forward_tolerance,
                "dparams with dx == nullptr");
}

// Per-sample forward equals the batched forward (same tolerance as the reference).
inline void check_batch_consistency(const LayerFns& l, const std::vector<float>& x,
                                    const std::vector<float>& params, std::size_t batch) {
  const std::vector<float> all = forward(l, x, params, batch);
  std::vector<float> per_sample;
  for (std::size_t n = 0; n < batch; ++n) {
    const std::vector<float> xn(x.begin() + static_cast<long>(n * l.in_size),
                                x.begin() + static_cast<long>((n + 1) * l.in_size));
    const std::vector<float> yn = forward(l, xn, params, 1);
    per_sample.insert(per_sample.end(), yn.begin(), yn.end());
  }
  require_close(all, per_sample, forward_tolerance, "batched forward vs one sample at a time");
}

}  // namespace ref
