// The convolutional network of many introductory courses: two 5x5 convolutions
// without pooling, then one dense layer and Softmax. Most of its parameters sit
// in the final Linear (12800 -> 10), most of its arithmetic in the second
// convolution: the summary shows both. Prints the summary, then the class
// probabilities for a deterministic input (fixed pseudo-random weights).
//
//   teaching_convnet [--smoke]
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

struct TeachingConvNet : cn::Sequential<
    cn::Input<1, 28, 28>,
    cn::Conv2d<16, 5>, cn::ReLU,       // 1 -> 16 channels, 28x28 -> 24x24
    cn::Conv2d<32, 5>, cn::ReLU,       // 16 -> 32 channels, 24x24 -> 20x20
    cn::Flatten,                       // 32*20*20 = 12800
    cn::Linear<10>, cn::Softmax> {};

static_assert(TeachingConvNet::layer_output_shape<2> == cn::Shape<32, 20, 20>{});
static_assert(TeachingConvNet::layer_output_shape<4> == cn::Shape<12'800>{});
static_assert(TeachingConvNet::output_shape == cn::Shape<10>{});
static_assert(TeachingConvNet::parameter_count == (16 * 25 + 16) + (32 * 16 * 25 + 32) +
                                                      (10 * 12'800 + 10));

namespace {

// A fixed 32-bit LCG (Numerical Recipes constants): the same numbers everywhere.
struct Lcg {
  std::uint32_t state;
  float next() {  // uniform in [-1, 1)
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

}  // namespace

int main(int argc, char** argv) {
  const bool smoke = argc > 1 && std::string_view(argv[1]) == "--smoke";

  cn::print_summary<TeachingConvNet>(std::cout, "TeachingConvNet");

  auto net = std::make_unique<TeachingConvNet>();
  init_parameters(*net, 7);
  // A diagonal bar: pixel value falls off with the distance from the diagonal.
  cn::Tensor<TeachingConvNet::input_shape_t> x;
  for (std::size_t r = 0; r < 28; ++r)
    for (std::size_t c = 0; c < 28; ++c)
      x(0, r, c) = std::exp(-std::abs(static_cast<float>(r) - static_cast<float>(c)) / 2.0f);

  const auto p = net->forward(x);
  float total = 0;
  std::cout << "\nclass probabilities for a diagonal bar:";
  for (std::size_t i = 0; i < p.size(); ++i) {
    std::printf(" %.5f", static_cast<double>(p[i]));
    total += p[i];
  }
  std::printf("\nsum: %.6f\n", static_cast<double>(total));

  if (!smoke) {
    constexpr std::size_t batch = 32;
    auto xs = std::make_unique<cn::Tensor<cn::Shape<batch, 1, 28, 28>>>();
    for (std::size_t n = 0; n < batch; ++n)
      std::copy(x.begin(), x.end(), xs->begin() + n * x.size());
    std::size_t samples = 0;
    double seconds = 0;
    float sink = 0;
    const auto start = std::chrono::steady_clock::now();
    while (seconds < 1.0) {
      sink += net->forward(*xs)[0];
      samples += batch;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf("inference, batch %zu: %.0f samples/s (%.2f GFLOP/s; checksum %g)\n", batch,
                static_cast<double>(samples) / seconds,
                2.0 * TeachingConvNet::macs * static_cast<double>(samples) / seconds * 1e-9,
                static_cast<double>(sink));
  }
  return 0;
}
