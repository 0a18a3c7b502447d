// Helpers for the train tests: golden-file access and tolerant comparison.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "ctcnn/ctcnn.hpp"
#include "ctcnn/io/safetensors.hpp"

namespace ctcnn::train_test {

// LeNet-5 as DESIGN.md and tests/golden/generate.py define it.
struct LeNet5 : Sequential<Input<1, 28, 28>, Conv2d<6, 5, Padding<2>>, ReLU, MaxPool2d<2>,
                           Conv2d<16, 5>, ReLU, MaxPool2d<2>, Flatten, Linear<120>, ReLU,
                           Linear<84>, ReLU, Linear<10>> {};

inline io::SafetensorsFile golden(const std::string& name) {
  return io::SafetensorsFile::read(std::string(CTCNN_GOLDEN_DIR) + "/" + name + ".safetensors");
}

// The values of an I64 tensor (the golden files store class labels as I64).
inline std::vector<std::int64_t> to_i64(const io::SafetensorsFile& file, const std::string& name) {
  const io::TensorRecord* t = file.find(name);
  REQUIRE(t != nullptr);
  REQUIRE(t->dtype == io::Dtype::I64);
  std::vector<std::int64_t> out(t->bytes.size() / 8);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint64_t v = 0;
    for (std::size_t b = 0; b < 8; ++b)
      v |= std::uint64_t{std::to_integer<unsigned char>(t->bytes[8 * i + b])} << (8 * b);
    out[i] = static_cast<std::int64_t>(v);
  }
  return out;
}

// A float's exact bits, for messages of bit-for-bit comparisons.
inline std::string hex(float v) {
  std::ostringstream out;
  out << std::hexfloat << v;
  return out.str();
}

// |actual - expected| <= abs + rel * |expected|, the tolerance the golden tests state.
inline bool close(double actual, double expected, double abs, double rel) {
  return std::isfinite(actual) && std::abs(actual - expected) <= abs + rel * std::abs(expected);
}

template <class A, class B>
void require_all_close(const A& actual, const B& expected, std::size_t count, double abs,
                       double rel) {
  for (std::size_t i = 0; i < count; ++i) {
    INFO("element " << i << ": actual " << actual[i] << ", expected " << expected[i]);
    REQUIRE(close(actual[i], expected[i], abs, rel));
  }
}

}  // namespace ctcnn::train_test
