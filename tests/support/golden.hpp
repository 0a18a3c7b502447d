// Golden values from PyTorch (tests/golden/data/*.safetensors, see
// tests/golden/README.md) as float vectors, and the tolerant comparison the
// golden tests share.
//
// Golden g("conv_rect") opens CTCNN_GOLDEN_DIR/conv_rect.safetensors. Every
// accessor fails the running test case with a message naming the file and what
// is missing (the tensor, the metadata key) or wrong (the shape), so a test that
// disagrees with its file says so instead of comparing garbage.
#pragma once

#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <filesystem>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctcnn/core/shape.hpp"
#include "ctcnn/io/safetensors.hpp"

#ifndef CTCNN_GOLDEN_DIR
#error "CTCNN_GOLDEN_DIR must point at tests/golden/data (the test CMakeLists defines it)"
#endif

namespace ctcnn::test {

// The dims of a Shape type as the vector safetensors uses.
template <class S>
std::vector<std::size_t> dims_of() {
  return std::vector<std::size_t>(S::dims.begin(), S::dims.end());
}

class Golden {
 public:
  explicit Golden(std::string_view stem)
      : file_(io::SafetensorsFile::read(std::filesystem::path(CTCNN_GOLDEN_DIR) /
                                        (std::string(stem) + ".safetensors"))) {}

  const io::SafetensorsFile& file() const { return file_; }
  std::string name() const { return file_.path().filename().string(); }

  bool has(std::string_view tensor) const { return file_.find(tensor) != nullptr; }

  // The values of `tensor`, which must exist and have exactly `shape`.
  std::vector<float> tensor(std::string_view tensor, const std::vector<std::size_t>& shape) const {
    require_tensor(tensor);
    const auto& have = file_.find(tensor)->shape;
    if (have != shape) {
      FAIL(name() << ": tensor '" << tensor << "' has shape " << shape_text(have)
                  << " but the test expects " << shape_text(shape));
    }
    return file_.to_f32(tensor);
  }
  template <class S>
  std::vector<float> tensor(std::string_view tensor) const {
    return this->tensor(tensor, dims_of<S>());
  }

  // Copies `tensor` into dst (a Tensor or TensorRef); the shapes must agree.
  template <class Dst>
  void load(std::string_view tensor, Dst&& dst) const {
    using S = typename std::remove_cvref_t<Dst>::shape_type;
    const std::vector<float> v = this->tensor<S>(tensor);
    std::copy(v.begin(), v.end(), dst.begin());
  }

  // A metadata string, which must exist.
  std::string meta(std::string_view key) const {
    const auto& m = file_.metadata();
    const auto it = m.find(std::string(key));
    if (it == m.end()) FAIL(name() << ": no metadata key '" << key << "'");
    return it->second;
  }
  // A comma-separated list of sizes: "2,4" -> {2, 4}; "7" -> {7}.
  std::vector<std::size_t> meta_sizes(std::string_view key) const {
    const std::string text = meta(key);
    std::vector<std::size_t> out;
    std::size_t pos = 0;
    while (pos <= text.size()) {
      const std::size_t comma = std::min(text.find(',', pos), text.size());
      const std::string item = text.substr(pos, comma - pos);
      if (item.empty() || item.find_first_not_of("0123456789 ") != std::string::npos) {
        FAIL(name() << ": metadata '" << key << "' = '" << text << "' is not a list of sizes");
      }
      out.push_back(std::stoul(item));
      pos = comma + 1;
    }
    return out;
  }

 private:
  void require_tensor(std::string_view tensor) const {
    if (has(tensor)) return;
    std::string names;
    for (const auto& t : file_.tensors()) names += (names.empty() ? "" : ", ") + t.name;
    FAIL(name() << ": no tensor '" << tensor << "' (the file holds: " << names << ")");
  }
  static std::string shape_text(const std::vector<std::size_t>& s) {
    std::string t = "[";
    for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
    return t + "]";
  }

  io::SafetensorsFile file_;
};

// |actual - expected| <= abs + rel * |expected|, element by element.
struct Tolerance {
  double abs = 1e-5;
  double rel = 1e-4;
};

struct Comparison {
  bool sizes_match = true;
  std::size_t mismatches = 0;
  std::size_t first_bad = 0;          // index of the first element out of tolerance
  float first_actual = 0, first_expected = 0;
  double max_abs_error = 0;
  double worst_ratio = 0;  // max |a - e| / (abs + rel |e|); <= 1 passes
  bool ok() const { return sizes_match && mismatches == 0; }
};

inline Comparison compare(std::span<const float> actual, std::span<const float> expected,
                          Tolerance tol = {}) {
  constexpr double inf = std::numeric_limits<double>::infinity();
  Comparison c;
  if (actual.size() != expected.size()) {
    c.sizes_match = false;
    return c;
  }
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = actual[i], e = expected[i];
    const double err = std::abs(a - e);
    const double ratio = err / (tol.abs + tol.rel * std::abs(e));
    // NaN on either side is a mismatch: !(ratio <= 1).
    if (!(ratio <= 1.0)) {
      if (c.mismatches++ == 0) {
        c.first_bad = i;
        c.first_actual = actual[i];
        c.first_expected = expected[i];
      }
    }
    c.max_abs_error = std::max(c.max_abs_error, std::isnan(err) ? inf : err);
    c.worst_ratio = std::max(c.worst_ratio, std::isnan(ratio) ? inf : ratio);
  }
  return c;
}

template <class T>
std::span<const float> values(const T& t) {
  return std::span<const float>(t.data(), t.size());
}

// A Catch2 check (the test case goes on after a failure, so every mismatching
// tensor is reported) that prints where and by how much `what` is off.
inline void check_close(std::string_view what, std::span<const float> actual,
                        std::span<const float> expected, Tolerance tol = {}) {
  const Comparison c = compare(actual, expected, tol);
  INFO(what << ": " << actual.size() << " values vs " << expected.size() << " expected");
  INFO("tolerance |a - e| <= " << tol.abs << " + " << tol.rel << " * |e|");
  INFO("max |a - e| = " << c.max_abs_error << ", worst error / tolerance = " << c.worst_ratio);
  INFO(c.mismatches << " out of tolerance; first at flat index " << c.first_bad << ": got "
                    << c.first_actual << ", expected " << c.first_expected);
  CHECK(c.ok());
}

}  // namespace ctcnn::test
