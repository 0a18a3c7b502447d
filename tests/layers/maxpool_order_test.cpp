// Max pooling's order rules, which the reference comparisons (inputs without
// ties or NaN) do not reach: PyTorch takes the first maximum in window order
// (so of -0 and +0 the first, and the first of equal values gets the gradient),
// and a NaN anywhere in a window is the window's maximum (the first NaN takes
// the gradient). Checked on the 2x2 stride-2 pools, which run in whole vectors,
// and on a 3x3 stride-2 pool (overlapping windows, the scalar path), against a
// scalar loop written here from those rules.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "ctcnn/kernels/pool.hpp"

namespace {

using ctcnn::PoolGeometry;

// Flat index of the window's winner under PyTorch's rule (no padding).
std::size_t expected_argmax(const PoolGeometry& g, const float* plane, std::size_t oh, std::size_t ow) {
  std::size_t best = oh * g.stride_h * g.in_w + ow * g.stride_w;
  for (std::size_t kh = 0; kh < g.kernel_h; ++kh)
    for (std::size_t kw = 0; kw < g.kernel_w; ++kw) {
      const std::size_t i = (oh * g.stride_h + kh) * g.in_w + ow * g.stride_w + kw;
      if (std::isnan(plane[best])) return best;
      if (plane[i] > plane[best] || std::isnan(plane[i])) best = i;
    }
  return best;
}

// Values drawn from a handful, with -0, +0 and NaN among them: many ties.
std::vector<float> tied_values(std::size_t n, std::uint32_t seed) {
  const float pool[] = {-0.0f, 0.0f, 1.0f, 1.0f, 2.0f, -3.0f, std::numeric_limits<float>::quiet_NaN()};
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pick(0, 6), rare(0, 9);
  std::vector<float> v(n);
  for (float& x : v) {
    x = pool[pick(rng)];
    if (std::isnan(x) && rare(rng) != 0) x = 2.0f;  // NaN in about one window in ten
  }
  return v;
}

// zero_maxima: the draw must give windows whose maximum is a zero (2x2 windows
// do; 3x3 ones rarely hold nothing above zero).
template <PoolGeometry G>
void check_order_rules(std::uint32_t seed, bool zero_maxima = true) {
  constexpr std::size_t batch = 2, planes = batch * G.channels;
  const std::vector<float> x = tied_values(planes * G.in_plane(), seed);
  std::vector<float> dy(planes * G.out_plane());
  for (std::size_t i = 0; i < dy.size(); ++i) dy[i] = 1.0f + static_cast<float>(i);
  std::vector<float> y(dy.size()), dx(x.size(), -7.0f);
  ctcnn::kernels::max_pool_forward<G>(x.data(), y.data(), batch);
  ctcnn::kernels::max_pool_backward<G>(x.data(), dy.data(), dx.data(), batch);

  std::vector<float> want_dx(x.size(), 0.0f);
  std::size_t wrong_y = 0, nan_windows = 0, signed_zero_windows = 0;
  for (std::size_t p = 0; p < planes; ++p)
    for (std::size_t oh = 0; oh < G.out_h; ++oh)
      for (std::size_t ow = 0; ow < G.out_w; ++ow) {
        const float* plane = x.data() + p * G.in_plane();
        const std::size_t best = expected_argmax(G, plane, oh, ow);
        const std::size_t o = p * G.out_plane() + oh * G.out_w + ow;
        const float want = plane[best], got = y[o];
        const bool same = std::isnan(want) ? std::isnan(got)
                                           : got == want && std::signbit(got) == std::signbit(want);
        if (!same) ++wrong_y;
        if (std::isnan(want)) ++nan_windows;
        if (want == 0.0f) ++signed_zero_windows;
        want_dx[p * G.in_plane() + best] += dy[o];
      }
  INFO("geometry in " << G.in_h << "x" << G.in_w << " kernel " << G.kernel_h << " stride " << G.stride_h);
  CHECK(wrong_y == 0);
  std::size_t wrong_dx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) wrong_dx += dx[i] != want_dx[i];
  CHECK(wrong_dx == 0);
  // The draw did produce the cases this test is about.
  CHECK(nan_windows > 0);
  if (zero_maxima) CHECK(signed_zero_windows > 0);
}

// channels, in_h, in_w, out_h, out_w, kernel, stride, pad, dilation, count_include_pad
constexpr PoolGeometry pairs(std::size_t c, std::size_t h, std::size_t w) {
  return PoolGeometry{c, h, w, h / 2, w / 2, 2, 2, 2, 2, 0, 0, 1, 1, true};
}

}  // namespace

TEST_CASE("maxpool2d 2x2 stride 2: first maximum, signed zeros and NaN as PyTorch", "[maxpool2d][order]") {
  STATIC_REQUIRE(ctcnn::kernels::pairs_max_window<pairs(3, 28, 28)>);
  check_order_rules<pairs(3, 28, 28)>(11);  // LeNet's first pool: 14 outputs a row
  check_order_rules<pairs(2, 9, 39)>(12);   // 19 a row, odd sizes left over
  check_order_rules<pairs(1, 6, 64)>(13);   // 32 a row
  check_order_rules<pairs(2, 10, 10)>(14);  // LeNet's second: 5 a row
}

TEST_CASE("maxpool2d 3x3 stride 2 (overlapping windows): the same order rules", "[maxpool2d][order]") {
  constexpr PoolGeometry g{2, 9, 11, 4, 5, 3, 3, 2, 2, 0, 0, 1, 1, true};
  STATIC_REQUIRE(!ctcnn::kernels::pairs_max_window<g>);
  check_order_rules<g>(21, false);
}
