// ctcnn/kernels/pool.hpp
// Max and average pooling over fixed windows, PyTorch semantics:
// - max: padding never wins (it is -inf), NaN propagates, the first maximum in
//   window order takes the gradient;
// - average: a window is clipped to the padded input (ceil mode may run past it);
//   the divisor counts padding (count_include_pad) or only real elements.
// Layout: x (N, C, H, W)  y (N, C, OH, OW)
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>

#include "ctcnn/core/simd.hpp"

namespace ctcnn {

struct PoolGeometry {
  std::size_t channels, in_h, in_w, out_h, out_w;
  std::size_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  bool count_include_pad;
  constexpr std::size_t in_plane() const { return in_h * in_w; }
  constexpr std::size_t out_plane() const { return out_h * out_w; }
};

namespace kernels {

// Flat index (within the plane) of the window's maximum, or -1 if the window
// holds no input element (cannot happen under the layer's padding rule).
template <PoolGeometry G>
inline long max_window_argmax(const float* plane, std::size_t oh, std::size_t ow) {
  const long h0 = static_cast<long>(oh * G.stride_h) - static_cast<long>(G.pad_h);
  const long w0 = static_cast<long>(ow * G.stride_w) - static_cast<long>(G.pad_w);
  long best = -1;
  float best_value = -std::numeric_limits<float>::infinity();
  for (std::size_t kh = 0; kh < G.kernel_h; ++kh) {
    const long ih = h0 + static_cast<long>(kh * G.dilation_h);
    if (ih < 0 || ih >= static_cast<long>(G.in_h)) continue;
    for (std::size_t kw = 0; kw < G.kernel_w; ++kw) {
      const long iw = w0 + static_cast<long>(kw * G.dilation_w);
      if (iw < 0 || iw >= static_cast<long>(G.in_w)) continue;
      const long i = ih * static_cast<long>(G.in_w) + iw;
      const float v = plane[i];
      if (best < 0 || v > best_value || std::isnan(v)) {
        best = i;
        best_value = v;
        if (std::isnan(v)) return best;
      }
    }
  }
  return best;
}

// The common case (no padding, no dilation, every window inside the input):
// the window is a fixed block, unrolled, with no bounds checks. Same rule as
// max_window_argmax: the first maximum in window order, the first NaN wins.
template <PoolGeometry G>
inline constexpr bool plain_max_window =
    G.pad_h == 0 && G.pad_w == 0 && G.dilation_h == 1 && G.dilation_w == 1 &&
    (G.out_h - 1) * G.stride_h + G.kernel_h <= G.in_h &&
    (G.out_w - 1) * G.stride_w + G.kernel_w <= G.in_w;

template <PoolGeometry G>
[[gnu::always_inline]] inline std::size_t plain_window_argmax(const float* plane, std::size_t oh,
                                                             std::size_t ow) {
  const std::size_t base = oh * G.stride_h * G.in_w + ow * G.stride_w;
  std::size_t best = base;
  float m = plane[base];
#pragma GCC unroll 16
  for (std::size_t k = 1; k < G.kernel_h * G.kernel_w; ++k) {
    const std::size_t i = base + (k / G.kernel_w) * G.in_w + k % G.kernel_w;
    const float v = plane[i];
    // once m is NaN nothing replaces it (v > NaN is false; m == m is false)
    const bool take = (v > m || v != v) && m == m;
    best = take ? i : best;
    m = take ? v : m;
  }
  return best;
}

// 2x2 windows with stride 2 (LeNet's pools and most CNNs'), in whole vectors:
// a vector of outputs of one row reads 2*lanes floats of each input row, split
// into the windows' even and odd columns. Same rule as plain_window_argmax.
template <PoolGeometry G>
inline constexpr bool pairs_max_window = plain_max_window<G> && G.kernel_h == 2 &&
                                         G.kernel_w == 2 && G.stride_h == 2 && G.stride_w == 2;

// Outputs [ow0, ow0 + n) of row oh: the running maximum over the window in
// order ((0,0), (0,1), (1,0), (1,1)) and which of the four won.
template <PoolGeometry G>
[[gnu::always_inline]] inline void pairs_window_max(const float* plane, std::size_t oh,
                                                    std::size_t ow0, std::size_t n, simd::vec& m,
                                                    simd::vec& which) {
  constexpr std::size_t L = simd::lanes;
  simd::vec taps[4];
#pragma GCC unroll 2
  for (std::size_t r = 0; r < 2; ++r) {
    const float* row = plane + (2 * oh + r) * G.in_w + 2 * ow0;
    const std::size_t floats = 2 * n;  // within the row: 2*(ow0 + n) <= in_w
    const simd::vec lo = floats >= L ? simd::load(row) : simd::load_first(row, floats);
    const simd::vec hi = floats >= 2 * L ? simd::load(row + L)
                         : floats > L    ? simd::load_first(row + L, floats - L)
                                         : simd::zero();
    simd::deinterleave(lo, hi, taps[2 * r], taps[2 * r + 1]);
  }
  m = taps[0];
  which = simd::zero();
#pragma GCC unroll 3
  for (std::size_t k = 1; k < 4; ++k) simd::window_max_step(m, which, taps[k], static_cast<float>(k));
}

template <PoolGeometry G>
void max_pool_forward(const float* x, float* y, std::size_t batch) {
  if constexpr (pairs_max_window<G>) {
    constexpr std::size_t L = simd::lanes;
    for (std::size_t p = 0; p < batch * G.channels; ++p) {
      const float* xp = x + p * G.in_plane();
      float* yp = y + p * G.out_plane();
      for (std::size_t oh = 0; oh < G.out_h; ++oh)
        for (std::size_t ow0 = 0; ow0 < G.out_w; ow0 += L) {
          const std::size_t n = G.out_w - ow0 < L ? G.out_w - ow0 : L;
          simd::vec m, which;
          pairs_window_max<G>(xp, oh, ow0, n, m, which);
          if (n == L)
            simd::store(yp + oh * G.out_w + ow0, m);
          else
            simd::store_first(yp + oh * G.out_w + ow0, m, n);
        }
    }
    return;
  }
  if constexpr (plain_max_window<G>) {
    for (std::size_t p = 0; p < batch * G.channels; ++p) {
      const float* xp = x + p * G.in_plane();
      float* yp = y + p * G.out_plane();
      for (std::size_t oh = 0; oh < G.out_h; ++oh)
        for (std::size_t ow = 0; ow < G.out_w; ++ow) {
          const float* w = xp + oh * G.stride_h * G.in_w + ow * G.stride_w;
          float m = w[0];
#pragma GCC unroll 16
          for (std::size_t k = 1; k < G.kernel_h * G.kernel_w; ++k) {
            const float v = w[(k / G.kernel_w) * G.in_w + k % G.kernel_w];
            m = ((v > m || v != v) && m == m) ? v : m;
          }
          yp[oh * G.out_w + ow] = m;
        }
    }
    return;
  }
  for (std::size_t p = 0; p < batch * G.channels; ++p) {
    const float* xp = x + p * G.in_plane();
    float* yp = y + p * G.out_plane();
    for (std::size_t oh = 0; oh < G.out_h; ++oh)
      for (std::size_t ow = 0; ow < G.out_w; ++ow) {
        const long i = max_window_argmax<G>(xp, oh, ow);
        yp[oh * G.out_w + ow] = i < 0 ? -std::numeric_limits<float>::infinity() : xp[i];
      }
  }
}

// ThroughRelu: x is a ReLU's output and dx the gradient w.r.t. that ReLU's
// input: a window's gradient goes to its maximum only where that maximum is not
// <= 0 (ReLU's backward, relu_fn, applied on the way: the same values as the
// two layers' backwards one after the other, without the pass over the plane).
template <PoolGeometry G, bool ThroughRelu = false>
void max_pool_backward(const float* x, const float* dy, float* dx, std::size_t batch) {
  // The window's gradient g, gated by its maximum's value v when ThroughRelu.
  auto gated = [](float v, float g) { return ThroughRelu && v <= 0.0f ? 0.0f : g; };
  if constexpr (pairs_max_window<G>) {
    // Every element of the covered block is written (its window's gradient or
    // 0), two rows of 2n floats per vector of outputs; the rest is zeroed.
    constexpr std::size_t L = simd::lanes;
    constexpr std::size_t covered_h = 2 * G.out_h, covered_w = 2 * G.out_w;
    for (std::size_t p = 0; p < batch * G.channels; ++p) {
      const float* xp = x + p * G.in_plane();
      const float* dyp = dy + p * G.out_plane();
      float* dxp = dx + p * G.in_plane();
      for (std::size_t oh = 0; oh < G.out_h; ++oh) {
        for (std::size_t ow0 = 0; ow0 < G.out_w; ow0 += L) {
          const std::size_t n = G.out_w - ow0 < L ? G.out_w - ow0 : L;
          simd::vec m, which;
          pairs_window_max<G>(xp, oh, ow0, n, m, which);
          const float* g0 = dyp + oh * G.out_w + ow0;
          simd::vec g = n == L ? simd::load(g0) : simd::load_first(g0, n);
          if constexpr (ThroughRelu) g = simd::relu_gate(m, g);
#pragma GCC unroll 2
          for (std::size_t r = 0; r < 2; ++r) {
            simd::vec lo, hi;
            simd::interleave(simd::where_equal(which, static_cast<float>(2 * r), g),
                             simd::where_equal(which, static_cast<float>(2 * r + 1), g), lo, hi);
            float* row = dxp + (2 * oh + r) * G.in_w + 2 * ow0;
            const std::size_t floats = 2 * n;
            if (floats >= L) simd::store(row, lo); else simd::store_first(row, lo, floats);
            if (floats >= 2 * L) simd::store(row + L, hi);
            else if (floats > L) simd::store_first(row + L, hi, floats - L);
          }
        }
        for (std::size_t r = 2 * oh; r < 2 * oh + 2; ++r)
          for (std::size_t c = covered_w; c < G.in_w; ++c) dxp[r * G.in_w + c] = 0.0f;
      }
      for (std::size_t i = covered_h * G.in_w; i < G.in_plane(); ++i) dxp[i] = 0.0f;
    }
    return;
  }
  if constexpr (plain_max_window<G> && G.stride_h == G.kernel_h && G.stride_w == G.kernel_w) {
    // Windows tile the input without overlap: each element is written once (its
    // window's gradient or 0) instead of zeroing the plane and adding into it.
    constexpr std::size_t covered_h = G.out_h * G.kernel_h, covered_w = G.out_w * G.kernel_w;
    for (std::size_t p = 0; p < batch * G.channels; ++p) {
      const float* xp = x + p * G.in_plane();
      const float* dyp = dy + p * G.out_plane();
      float* dxp = dx + p * G.in_plane();
      for (std::size_t oh = 0; oh < G.out_h; ++oh) {
        for (std::size_t ow = 0; ow < G.out_w; ++ow) {
          const std::size_t best = plain_window_argmax<G>(xp, oh, ow);
          const float g = gated(xp[best], dyp[oh * G.out_w + ow]);
          const std::size_t base = oh * G.kernel_h * G.in_w + ow * G.kernel_w;
#pragma GCC unroll 16
          for (std::size_t k = 0; k < G.kernel_h * G.kernel_w; ++k) {
            const std::size_t i = base + (k / G.kernel_w) * G.in_w + k % G.kernel_w;
            dxp[i] = i == best ? g : 0.0f;
          }
        }
        for (std::size_t r = oh * G.kernel_h; r < (oh + 1) * G.kernel_h; ++r)
          for (std::size_t c = covered_w; c < G.in_w; ++c) dxp[r * G.in_w + c] = 0.0f;
      }
      for (std::size_t i = covered_h * G.in_w; i < G.in_plane(); ++i) dxp[i] = 0.0f;
    }
    return;
  }
  if constexpr (plain_max_window<G>) {
    for (std::size_t p = 0; p < batch * G.channels; ++p) {
      const float* xp = x + p * G.in_plane();
      const float* dyp = dy + p * G.out_plane();
      float* dxp = dx + p * G.in_plane();
      for (std::size_t i = 0; i < G.in_plane(); ++i) dxp[i] = 0.0f;
      for (std::size_t oh = 0; oh < G.out_h; ++oh)
        for (std::size_t ow = 0; ow < G.out_w; ++ow) {
          const std::size_t best = plain_window_argmax<G>(xp, oh, ow);
          dxp[best] += gated(xp[best], dyp[oh * G.out_w + ow]);
        }
    }
    return;
  }
  for (std::size_t p = 0; p < batch * G.channels; ++p) {
    const float* xp = x + p * G.in_plane();
    const float* dyp = dy + p * G.out_plane();
    float* dxp = dx + p * G.in_plane();
    for (std::size_t i = 0; i < G.in_plane(); ++i) dxp[i] = 0.0f;
    for (std::size_t oh = 0; oh < G.out_h; ++oh)
      for (std::size_t ow = 0; ow < G.out_w; ++ow) {
        const long i = max_window_argmax<G>(xp, oh, ow);
        if (i >= 0) dxp[i] += gated(xp[i], dyp[oh * G.out_w + ow]);
      }
  }
}

// The window of output (oh, ow) clipped to the input, and its divisor.
struct AvgWindow {
  std::size_t h0, h1, w0, w1;
  float inv_divisor;
};

template <PoolGeometry G>
constexpr AvgWindow avg_window(std::size_t oh, std::size_t ow) {
  const long in_h = static_cast<long>(G.in_h), in_w = static_cast<long>(G.in_w);
  long h0 = static_cast<long>(oh * G.stride_h) - static_cast<long>(G.pad_h);
  long w0 = static_cast<long>(ow * G.stride_w) - static_cast<long>(G.pad_w);
  long h1 = std::min(h0 + static_cast<long>(G.kernel_h), in_h + static_cast<long>(G.pad_h));
  long w1 = std::min(w0 + static_cast<long>(G.kernel_w), in_w + static_cast<long>(G.pad_w));
  const long padded_count = (h1 - h0) * (w1 - w0);
  h0 = std::max(h0, 0L);
  w0 = std::max(w0, 0L);
  h1 = std::min(h1, in_h);
  w1 = std::min(w1, in_w);
  const long real_count = (h1 - h0) * (w1 - w0);
  const long divisor = G.count_include_pad ? padded_count : real_count;
  return {static_cast<std::size_t>(h0), static_cast<std::size_t>(std::max(h1, h0)),
          static_cast<std::size_t>(w0), static_cast<std::size_t>(std::max(w1, w0)),
          divisor > 0 ? 1.0f / static_cast<float>(divisor) : 0.0f};
}

template <PoolGeometry G>
void avg_pool_forward(const float* x, float* y, std::size_t batch) {
  for (std::size_t p = 0; p < batch * G.channels; ++p) {
    const float* xp = x + p * G.in_plane();
    float* yp = y + p * G.out_plane();
    for (std::size_t oh = 0; oh < G.out_h; ++oh)
      for (std::size_t ow = 0; ow < G.out_w; ++ow) {
        const AvgWindow win = avg_window<G>(oh, ow);
        float sum = 0.0f;
        for (std::size_t ih = win.h0; ih < win.h1; ++ih)
          for (std::size_t iw = win.w0; iw < win.w1; ++iw) sum += xp[ih * G.in_w + iw];
        yp[oh * G.out_w + ow] = sum * win.inv_divisor;
      }
  }
}

template <PoolGeometry G>
void avg_pool_backward(const float* dy, float* dx, std::size_t batch) {
  for (std::size_t p = 0; p < batch * G.channels; ++p) {
    const float* dyp = dy + p * G.out_plane();
    float* dxp = dx + p * G.in_plane();
    for (std::size_t i = 0; i < G.in_plane(); ++i) dxp[i] = 0.0f;
    for (std::size_t oh = 0; oh < G.out_h; ++oh)
      for (std::size_t ow = 0; ow < G.out_w; ++ow) {
        const AvgWindow win = avg_window<G>(oh, ow);
        const float g = dyp[oh * G.out_w + ow] * win.inv_divisor;
        for (std::size_t ih = win.h0; ih < win.h1; ++ih)
          for (std::size_t iw = win.w0; iw < win.w1; ++iw) dxp[ih * G.in_w + iw] += g;
      }
  }
}

// Global pools: (N, C, H*W) -> (N, C).
template <std::size_t Channels, std::size_t Plane, bool Max>
void global_pool_forward(const float* x, float* y, std::size_t batch) {
  for (std::size_t p = 0; p < batch * Channels; ++p) {
    const float* xp = x + p * Plane;
    if constexpr (Max) {
      float m = xp[0];
      for (std::size_t i = 1; i < Plane; ++i)
        if (xp[i] > m || std::isnan(xp[i])) m = xp[i];
      y[p] = m;
    } else {
      float sum = 0.0f;
      for (std::size_t i = 0; i < Plane; ++i) sum += xp[i];
      y[p] = sum / static_cast<float>(Plane);
    }
  }
}

template <std::size_t Channels, std::size_t Plane, bool Max>
void global_pool_backward(const float* x, const float* dy, float* dx, std::size_t batch) {
  for (std::size_t p = 0; p < batch * Channels; ++p) {
    const float* xp = x + p * Plane;
    float* dxp = dx + p * Plane;
    if constexpr (Max) {
      std::size_t arg = 0;
      for (std::size_t i = 1; i < Plane; ++i)
        if (xp[i] > xp[arg] || (std::isnan(xp[i]) && !std::isnan(xp[arg]))) arg = i;
      for (std::size_t i = 0; i < Plane; ++i) dxp[i] = 0.0f;
      dxp[arg] = dy[p];
    } else {
      const float g = dy[p] / static_cast<float>(Plane);
      for (std::size_t i = 0; i < Plane; ++i) dxp[i] = g;
    }
  }
}

}  // namespace kernels
}  // namespace ctcnn
