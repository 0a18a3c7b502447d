// ctcnn/kernels/padding.hpp
// Where a padded coordinate reads from, for each PyTorch padding mode, and the
// copy of one channel into a padded buffer (and its adjoint for backward).
// Mappings are computed once per geometry at compile time.
#pragma once

#include <array>
#include <cstddef>

#include "ctcnn/core/options.hpp"

namespace ctcnn::kernels {

// Source index in [0, n) for padded coordinate p (in [0, pad_before + n + pad_after)),
// or -1 when the position is a zero. Reflect needs pad < n, circular pad <= n
// (the layer checks that at compile time).
constexpr long padded_source(PadKind kind, std::size_t p, std::size_t pad_before, std::size_t n) {
  long i = static_cast<long>(p) - static_cast<long>(pad_before);
  const long len = static_cast<long>(n);
  if (i >= 0 && i < len) return i;
  switch (kind) {
    case PadKind::zeros:
      return -1;
    case PadKind::reflect:
      return i < 0 ? -i : 2 * (len - 1) - i;
    case PadKind::replicate:
      return i < 0 ? 0 : len - 1;
    case PadKind::circular:
      return ((i % len) + len) % len;
  }
  return -1;
}

template <PadKind Kind, std::size_t PadBefore, std::size_t N, std::size_t PadAfter>
inline constexpr auto padded_source_table = [] {
  std::array<long, PadBefore + N + PadAfter> table{};
  for (std::size_t p = 0; p < table.size(); ++p) table[p] = padded_source(Kind, p, PadBefore, N);
  return table;
}();

// buf (Hp, Wp) <- x (H, W) padded per Kind.
template <PadKind Kind, std::size_t H, std::size_t W, std::size_t Top, std::size_t Bottom,
          std::size_t Left, std::size_t Right>
inline void pad_plane(const float* x, float* buf) {
  constexpr std::size_t Wp = Left + W + Right;
  constexpr auto& row_src = padded_source_table<Kind, Top, H, Bottom>;
  constexpr auto& col_src = padded_source_table<Kind, Left, W, Right>;
  for (std::size_t ph = 0; ph < row_src.size(); ++ph) {
    float* out = buf + ph * Wp;
    if (row_src[ph] < 0) {
      for (std::size_t pw = 0; pw < Wp; ++pw) out[pw] = 0.0f;
      continue;
    }
    const float* in = x + static_cast<std::size_t>(row_src[ph]) * W;
    for (std::size_t pw = 0; pw < Left; ++pw) out[pw] = col_src[pw] < 0 ? 0.0f : in[col_src[pw]];
    for (std::size_t w = 0; w < W; ++w) out[Left + w] = in[w];
    for (std::size_t pw = Left + W; pw < Wp; ++pw)
      out[pw] = col_src[pw] < 0 ? 0.0f : in[col_src[pw]];
  }
}

// dx (H, W) += adjoint of pad_plane applied to dbuf (Hp, Wp): every padded
// position hands its gradient back to the input element it was copied from.
template <PadKind Kind, std::size_t H, std::size_t W, std::size_t Top, std::size_t Bottom,
          std::size_t Left, std::size_t Right>
inline void unpad_plane_add(const float* dbuf, float* dx) {
  constexpr std::size_t Wp = Left + W + Right;
  constexpr auto& row_src = padded_source_table<Kind, Top, H, Bottom>;
  constexpr auto& col_src = padded_source_table<Kind, Left, W, Right>;
  for (std::size_t ph = 0; ph < row_src.size(); ++ph) {
    if (row_src[ph] < 0) continue;
    const float* in = dbuf + ph * Wp;
    float* out = dx + static_cast<std::size_t>(row_src[ph]) * W;
    for (std::size_t w = 0; w < W; ++w) out[w] += in[Left + w];
    if constexpr (Kind != PadKind::zeros) {
      for (std::size_t pw = 0; pw < Left; ++pw) out[col_src[pw]] += in[pw];
      for (std::size_t pw = Left + W; pw < Wp; ++pw) out[col_src[pw]] += in[pw];
    }
  }
}

}  // namespace ctcnn::kernels
