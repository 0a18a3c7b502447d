// ctcnn/kernels/linear.hpp
// Fully connected layer as fixed-size matrix products over a batch.
// Layouts: x (N, In)   w (Out, In)   b (Out)   y (N, Out)
//
// Register tiles of up to 4 samples x 4 rows (forward: dot products along In,
// vectors reduced at the end; backward: vectors along In). Blocking over the
// batch lets one weight load serve several samples, which is what makes a
// batch of 64 faster per sample than one sample at a time. Every (sample,
// output) value is computed by the same sequence of operations whatever tile it
// falls in, so a sample's result does not depend on the batch it came with.
#pragma once

#include <cstddef>

#include "ctcnn/core/simd.hpp"

namespace ctcnn::kernels {

namespace linear_detail {

inline constexpr std::size_t tile = 4;

// y[n][o] for NB samples x OB rows starting at (n0, o0).
template <std::size_t In, std::size_t Out, bool Bias, std::size_t NB, std::size_t OB>
[[gnu::always_inline]] inline void forward_tile(const float* x, float* y, const float* w,
                                                const float* b) {
  using simd::vec;
  constexpr std::size_t L = simd::lanes, full = In / L, tail = In % L;
  vec acc[NB][OB];
#pragma GCC unroll 4
  for (std::size_t n = 0; n < NB; ++n)
#pragma GCC unroll 4
    for (std::size_t o = 0; o < OB; ++o) acc[n][o] = simd::zero();
  for (std::size_t v = 0; v < full; ++v) {
    vec wv[OB];
#pragma GCC unroll 4
    for (std::size_t o = 0; o < OB; ++o) wv[o] = simd::load(w + o * In + v * L);
#pragma GCC unroll 4
    for (std::size_t n = 0; n < NB; ++n) {
      const vec xv = simd::load(x + n * In + v * L);
#pragma GCC unroll 4
      for (std::size_t o = 0; o < OB; ++o) acc[n][o] = simd::fmadd(xv, wv[o], acc[n][o]);
    }
  }
  if constexpr (tail != 0) {
#pragma GCC unroll 4
    for (std::size_t n = 0; n < NB; ++n) {
      const vec xv = simd::load_first(x + n * In + full * L, tail);
#pragma GCC unroll 4
      for (std::size_t o = 0; o < OB; ++o)
        acc[n][o] = simd::fmadd(xv, simd::load_first(w + o * In + full * L, tail), acc[n][o]);
    }
  }
#pragma GCC unroll 4
  for (std::size_t n = 0; n < NB; ++n)
#pragma GCC unroll 4
    for (std::size_t o = 0; o < OB; ++o) {
      const float s = simd::reduce_add(acc[n][o]);
      y[n * Out + o] = Bias ? s + b[o] : s;
    }
}

template <std::size_t In, std::size_t Out, bool Bias, std::size_t NB>
inline void forward_rows(const float* x, float* y, const float* w, const float* b) {
  constexpr std::size_t full = Out / tile, rest = Out % tile;
  for (std::size_t ot = 0; ot < full; ++ot)
    forward_tile<In, Out, Bias, NB, tile>(x, y + ot * tile, w + ot * tile * In, b + ot * tile);
  if constexpr (rest != 0)
    forward_tile<In, Out, Bias, NB, rest>(x, y + full * tile, w + full * tile * In,
                                          b + full * tile);
}

// dx[n][i] = sum_o dy[n][o] w[o][i] for NB samples x IV vectors of inputs.
template <std::size_t In, std::size_t Out, std::size_t NB, std::size_t IV, bool Tail>
[[gnu::always_inline]] inline void data_tile(const float* dy, float* dx, const float* w) {
  using simd::vec;
  constexpr std::size_t L = simd::lanes, tail = In % L;
  vec acc[NB][IV];
#pragma GCC unroll 4
  for (std::size_t n = 0; n < NB; ++n)
#pragma GCC unroll 4
    for (std::size_t v = 0; v < IV; ++v) acc[n][v] = simd::zero();
  for (std::size_t o = 0; o < Out; ++o) {
    vec wv[IV];
#pragma GCC unroll 4
    for (std::size_t v = 0; v < IV; ++v)
      wv[v] = (Tail && v + 1 == IV) ? simd::load_first(w + o * In + v * L, tail)
                                    : simd::load(w + o * In + v * L);
#pragma GCC unroll 4
    for (std::size_t n = 0; n < NB; ++n) {
      const vec g = simd::broadcast(dy[n * Out + o]);
#pragma GCC unroll 4
      for (std::size_t v = 0; v < IV; ++v) acc[n][v] = simd::fmadd(g, wv[v], acc[n][v]);
    }
  }
#pragma GCC unroll 4
  for (std::size_t n = 0; n < NB; ++n)
#pragma GCC unroll 4
    for (std::size_t v = 0; v < IV; ++v) {
      if (Tail && v + 1 == IV)
        simd::store_first(dx + n * In + v * L, acc[n][v], tail);
      else
        simd::store(dx + n * In + v * L, acc[n][v]);
    }
}

template <std::size_t In, std::size_t Out, std::size_t NB>
inline void data_rows(const float* dy, float* dx, const float* w) {
  constexpr std::size_t L = simd::lanes, vectors = (In + L - 1) / L;
  constexpr std::size_t full = vectors / tile, rest = vectors % tile;
  constexpr bool tail = In % L != 0;
  // Only the very last vector of a row may be partial.
  for (std::size_t t = 0; t + 1 < full; ++t)
    data_tile<In, Out, NB, tile, false>(dy, dx + t * tile * L, w + t * tile * L);
  if constexpr (full > 0)
    data_tile<In, Out, NB, tile, tail && rest == 0>(dy, dx + (full - 1) * tile * L,
                                                    w + (full - 1) * tile * L);
  if constexpr (rest != 0)
    data_tile<In, Out, NB, rest, tail>(dy, dx + full * tile * L, w + full * tile * L);
}

// dw[o][i] += sum_n dy[n][o] x[n][i] for OB rows x IV vectors of inputs.
template <std::size_t In, std::size_t Out, std::size_t OB, std::size_t IV, bool Tail>
[[gnu::always_inline]] inline void weight_tile(const float* x, const float* dy, float* dw,
                                               std::size_t batch) {
  using simd::vec;
  constexpr std::size_t L = simd::lanes, tail = In % L;
  vec acc[OB][IV];
#pragma GCC unroll 4
  for (std::size_t o = 0; o < OB; ++o)
#pragma GCC unroll 4
    for (std::size_t v = 0; v < IV; ++v) acc[o][v] = simd::zero();
  for (std::size_t n = 0; n < batch; ++n) {
    vec xv[IV];
#pragma GCC unroll 4
    for (std::size_t v = 0; v < IV; ++v)
      xv[v] = (Tail && v + 1 == IV) ? simd::load_first(x + n * In + v * L, tail)
                                    : simd::load(x + n * In + v * L);
#pragma GCC unroll 4
    for (std::size_t o = 0; o < OB; ++o) {
      const vec g = simd::broadcast(dy[n * Out + o]);
#pragma GCC unroll 4
      for (std::size_t v = 0; v < IV; ++v) acc[o][v] = simd::fmadd(g, xv[v], acc[o][v]);
    }
  }
#pragma GCC unroll 4
  for (std::size_t o = 0; o < OB; ++o)
#pragma GCC unroll 4
    for (std::size_t v = 0; v < IV; ++v) {
      float* d = dw + o * In + v * L;
      if (Tail && v + 1 == IV)
        simd::store_first(d, simd::add(simd::load_first(d, tail), acc[o][v]), tail);
      else
        simd::store(d, simd::add(simd::load(d), acc[o][v]));
    }
}

template <std::size_t In, std::size_t Out, std::size_t OB>
inline void weight_rows(const float* x, const float* dy, float* dw, std::size_t batch) {
  constexpr std::size_t L = simd::lanes, vectors = (In + L - 1) / L;
  constexpr std::size_t full = vectors / tile, rest = vectors % tile;
  constexpr bool tail = In % L != 0;
  for (std::size_t t = 0; t + 1 < full; ++t)
    weight_tile<In, Out, OB, tile, false>(x + t * tile * L, dy, dw + t * tile * L, batch);
  if constexpr (full > 0)
    weight_tile<In, Out, OB, tile, tail && rest == 0>(x + (full - 1) * tile * L, dy,
                                                      dw + (full - 1) * tile * L, batch);
  if constexpr (rest != 0)
    weight_tile<In, Out, OB, rest, tail>(x + full * tile * L, dy, dw + full * tile * L, batch);
}

}  // namespace linear_detail

template <std::size_t In, std::size_t Out, bool Bias>
void linear_forward(const float* x, float* y, const float* w, const float* b, std::size_t batch) {
  using namespace linear_detail;
  std::size_t n = 0;
  for (; n + tile <= batch; n += tile) forward_rows<In, Out, Bias, tile>(x + n * In, y + n * Out, w, b);
  for (; n < batch; ++n) forward_rows<In, Out, Bias, 1>(x + n * In, y + n * Out, w, b);
}

// dx = dy w (skipped when dx is null); dw += dy^T x; db += sum_n dy.
template <std::size_t In, std::size_t Out, bool Bias>
void linear_backward(const float* x, const float* dy, float* dx, const float* w, float* dw,
                     float* db, std::size_t batch) {
  using namespace linear_detail;
  if (dx) {
    std::size_t n = 0;
    for (; n + tile <= batch; n += tile) data_rows<In, Out, tile>(dy + n * Out, dx + n * In, w);
    for (; n < batch; ++n) data_rows<In, Out, 1>(dy + n * Out, dx + n * In, w);
  }
  constexpr std::size_t full = Out / tile, rest = Out % tile;
  for (std::size_t ot = 0; ot < full; ++ot)
    weight_rows<In, Out, tile>(x, dy + ot * tile, dw + ot * tile * In, batch);
  if constexpr (rest != 0)
    weight_rows<In, Out, rest>(x, dy + full * tile, dw + full * tile * In, batch);
  if constexpr (Bias) {
    for (std::size_t o = 0; o < Out; ++o) {
      float acc = 0.0f;
      for (std::size_t n = 0; n < batch; ++n) acc += dy[n * Out + o];
      db[o] += acc;
    }
  }
}

}  // namespace ctcnn::kernels
