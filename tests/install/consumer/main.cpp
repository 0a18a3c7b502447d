// Builds a small network against the installed headers and checks one forward
// pass by hand, then round-trips its parameters through the io headers
// (gzip-compressed idx: zlib), so a missing
// dependency in the exported targets shows up as a build or link failure.
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <ctcnn/ctcnn.hpp>
#include <ctcnn/io/idx.hpp>
#include <ctcnn/io/safetensors.hpp>
#include <ctcnn/net/summary.hpp>

namespace cn = ctcnn;

struct Small : cn::Sequential<cn::Input<1, 8, 8>,
                              cn::Conv2d<2, 3, cn::Padding<1>>, cn::ReLU, cn::MaxPool2d<2>,
                              cn::Flatten, cn::Linear<3>> {};
static_assert(Small::output_shape == cn::Shape<3>{});

int fail(const std::string& what) {
  std::cerr << "consumer: " << what << '\n';
  return 1;
}

int main(int argc, char** argv) {
  if (argc != 2) return fail("usage: consumer <scratch directory>");
  cn::print_summary<Small>(std::cout, "Small");

  // Conv weights 1/9 (a box filter), input all ones: every 2x2 pooling window
  // holds an interior pixel, whose value is 1, so the 32 pooled features are 1;
  // Linear weights 1 and biases 0, 1, 2 give 32, 33, 34.
  Small net;
  net.weight<0>().fill(1.0f / 9.0f);
  net.weight<4>().fill(1.0f);
  for (std::size_t i = 0; i < 3; ++i) net.bias<4>()[i] = static_cast<float>(i);
  cn::Tensor<Small::input_shape_t> x;
  x.fill(1.0f);
  const auto y = net.forward(x);
  for (std::size_t i = 0; i < 3; ++i) {
    std::printf("y[%zu] = %g\n", i, static_cast<double>(y[i]));
    if (std::abs(y[i] - (32.0f + static_cast<float>(i))) > 1e-4f) return fail("wrong output");
  }

  const std::filesystem::path dir = argv[1];
  std::filesystem::create_directories(dir);

  std::vector<cn::io::TensorRecord> records;
  net.for_each_parameter([&](std::size_t layer, const cn::ParameterSpec& spec, float* values,
                             float*) {
    records.push_back(cn::io::make_f32_record(
        std::to_string(layer) + "." + std::string(spec.name),
        std::vector<std::size_t>(spec.dims.begin(), spec.dims.begin() + spec.rank), values));
  });
  cn::io::write_safetensors(dir / "small.safetensors", records);
  const auto file = cn::io::SafetensorsFile::read(dir / "small.safetensors");
  if (file.to_f32("4.bias", {3}) != std::vector<float>{0.0f, 1.0f, 2.0f})
    return fail("safetensors round trip");

  // A gzip-compressed idx label file: magic 00 00 08 01, count 3, labels 7 0 9.
  const unsigned char idx[] = {0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9};
  const std::string gz = (dir / "labels.idx1-ubyte.gz").string();
  gzFile out = gzopen(gz.c_str(), "wb");
  if (!out || gzwrite(out, idx, sizeof idx) != static_cast<int>(sizeof idx) || gzclose(out) != Z_OK)
    return fail("cannot write " + gz);
  if (cn::io::read_idx_labels(gz) != std::vector<std::uint8_t>{7, 0, 9})
    return fail("idx round trip");

  std::cout << "consumer: ok\n";
  return 0;
}
