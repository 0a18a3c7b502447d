// Shape<Dims...>: rank, size, dim, row-major stride, equality, batching.
#include <catch2/catch.hpp>

#include <cstddef>
#include <type_traits>

#include "ctcnn/core/shape.hpp"

using ctcnn::Shape;

TEST_CASE("Shape: rank, size and dims", "[core][shape]") {
  using S = Shape<2, 3, 4>;
  STATIC_REQUIRE(S::rank == 3);
  STATIC_REQUIRE(S::size == 24);
  STATIC_REQUIRE(S::dim<0> == 2);
  STATIC_REQUIRE(S::dim<1> == 3);
  STATIC_REQUIRE(S::dim<2> == 4);
  STATIC_REQUIRE(S::dims[0] == 2 && S::dims[1] == 3 && S::dims[2] == 4);

  STATIC_REQUIRE(Shape<10>::rank == 1);
  STATIC_REQUIRE(Shape<10>::size == 10);
  STATIC_REQUIRE(Shape<1, 28, 28>::size == 784);
  // A zero extent makes an empty tensor, not a wrapped-around size.
  STATIC_REQUIRE(Shape<3, 0, 5>::size == 0);
  // The empty shape is a scalar: one element.
  STATIC_REQUIRE(Shape<>::rank == 0);
  STATIC_REQUIRE(Shape<>::size == 1);
}

template <class S, std::size_t I>
concept HasDim = requires { S::template dim<I>; };

TEST_CASE("Shape: dim is constrained to existing axes", "[core][shape]") {
  STATIC_REQUIRE(HasDim<Shape<2, 3>, 1>);
  STATIC_REQUIRE_FALSE(HasDim<Shape<2, 3>, 2>);
  STATIC_REQUIRE_FALSE(HasDim<Shape<>, 0>);
}

TEST_CASE("Shape: row-major strides", "[core][shape]") {
  // (N, C, H, W) = (2, 3, 4, 5): strides 60, 20, 5, 1 elements.
  using S = Shape<2, 3, 4, 5>;
  STATIC_REQUIRE(S::stride<0> == 60);
  STATIC_REQUIRE(S::stride<1> == 20);
  STATIC_REQUIRE(S::stride<2> == 5);
  STATIC_REQUIRE(S::stride<3> == 1);
  STATIC_REQUIRE(Shape<7>::stride<0> == 1);
  // stride<0> * dim<0> covers the whole tensor.
  STATIC_REQUIRE(S::stride<0> * S::dim<0> == S::size);
}

TEST_CASE("Shape: equality compares rank and every extent", "[core][shape]") {
  STATIC_REQUIRE(Shape<1, 28, 28>{} == Shape<1, 28, 28>{});
  STATIC_REQUIRE_FALSE(Shape<1, 28, 28>{} == Shape<1, 28, 27>{});
  STATIC_REQUIRE_FALSE(Shape<1, 28, 28>{} == Shape<28, 28, 1>{});
  // Same size, different rank: not equal.
  STATIC_REQUIRE_FALSE(Shape<784>{} == Shape<1, 28, 28>{});
  STATIC_REQUIRE_FALSE(Shape<1, 784>{} == Shape<784>{});
  STATIC_REQUIRE(Shape<>{} == Shape<>{});
  STATIC_REQUIRE(Shape<3>{} != Shape<4>{});
}

TEST_CASE("Shape: is_shape_v and batched_t", "[core][shape]") {
  STATIC_REQUIRE(ctcnn::is_shape_v<Shape<3, 4>>);
  STATIC_REQUIRE(ctcnn::is_shape_v<Shape<>>);
  STATIC_REQUIRE_FALSE(ctcnn::is_shape_v<int>);
  STATIC_REQUIRE_FALSE(ctcnn::is_shape_v<const Shape<3>>);
  STATIC_REQUIRE(std::is_same_v<ctcnn::batched_t<7, Shape<1, 28, 28>>, Shape<7, 1, 28, 28>>);
  STATIC_REQUIRE(std::is_same_v<ctcnn::batched_t<1, Shape<10>>, Shape<1, 10>>);
  STATIC_REQUIRE(ctcnn::batched_t<64, Shape<3, 32, 32>>::size == 64 * 3 * 32 * 32);
}

TEST_CASE("Shape: is an empty value type", "[core][shape]") {
  STATIC_REQUIRE(std::is_empty_v<Shape<2, 3>>);
  STATIC_REQUIRE(std::is_trivially_copyable_v<Shape<2, 3>>);
}
