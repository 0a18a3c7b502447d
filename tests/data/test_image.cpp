// io/image.hpp: value-to-pixel maps, upscaling, grids, and PNG files decoded
// here chunk by chunk with zlib.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <cmath>
#include <limits>

#include "ctcnn/io/image.hpp"
#include "data/data_test_support.hpp"

using namespace ctcnn;
using namespace ctcnn::test;

namespace {

std::uint32_t u32_be(const Bytes& b, std::size_t at) {
  return std::uint32_t{b[at]} << 24 | std::uint32_t{b[at + 1]} << 16 | std::uint32_t{b[at + 2]} << 8 |
         std::uint32_t{b[at + 3]};
}

struct Chunk {
  std::string type;
  Bytes data;
};

// Splits a PNG into chunks, checking the signature and every CRC.
std::vector<Chunk> read_chunks(const Bytes& png) {
  const Bytes signature{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  REQUIRE(png.size() > 8);
  REQUIRE(Bytes(png.begin(), png.begin() + 8) == signature);
  std::vector<Chunk> chunks;
  std::size_t at = 8;
  while (at < png.size()) {
    REQUIRE(at + 12 <= png.size());
    const std::uint32_t length = u32_be(png, at);
    REQUIRE(at + 12 + length <= png.size());
    Chunk c{std::string(png.begin() + static_cast<long>(at) + 4, png.begin() + static_cast<long>(at) + 8),
            Bytes(png.begin() + static_cast<long>(at) + 8,
                  png.begin() + static_cast<long>(at + 8 + length))};
    const uLong crc = crc32(0L, png.data() + at + 4, length + 4);
    CHECK(u32_be(png, at + 8 + length) == crc);
    chunks.push_back(std::move(c));
    at += 12 + length;
  }
  return chunks;
}

}  // namespace

TEST_CASE("to_gray maps [lo, hi] linearly onto 0..255 and clamps", "[image]") {
  const float v[6] = {0.0f, 0.5f, 1.0f, -3.0f, 7.0f, std::numeric_limits<float>::quiet_NaN()};
  const auto img = io::to_gray(v, 2, 3, 0.0f, 1.0f);
  CHECK(img.width == 3);
  CHECK(img.height == 2);
  CHECK(img.pixels == std::vector<std::uint8_t>{0, 128, 255, 0, 255, 0});
  const float w[3] = {-2.0f, 0.0f, 2.0f};
  CHECK(io::to_gray(w, 1, 3).pixels == std::vector<std::uint8_t>{0, 128, 255});
}

TEST_CASE("to_diverging shows the sign in colour", "[image]") {
  const float v[3] = {-1.0f, 0.0f, 0.5f};
  const auto img = io::to_diverging(v, 1, 3, 1.0f);
  CHECK(img.channels == 3);
  CHECK(img.pixels == std::vector<std::uint8_t>{0, 0, 255, 255, 255, 255, 255, 128, 128});
}

TEST_CASE("upscale and grid place the pixels where they belong", "[image]") {
  io::Image a(2, 1, 1);
  a.pixels = {10, 20};
  const auto up = io::upscale(a, 2);
  CHECK(up.pixels == std::vector<std::uint8_t>{10, 10, 20, 20, 10, 10, 20, 20});
  io::Image b(2, 1, 1);
  b.pixels = {30, 40};
  io::Image c(2, 1, 1);
  c.pixels = {50, 60};
  // 2 columns, gap 1: width 1+2*(2+1) = 7, height 1+2*(1+1) = 5.
  const auto g = io::grid({a, b, c}, 2, 1, 0);
  REQUIRE(g.width == 7);
  REQUIRE(g.height == 5);
  const std::vector<std::uint8_t> expected{
      0, 0,  0,  0, 0,  0,  0,  //
      0, 10, 20, 0, 30, 40, 0,  //
      0, 0,  0,  0, 0,  0,  0,  //
      0, 50, 60, 0, 0,  0,  0,  //
      0, 0,  0,  0, 0,  0,  0};
  CHECK(g.pixels == expected);
  CHECK_THROWS_AS(io::grid({a, up}, 2, 1), io::IoError);
}

TEST_CASE("write_png writes a valid gray or RGB PNG with the exact pixels", "[image][png]") {
  TempDir dir;
  const std::size_t channels = GENERATE(1u, 3u);
  io::Image img(5, 3, channels);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<std::uint8_t>(i * 17);
  io::write_png(dir / "a.png", img);
  const auto chunks = read_chunks(read_file(dir / "a.png"));
  REQUIRE(chunks.size() == 3);
  CHECK(chunks[0].type == "IHDR");
  CHECK(chunks[1].type == "IDAT");
  CHECK(chunks[2].type == "IEND");
  const Bytes& h = chunks[0].data;
  REQUIRE(h.size() == 13);
  CHECK(u32_be(h, 0) == 5);
  CHECK(u32_be(h, 4) == 3);
  CHECK(h[8] == 8);                           // bit depth
  CHECK(h[9] == (channels == 3 ? 2 : 0));     // colour type
  CHECK((h[10] == 0 && h[11] == 0 && h[12] == 0));  // deflate, adaptive filters, no interlace
  Bytes raw(3 * (1 + 5 * channels));
  uLongf raw_size = raw.size();
  REQUIRE(uncompress(raw.data(), &raw_size, chunks[1].data.data(), chunks[1].data.size()) == Z_OK);
  REQUIRE(raw_size == raw.size());
  for (std::size_t r = 0; r < 3; ++r) {
    CHECK(raw[r * (1 + 5 * channels)] == 0);  // filter type none
    for (std::size_t k = 0; k < 5 * channels; ++k) {
      CHECK(raw[r * (1 + 5 * channels) + 1 + k] == img.pixels[r * 5 * channels + k]);
    }
  }
}

TEST_CASE("write_pgm writes P5 for gray and P6 for RGB", "[image]") {
  TempDir dir;
  io::Image img(2, 2, 1);
  img.pixels = {1, 2, 3, 4};
  io::write_pgm(dir / "a.pgm", img);
  const Bytes expected{'P', '5', '\n', '2', ' ', '2', '\n', '2', '5', '5', '\n', 1, 2, 3, 4};
  CHECK(read_file(dir / "a.pgm") == expected);
  CHECK_THROWS_AS(io::write_png(dir / "no" / "such" / "dir.png", img), io::IoError);
  CHECK_THROWS_AS(io::write_png(dir / "empty.png", io::Image{}), io::IoError);
}
