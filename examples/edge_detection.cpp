// Hand-set convolution kernels on Fashion-MNIST images: a Conv2d<3, 3,
// Padding<1>, NoBias> whose three filters are set by hand, not learned:
//
//   top edge  [-1 -1 -1]    Sobel x  [-1  0  1]    Sobel y  [-1 -2 -1]
//             [ 0  0  0]             [-2  0  2]             [ 0  0  0]
//             [ 1  1  1]             [-1  0  1]             [ 1  2  1]
//
// (a cross-correlation, as in PyTorch: the top-edge filter responds where the
// image gets brighter downwards, i.e. along the top edges of bright garments).
// Pixels are scaled to [0, 1] without normalisation, so zero padding is the
// black background.
//
// Writes into the output folder, per image i: image<i>_input.png and
// image<i>_{top_edge,sobel_x,sobel_y}.png (gray, 8x enlarged; for the feature
// maps mid-gray is 0, white the largest positive response, black the most
// negative), and edge_detection.png, one row per image: input, then the three
// maps in colour (red positive, blue negative).
//
//   edge_detection [--data DIR] [--out DIR] [--count N] [--smoke]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <ctcnn/ctcnn.hpp>
#include <ctcnn/io/dataset.hpp>
#include <ctcnn/io/image.hpp>

namespace cn = ctcnn;

struct EdgeFilters : cn::Sequential<cn::Input<1, 28, 28>, cn::Conv2d<3, 3, cn::Padding<1>, cn::NoBias>> {};

namespace {

constexpr std::size_t scale = 8;
constexpr const char* map_names[3] = {"top_edge", "sobel_x", "sobel_y"};
constexpr float kernels[3][3][3] = {
    {{-1, -1, -1}, {0, 0, 0}, {1, 1, 1}},
    {{-1, 0, 1}, {-2, 0, 2}, {-1, 0, 1}},
    {{-1, -2, -1}, {0, 0, 0}, {1, 2, 1}},
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "edge_detection: " << problem << "\nusage: edge_detection [--data DIR] [--out DIR] [--count N] [--smoke]\n";
  std::exit(2);
}

// The response of filter k at (r, c), written out directly from the definition,
// to check the network against.
float by_hand(const float* image, std::size_t k, std::size_t r, std::size_t c) {
  float sum = 0.0f;
  for (int i = -1; i <= 1; ++i) {
    for (int j = -1; j <= 1; ++j) {
      const long rr = static_cast<long>(r) + i, cc = static_cast<long>(c) + j;
      if (rr < 0 || rr >= 28 || cc < 0 || cc >= 28) continue;
      sum += kernels[k][i + 1][j + 1] * image[rr * 28 + cc];
    }
  }
  return sum;
}

int run(const std::filesystem::path& data, const std::filesystem::path& out, std::size_t count) {
  using Set = cn::io::ImageDataset<cn::Shape<1, 28, 28>>;
  const Set test = cn::io::load_mnist(data, cn::io::MnistPart::test, cn::io::Normalization{0.0f, 1.0f});
  count = std::min(count, test.size());
  std::filesystem::create_directories(out);

  auto net = std::make_unique<EdgeFilters>();
  auto w = net->weight<0>();  // (3, 1, 3, 3)
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t i = 0; i < 3; ++i)
      for (std::size_t j = 0; j < 3; ++j) w(k, 0, i, j) = kernels[k][i][j];

  std::vector<cn::io::Image> tiles;
  cn::Tensor<cn::Shape<1, 28, 28>> x;
  for (std::size_t n = 0; n < count; ++n) {
    test.load(n, x.data());
    const auto y = net->forward(x);  // (3, 28, 28)
    for (std::size_t k = 0; k < 3; ++k) {
      for (std::size_t r = 0; r < 28; r += 9) {
        for (std::size_t c = 0; c < 28; c += 9) {
          const float expected = by_hand(x.data(), k, r, c);
          if (std::fabs(y(k, r, c) - expected) > 1e-5f) {
            std::cerr << "edge_detection: filter " << map_names[k] << " at (" << r << ", " << c << ") gives "
                      << y(k, r, c) << ", by hand " << expected << '\n';
            return 1;
          }
        }
      }
    }
    const std::string stem = "image" + std::to_string(n) + "_";
    const auto input = cn::io::to_gray(x.data(), 28, 28, 0.0f, 1.0f);
    cn::io::write_png(out / (stem + "input.png"), cn::io::upscale(input, scale));
    tiles.push_back(cn::io::to_rgb(input));
    std::printf("image %zu (%s):", n, std::string(cn::io::fashion_mnist_classes[static_cast<std::size_t>(test.label(n))]).c_str());
    for (std::size_t k = 0; k < 3; ++k) {
      const float* map = y.data() + k * 28 * 28;
      float limit = 0.0f;
      for (std::size_t i = 0; i < 28 * 28; ++i) limit = std::max(limit, std::fabs(map[i]));
      cn::io::write_png(out / (stem + map_names[k] + ".png"),
                        cn::io::upscale(cn::io::to_gray(map, 28, 28, -limit, limit), scale));
      tiles.push_back(cn::io::to_diverging(map, 28, 28, limit));
      std::printf("  %s in [%.2f, %.2f]", map_names[k], *std::min_element(map, map + 784),
                  *std::max_element(map, map + 784));
    }
    std::printf("\n");
  }
  std::vector<cn::io::Image> big;
  for (const auto& t : tiles) big.push_back(cn::io::upscale(t, 4));
  cn::io::write_png(out / "edge_detection.png", cn::io::grid(big, 4, 6));
  std::cout << "checked against a direct computation; wrote " << count * 4 + 1 << " PNG files to " << out.string()
            << " (edge_detection.png: input | top edge | Sobel x | Sobel y, red > 0 > blue)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path data{std::string(cn::io::fashion_mnist_dir)};
  std::filesystem::path out = "out/edge_detection";
  std::size_t count = 4;
  bool smoke = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--data") {
      data = value();
    } else if (arg == "--out") {
      out = value();
    } else if (arg == "--count") {
      const char* text = value();
      char* end = nullptr;
      const long v = std::strtol(text, &end, 10);
      if (end == text || *end != '\0' || v < 1) usage("--count needs a whole number >= 1");
      count = static_cast<std::size_t>(v);
    } else if (arg == "--smoke") {
      smoke = true;
    } else {
      usage("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (smoke) count = std::min<std::size_t>(count, 2);
  try {
    return run(data, out, count);
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
}
