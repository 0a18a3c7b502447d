// Rng: the engine is the standard's mt19937, the float transformations are ours
// (statistics here; PyTorch equality in test_init.cpp).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "ctcnn/train/random.hpp"

namespace {

constexpr std::size_t draws = 100'000;

struct Moments {
  double mean = 0, variance = 0, kurtosis = 0, min = 0, max = 0;
};
Moments moments(const std::vector<double>& x) {
  Moments m;
  const double n = static_cast<double>(x.size());
  m.mean = std::accumulate(x.begin(), x.end(), 0.0) / n;
  double m2 = 0, m4 = 0;
  for (const double v : x) {
    const double d = (v - m.mean) * (v - m.mean);
    m2 += d;
    m4 += d * d;
  }
  m.variance = m2 / n;
  m.kurtosis = (m4 / n) / (m.variance * m.variance);
  const auto [lo, hi] = std::minmax_element(x.begin(), x.end());
  m.min = *lo;
  m.max = *hi;
  return m;
}

}  // namespace

TEST_CASE("Rng's bits are std::mt19937's, as PyTorch's CPU generator", "[random][init]") {
  STATIC_REQUIRE(std::uniform_random_bit_generator<ctcnn::Rng>);
  // [rand.predef]: the 10000th output of a default-constructed mt19937 (seed 5489).
  ctcnn::Rng rng(5489);
  rng.discard(9999);
  CHECK(rng.next_u32() == 4123659995u);

  // As torch.manual_seed, the low 32 bits of the seed select the stream.
  CHECK(ctcnn::Rng(5489 + (std::uint64_t{1} << 32)) == ctcnn::Rng(5489));

  // next(): two outputs, the first in the high half.
  ctcnn::Rng a(3), b(3);
  const std::uint64_t hi = b.next_u32(), lo = b.next_u32();
  CHECK(a.next() == ((hi << 32) | lo));
}

TEST_CASE("Rng streams are reproducible and differ between seeds", "[random][init]") {
  ctcnn::Rng a(77), b(77), c(78);
  std::size_t same_as_other_seed = 0;
  for (int i = 0; i < 1000; ++i) {
    const float ua = a.uniform(-1.0f, 1.0f), na = a.normal(0.0f, 1.0f);
    const std::uint64_t xa = a.next();
    REQUIRE(ua == b.uniform(-1.0f, 1.0f));
    REQUIRE(na == b.normal(0.0f, 1.0f));
    REQUIRE(xa == b.next());
    same_as_other_seed += (ua == c.uniform(-1.0f, 1.0f));
    c.normal(0.0f, 1.0f);
    c.next();
  }
  CHECK(same_as_other_seed < 5);
}

TEST_CASE("Rng::uniform: bounds, mean and variance of 100k draws", "[random][init]") {
  ctcnn::Rng rng(1);
  const float lo = -2.0f, hi = 3.0f;
  std::vector<double> x(draws);
  for (auto& v : x) v = rng.uniform(lo, hi);
  const Moments m = moments(x);
  // U(lo, hi): mean (lo+hi)/2, variance (hi-lo)^2/12. Tolerances: the mean within
  // 5 standard errors (5 * 1.44 / sqrt(1e5) = 0.023), the variance within 2%
  // (its standard error is 0.28%), the extremes within 1e-3 of the bounds.
  CHECK(m.min >= lo);
  CHECK(m.max <= hi);
  CHECK(m.min < lo + 1e-3 * (hi - lo));
  CHECK(m.max > hi - 1e-3 * (hi - lo));
  CHECK(m.mean == Approx(0.5).margin(0.023));
  CHECK(m.variance == Approx(25.0 / 12).epsilon(0.02));
  CHECK(m.kurtosis == Approx(1.8).epsilon(0.02));  // 9/5 for any uniform

  // uniform01 spans [0, 1).
  double low = 1, high = 0;
  for (std::size_t i = 0; i < draws; ++i) {
    const double u = rng.uniform01();
    REQUIRE(u >= 0.0);
    REQUIRE(u < 1.0);
    low = std::min(low, u);
    high = std::max(high, u);
  }
  CHECK(low < 1e-3);
  CHECK(high > 1 - 1e-3);
}

TEST_CASE("Rng::normal: moments and tail masses of 100k draws", "[random][init]") {
  ctcnn::Rng rng(2);
  const float mean = 1.5f, stddev = 0.5f;
  std::vector<double> x(draws);
  std::size_t within1 = 0, within2 = 0;
  for (auto& v : x) {
    v = rng.normal(mean, stddev);
    REQUIRE(std::isfinite(v));
    const double z = std::abs(v - mean) / stddev;
    within1 += z < 1;
    within2 += z < 2;
  }
  const Moments m = moments(x);
  // Standard errors for n = 1e5: mean 0.0016 * sd; variance 0.45%; kurtosis 0.015;
  // mass within 1 sd 0.0015, within 2 sd 0.0007. Tolerances are 4.5-7 of those.
  CHECK(m.mean == Approx(mean).margin(0.008 * stddev));
  CHECK(m.variance == Approx(stddev * stddev).epsilon(0.03));
  CHECK(m.kurtosis == Approx(3.0).margin(0.1));
  CHECK(static_cast<double>(within1) / draws == Approx(0.682689).margin(0.007));
  CHECK(static_cast<double>(within2) / draws == Approx(0.954500).margin(0.004));
}

TEST_CASE("Rng::below is uniform over 0..n-1 and shuffle permutes", "[random][init]") {
  ctcnn::Rng rng(3);
  CHECK(rng.below(1) == 0);
  std::vector<double> counts(10, 0.0);
  for (std::size_t i = 0; i < draws; ++i) {
    const auto k = rng.below(10);
    REQUIRE(k < 10);
    counts[k] += 1;
  }
  // Chi-square with 9 degrees of freedom: P(> 40) is about 1e-5.
  double chi2 = 0;
  for (const double c : counts) chi2 += (c - draws / 10.0) * (c - draws / 10.0) / (draws / 10.0);
  CHECK(chi2 < 40);

  std::vector<int> a(100), b(100), c(100);
  std::iota(a.begin(), a.end(), 0);
  b = a;
  c = a;
  ctcnn::Rng r1(9), r2(9), r3(10);
  r1.shuffle(a.begin(), a.end());
  r2.shuffle(b.begin(), b.end());
  r3.shuffle(c.begin(), c.end());
  CHECK(a == b);
  CHECK(a != c);
  std::vector<int> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> identity(100);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(sorted == identity);
  CHECK(a != identity);

  // Every position of a 3-element shuffle takes every value about equally often.
  std::vector<std::vector<double>> seen(3, std::vector<double>(3, 0.0));
  for (int i = 0; i < 30'000; ++i) {
    int v[3] = {0, 1, 2};
    rng.shuffle(v, v + 3);
    for (int p = 0; p < 3; ++p) seen[p][v[p]] += 1;
  }
  for (const auto& position : seen)
    for (const double count : position) CHECK(count == Approx(10'000).margin(500));  // 5.8 sd
}
