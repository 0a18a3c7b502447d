// ctcnn/kernels/conv2d.hpp
// Direct 2-d convolution (cross-correlation, as PyTorch), forward and backward,
// for one fixed geometry. No im2col: each input channel is copied once into a
// small padded plane on the stack (which makes every padding mode the same loop),
// then every output channel accumulates from it with the kernel window unrolled
// and the output row as the vectorised inner loop.
//
// Layouts: x (N, C, H, W)   w (O, C, KH, KW)   b (O)   y (N, O, OH, OW)
#pragma once

#include <array>
#include <cstddef>
#include <utility>

#include "ctcnn/core/options.hpp"
#include "ctcnn/core/simd.hpp"
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
void conv2d_forward_generic(const float* x, float* y, const float* w, const float* b,
                            std::size_t batch) {
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
void conv2d_backward_data_generic(const float* dy, float* dx, const float* w,
                                  std::size_t batch) {
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
void conv2d_backward_weights_generic(const float* x, const float* dy, float* dw, float* db,
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

// ---- specialised kernels -------------------------------------------------------
// Each geometry picks, at compile time, which axis sits in the SIMD lanes:
//  - output channels ("channel lanes"): weights packed as (C, KH, KW, O) padded to
//    whole vectors; a register tile of R output rows x TW output columns x OB
//    vectors of channels; every input value is broadcast once per tap and feeds
//    OB fused multiply-adds. Used when channels fill the lanes at least as well
//    as columns do (S2..S7, LeNet's 6->16).
//  - output columns ("column lanes"): vectors of consecutive output columns, a
//    tile of R rows x CV vectors x OCB channels, weights broadcast from the
//    PyTorch layout. Used when channels are few and stride is 1 (LeNet's 1->6).
// The kernel window and the register tile are fully unrolled; channels and tiles
// are loops with constant bounds. Padded input rows are copied into small stack
// buffers (which also makes every padding mode the same loop); nothing is
// allocated on the heap. Backward-data with stride 1 and zero padding is the
// forward kernel of the transposed geometry (dy padded by dilation*(K-1) - pad,
// weights flipped and transposed while packing); other cases use the plain loops.

namespace conv_detail {

constexpr std::size_t ceil_div(std::size_t a, std::size_t b) { return (a + b - 1) / b; }
constexpr std::size_t min_of(std::size_t a, std::size_t b) { return a < b ? a : b; }
constexpr std::size_t max_of(std::size_t a, std::size_t b) { return a > b ? a : b; }

// Stack buffers above this many floats fall back to the plain loops rather than
// risk a thread's stack (OpenMP workers get the default pthread stack).
inline constexpr std::size_t stack_floats = std::size_t{1} << 18;  // 1 MiB

// Accumulators a tile may use: the register file less room for the operands.
inline constexpr std::size_t tile_budget = simd::registers >= 32 ? 28 : 12;

// Hides where a pointer came from, so the compiler cannot carry values loaded in
// one tap over to the next (predictive commoning), which costs more registers
// than the loads it saves.
template <class T>
[[gnu::always_inline]] inline void opaque(T*& p) {
  asm("" : "+r"(p));
}

// Fraction of lanes doing useful work, times 1000, when `n` items fill vectors.
constexpr std::size_t lane_use(std::size_t n) {
  return 1000 * n / (ceil_div(n, simd::lanes) * simd::lanes);
}

// ---- channel lanes ----
template <ConvGeometry G>
struct ChannelPlan {
  static constexpr std::size_t L = simd::lanes;
  static constexpr std::size_t ocv = ceil_div(G.out_c, L);
  static constexpr std::size_t ocp = ocv * L;
  static constexpr std::size_t ob = (simd::registers >= 32 && ocv % 2 == 0) ? 2 : 1;
  // Accumulators + OB weight vectors + one broadcast, with one register to
  // spare: at exactly 32 GCC spills an accumulator (measured on S5).
  static constexpr std::size_t tmax = min_of(24, (tile_budget - ob) / ob);
  static constexpr bool row_tiles = G.out_w <= tmax;  // whole rows, several at once
  static constexpr std::size_t tw =
      row_tiles ? G.out_w : ceil_div(G.out_w, ceil_div(G.out_w, tmax));
  static constexpr std::size_t col_tiles = ceil_div(G.out_w, tw);
  static constexpr std::size_t tw_tail = G.out_w - (col_tiles - 1) * tw;
  static constexpr std::size_t rows = row_tiles ? min_of(G.out_h, max_of(1, tmax / G.out_w)) : 1;
  static constexpr std::size_t row_tiles_full = G.out_h / rows;
  static constexpr std::size_t rows_tail = G.out_h % rows;
  // Without padding the tile reads x in place; otherwise a band of padded rows,
  // unless the tiles skip every tap that reads zero padding exactly: one output
  // row a tile (its live kernel rows are those of that row) and each column
  // tile's first column known at compile time (one or two column tiles). Then
  // they never read the padding either, and x is read in place from an origin
  // pad_top rows above and pad_left columns left of it (S7: the band copy was
  // ~11% of its forward).
  static constexpr bool unpadded =
      G.pad_top == 0 && G.pad_bottom == 0 && G.pad_left == 0 && G.pad_right == 0;
  static constexpr bool in_place =
      unpadded || (G.pad_kind == PadKind::zeros && rows == 1 && col_tiles <= 2);
  static constexpr std::size_t band_rows_for(std::size_t r) {
    return (r - 1) * G.stride_h + (G.kernel_h - 1) * G.dilation_h + 1;
  }
  // Input channels per pass: the weights of one pass (channels x taps x OB
  // vectors) stay in L1 (~24 KiB) while every tile of the pass uses them;
  // partial sums wait in `partial` (internal layout) between passes. One pass
  // when all channels fit.
  static constexpr std::size_t c_block_max =
      max_of(1, 6144 / (G.kernel_h * G.kernel_w * ob * L));
  static constexpr std::size_t c_block = ceil_div(G.in_c, ceil_div(G.in_c, c_block_max));
  static constexpr std::size_t c_blocks = ceil_div(G.in_c, c_block);
  // Output rows one pass covers: with several passes, as many whole row tiles
  // as keep their partial sums within ~16 KiB, so that a pass's weights serve
  // more than the few tiles of one row tile (S7: 8 rows of 8 columns, whose
  // 72 KiB of weights came from L2 for every row).
  static constexpr std::size_t pass_rows =
      c_blocks == 1 ? rows : min_of(row_tiles_full, max_of(1, 4096 / (rows * G.out_w * ocp))) * rows;
  // Output rows whose input one band holds: the whole sample when its padded
  // rows fit in ~128 KiB (L2; each input row copied once), otherwise as many
  // row groups as fit (a band of one row group would copy each input row
  // band_h / stride times: 3x for S5). In place: one pass's rows.
  static constexpr std::size_t band_budget = 32768;
  static constexpr std::size_t group_rows = [] {
    if (in_place) return pass_rows;
    if (G.in_c * band_rows_for(G.out_h) * G.padded_w() <= band_budget) return G.out_h;
    std::size_t g = rows;
    while (g + rows < G.out_h && G.in_c * band_rows_for(g + rows) * G.padded_w() <= band_budget)
      g += rows;
    return g;
  }();
  static constexpr std::size_t band_h = band_rows_for(group_rows);
  static constexpr std::size_t x_row = in_place ? G.in_w : G.padded_w();
  static constexpr std::size_t x_chan = in_place ? G.in_h * G.in_w : band_h * G.padded_w();
  static constexpr std::size_t band_size = in_place ? 1 : G.in_c * band_h * G.padded_w();
  static constexpr std::size_t packed_size = G.in_c * G.kernel_h * G.kernel_w * ocp;
  static constexpr std::size_t partial_size = c_blocks > 1 ? pass_rows * G.out_w * ocp : 1;
  static constexpr bool fits = band_size + packed_size + ocp + partial_size <= stack_floats;
};

// The lanes x lanes block of src (row stride SrcStride) at row i0, column j0,
// transposed: blk[j] holds column j0 + j of rows i0.. (zero past row Rows and
// past column Cols).
template <std::size_t Rows, std::size_t Cols, std::size_t SrcStride>
[[gnu::always_inline]] inline void load_transposed(const float* src, std::size_t i0, std::size_t j0,
                                                   simd::vec (&blk)[simd::lanes]) {
  constexpr std::size_t L = simd::lanes;
  const std::size_t n = Cols - j0 < L ? Cols - j0 : L;
#pragma GCC unroll 64
  for (std::size_t i = 0; i < L; ++i) {
    const float* s = src + (i0 + i) * SrcStride + j0;
    blk[i] = i0 + i >= Rows ? simd::zero() : n == L ? simd::load(s) : simd::load_first(s, n);
  }
  simd::transpose(blk);
}

// dst[j * DstStride + i] = src[i * SrcStride + j] for j < Cols and i < Rows, zeros
// for Rows <= i < RowsPadded (a whole number of vectors): a matrix transposed in
// lanes x lanes blocks in registers. Weights are packed on every call, so at
// N=1 a scalar copy cost S7 a third of its time.
template <std::size_t Rows, std::size_t RowsPadded, std::size_t Cols, std::size_t SrcStride,
          std::size_t DstStride>
inline void transpose_into(const float* src, float* dst) {
  constexpr std::size_t L = simd::lanes;
  for (std::size_t i0 = 0; i0 < RowsPadded; i0 += L)
    for (std::size_t j0 = 0; j0 < Cols; j0 += L) {
      simd::vec blk[L];
      load_transposed<Rows, Cols, SrcStride>(src, i0, j0, blk);
#pragma GCC unroll 64
      for (std::size_t j = 0; j < L; ++j)
        if (j0 + j < Cols) simd::store(dst + (j0 + j) * DstStride + i0, blk[j]);
    }
}

// dst[j * DstStride + i] += src[i * SrcStride + j] for i < Rows and j < Cols, in
// lanes x lanes blocks transposed in registers: the same additions as a scalar
// loop, which at N=1 spent longer striding through src than S7's whole weight
// gradient took to compute.
template <std::size_t Rows, std::size_t Cols, std::size_t SrcStride, std::size_t DstStride>
inline void add_transposed(const float* src, float* dst) {
  constexpr std::size_t L = simd::lanes;
  for (std::size_t i0 = 0; i0 < Rows; i0 += L) {
    const std::size_t m = Rows - i0 < L ? Rows - i0 : L;
    for (std::size_t j0 = 0; j0 < Cols; j0 += L) {
      simd::vec blk[L];
      load_transposed<Rows, Cols, SrcStride>(src, i0, j0, blk);
#pragma GCC unroll 64
      for (std::size_t j = 0; j < L; ++j) {
        if (j0 + j >= Cols) continue;
        float* d = dst + (j0 + j) * DstStride + i0;
        if (m == L)
          simd::store(d, simd::add(simd::load(d), blk[j]));
        else
          simd::store_first(d, simd::add(simd::load_first(d, m), blk[j]), m);
      }
    }
  }
}

// Packed weights (C, KH, KW, O padded to whole vectors): w as an (O, C*KH*KW)
// matrix transposed. Flip: w is the weight of the transposed convolution, read
// from the original (C_out=this in_c, ...) tensor flipped in both spatial axes
// (backward-data).
template <ConvGeometry G, bool Flip>
inline void pack_channel_weights(const float* w, float* packed) {
  constexpr std::size_t ocp = ChannelPlan<G>::ocp, L = simd::lanes;
  constexpr std::size_t kk = G.kernel_h * G.kernel_w;
  if constexpr (Flip) {
    alignas(64) float taps[kk * ocp];
    for (std::size_t c = 0; c < G.in_c; ++c) {
      transpose_into<G.out_c, ocp, kk, kk, ocp>(w + c * G.out_c * kk, taps);
      for (std::size_t k = 0; k < kk; ++k)
        for (std::size_t o = 0; o < ocp; o += L)
          simd::store(packed + (c * kk + k) * ocp + o, simd::load(taps + (kk - 1 - k) * ocp + o));
    }
  } else {
    transpose_into<G.out_c, ocp, G.in_c * kk, G.in_c * kk, ocp>(w, packed);
  }
}

// Zero padding (or none): the columns of a band outside the input stay zeros
// from one fill to the next, so a band zeroed once (zero_band) is filled by
// writing the input columns only (S7: a 16-float row in an 18-float band row).
template <ConvGeometry G>
constexpr bool band_keeps_zeros() {
  return G.pad_kind == PadKind::zeros ||
         (G.pad_top == 0 && G.pad_bottom == 0 && G.pad_left == 0 && G.pad_right == 0);
}
template <ConvGeometry G, std::size_t Size>
inline void zero_band(float (&band)[Size]) {
  if constexpr (band_keeps_zeros<G>())
    for (auto& v : band) v = 0.0f;
}

// Zero padding: a tap that reads only padding adds nothing, so the tiles skip
// it, as oneDNN does. What that saves is largest where the padding is wide: a
// stride-1 backward-data is the forward of the transposed geometry, padded by
// K-1 - pad (S4: 4 on each side of 20x20, where a third of the taps of its
// 24x24 outputs read zeros).
template <ConvGeometry G>
constexpr bool skips_padding_taps() {
  return G.pad_kind == PadKind::zeros &&
         (G.pad_top > 0 || G.pad_bottom > 0 || G.pad_left > 0 || G.pad_right > 0);
}

struct TapRange {
  std::size_t lo, hi;
};
// The kernel rows [lo, hi) that reach an input row (not padding) from at least
// one of `rows` output rows starting at oh0.
template <ConvGeometry G>
constexpr TapRange live_kernel_rows(std::size_t oh0, std::size_t rows) {
  if constexpr (!skips_padding_taps<G>()) {
    return {0, G.kernel_h};
  } else {
    const std::size_t top = oh0 * G.stride_h, bottom = (oh0 + rows - 1) * G.stride_h;
    const std::size_t first = G.pad_top, end = G.pad_top + G.in_h;  // input rows, padded
    const std::size_t lo = bottom >= first ? 0 : ceil_div(first - bottom, G.dilation_h);
    const std::size_t hi = top >= end ? 0 : min_of(G.kernel_h, ceil_div(end - top, G.dilation_h));
    return {lo, hi > lo ? hi : lo};
  }
}
// Whether output column ow reads an input column (not padding) through kernel column kw.
template <ConvGeometry G>
constexpr bool live_kernel_column(std::size_t ow, std::size_t kw) {
  const std::size_t pc = ow * G.stride_w + kw * G.dilation_w;
  return !skips_padding_taps<G>() || (pc >= G.pad_left && pc < G.pad_left + G.in_w);
}
// A tile's first output column when it is not known at compile time.
inline constexpr std::size_t unknown_column = ~std::size_t{0};

// band (C, Rows, RowStride) <- padded rows [ph0, ph0 + Rows) of every channel of
// x (C, H, W), zeros beyond the padded width (and below the padded height).
// With band_keeps_zeros, only the input columns are written: the band must have
// been through zero_band first.
template <ConvGeometry G, std::size_t Rows, std::size_t RowStride>
inline void fill_band(const float* x, float* band, std::size_t ph0) {
  constexpr std::size_t Wp = G.padded_w(), L = simd::lanes;
  constexpr std::size_t whole = G.in_w / L * L, tail = G.in_w - whole;
  constexpr bool kept = band_keeps_zeros<G>();
  constexpr auto& row_src = padded_source_table<G.pad_kind, G.pad_top, G.in_h, G.pad_bottom>;
  constexpr auto& col_src = padded_source_table<G.pad_kind, G.pad_left, G.in_w, G.pad_right>;
  for (std::size_t c = 0; c < G.in_c; ++c) {
    const float* xc = x + c * G.in_h * G.in_w;
    for (std::size_t r = 0; r < Rows; ++r) {
      float* out = band + (c * Rows + r) * RowStride;
      float* mid = out + G.pad_left;
      const std::size_t ph = ph0 + r;
      if (ph >= G.padded_h() || row_src[ph] < 0) {
        if constexpr (kept) {
          for (std::size_t i = 0; i < whole; i += L) simd::store(mid + i, simd::zero());
          if constexpr (tail > 0) simd::store_first(mid + whole, simd::zero(), tail);
        } else {
          for (std::size_t i = 0; i < RowStride; ++i) out[i] = 0.0f;
        }
        continue;
      }
      const float* in = xc + static_cast<std::size_t>(row_src[ph]) * G.in_w;
      for (std::size_t i = 0; i < whole; i += L) simd::store(mid + i, simd::load(in + i));
      if constexpr (tail > 0) simd::store_first(mid + whole, simd::load_first(in + whole, tail), tail);
      if constexpr (!kept) {
        for (std::size_t pw = 0; pw < G.pad_left; ++pw)
          out[pw] = col_src[pw] < 0 ? 0.0f : in[col_src[pw]];
        for (std::size_t pw = G.pad_left + G.in_w; pw < Wp; ++pw)
          out[pw] = col_src[pw] < 0 ? 0.0f : in[col_src[pw]];
        for (std::size_t i = Wp; i < RowStride; ++i) out[i] = 0.0f;
      }
    }
  }
}

// The cache lines of [p, p + N) on their way in (Write: for writing; Level 3 =
// L1, 2 = L2): one prefetch per 16 floats and one for the last, a fixed count
// (a loop over the lines themselves mispredicts its exit as alignments vary).
template <std::size_t N, bool Write, int Level>
[[gnu::always_inline]] inline void prefetch_span(const float* p) {
#pragma GCC unroll 64
  for (std::size_t i = 0; i < N; i += 16) __builtin_prefetch(p + i, Write ? 1 : 0, Level);
  if constexpr (N % 16 != 1) __builtin_prefetch(p + N - 1, Write ? 1 : 0, Level);
}

// Padded rows [ph_lo, ph_hi) of every channel of x (C, H, W) on their way to L2.
template <ConvGeometry G>
inline void prefetch_rows(const float* x, std::size_t ph_lo, std::size_t ph_hi) {
  constexpr auto& row_src = padded_source_table<G.pad_kind, G.pad_top, G.in_h, G.pad_bottom>;
  for (std::size_t ph = ph_lo; ph < ph_hi && ph < G.padded_h(); ++ph) {
    if (row_src[ph] < 0) continue;
    for (std::size_t c = 0; c < G.in_c; ++c)
      prefetch_span<G.in_w, false, 2>(x + (c * G.in_h + static_cast<std::size_t>(row_src[ph])) * G.in_w);
  }
}

// Where a kernel's outputs go, in floats: from one channel to the next, one row
// to the next, one column to the next. Dense (O, OH, OW) unless a stride-s
// backward-data phase writes every s-th element of dx.
struct OutLayout {
  std::size_t plane, row, col;
};
template <ConvGeometry G>
inline constexpr OutLayout dense_out{G.out_h * G.out_w, G.out_w, 1};

// One register tile: R rows x TW columns x OB vectors of output channels.
// x: the tile's top-left input (channel 0); wp/bp: packed weights/bias at the
// tile's first channel; y: output at (oc0, oh0, ow0); oc_left: channels from oc0 on.
// Channels [c0, c1): First starts from the bias, otherwise from the partial sums
// (partial: positions x ocp, at the tile's first position and channel); Last
// writes the output (laid out as Out), otherwise the partial sums. Kernel rows
// [kh.lo, kh.hi) only; Ow0: the tile's first output column, when known at compile
// time the taps that read only zero padding are left out. Z: where the zeros are
// (G itself, or a geometry whose padding is the zero border of G's input).
template <ConvGeometry G, std::size_t R, std::size_t TW, std::size_t OB, std::size_t XRow,
          std::size_t XChan, bool First, bool Last, OutLayout Out, std::size_t Ow0, ConvGeometry Z>
[[gnu::always_inline]] inline void channel_tile(const float* x, const float* wp, const float* bp,
                                                float* y, std::size_t oc_left, float* partial,
                                                std::size_t c0, std::size_t c1, TapRange kh_range) {
  using simd::vec;
  constexpr std::size_t L = simd::lanes;
  constexpr std::size_t ocp = ChannelPlan<G>::ocp;
  constexpr std::size_t kk = G.kernel_h * G.kernel_w;
  // partial row stride: one output row of positions
  auto part = [&](std::size_t i, std::size_t b) {
    return partial + ((i / TW) * G.out_w + i % TW) * ocp + b * L;
  };
  vec acc[R * TW][OB];
#pragma GCC unroll 64
  for (std::size_t i = 0; i < R * TW; ++i)
#pragma GCC unroll 8
    for (std::size_t b = 0; b < OB; ++b) {
      if constexpr (First)
        acc[i][b] = G.bias ? simd::load(bp + b * L) : simd::zero();
      else
        acc[i][b] = simd::load(part(i, b));
    }
  // The lines this tile will write, while it computes (dense rows only: for
  // the strided rows of a backward-data phase it cost S7 7%).
  if constexpr (Last && Out.col == 1) {
    const std::size_t n = oc_left < OB * L ? oc_left : OB * L;
    for (std::size_t o = 0; o < n; ++o)
#pragma GCC unroll 16
      for (std::size_t r = 0; r < R; ++r)
        prefetch_span<(TW - 1) * Out.col + 1, true, 3>(y + o * Out.plane + r * Out.row);
  }
  for (std::size_t c = c0; c < c1; ++c) {
    const float* xc = x + c * XChan;
    const float* wc = wp + c * kk * ocp;
    // The window stays a loop (constant bounds): unrolled, GCC shares each input
    // broadcast between the taps that read it and runs out of registers for the
    // accumulators (measured: 600 spilling FMAs against 24 clean ones per tap).
#pragma GCC unroll 1
    for (std::size_t kh = kh_range.lo; kh < kh_range.hi; ++kh)
#pragma GCC unroll 16
      for (std::size_t kw = 0; kw < G.kernel_w; ++kw) {
        vec wv[OB];
#pragma GCC unroll 8
        for (std::size_t b = 0; b < OB; ++b) wv[b] = simd::load(wc + (kh * G.kernel_w + kw) * ocp + b * L);
        const float* xk = xc + kh * G.dilation_h * XRow + kw * G.dilation_w;
        opaque(xk);
#pragma GCC unroll 64
        for (std::size_t i = 0; i < R * TW; ++i) {
          const std::size_t r = i / TW, t = i % TW;
          if (Ow0 != unknown_column && !live_kernel_column<Z>(Ow0 + t, kw)) continue;
          const vec xv = simd::broadcast(xk[r * G.stride_h * XRow + t * G.stride_w]);
#pragma GCC unroll 8
          for (std::size_t b = 0; b < OB; ++b) acc[i][b] = simd::fmadd(xv, wv[b], acc[i][b]);
        }
      }
  }
  if constexpr (!Last) {
#pragma GCC unroll 64
    for (std::size_t i = 0; i < R * TW; ++i)
#pragma GCC unroll 8
      for (std::size_t b = 0; b < OB; ++b) simd::store(part(i, b), acc[i][b]);
    return;
  }
  // Out through a small scratch (whole-vector stores, which also keeps the
  // accumulators' registers apart from what follows): each block of up to L
  // positions of one row x L channels is read back, transposed in registers
  // and stored one channel at a time, a row segment of up to L elements
  // (scalar stores, one per element, cost S4..S7 10-30%).
  alignas(64) float scratch[R * TW][OB * L];
#pragma GCC unroll 64
  for (std::size_t i = 0; i < R * TW; ++i)
#pragma GCC unroll 8
    for (std::size_t b = 0; b < OB; ++b) simd::store(&scratch[i][b * L], acc[i][b]);
  // The scratch really goes through memory: kept in registers (GCC forwards the
  // stores to the loads), the transposes' live ranges reach back into the FMA
  // loop, which then shuffles accumulators between registers (S7's tile: 104
  // against 132 GFLOP/s without the output path).
  asm volatile("" : : "r"(&scratch[0][0]) : "memory");
#pragma GCC unroll 8
  for (std::size_t b = 0; b < OB; ++b) {
    if (b * L >= oc_left) break;
    const std::size_t oc_count = oc_left - b * L < L ? oc_left - b * L : L;
#pragma GCC unroll 16
    for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (std::size_t t0 = 0; t0 < TW; t0 += L) {
        const std::size_t n = TW - t0 < L ? TW - t0 : L;
        vec blk[L];
#pragma GCC unroll 64
        for (std::size_t t = 0; t < L; ++t)
          blk[t] = t < n ? simd::load(&scratch[r * TW + t0 + t][b * L]) : simd::zero();
        simd::transpose(blk);
        float* yr = y + b * L * Out.plane + r * Out.row + t0 * Out.col;
#pragma GCC unroll 64
        for (std::size_t o = 0; o < L; ++o)
          if (o < oc_count) simd::store_strided<Out.col>(yr + o * Out.plane, blk[o], n);
      }
  }
}

// `tiles` x R output rows from oh0 on, every output channel. xt: input of the
// first row (band or x in place); y: output at (oc 0, oh0, ow 0), laid out as
// Out; partial: room for the partial sums of those rows (several passes).
// Not inlined: register allocation of the tiles then ignores the caller's
// loops (inlined into the band loop, GCC spilled half of S4's accumulators).
template <ConvGeometry G, OutLayout Out, std::size_t R, ConvGeometry Z = G>
[[gnu::noinline]] void channel_row_group(const float* xt, float* y, const float* wp, const float* bp,
                                         float* partial, std::size_t oh0, std::size_t tiles) {
  using P = ChannelPlan<G>;
  constexpr std::size_t L = simd::lanes;
  // One pass over channels [c0, c1) for every channel block, row tile and
  // column tile: a block's weights for the pass serve all the tiles.
  auto pass = [&]<bool First, bool Last>(std::size_t c0, std::size_t c1) {
    for (std::size_t ob = 0; ob < P::ocv; ob += P::ob)
      for (std::size_t rt = 0; rt < tiles; ++rt) {
        const std::size_t oc0 = ob * L;
        const float* xr = xt + rt * R * G.stride_h * P::x_row;
        float* yt = y + oc0 * Out.plane + rt * R * Out.row;
        const float* wt = wp + oc0;
        const float* bt = bp + oc0;
        float* pt = partial + oc0 + rt * R * G.out_w * P::ocp;
        const TapRange kh = live_kernel_rows<Z>(oh0 + rt * R, R);
        // The first column tile's position is known when it is the only one in the loop.
        constexpr std::size_t loop_ow0 = P::col_tiles == 2 ? 0 : unknown_column;
        for (std::size_t ct = 0; ct + 1 < P::col_tiles; ++ct)
          channel_tile<G, R, P::tw, P::ob, P::x_row, P::x_chan, First, Last, Out, loop_ow0, Z>(
              xr + ct * P::tw * G.stride_w, wt, bt, yt + ct * P::tw * Out.col, G.out_c - oc0,
              pt + ct * P::tw * P::ocp, c0, c1, kh);
        constexpr std::size_t last = (P::col_tiles - 1) * P::tw;
        channel_tile<G, R, P::tw_tail, P::ob, P::x_row, P::x_chan, First, Last, Out, last, Z>(
            xr + last * G.stride_w, wt, bt, yt + last * Out.col, G.out_c - oc0, pt + last * P::ocp,
            c0, c1, kh);
      }
  };
  if constexpr (P::c_blocks == 1) {
    pass.template operator()<true, true>(0, G.in_c);
  } else {
    pass.template operator()<true, false>(0, P::c_block);
    for (std::size_t cb = 1; cb + 1 < P::c_blocks; ++cb)
      pass.template operator()<false, false>(cb * P::c_block, (cb + 1) * P::c_block);
    pass.template operator()<false, true>((P::c_blocks - 1) * P::c_block, G.in_c);
  }
}

// y (N, O, OH, OW) = x (N, C, H, W) (*) packed weights (+ packed bias).
template <ConvGeometry G>
inline void channel_forward(const float* x, float* y, const float* wp, const float* bp,
                            std::size_t batch) {
  using P = ChannelPlan<G>;
  alignas(64) float band[P::band_size];
  alignas(64) float partial[P::partial_size];
  zero_band<G>(band);
  for (std::size_t n = 0; n < batch; ++n) {
    const float* xn = x + n * G.in_size();
    float* yn = y + n * G.out_size();
    for (std::size_t g0 = 0; g0 < G.out_h; g0 += P::group_rows) {
      const std::size_t g1 = min_of(g0 + P::group_rows, G.out_h);
      if constexpr (!P::in_place) fill_band<G, P::band_h, G.padded_w()>(xn, band, g0 * G.stride_h);
      // The rows the next band (or the next sample's first) reads beyond this
      // one's go to L2 while this band computes, a slice per row group.
      const bool next_here = g1 < G.out_h;
      const float* x_next = next_here ? xn : xn + G.in_size();
      const std::size_t next_lo = next_here ? max_of(g1 * G.stride_h, g0 * G.stride_h + P::band_h) : 0;
      const std::size_t next_hi = (next_here ? g1 * G.stride_h : 0) + P::band_h;
      const std::size_t calls = ceil_div(g1 - g0, P::pass_rows);
      const bool prefetch = next_here || n + 1 < batch;
      auto row_group = [&]<std::size_t R>(std::size_t oh0, std::size_t tiles) {
        if (prefetch) {
          const std::size_t i = min_of((oh0 - g0) / P::pass_rows, calls - 1);
          const std::size_t span = next_hi - next_lo;
          prefetch_rows<G>(x_next, next_lo + i * span / calls, next_lo + (i + 1) * span / calls);
        }
        // In place: the tile's padded origin, which may lie before xn (only
        // the live taps, inside x, are read through it).
        constexpr std::ptrdiff_t pad_offset =
            static_cast<std::ptrdiff_t>(G.pad_top * G.in_w + G.pad_left);
        const float* xt =
            P::in_place
                ? xn + (static_cast<std::ptrdiff_t>(oh0 * G.stride_h * G.in_w) - pad_offset)
                : band + (oh0 - g0) * G.stride_h * G.padded_w();
        channel_row_group<G, dense_out<G>, R>(xt, yn + oh0 * G.out_w, wp, bp, partial, oh0, tiles);
      };
      std::size_t oh0 = g0;
      while (oh0 + P::rows <= g1) {
        const std::size_t tiles = min_of(P::pass_rows, g1 - oh0) / P::rows;
        row_group.template operator()<P::rows>(oh0, tiles);
        oh0 += tiles * P::rows;
      }
      if constexpr (P::rows_tail > 0)
        if (oh0 < g1) row_group.template operator()<P::rows_tail>(oh0, 1);
    }
  }
}

// Register tiles of vector lanes over outputs (column and plane lanes): r rows
// of `per_row` vectors x o channels. Cost of one tap, in tenths of a cycle: FMAs
// at two per cycle or loads (r*per_row vectors, o broadcasts) at about 2.5 per
// cycle, plus loop overhead; a tile of rr rows from r0 on runs live_taps(r0, rr)
// taps, fewer than the others only within `edge` rows of either end (where whole
// kernel rows read zero padding). Returns the (r, o) with the lowest cost over
// `rows` rows and `channels` channels, tails included, among the tiles whose
// accumulators and input vectors fit the registers.
template <class LiveTaps>
constexpr std::pair<std::size_t, std::size_t> cheapest_vector_tile(std::size_t rows,
                                                                   std::size_t per_row,
                                                                   std::size_t channels,
                                                                   std::size_t edge,
                                                                   LiveTaps live_taps) {
  auto tap_cost = [per_row](std::size_t r, std::size_t o) {
    return max_of(r * per_row * o * 5, (r * per_row + o) * 4) + 5;
  };
  std::size_t best_cost = ~std::size_t{0}, best_r = 1, best_o = 1;
  for (std::size_t o = 1; o <= channels; ++o)
    for (std::size_t r = 1; r <= rows; ++r) {
      if (r * per_row * (o + 1) + 1 > simd::registers || r * per_row * o > tile_budget) continue;
      const std::size_t of = channels / o, ot = channels % o;
      std::size_t cost = 0;
      for (std::size_t r0 = 0; r0 < rows;) {
        const std::size_t rr = min_of(r, rows - r0);
        // Tiles clear of both edges all cost the same (a plane's 16384 vectors
        // one at a time exceeded GCC's constexpr limit).
        const std::size_t same =
            r0 >= edge && r0 + r + edge <= rows ? (rows - edge - r0) / r : 1;
        cost += same * live_taps(r0, rr) * (of * tap_cost(rr, o) + (ot ? tap_cost(rr, ot) : 0));
        r0 += same * r;
      }
      if (cost < best_cost) {
        best_cost = cost;
        best_r = r;
        best_o = o;
      }
    }
  return {best_r, best_o};
}

// ---- column lanes ----
// With a horizontal stride s the padded rows are first split into their s
// column phases, x_pad[r, s*j + p] at j in phase p: output column ow reads
// x_pad[r, s*ow + kw*d] through kernel column kw, which is phase (kw*d) % s at
// ow + (kw*d) / s, so every tap of a row of outputs is one vector load, as with
// stride 1 (a vertical stride only picks rows).
template <ConvGeometry G>
struct ColumnPlan {
  static constexpr std::size_t L = simd::lanes;
  static constexpr std::size_t cv = ceil_div(G.out_w, L);
  static constexpr std::size_t S = G.stride_w;
  // Row tiles whose rows all read zero padding through a kernel row skip it: the
  // fewer rows a tile has, the more it skips (S2's backward-data, padded by 4).
  static constexpr std::size_t live_taps(std::size_t oh0, std::size_t r) {
    const TapRange kh = live_kernel_rows<G>(oh0, r);
    return kh.hi - kh.lo;
  }
  static constexpr auto tile =
      cheapest_vector_tile(G.out_h, cv, G.out_c, max_of(G.pad_top, G.pad_bottom), live_taps);
  static constexpr std::size_t ocb = tile.second;
  static constexpr std::size_t oc_blocks = G.out_c / ocb;
  static constexpr std::size_t ocb_tail = G.out_c % ocb;
  static constexpr std::size_t rows = tile.first;
  static constexpr std::size_t row_tiles_full = G.out_h / rows;
  static constexpr std::size_t rows_tail = G.out_h % rows;
  // Phases of phase_w columns, wide enough that the last vector of a row never
  // reads the next phase (it reads up to (KW-1)*d / s past the outputs), cut
  // from padded rows of s * phase_w floats (zeros past the padded width), so
  // every phase column has a source. With stride 1: the padded rows themselves.
  static constexpr std::size_t phase_w =
      max_of(cv * L + (G.kernel_w - 1) * G.dilation_w / S, ceil_div(G.padded_w(), S));
  static constexpr std::size_t row_stride = S * phase_w;
  static constexpr std::size_t buf_size = G.in_c * G.padded_h() * row_stride;
  static constexpr bool split = S > 1;
  static constexpr std::size_t phases_size = split ? buf_size : 1;
  // Where kernel column kw's input starts within a row of phases.
  static constexpr std::size_t kw_offset(std::size_t kw) {
    return (kw * G.dilation_w) % S * phase_w + kw * G.dilation_w / S;
  }
  static constexpr bool fits = buf_size + phases_size <= stack_floats / 4;
  // Splitting the rows (whole vectors for stride 2, else a float at a time), at
  // most about a cycle per float, spread over the outputs (x1000).
  static constexpr std::size_t split_cost =
      split ? 1000 * phases_size / (G.out_c * G.out_h * G.out_w) : 0;
};

// phases (C, padded rows, stride_w, phase_w) <- each band row (stride_w *
// phase_w floats) split by column phase; stride 2 in whole vectors.
template <ConvGeometry G>
inline void split_column_phases(const float* band, float* phases) {
  using P = ColumnPlan<G>;
  constexpr std::size_t L = simd::lanes, S = G.stride_w, PW = P::phase_w;
  for (std::size_t r = 0; r < G.in_c * G.padded_h(); ++r) {
    const float* src = band + r * S * PW;
    float* dst = phases + r * S * PW;
    std::size_t j = 0;
    if constexpr (S == 2)
      for (; j + L <= PW; j += L) {
        simd::vec even, odd;
        simd::deinterleave(simd::load(src + 2 * j), simd::load(src + 2 * j + L), even, odd);
        simd::store(dst + j, even);
        simd::store(dst + PW + j, odd);
      }
    for (; j < PW; ++j)
#pragma GCC unroll 8
      for (std::size_t p = 0; p < S; ++p) dst[p * PW + j] = src[j * S + p];
  }
}

// Weight (o, c, k) of the convolution in PyTorch layout, or of the transposed
// convolution whose weights are the original (c, o) flipped (backward-data).
template <ConvGeometry G, bool Flip>
[[gnu::always_inline]] inline float weight_at(const float* w, std::size_t o, std::size_t c,
                                              std::size_t k) {
  constexpr std::size_t kk = G.kernel_h * G.kernel_w;
  return Flip ? w[(c * G.out_c + o) * kk + (kk - 1 - k)] : w[(o * G.in_c + c) * kk + k];
}

// R rows x CV vectors of columns x OCB output channels from oc0 on, kernel rows
// [kh.lo, kh.hi) only (the others read zero padding for every row of the tile).
template <ConvGeometry G, bool Flip, std::size_t R, std::size_t OCB>
[[gnu::always_inline]] inline void column_tile(const float* xb, const float* w, const float* b,
                                               float* y, std::size_t oc0, TapRange kh_range) {
  using simd::vec;
  using P = ColumnPlan<G>;
  constexpr std::size_t L = simd::lanes, CV = P::cv, RS = P::row_stride;
  constexpr std::size_t plane = G.out_h * G.out_w;
  constexpr std::size_t chan = G.padded_h() * RS;
  vec acc[OCB][R][CV];
#pragma GCC unroll 32
  for (std::size_t o = 0; o < OCB; ++o) {
    const vec init = G.bias ? simd::broadcast(b[oc0 + o]) : simd::zero();
#pragma GCC unroll 32
    for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (std::size_t v = 0; v < CV; ++v) acc[o][r][v] = init;
  }
  for (std::size_t c = 0; c < G.in_c; ++c) {
    const float* xc = xb + c * chan;
#pragma GCC unroll 1
    for (std::size_t kh = kh_range.lo; kh < kh_range.hi; ++kh)
#pragma GCC unroll 1
      for (std::size_t kw = 0; kw < G.kernel_w; ++kw) {
        const float* xk = xc + kh * G.dilation_h * RS + P::kw_offset(kw);
        opaque(xk);
        vec xv[R][CV];
#pragma GCC unroll 32
        for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 8
          for (std::size_t v = 0; v < CV; ++v)
            xv[r][v] = simd::load(xk + r * G.stride_h * RS + v * L);
#pragma GCC unroll 32
        for (std::size_t o = 0; o < OCB; ++o) {
          const vec wv = simd::broadcast(weight_at<G, Flip>(w, oc0 + o, c, kh * G.kernel_w + kw));
#pragma GCC unroll 32
          for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 8
            for (std::size_t v = 0; v < CV; ++v) acc[o][r][v] = simd::fmadd(xv[r][v], wv, acc[o][r][v]);
        }
      }
  }
#pragma GCC unroll 32
  for (std::size_t o = 0; o < OCB; ++o)
#pragma GCC unroll 32
    for (std::size_t r = 0; r < R; ++r)
#pragma GCC unroll 8
      for (std::size_t v = 0; v < CV; ++v) {
        float* yo = y + (oc0 + o) * plane + r * G.out_w + v * L;
        if (v + 1 < CV || G.out_w % L == 0)
          simd::store(yo, acc[o][r][v]);
        else
          simd::store_first(yo, acc[o][r][v], G.out_w % L);
      }
}

template <ConvGeometry G, bool Flip>
inline void column_forward(const float* x, float* y, const float* w, const float* b,
                           std::size_t batch) {
  using P = ColumnPlan<G>;
  constexpr std::size_t RS = P::row_stride, tile_rows = P::rows * G.stride_h * RS;
  alignas(64) float buf[P::buf_size];
  alignas(64) float phases[P::phases_size];
  zero_band<G>(buf);
  for (std::size_t n = 0; n < batch; ++n) {
    fill_band<G, G.padded_h(), RS>(x + n * G.in_size(), buf, 0);
    if constexpr (P::split) split_column_phases<G>(buf, phases);
    const float* rows = P::split ? phases : buf;
    float* yn = y + n * G.out_size();
    // Channel block outermost: the padded input stays in L1 while each block
    // writes its few output planes front to back (a handful of store streams
    // rather than all O planes a few rows at a time).
    auto block = [&]<std::size_t OCB>(std::size_t oc0) {
      for (std::size_t rt = 0; rt < P::row_tiles_full; ++rt)
        column_tile<G, Flip, P::rows, OCB>(rows + rt * tile_rows, w, b,
                                           yn + rt * P::rows * G.out_w, oc0,
                                           live_kernel_rows<G>(rt * P::rows, P::rows));
      if constexpr (P::rows_tail > 0) {
        constexpr std::size_t r0 = P::row_tiles_full * P::rows;
        column_tile<G, Flip, P::rows_tail, OCB>(rows + P::row_tiles_full * tile_rows, w, b,
                                                yn + r0 * G.out_w, oc0,
                                                live_kernel_rows<G>(r0, P::rows_tail));
      }
    };
    // The next sample's input on its way to L2, a slice per channel block.
    constexpr std::size_t blocks = P::oc_blocks + (P::ocb_tail > 0 ? 1 : 0);
    auto prefetch_next = [&](std::size_t blk) {
      if (n + 1 < batch)
        prefetch_rows<G>(x + (n + 1) * G.in_size(), blk * G.padded_h() / blocks,
                         (blk + 1) * G.padded_h() / blocks);
    };
    for (std::size_t blk = 0; blk < P::oc_blocks; ++blk) {
      prefetch_next(blk);
      block.template operator()<P::ocb>(blk * P::ocb);
    }
    if constexpr (P::ocb_tail > 0) {
      prefetch_next(P::oc_blocks);
      block.template operator()<P::ocb_tail>(P::oc_blocks * P::ocb);
    }
  }
}

// ---- plane lanes (stride 1) ----
// Vectors of consecutive positions of the whole output plane, rows running into
// one another, so OH x OW outputs fill ceil(OH*OW / L) vectors however narrow the
// rows (S3's 24 columns fill 3/4 of two vectors as column lanes; its 576
// positions fill 36 whole ones). Position p = oh*OW + ow reads padded input
// (oh + kh*dh, ow + kw*dw). The padded input is kept as KW shifted copies
//   X_kw[c][ih][ow] = xpad[c][ih][ow + kw*dw]   (rows of OW columns),
// in which that is X_kw[c][p + kh*dh*OW]: one vector load per tap and tile row.
template <ConvGeometry G>
struct PlanePlan {
  using Band = ColumnPlan<G>;  // the padded rows the copies are cut from
  static constexpr std::size_t L = simd::lanes;
  static constexpr std::size_t positions = G.out_h * G.out_w;
  static constexpr std::size_t nv = ceil_div(positions, L);
  // One copy: the padded rows, OW columns each, and room for the last vector's
  // overrun (it reads at most L - 1 floats past the rows).
  static constexpr std::size_t copy_stride = G.padded_h() * G.out_w + L;
  static constexpr std::size_t copies_size = G.in_c * G.kernel_w * copy_stride;
  // R vectors of positions x O channels.
  static constexpr auto tile =
      cheapest_vector_tile(nv, 1, G.out_c, 0, [](std::size_t, std::size_t) { return G.kernel_h; });
  static constexpr std::size_t ocb = tile.second;
  static constexpr std::size_t oc_blocks = G.out_c / ocb;
  static constexpr std::size_t ocb_tail = G.out_c % ocb;
  static constexpr std::size_t vecs = tile.first;
  static constexpr std::size_t tiles_full = nv / vecs;
  static constexpr std::size_t vecs_tail = nv % vecs;
  static constexpr bool possible = G.stride_h == 1 && G.stride_w == 1;
  static constexpr bool fits = Band::buf_size + copies_size <= stack_floats / 4;
};

// R vectors of positions from v0 on x OCB channels from oc0 on. xc: the copies;
// y: output at (oc 0, position 0). Last: this tile holds the plane's last vector,
// which may be partial.
template <ConvGeometry G, bool Flip, std::size_t R, std::size_t OCB, bool Last>
[[gnu::always_inline]] inline void plane_tile(const float* xc, const float* w, const float* b,
                                              float* y, std::size_t v0, std::size_t oc0) {
  using simd::vec;
  using P = PlanePlan<G>;
  constexpr std::size_t L = simd::lanes, KW = G.kernel_w, CS = P::copy_stride;
  constexpr std::size_t plane = P::positions;
  vec acc[OCB][R];
#pragma GCC unroll 32
  for (std::size_t o = 0; o < OCB; ++o) {
    const vec init = G.bias ? simd::broadcast(b[oc0 + o]) : simd::zero();
#pragma GCC unroll 32
    for (std::size_t r = 0; r < R; ++r) acc[o][r] = init;
  }
  for (std::size_t c = 0; c < G.in_c; ++c) {
#pragma GCC unroll 1
    for (std::size_t kh = 0; kh < G.kernel_h; ++kh)
#pragma GCC unroll 1
      for (std::size_t kw = 0; kw < KW; ++kw) {
        const float* xk = xc + (c * KW + kw) * CS + kh * G.dilation_h * G.out_w + v0 * L;
        opaque(xk);
        vec xv[R];
#pragma GCC unroll 32
        for (std::size_t r = 0; r < R; ++r) xv[r] = simd::load(xk + r * L);
#pragma GCC unroll 32
        for (std::size_t o = 0; o < OCB; ++o) {
          const vec wv = simd::broadcast(weight_at<G, Flip>(w, oc0 + o, c, kh * KW + kw));
#pragma GCC unroll 32
          for (std::size_t r = 0; r < R; ++r) acc[o][r] = simd::fmadd(xv[r], wv, acc[o][r]);
        }
      }
  }
#pragma GCC unroll 32
  for (std::size_t o = 0; o < OCB; ++o)
#pragma GCC unroll 32
    for (std::size_t r = 0; r < R; ++r) {
      float* yo = y + (oc0 + o) * plane + (v0 + r) * L;
      if (Last && r + 1 == R && plane % L != 0)
        simd::store_first(yo, acc[o][r], plane % L);
      else
        simd::store(yo, acc[o][r]);
    }
}

template <ConvGeometry G, bool Flip>
inline void plane_forward(const float* x, float* y, const float* w, const float* b,
                          std::size_t batch) {
  using P = PlanePlan<G>;
  using B = typename P::Band;
  constexpr std::size_t L = simd::lanes, RS = B::row_stride, OW = G.out_w;
  alignas(64) float band[B::buf_size];
  alignas(64) float copies[P::copies_size];
  zero_band<G>(band);
  // The overrun room is read (into lanes no output keeps) and only partly
  // written by the last row: zeros, so no lane meets a denormal or NaN left on
  // the stack. The rows themselves are all written for every sample.
  for (std::size_t k = 0; k < G.in_c * G.kernel_w; ++k)
    for (std::size_t i = G.padded_h() * OW; i < P::copy_stride; ++i)
      copies[k * P::copy_stride + i] = 0.0f;
  for (std::size_t n = 0; n < batch; ++n) {
    fill_band<G, G.padded_h(), RS>(x + n * G.in_size(), band, 0);
    // Row by row, whole vectors: a vector running past a row's end is
    // overwritten by the next row (or lands in the overrun room).
    for (std::size_t c = 0; c < G.in_c; ++c)
      for (std::size_t kw = 0; kw < G.kernel_w; ++kw) {
        const float* src = band + c * G.padded_h() * RS + kw * G.dilation_w;
        float* dst = copies + (c * G.kernel_w + kw) * P::copy_stride;
        for (std::size_t ih = 0; ih < G.padded_h(); ++ih)
#pragma GCC unroll 8
          for (std::size_t i = 0; i < OW; i += L) simd::store(dst + ih * OW + i, simd::load(src + ih * RS + i));
      }
    float* yn = y + n * G.out_size();
    if (n + 1 < batch) prefetch_rows<G>(x + (n + 1) * G.in_size(), 0, G.padded_h());
    // Channel block outermost: the copies stay in L1 while each block writes
    // its few output planes front to back.
    auto block = [&]<std::size_t OCB>(std::size_t oc0) {
      if constexpr (P::vecs_tail == 0) {
        for (std::size_t t = 0; t + 1 < P::tiles_full; ++t)
          plane_tile<G, Flip, P::vecs, OCB, false>(copies, w, b, yn, t * P::vecs, oc0);
        plane_tile<G, Flip, P::vecs, OCB, true>(copies, w, b, yn, (P::tiles_full - 1) * P::vecs,
                                                oc0);
      } else {
        for (std::size_t t = 0; t < P::tiles_full; ++t)
          plane_tile<G, Flip, P::vecs, OCB, false>(copies, w, b, yn, t * P::vecs, oc0);
        plane_tile<G, Flip, P::vecs_tail, OCB, true>(copies, w, b, yn, P::tiles_full * P::vecs,
                                                     oc0);
      }
    };
    for (std::size_t blk = 0; blk < P::oc_blocks; ++blk)
      block.template operator()<P::ocb>(blk * P::ocb);
    if constexpr (P::ocb_tail > 0) block.template operator()<P::ocb_tail>(P::oc_blocks * P::ocb);
  }
}

enum class Lanes { generic, channels, columns, planes };

// Which kernel a forward geometry gets: columns only for stride 1 when they fill
// the lanes better than the channels do, and then planes instead where whole
// planes fill them better still (S3); channels otherwise; the plain loops when
// the stack buffers would be too large. Planes only where columns would do: with
// many input channels the copies leave L1 and planes lost to channels (measured
// S2 0.64x, S4 0.80x of channel lanes), which the estimate below does not see.
// Estimated cycles per output element, x1000: FMAs at two per cycle over the
// lanes in use, plus, for channel lanes, about a cycle per element to take the
// lanes apart into the (O, OH, OW) output (what makes columns win for small
// C*KH*KW even at equal lane use: S6, LeNet's first layer).
template <ConvGeometry G>
constexpr std::size_t column_cost() {
  return 1000 * 1000 * G.in_c * G.kernel_h * G.kernel_w / (2 * simd::lanes * lane_use(G.out_w));
}
template <ConvGeometry G>
constexpr std::size_t channel_cost() {
  return 1000 * 1000 * G.in_c * G.kernel_h * G.kernel_w / (2 * simd::lanes * lane_use(G.out_c)) +
         1000;
}

// Plane lanes: the lanes of the whole plane, plus copying KW rows per padded
// input row (~1/8 cycle per float) spread over the O outputs of a position.
template <ConvGeometry G>
constexpr std::size_t plane_cost() {
  return 1000 * 1000 * G.in_c * G.kernel_h * G.kernel_w /
             (2 * simd::lanes * lane_use(G.out_h * G.out_w)) +
         125 * G.in_c * G.kernel_w * G.padded_h() / (G.out_c * G.out_h);
}

template <ConvGeometry G>
constexpr Lanes forward_lanes() {
  constexpr bool planes = PlanePlan<G>::possible && PlanePlan<G>::fits;
  constexpr bool columns = ColumnPlan<G>::fits;
  if (columns && column_cost<G>() + ColumnPlan<G>::split_cost < channel_cost<G>())
    return planes && plane_cost<G>() < column_cost<G>() ? Lanes::planes : Lanes::columns;
  if (ChannelPlan<G>::fits) return Lanes::channels;
  return Lanes::generic;
}

// The forward of geometry G with weights w (PyTorch layout, or flipped-transposed).
template <ConvGeometry G, bool Flip>
inline void forward_dispatch(const float* x, float* y, const float* w, const float* b,
                             std::size_t batch) {
  constexpr Lanes lanes = forward_lanes<G>();
  if constexpr (lanes == Lanes::planes) {
    plane_forward<G, Flip>(x, y, w, b, batch);
  } else if constexpr (lanes == Lanes::columns) {
    column_forward<G, Flip>(x, y, w, b, batch);
  } else if constexpr (lanes == Lanes::channels) {
    using P = ChannelPlan<G>;
    alignas(64) float packed[P::packed_size];
    alignas(64) float packed_bias[P::ocp];
    pack_channel_weights<G, Flip>(w, packed);
    for (std::size_t o = 0; o < P::ocp; ++o) packed_bias[o] = G.bias && o < G.out_c ? b[o] : 0.0f;
    channel_forward<G>(x, y, packed, packed_bias, batch);
  } else {
    static_assert(!Flip, "the plain loops take weights in PyTorch layout only");
    conv2d_forward_generic<G>(x, y, w, b, batch);
  }
}

// The transposed geometry whose forward is G's backward-data (stride 1, zero
// padding): input dy (O, OH, OW), output dx (C, H, W), padding dil*(K-1) - pad.
template <ConvGeometry G>
constexpr ConvGeometry transposed_geometry() {
  const std::size_t eh = G.dilation_h * (G.kernel_h - 1), ew = G.dilation_w * (G.kernel_w - 1);
  return ConvGeometry{G.out_c,      G.out_h,        G.out_w,         G.in_c,          G.in_h,
                      G.in_w,       G.kernel_h,     G.kernel_w,      1,               1,
                      eh - G.pad_top, eh - G.pad_bottom, ew - G.pad_left, ew - G.pad_right,
                      G.dilation_h, G.dilation_w,   PadKind::zeros,  false};
}
template <ConvGeometry G>
constexpr bool backward_data_is_transposed_forward() {
  const bool no_pad = G.pad_top == 0 && G.pad_bottom == 0 && G.pad_left == 0 && G.pad_right == 0;
  return G.stride_h == 1 && G.stride_w == 1 && (no_pad || G.pad_kind == PadKind::zeros) &&
         G.pad_top <= G.dilation_h * (G.kernel_h - 1) &&
         G.pad_bottom <= G.dilation_h * (G.kernel_h - 1) &&
         G.pad_left <= G.dilation_w * (G.kernel_w - 1) &&
         G.pad_right <= G.dilation_w * (G.kernel_w - 1) &&
         forward_lanes<transposed_geometry<G>()>() != Lanes::generic;
}

// ---- backward-data with stride > 1: one stride-1 convolution per phase ----
// dx at padded coordinate t (t = ih + pad) receives dy[oh] * w[kh] wherever
// t = s*oh + d*kh. Split t by its phase r = t mod s: only the taps with
// d*kh = r (mod s) reach it; they run kh0, kh0 + s/g, ... (g = gcd(s, d)) and
// their offsets m_j = (d*kh_j - r) / s step by d/g, so dx at t = s*q + r is
//   sum_j dy[q - m_j] * w[kh_j],
// a stride-1 correlation of dy with the phase's taps flipped (dilation d/g).
// Each of the s_h*s_w phases runs the channel-lane forward tile over dy (dx's
// channels in the lanes, dy's channels as the reduction) and writes every s-th
// element of dx. dy is copied once per sample into a buffer with zero borders
// wide enough that no phase needs padding; phases no tap reaches (kernel smaller
// than the stride) are zeros. Zero padding only: the other modes would need the
// gradient of the whole padded plane folded back.
struct AxisPhase {
  std::size_t taps;       // taps of this phase (0: its elements get zeros)
  std::size_t first_tap;  // kh0
  std::size_t tap_step;   // s/g, between consecutive taps in the kernel
  std::size_t dil;        // d/g, between consecutive taps in dy
  std::size_t count;      // dx elements of this phase along the axis
  std::size_t out0;       // index of the first of them in dx
  long base;              // dy index read by the first of them with the first (flipped) tap
};

constexpr std::size_t gcd_of(std::size_t a, std::size_t b) {
  while (b != 0) {
    const std::size_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

// Phase r of one axis: input extent `in`, kernel k, stride s, dilation d, padding
// before `pad`.
constexpr AxisPhase axis_phase(std::size_t in, std::size_t k, std::size_t s, std::size_t d,
                               std::size_t pad, std::size_t r) {
  AxisPhase p{};
  const std::size_t g = gcd_of(s, d);
  p.tap_step = s / g;
  p.dil = d / g;
  p.first_tap = k;
  for (std::size_t kh = k; kh-- > 0;)
    if (kh * d % s == r) p.first_tap = kh;
  p.taps = p.first_tap < k ? (k - 1 - p.first_tap) / p.tap_step + 1 : 0;
  // dx index ih = s*q + r - pad for q in [q_lo, q_hi]
  const std::size_t q_lo = pad > r ? (pad - r + s - 1) / s : 0;
  const bool any = in + pad >= r + 1 && (in + pad - 1 - r) / s >= q_lo;
  p.count = any ? (in + pad - 1 - r) / s - q_lo + 1 : 0;
  p.out0 = any ? s * q_lo + r - pad : 0;
  const long m0 = p.taps > 0 ? static_cast<long>((p.first_tap * d - r) / s) : 0;
  p.base = static_cast<long>(q_lo) - m0 -
           static_cast<long>(p.taps > 0 ? (p.taps - 1) * p.dil : 0);
  return p;
}

template <ConvGeometry G>
struct PhasePlan {
  static constexpr std::size_t sh = G.stride_h, sw = G.stride_w, phases = sh * sw;
  static constexpr AxisPhase row(std::size_t r) {
    return axis_phase(G.in_h, G.kernel_h, sh, G.dilation_h, G.pad_top, r);
  }
  static constexpr AxisPhase col(std::size_t r) {
    return axis_phase(G.in_w, G.kernel_w, sw, G.dilation_w, G.pad_left, r);
  }
  static constexpr bool computed(const AxisPhase& a) { return a.taps > 0 && a.count > 0; }
  // Zeros before dy (rows, columns) so that every phase reads from index 0 on,
  // and the buffer extent that holds every phase's last read.
  static constexpr std::pair<std::size_t, std::size_t> border(bool rows) {
    const std::size_t s = rows ? sh : sw, n = rows ? G.out_h : G.out_w;
    long before = 0;
    for (std::size_t r = 0; r < s; ++r) {
      const AxisPhase a = rows ? row(r) : col(r);
      if (computed(a) && -a.base > before) before = -a.base;
    }
    long extent = before + static_cast<long>(n);
    for (std::size_t r = 0; r < s; ++r) {
      const AxisPhase a = rows ? row(r) : col(r);
      if (!computed(a)) continue;
      const long last = before + a.base + static_cast<long>(a.count - 1 + (a.taps - 1) * a.dil);
      if (last + 1 > extent) extent = last + 1;
    }
    return {static_cast<std::size_t>(before), static_cast<std::size_t>(extent)};
  }
  static constexpr std::size_t top = border(true).first, hd = border(true).second;
  static constexpr std::size_t left = border(false).first, wd = border(false).second;
  static constexpr std::size_t dyp_size = G.out_c * hd * wd;
  // Phase (rh, rw) as a forward geometry: input dy (O, hd, wd) in place, output
  // the phase's (C, count_h, count_w) elements of dx.
  static constexpr ConvGeometry geometry(std::size_t ph) {
    const AxisPhase a = row(ph / sw), b = col(ph % sw);
    return ConvGeometry{G.out_c, hd,    wd,    G.in_c, a.count, b.count, a.taps, b.taps,
                        1,       1,     0,     0,      0,       0,       a.dil,  b.dil,
                        PadKind::zeros, false};
  }
  // Where phase ph's reads meet dy's zero border: Q-row u, tap j reads dy row
  // base + u + j*dil, so dy's rows are Q's padded rows [-base, -base + OH), and
  // likewise for columns. As a geometry with that zero padding, for the tiles
  // to skip the taps that read only the border (pad_bottom/right just mark it).
  static constexpr ConvGeometry zeros_of(std::size_t ph) {
    const AxisPhase a = row(ph / sw), b = col(ph % sw);
    ConvGeometry z = geometry(ph);
    z.pad_top = a.base < 0 ? static_cast<std::size_t>(-a.base) : 0;
    z.in_h = a.base < static_cast<long>(G.out_h) ? G.out_h - (a.base > 0 ? static_cast<std::size_t>(a.base) : 0) : 0;
    z.pad_left = b.base < 0 ? static_cast<std::size_t>(-b.base) : 0;
    z.in_w = b.base < static_cast<long>(G.out_w) ? G.out_w - (b.base > 0 ? static_cast<std::size_t>(b.base) : 0) : 0;
    z.pad_bottom = z.pad_right = 1;
    return z;
  }
  static constexpr std::size_t ocp = ceil_div(G.in_c, simd::lanes) * simd::lanes;
  // Packed weights of phase ph: (O, taps_h, taps_w, C padded), one phase after another.
  static constexpr std::size_t packed_offset(std::size_t ph) {
    std::size_t off = 0;
    for (std::size_t p = 0; p < ph; ++p) off += G.out_c * row(p / sw).taps * col(p % sw).taps * ocp;
    return off;
  }
  static constexpr std::size_t packed_size = packed_offset(phases);
  template <std::size_t Ph>
  static constexpr bool phase_fits() {
    if constexpr (computed(row(Ph / sw)) && computed(col(Ph % sw)))
      return ChannelPlan<geometry(Ph)>::partial_size <= stack_floats / 4;
    else
      return true;
  }
  template <std::size_t... Ph>
  static constexpr bool phases_fit(std::index_sequence<Ph...>) {
    return (phase_fits<Ph>() && ...);
  }
  static constexpr bool fits = dyp_size + packed_size <= stack_floats / 2 &&
                               phases_fit(std::make_index_sequence<phases>{});
};

template <ConvGeometry G>
constexpr bool backward_data_is_phased() {
  const bool no_pad = G.pad_top == 0 && G.pad_bottom == 0 && G.pad_left == 0 && G.pad_right == 0;
  return (G.stride_h > 1 || G.stride_w > 1) && (no_pad || G.pad_kind == PadKind::zeros) &&
         PhasePlan<G>::fits;
}

// dx (N, C, H, W) = conv2d_transpose(dy (N, O, OH, OW), w (O, C, KH, KW)), stride > 1.
template <ConvGeometry G>
inline void phased_backward_data(const float* dy, float* dx, const float* w, std::size_t batch) {
  using P = PhasePlan<G>;
  constexpr std::size_t ocp = P::ocp, kk = G.kernel_h * G.kernel_w, plane = G.in_h * G.in_w;
  constexpr OutLayout out{plane, P::sh * G.in_w, P::sw};
  alignas(64) float packed[P::packed_size];
  alignas(64) float dyp[P::dyp_size];
  auto each_phase = [&](auto&& f) {
    [&]<std::size_t... Ph>(std::index_sequence<Ph...>) {
      (f.template operator()<Ph>(), ...);
    }(std::make_index_sequence<P::phases>{});
  };
  // Weights of dy channel o as (KH*KW, C padded), then each phase's taps.
  alignas(64) float taps[kk * ocp];
  for (std::size_t o = 0; o < G.out_c; ++o) {
    transpose_into<G.in_c, ocp, kk, kk, ocp>(w + o * G.in_c * kk, taps);
    each_phase([&]<std::size_t Ph>() {
      constexpr AxisPhase a = P::row(Ph / P::sw), b = P::col(Ph % P::sw);
      float* dst = packed + P::packed_offset(Ph);
      for (std::size_t jh = 0; jh < a.taps; ++jh)
        for (std::size_t jw = 0; jw < b.taps; ++jw) {
          const std::size_t kh = a.first_tap + (a.taps - 1 - jh) * a.tap_step;
          const std::size_t kw = b.first_tap + (b.taps - 1 - jw) * b.tap_step;
          float* d = dst + ((o * a.taps + jh) * b.taps + jw) * ocp;
          for (std::size_t c = 0; c < ocp; c += simd::lanes)
            simd::store(d + c, simd::load(taps + (kh * G.kernel_w + kw) * ocp + c));
        }
    });
  }
  for (auto& v : dyp) v = 0.0f;
  for (std::size_t n = 0; n < batch; ++n) {
    for (std::size_t o = 0; o < G.out_c; ++o)
      for (std::size_t oh = 0; oh < G.out_h; ++oh) {
        const float* src = dy + ((n * G.out_c + o) * G.out_h + oh) * G.out_w;
        float* d = dyp + (o * P::hd + P::top + oh) * P::wd + P::left;
        for (std::size_t ow = 0; ow < G.out_w; ++ow) d[ow] = src[ow];
      }
    float* dxn = dx + n * G.in_size();
    each_phase([&]<std::size_t Ph>() {
      constexpr AxisPhase a = P::row(Ph / P::sw), b = P::col(Ph % P::sw);
      float* y0 = dxn + a.out0 * G.in_w + b.out0;
      if constexpr (a.count == 0 || b.count == 0) {
        return;
      } else if constexpr (a.taps == 0 || b.taps == 0) {
        for (std::size_t c = 0; c < G.in_c; ++c)
          for (std::size_t u = 0; u < a.count; ++u)
            for (std::size_t v = 0; v < b.count; ++v) y0[c * out.plane + u * out.row + v * out.col] = 0.0f;
      } else {
        constexpr ConvGeometry Q = P::geometry(Ph);
        using QP = ChannelPlan<Q>;
        alignas(64) float partial[QP::partial_size];
        const float* x0 = dyp + (P::top + a.base) * P::wd + (P::left + b.base);
        const float* wp = packed + P::packed_offset(Ph);
        constexpr ConvGeometry Z = P::zeros_of(Ph);
        for (std::size_t rt = 0; rt < QP::row_tiles_full; rt += QP::pass_rows / QP::rows) {
          const std::size_t tiles = min_of(QP::pass_rows / QP::rows, QP::row_tiles_full - rt);
          channel_row_group<Q, out, QP::rows, Z>(x0 + rt * QP::rows * P::wd,
                                                 y0 + rt * QP::rows * out.row, wp, wp, partial,
                                                 rt * QP::rows, tiles);
        }
        if constexpr (QP::rows_tail > 0) {
          constexpr std::size_t r0 = QP::row_tiles_full * QP::rows;
          channel_row_group<Q, out, QP::rows_tail, Z>(x0 + r0 * P::wd, y0 + r0 * out.row, wp, wp,
                                                      partial, r0, 1);
        }
      }
    });
  }
}

// ---- backward-weights ----
// Channel lanes: dw (C, KH, KW, O padded) accumulates, for every output row band,
// the products of input values (broadcast) with vectors of dy over the output
// channels (dy rows transposed into (positions, O) first). Register tile: the KW
// taps of one kernel row x OB vectors of channels, running over all positions of
// the band. Any stride, dilation and padding mode.
template <ConvGeometry G>
struct WeightGradPlan {
  static constexpr std::size_t L = simd::lanes;
  static constexpr std::size_t ocv = ceil_div(G.out_c, L);
  static constexpr std::size_t ocp = ocv * L;
  static constexpr std::size_t ob = [] {
    std::size_t best = 1;
    for (std::size_t b = 1; b <= ocv; ++b)
      if (ocv % b == 0 && G.kernel_w * b + b + 1 <= tile_budget + 3) best = b;
    return best;
  }();
  // Accumulator sets over alternating output columns, added together at the
  // end of a row band. Each FMA waits about 4 cycles for the last one into the
  // same accumulator, so a tile of KW x OB < 8 chains leaves the two FMA ports
  // idle most of the time: simple_cnn's layers (3 chains) and LeNet-5's second
  // (5) get 2-3 sets of them.
  static constexpr std::size_t chains = [] {
    std::size_t u = 1;
    while (u * G.kernel_w * ob < 8 && 2 * (u + 1) <= G.out_w &&
           (u + 1) * G.kernel_w * ob + ob + 1 <= tile_budget + 3)
      ++u;
    return u;
  }();
  static constexpr std::size_t ext_h = (G.kernel_h - 1) * G.dilation_h + 1;
  static constexpr std::size_t band_rows_for(std::size_t rows) {
    return (rows - 1) * G.stride_h + ext_h;
  }
  // Output rows per band: as many as keep the band and dy^T within ~64 KiB.
  static constexpr std::size_t rows = [] {
    std::size_t r = 1;
    while (r < G.out_h &&
           G.in_c * band_rows_for(r + 1) * G.padded_w() + (r + 1) * G.out_w * ocp <= 16384)
      ++r;
    return r;
  }();
  static constexpr std::size_t band_h = band_rows_for(rows);
  static constexpr std::size_t band_size = G.in_c * band_h * G.padded_w();
  static constexpr std::size_t dyt_size = rows * G.out_w * ocp;
  static constexpr std::size_t dw_size = G.in_c * G.kernel_h * G.kernel_w * ocp;
  static constexpr bool fits = band_size + dyt_size + dw_size <= stack_floats;
};

// db[o] += sum of dy over every position of channel o, every sample, summed in
// double: the sum runs over N*OH*OW values that largely cancel. The weight
// gradient kernels add each sample's planes right after using them, while they
// are still in cache: a separate pass over the whole batch's dy afterwards read
// it back from memory (S6, N=64: 8 MB, a quarter of its backward-weights time).
template <ConvGeometry G>
class BiasGrad {
 public:
  explicit BiasGrad(float* db) : db_(db) {}
  void add_sample(const float* dyn) {
    if constexpr (G.bias) {
      constexpr std::size_t plane = G.out_h * G.out_w;
      for (std::size_t o = 0; o < G.out_c; ++o) sums_[o] += simd::sum_in_double(dyn + o * plane, plane);
    }
  }
  void finish() const {
    if constexpr (G.bias)
      for (std::size_t o = 0; o < G.out_c; ++o) db_[o] += static_cast<float>(sums_[o]);
  }

 private:
  float* db_;
  std::array<double, G.bias ? G.out_c : 0> sums_{};
};

template <ConvGeometry G, std::size_t OB>
[[gnu::always_inline]] inline void weight_grad_row(const float* xr, const float* dyt,
                                                   std::size_t rows, float* dwp) {
  using simd::vec;
  constexpr std::size_t L = simd::lanes, ocp = WeightGradPlan<G>::ocp, KW = G.kernel_w;
  constexpr std::size_t U = WeightGradPlan<G>::chains, full = G.out_w / U * U;
  vec acc[U][KW][OB];
#pragma GCC unroll 8
  for (std::size_t u = 0; u < U; ++u)
#pragma GCC unroll 16
    for (std::size_t kw = 0; kw < KW; ++kw)
#pragma GCC unroll 8
      for (std::size_t b = 0; b < OB; ++b) acc[u][kw][b] = simd::zero();
  // Output column ow of row (x, d) into accumulator set u.
  auto column = [&](const float* x, const float* d, std::size_t ow, std::size_t u) {
    vec dv[OB];
#pragma GCC unroll 8
    for (std::size_t b = 0; b < OB; ++b) dv[b] = simd::load(d + ow * ocp + b * L);
#pragma GCC unroll 16
    for (std::size_t kw = 0; kw < KW; ++kw) {
      const vec xv = simd::broadcast(x[ow * G.stride_w + kw * G.dilation_w]);
#pragma GCC unroll 8
      for (std::size_t b = 0; b < OB; ++b) acc[u][kw][b] = simd::fmadd(xv, dv[b], acc[u][kw][b]);
    }
  };
  for (std::size_t r = 0; r < rows; ++r) {
    const float* x = xr + r * G.stride_h * G.padded_w();
    const float* d = dyt + r * G.out_w * ocp;
    for (std::size_t ow0 = 0; ow0 < full; ow0 += U)
#pragma GCC unroll 8
      for (std::size_t u = 0; u < U; ++u) column(x, d, ow0 + u, u);
#pragma GCC unroll 8
    for (std::size_t u = 0; u < G.out_w - full; ++u) column(x, d, full + u, u);
  }
#pragma GCC unroll 16
  for (std::size_t kw = 0; kw < KW; ++kw)
#pragma GCC unroll 8
    for (std::size_t b = 0; b < OB; ++b) {
      vec sum = acc[0][kw][b];
#pragma GCC unroll 8
      for (std::size_t u = 1; u < U; ++u) sum = simd::add(sum, acc[u][kw][b]);
      simd::store(dwp + kw * ocp + b * L, simd::add(simd::load(dwp + kw * ocp + b * L), sum));
    }
}

template <ConvGeometry G>
inline void channel_weight_grad(const float* x, const float* dy, float* dw, float* db,
                                std::size_t batch) {
  using P = WeightGradPlan<G>;
  constexpr std::size_t L = simd::lanes, ocp = P::ocp, kk = G.kernel_h * G.kernel_w;
  constexpr std::size_t plane = G.out_h * G.out_w, Wp = G.padded_w();
  alignas(64) float band[P::band_size];
  alignas(64) float dyt[P::dyt_size];
  alignas(64) float dwp[P::dw_size];
  for (auto& v : dwp) v = 0.0f;
  for (auto& v : dyt) v = 0.0f;
  zero_band<G>(band);
  BiasGrad<G> bias(db);
  for (std::size_t n = 0; n < batch; ++n) {
    const float* xn = x + n * G.in_size();
    const float* dyn = dy + n * G.out_size();
    for (std::size_t oh0 = 0; oh0 < G.out_h; oh0 += P::rows) {
      const std::size_t rows = G.out_h - oh0 < P::rows ? G.out_h - oh0 : P::rows;
      // dy's rows as (positions, O padded): channel vectors (lanes past O stay zero).
      if (rows == P::rows)
        transpose_into<G.out_c, ocp, P::rows * G.out_w, plane, ocp>(dyn + oh0 * G.out_w, dyt);
      else
        transpose_into<G.out_c, ocp, G.out_h % P::rows * G.out_w, plane, ocp>(dyn + oh0 * G.out_w, dyt);
      fill_band<G, P::band_h, Wp>(xn, band, oh0 * G.stride_h);
      for (std::size_t c = 0; c < G.in_c; ++c)
        for (std::size_t kh = 0; kh < G.kernel_h; ++kh)
          for (std::size_t b = 0; b < P::ocv; b += P::ob)
            weight_grad_row<G, P::ob>(band + (c * P::band_h + kh * G.dilation_h) * Wp, dyt + b * L,
                                      rows, dwp + (c * kk + kh * G.kernel_w) * ocp + b * L);
    }
    bias.add_sample(dyn);
  }
  bias.finish();
  add_transposed<G.in_c * kk, G.out_c, ocp, G.in_c * kk>(dwp, dw);
}

// Column lanes (few output channels): for a block of output channels and one
// input channel, one vector accumulator per (channel, tap) over consecutive
// output columns. With stride 1, each padded input row is loaded once per tap
// column and meets the dy rows of every kernel row that reads it, for every
// channel of the block (several channels: more independent FMA chains and one
// input load serving them all; one 3x3 channel at a time left 9 chains of two
// dependent FMAs a row). With a stride, the padded rows are first split into
// their column phases (see ColumnPlan), one vector load per output row and tap
// (simple_cnn's first layer, 1 -> 4 channels at stride 2, had filled a quarter
// of the channel lanes). Vector sums are kept per tap across the batch and
// reduced once at the end.
template <ConvGeometry G>
struct ColumnWeightGradPlan {
  using F = ColumnPlan<G>;
  static constexpr std::size_t L = simd::lanes;
  static constexpr std::size_t kk = G.kernel_h * G.kernel_w;
  // Output channels per block: their accumulators and dy vectors and the KW
  // input vectors of a row fill the registers (GCC loads a row's dy vectors of
  // every channel of the block up front; one register fewer and it spills).
  static constexpr std::size_t ob = [] {
    std::size_t b = 1;
    while (b < G.out_c && (b + 1) * (kk + 1) + G.kernel_w <= simd::registers) ++b;
    return b;
  }();
  static constexpr bool strided = G.stride_h != 1 || G.stride_w != 1;
  static constexpr std::size_t sums_size = G.out_c * G.in_c * kk * L;
  static constexpr bool possible = F::fits && kk + G.kernel_w + 2 <= simd::registers &&
                                   sums_size <= stack_floats / 4;
};

// A block's accumulators (OB channels x taps) added to the vector sums of
// input channel c (sums_c) for channels [o0, o0 + OB).
template <ConvGeometry G, std::size_t OB>
[[gnu::always_inline]] inline void add_block_sums(
    const simd::vec (&acc)[OB][G.kernel_h * G.kernel_w], std::size_t o0, float* sums_c) {
  constexpr std::size_t L = simd::lanes, kk = G.kernel_h * G.kernel_w;
#pragma GCC unroll 16
  for (std::size_t o = 0; o < OB; ++o) {
    float* s = sums_c + (o0 + o) * G.in_c * kk * L;
#pragma GCC unroll 64
    for (std::size_t k = 0; k < kk; ++k)
      simd::store(s + k * L, simd::add(simd::load(s + k * L), acc[o][k]));
  }
}

// Output channels [o0, o0 + OB) x input channel c of one sample, added to sums.
template <ConvGeometry G, std::size_t OB>
[[gnu::always_inline]] inline void column_weight_grad_block(const float* xc, const float* dyn,
                                                            std::size_t o0, float* sums_c) {
  using simd::vec;
  using F = ColumnPlan<G>;
  constexpr std::size_t L = simd::lanes, CV = F::cv, RS = F::row_stride;
  constexpr std::size_t KH = G.kernel_h, KW = G.kernel_w, kk = KH * KW, plane = G.out_h * G.out_w;
  constexpr std::size_t tail = G.out_w - (CV - 1) * L;
  constexpr std::size_t reach = (KH - 1) * G.dilation_h;  // input rows a kernel spans, less one
  vec acc[OB][kk];
#pragma GCC unroll 16
  for (std::size_t o = 0; o < OB; ++o)
#pragma GCC unroll 64
    for (std::size_t k = 0; k < kk; ++k) acc[o][k] = simd::zero();
  // Input row ir meets output row ir - kh*dh through kernel row kh; Checked
  // rows (the first and last `reach`) have kernel rows that fall off dy.
  auto row = [&]<bool Checked>(std::size_t ir) {
#pragma GCC unroll 8
    for (std::size_t v = 0; v < CV; ++v) {
      const float* xr = xc + ir * RS + v * L;
      vec xv[KW];
#pragma GCC unroll 16
      for (std::size_t kw = 0; kw < KW; ++kw) xv[kw] = simd::load(xr + kw * G.dilation_w);
#pragma GCC unroll 16
      for (std::size_t kh = 0; kh < KH; ++kh) {
        const std::size_t oh = ir - kh * G.dilation_h;
        if (Checked && (ir < kh * G.dilation_h || oh >= G.out_h)) continue;
#pragma GCC unroll 16
        for (std::size_t o = 0; o < OB; ++o) {
          const float* d = dyn + (o0 + o) * plane + oh * G.out_w + v * L;
          const vec dv = (v + 1 < CV || tail == L) ? simd::load(d) : simd::load_first(d, tail);
#pragma GCC unroll 16
          for (std::size_t kw = 0; kw < KW; ++kw)
            acc[o][kh * KW + kw] = simd::fmadd(xv[kw], dv, acc[o][kh * KW + kw]);
        }
      }
    }
  };
  constexpr std::size_t interior_end = G.out_h > reach ? G.out_h : reach;
  for (std::size_t ir = 0; ir < reach; ++ir) row.template operator()<true>(ir);
  for (std::size_t ir = reach; ir < interior_end; ++ir) row.template operator()<false>(ir);
  for (std::size_t ir = interior_end; ir < G.padded_h(); ++ir) row.template operator()<true>(ir);
  add_block_sums<G, OB>(acc, o0, sums_c);
}

// Strided: output channels [o0, o0 + OB) x input channel c (phases pc) of one
// sample, added to sums. Output row oh reads padded row oh*s_h + kh*d_h.
template <ConvGeometry G, std::size_t OB>
[[gnu::always_inline]] inline void strided_column_weight_grad_block(const float* pc,
                                                                    const float* dyn,
                                                                    std::size_t o0,
                                                                    float* sums_c) {
  using simd::vec;
  using P = ColumnPlan<G>;
  constexpr std::size_t L = simd::lanes, CV = P::cv;
  constexpr std::size_t KH = G.kernel_h, KW = G.kernel_w, kk = KH * KW, plane = G.out_h * G.out_w;
  constexpr std::size_t tail = G.out_w - (CV - 1) * L;
  vec acc[OB][kk];
#pragma GCC unroll 16
  for (std::size_t o = 0; o < OB; ++o)
#pragma GCC unroll 64
    for (std::size_t k = 0; k < kk; ++k) acc[o][k] = simd::zero();
  for (std::size_t oh = 0; oh < G.out_h; ++oh)
#pragma GCC unroll 8
    for (std::size_t v = 0; v < CV; ++v) {
      vec dv[OB];
#pragma GCC unroll 16
      for (std::size_t o = 0; o < OB; ++o) {
        const float* d = dyn + (o0 + o) * plane + oh * G.out_w + v * L;
        dv[o] = (v + 1 < CV || tail == L) ? simd::load(d) : simd::load_first(d, tail);
      }
#pragma GCC unroll 16
      for (std::size_t kh = 0; kh < KH; ++kh) {
        const float* row = pc + (oh * G.stride_h + kh * G.dilation_h) * P::row_stride + v * L;
#pragma GCC unroll 16
        for (std::size_t kw = 0; kw < KW; ++kw) {
          const vec xv = simd::load(row + P::kw_offset(kw));
#pragma GCC unroll 16
          for (std::size_t o = 0; o < OB; ++o)
            acc[o][kh * KW + kw] = simd::fmadd(xv, dv[o], acc[o][kh * KW + kw]);
        }
      }
    }
  add_block_sums<G, OB>(acc, o0, sums_c);
}

template <ConvGeometry G>
inline void column_weight_grad(const float* x, const float* dy, float* dw, float* db,
                               std::size_t batch) {
  using P = ColumnWeightGradPlan<G>;
  using F = ColumnPlan<G>;
  constexpr std::size_t L = simd::lanes, kk = P::kk, OB = P::ob;
  constexpr std::size_t RS = F::row_stride;
  alignas(64) float buf[F::buf_size];
  alignas(64) float phases[F::phases_size];
  // sums[o][c][k]: a vector of partial sums per weight.
  alignas(64) float sums[P::sums_size];
  for (auto& v : sums) v = 0.0f;
  zero_band<G>(buf);
  BiasGrad<G> bias(db);
  for (std::size_t n = 0; n < batch; ++n) {
    fill_band<G, G.padded_h(), RS>(x + n * G.in_size(), buf, 0);
    if constexpr (F::split) split_column_phases<G>(buf, phases);
    const float* rows = F::split ? phases : buf;
    const float* dyn = dy + n * G.out_size();
    for (std::size_t c = 0; c < G.in_c; ++c) {
      const float* xc = rows + c * G.padded_h() * RS;
      float* sums_c = sums + c * kk * L;
      auto block = [&]<std::size_t B>(std::size_t o0) {
        if constexpr (P::strided)
          strided_column_weight_grad_block<G, B>(xc, dyn, o0, sums_c);
        else
          column_weight_grad_block<G, B>(xc, dyn, o0, sums_c);
      };
      std::size_t o0 = 0;
      for (; o0 + OB <= G.out_c; o0 += OB) block.template operator()<OB>(o0);
      if constexpr (G.out_c % OB != 0) block.template operator()<G.out_c % OB>(o0);
    }
    bias.add_sample(dyn);
  }
  bias.finish();
  for (std::size_t i = 0; i < G.out_c * G.in_c * kk; ++i) {
    dw[i] += simd::reduce_add(simd::load(sums + i * L));
  }
}

// Same trade as forward: channel lanes transpose dy (about a cycle per element),
// which columns avoid; that decides it when C*KH*KW is small (S3, S6).
template <ConvGeometry G>
constexpr Lanes weight_grad_lanes() {
  using P = ColumnWeightGradPlan<G>;
  if (P::possible && column_cost<G>() + ColumnPlan<G>::split_cost < channel_cost<G>())
    return Lanes::columns;
  if (WeightGradPlan<G>::fits) return Lanes::channels;
  return Lanes::generic;
}

}  // namespace conv_detail

// y = x (*) w + b.  x: (N, C, H, W)  w: (O, C, KH, KW)  b: (O)  y: (N, O, OH, OW)
template <ConvGeometry G>
void conv2d_forward(const float* x, float* y, const float* w, const float* b, std::size_t batch) {
  conv_detail::forward_dispatch<G, false>(x, y, w, b, batch);
}

// dx = conv2d_transpose(dy, w), overwritten.  dy: (N, O, OH, OW)  dx: (N, C, H, W)
template <ConvGeometry G>
void conv2d_backward_data(const float* dy, float* dx, const float* w, std::size_t batch) {
  if constexpr (conv_detail::backward_data_is_transposed_forward<G>()) {
    conv_detail::forward_dispatch<conv_detail::transposed_geometry<G>(), true>(dy, dx, w, nullptr,
                                                                               batch);
  } else if constexpr (conv_detail::backward_data_is_phased<G>()) {
    conv_detail::phased_backward_data<G>(dy, dx, w, batch);
  } else {
    conv2d_backward_data_generic<G>(dy, dx, w, batch);
  }
}

// dw += x (*) dy; db += sum dy.
template <ConvGeometry G>
void conv2d_backward_weights(const float* x, const float* dy, float* dw, float* db,
                             std::size_t batch) {
  constexpr auto lanes = conv_detail::weight_grad_lanes<G>();
  if constexpr (lanes == conv_detail::Lanes::columns) {
    conv_detail::column_weight_grad<G>(x, dy, dw, db, batch);
  } else if constexpr (lanes == conv_detail::Lanes::channels) {
    conv_detail::channel_weight_grad<G>(x, dy, dw, db, batch);
  } else {
    conv2d_backward_weights_generic<G>(x, dy, dw, db, batch);
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
