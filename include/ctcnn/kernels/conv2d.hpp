// ctcnn/kernels/conv2d.hpp
// Direct 2-d convolution (cross-correlation, as PyTorch), forward and backward,
// for one fixed geometry. No im2col: each input channel is copied once into a
// small padded plane on the stack (which makes every padding mode the same loop),
// then every output channel accumulates from it with the kernel window unrolled
// and the output row as the vectorised inner loop.
//
// Layouts: x (N, C, H, W)   w (O, C, KH, KW)   b (O)   y (N, O, OH, OW)
#pragma once

#include <cstddef>

#include "ctcnn/core/options.hpp"
#include "ctcnn/kernels/padding.hpp"

namespace ctcnn {

// Everything a convolution kernel needs to know, fixed at compile time.
struct ConvGeometry {
  std::size_t in_c, in_h, in_w;
  std::size_t out_c, out_h, out_w;
  std::size_t kernel_h, kernel_w;
  std::size_t stride_h, stride_w;
  std::size_t pad_top, pad_bottom, pad_left, pad_right;
  std::size_t dilation_h, dilation_w;
  PadKind pad_kind;
  bool bias;

  constexpr std::size_t padded_h() const { return pad_top + in_h + pad_bottom; }
  constexpr std::size_t padded_w() const { return pad_left + in_w + pad_right; }
  constexpr std::size_t in_size() const { return in_c * in_h * in_w; }
  constexpr std::size_t out_size() const { return out_c * out_h * out_w; }
  constexpr std::size_t weight_size() const { return out_c * in_c * kernel_h * kernel_w; }
};

namespace kernels {

template <ConvGeometry G>
inline void pad_input_channel(const float* x_channel, float* buf) {
  pad_plane<G.pad_kind, G.in_h, G.in_w, G.pad_top, G.pad_bottom, G.pad_left, G.pad_right>(
      x_channel, buf);
}

// y[oc] += w[oc, ic] (*) buf  for every output channel oc, one input channel ic.
template <ConvGeometry G>
inline void conv2d_accumulate_channel(const float* buf, const float* w, std::size_t ic, float* y) {
  constexpr std::size_t Wp = G.padded_w();
  constexpr std::size_t plane = G.out_h * G.out_w;
  for (std::size_t oc = 0; oc < G.out_c; ++oc) {
    const float* wk = w + (oc * G.in_c + ic) * G.kernel_h * G.kernel_w;
    float* yc = y + oc * plane;
    for (std::size_t oh = 0; oh < G.out_h; ++oh) {
      float* yr = yc + oh * G.out_w;
      for (std::size_t kh = 0; kh < G.kernel_h; ++kh) {
        const float* br = buf + (oh * G.stride_h + kh * G.dilation_h) * Wp;
        for (std::size_t kw = 0; kw < G.kernel_w; ++kw) {
          const float wv = wk[kh * G.kernel_w + kw];
          const float* bk = br + kw * G.dilation_w;
          for (std::size_t ow = 0; ow < G.out_w; ++ow) yr[ow] += wv * bk[ow * G.stride_w];
        }
      }
    }
  }
}

template <ConvGeometry G>
void conv2d_forward(const float* x, float* y, const float* w, const float* b, std::size_t batch) {
  constexpr std::size_t plane = G.out_h * G.out_w;
  alignas(64) float buf[G.padded_h() * G.padded_w()];
  for (std::size_t n = 0; n < batch; ++n) {
    const float* xn = x + n * G.in_size();
    float* yn = y + n * G.out_size();
    for (std::size_t oc = 0; oc < G.out_c; ++oc) {
      const float init = G.bias ? b[oc] : 0.0f;
      for (std::size_t i = 0; i < plane; ++i) yn[oc * plane + i] = init;
    }
    for (std::size_t ic = 0; ic < G.in_c; ++ic) {
      pad_input_channel<G>(xn + ic * G.in_h * G.in_w, buf);
      conv2d_accumulate_channel<G>(buf, w, ic, yn);
    }
  }
}

// dx = conv2d_transpose(dy, w), overwritten.
template <ConvGeometry G>
void conv2d_backward_data(const float* dy, float* dx, const float* w, std::size_t batch) {
  constexpr std::size_t Wp = G.padded_w();
  constexpr std::size_t plane = G.out_h * G.out_w;
  constexpr std::size_t kernel = G.kernel_h * G.kernel_w;
  alignas(64) float dbuf[G.padded_h() * Wp];
  for (std::size_t n = 0; n < batch; ++n) {
    const float* dyn = dy + n * G.out_size();
    for (std::size_t ic = 0; ic < G.in_c; ++ic) {
      for (auto& v : dbuf) v = 0.0f;
      for (std::size_t oc = 0; oc < G.out_c; ++oc) {
        const float* dyc = dyn + oc * plane;
        const float* wk = w + (oc * G.in_c + ic) * kernel;
        for (std::size_t oh = 0; oh < G.out_h; ++oh) {
          const float* dyr = dyc + oh * G.out_w;
          for (std::size_t kh = 0; kh < G.kernel_h; ++kh) {
            float* dr = dbuf + (oh * G.stride_h + kh * G.dilation_h) * Wp;
            for (std::size_t kw = 0; kw < G.kernel_w; ++kw) {
              const float wv = wk[kh * G.kernel_w + kw];
              float* dk = dr + kw * G.dilation_w;
              for (std::size_t ow = 0; ow < G.out_w; ++ow) dk[ow * G.stride_w] += wv * dyr[ow];
            }
          }
        }
      }
      float* dxc = dx + n * G.in_size() + ic * G.in_h * G.in_w;
      for (std::size_t i = 0; i < G.in_h * G.in_w; ++i) dxc[i] = 0.0f;
      unpad_plane_add<G.pad_kind, G.in_h, G.in_w, G.pad_top, G.pad_bottom, G.pad_left,
                      G.pad_right>(dbuf, dxc);
    }
  }
}

// dw += x (*) dy; db += sum dy.
template <ConvGeometry G>
void conv2d_backward_weights(const float* x, const float* dy, float* dw, float* db,
                             std::size_t batch) {
  constexpr std::size_t Wp = G.padded_w();
  constexpr std::size_t plane = G.out_h * G.out_w;
  constexpr std::size_t kernel = G.kernel_h * G.kernel_w;
  alignas(64) float buf[G.padded_h() * Wp];
  for (std::size_t n = 0; n < batch; ++n) {
    const float* xn = x + n * G.in_size();
    const float* dyn = dy + n * G.out_size();
    for (std::size_t ic = 0; ic < G.in_c; ++ic) {
      pad_input_channel<G>(xn + ic * G.in_h * G.in_w, buf);
      for (std::size_t oc = 0; oc < G.out_c; ++oc) {
        const float* dyc = dyn + oc * plane;
        float* dwk = dw + (oc * G.in_c + ic) * kernel;
        for (std::size_t kh = 0; kh < G.kernel_h; ++kh) {
          for (std::size_t kw = 0; kw < G.kernel_w; ++kw) {
            float acc = 0.0f;
            for (std::size_t oh = 0; oh < G.out_h; ++oh) {
              const float* br = buf + (oh * G.stride_h + kh * G.dilation_h) * Wp + kw * G.dilation_w;
              const float* dyr = dyc + oh * G.out_w;
              for (std::size_t ow = 0; ow < G.out_w; ++ow) acc += dyr[ow] * br[ow * G.stride_w];
            }
            dwk[kh * G.kernel_w + kw] += acc;
          }
        }
      }
    }
    if constexpr (G.bias) {
      for (std::size_t oc = 0; oc < G.out_c; ++oc) {
        float acc = 0.0f;
        for (std::size_t i = 0; i < plane; ++i) acc += dyn[oc * plane + i];
        db[oc] += acc;
      }
    }
  }
}

// dx = conv2d_transpose(dy, w) (skipped when dx is null); dw += x (*) dy; db += sum dy.
template <ConvGeometry G>
void conv2d_backward(const float* x, const float* dy, float* dx, const float* w, float* dw,
                     float* db, std::size_t batch) {
  conv2d_backward_weights<G>(x, dy, dw, db, batch);
  if (dx) conv2d_backward_data<G>(dy, dx, w, batch);
}

}  // namespace kernels
}  // namespace ctcnn
