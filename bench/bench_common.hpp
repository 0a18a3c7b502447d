// bench/bench_common.hpp
// Shared helpers of the bench: deterministic fills, the thread count, the shape
// configurations S1..S7 of the conv benches.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <random>
#include <vector>

#include <ctcnn/ctcnn.hpp>

#include "reference_conv.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bench {

// Allocates on 64-byte boundaries, as the library's own tensors (Tensor, and the
// activations of a Workspace) are: the kernels see buffers aligned as in a
// network. std::vector's default (16 bytes for large blocks here) put every
// vector load and store of a conv bench across two cache lines, while oneDNN,
// beside it, allocates its memory 64-byte aligned.
template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64}));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{64}); }
  template <class U>
  bool operator==(const CacheLineAllocator<U>&) const noexcept { return true; }
};
using Floats = std::vector<float, CacheLineAllocator<float>>;

inline Floats random_vector(std::size_t n, std::uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  Floats v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

inline void set_threads(int threads) {
#ifdef _OPENMP
  omp_set_num_threads(threads);
#else
  (void)threads;
#endif
}

// One conv layer of the bench: a Conv2d spec bound to a per-sample input shape.
template <std::size_t C, std::size_t H, std::size_t W, class Spec>
struct ConvCase {
  using layer = typename Spec::template bind<ctcnn::Shape<C, H, W>>;
  static constexpr ctcnn::ConvGeometry G = layer::geometry;
  static_assert(G.kernel_h == G.kernel_w && G.stride_h == G.stride_w && G.pad_top == G.pad_left &&
                    G.pad_top == G.pad_bottom && G.pad_left == G.pad_right,
                "bench: the reference and oneDNN set-ups assume square, symmetric geometry");
  static constexpr ConvDims dims{G.in_c,  G.in_h,     G.in_w,      G.out_c, G.out_h,
                                 G.out_w, G.kernel_h, G.stride_h, G.pad_top};
  static constexpr std::size_t macs = layer::macs;  // per sample
};

namespace cn = ctcnn;
// (N, in->out, HxW, kernel, stride, padding) as issue 4 lists them.
struct S1 : ConvCase<1, 28, 28, cn::Conv2d<6, 5, cn::Padding<2>>> {};
struct S2 : ConvCase<6, 14, 14, cn::Conv2d<16, 5>> {};
struct S3 : ConvCase<1, 28, 28, cn::Conv2d<16, 5>> {};
struct S4 : ConvCase<16, 24, 24, cn::Conv2d<32, 5>> {};
struct S5 : ConvCase<64, 56, 56, cn::Conv2d<64, 3, cn::Padding<1>>> {};
struct S6 : ConvCase<3, 32, 32, cn::Conv2d<32, 3, cn::Padding<1>>> {};
struct S7 : ConvCase<32, 16, 16, cn::Conv2d<64, 3, cn::Stride<2>, cn::Padding<1>>> {};

}  // namespace bench
