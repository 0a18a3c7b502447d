// Tensor<Shape, T>: row-major indexing, 64-byte alignment on the stack and the
// heap, zero initialisation; TensorRef: the same view over memory owned elsewhere.
#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include "ctcnn/core/shape.hpp"
#include "ctcnn/core/tensor.hpp"

using ctcnn::Shape;
using ctcnn::Tensor;
using ctcnn::TensorRef;

namespace {
bool aligned64(const void* p) { return reinterpret_cast<std::uintptr_t>(p) % 64 == 0; }
}  // namespace

TEST_CASE("Tensor: static facts", "[core][tensor]") {
  using T = Tensor<Shape<2, 3, 4>>;
  STATIC_REQUIRE(T::size() == 24);
  STATIC_REQUIRE(T::rank == 3);
  STATIC_REQUIRE(T::shape == Shape<2, 3, 4>{});
  STATIC_REQUIRE(std::is_same_v<T::value_type, float>);
  STATIC_REQUIRE(std::is_same_v<Tensor<Shape<3>, double>::value_type, double>);
  STATIC_REQUIRE(alignof(T) == 64);
  STATIC_REQUIRE(alignof(Tensor<Shape<1>>) == 64);
  STATIC_REQUIRE(alignof(Tensor<Shape<100>, double>) == 64);
  // Storage only: the size rounds up to the alignment, nothing else is stored.
  STATIC_REQUIRE(sizeof(Tensor<Shape<16>>) == 64);
  STATIC_REQUIRE(sizeof(Tensor<Shape<17>>) == 128);
  STATIC_REQUIRE(std::is_trivially_copyable_v<T>);
}

TEST_CASE("Tensor: operator() is row-major, operator[] is flat", "[core][tensor]") {
  Tensor<Shape<2, 3, 4>> t;
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t j = 0; j < 3; ++j)
      for (std::size_t k = 0; k < 4; ++k) t(i, j, k) = static_cast<float>(100 * i + 10 * j + k);
  // flat = (i*3 + j)*4 + k
  REQUIRE(t[0] == 0.0f);
  REQUIRE(t[1] == 1.0f);
  REQUIRE(t[4] == 10.0f);
  REQUIRE(t[12] == 100.0f);
  REQUIRE(t[23] == 123.0f);
  REQUIRE(t.data()[(1 * 3 + 2) * 4 + 1] == 121.0f);
  REQUIRE(&t(1, 2, 3) == t.data() + 23);
  REQUIRE(t.end() - t.begin() == 24);

  // Indices of any integral type.
  REQUIRE(t(1, 0, 2) == t(std::size_t{1}, 0u, static_cast<unsigned char>(2)));
}

TEST_CASE("Tensor: zero-initialised, fill, const access", "[core][tensor]") {
  Tensor<Shape<3, 5>> t;
  for (float v : t) REQUIRE(v == 0.0f);
  t.fill(2.5f);
  for (float v : t) REQUIRE(v == 2.5f);
  const auto& c = t;
  REQUIRE(c(2, 4) == 2.5f);
  REQUIRE(c[14] == 2.5f);
  STATIC_REQUIRE(std::is_same_v<decltype(c.data()), const float*>);
  STATIC_REQUIRE(std::is_same_v<decltype(c(0, 0)), const float&>);
}

TEST_CASE("Tensor: usable in constant expressions", "[core][tensor]") {
  constexpr float v = [] {
    Tensor<Shape<2, 2>> t;
    t.fill(1.0f);
    t(1, 0) = 5.0f;
    float sum = 0.0f;
    for (float x : t) sum += x;
    return sum + t[2];
  }();
  STATIC_REQUIRE(v == 8.0f + 5.0f);
}

TEST_CASE("Tensor: 64-byte aligned on the stack and on the heap", "[core][tensor]") {
  // Neighbours of odd sizes, so that an unaligned tensor would land off 64.
  char pad1 = 1;
  Tensor<Shape<3>> a;
  char pad2 = 2;
  Tensor<Shape<1, 5, 5>> b;
  REQUIRE(aligned64(a.data()));
  REQUIRE(aligned64(b.data()));
  REQUIRE(aligned64(&a));
  static_cast<void>(pad1);
  static_cast<void>(pad2);

  auto heap = std::make_unique<Tensor<Shape<7, 13>>>();
  REQUIRE(aligned64(heap->data()));
  auto big = std::make_unique<Tensor<Shape<64, 3, 32, 32>>>();
  REQUIRE(aligned64(big->data()));

  std::vector<Tensor<Shape<5>>> many(7);
  for (const auto& t : many) REQUIRE(aligned64(t.data()));
}

TEST_CASE("TensorRef: a view with the same indexing", "[core][tensor]") {
  Tensor<Shape<2, 3>> t;
  TensorRef<Shape<2, 3>> r = t;  // implicit view
  REQUIRE(r.data() == t.data());
  r(1, 2) = 7.0f;
  REQUIRE(t(1, 2) == 7.0f);
  REQUIRE(t[5] == 7.0f);
  t(0, 1) = 3.0f;
  REQUIRE(r[1] == 3.0f);
  REQUIRE(r.end() - r.begin() == 6);
  STATIC_REQUIRE(decltype(r)::size() == 6);
  STATIC_REQUIRE(decltype(r)::shape == Shape<2, 3>{});
  STATIC_REQUIRE(sizeof(TensorRef<Shape<2, 3>>) == sizeof(float*));

  // Over raw memory, as the network's parameter buffer: (O, I) = (2, 3) weights at 4.
  float buffer[10] = {};
  TensorRef<Shape<2, 3>> w(buffer + 4);
  w(1, 0) = 9.0f;
  REQUIRE(buffer[4 + 3] == 9.0f);
  w.fill(1.0f);
  REQUIRE(buffer[3] == 0.0f);
  REQUIRE(buffer[4] == 1.0f);
  REQUIRE(buffer[9] == 1.0f);
}

TEST_CASE("TensorRef: const views and conversions", "[core][tensor]") {
  const Tensor<Shape<4>> ct{};
  TensorRef<Shape<4>, const float> cr = ct;
  REQUIRE(cr.data() == ct.data());
  STATIC_REQUIRE(std::is_same_v<decltype(cr.data()), const float*>);

  // A mutable tensor gives a read-only view too.
  Tensor<Shape<4>> t;
  TensorRef<Shape<4>, const float> ro = t;
  t[3] = 4.0f;
  REQUIRE(ro[3] == 4.0f);

  // Views need the same shape, and a const tensor cannot give a mutable view.
  STATIC_REQUIRE(std::is_convertible_v<Tensor<Shape<2, 3>>&, TensorRef<Shape<2, 3>>>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<TensorRef<Shape<3, 2>>, Tensor<Shape<2, 3>>&>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<TensorRef<Shape<6>>, Tensor<Shape<2, 3>>&>);
  STATIC_REQUIRE_FALSE(
      std::is_constructible_v<TensorRef<Shape<2, 3>>, const Tensor<Shape<2, 3>>&>);
  STATIC_REQUIRE_FALSE(
      std::is_constructible_v<TensorRef<Shape<2, 3>>, Tensor<Shape<2, 3>, double>&>);
  // Raw pointers need the explicit constructor.
  STATIC_REQUIRE_FALSE(std::is_convertible_v<float*, TensorRef<Shape<2, 3>>>);
  STATIC_REQUIRE(std::is_constructible_v<TensorRef<Shape<2, 3>>, float*>);
  STATIC_REQUIRE_FALSE(std::is_constructible_v<TensorRef<Shape<2, 3>>, const float*>);
}
