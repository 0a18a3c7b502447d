// tests/reference/conv2d.hpp
// Reference 2-d convolution (cross-correlation, torch.nn.Conv2d): forward,
// backward-data, backward-weight and backward-bias as plain nested loops with
// run-time sizes, accumulated in double. Padding is never materialised: every
// tap maps its coordinate through pad_source, so each pad mode is just an index map.
//
// Layouts (PyTorch): x (N, C, H, W)  w (O, C, KH, KW)  b (O)  y (N, O, OH, OW)
#pragma once

#include <cstddef>
#include <vector>

#include "reference/geometry.hpp"

namespace ref {

struct ConvSpec {
  std::size_t in_c, in_h, in_w;
  std::size_t out_c;
  std::size_t kernel_h, kernel_w;
  std::size_t stride_h = 1, stride_w = 1;
  std::size_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  std::size_t dilation_h = 1, dilation_w = 1;
  PadMode mode = PadMode::zeros;
  bool bias = true;

  constexpr std::size_t out_h() const {
    return conv_out_size(in_h, pad_top, pad_bottom, kernel_h, stride_h, dilation_h);
  }
  constexpr std::size_t out_w() const {
    return conv_out_size(in_w, pad_left, pad_right, kernel_w, stride_w, dilation_w);
  }
  constexpr std::size_t in_size() const { return in_c * in_h * in_w; }
  constexpr std::size_t out_size() const { return out_c * out_h() * out_w(); }
  constexpr std::size_t weight_size() const { return out_c * in_c * kernel_h * kernel_w; }
  constexpr std::size_t parameter_count() const { return weight_size() + (bias ? out_c : 0); }
};

namespace detail {

// Calls f(x_index, w_index, y_index) for every multiply-add of the convolution
// whose input tap is a real element (taps that read zero padding are skipped).
// The forward and all three backward loops are this one enumeration.
template <class F>
void for_each_tap(const ConvSpec& s, std::size_t batch, F&& f) {
  const std::size_t oh_n = s.out_h(), ow_n = s.out_w();
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t o = 0; o < s.out_c; ++o)
      for (std::size_t oh = 0; oh < oh_n; ++oh)
        for (std::size_t ow = 0; ow < ow_n; ++ow) {
          const std::size_t y_index = ((n * s.out_c + o) * oh_n + oh) * ow_n + ow;
          for (std::size_t c = 0; c < s.in_c; ++c)
            for (std::size_t kh = 0; kh < s.kernel_h; ++kh) {
              const long ih = static_cast<long>(oh * s.stride_h + kh * s.dilation_h) -
                              static_cast<long>(s.pad_top);
              const long src_h = pad_source(s.mode, ih, static_cast<long>(s.in_h));
              if (src_h < 0) continue;
              for (std::size_t kw = 0; kw < s.kernel_w; ++kw) {
                const long iw = static_cast<long>(ow * s.stride_w + kw * s.dilation_w) -
                                static_cast<long>(s.pad_left);
                const long src_w = pad_source(s.mode, iw, static_cast<long>(s.in_w));
                if (src_w < 0) continue;
                const std::size_t x_index =
                    ((n * s.in_c + c) * s.in_h + static_cast<std::size_t>(src_h)) * s.in_w +
                    static_cast<std::size_t>(src_w);
                const std::size_t w_index = ((o * s.in_c + c) * s.kernel_h + kh) * s.kernel_w + kw;
                f(x_index, w_index, y_index);
              }
            }
        }
}

inline std::vector<float> to_float(const std::vector<double>& v) {
  return std::vector<float>(v.begin(), v.end());
}

}  // namespace detail

// y[n,o,oh,ow] = b[o] + sum_{c,kh,kw} w[o,c,kh,kw] * xpad[n,c, oh*sh + kh*dh, ow*sw + kw*dw]
// (b is ignored when !s.bias).
inline std::vector<float> conv2d_forward(const ConvSpec& s, const std::vector<float>& x,
                                         const std::vector<float>& w, const std::vector<float>& b,
                                         std::size_t batch) {
  std::vector<double> y(batch * s.out_size(), 0.0);
  const std::size_t plane = s.out_h() * s.out_w();
  if (s.bias)
    for (std::size_t i = 0; i < y.size(); ++i) y[i] = b[(i / plane) % s.out_c];
  detail::for_each_tap(s, batch, [&](std::size_t xi, std::size_t wi, std::size_t yi) {
    y[yi] += static_cast<double>(w[wi]) * x[xi];
  });
  return detail::to_float(y);
}

// dx[n,c,ih,iw] = sum over every output tap that read x[n,c,ih,iw] (directly or
// through a reflected / replicated / wrapped padding copy) of w * dy.
inline std::vector<float> conv2d_backward_data(const ConvSpec& s, const std::vector<float>& w,
                                               const std::vector<float>& dy, std::size_t batch) {
  std::vector<double> dx(batch * s.in_size(), 0.0);
  detail::for_each_tap(s, batch, [&](std::size_t xi, std::size_t wi, std::size_t yi) {
    dx[xi] += static_cast<double>(w[wi]) * dy[yi];
  });
  return detail::to_float(dx);
}

// dw[o,c,kh,kw] = sum_{n,oh,ow} xpad[n,c, oh*sh + kh*dh, ow*sw + kw*dw] * dy[n,o,oh,ow]
inline std::vector<float> conv2d_backward_weight(const ConvSpec& s, const std::vector<float>& x,
                                                 const std::vector<float>& dy, std::size_t batch) {
  std::vector<double> dw(s.weight_size(), 0.0);
  detail::for_each_tap(s, batch, [&](std::size_t xi, std::size_t wi, std::size_t yi) {
    dw[wi] += static_cast<double>(x[xi]) * dy[yi];
  });
  return detail::to_float(dw);
}

// db[o] = sum_{n,oh,ow} dy[n,o,oh,ow]
inline std::vector<float> conv2d_backward_bias(const ConvSpec& s, const std::vector<float>& dy,
                                               std::size_t batch) {
  std::vector<double> db(s.out_c, 0.0);
  const std::size_t plane = s.out_h() * s.out_w();
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t o = 0; o < s.out_c; ++o)
      for (std::size_t i = 0; i < plane; ++i) db[o] += dy[(n * s.out_c + o) * plane + i];
  return detail::to_float(db);
}

}  // namespace ref
