// The first-layer filters of the trained LeNet-5 (the main job's
// weights.safetensors), as pictures: the six 5x5 kernels of Conv2d(1->6), and
// what they make of a test image.
//
// Writes into the output folder:
//   conv1_filters.png        the six filters, 24x enlarged, on one colour scale
//                            (red positive, blue negative, white 0: the sign
//                            shows which pixels excite and which inhibit)
//   conv1_filters_gray.png   the same, each filter stretched over black..white
//   conv1_feature_maps.png   a test image and its six feature maps after ReLU
//                            (when the data set is present)
//
//   filters [--weights PATH] [--data DIR] [--out DIR] [--smoke]
//
// --weights defaults to out/lenet_fashion_mnist/weights.safetensors. With
// --smoke, or when that file does not exist, the filters come from PyTorch's
// default initialisation (seed 0) instead, and the program says so.
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
#include <ctcnn/io/weights.hpp>
#include <ctcnn/train/init.hpp>

namespace cn = ctcnn;

struct LeNet5 : cn::Sequential<
    cn::Input<1, 28, 28>,
    cn::Conv2d<6, 5, cn::Padding<2>>, cn::ReLU, cn::MaxPool2d<2>,
    cn::Conv2d<16, 5>,                cn::ReLU, cn::MaxPool2d<2>,
    cn::Flatten,
    cn::Linear<120>, cn::ReLU,
    cn::Linear<84>,  cn::ReLU,
    cn::Linear<10>> {};

// LeNet-5's first layer alone, to look at its feature maps.
struct FirstLayer : cn::Sequential<cn::Input<1, 28, 28>, cn::Conv2d<6, 5, cn::Padding<2>>, cn::ReLU> {};

namespace {

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "filters: " << problem << "\nusage: filters [--weights PATH] [--data DIR] [--out DIR] [--smoke]\n";
  std::exit(2);
}

int run(const std::filesystem::path& weights, const std::filesystem::path& data, const std::filesystem::path& out,
        bool smoke) {
  auto net = std::make_unique<LeNet5>();
  if (!smoke && std::filesystem::exists(weights)) {
    cn::io::load_weights(*net, weights);
    std::cout << "filters of " << weights.string() << '\n';
  } else {
    cn::init_default(*net, 0);
    std::cout << (smoke ? "--smoke" : "no file " + weights.string())
              << ": showing the untrained filters of PyTorch's default initialisation (seed 0); "
                 "run lenet_fashion_mnist first for learned ones\n";
  }
  std::filesystem::create_directories(out);

  const auto w = net->weight<0>();  // (6, 1, 5, 5)
  float limit = 0.0f;
  for (float v : w) limit = std::max(limit, std::fabs(v));
  std::vector<cn::io::Image> signed_tiles, gray_tiles;
  for (std::size_t k = 0; k < 6; ++k) {
    const float* f = w.data() + k * 25;
    signed_tiles.push_back(cn::io::upscale(cn::io::to_diverging(f, 5, 5, limit), 24));
    gray_tiles.push_back(cn::io::upscale(cn::io::to_gray(f, 5, 5), 24));
    std::printf("filter %zu:", k);
    for (std::size_t r = 0; r < 5; ++r) {
      std::printf("%s", r ? "\n         " : " ");
      for (std::size_t c = 0; c < 5; ++c) std::printf(" %6.3f", f[r * 5 + c]);
    }
    std::printf("   bias %.3f\n", net->bias<0>()[k]);
  }
  cn::io::write_png(out / "conv1_filters.png", cn::io::grid(signed_tiles, 6, 12));
  cn::io::write_png(out / "conv1_filters_gray.png", cn::io::grid(gray_tiles, 6, 12));
  std::cout << "wrote conv1_filters.png and conv1_filters_gray.png to " << out.string() << " (scale +-" << limit
            << ")\n";

  if (!std::filesystem::exists(data)) {
    std::cout << "no data set at " << data.string() << ": no feature maps\n";
    return 0;
  }
  const auto test = cn::io::load_mnist(data, cn::io::MnistPart::test);
  auto first = std::make_unique<FirstLayer>();
  std::copy_n(net->parameters().begin(), first->parameters().size(), first->parameters().begin());
  cn::Tensor<cn::Shape<1, 28, 28>> x;
  test.load(0, x.data());
  const auto maps = first->forward(x);  // (6, 28, 28)
  std::vector<cn::io::Image> tiles{cn::io::upscale(cn::io::to_gray(x.data(), 28, 28), 5)};
  for (std::size_t k = 0; k < 6; ++k) {
    tiles.push_back(cn::io::upscale(cn::io::to_gray(maps.data() + k * 784, 28, 28), 5));
  }
  cn::io::write_png(out / "conv1_feature_maps.png", cn::io::grid(tiles, 7, 8));
  std::cout << "wrote conv1_feature_maps.png: test image 0 ("
            << cn::io::fashion_mnist_classes[static_cast<std::size_t>(test.label(0))]
            << ") and its 6 feature maps after ReLU\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path weights = "out/lenet_fashion_mnist/weights.safetensors";
  std::filesystem::path data{std::string(cn::io::fashion_mnist_dir)};
  std::filesystem::path out = "out/filters";
  bool smoke = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--weights") {
      weights = value();
    } else if (arg == "--data") {
      data = value();
    } else if (arg == "--out") {
      out = value();
    } else if (arg == "--smoke") {
      smoke = true;
    } else {
      usage("unknown argument '" + std::string(arg) + "'");
    }
  }
  try {
    return run(weights, data, out, smoke);
  } catch (const std::exception& e) {
    std::cerr << e.what() << '\n';
    return 1;
  }
}
