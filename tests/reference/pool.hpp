// tests/reference/pool.hpp
// Reference pooling, as torch.nn.MaxPool2d / AvgPool2d (aten's CPU kernels) and
// global average / max pooling, as plain loops with run-time sizes.
//
//   max: padding is -inf (never wins); dilation spaces the taps; the gradient goes
//        to the first maximum in window order (row-major).
//   avg: the window [start, start + kernel) is first clipped to the padded input
//        [-pad, in + pad) (ceil mode can run past it), which gives the divisor
//        when count_include_pad; then clipped to the input [0, in), which gives
//        the summed elements and the divisor when !count_include_pad.
//
// Layouts: x (N, C, H, W)  y (N, C, OH, OW); global pools y (N, C).
#pragma once

#include <algorithm>
#include <cstddef>
#include <limits>
#include <vector>

#include "reference/geometry.hpp"

namespace ref {

struct PoolSpec {
  std::size_t channels, in_h, in_w;
  std::size_t kernel_h, kernel_w;
  std::size_t stride_h, stride_w;
  std::size_t pad_h = 0, pad_w = 0;
  std::size_t dilation_h = 1, dilation_w = 1;
  bool ceil_mode = false;
  bool count_include_pad = true;  // average pooling only

  constexpr std::size_t out_h() const {
    return pool_out_size(in_h, pad_h, kernel_h, stride_h, dilation_h, ceil_mode);
  }
  constexpr std::size_t out_w() const {
    return pool_out_size(in_w, pad_w, kernel_w, stride_w, dilation_w, ceil_mode);
  }
  constexpr std::size_t in_size() const { return channels * in_h * in_w; }
  constexpr std::size_t out_size() const { return channels * out_h() * out_w(); }
};

namespace detail {

// Flat index (into x) of the first maximum of window (p, oh, ow), p = n*C + c,
// or -1 if every tap lies in the padding.
inline long max_pool_argmax(const PoolSpec& s, const std::vector<float>& x, std::size_t p,
                            std::size_t oh, std::size_t ow) {
  long best = -1;
  for (std::size_t kh = 0; kh < s.kernel_h; ++kh) {
    const long ih = static_cast<long>(oh * s.stride_h + kh * s.dilation_h) - static_cast<long>(s.pad_h);
    if (ih < 0 || ih >= static_cast<long>(s.in_h)) continue;
    for (std::size_t kw = 0; kw < s.kernel_w; ++kw) {
      const long iw = static_cast<long>(ow * s.stride_w + kw * s.dilation_w) - static_cast<long>(s.pad_w);
      if (iw < 0 || iw >= static_cast<long>(s.in_w)) continue;
      const long i = static_cast<long>((p * s.in_h + static_cast<std::size_t>(ih)) * s.in_w +
                                       static_cast<std::size_t>(iw));
      if (best < 0 || x[static_cast<std::size_t>(i)] > x[static_cast<std::size_t>(best)]) best = i;
    }
  }
  return best;
}

struct AvgWindow {
  long h0, h1, w0, w1;  // the real elements: [h0, h1) x [w0, w1)
  long divisor;
};

inline AvgWindow avg_pool_window(const PoolSpec& s, std::size_t oh, std::size_t ow) {
  const long ph = static_cast<long>(s.pad_h), pw = static_cast<long>(s.pad_w);
  const long in_h = static_cast<long>(s.in_h), in_w = static_cast<long>(s.in_w);
  long h0 = static_cast<long>(oh * s.stride_h) - ph;
  long w0 = static_cast<long>(ow * s.stride_w) - pw;
  long h1 = std::min(h0 + static_cast<long>(s.kernel_h), in_h + ph);
  long w1 = std::min(w0 + static_cast<long>(s.kernel_w), in_w + pw);
  const long padded_count = (h1 - h0) * (w1 - w0);
  h0 = std::max(h0, 0L);
  w0 = std::max(w0, 0L);
  h1 = std::min(h1, in_h);
  w1 = std::min(w1, in_w);
  const long real_count = std::max(h1 - h0, 0L) * std::max(w1 - w0, 0L);
  return {h0, h1, w0, w1, s.count_include_pad ? padded_count : real_count};
}

}  // namespace detail

inline std::vector<float> max_pool_forward(const PoolSpec& s, const std::vector<float>& x,
                                           std::size_t batch) {
  const std::size_t oh_n = s.out_h(), ow_n = s.out_w();
  std::vector<float> y(batch * s.out_size());
  for (std::size_t p = 0; p < batch * s.channels; ++p)
    for (std::size_t oh = 0; oh < oh_n; ++oh)
      for (std::size_t ow = 0; ow < ow_n; ++ow) {
        const long i = detail::max_pool_argmax(s, x, p, oh, ow);
        y[(p * oh_n + oh) * ow_n + ow] =
            i < 0 ? -std::numeric_limits<float>::infinity() : x[static_cast<std::size_t>(i)];
      }
  return y;
}

inline std::vector<float> max_pool_backward(const PoolSpec& s, const std::vector<float>& x,
                                            const std::vector<float>& dy, std::size_t batch) {
  const std::size_t oh_n = s.out_h(), ow_n = s.out_w();
  std::vector<double> dx(batch * s.in_size(), 0.0);
  for (std::size_t p = 0; p < batch * s.channels; ++p)
    for (std::size_t oh = 0; oh < oh_n; ++oh)
      for (std::size_t ow = 0; ow < ow_n; ++ow) {
        const long i = detail::max_pool_argmax(s, x, p, oh, ow);
        if (i >= 0) dx[static_cast<std::size_t>(i)] += dy[(p * oh_n + oh) * ow_n + ow];
      }
  return std::vector<float>(dx.begin(), dx.end());
}

// A window with no real element (impossible under PyTorch's pad <= kernel/2) gives 0.
inline std::vector<float> avg_pool_forward(const PoolSpec& s, const std::vector<float>& x,
                                           std::size_t batch) {
  const std::size_t oh_n = s.out_h(), ow_n = s.out_w();
  std::vector<float> y(batch * s.out_size());
  for (std::size_t p = 0; p < batch * s.channels; ++p)
    for (std::size_t oh = 0; oh < oh_n; ++oh)
      for (std::size_t ow = 0; ow < ow_n; ++ow) {
        const detail::AvgWindow win = detail::avg_pool_window(s, oh, ow);
        double sum = 0.0;
        for (long ih = win.h0; ih < win.h1; ++ih)
          for (long iw = win.w0; iw < win.w1; ++iw)
            sum += x[(p * s.in_h + static_cast<std::size_t>(ih)) * s.in_w + static_cast<std::size_t>(iw)];
        y[(p * oh_n + oh) * ow_n + ow] =
            win.divisor > 0 ? static_cast<float>(sum / static_cast<double>(win.divisor)) : 0.0f;
      }
  return y;
}

inline std::vector<float> avg_pool_backward(const PoolSpec& s, const std::vector<float>& dy,
                                            std::size_t batch) {
  const std::size_t oh_n = s.out_h(), ow_n = s.out_w();
  std::vector<double> dx(batch * s.in_size(), 0.0);
  for (std::size_t p = 0; p < batch * s.channels; ++p)
    for (std::size_t oh = 0; oh < oh_n; ++oh)
      for (std::size_t ow = 0; ow < ow_n; ++ow) {
        const detail::AvgWindow win = detail::avg_pool_window(s, oh, ow);
        if (win.divisor <= 0) continue;
        const double g = dy[(p * oh_n + oh) * ow_n + ow] / static_cast<double>(win.divisor);
        for (long ih = win.h0; ih < win.h1; ++ih)
          for (long iw = win.w0; iw < win.w1; ++iw)
            dx[(p * s.in_h + static_cast<std::size_t>(ih)) * s.in_w + static_cast<std::size_t>(iw)] += g;
      }
  return std::vector<float>(dx.begin(), dx.end());
}

// Global pools over each (n, c) plane of `plane` elements.
inline std::vector<float> global_avg_pool_forward(const std::vector<float>& x, std::size_t batch,
                                                  std::size_t channels, std::size_t plane) {
  std::vector<float> y(batch * channels);
  for (std::size_t p = 0; p < batch * channels; ++p) {
    double sum = 0.0;
    for (std::size_t i = 0; i < plane; ++i) sum += x[p * plane + i];
    y[p] = static_cast<float>(sum / static_cast<double>(plane));
  }
  return y;
}

inline std::vector<float> global_avg_pool_backward(const std::vector<float>& dy, std::size_t batch,
                                                   std::size_t channels, std::size_t plane) {
  std::vector<float> dx(batch * channels * plane);
  for (std::size_t p = 0; p < batch * channels; ++p)
    for (std::size_t i = 0; i < plane; ++i)
      dx[p * plane + i] = static_cast<float>(dy[p] / static_cast<double>(plane));
  return dx;
}

inline std::vector<float> global_max_pool_forward(const std::vector<float>& x, std::size_t batch,
                                                  std::size_t channels, std::size_t plane) {
  std::vector<float> y(batch * channels);
  for (std::size_t p = 0; p < batch * channels; ++p)
    y[p] = *std::max_element(x.begin() + static_cast<long>(p * plane),
                             x.begin() + static_cast<long>((p + 1) * plane));
  return y;
}

// The gradient goes to the first maximum of each plane.
inline std::vector<float> global_max_pool_backward(const std::vector<float>& x,
                                                   const std::vector<float>& dy, std::size_t batch,
                                                   std::size_t channels, std::size_t plane) {
  std::vector<float> dx(batch * channels * plane, 0.0f);
  for (std::size_t p = 0; p < batch * channels; ++p) {
    const auto first = x.begin() + static_cast<long>(p * plane);
    const auto arg = std::max_element(first, first + static_cast<long>(plane)) - first;
    dx[p * plane + static_cast<std::size_t>(arg)] = dy[p];
  }
  return dx;
}

}  // namespace ref
