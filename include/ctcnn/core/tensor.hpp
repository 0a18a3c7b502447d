// ctcnn/core/tensor.hpp
// Tensor<Shape<...>, T>: fixed-size, 64-byte-aligned, row-major storage (the
// PyTorch layout: C,H,W per sample, N,C,H,W for a batch). TensorRef is the same
// interface over memory owned elsewhere (a network's parameters, a workspace).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <type_traits>

#include "ctcnn/core/shape.hpp"

namespace ctcnn {

namespace detail {
template <class S, class... Index>
constexpr std::size_t flat_index(Index... index) {
  static_assert(sizeof...(Index) == S::rank, "ctcnn::Tensor: operator() needs one index per axis");
  const std::array<std::size_t, S::rank> idx{static_cast<std::size_t>(index)...};
  std::size_t flat = 0;
  for (std::size_t a = 0; a < S::rank; ++a) flat = flat * S::dims[a] + idx[a];
  return flat;
}

// The accessors shared by Tensor and TensorRef (CRTP keeps both trivially small).
template <class Derived, class S, class T>
struct tensor_access {
  using shape_type = S;
  using value_type = T;
  static constexpr S shape{};
  static constexpr std::size_t rank = S::rank;
  static constexpr std::size_t size() { return S::size; }

  constexpr T* begin() { return self().data(); }
  constexpr T* end() { return self().data() + S::size; }
  constexpr const T* begin() const { return self().data(); }
  constexpr const T* end() const { return self().data() + S::size; }
  constexpr T& operator[](std::size_t i) { return self().data()[i]; }
  constexpr const T& operator[](std::size_t i) const { return self().data()[i]; }
  template <class... Index>
  constexpr T& operator()(Index... i) { return self().data()[flat_index<S>(i...)]; }
  template <class... Index>
  constexpr const T& operator()(Index... i) const { return self().data()[flat_index<S>(i...)]; }
  constexpr void fill(T v) { std::fill(begin(), end(), v); }

 private:
  constexpr Derived& self() { return static_cast<Derived&>(*this); }
  constexpr const Derived& self() const { return static_cast<const Derived&>(*this); }
};
}  // namespace detail

template <class S, class T = float>
class Tensor;

template <std::size_t... D, class T>
class Tensor<Shape<D...>, T> : public detail::tensor_access<Tensor<Shape<D...>, T>, Shape<D...>, T> {
 public:
  constexpr T* data() { return storage_.data(); }
  constexpr const T* data() const { return storage_.data(); }

 private:
  alignas(64) std::array<T, Shape<D...>::size> storage_{};
};

template <class S, class T = float>
class TensorRef;

template <std::size_t... D, class T>
class TensorRef<Shape<D...>, T>
    : public detail::tensor_access<TensorRef<Shape<D...>, T>, Shape<D...>, T> {
 public:
  constexpr explicit TensorRef(T* data) : data_(data) {}
  template <class U>
    requires std::is_same_v<std::remove_const_t<T>, U>
  constexpr TensorRef(Tensor<Shape<D...>, U>& t) : data_(t.data()) {}  // NOLINT: implicit view
  template <class U>
    requires std::is_same_v<const U, T>
  constexpr TensorRef(const Tensor<Shape<D...>, U>& t) : data_(t.data()) {}  // NOLINT
  constexpr T* data() const { return data_; }

 private:
  T* data_;
};

}  // namespace ctcnn
