// An all-convolutional classifier: five stride-2 3x3 convolutions halve the
// image each time (28 -> 14 -> 7 -> 4 -> 2 -> 1) while the channels grow
// (1 -> 4 -> 8 -> 16 -> 32 -> 10); the last one leaves one pixel per class, and
// Flatten turns it into 10 logits. No pooling, no dense layer. Prints the
// summary, then the logits for a deterministic input (fixed pseudo-random
// weights), then runs one training-style forward and backward pass through a
// workspace and prints the gradient norm.
//
//   simple_cnn [--smoke]
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

template <std::size_t Out>
using Down = cn::Conv2d<Out, 3, cn::Stride<2>, cn::Padding<1>>;  // out = floor((in - 1) / 2) + 1

struct SimpleCnn : cn::Sequential<
    cn::Input<1, 28, 28>,
    Down<4>,  cn::ReLU,
    Down<8>,  cn::ReLU,
    Down<16>, cn::ReLU,
    Down<32>, cn::ReLU,
    Down<10>,
    cn::Flatten> {};

static_assert(SimpleCnn::layer_output_shape<0> == cn::Shape<4, 14, 14>{});
static_assert(SimpleCnn::layer_output_shape<2> == cn::Shape<8, 7, 7>{});
static_assert(SimpleCnn::layer_output_shape<4> == cn::Shape<16, 4, 4>{});
static_assert(SimpleCnn::layer_output_shape<6> == cn::Shape<32, 2, 2>{});
static_assert(SimpleCnn::layer_output_shape<8> == cn::Shape<10, 1, 1>{});
static_assert(SimpleCnn::output_shape == cn::Shape<10>{});

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

  cn::print_summary<SimpleCnn>(std::cout, "SimpleCnn");

  SimpleCnn net;
  init_parameters(net, 2024);
  // A checkerboard of 4x4 squares.
  cn::Tensor<SimpleCnn::input_shape_t> x;
  for (std::size_t r = 0; r < 28; ++r)
    for (std::size_t c = 0; c < 28; ++c) x(0, r, c) = ((r / 4 + c / 4) % 2) ? 1.0f : 0.0f;

  const auto y = net.forward(x);
  std::cout << "\nlogits for a checkerboard:";
  for (std::size_t i = 0; i < y.size(); ++i) std::printf(" %.5f", static_cast<double>(y[i]));
  std::cout << '\n';

  // One forward and backward pass with the gradient of 0.5*|y|^2 (dy = y), the
  // way a training loop drives the network.
  constexpr std::size_t batch = 8;
  auto ws = cn::make_workspace<batch>(net);
  for (std::size_t n = 0; n < batch; ++n)
    std::copy(x.begin(), x.end(), ws->input().begin() + n * x.size());
  const auto& out = net.forward(*ws);
  cn::Tensor<cn::Shape<batch, 10>> dy;
  std::copy(out.begin(), out.end(), dy.begin());
  net.zero_grad();
  net.backward(*ws, dy);
  double norm = 0;
  for (float g : net.gradients()) norm += static_cast<double>(g) * g;
  std::printf("gradient norm of 0.5*|y|^2 over a batch of %zu: %.6f\n", batch, std::sqrt(norm));

  if (!smoke) {
    std::size_t steps = 0;
    double seconds = 0;
    const auto start = std::chrono::steady_clock::now();
    while (seconds < 1.0) {
      net.forward(*ws);
      net.backward(*ws, dy);
      ++steps;
      seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf("forward+backward, batch %zu: %.0f samples/s\n", batch,
                static_cast<double>(steps * batch) / seconds);
  }
  return 0;
}
