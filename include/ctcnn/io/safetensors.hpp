// ctcnn/io/safetensors.hpp: read and write the safetensors weight format.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON, then the
// data buffer. The JSON object maps each tensor name to
//   {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// (offsets relative to the start of the buffer) and may hold
// "__metadata__": {"key": "value", ...} with string values only. Tensors are
// little-endian, row-major, and together cover the buffer without holes or
// overlaps.
//
// Errors: SafetensorsFile::read validates everything before handing anything
// out and throws ctcnn::io::IoError naming the file and the problem: file
// shorter than 8 bytes, header length beyond the file or above 100 MB, header
// not valid JSON or not an object, duplicate names, an entry without dtype,
// shape or data_offsets, unknown dtype, offsets with begin > end or past the
// buffer, byte size != product(shape) * dtype_size, overlapping tensors, holes.
// write_safetensors throws IoError naming the destination for inconsistent
// records and for any I/O failure.
//
// Writing: the header is padded with spaces to a multiple of 8 bytes (so the
// buffer is 8-aligned, as the reference implementation does), the tensors are
// stored contiguously in the order given, and the bytes go to "<file>.tmp",
// are flushed to disk and only then renamed over <file>: a crash leaves either
// the old file or the new one, never half of one.
//
// Link: nlohmann-json. The ctcnn::ctcnn target does not link it; add
// nlohmann_json::nlohmann_json to the target that includes this header.
#pragma once

#include <nlohmann/json.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "ctcnn/io/error.hpp"

namespace ctcnn::io {

// The element types of the safetensors spec, minus the 8-bit float formats.
enum class Dtype { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL };

constexpr std::string_view dtype_name(Dtype d) noexcept {
  switch (d) {
    case Dtype::F64: return "F64";
    case Dtype::F32: return "F32";
    case Dtype::F16: return "F16";
    case Dtype::BF16: return "BF16";
    case Dtype::I64: return "I64";
    case Dtype::I32: return "I32";
    case Dtype::I16: return "I16";
    case Dtype::I8: return "I8";
    case Dtype::U64: return "U64";
    case Dtype::U32: return "U32";
    case Dtype::U16: return "U16";
    case Dtype::U8: return "U8";
    case Dtype::BOOL: return "BOOL";
  }
  return "?";
}

constexpr std::size_t dtype_size(Dtype d) noexcept {
  switch (d) {
    case Dtype::F64: case Dtype::I64: case Dtype::U64: return 8;
    case Dtype::F32: case Dtype::I32: case Dtype::U32: return 4;
    case Dtype::F16: case Dtype::BF16: case Dtype::I16: case Dtype::U16: return 2;
    case Dtype::I8: case Dtype::U8: case Dtype::BOOL: return 1;
  }
  return 0;
}

// The inverse of dtype_name; nullopt for a name this library does not know.
constexpr std::optional<Dtype> dtype_from_name(std::string_view name) noexcept {
  for (Dtype d : {Dtype::F64, Dtype::F32, Dtype::F16, Dtype::BF16, Dtype::I64, Dtype::I32,
                  Dtype::I16, Dtype::I8, Dtype::U64, Dtype::U32, Dtype::U16, Dtype::U8,
                  Dtype::BOOL}) {
    if (dtype_name(d) == name) return d;
  }
  return std::nullopt;
}

// One tensor. `bytes` is the little-endian, row-major payload and holds exactly
// product(shape) * dtype_size(dtype) bytes (an empty shape is a scalar).
struct TensorRecord {
  std::string name;
  Dtype dtype = Dtype::F32;
  std::vector<std::size_t> shape;
  std::vector<std::byte> bytes;
};

namespace detail::safetensors {

inline constexpr std::uint64_t max_header_bytes = 100'000'000;

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

inline std::string errno_text(int err) { return std::generic_category().message(err); }

inline std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

inline std::string range_text(std::uint64_t begin, std::uint64_t end) {
  std::string s = "[";  // appended, not "[" + std::string: g++ 12 -O3 gives a false -Wrestrict on that
  s += std::to_string(begin);
  s += ", ";
  s += std::to_string(end);
  return s += ")";
}

// product(shape) * element_size, or nullopt if that overflows 64 bits.
inline std::optional<std::uint64_t> byte_size(const std::vector<std::size_t>& shape,
                                              std::size_t element_size) {
  std::uint64_t n = element_size;
  for (std::size_t d : shape) {
    if (d != 0 && n > UINT64_MAX / d) {
      // An overflowing product is still an honest 0 if a later dimension is 0.
      if (std::find(shape.begin(), shape.end(), std::size_t{0}) != shape.end()) return 0;
      return std::nullopt;
    }
    n *= d;
  }
  return n;
}

template <class UInt>
UInt load_le(const std::byte* p) noexcept {
  UInt v = 0;
  for (std::size_t i = 0; i < sizeof(UInt); ++i) v |= static_cast<UInt>(std::to_integer<UInt>(p[i]) << (8 * i));
  return v;
}

template <class UInt>
void store_le(std::byte* p, UInt v) noexcept {
  for (std::size_t i = 0; i < sizeof(UInt); ++i) p[i] = static_cast<std::byte>(static_cast<unsigned char>(v >> (8 * i)));
}

// IEEE binary16 to binary32, exact for every input including subnormals,
// infinities and NaN payloads.
constexpr float f16_to_f32(std::uint16_t h) noexcept {
  const std::uint32_t sign = std::uint32_t{h & 0x8000u} << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1Fu;
  std::uint32_t mantissa = h & 0x3FFu;
  std::uint32_t bits = sign;
  if (exponent == 0x1F) {
    bits |= 0x7F800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits |= ((exponent + 112) << 23) | (mantissa << 13);  // rebias 15 -> 127
  } else if (mantissa != 0) {
    std::uint32_t e = 113;  // a subnormal is mantissa * 2^-24: normalise it
    while (!(mantissa & 0x400u)) {
      mantissa <<= 1;
      --e;
    }
    bits |= (e << 23) | ((mantissa & 0x3FFu) << 13);
  }
  return std::bit_cast<float>(bits);
}

constexpr float bf16_to_f32(std::uint16_t h) noexcept {
  return std::bit_cast<float>(std::uint32_t{h} << 16);
}

struct Entry {
  std::string name;
  Dtype dtype;
  std::vector<std::size_t> shape;
  std::uint64_t begin, end;
};

// Parses one header entry; `say` prefixes messages with the tensor's name.
inline Entry parse_entry(const std::filesystem::path& file, const std::string& name,
                         const nlohmann::json& value, std::uint64_t buffer_size) {
  const std::string say = "tensor '" + name + "': ";
  if (!value.is_object()) throw IoError(file, say + "header entry is not a JSON object");
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key)) throw IoError(file, say + "missing \"" + key + "\"");
  }
  const auto& dtype = value["dtype"];
  if (!dtype.is_string()) throw IoError(file, say + "\"dtype\" is not a string");
  const auto d = dtype_from_name(dtype.get_ref<const std::string&>());
  if (!d) throw IoError(file, say + "unknown dtype " + dtype.dump());

  Entry e{name, *d, {}, 0, 0};
  const auto& shape = value["shape"];
  const bool shape_ok =
      shape.is_array() && std::all_of(shape.begin(), shape.end(),
                                      [](const nlohmann::json& x) { return x.is_number_unsigned(); });
  if (!shape_ok) {
    throw IoError(file, say + "\"shape\" must be an array of non-negative integers, found " +
                            shape.dump());
  }
  for (const auto& x : shape) e.shape.push_back(x.get<std::size_t>());

  const auto& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    throw IoError(file, say + "\"data_offsets\" must be [begin, end] with non-negative integers, found " +
                            offsets.dump());
  }
  e.begin = offsets[0].get<std::uint64_t>();
  e.end = offsets[1].get<std::uint64_t>();
  const std::string offsets_text = "data_offsets " + offsets.dump();
  if (e.begin > e.end) throw IoError(file, say + offsets_text + " have begin > end");
  if (e.end > buffer_size) {
    throw IoError(file, say + offsets_text + " out of range: the data buffer has " +
                            std::to_string(buffer_size) + " bytes");
  }
  const auto want = byte_size(e.shape, dtype_size(e.dtype));
  if (!want) throw IoError(file, say + "shape " + shape_text(e.shape) + " is absurdly large");
  if (*want != e.end - e.begin) {
    throw IoError(file, say + "byte size " + std::to_string(e.end - e.begin) + " (" + offsets_text +
                            ") does not match shape " + shape_text(e.shape) + " of " +
                            std::string(dtype_name(e.dtype)) + " (" + std::to_string(*want) +
                            " bytes)");
  }
  return e;
}

}  // namespace detail::safetensors

class SafetensorsFile {
 public:
  // Reads and validates the whole file; see the header comment for the checks.
  static SafetensorsFile read(const std::filesystem::path& file);

  // The tensor called `name`, or nullptr.
  const TensorRecord* find(std::string_view name) const {
    const auto it = index_.find(name);
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }
  // In the order of their data offsets.
  const std::vector<TensorRecord>& tensors() const noexcept { return tensors_; }
  const std::map<std::string, std::string>& metadata() const noexcept { return metadata_; }
  const std::filesystem::path& path() const noexcept { return path_; }

  // The values of an F32, F64, F16 or BF16 tensor as floats (F64 rounded to
  // nearest). Throws IoError if the name is absent or the dtype is not a float.
  std::vector<float> to_f32(std::string_view name) const;
  // The same, and throws IoError unless the tensor has exactly this shape.
  std::vector<float> to_f32(std::string_view name, const std::vector<std::size_t>& expected_shape) const;

 private:
  SafetensorsFile() = default;

  const TensorRecord& get(std::string_view name) const;

  std::filesystem::path path_;
  std::vector<TensorRecord> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

inline SafetensorsFile SafetensorsFile::read(const std::filesystem::path& file) {
  namespace st = detail::safetensors;
  using nlohmann::json;
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) throw IoError(file, "cannot open for reading: is a directory");
  errno = 0;
  st::FilePtr f(std::fopen(file.string().c_str(), "rb"));
  if (!f) throw IoError(file, "cannot open for reading: " + st::errno_text(errno));
  const auto read_exactly = [&](void* out, std::size_t n, const char* what) {
    const std::size_t got = n == 0 ? 0 : std::fread(out, 1, n, f.get());
    if (std::ferror(f.get())) throw IoError(file, "read error: " + st::errno_text(errno));
    if (got != n) {
      throw IoError(file, std::string("truncated while reading ") + what + ": expected " +
                              std::to_string(n) + " bytes, found " + std::to_string(got));
    }
  };

  const std::uint64_t file_size = std::filesystem::file_size(file, ec);
  if (ec) throw IoError(file, "cannot determine the file size: " + ec.message());
  if (file_size < 8) {
    throw IoError(file, "too short: " + std::to_string(file_size) +
                            " bytes, but a safetensors file starts with an 8-byte header length");
  }
  std::byte length_field[8];
  read_exactly(length_field, 8, "the header length");
  const auto header_size = st::load_le<std::uint64_t>(length_field);
  if (header_size > st::max_header_bytes) {
    throw IoError(file, "absurd header length " + std::to_string(header_size) + " bytes (limit " +
                            std::to_string(st::max_header_bytes) + "; not a safetensors file?)");
  }
  if (header_size > file_size - 8) {
    throw IoError(file, "header length " + std::to_string(header_size) +
                            " exceeds the file: only " + std::to_string(file_size - 8) +
                            " bytes follow the 8-byte length field");
  }
  const std::uint64_t buffer_size = file_size - 8 - header_size;
  std::string text(static_cast<std::size_t>(header_size), '\0');
  read_exactly(text.data(), text.size(), "the header");

  // nlohmann keeps the last of duplicate keys silently; catch them as parsed.
  std::set<std::string> seen;
  std::string duplicate;
  const json::parser_callback_t note_keys = [&](int depth, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::key && depth == 1 && duplicate.empty() &&
        !seen.insert(parsed.get<std::string>()).second) {
      duplicate = parsed.get<std::string>();
    }
    return true;
  };
  json header;
  try {
    header = json::parse(text, note_keys);
  } catch (const json::exception& e) {
    throw IoError(file, std::string("header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) {
    throw IoError(file, std::string("header is not a JSON object but a JSON ") + header.type_name());
  }
  if (!duplicate.empty()) throw IoError(file, "duplicate name '" + duplicate + "' in the header");

  SafetensorsFile result;
  result.path_ = file;
  std::vector<st::Entry> entries;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) throw IoError(file, "__metadata__ is not a JSON object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) {
          throw IoError(file, "__metadata__: value of '" + k + "' is not a string but " + v.dump());
        }
        result.metadata_.emplace(k, v.get<std::string>());
      }
      continue;
    }
    entries.push_back(st::parse_entry(file, key, value, buffer_size));
  }

  // Sorted by offsets, the tensors must tile [0, buffer_size) exactly.
  std::stable_sort(entries.begin(), entries.end(), [](const st::Entry& a, const st::Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  std::uint64_t pos = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (e.begin < pos) {
      const auto& prev = entries[i - 1];
      throw IoError(file, "tensors '" + prev.name + "' " + st::range_text(prev.begin, prev.end) +
                              " and '" + e.name + "' " + st::range_text(e.begin, e.end) + " overlap");
    }
    if (e.begin > pos) {
      throw IoError(file, "hole in the data buffer: bytes " + st::range_text(pos, e.begin) +
                              " belong to no tensor");
    }
    pos = e.end;
  }
  if (pos < buffer_size) {
    throw IoError(file, "hole in the data buffer: bytes " + st::range_text(pos, buffer_size) +
                            " at its end belong to no tensor");
  }

  // Contiguous and in offset order, so one sequential pass reads them all.
  result.tensors_.reserve(entries.size());
  for (auto& e : entries) {
    TensorRecord t{std::move(e.name), e.dtype, std::move(e.shape), {}};
    t.bytes.resize(static_cast<std::size_t>(e.end - e.begin));
    read_exactly(t.bytes.data(), t.bytes.size(), ("tensor '" + t.name + "'").c_str());
    result.index_.emplace(t.name, result.tensors_.size());
    result.tensors_.push_back(std::move(t));
  }
  return result;
}

inline const TensorRecord& SafetensorsFile::get(std::string_view name) const {
  if (const TensorRecord* t = find(name)) return *t;
  std::string known;
  std::size_t listed = 0;
  for (const auto& t : tensors_) {
    if (listed == 10) {
      known += ", ...";
      break;
    }
    known += (listed++ ? ", " : "") + t.name;
  }
  throw IoError(path_, "no tensor named '" + std::string(name) + "' (the file has: " +
                           (known.empty() ? std::string("no tensors") : known) + ")");
}

inline std::vector<float> SafetensorsFile::to_f32(std::string_view name) const {
  namespace st = detail::safetensors;
  const TensorRecord& t = get(name);
  const std::byte* p = t.bytes.data();
  std::vector<float> out(t.bytes.size() / dtype_size(t.dtype));
  switch (t.dtype) {
    case Dtype::F32:
      if constexpr (std::endian::native == std::endian::little) {
        if (!out.empty()) std::memcpy(out.data(), p, t.bytes.size());
      } else {
        for (std::size_t i = 0; i < out.size(); ++i) {
          out[i] = std::bit_cast<float>(st::load_le<std::uint32_t>(p + 4 * i));
        }
      }
      break;
    case Dtype::F64:
      for (std::size_t i = 0; i < out.size(); ++i) {
        out[i] = static_cast<float>(std::bit_cast<double>(st::load_le<std::uint64_t>(p + 8 * i)));
      }
      break;
    case Dtype::F16:
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = st::f16_to_f32(st::load_le<std::uint16_t>(p + 2 * i));
      break;
    case Dtype::BF16:
      for (std::size_t i = 0; i < out.size(); ++i) out[i] = st::bf16_to_f32(st::load_le<std::uint16_t>(p + 2 * i));
      break;
    default:
      throw IoError(path_, "tensor '" + t.name + "' has dtype " + std::string(dtype_name(t.dtype)) +
                               "; to_f32 converts only F32, F64, F16 and BF16");
  }
  return out;
}

inline std::vector<float> SafetensorsFile::to_f32(std::string_view name,
                                                  const std::vector<std::size_t>& expected_shape) const {
  const TensorRecord& t = get(name);
  if (t.shape != expected_shape) {
    throw IoError(path_, "tensor '" + t.name + "' has shape " + detail::safetensors::shape_text(t.shape) +
                             ", expected " + detail::safetensors::shape_text(expected_shape));
  }
  return to_f32(name);
}

// Writes `tensors` (contiguously, in the order given) and `metadata`; see the
// header comment for the layout and the crash safety.
inline void write_safetensors(const std::filesystem::path& file, const std::vector<TensorRecord>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  namespace st = detail::safetensors;
  using nlohmann::ordered_json;
  // ordered_json: entries appear in the order written, so the file reads like the model.
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  std::set<std::string_view> names;
  std::uint64_t offset = 0;
  for (const auto& t : tensors) {
    const std::string say = "cannot write: tensor '" + t.name + "': ";
    if (t.name == "__metadata__") throw IoError(file, say + "the name is reserved for metadata");
    if (!names.insert(t.name).second) throw IoError(file, say + "duplicate name");
    const auto want = st::byte_size(t.shape, dtype_size(t.dtype));
    if (!want || *want != t.bytes.size()) {
      throw IoError(file, say + "has " + std::to_string(t.bytes.size()) + " bytes but shape " +
                              st::shape_text(t.shape) + " of " + std::string(dtype_name(t.dtype)) +
                              " needs " + (want ? std::to_string(*want) : std::string("too many")));
    }
    header[t.name] = {{"dtype", std::string(dtype_name(t.dtype))},
                      {"shape", t.shape},
                      {"data_offsets", ordered_json::array({offset, offset + *want})}};
    offset += *want;
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const nlohmann::json::exception& e) {
    throw IoError(file, std::string("cannot write: ") + e.what());  // e.g. a name that is not UTF-8
  }
  text.append((8 - text.size() % 8) % 8, ' ');

  std::filesystem::path tmp = file;
  tmp += ".tmp";
  // Removes the temporary file on every path that does not reach the rename.
  struct TmpGuard {
    const std::filesystem::path& path;
    bool keep = false;
    ~TmpGuard() {
      std::error_code ignored;
      if (!keep) std::filesystem::remove(path, ignored);
    }
  };
  TmpGuard guard{tmp};  // declared first, so it runs after the file is closed
  errno = 0;
  st::FilePtr f(std::fopen(tmp.string().c_str(), "wb"));
  if (!f) throw IoError(file, "cannot open " + tmp.string() + " for writing: " + st::errno_text(errno));
  const auto write = [&](const void* p, std::size_t n) {
    if (n != 0 && std::fwrite(p, 1, n, f.get()) != n) {
      throw IoError(file, "write error on " + tmp.string() + ": " + st::errno_text(errno));
    }
  };
  std::byte length_field[8];
  st::store_le<std::uint64_t>(length_field, text.size());
  write(length_field, 8);
  write(text.data(), text.size());
  for (const auto& t : tensors) write(t.bytes.data(), t.bytes.size());
  if (std::fflush(f.get()) != 0) throw IoError(file, "write error on " + tmp.string() + ": " + st::errno_text(errno));
#if defined(__unix__) || defined(__APPLE__)
  // Without this, a power cut after the rename can leave an empty file.
  if (::fsync(::fileno(f.get())) != 0) throw IoError(file, "cannot sync " + tmp.string() + ": " + st::errno_text(errno));
#endif
  if (std::fclose(f.release()) != 0) throw IoError(file, "cannot close " + tmp.string() + ": " + st::errno_text(errno));
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) throw IoError(file, "cannot rename " + tmp.string() + " to the destination: " + ec.message());
  guard.keep = true;
}

// An F32 record holding product(shape) floats read from `data`, stored little-endian.
inline TensorRecord make_f32_record(std::string name, std::vector<std::size_t> shape, const float* data) {
  std::size_t count = 1;
  for (std::size_t d : shape) count *= d;
  TensorRecord t{std::move(name), Dtype::F32, std::move(shape), std::vector<std::byte>(count * 4)};
  if constexpr (std::endian::native == std::endian::little) {
    if (count != 0) std::memcpy(t.bytes.data(), data, count * 4);
  } else {
    for (std::size_t i = 0; i < count; ++i) {
      detail::safetensors::store_le(t.bytes.data() + 4 * i, std::bit_cast<std::uint32_t>(data[i]));
    }
  }
  return t;
}

}  // namespace ctcnn::io
