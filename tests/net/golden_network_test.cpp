// Whole networks against PyTorch: LeNet-5 (exactly as in DESIGN.md) on four
// Fashion-MNIST test images, and tiny_net, a small network that mixes strided
// dilated convolution, LeakyReLU, ceil-mode average pooling, reflect padding,
// Tanh, padded max pooling, Linear and Sigmoid (tests/golden/README.md).
//
// Weights are loaded the way a user would: walking net.for_each_parameter and
// reading the state_dict name "<layer index>.<weight|bias>" (ctcnn's layer
// indices are the positions in nn.Sequential, activations included).
//
// Tolerance: |ctcnn - PyTorch| <= 1e-5 for the network outputs (logits of order
// 1), and <= 1e-5 + 1e-4 * |PyTorch| for the input and parameter gradients.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "ctcnn/ctcnn.hpp"
#include "support/golden.hpp"

namespace cn = ctcnn;
namespace ct = ctcnn::test;

namespace {

struct LeNet5 : cn::Sequential<
    cn::Input<1, 28, 28>,
    cn::Conv2d<6, 5, cn::Padding<2>>, cn::ReLU, cn::MaxPool2d<2>,
    cn::Conv2d<16, 5>,                cn::ReLU, cn::MaxPool2d<2>,
    cn::Flatten,
    cn::Linear<120>, cn::ReLU,
    cn::Linear<84>,  cn::ReLU,
    cn::Linear<10>> {};

// PyTorch: Sequential(Conv2d(2,4,3,stride=2,padding=1,dilation=2), LeakyReLU(0.01),
// AvgPool2d(2,ceil_mode=True), Conv2d(4,3,(2,3),padding=(1,1),padding_mode='reflect'),
// Tanh, MaxPool2d(2,padding=1), Flatten, Linear(18,5), Sigmoid)
struct TinyNet : cn::Sequential<
    cn::Input<2, 13, 11>,
    cn::Conv2d<4, 3, cn::Stride<2>, cn::Padding<1>, cn::Dilation<2>>, cn::LeakyReLU<>,
    cn::AvgPool2d<2, cn::CeilMode>,
    cn::Conv2d<3, cn::Kernel{2, 3}, cn::Padding<1>, cn::PadMode<cn::Reflect>>, cn::Tanh,
    cn::MaxPool2d<2, cn::Padding<1>>,
    cn::Flatten, cn::Linear<5>, cn::Sigmoid> {};

// The metadata's linear_in_features; checked against the file below as well.
static_assert(TinyNet::layer_t<7>::in_features == 18,
              "tiny_net: ctcnn must infer Linear's in-features as PyTorch's Linear(18, 5)");

std::vector<std::size_t> spec_dims(const cn::ParameterSpec& spec) {
  return std::vector<std::size_t>(spec.dims.begin(), spec.dims.begin() + spec.rank);
}

// Fills every parameter from "<layer>.<name>" and checks that the file holds no
// other tensor besides `non_parameters` and gradients "grad.*" (a misnumbered
// layer would otherwise leave PyTorch's tensor unused and ctcnn's at zero).
template <class Net>
void load_state_dict(Net& net, const ct::Golden& g, std::set<std::string> non_parameters) {
  std::set<std::string> used;
  net.for_each_parameter(
      [&](std::size_t layer, const cn::ParameterSpec& spec, float* values, float*) {
        const std::string name = std::to_string(layer) + "." + std::string(spec.name);
        const std::vector<float> v = g.tensor(name, spec_dims(spec));
        std::copy(v.begin(), v.end(), values);
        used.insert(name);
      });
  for (const auto& t : g.file().tensors()) {
    INFO(g.name() << ": tensor '" << t.name << "' is not a parameter of the ctcnn network");
    CHECK((used.count(t.name) == 1 || non_parameters.count(t.name) == 1 ||
           t.name.rfind("grad.", 0) == 0));
  }
}

// Compares every parameter gradient with "grad.<layer>.<name>".
template <class Net>
void check_parameter_gradients(Net& net, const ct::Golden& g) {
  std::size_t grads_in_file = 0;
  for (const auto& t : g.file().tensors()) grads_in_file += t.name.rfind("grad.", 0) == 0;
  std::size_t compared = 0;
  net.for_each_parameter(
      [&](std::size_t layer, const cn::ParameterSpec& spec, float*, float* grads) {
        const std::string name = "grad." + std::to_string(layer) + "." + std::string(spec.name);
        ct::check_close(name, std::span<const float>(grads, spec.size()),
                        g.tensor(name, spec_dims(spec)));
        ++compared;
      });
  CHECK(compared == grads_in_file);
}

// Forward the golden batch, compare y; backward dy, compare dx and every grad.*.
template <std::size_t N, class Net>
void check_network(Net& net, const ct::Golden& g) {
  using In = cn::batched_t<N, typename Net::input_shape_t>;
  using Out = cn::batched_t<N, typename Net::output_shape_t>;
  auto x = std::make_unique<cn::Tensor<In>>();
  g.load("x", *x);
  const std::vector<float> y_expected = g.tensor<Out>("y");

  constexpr ct::Tolerance output_tolerance{1e-5, 0.0};
  auto ws = cn::make_workspace<N>(net);
  ct::check_close("y", ct::values(net.forward(*x, *ws)), y_expected, output_tolerance);
  ct::check_close("y (inference forward)", ct::values(net.forward(*x)), y_expected,
                  output_tolerance);

  cn::Tensor<Out> dy;
  g.load("dy", dy);
  net.zero_grad();
  net.backward(*ws, dy, cn::InputGradient::compute);
  ct::check_close("dx", ct::values(ws->input_grad()), g.tensor<In>("dx"));
  check_parameter_gradients(net, g);
}

template <class Net, std::size_t... I>
std::vector<std::vector<std::size_t>> output_shapes(std::index_sequence<I...>) {
  return {ct::dims_of<typename Net::template layer_t<I>::output_shape>()...};
}

}  // namespace

TEST_CASE("golden lenet5: LeNet-5 on four Fashion-MNIST images, forward and backward",
          "[golden][network][lenet5]") {
  auto net = std::make_unique<LeNet5>();
  const ct::Golden weights("lenet5_weights");
  CHECK(weights.meta_sizes("parameter_count") ==
        std::vector<std::size_t>{LeNet5::parameter_count});
  load_state_dict(*net, weights, {});

  const ct::Golden io("lenet5_io");
  CHECK(io.meta("weights") == "lenet5_weights.safetensors");
  check_network<4>(*net, io);
}

TEST_CASE("golden tiny_net: a mixed network, forward and backward",
          "[golden][network][tiny_net]") {
  const ct::Golden g("tiny_net");
  CHECK(g.meta_sizes("linear_in_features") ==
        std::vector<std::size_t>{TinyNet::layer_t<7>::in_features});
  // Every layer's per-sample output shape, as PyTorch printed it.
  const auto pytorch_shapes = nlohmann::json::parse(g.meta("per_sample_output_shapes"))
                                  .get<std::vector<std::vector<std::size_t>>>();
  CHECK(pytorch_shapes ==
        output_shapes<TinyNet>(std::make_index_sequence<TinyNet::layer_count>{}));

  auto net = std::make_unique<TinyNet>();
  load_state_dict(*net, g, {"x", "y", "dy", "dx"});
  check_network<3>(*net, g);
}
