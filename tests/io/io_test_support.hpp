// Helpers for the io tests: a private temporary directory, raw and gzip file
// writers, and a matcher for "IoError whose message names the file and says X".
#pragma once

#include <catch2/catch.hpp>
#include <zlib.h>

#include <cstdint>
#include <fstream>
#include <filesystem>
#include <initializer_list>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "ctcnn/io/error.hpp"

namespace ctcnn::io::test {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

// CTest runs test cases as parallel processes: each gets its own directory.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("ctcnn-io-test-" + std::to_string(rd()) + "-" + std::to_string(rd()));
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

inline void write_file(const fs::path& file, const std::string& text) {
  write_file(file, Bytes(text.begin(), text.end()));
}

// Written with zlib's own gzip writer, as gzip(1) would.
inline void write_gzip(const fs::path& file, const Bytes& bytes) {
  gzFile gz = gzopen(file.string().c_str(), "wb9");
  REQUIRE(gz != nullptr);
  if (!bytes.empty()) {
    REQUIRE(gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size())) ==
            static_cast<int>(bytes.size()));
  }
  REQUIRE(gzclose(gz) == Z_OK);
}

inline Bytes read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in.good());
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void append_u32_be(Bytes& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(v >> shift));
}

// An idx file: magic 00 00 type rank, big-endian dims, then `payload` as is.
inline Bytes idx_file(std::uint8_t type, const std::vector<std::uint32_t>& dims, const Bytes& payload) {
  Bytes out{0, 0, type, static_cast<unsigned char>(dims.size())};
  for (auto d : dims) append_u32_be(out, d);
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

inline Bytes iota_bytes(std::size_t n, unsigned start = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(start + i * 7);
  return b;
}

// Matches an IoError whose message names `file` and contains every word.
class MentionsMatcher : public Catch::MatcherBase<IoError> {
 public:
  MentionsMatcher(const fs::path& file, std::initializer_list<std::string> words)
      : words_(words) {
    words_.insert(words_.begin(), file.string());
  }
  bool match(const IoError& e) const override {
    const std::string message = e.what();
    for (const auto& w : words_) {
      if (message.find(w) == std::string::npos) return false;
    }
    return message.rfind("ctcnn: ", 0) == 0;
  }
  std::string describe() const override {
    std::string s = "starts with \"ctcnn: \" and contains";
    for (const auto& w : words_) s += " \"" + w + "\"";
    return s;
  }

 private:
  std::vector<std::string> words_;
};

inline MentionsMatcher mentions(const fs::path& file, std::initializer_list<std::string> words) {
  return MentionsMatcher(file, words);
}

}  // namespace ctcnn::io::test
