// ctcnn/io/idx.hpp: reader for MNIST-style idx files, raw or gzip-compressed.
//
// Format: a 4-byte magic number 00 00 <type> <rank>, then <rank> big-endian u32
// dimensions, then the elements in row-major order (big-endian when wider than
// a byte). Type codes: 0x08 ubyte (the MNIST case), 0x09 i8, 0x0B i16, 0x0C i32,
// 0x0D f32, 0x0E f64. Compression is recognised by the gzip magic bytes 1f 8b,
// never by the file name; concatenated gzip members read as one stream.
//
// Errors: every bad input throws ctcnn::io::IoError naming the file and the
// problem: missing or unreadable file, bad magic number (the bytes found are
// printed), unsupported type code, rank 0 or above 4, more than 2^31 elements,
// truncated header or payload (bytes expected vs found), trailing bytes after
// the payload or after the gzip stream, corrupt gzip stream. Memory grows with
// the bytes actually present, so a lying header cannot make the reader
// allocate gigabytes before the truncation is noticed.
//
// Link: zlib. The ctcnn::ctcnn target does not link it; add ZLIB::ZLIB to the
// target that includes this header.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "ctcnn/detail/format.hpp"
#include "ctcnn/io/error.hpp"

namespace ctcnn::io {

// Type codes (third byte of the magic number).
inline constexpr std::uint8_t idx_ubyte = 0x08;
inline constexpr std::uint8_t idx_i8 = 0x09;
inline constexpr std::uint8_t idx_i16 = 0x0B;
inline constexpr std::uint8_t idx_i32 = 0x0C;
inline constexpr std::uint8_t idx_f32 = 0x0D;
inline constexpr std::uint8_t idx_f64 = 0x0E;

// Largest element count accepted: far above any real data set, far below what
// would overflow size arithmetic or exhaust memory on a typo'd header.
inline constexpr std::uint64_t idx_max_elements = std::uint64_t{1} << 31;

// Bytes per element of a type code; 0 for an unsupported code.
constexpr std::size_t idx_type_size(std::uint8_t type_code) noexcept {
  switch (type_code) {
    case idx_ubyte: case idx_i8: return 1;
    case idx_i16: return 2;
    case idx_i32: case idx_f32: return 4;
    case idx_f64: return 8;
    default: return 0;
  }
}

// "ubyte", "i8", ...; "unknown" for an unsupported code.
constexpr std::string_view idx_type_name(std::uint8_t type_code) noexcept {
  switch (type_code) {
    case idx_ubyte: return "ubyte";
    case idx_i8: return "i8";
    case idx_i16: return "i16";
    case idx_i32: return "i32";
    case idx_f32: return "f32";
    case idx_f64: return "f64";
    default: return "unknown";
  }
}

// Any idx file. `bytes` holds product(dims) * idx_type_size(type_code) bytes,
// exactly as stored: big-endian for the multi-byte types.
struct IdxData {
  std::uint8_t type_code = idx_ubyte;
  std::vector<std::size_t> dims;
  std::vector<std::uint8_t> bytes;
};

// A rank-3 ubyte file: pixels are (N,H,W) = (count,rows,cols), row-major.
struct IdxImages {
  std::size_t count = 0, rows = 0, cols = 0;
  std::vector<std::uint8_t> pixels;
};

namespace detail::idx {

using ctcnn::detail::formatted;

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

[[gnu::cold]] inline std::string errno_text(int err) { return std::generic_category().message(err); }

[[gnu::cold]] inline FilePtr open_for_reading(const std::filesystem::path& file) {
  // fopen succeeds on a directory on Linux; the failure would only come at read.
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) {
    detail::throw_io_error(file, "cannot open for reading: is a directory");
  }
  errno = 0;
  FilePtr f(std::fopen(file.string().c_str(), "rb"));
  if (!f) detail::throw_io_error(file, "cannot open for reading: %s", errno_text(errno).c_str());
  return f;
}

[[gnu::cold]] inline std::string hex_bytes(const unsigned char* p, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) ctcnn::detail::append_format(s, "%s%02x", i ? " " : "", unsigned{p[i]});
  return s;
}

[[gnu::cold]] inline std::string dims_text(const std::vector<std::size_t>& dims) {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) ctcnn::detail::append_format(s, "%s%zu", i ? "x" : "", dims[i]);
  return s;
}

// The file's bytes, inflated on the fly when the file starts with the gzip
// magic. read() returns fewer bytes than asked only at the end of the data.
class ByteSource {
 public:
  [[gnu::cold]] explicit ByteSource(const std::filesystem::path& file)
      : file_(file), fp_(open_for_reading(file)), in_(std::size_t{1} << 18) {
    top_up();
    gzip_ = avail_ >= 2 && next_[0] == 0x1f && next_[1] == 0x8b;
    if (gzip_) {
      // 16 + MAX_WBITS: gzip wrapper only, with its CRC and length checked.
      if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK) {
        detail::throw_io_error(file_, "cannot initialise zlib");
      }
      zs_initialised_ = true;
    }
  }
  ~ByteSource() {
    if (zs_initialised_) inflateEnd(&zs_);
  }
  ByteSource(const ByteSource&) = delete;
  ByteSource& operator=(const ByteSource&) = delete;

  [[gnu::cold]] std::size_t read(unsigned char* out, std::size_t n) {
    return gzip_ ? read_gzip(out, n) : read_raw(out, n);
  }

 private:
  // Keeps unconsumed input at the front of in_ and appends what the file has;
  // false at the end of the file.
  [[gnu::cold]] bool top_up() {
    if (avail_ > 0 && next_ != in_.data()) std::copy_n(next_, avail_, in_.data());
    next_ = in_.data();
    const std::size_t got = std::fread(in_.data() + avail_, 1, in_.size() - avail_, fp_.get());
    if (std::ferror(fp_.get())) detail::throw_io_error(file_, "read error: %s", errno_text(errno).c_str());
    avail_ += got;
    return got > 0;
  }

  [[gnu::cold]] std::size_t read_raw(unsigned char* out, std::size_t n) {
    std::size_t done = std::min(n, avail_);
    std::copy_n(next_, done, out);
    next_ += done;
    avail_ -= done;
    if (done < n) {
      done += std::fread(out + done, 1, n - done, fp_.get());
      if (std::ferror(fp_.get())) detail::throw_io_error(file_, "read error: %s", errno_text(errno).c_str());
    }
    return done;
  }

  [[gnu::cold]] std::size_t read_gzip(unsigned char* out, std::size_t n) {
    std::size_t done = 0;
    while (done < n && !finished_) {
      if (avail_ == 0 && !top_up()) {
        detail::throw_io_error(file_, "corrupt gzip stream: unexpected end of file (compressed data truncated)");
      }
      const std::size_t want = std::min<std::size_t>(n - done, UINT_MAX);
      const std::size_t offered = std::min<std::size_t>(avail_, UINT_MAX);
      zs_.next_in = next_;
      zs_.avail_in = static_cast<uInt>(offered);
      zs_.next_out = out + done;
      zs_.avail_out = static_cast<uInt>(want);
      const int rc = inflate(&zs_, Z_NO_FLUSH);
      next_ = zs_.next_in;
      avail_ -= offered - zs_.avail_in;
      done += want - zs_.avail_out;
      if (rc == Z_STREAM_END) {
        next_member();
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        // Z_BUF_ERROR only means "needs more input", handled at the loop top.
        if (zs_.msg) throw_io_error(file_, "corrupt gzip stream: %s", zs_.msg);
        throw_io_error(file_, "corrupt gzip stream: zlib error %d", rc);
      }
    }
    return done;
  }

  // After a gzip member: the end of the file, another member, or garbage.
  [[gnu::cold]] void next_member() {
    while (avail_ < 2 && top_up()) {
    }
    if (avail_ == 0) {
      finished_ = true;
    } else if (avail_ >= 2 && next_[0] == 0x1f && next_[1] == 0x8b) {
      inflateReset(&zs_);
    } else {
      std::uint64_t extra = avail_;
      avail_ = 0;
      while (top_up()) {
        extra += avail_;
        avail_ = 0;
      }
      detail::throw_io_error(file_, "trailing garbage: %llu bytes after the end of the gzip stream",
                             static_cast<unsigned long long>(extra));
    }
  }

  std::filesystem::path file_;
  FilePtr fp_;
  std::vector<unsigned char> in_;
  unsigned char* next_ = nullptr;
  std::size_t avail_ = 0;
  bool gzip_ = false;
  bool finished_ = false;
  bool zs_initialised_ = false;
  z_stream zs_{};
};

struct Header {
  std::uint8_t type_code = 0;
  std::vector<std::size_t> dims;
  std::uint64_t payload_bytes = 0;
};

[[gnu::cold]] inline Header read_header(ByteSource& src, const std::filesystem::path& file) {
  unsigned char magic[4];
  const std::size_t got = src.read(magic, 4);
  if (got == 0) detail::throw_io_error(file, "empty file: expected an idx magic number");
  if (got < 4) {
    detail::throw_io_error(file, "truncated header: the magic number needs 4 bytes, found %zu", got);
  }
  if (magic[0] != 0 || magic[1] != 0) {
    detail::throw_io_error(file, "bad magic number: found bytes %s, expected 00 00 <type> <rank> (not an idx file?)",
                           hex_bytes(magic, 4).c_str());
  }
  Header h;
  h.type_code = magic[2];
  if (idx_type_size(h.type_code) == 0) {
    detail::throw_io_error(file,
                           "unsupported type code 0x%02x (supported: 08 ubyte, 09 i8, 0b i16, 0c i32, 0d f32, 0e f64)",
                           unsigned{magic[2]});
  }
  const unsigned rank = magic[3];
  if (rank == 0 || rank > 4) {
    detail::throw_io_error(file, "unsupported rank %u (supported: 1 to 4)", rank);
  }
  unsigned char raw[16];
  const std::size_t dim_bytes = std::size_t{4} * rank;
  if (const std::size_t n = src.read(raw, dim_bytes); n < dim_bytes) {
    detail::throw_io_error(file, "truncated header: rank %u needs %zu bytes of dimensions, found %zu", rank,
                           dim_bytes, n);
  }
  std::uint64_t elements = 1;
  bool too_many = false;
  for (unsigned i = 0; i < rank; ++i) {
    const std::uint32_t d = std::uint32_t{raw[4 * i]} << 24 | std::uint32_t{raw[4 * i + 1]} << 16 |
                            std::uint32_t{raw[4 * i + 2]} << 8 | std::uint32_t{raw[4 * i + 3]};
    h.dims.push_back(d);
    // Stop multiplying once past the cap: (cap * 2^32) still fits in 64 bits.
    if (!too_many) {
      elements *= d;
      too_many = elements > idx_max_elements;
    }
  }
  const bool empty = std::find(h.dims.begin(), h.dims.end(), 0u) != h.dims.end();
  if (too_many && !empty) {
    detail::throw_io_error(file, "absurd size: dimensions %s give more than %llu elements (the limit)",
                           dims_text(h.dims).c_str(), static_cast<unsigned long long>(idx_max_elements));
  }
  h.payload_bytes = empty ? 0 : elements * idx_type_size(h.type_code);
  return h;
}

// Reads exactly h.payload_bytes and checks that nothing follows. `what` says
// what the header promised, for the messages ("60000 images of 28x28").
[[gnu::cold]] inline std::vector<std::uint8_t> read_payload(ByteSource& src, const std::filesystem::path& file,
                                                            const Header& h, const std::string& what) {
  const std::uint64_t expected = h.payload_bytes;
  constexpr std::size_t chunk = std::size_t{1} << 24;
  std::vector<std::uint8_t> bytes;
  bytes.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(expected, std::uint64_t{1} << 26)));
  while (bytes.size() < expected) {
    const std::size_t old = bytes.size();
    const auto step = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, expected - old));
    bytes.resize(old + step);
    const std::size_t got = src.read(bytes.data() + old, step);
    if (got < step) {
      detail::throw_io_error(file, "truncated: header says %s (%llu bytes) but only %zu bytes follow", what.c_str(),
                             static_cast<unsigned long long>(expected), old + got);
    }
  }
  // Reading to the end also makes zlib verify the gzip CRC and length.
  constexpr std::uint64_t count_limit = std::uint64_t{1} << 20;
  unsigned char probe[4096];
  std::uint64_t extra = 0;
  for (std::size_t got; extra < count_limit && (got = src.read(probe, sizeof probe)) > 0;) {
    extra += got;
  }
  if (extra > 0) {
    detail::throw_io_error(file, "trailing garbage: %s%llu bytes after the payload (header says %s, %llu bytes)",
                           extra >= count_limit ? "at least " : "", static_cast<unsigned long long>(extra),
                           what.c_str(), static_cast<unsigned long long>(expected));
  }
  return bytes;
}

}  // namespace detail::idx

// Reads any supported idx file.
[[gnu::cold]] inline IdxData read_idx(const std::filesystem::path& file) {
  detail::idx::ByteSource src(file);
  auto h = detail::idx::read_header(src, file);
  const std::string what = ctcnn::detail::formatted("%s %s elements", detail::idx::dims_text(h.dims).c_str(),
                                                    idx_type_name(h.type_code).data());
  auto bytes = detail::idx::read_payload(src, file, h, what);
  return IdxData{h.type_code, std::move(h.dims), std::move(bytes)};
}

// Reads an images file: rank 3 (count, rows, cols), type ubyte.
[[gnu::cold]] inline IdxImages read_idx_images(const std::filesystem::path& file) {
  detail::idx::ByteSource src(file);
  const auto h = detail::idx::read_header(src, file);
  if (h.type_code != idx_ubyte) {
    detail::throw_io_error(file, "expected ubyte images (type 0x08), found type 0x%02x (%s)",
                           unsigned{h.type_code}, idx_type_name(h.type_code).data());
  }
  if (h.dims.size() != 3) {
    detail::throw_io_error(file, "expected images of rank 3 (count x rows x cols), found rank %zu (%s%s)",
                           h.dims.size(), detail::idx::dims_text(h.dims).c_str(),
                           h.dims.size() == 1 ? "; a labels file?" : "");
  }
  const std::string what = ctcnn::detail::formatted("%zu images of %zux%zu", h.dims[0], h.dims[1], h.dims[2]);
  auto pixels = detail::idx::read_payload(src, file, h, what);
  return IdxImages{h.dims[0], h.dims[1], h.dims[2], std::move(pixels)};
}

// Reads a labels file: rank 1 (count), type ubyte. The label range is the
// caller's to check, since it depends on the data set.
[[gnu::cold]] inline std::vector<std::uint8_t> read_idx_labels(const std::filesystem::path& file) {
  detail::idx::ByteSource src(file);
  const auto h = detail::idx::read_header(src, file);
  if (h.type_code != idx_ubyte) {
    detail::throw_io_error(file, "expected ubyte labels (type 0x08), found type 0x%02x (%s)",
                           unsigned{h.type_code}, idx_type_name(h.type_code).data());
  }
  if (h.dims.size() != 1) {
    detail::throw_io_error(file, "expected labels of rank 1 (count), found rank %zu (%s%s)",
                           h.dims.size(), detail::idx::dims_text(h.dims).c_str(),
                           h.dims.size() == 3 ? "; an images file?" : "");
  }
  return detail::idx::read_payload(src, file, h, ctcnn::detail::formatted("%zu labels", h.dims[0]));
}

}  // namespace ctcnn::io
