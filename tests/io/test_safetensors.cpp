#include "ctcnn/io/safetensors.hpp"  // first: the header compiles on its own

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "io_test_support.hpp"

namespace io = ctcnn::io;
using io::Dtype;
using io::IoError;
using io::SafetensorsFile;
using io::TensorRecord;
using io::test::Bytes;
using io::test::mentions;
using io::test::TempDir;
using io::test::write_file;

namespace {

// A safetensors file from a header text and a data buffer, as any writer would
// lay it out: 8-byte little-endian length, header, buffer.
Bytes st_file(const std::string& header, const Bytes& data) {
  Bytes out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<unsigned char>(std::uint64_t{header.size()} >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

Bytes length_field(std::uint64_t n) {
  Bytes out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<unsigned char>(n >> (8 * i)));
  return out;
}

TensorRecord record(std::string name, Dtype dtype, std::vector<std::size_t> shape, const Bytes& bytes) {
  TensorRecord t{std::move(name), dtype, std::move(shape), {}};
  for (auto b : bytes) t.bytes.push_back(static_cast<std::byte>(b));
  return t;
}

Bytes u16_le(std::initializer_list<std::uint16_t> values) {
  Bytes out;
  for (auto v : values) {
    out.push_back(static_cast<unsigned char>(v & 0xFF));
    out.push_back(static_cast<unsigned char>(v >> 8));
  }
  return out;
}

}  // namespace

TEST_CASE("safetensors: dtype names and sizes", "[io][safetensors]") {
  STATIC_REQUIRE(io::dtype_size(Dtype::F32) == 4);
  STATIC_REQUIRE(io::dtype_size(Dtype::BF16) == 2);
  STATIC_REQUIRE(io::dtype_name(Dtype::BOOL) == "BOOL");
  STATIC_REQUIRE(io::dtype_from_name("I64") == Dtype::I64);
  for (Dtype d : {Dtype::F64, Dtype::F32, Dtype::F16, Dtype::BF16, Dtype::I64, Dtype::I32, Dtype::I16,
                  Dtype::I8, Dtype::U64, Dtype::U32, Dtype::U16, Dtype::U8, Dtype::BOOL}) {
    CHECK(io::dtype_from_name(io::dtype_name(d)) == d);
  }
  CHECK_FALSE(io::dtype_from_name("f32").has_value());
  CHECK_FALSE(io::dtype_from_name("F8_E4M3").has_value());
}

TEST_CASE("safetensors: byte layout of a tiny file, written by hand", "[io][safetensors]") {
  TempDir dir;
  const auto file = dir / "tiny.safetensors";
  const float values[] = {1.0f, -2.0f};
  io::write_safetensors(file, {io::make_f32_record("a", {2}, values)}, {{"format", "pt"}});

  // 85 bytes of JSON padded with 3 spaces to 88 = 0x58, then 1.0f and -2.0f little-endian.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})"
      "   ";
  REQUIRE(header.size() == 88);
  Bytes expected(8 + 88 + 8, 0);
  expected[0] = 0x58;
  std::copy(header.begin(), header.end(), expected.begin() + 8);
  expected[96 + 2] = 0x80;
  expected[96 + 3] = 0x3f;
  expected[96 + 7] = 0xc0;
  CHECK(io::test::read_file(file) == expected);
  CHECK_FALSE(std::filesystem::exists(dir / "tiny.safetensors.tmp"));

  const auto empty = dir / "empty.safetensors";
  io::write_safetensors(empty, {});
  CHECK(io::test::read_file(empty) == Bytes{8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '});
  const auto read_back = SafetensorsFile::read(empty);
  CHECK(read_back.tensors().empty());
  CHECK(read_back.metadata().empty());
}

TEST_CASE("safetensors: round trip is bit-identical for every dtype", "[io][safetensors]") {
  TempDir dir;
  const auto file = dir / "all.safetensors";
  // Values whose bits a careless conversion would change: -0, a NaN payload, a denormal.
  const float f32[] = {-0.0f, std::bit_cast<float>(0x7FC12345u), std::numeric_limits<float>::denorm_min(),
                       3.5f, -1e30f, 0.1f};
  std::vector<TensorRecord> records{
      io::make_f32_record("conv1.weight", {1, 2, 3}, f32),
      record("scale", Dtype::F64, {}, Bytes{0, 0, 0, 0, 0, 0, 0xF0, 0x3F}),
      record("steps", Dtype::I64, {2}, Bytes{1, 0, 0, 0, 0, 0, 0, 0x80, 2, 0, 0, 0, 0, 0, 0, 0}),
      record("mask", Dtype::BOOL, {3}, Bytes{1, 0, 1}),
      record("pixels", Dtype::U8, {2, 2}, Bytes{0, 127, 128, 255}),
      record("half", Dtype::F16, {2}, u16_le({0x3C00, 0x7E01})),
      record("brain", Dtype::BF16, {1}, u16_le({0x3F80})),
      record("nothing", Dtype::F32, {0, 3}, Bytes{}),
      record("small", Dtype::I8, {1}, Bytes{0x80}),
      record("words", Dtype::U16, {1}, u16_le({0xBEEF})),
  };
  const std::map<std::string, std::string> metadata{{"format", "pt"}, {"note", "ünïcödé, \"quotes\""}};
  io::write_safetensors(file, records, metadata);

  const auto st = SafetensorsFile::read(file);
  CHECK(st.path() == file);
  CHECK(st.metadata() == metadata);
  REQUIRE(st.tensors().size() == records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& got = st.tensors()[i];  // written contiguously in order, so read back in order
    INFO(records[i].name);
    CHECK(got.name == records[i].name);
    CHECK(got.dtype == records[i].dtype);
    CHECK(got.shape == records[i].shape);
    CHECK(got.bytes == records[i].bytes);
    REQUIRE(st.find(records[i].name) == &got);
  }
  CHECK(st.find("absent") == nullptr);
  const auto back = st.to_f32("conv1.weight", {1, 2, 3});
  REQUIRE(back.size() == 6);
  CHECK(std::memcmp(back.data(), f32, sizeof f32) == 0);
}

TEST_CASE("safetensors: reads a file from another writer", "[io][safetensors]") {
  TempDir dir;
  const auto file = dir / "python.safetensors";
  // Spaces in the JSON, names not in offset order, no padding, no metadata.
  const std::string header =
      R"({"fc.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [8, 24]},)"
      R"( "fc.bias": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})";
  Bytes data;
  for (float v : {0.5f, -0.5f, 1.0f, 2.0f, 3.0f, 4.0f}) {
    const auto bits = std::bit_cast<std::uint32_t>(v);
    for (int i = 0; i < 4; ++i) data.push_back(static_cast<unsigned char>(bits >> (8 * i)));
  }
  write_file(file, st_file(header, data));
  const auto st = SafetensorsFile::read(file);
  REQUIRE(st.tensors().size() == 2);
  CHECK(st.tensors()[0].name == "fc.bias");  // in the order of data offsets
  CHECK(st.tensors()[1].name == "fc.weight");
  CHECK(st.to_f32("fc.bias") == std::vector<float>{0.5f, -0.5f});
  CHECK(st.to_f32("fc.weight", {2, 2}) == std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f});
  CHECK(st.metadata().empty());
}

TEST_CASE("safetensors: to_f32 converts F64, F16 and BF16", "[io][safetensors]") {
  TempDir dir;
  const auto file = dir / "floats.safetensors";
  // Every F16 bit pattern, against the definition of binary16.
  Bytes all_halves;
  for (std::uint32_t h = 0; h < 65536; ++h) {
    all_halves.push_back(static_cast<unsigned char>(h & 0xFF));
    all_halves.push_back(static_cast<unsigned char>(h >> 8));
  }
  Bytes f64;
  for (double v : {0.1, -1e300, 1e-300, 3.0}) {
    const auto bits = std::bit_cast<std::uint64_t>(v);
    for (int i = 0; i < 8; ++i) f64.push_back(static_cast<unsigned char>(bits >> (8 * i)));
  }
  io::write_safetensors(file, {record("halves", Dtype::F16, {65536}, all_halves),
                               record("brain", Dtype::BF16, {3}, u16_le({0x3F80, 0xC0A0, 0x0001})),
                               record("double", Dtype::F64, {4}, f64),
                               record("ints", Dtype::I32, {1}, Bytes{1, 0, 0, 0})});
  const auto st = SafetensorsFile::read(file);

  const auto halves = st.to_f32("halves");
  REQUIRE(halves.size() == 65536);
  for (std::uint32_t h = 0; h < 65536; ++h) {
    const std::uint32_t sign = h >> 15, exponent = (h >> 10) & 0x1F, mantissa = h & 0x3FF;
    const float got = halves[h];
    INFO("f16 bits 0x" << std::hex << h);
    REQUIRE(std::signbit(got) == (sign == 1));
    if (exponent == 31) {
      REQUIRE((mantissa == 0 ? std::isinf(got) : std::isnan(got)));
    } else {
      const double magnitude = exponent == 0 ? std::ldexp(double(mantissa), -24)
                                             : std::ldexp(double(1024 + mantissa), int(exponent) - 25);
      REQUIRE(double(std::fabs(got)) == magnitude);
    }
  }
  CHECK(halves[0x3C00] == 1.0f);
  CHECK(halves[0x7BFF] == 65504.0f);
  CHECK(halves[0x0001] == std::ldexp(1.0f, -24));

  const auto brain = st.to_f32("brain");
  CHECK(brain[0] == 1.0f);
  CHECK(brain[1] == -5.0f);
  CHECK(brain[2] == std::bit_cast<float>(0x00010000u));

  CHECK(st.to_f32("double") ==
        std::vector<float>{0.1f, -std::numeric_limits<float>::infinity(), 0.0f, 3.0f});

  REQUIRE_THROWS_MATCHES(st.to_f32("ints"), IoError,
                         mentions(file, {"tensor 'ints' has dtype I32", "converts only F32, F64, F16 and BF16"}));
  REQUIRE_THROWS_MATCHES(st.to_f32("fc1.weight"), IoError,
                         mentions(file, {"no tensor named 'fc1.weight'", "halves", "brain"}));
  REQUIRE_THROWS_MATCHES(st.to_f32("brain", {3, 1}), IoError,
                         mentions(file, {"tensor 'brain' has shape [3], expected [3, 1]"}));
}

TEST_CASE("safetensors: malformed files are refused with the reason", "[io][safetensors][errors]") {
  TempDir dir;
  const auto file = dir / "model.safetensors";
  const auto refused = [&](const Bytes& content, std::initializer_list<std::string> words) {
    write_file(file, content);
    REQUIRE_THROWS_MATCHES(SafetensorsFile::read(file), IoError, mentions(file, words));
  };
  const std::string a4 = R"("a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  const Bytes four(4, 0);

  SECTION("missing or not a file") {
    const auto missing = dir / "missing.safetensors";
    REQUIRE_THROWS_MATCHES(SafetensorsFile::read(missing), IoError,
                           mentions(missing, {"cannot open", "No such file"}));
    REQUIRE_THROWS_MATCHES(SafetensorsFile::read(dir.path()), IoError,
                           mentions(dir.path(), {"cannot open", "directory"}));
  }
  SECTION("shorter than the length field") {
    refused(Bytes{}, {"too short: 0 bytes", "8-byte header length"});
    refused(Bytes{1, 2, 3, 4, 5}, {"too short: 5 bytes"});
  }
  SECTION("header length beyond the file or absurd") {
    Bytes content = length_field(100);
    content.insert(content.end(), 20, ' ');
    refused(content, {"header length 100 exceeds the file", "only 20 bytes"});
    refused(length_field(std::uint64_t{1} << 40), {"absurd header length 1099511627776", "limit 100000000"});
    refused(length_field(~std::uint64_t{0}), {"absurd header length"});
  }
  SECTION("header not JSON, not an object") {
    refused(st_file("", {}), {"header is not valid JSON"});
    refused(st_file(R"({"a": )", {}), {"header is not valid JSON", "parse error"});
    refused(st_file("{\"\xff\": 1}", {}), {"header is not valid JSON"});
    refused(st_file("[1, 2]", {}), {"header is not a JSON object", "array"});
    refused(st_file("\"text\"", {}), {"header is not a JSON object", "string"});
  }
  SECTION("entries without dtype, shape or data_offsets") {
    refused(st_file(R"({"a": 5})", {}), {"tensor 'a'", "not a JSON object"});
    refused(st_file(R"({"a":{"shape":[1],"data_offsets":[0,4]}})", four), {"tensor 'a': missing \"dtype\""});
    refused(st_file(R"({"a":{"dtype":"F32","data_offsets":[0,4]}})", four), {"tensor 'a': missing \"shape\""});
    refused(st_file(R"({"a":{"dtype":"F32","shape":[1]}})", four), {"tensor 'a': missing \"data_offsets\""});
  }
  SECTION("bad dtype, shape or offsets") {
    refused(st_file(R"({"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", four), {"\"dtype\" is not a string"});
    refused(st_file(R"({"a":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", four),
            {"tensor 'a': unknown dtype \"F8_E4M3\""});
    refused(st_file(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", four),
            {"tensor 'a': \"shape\" must be an array of non-negative integers", "[-1]"});
    refused(st_file(R"({"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})", four), {"\"shape\" must be"});
    refused(st_file(R"({"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}})", four), {"\"shape\" must be"});
    refused(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}})", four),
            {"\"data_offsets\" must be [begin, end]"});
    refused(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,-4]}})", four),
            {"\"data_offsets\" must be [begin, end]"});
  }
  SECTION("offsets reversed or out of range") {
    refused(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", four),
            {"tensor 'a': data_offsets [4,0] have begin > end"});
    refused(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", four),
            {"tensor 'a': data_offsets [0,8] out of range", "buffer has 4 bytes"});
    refused(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,18446744073709551615]}})", four),
            {"out of range"});
  }
  SECTION("byte size different from the shape") {
    refused(st_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", Bytes(8, 0)),
            {"tensor 'a': byte size 8", "does not match shape [3] of F32 (12 bytes)"});
    refused(st_file(R"({"a":{"dtype":"F64","shape":[4611686018427387904,4],"data_offsets":[0,8]}})",
                    Bytes(8, 0)),
            {"tensor 'a': shape [4611686018427387904, 4] is absurdly large"});
  }
  SECTION("overlaps and holes") {
    refused(st_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                    Bytes(12, 0)),
            {"tensors 'a' [0, 8) and 'b' [4, 12) overlap"});
    refused(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                    Bytes(12, 0)),
            {"hole in the data buffer: bytes [4, 8)"});
    refused(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", Bytes(8, 0)),
            {"hole in the data buffer: bytes [0, 4)"});
    refused(st_file("{" + a4 + "}", Bytes(8, 0)), {"hole in the data buffer: bytes [4, 8) at its end"});
    refused(st_file("{}", four), {"hole in the data buffer: bytes [0, 4)"});
  }
  SECTION("duplicate names") {
    refused(st_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                    R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                    Bytes(8, 0)),
            {"duplicate name 'a'"});
    refused(st_file(R"({"__metadata__":{},"__metadata__":{}})", {}), {"duplicate name '__metadata__'"});
  }
  SECTION("metadata that is not string to string") {
    refused(st_file(R"({"__metadata__":[1]})", {}), {"__metadata__ is not a JSON object"});
    refused(st_file(R"({"__metadata__":{"epoch":3}})", {}), {"__metadata__: value of 'epoch' is not a string"});
  }
  SECTION("a duplicate inside an entry is not a duplicate tensor") {
    write_file(file, st_file(R"({"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}})", four));
    CHECK(SafetensorsFile::read(file).tensors().size() == 1);
  }
}

TEST_CASE("safetensors: writer refuses inconsistent records and leaves no debris", "[io][safetensors][errors]") {
  TempDir dir;
  const auto file = dir / "out.safetensors";
  const float v[6] = {1, 2, 3, 4, 5, 6};
  io::write_safetensors(file, {io::make_f32_record("old", {1}, v)});
  const Bytes old_content = io::test::read_file(file);
  const auto unchanged = [&] {
    CHECK(io::test::read_file(file) == old_content);
    CHECK_FALSE(std::filesystem::exists(dir / "out.safetensors.tmp"));
  };

  auto short_record = io::make_f32_record("w", {2, 3}, v);
  short_record.bytes.pop_back();
  REQUIRE_THROWS_MATCHES(io::write_safetensors(file, {short_record}), IoError,
                         mentions(file, {"cannot write: tensor 'w'", "has 23 bytes but shape [2, 3] of F32 needs 24"}));
  unchanged();
  REQUIRE_THROWS_MATCHES(
      io::write_safetensors(file, {io::make_f32_record("w", {1}, v), io::make_f32_record("w", {1}, v)}),
      IoError, mentions(file, {"tensor 'w'", "duplicate name"}));
  unchanged();
  REQUIRE_THROWS_MATCHES(io::write_safetensors(file, {io::make_f32_record("__metadata__", {1}, v)}), IoError,
                         mentions(file, {"reserved"}));
  unchanged();
  REQUIRE_THROWS_MATCHES(io::write_safetensors(file, {io::make_f32_record("bad\xff", {1}, v)}), IoError,
                         mentions(file, {"cannot write", "UTF-8"}));
  unchanged();

  const auto nowhere = dir / "no-such-dir" / "w.safetensors";
  REQUIRE_THROWS_MATCHES(io::write_safetensors(nowhere, {}), IoError,
                         mentions(nowhere, {"cannot open", ".tmp", "No such file"}));

  io::write_safetensors(file, {io::make_f32_record("new", {2, 3}, v)}, {{"epoch", "3"}});
  const auto st = SafetensorsFile::read(file);
  REQUIRE(st.tensors().size() == 1);
  CHECK(st.tensors()[0].name == "new");
  CHECK(st.metadata().at("epoch") == "3");
  CHECK_FALSE(std::filesystem::exists(dir / "out.safetensors.tmp"));
}

TEST_CASE("safetensors: every truncation and byte flip is an IoError or a valid read",
          "[io][safetensors][errors][fuzz]") {
  TempDir dir;
  const auto good = dir / "good.safetensors";
  const float v[6] = {1, 2, 3, 4, 5, 6};
  io::write_safetensors(good, {io::make_f32_record("w", {2, 3}, v), io::make_f32_record("b", {2}, v)},
                        {{"k", "v"}});
  const Bytes bytes = io::test::read_file(good);
  const auto file = dir / "mutant.safetensors";
  const auto outcome = [&](const Bytes& content) {
    write_file(file, content);
    try {
      (void)SafetensorsFile::read(file);
      return true;
    } catch (const IoError& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains(file.string()));
      return false;
    }
  };
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    CHECK_FALSE(outcome(Bytes(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n))));
  }
  std::mt19937 rng(11);
  for (int trial = 0; trial < 1000; ++trial) {
    Bytes mutant = bytes;
    mutant[rng() % mutant.size()] ^= static_cast<unsigned char>(1u << (rng() % 8));
    CHECK_NOTHROW(outcome(mutant));
  }
}

TEST_CASE("safetensors: the golden files from the PyTorch script read and rewrite unchanged",
          "[io][safetensors][golden]") {
#ifdef CTCNN_GOLDEN_DIR
  // Written by tests/golden/generate.py, a writer independent of this one.
  TempDir dir;
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(CTCNN_GOLDEN_DIR)) {
    if (entry.path().extension() != ".safetensors") continue;
    ++files;
    INFO(entry.path());
    const auto original = SafetensorsFile::read(entry.path());
    CHECK_FALSE(original.tensors().empty());
    const auto copy_path = dir / entry.path().filename().string();
    io::write_safetensors(copy_path, original.tensors(), original.metadata());
    const auto copy = SafetensorsFile::read(copy_path);
    CHECK(copy.metadata() == original.metadata());
    REQUIRE(copy.tensors().size() == original.tensors().size());
    for (std::size_t i = 0; i < copy.tensors().size(); ++i) {
      CHECK(copy.tensors()[i].name == original.tensors()[i].name);
      CHECK(copy.tensors()[i].dtype == original.tensors()[i].dtype);
      CHECK(copy.tensors()[i].shape == original.tensors()[i].shape);
      CHECK(copy.tensors()[i].bytes == original.tensors()[i].bytes);
    }
  }
  if (files == 0) WARN("no .safetensors files in " CTCNN_GOLDEN_DIR);
#else
  WARN("CTCNN_GOLDEN_DIR not defined: skipped");
#endif
}
