// LeNet-5 as DESIGN.md defines it: the network is a type, its shapes and
// parameter count are checked at compile time. Prints the summary, then runs an
// inference on a deterministic input (fixed pseudo-random weights) and, without
// --smoke, times batched inference.
//
//   lenet5 [--smoke]
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string_view>

#include <ctcnn/ctcnn.hpp>
#include <ctcnn/net/summary.hpp>

namespace cn = ctcnn;

struct LeNet5 : cn::Sequential<
    cn::Input<1, 28, 28>,                                   // C, H, W of one sample
    cn::Conv2d<6, 5, cn::Padding<2>>, cn::ReLU, cn::MaxPool2d<2>,
    cn::Conv2d<16, 5>,                cn::ReLU, cn::MaxPool2d<2>,
    cn::Flatten,
    cn::Linear<120>, cn::ReLU,
    cn::Linear<84>,  cn::ReLU,
    cn::Linear<10>> {};                                    // a struct keeps error messages short

static_assert(LeNet5::output_shape == cn::Shape<10>{});
static_assert(LeNet5::parameter_count == 61'706);

namespace {

// A fixed 32-bit LCG (Numerical Recipes constants), so every platform prints the
// same numbers; uniform in [-1, 1).
struct Lcg {
  std::uint32_t state;
  float next() {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) * (2.0f / 16777216.0f) - 1.0f;
  }
};

// Weights uniform in +-1/sqrt(fan_in), PyTorch's default range; biases zero.
template <class Net>
void init_parameters(Net& net, std::uint32_t seed) {
  Lcg rng{seed};
  net.for_each_parameter([&](std::size_t, const cn::ParameterSpec& spec, float* values, float*) {
    std::size_t fan_in = 1;
    for (std::size_t d = 1; d < spec.rank; ++d) fan_in *= spec.dims[d];
    const float bound = spec.rank > 1 ? 1.0f / std::sqrt(static_cast<float>(fan_in)) : 0.0f;
    for (std::size_t i = 0; i < spec.size(); ++i) values[i] = bound * rng.next();
  });
}

// A bright ring on a dark background, the same on every run.
template <class Image>
void draw_ring(Image& x) {
  for (std::size_t r = 0; r < 28; ++r)
    for (std::size_t c = 0; c < 28; ++c) {
      const float dr = static_cast<float>(r) - 13.5f, dc = static_cast<float>(c) - 13.5f;
      x(0, r, c) = std::exp(-std::pow(std::sqrt(dr * dr + dc * dc) - 8.0f, 2.0f) / 4.0f);
    }
}

}  // namespace

int main(int argc, char** argv) {
  const bool smoke = argc > 1 && std::string_view(argv[1]) == "--smoke";

  cn::print_summary<LeNet5>(std::cout, "LeNet5");

  auto net = std::make_unique<LeNet5>();
  init_parameters(*net, 42);
  cn::Tensor<LeNet5::input_shape_t> x;
  draw_ring(x);
  const auto y = net->forward(x);
  std::cout << "\nlogits for a ring image:";
  std::size_t best = 0;
  for (std::size_t i = 0; i < y.size(); ++i) {
    std::printf(" %.5f", static_cast<double>(y[i]));
    if (y[i] > y[best]) best = i;
  }
  std::cout << "\nargmax: " << best << '\n';

  if (!smoke) {
    constexpr std::size_t batch = 64;
    auto xs = std::make_unique<cn::Tensor<cn::Shape<batch, 1, 28, 28>>>();
    for (std::size_t n = 0; n < batch; ++n)
      std::copy(x.begin(), x.end(), xs->begin() + n * x.size());
    std::size_t samples = 0;
    const auto start = std::chrono::steady_clock::now();
    double seconds = 0;
    float sink = 0;
    while (seconds < 1.0) {
      sink += net->forward(*xs)[0];
      samples += batch;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf("inference, batch %zu: %.0f samples/s (%.2f GFLOP/s; checksum %g)\n", batch,
                static_cast<double>(samples) / seconds,
                2.0 * LeNet5::macs * static_cast<double>(samples) / seconds * 1e-9,
                static_cast<double>(sink));
  }
  return 0;
}
