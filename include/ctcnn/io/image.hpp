// ctcnn/io/image.hpp: small images out of tensors, as PNG (or PGM) files.
//
//   Image                    8-bit pixels, 1 channel (gray) or 3 (RGB), row-major
//   to_gray(values, h, w, lo, hi)     linear map [lo, hi] -> [0, 255], clamped
//   to_gray(values, h, w)             the values' own min and max
//   to_diverging(values, h, w, limit) signed values: blue < 0 < red, white at 0,
//                                     full colour at |v| = limit
//   upscale(image, factor)            nearest neighbour, for 28x28 images and 5x5 filters
//   grid(images, columns, gap, background)   tiles of equal size in rows
//   write_png(path, image), write_pgm(path, image)
//
// PNG: one IHDR, one IDAT (zlib's compress2 on rows that each start with filter
// byte 0), IEND; every chunk's CRC from zlib's crc32. 8 bits per sample, no
// interlace, colour type 0 (gray) or 2 (RGB): the subset every viewer reads.
// Errors throw IoError naming the file.
//
// Link: zlib.
#pragma once

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "ctcnn/io/error.hpp"

namespace ctcnn::io {

struct Image {
  std::size_t width = 0, height = 0, channels = 1;  // channels: 1 gray, 3 RGB
  std::vector<std::uint8_t> pixels;                 // height * width * channels

  Image() = default;
  Image(std::size_t w, std::size_t h, std::size_t c, std::uint8_t fill = 0)
      : width(w), height(h), channels(c), pixels(w * h * c, fill) {}
  std::uint8_t* at(std::size_t row, std::size_t col) {
    return pixels.data() + (row * width + col) * channels;
  }
  const std::uint8_t* at(std::size_t row, std::size_t col) const {
    return pixels.data() + (row * width + col) * channels;
  }
};

// values: (height, width), row-major. Values outside [lo, hi] are clamped; NaN is black.
inline Image to_gray(const float* values, std::size_t height, std::size_t width, float lo, float hi) {
  Image img(width, height, 1);
  const float scale = hi > lo ? 255.0f / (hi - lo) : 0.0f;
  for (std::size_t i = 0; i < width * height; ++i) {
    const float v = (values[i] - lo) * scale;
    img.pixels[i] = static_cast<std::uint8_t>(std::isnan(v) ? 0.0f : std::clamp(v + 0.5f, 0.0f, 255.0f));
  }
  return img;
}

// The values' own range: min -> black, max -> white (all equal: black).
inline Image to_gray(const float* values, std::size_t height, std::size_t width) {
  float lo = std::numeric_limits<float>::infinity(), hi = -lo;
  for (std::size_t i = 0; i < width * height; ++i) {
    if (std::isfinite(values[i])) {
      lo = std::min(lo, values[i]);
      hi = std::max(hi, values[i]);
    }
  }
  if (!(lo <= hi)) lo = hi = 0.0f;
  return to_gray(values, height, width, lo, hi);
}

// Signed values on white: negative towards blue, positive towards red, so the
// sign of a filter weight or a feature response is visible at a glance.
inline Image to_diverging(const float* values, std::size_t height, std::size_t width, float limit) {
  Image img(width, height, 3);
  for (std::size_t i = 0; i < width * height; ++i) {
    const float t = limit > 0.0f ? std::clamp(values[i] / limit, -1.0f, 1.0f) : 0.0f;
    const auto fade = static_cast<std::uint8_t>(255.0f * (1.0f - std::fabs(t)) + 0.5f);
    std::uint8_t* p = img.pixels.data() + 3 * i;
    if (std::isnan(values[i])) {
      p[0] = p[1] = p[2] = 0;
    } else if (t >= 0.0f) {
      p[0] = 255, p[1] = fade, p[2] = fade;  // red
    } else {
      p[0] = fade, p[1] = fade, p[2] = 255;  // blue
    }
  }
  return img;
}

inline Image upscale(const Image& in, std::size_t factor) {
  Image out(in.width * factor, in.height * factor, in.channels);
  for (std::size_t r = 0; r < out.height; ++r) {
    for (std::size_t c = 0; c < out.width; ++c) {
      std::copy_n(in.at(r / factor, c / factor), in.channels, out.at(r, c));
    }
  }
  return out;
}

// Tiles `images` (all the same size and channel count) left to right, top to
// bottom, `columns` to a row, `gap` pixels of `background` between and around them.
inline Image grid(const std::vector<Image>& images, std::size_t columns, std::size_t gap,
                  std::uint8_t background = 255) {
  if (images.empty() || columns == 0) return Image{};
  const std::size_t w = images[0].width, h = images[0].height, ch = images[0].channels;
  for (const auto& im : images) {
    if (im.width != w || im.height != h || im.channels != ch) {
      detail::throw_io_error("<image grid>", "tiles differ in size: %zux%zu vs %zux%zu", im.width, im.height, w, h);
    }
  }
  columns = std::min(columns, images.size());
  const std::size_t rows = (images.size() + columns - 1) / columns;
  Image out(gap + columns * (w + gap), gap + rows * (h + gap), ch, background);
  for (std::size_t k = 0; k < images.size(); ++k) {
    const std::size_t top = gap + (k / columns) * (h + gap);
    const std::size_t left = gap + (k % columns) * (w + gap);
    for (std::size_t r = 0; r < h; ++r) {
      std::copy_n(images[k].at(r, 0), w * ch, out.at(top + r, left));
    }
  }
  return out;
}

// A gray tile as RGB (to sit in one grid beside diverging tiles).
inline Image to_rgb(const Image& in) {
  if (in.channels == 3) return in;
  Image out(in.width, in.height, 3);
  for (std::size_t i = 0; i < in.width * in.height; ++i) {
    std::fill_n(out.pixels.data() + 3 * i, 3, in.pixels[i]);
  }
  return out;
}

namespace detail::image {

inline void put_u32_be(std::vector<unsigned char>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<unsigned char>(v >> shift));
}

// length, type, data, CRC over type and data.
inline void put_chunk(std::vector<unsigned char>& out, const char (&type)[5],
                      const std::vector<unsigned char>& data) {
  put_u32_be(out, static_cast<std::uint32_t>(data.size()));
  const std::size_t type_at = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uLong crc = crc32(0L, out.data() + type_at, static_cast<uInt>(out.size() - type_at));
  put_u32_be(out, static_cast<std::uint32_t>(crc));
}

inline void write_bytes(const std::filesystem::path& file, const std::vector<unsigned char>& bytes) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  if (!out) detail::throw_io_error(file, "cannot open for writing");
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) detail::throw_io_error(file, "write error");
}

inline void check_image(const std::filesystem::path& file, const Image& img) {
  if (img.width == 0 || img.height == 0 || (img.channels != 1 && img.channels != 3) ||
      img.pixels.size() != img.width * img.height * img.channels) {
    detail::throw_io_error(file, "cannot write an image of %zux%zux%zu with %zu bytes", img.width, img.height,
                           img.channels, img.pixels.size());
  }
}

}  // namespace detail::image

// The PNG file's bytes (see the header comment for the subset written).
inline std::vector<unsigned char> encode_png(const Image& img) {
  namespace di = detail::image;
  di::check_image("<png>", img);
  std::vector<unsigned char> out{0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  std::vector<unsigned char> ihdr;
  di::put_u32_be(ihdr, static_cast<std::uint32_t>(img.width));
  di::put_u32_be(ihdr, static_cast<std::uint32_t>(img.height));
  ihdr.insert(ihdr.end(), {8, static_cast<unsigned char>(img.channels == 3 ? 2 : 0), 0, 0, 0});
  di::put_chunk(out, "IHDR", ihdr);

  const std::size_t stride = img.width * img.channels;
  std::vector<unsigned char> raw;
  raw.reserve(img.height * (stride + 1));
  for (std::size_t r = 0; r < img.height; ++r) {
    raw.push_back(0);  // filter: none
    raw.insert(raw.end(), img.pixels.begin() + static_cast<std::ptrdiff_t>(r * stride),
               img.pixels.begin() + static_cast<std::ptrdiff_t>((r + 1) * stride));
  }
  uLongf packed_size = compressBound(static_cast<uLong>(raw.size()));
  std::vector<unsigned char> packed(packed_size);
  if (compress2(packed.data(), &packed_size, raw.data(), static_cast<uLong>(raw.size()), 9) != Z_OK) {
    detail::throw_io_error("<png>", "zlib compress2 failed");
  }
  packed.resize(packed_size);
  di::put_chunk(out, "IDAT", packed);
  di::put_chunk(out, "IEND", {});
  return out;
}

inline void write_png(const std::filesystem::path& file, const Image& img) {
  detail::image::check_image(file, img);
  detail::image::write_bytes(file, encode_png(img));
}

// Binary PGM (P5) for gray images, PPM (P6) for RGB.
inline void write_pgm(const std::filesystem::path& file, const Image& img) {
  detail::image::check_image(file, img);
  const std::string header = std::string(img.channels == 3 ? "P6" : "P5") + "\n" +
                             std::to_string(img.width) + " " + std::to_string(img.height) + "\n255\n";
  std::vector<unsigned char> bytes(header.begin(), header.end());
  bytes.insert(bytes.end(), img.pixels.begin(), img.pixels.end());
  detail::image::write_bytes(file, bytes);
}

}  // namespace ctcnn::io
