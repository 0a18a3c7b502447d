#include "ctcnn/io/idx.hpp"  // first: the header compiles on its own

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "io_test_support.hpp"

namespace io = ctcnn::io;
using io::IoError;
using io::test::Bytes;
using io::test::idx_file;
using io::test::iota_bytes;
using io::test::mentions;
using io::test::TempDir;
using io::test::write_file;
using io::test::write_gzip;

namespace {

// Writes the same idx bytes raw and gzipped; the gzipped one has no .gz in its
// name and the raw one has, to prove detection looks at bytes, not names.
struct BothForms {
  std::filesystem::path raw, gz;
};

BothForms write_both(const TempDir& dir, const std::string& stem, const Bytes& bytes) {
  BothForms f{dir / (stem + "-raw.gz"), dir / (stem + "-compressed.idx")};
  write_file(f.raw, bytes);
  write_gzip(f.gz, bytes);
  return f;
}

}  // namespace

TEST_CASE("idx: images and labels read back, raw and gzip", "[io][idx]") {
  TempDir dir;
  const Bytes pixels = iota_bytes(3 * 2 * 4);
  const auto images = write_both(dir, "images", idx_file(io::idx_ubyte, {3, 2, 4}, pixels));
  const Bytes label_bytes{7, 0, 9};
  const auto labels = write_both(dir, "labels", idx_file(io::idx_ubyte, {3}, label_bytes));

  for (const auto& [file_images, file_labels] :
       {std::pair{images.raw, labels.raw}, std::pair{images.gz, labels.gz}}) {
    INFO(file_images);
    const auto im = io::read_idx_images(file_images);
    CHECK(im.count == 3);
    CHECK(im.rows == 2);
    CHECK(im.cols == 4);
    CHECK(im.pixels == std::vector<std::uint8_t>(pixels.begin(), pixels.end()));

    const auto lab = io::read_idx_labels(file_labels);
    CHECK(lab == std::vector<std::uint8_t>{7, 0, 9});

    const auto any = io::read_idx(file_images);
    CHECK(any.type_code == io::idx_ubyte);
    CHECK(any.dims == std::vector<std::size_t>{3, 2, 4});
    CHECK(any.bytes == im.pixels);
  }
}

TEST_CASE("idx: wider types keep their big-endian payload", "[io][idx]") {
  TempDir dir;
  struct Case {
    std::uint8_t type;
    std::size_t size;
  };
  for (const auto [type, size] : {Case{io::idx_i8, 1}, Case{io::idx_i16, 2}, Case{io::idx_i32, 4},
                                  Case{io::idx_f32, 4}, Case{io::idx_f64, 8}}) {
    INFO("type " << int(type));
    CHECK(io::idx_type_size(type) == size);
    const Bytes payload = iota_bytes(2 * 3 * size, type);
    const auto f = write_both(dir, "type" + std::to_string(type), idx_file(type, {2, 3}, payload));
    for (const auto& file : {f.raw, f.gz}) {
      const auto d = io::read_idx(file);
      CHECK(d.type_code == type);
      CHECK(d.dims == std::vector<std::size_t>{2, 3});
      CHECK(d.bytes == std::vector<std::uint8_t>(payload.begin(), payload.end()));
    }
  }
  // f32 1.0 is 3f 80 00 00 in big-endian order.
  const auto one = dir / "one.idx";
  write_file(one, idx_file(io::idx_f32, {1}, Bytes{0x3f, 0x80, 0, 0}));
  CHECK(io::read_idx(one).bytes == std::vector<std::uint8_t>{0x3f, 0x80, 0, 0});
}

TEST_CASE("idx: ranks 1 to 4 and empty dimensions are accepted", "[io][idx]") {
  TempDir dir;
  const auto rank4 = dir / "rank4.idx";
  write_file(rank4, idx_file(io::idx_ubyte, {2, 1, 2, 3}, iota_bytes(12)));
  CHECK(io::read_idx(rank4).dims == std::vector<std::size_t>{2, 1, 2, 3});

  // A zero dimension means no data, however large the others are.
  const auto empty = write_both(dir, "empty", idx_file(io::idx_ubyte, {0, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
  for (const auto& file : {empty.raw, empty.gz}) {
    const auto im = io::read_idx_images(file);
    CHECK(im.count == 0);
    CHECK(im.pixels.empty());
  }
}

TEST_CASE("idx: concatenated gzip members read as one stream", "[io][idx]") {
  TempDir dir;
  const Bytes whole = idx_file(io::idx_ubyte, {4, 5, 6}, iota_bytes(120));
  const auto first = dir / "a.gz";
  const auto second = dir / "b.gz";
  write_gzip(first, Bytes(whole.begin(), whole.begin() + 50));
  write_gzip(second, Bytes(whole.begin() + 50, whole.end()));
  Bytes joined = io::test::read_file(first);
  const Bytes tail = io::test::read_file(second);
  joined.insert(joined.end(), tail.begin(), tail.end());
  const auto file = dir / "joined.gz";
  write_file(file, joined);
  const auto im = io::read_idx_images(file);
  CHECK(im.count == 4);
  CHECK(im.pixels == std::vector<std::uint8_t>(whole.begin() + 16, whole.end()));
}

TEST_CASE("idx: missing, unreadable and empty files", "[io][idx][errors]") {
  TempDir dir;
  const auto missing = dir / "no-such-file-idx3-ubyte.gz";
  REQUIRE_THROWS_MATCHES(io::read_idx(missing), IoError,
                         mentions(missing, {"cannot open", "No such file"}));
  REQUIRE_THROWS_MATCHES(io::read_idx_images(dir.path()), IoError,
                         mentions(dir.path(), {"cannot open", "directory"}));
  const auto empty = dir / "empty.idx";
  write_file(empty, Bytes{});
  REQUIRE_THROWS_MATCHES(io::read_idx(empty), IoError, mentions(empty, {"empty file"}));
  const auto empty_gz = dir / "empty-gz.idx";
  write_gzip(empty_gz, Bytes{});
  REQUIRE_THROWS_MATCHES(io::read_idx(empty_gz), IoError, mentions(empty_gz, {"empty file"}));
}

TEST_CASE("idx: bad magic number prints the bytes found", "[io][idx][errors]") {
  TempDir dir;
  const auto f = write_both(dir, "magic", Bytes{0x01, 0x02, 0x08, 0x03, 0, 0, 0, 1});
  for (const auto& file : {f.raw, f.gz}) {
    REQUIRE_THROWS_MATCHES(io::read_idx(file), IoError,
                           mentions(file, {"bad magic number", "01 02 08 03"}));
  }
  const auto text = dir / "text.idx";
  write_file(text, std::string("hello world"));
  REQUIRE_THROWS_MATCHES(io::read_idx_labels(text), IoError,
                         mentions(text, {"bad magic number", "68 65 6c 6c"}));
  const auto short_magic = dir / "short.idx";
  write_file(short_magic, Bytes{0, 0, 8});
  REQUIRE_THROWS_MATCHES(io::read_idx(short_magic), IoError,
                         mentions(short_magic, {"truncated header", "found 3"}));
}

TEST_CASE("idx: unsupported type codes and ranks", "[io][idx][errors]") {
  TempDir dir;
  for (unsigned type : {0x00u, 0x07u, 0x0Au, 0x0Fu, 0xFFu}) {
    const auto file = dir / ("type" + std::to_string(type) + ".idx");
    write_file(file, idx_file(static_cast<std::uint8_t>(type), {1}, Bytes{0, 0, 0, 0, 0, 0, 0, 0}));
    INFO(file);
    REQUIRE_THROWS_MATCHES(io::read_idx(file), IoError, mentions(file, {"unsupported type code 0x"}));
  }
  const auto rank0 = dir / "rank0.idx";
  write_file(rank0, Bytes{0, 0, 8, 0, 42});
  REQUIRE_THROWS_MATCHES(io::read_idx(rank0), IoError, mentions(rank0, {"unsupported rank 0"}));
  const auto rank5 = dir / "rank5.idx";
  write_file(rank5, idx_file(io::idx_ubyte, {1, 1, 1, 1, 1}, Bytes{1}));
  REQUIRE_THROWS_MATCHES(io::read_idx(rank5), IoError, mentions(rank5, {"unsupported rank 5"}));
}

TEST_CASE("idx: truncated header and payload say expected vs found", "[io][idx][errors]") {
  TempDir dir;
  Bytes dims_cut = idx_file(io::idx_ubyte, {60000, 28, 28}, {});
  dims_cut.resize(9);
  const auto h = write_both(dir, "dims", dims_cut);
  for (const auto& file : {h.raw, h.gz}) {
    REQUIRE_THROWS_MATCHES(io::read_idx(file), IoError,
                           mentions(file, {"truncated header", "rank 3 needs 12 bytes", "found 5"}));
  }

  const auto images =
      write_both(dir, "train-images-idx3-ubyte", idx_file(io::idx_ubyte, {60000, 28, 28}, iota_bytes(1234)));
  for (const auto& file : {images.raw, images.gz}) {
    REQUIRE_THROWS_MATCHES(
        io::read_idx_images(file), IoError,
        mentions(file, {"truncated: header says 60000 images of 28x28 (47040000 bytes) but only 1234 bytes follow"}));
    REQUIRE_THROWS_MATCHES(io::read_idx(file), IoError,
                           mentions(file, {"truncated", "60000x28x28 ubyte", "47040000", "1234"}));
  }
  const auto labels = write_both(dir, "labels", idx_file(io::idx_ubyte, {10}, iota_bytes(9)));
  for (const auto& file : {labels.raw, labels.gz}) {
    REQUIRE_THROWS_MATCHES(io::read_idx_labels(file), IoError,
                           mentions(file, {"truncated: header says 10 labels (10 bytes) but only 9 bytes follow"}));
  }
  const auto wide = write_both(dir, "f64", idx_file(io::idx_f64, {3}, iota_bytes(20)));
  for (const auto& file : {wide.raw, wide.gz}) {
    REQUIRE_THROWS_MATCHES(io::read_idx(file), IoError,
                           mentions(file, {"truncated", "3 f64 elements (24 bytes)", "only 20 bytes"}));
  }
}

TEST_CASE("idx: trailing garbage after the payload", "[io][idx][errors]") {
  TempDir dir;
  Bytes bytes = idx_file(io::idx_ubyte, {2, 2, 2}, iota_bytes(8));
  bytes.insert(bytes.end(), {1, 2, 3, 4, 5});
  const auto f = write_both(dir, "trailing", bytes);
  for (const auto& file : {f.raw, f.gz}) {
    REQUIRE_THROWS_MATCHES(io::read_idx_images(file), IoError,
                           mentions(file, {"trailing garbage: 5 bytes after the payload", "2 images of 2x2"}));
  }
}

TEST_CASE("idx: gzip stream errors", "[io][idx][errors][gzip]") {
  TempDir dir;
  std::mt19937 rng(42);
  Bytes payload(4000);
  for (auto& b : payload) b = static_cast<unsigned char>(rng() % 16);  // compressible, not trivial
  const Bytes bytes = idx_file(io::idx_ubyte, {10, 20, 20}, payload);
  const auto good = dir / "good.gz";
  write_gzip(good, bytes);
  const Bytes gz = io::test::read_file(good);
  REQUIRE(gz.size() > 40);
  REQUIRE(io::read_idx_images(good).count == 10);

  SECTION("garbage after the gzip stream") {
    Bytes extended = gz;
    extended.insert(extended.end(), {'j', 'u', 'n', 'k'});
    const auto file = dir / "junk-after.gz";
    write_file(file, extended);
    REQUIRE_THROWS_MATCHES(io::read_idx_images(file), IoError,
                           mentions(file, {"trailing garbage: 4 bytes after the end of the gzip stream"}));
  }
  SECTION("compressed data cut short") {
    for (std::size_t keep : {std::size_t{2}, std::size_t{10}, gz.size() / 2, gz.size() - 4, gz.size() - 1}) {
      const auto file = dir / ("cut" + std::to_string(keep) + ".gz");
      write_file(file, Bytes(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(keep)));
      INFO("kept " << keep << " of " << gz.size() << " bytes");
      REQUIRE_THROWS_MATCHES(io::read_idx_images(file), IoError,
                             mentions(file, {"corrupt gzip stream", "unexpected end of file"}));
    }
  }
  SECTION("damaged deflate data") {
    Bytes damaged = gz;
    for (std::size_t i = 12; i < 24; ++i) damaged[i] ^= 0xFF;
    const auto file = dir / "damaged.gz";
    write_file(file, damaged);
    REQUIRE_THROWS_MATCHES(io::read_idx_images(file), IoError, mentions(file, {"corrupt gzip stream"}));
  }
  SECTION("wrong CRC in the gzip trailer") {
    Bytes damaged = gz;
    damaged[gz.size() - 8] ^= 0x01;
    const auto file = dir / "crc.gz";
    write_file(file, damaged);
    REQUIRE_THROWS_MATCHES(io::read_idx_images(file), IoError,
                           mentions(file, {"corrupt gzip stream", "incorrect data check"}));
  }
  SECTION("bad gzip header") {
    Bytes damaged = gz;
    damaged[2] = 0x07;  // compression method other than deflate
    const auto file = dir / "method.gz";
    write_file(file, damaged);
    REQUIRE_THROWS_MATCHES(io::read_idx_images(file), IoError, mentions(file, {"corrupt gzip stream"}));
  }
}

TEST_CASE("idx: absurd sizes are refused before any allocation", "[io][idx][errors]") {
  TempDir dir;
  const auto big = dir / "big.idx";
  write_file(big, idx_file(io::idx_ubyte, {65536, 65536}, iota_bytes(10)));
  REQUIRE_THROWS_MATCHES(io::read_idx(big), IoError,
                         mentions(big, {"absurd size", "65536x65536", "2147483648"}));
  // 2^32-1 to the fourth power overflows 64 bits: must still be refused cleanly.
  const auto huge = dir / "huge.idx";
  write_file(huge, idx_file(io::idx_f64, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {}));
  REQUIRE_THROWS_MATCHES(io::read_idx(huge), IoError, mentions(huge, {"absurd size"}));
  // Just under the cap: accepted as a header, so the error is the truncation,
  // reported without allocating the 16 GiB the header claims.
  const auto lying = dir / "lying.idx";
  write_file(lying, idx_file(io::idx_f64, {32768, 65536}, iota_bytes(100)));
  REQUIRE_THROWS_MATCHES(io::read_idx(lying), IoError,
                         mentions(lying, {"truncated", "17179869184 bytes", "only 100 bytes"}));
}

TEST_CASE("idx: images and labels refuse each other's files", "[io][idx][errors]") {
  TempDir dir;
  const auto images = dir / "images.idx";
  write_file(images, idx_file(io::idx_ubyte, {2, 3, 3}, iota_bytes(18)));
  const auto labels = dir / "labels.idx";
  write_file(labels, idx_file(io::idx_ubyte, {2}, Bytes{1, 2}));
  const auto floats = dir / "floats.idx";
  write_file(floats, idx_file(io::idx_f32, {1, 1, 1}, iota_bytes(4)));

  REQUIRE_THROWS_MATCHES(io::read_idx_images(labels), IoError,
                         mentions(labels, {"expected images of rank 3", "found rank 1", "labels file?"}));
  REQUIRE_THROWS_MATCHES(io::read_idx_labels(images), IoError,
                         mentions(images, {"expected labels of rank 1", "found rank 3", "images file?"}));
  REQUIRE_THROWS_MATCHES(io::read_idx_images(floats), IoError,
                         mentions(floats, {"expected ubyte images", "0x0d", "f32"}));
  REQUIRE_THROWS_MATCHES(io::read_idx_labels(floats), IoError, mentions(floats, {"expected ubyte labels"}));
}

TEST_CASE("idx: every truncation and byte flip is an IoError or a valid read", "[io][idx][errors][fuzz]") {
  TempDir dir;
  const Bytes bytes = idx_file(io::idx_ubyte, {3, 4, 5}, iota_bytes(60));
  const auto good = dir / "good.gz";
  write_gzip(good, bytes);
  const Bytes gz = io::test::read_file(good);
  const auto file = dir / "mutant";
  const auto outcome = [&](const Bytes& content) {
    write_file(file, content);
    try {
      (void)io::read_idx(file);
      return true;
    } catch (const IoError& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains(file.string()));
      return false;
    }
  };
  for (const Bytes* source : {&bytes, &gz}) {
    for (std::size_t n = 0; n < source->size(); ++n) {
      INFO("prefix of " << n << " bytes");
      CHECK_FALSE(outcome(Bytes(source->begin(), source->begin() + static_cast<std::ptrdiff_t>(n))));
    }
  }
  std::mt19937 rng(7);
  for (int trial = 0; trial < 400; ++trial) {
    Bytes mutant = trial % 2 ? gz : bytes;
    mutant[rng() % mutant.size()] ^= static_cast<unsigned char>(1u << (rng() % 8));
    CHECK_NOTHROW(outcome(mutant));
  }
}

TEST_CASE("idx: Fashion-MNIST files, if installed", "[io][idx][fashion-mnist]") {
  const std::filesystem::path dir = "/usr/share/datasets/fashion-mnist";
  struct Split {
    const char* name;
    std::size_t count;
  };
  for (const auto [name, count] : {Split{"train", 60000}, Split{"t10k", 10000}}) {
    const auto images_file = dir / (std::string(name) + "-images-idx3-ubyte.gz");
    const auto labels_file = dir / (std::string(name) + "-labels-idx1-ubyte.gz");
    if (!std::filesystem::exists(images_file) || !std::filesystem::exists(labels_file)) {
      WARN("Fashion-MNIST " << name << " split not found in " << dir << ": skipped");
      continue;
    }
    const auto images = io::read_idx_images(images_file);
    CHECK(images.count == count);
    CHECK(images.rows == 28);
    CHECK(images.cols == 28);
    CHECK(images.pixels.size() == count * 28 * 28);
    CHECK(*std::max_element(images.pixels.begin(), images.pixels.end()) == 255);

    const auto labels = io::read_idx_labels(labels_file);
    REQUIRE(labels.size() == count);
    CHECK(*std::max_element(labels.begin(), labels.end()) <= 9);
    // The data set is balanced: every class has a tenth of the samples.
    std::array<std::size_t, 10> per_class{};
    for (auto l : labels) ++per_class[std::min<std::size_t>(l, 9)];
    for (std::size_t c = 0; c < 10; ++c) {
      INFO("class " << c);
      CHECK(per_class[c] == count / 10);
    }
  }
}
