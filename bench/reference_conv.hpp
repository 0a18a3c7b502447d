// bench/reference_conv.hpp
// The baseline every conv figure is compared with: a plain direct convolution
// whose shape is a run-time value, written the way a straightforward library
// would (loops over n, o, oh, ow, c, kh, kw with bounds checks for padding).
// Zero padding, any stride; it is what ctcnn's compile-time specialisation has
// to beat by a wide margin to be worth its compile time.
//
// Layouts (PyTorch): x (N, C, H, W)  w (O, C, KH, KW)  b (O)  y (N, O, OH, OW)
#pragma once

#include <cstddef>

namespace bench {

struct ConvDims {
  std::size_t in_c, in_h, in_w, out_c, out_h, out_w, kernel, stride, pad;
};

inline void reference_conv_forward(const ConvDims& d, const float* x, const float* w,
                                   const float* b, float* y, std::size_t batch) {
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t o = 0; o < d.out_c; ++o)
      for (std::size_t oh = 0; oh < d.out_h; ++oh)
        for (std::size_t ow = 0; ow < d.out_w; ++ow) {
          float acc = b[o];
          for (std::size_t c = 0; c < d.in_c; ++c)
            for (std::size_t kh = 0; kh < d.kernel; ++kh) {
              const long ih = static_cast<long>(oh * d.stride + kh) - static_cast<long>(d.pad);
              if (ih < 0 || ih >= static_cast<long>(d.in_h)) continue;
              for (std::size_t kw = 0; kw < d.kernel; ++kw) {
                const long iw = static_cast<long>(ow * d.stride + kw) - static_cast<long>(d.pad);
                if (iw < 0 || iw >= static_cast<long>(d.in_w)) continue;
                acc += x[((n * d.in_c + c) * d.in_h + static_cast<std::size_t>(ih)) * d.in_w +
                         static_cast<std::size_t>(iw)] *
                       w[((o * d.in_c + c) * d.kernel + kh) * d.kernel + kw];
              }
            }
          y[((n * d.out_c + o) * d.out_h + oh) * d.out_w + ow] = acc;
        }
}

// dx = conv_transpose(dy, w): each output gradient scatters into its window.
inline void reference_conv_backward_data(const ConvDims& d, const float* dy, const float* w,
                                         float* dx, std::size_t batch) {
  for (std::size_t i = 0; i < batch * d.in_c * d.in_h * d.in_w; ++i) dx[i] = 0.0f;
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t o = 0; o < d.out_c; ++o)
      for (std::size_t oh = 0; oh < d.out_h; ++oh)
        for (std::size_t ow = 0; ow < d.out_w; ++ow) {
          const float g = dy[((n * d.out_c + o) * d.out_h + oh) * d.out_w + ow];
          for (std::size_t c = 0; c < d.in_c; ++c)
            for (std::size_t kh = 0; kh < d.kernel; ++kh) {
              const long ih = static_cast<long>(oh * d.stride + kh) - static_cast<long>(d.pad);
              if (ih < 0 || ih >= static_cast<long>(d.in_h)) continue;
              for (std::size_t kw = 0; kw < d.kernel; ++kw) {
                const long iw = static_cast<long>(ow * d.stride + kw) - static_cast<long>(d.pad);
                if (iw < 0 || iw >= static_cast<long>(d.in_w)) continue;
                dx[((n * d.in_c + c) * d.in_h + static_cast<std::size_t>(ih)) * d.in_w +
                   static_cast<std::size_t>(iw)] +=
                    g * w[((o * d.in_c + c) * d.kernel + kh) * d.kernel + kw];
              }
            }
        }
}

// dw = sum_n x (*) dy, db = sum dy (overwritten, not accumulated).
inline void reference_conv_backward_weights(const ConvDims& d, const float* x, const float* dy,
                                            float* dw, float* db, std::size_t batch) {
  for (std::size_t i = 0; i < d.out_c * d.in_c * d.kernel * d.kernel; ++i) dw[i] = 0.0f;
  for (std::size_t o = 0; o < d.out_c; ++o) db[o] = 0.0f;
  for (std::size_t n = 0; n < batch; ++n)
    for (std::size_t o = 0; o < d.out_c; ++o)
      for (std::size_t oh = 0; oh < d.out_h; ++oh)
        for (std::size_t ow = 0; ow < d.out_w; ++ow) {
          const float g = dy[((n * d.out_c + o) * d.out_h + oh) * d.out_w + ow];
          db[o] += g;
          for (std::size_t c = 0; c < d.in_c; ++c)
            for (std::size_t kh = 0; kh < d.kernel; ++kh) {
              const long ih = static_cast<long>(oh * d.stride + kh) - static_cast<long>(d.pad);
              if (ih < 0 || ih >= static_cast<long>(d.in_h)) continue;
              for (std::size_t kw = 0; kw < d.kernel; ++kw) {
                const long iw = static_cast<long>(ow * d.stride + kw) - static_cast<long>(d.pad);
                if (iw < 0 || iw >= static_cast<long>(d.in_w)) continue;
                dw[((o * d.in_c + c) * d.kernel + kh) * d.kernel + kw] +=
                    g * x[((n * d.in_c + c) * d.in_h + static_cast<std::size_t>(ih)) * d.in_w +
                          static_cast<std::size_t>(iw)];
              }
            }
        }
}

}  // namespace bench
