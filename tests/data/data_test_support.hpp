// Helpers for the data and trainer tests: a private temporary directory, idx
// file writers (raw and gzip), and the DESIGN.md LeNet-5.
#pragma once

#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "ctcnn/ctcnn.hpp"

namespace ctcnn::test {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

struct LeNet5 : Sequential<Input<1, 28, 28>,                          //
                           Conv2d<6, 5, Padding<2>>, ReLU, MaxPool2d<2>,  //
                           Conv2d<16, 5>, ReLU, MaxPool2d<2>,             //
                           Flatten,                                       //
                           Linear<120>, ReLU,                             //
                           Linear<84>, ReLU,                              //
                           Linear<10>> {};

// CTest runs test cases as parallel processes: each gets its own directory.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("ctcnn-data-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path operator/(const std::string& name) const { return path_ / name; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline void write_file(const fs::path& file, const Bytes& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline Bytes read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in.good());
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Written with zlib's own gzip writer, as gzip(1) would.
inline void write_gzip(const fs::path& file, const Bytes& bytes) {
  gzFile gz = gzopen(file.string().c_str(), "wb6");
  REQUIRE(gz != nullptr);
  if (!bytes.empty()) {
    REQUIRE(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) ==
            static_cast<int>(bytes.size()));
  }
  REQUIRE(gzclose(gz) == Z_OK);
}

inline void append_u32_be(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(v >> shift));
}

// An idx ubyte file: magic 00 00 08 rank, big-endian dims, then the payload.
inline Bytes idx_ubyte(const std::vector<std::uint32_t>& dims, const Bytes& payload) {
  Bytes out{0, 0, 0x08, static_cast<unsigned char>(dims.size())};
  for (auto d : dims) append_u32_be(out, d);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

// count images of rows x cols with pixels from a seeded generator, and labels
// cycling through 0..classes-1 in a seeded order.
struct SyntheticSet {
  Bytes pixels, labels;
};
inline SyntheticSet synthetic_set(std::size_t count, std::size_t rows, std::size_t cols,
                                  std::uint32_t seed, unsigned classes = 10) {
  std::mt19937 gen(seed);
  SyntheticSet s;
  s.pixels.resize(count * rows * cols);
  for (auto& p : s.pixels) p = static_cast<unsigned char>(gen() & 0xFF);
  for (std::size_t i = 0; i < count; ++i) s.labels.push_back(static_cast<unsigned char>(gen() % classes));
  return s;
}

}  // namespace ctcnn::test
