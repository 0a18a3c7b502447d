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
// The JSON is read and written by detail/json.hpp, not by a JSON library:
// nlohmann-json cost every translation unit that included this header 1.8 s
// to parse and 4-5 s more to compile its parser and serializer at -O3.
#pragma once

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "ctcnn/detail/format.hpp"
#include "ctcnn/detail/json.hpp"
#include "ctcnn/detail/names.hpp"
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

// Adds key -> value unless the key is there already (std::map::merge's rule).
// Every insertion into a metadata map goes through this one call, so a program
// compiles one of std::map's insertion paths, not one per way of inserting (an
// initializer list, merge, emplace with other argument types).
[[gnu::cold, gnu::noinline]] inline void add_metadata(std::map<std::string, std::string>& metadata, std::string key,
                                                      std::string value) {
  metadata.emplace(std::move(key), std::move(value));
}

struct FileCloser {
  void operator()(std::FILE* f) const noexcept { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

[[gnu::cold]] inline std::string errno_text(int err) { return std::generic_category().message(err); }

[[gnu::cold]] inline std::string shape_text(const std::vector<std::size_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) ctcnn::detail::append_format(s, "%s%zu", i ? ", " : "", shape[i]);
  s += ']';
  return s;
}

[[gnu::cold]] inline std::string range_text(std::uint64_t begin, std::uint64_t end) {
  return ctcnn::detail::formatted("[%llu, %llu)", static_cast<unsigned long long>(begin),
                                  static_cast<unsigned long long>(end));
}

// A JSON value as the header writes it, for messages (long ones cut short).
[[gnu::cold]] inline std::string json_text(std::string_view header, const ctcnn::detail::json::Value& v) {
  std::string_view t = header.substr(v.begin, v.end - v.begin);
  if (t.size() > 200) return std::string(t.substr(0, 200)) + "...";
  return std::string(t);
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

// Parses one header entry; messages start with the tensor's name.
[[gnu::cold]] inline Entry parse_entry(const std::filesystem::path& file, const std::string& name,
                                       const ctcnn::detail::json::Document& doc,
                                       const ctcnn::detail::json::Value& value, std::string_view header,
                                       std::uint64_t buffer_size) {
  using ull = unsigned long long;
  const char* say = name.c_str();
  if (!value.is_object()) detail::throw_io_error(file, "tensor '%s': header entry is not a JSON object", say);
  const ctcnn::detail::json::Value* fields[3];
  const char* keys[] = {"dtype", "shape", "data_offsets"};
  for (int k = 0; k < 3; ++k) {
    fields[k] = doc.find(value, keys[k]);
    if (!fields[k]) detail::throw_io_error(file, "tensor '%s': missing \"%s\"", say, keys[k]);
  }
  const auto& dtype = *fields[0];
  const auto& shape = *fields[1];
  const auto& offsets = *fields[2];
  if (!dtype.is_string()) detail::throw_io_error(file, "tensor '%s': \"dtype\" is not a string", say);
  const auto d = dtype_from_name(doc.text(dtype));
  if (!d) detail::throw_io_error(file, "tensor '%s': unknown dtype %s", say, json_text(header, dtype).c_str());

  Entry e{name, *d, {}, 0, 0};
  const auto dims = doc.children(shape);
  bool shape_ok = shape.is_array();
  for (const auto* x : dims) shape_ok = shape_ok && x->unsigned_integer;
  if (!shape_ok) {
    detail::throw_io_error(file, "tensor '%s': \"shape\" must be an array of non-negative integers, found %s", say,
                           json_text(header, shape).c_str());
  }
  for (const auto* x : dims) e.shape.push_back(static_cast<std::size_t>(x->number));

  const std::string offsets_text = json_text(header, offsets);
  const auto range = doc.children(offsets);
  if (!offsets.is_array() || range.size() != 2 || !range[0]->unsigned_integer || !range[1]->unsigned_integer) {
    detail::throw_io_error(file,
                           "tensor '%s': \"data_offsets\" must be [begin, end] with non-negative integers, found %s",
                           say, offsets_text.c_str());
  }
  e.begin = range[0]->number;
  e.end = range[1]->number;
  if (e.begin > e.end) {
    detail::throw_io_error(file, "tensor '%s': data_offsets %s have begin > end", say, offsets_text.c_str());
  }
  if (e.end > buffer_size) {
    detail::throw_io_error(file, "tensor '%s': data_offsets %s out of range: the data buffer has %llu bytes", say,
                           offsets_text.c_str(), static_cast<ull>(buffer_size));
  }
  const auto want = byte_size(e.shape, dtype_size(e.dtype));
  if (!want) {
    detail::throw_io_error(file, "tensor '%s': shape %s is absurdly large", say, shape_text(e.shape).c_str());
  }
  if (*want != e.end - e.begin) {
    detail::throw_io_error(file,
                           "tensor '%s': byte size %llu (data_offsets %s) does not match shape %s of %s (%llu bytes)",
                           say, static_cast<ull>(e.end - e.begin), offsets_text.c_str(), shape_text(e.shape).c_str(),
                           dtype_name(e.dtype).data(), static_cast<ull>(*want));
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
    std::size_t lo = 0, hi = by_name_.size();  // binary search: the first name >= `name` is at lo
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (std::string_view(tensors_[by_name_[mid]].name) < name) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo < by_name_.size() && tensors_[by_name_[lo]].name == name ? &tensors_[by_name_[lo]] : nullptr;
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
  std::vector<std::size_t> by_name_;  // positions in tensors_, in name order
  std::map<std::string, std::string> metadata_;
};

[[gnu::cold]] inline SafetensorsFile SafetensorsFile::read(const std::filesystem::path& file) {
  namespace st = detail::safetensors;
  namespace json = ctcnn::detail::json;
  using ull = unsigned long long;
  std::error_code ec;
  if (std::filesystem::is_directory(file, ec)) detail::throw_io_error(file, "cannot open for reading: is a directory");
  errno = 0;
  st::FilePtr f(std::fopen(file.string().c_str(), "rb"));
  if (!f) detail::throw_io_error(file, "cannot open for reading: %s", st::errno_text(errno).c_str());
  const auto read_exactly = [&](void* out, std::size_t n, const char* what) {
    const std::size_t got = n == 0 ? 0 : std::fread(out, 1, n, f.get());
    if (std::ferror(f.get())) detail::throw_io_error(file, "read error: %s", st::errno_text(errno).c_str());
    if (got != n) {
      detail::throw_io_error(file, "truncated while reading %s: expected %zu bytes, found %zu", what, n, got);
    }
  };

  const std::uint64_t file_size = std::filesystem::file_size(file, ec);
  if (ec) detail::throw_io_error(file, "cannot determine the file size: %s", ec.message().c_str());
  if (file_size < 8) {
    detail::throw_io_error(file, "too short: %llu bytes, but a safetensors file starts with an 8-byte header length",
                           static_cast<ull>(file_size));
  }
  std::byte length_field[8];
  read_exactly(length_field, 8, "the header length");
  const auto header_size = st::load_le<std::uint64_t>(length_field);
  if (header_size > st::max_header_bytes) {
    detail::throw_io_error(file, "absurd header length %llu bytes (limit %llu; not a safetensors file?)",
                           static_cast<ull>(header_size), static_cast<ull>(st::max_header_bytes));
  }
  if (header_size > file_size - 8) {
    detail::throw_io_error(file, "header length %llu exceeds the file: only %llu bytes follow the 8-byte length field",
                           static_cast<ull>(header_size), static_cast<ull>(file_size - 8));
  }
  const std::uint64_t buffer_size = file_size - 8 - header_size;
  std::string text(static_cast<std::size_t>(header_size), '\0');
  read_exactly(text.data(), text.size(), "the header");

  json::Document doc;
  try {
    doc = json::parse(text);
  } catch (const json::ParseError& e) {
    detail::throw_io_error(file, "header is not valid JSON: %s", e.what());
  }
  const json::Value& header = doc.root();
  if (!header.is_object()) {
    detail::throw_io_error(file, "header is not a JSON object but a JSON %s", json::kind_name(header.kind));
  }
  // The members by name: duplicates refused, then visited in name order.
  const auto items = doc.children(header);
  std::vector<std::string_view> keys(items.size());
  for (std::size_t i = 0; i < items.size(); ++i) keys[i] = doc.key(*items[i]);
  const ctcnn::detail::NameIndex members(keys);
  if (const std::size_t d = members.first_duplicate(); d != members.npos) {
    detail::throw_io_error(file, "duplicate name '%s' in the header", doc.key(*items[d]).c_str());
  }

  SafetensorsFile result;
  result.path_ = file;
  std::vector<st::Entry> entries;
  for (const std::size_t index : members.sorted()) {
    const std::string& key = doc.key(*items[index]);
    const json::Value& value = *items[index];
    if (key != "__metadata__") {
      entries.push_back(st::parse_entry(file, key, doc, value, text, buffer_size));
      continue;
    }
    if (!value.is_object()) detail::throw_io_error(file, "__metadata__ is not a JSON object");
    for (const json::Value* member : doc.children(value)) {
      const std::string& k = doc.key(*member);
      if (doc.find(value, k) != member) continue;  // a later duplicate wins
      if (!member->is_string()) {
        detail::throw_io_error(file, "__metadata__: value of '%s' is not a string but %s", k.c_str(),
                               st::json_text(text, *member).c_str());
      }
      st::add_metadata(result.metadata_, k, doc.text(*member));
    }
  }

  // Sorted by offsets, the tensors must tile [0, buffer_size) exactly. Ties
  // stay in name order. std::qsort of (begin, end, index) triples: no sort
  // templates to compile for a list that is sorted once per file.
  struct Span {
    std::uint64_t begin, end;
    std::size_t index;
  };
  std::vector<Span> order(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) order[i] = {entries[i].begin, entries[i].end, i};
  if (!order.empty()) {
    std::qsort(order.data(), order.size(), sizeof(Span), [](const void* pa, const void* pb) {
      const auto& a = *static_cast<const Span*>(pa);
      const auto& b = *static_cast<const Span*>(pb);
      const auto cmp = [](auto x, auto y) { return x < y ? -1 : x > y ? 1 : 0; };
      return a.begin != b.begin ? cmp(a.begin, b.begin) : a.end != b.end ? cmp(a.end, b.end) : cmp(a.index, b.index);
    });
  }
  std::uint64_t pos = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    const auto& e = entries[order[i].index];
    if (e.begin < pos) {
      const auto& prev = entries[order[i - 1].index];
      detail::throw_io_error(file, "tensors '%s' %s and '%s' %s overlap", prev.name.c_str(),
                             st::range_text(prev.begin, prev.end).c_str(), e.name.c_str(),
                             st::range_text(e.begin, e.end).c_str());
    }
    if (e.begin > pos) {
      detail::throw_io_error(file, "hole in the data buffer: bytes %s belong to no tensor",
                             st::range_text(pos, e.begin).c_str());
    }
    pos = e.end;
  }
  if (pos < buffer_size) {
    detail::throw_io_error(file, "hole in the data buffer: bytes %s at its end belong to no tensor",
                           st::range_text(pos, buffer_size).c_str());
  }

  // Contiguous and in offset order, so one sequential pass reads them all.
  result.tensors_.resize(entries.size());
  std::vector<std::string_view> names(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i) {
    auto& e = entries[order[i].index];
    TensorRecord& t = result.tensors_[i];
    t.name = std::move(e.name);
    t.dtype = e.dtype;
    t.shape = std::move(e.shape);
    t.bytes.resize(static_cast<std::size_t>(e.end - e.begin));
    read_exactly(t.bytes.data(), t.bytes.size(), ctcnn::detail::formatted("tensor '%s'", t.name.c_str()).c_str());
    names[i] = t.name;
  }
  result.by_name_ = ctcnn::detail::NameIndex(names).sorted();
  return result;
}

[[gnu::cold]] inline const TensorRecord& SafetensorsFile::get(std::string_view name) const {
  if (const TensorRecord* t = find(name)) return *t;
  std::string known;
  for (std::size_t i = 0; i < tensors_.size() && i <= 10; ++i) {
    ctcnn::detail::append_format(known, "%s%s", i ? ", " : "", i == 10 ? "..." : tensors_[i].name.c_str());
  }
  detail::throw_io_error(path_, "no tensor named '%.*s' (the file has: %s)", static_cast<int>(name.size()),
                         name.data(), known.empty() ? "no tensors" : known.c_str());
}

[[gnu::cold]] inline std::vector<float> SafetensorsFile::to_f32(std::string_view name) const {
  namespace st = detail::safetensors;
  const TensorRecord& t = get(name);
  if (t.dtype != Dtype::F32 && t.dtype != Dtype::F64 && t.dtype != Dtype::F16 && t.dtype != Dtype::BF16) {
    detail::throw_io_error(path_, "tensor '%s' has dtype %s; to_f32 converts only F32, F64, F16 and BF16",
                           t.name.c_str(), dtype_name(t.dtype).data());
  }
  const std::byte* p = t.bytes.data();
  const std::size_t size = dtype_size(t.dtype);
  std::vector<float> out(t.bytes.size() / size);
  if (t.dtype == Dtype::F32 && std::endian::native == std::endian::little) {
    if (!out.empty()) std::memcpy(out.data(), p, t.bytes.size());
    return out;
  }
  // One loop for the conversions (weights load once: its speed does not matter,
  // four vectorised loops would only cost compile time).
  for (std::size_t i = 0; i < out.size(); ++i, p += size) {
    switch (t.dtype) {
      case Dtype::F32: out[i] = std::bit_cast<float>(st::load_le<std::uint32_t>(p)); break;
      case Dtype::F64: out[i] = static_cast<float>(std::bit_cast<double>(st::load_le<std::uint64_t>(p))); break;
      case Dtype::F16: out[i] = st::f16_to_f32(st::load_le<std::uint16_t>(p)); break;
      default: out[i] = st::bf16_to_f32(st::load_le<std::uint16_t>(p)); break;
    }
  }
  return out;
}

[[gnu::cold]] inline std::vector<float> SafetensorsFile::to_f32(std::string_view name,
                                                                const std::vector<std::size_t>& expected_shape) const {
  const TensorRecord& t = get(name);
  if (t.shape != expected_shape) {
    detail::throw_io_error(path_, "tensor '%s' has shape %s, expected %s", t.name.c_str(),
                           detail::safetensors::shape_text(t.shape).c_str(),
                           detail::safetensors::shape_text(expected_shape).c_str());
  }
  return to_f32(name);
}

// Writes `tensors` (contiguously, in the order given) and `metadata`; see the
// header comment for the layout and the crash safety.
[[gnu::cold]] inline void write_safetensors(const std::filesystem::path& file, const std::vector<TensorRecord>& tensors,
                                            const std::map<std::string, std::string>& metadata = {}) {
  namespace st = detail::safetensors;
  namespace json = ctcnn::detail::json;
  using ctcnn::detail::append_format;
  // The header as nlohmann-json's dump() wrote it before: no spaces, metadata
  // first (keys sorted), then the tensors in the order given.
  std::string text = "{";
  if (!metadata.empty()) {
    text += "\"__metadata__\":{";
    for (const auto& [key, value] : metadata) {
      if (text.back() != '{') text += ',';
      if (!json::append_string(text, key)) {
        detail::throw_io_error(file, "cannot write: metadata key '%s' is not valid UTF-8",
                               json::printable(key).c_str());
      }
      text += ':';
      if (!json::append_string(text, value)) {
        detail::throw_io_error(file, "cannot write: metadata value of '%s' is not valid UTF-8", key.c_str());
      }
    }
    text += '}';
  }
  std::vector<std::string_view> all_names(tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) all_names[i] = tensors[i].name;
  const ctcnn::detail::NameIndex names(all_names);
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorRecord& t = tensors[i];
    const std::string name = json::printable(t.name);
    const auto fail = [&](const char* problem) {
      detail::throw_io_error(file, "cannot write: tensor '%s': %s", name.c_str(), problem);
    };
    if (t.name == "__metadata__") fail("the name is reserved for metadata");
    if (names.find(t.name) != i) fail("duplicate name");
    const auto want = st::byte_size(t.shape, dtype_size(t.dtype));
    if (!want || *want != t.bytes.size()) {
      detail::throw_io_error(file, "cannot write: tensor '%s': has %zu bytes but shape %s of %s needs %s", name.c_str(),
                             t.bytes.size(), st::shape_text(t.shape).c_str(), dtype_name(t.dtype).data(),
                             want ? std::to_string(*want).c_str() : "too many");
    }
    if (text.size() > 1) text += ',';
    if (!json::append_string(text, t.name)) fail("the name is not valid UTF-8");
    append_format(text, ":{\"dtype\":\"%s\",\"shape\":[", dtype_name(t.dtype).data());
    for (std::size_t i = 0; i < t.shape.size(); ++i) append_format(text, "%s%zu", i ? "," : "", t.shape[i]);
    append_format(text, "],\"data_offsets\":[%llu,%llu]}", static_cast<unsigned long long>(offset),
                  static_cast<unsigned long long>(offset + *want));
    offset += *want;
  }
  text += '}';
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
  // "<doing> <tmp><after>: <reason>", e.g. "cannot open x.tmp for writing: No such file or directory".
  const auto fail = [&](const char* doing, const char* after, const std::string& reason) {
    detail::throw_io_error(file, "%s %s%s: %s", doing, tmp.string().c_str(), after, reason.c_str());
  };
  errno = 0;
  st::FilePtr f(std::fopen(tmp.string().c_str(), "wb"));
  if (!f) fail("cannot open", " for writing", st::errno_text(errno));
  const auto write = [&](const void* p, std::size_t n) {
    if (n != 0 && std::fwrite(p, 1, n, f.get()) != n) fail("write error on", "", st::errno_text(errno));
  };
  std::byte length_field[8];
  st::store_le<std::uint64_t>(length_field, text.size());
  write(length_field, 8);
  write(text.data(), text.size());
  for (const auto& t : tensors) write(t.bytes.data(), t.bytes.size());
  if (std::fflush(f.get()) != 0) fail("write error on", "", st::errno_text(errno));
#if defined(__unix__) || defined(__APPLE__)
  // Without this, a power cut after the rename can leave an empty file.
  if (::fsync(::fileno(f.get())) != 0) fail("cannot sync", "", st::errno_text(errno));
#endif
  if (std::fclose(f.release()) != 0) fail("cannot close", "", st::errno_text(errno));
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec) fail("cannot rename", " to the destination", ec.message());
  guard.keep = true;
}

// An F32 record holding product(shape) floats read from `data`, stored little-endian.
[[gnu::cold]] inline TensorRecord make_f32_record(std::string name, std::vector<std::size_t> shape, const float* data) {
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
