// Every single-layer PyTorch golden case (tests/golden/README.md) against the
// matching one-layer network: forward output, the gradient w.r.t. the input and
// the parameter gradients of loss = (y * dy).sum().
//
// Tolerance, everywhere: |ctcnn - PyTorch| <= 1e-5 + 1e-4 * |PyTorch|. Both sides
// compute in float32 but sum in different orders, so bit equality is not expected.
//
// Each case also compares the file's metadata (kernel, stride, padding, ...) with
// the geometry the test's network type computed, so a test that instantiates
// something other than what PyTorch ran fails loudly instead of passing on a
// coincidence.
#include <catch2/catch.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctcnn/ctcnn.hpp"
#include "support/golden.hpp"

namespace cn = ctcnn;
namespace ct = ctcnn::test;

namespace {

// Tensor names of one case; the activation and softmax files hold several cases.
struct Names {
  std::string_view x = "x", dy = "dy", y = "y", dx = "dx";
};

template <class Spec, std::size_t... InDims>
using OneLayer = cn::Sequential<cn::Input<InDims...>, Spec>;

// Loads the parameters, runs forward (with a workspace and as inference) and
// backward for the golden batch of N, and compares everything the file holds.
template <std::size_t N, class Net>
void check_forward_backward(const ct::Golden& g, Names names = {}) {
  using In = typename Net::input_shape_t;
  using Out = typename Net::output_shape_t;
  using L = typename Net::template layer_t<0>;
  constexpr bool has_weight = requires { typename L::weight_shape; };

  auto net = std::make_unique<Net>();
  if constexpr (has_weight) {
    g.load("weight", net->template weight<0>());
    if constexpr (L::has_bias) {
      g.load("bias", net->template bias<0>());
    } else {
      INFO(g.name() << " holds a bias but the layer has none");
      CHECK_FALSE(g.has("bias"));
    }
  } else {
    INFO(g.name() << " holds a weight but the layer has none");
    CHECK_FALSE(g.has("weight"));
  }

  auto x = std::make_unique<cn::Tensor<cn::batched_t<N, In>>>();
  g.load(names.x, *x);
  const std::vector<float> y_expected = g.tensor<cn::batched_t<N, Out>>(names.y);

  auto ws = cn::make_workspace<N>(*net);
  ct::check_close("y", ct::values(net->forward(*x, *ws)), y_expected);
  ct::check_close("y (inference forward)", ct::values(net->forward(*x)), y_expected);

  auto dy = std::make_unique<cn::Tensor<cn::batched_t<N, Out>>>();
  g.load(names.dy, *dy);
  net->backward(*ws, *dy, cn::InputGradient::compute);
  ct::check_close("dx", ct::values(ws->input_grad()), g.tensor<cn::batched_t<N, In>>(names.dx));
  if constexpr (has_weight) {
    ct::check_close("dweight", ct::values(net->template weight_grad<0>()),
                    g.tensor<typename L::weight_shape>("dweight"));
    if constexpr (L::has_bias) {
      ct::check_close("dbias", ct::values(net->template bias_grad<0>()),
                      g.tensor<typename L::bias_shape>("dbias"));
    }
  }
}

using Sizes = std::vector<std::size_t>;

std::string pad_mode_name(cn::PadKind kind) {
  switch (kind) {
    case cn::PadKind::zeros: return "zeros";
    case cn::PadKind::reflect: return "reflect";
    case cn::PadKind::replicate: return "replicate";
    case cn::PadKind::circular: return "circular";
  }
  return "?";
}

// The file's Conv2d settings against the geometry ctcnn bound.
template <class Spec, class Layer>
void check_conv_metadata(const ct::Golden& g) {
  constexpr cn::ConvGeometry G = Layer::geometry;
  INFO(g.name() << " metadata vs " << Layer::describe());
  CHECK(g.meta("layer") == "Conv2d");
  CHECK(g.meta_sizes("in_channels") == Sizes{G.in_c});
  CHECK(g.meta_sizes("out_channels") == Sizes{G.out_c});
  CHECK(g.meta_sizes("kernel") == Sizes{G.kernel_h, G.kernel_w});
  CHECK(g.meta_sizes("stride") == Sizes{G.stride_h, G.stride_w});
  CHECK(g.meta_sizes("dilation") == Sizes{G.dilation_h, G.dilation_w});
  CHECK(g.meta("groups") == "1");
  CHECK(g.meta("padding_mode") == pad_mode_name(G.pad_kind));
  CHECK(g.meta("bias") == (G.bias ? "true" : "false"));
  if (g.meta("padding") == "same") {
    CHECK(Spec::padding::same);
    CHECK(g.meta_sizes("same_pad_top_bottom_left_right") ==
          Sizes{G.pad_top, G.pad_bottom, G.pad_left, G.pad_right});
  } else {
    CHECK_FALSE(Spec::padding::same);
    CHECK(G.pad_top == G.pad_bottom);
    CHECK(G.pad_left == G.pad_right);
    CHECK(g.meta_sizes("padding") == Sizes{G.pad_top, G.pad_left});
  }
}

template <class Spec, std::size_t N, std::size_t... InDims>
void conv_case(std::string_view stem) {
  using Net = OneLayer<Spec, InDims...>;
  const ct::Golden g(stem);
  check_conv_metadata<Spec, typename Net::template layer_t<0>>(g);
  check_forward_backward<N, Net>(g);
}

// The file's pooling settings against the spec and the bound geometry.
template <class Spec, class Layer, bool Max>
void check_pool_metadata(const ct::Golden& g) {
  constexpr cn::PoolGeometry G = Layer::geometry;
  INFO(g.name() << " metadata vs " << Layer::describe());
  CHECK(g.meta("layer") == (Max ? "MaxPool2d" : "AvgPool2d"));
  CHECK(g.meta_sizes("kernel") == Sizes{G.kernel_h, G.kernel_w});
  CHECK(g.meta_sizes("stride") == Sizes{G.stride_h, G.stride_w});
  CHECK(g.meta_sizes("padding") == Sizes{G.pad_h, G.pad_w});
  CHECK(g.meta("ceil_mode") == (Spec::ceil_mode ? "true" : "false"));
  if constexpr (Max) {
    CHECK(g.meta_sizes("dilation") == Sizes{G.dilation_h, G.dilation_w});
  } else {
    CHECK(g.meta("count_include_pad") == (G.count_include_pad ? "true" : "false"));
    CHECK(g.meta("divisor_override") == "None");
  }
}

template <class Spec, bool Max, std::size_t N, std::size_t... InDims>
void pool_case(std::string_view stem) {
  using Net = OneLayer<Spec, InDims...>;
  const ct::Golden g(stem);
  check_pool_metadata<Spec, typename Net::template layer_t<0>, Max>(g);
  check_forward_backward<N, Net>(g);
}

}  // namespace

// ---- Conv2d ----------------------------------------------------------------------

TEST_CASE("golden conv_s2_p1_d2: Conv2d stride 2, padding 1, dilation 2", "[golden][conv2d]") {
  conv_case<cn::Conv2d<4, 3, cn::Stride<2>, cn::Padding<1>, cn::Dilation<2>>, 2, 3, 9, 11>(
      "conv_s2_p1_d2");
}

TEST_CASE("golden conv_rect: Conv2d with a rectangular kernel, stride, padding, dilation",
          "[golden][conv2d]") {
  conv_case<cn::Conv2d<3, cn::Kernel{2, 4}, cn::Stride<2, 1>, cn::Padding<1, 2>,
                       cn::Dilation<1, 2>>,
            2, 2, 7, 10>("conv_rect");
}

TEST_CASE("golden conv_pad_zeros: Conv2d padding (2,1), zeros", "[golden][conv2d][padding]") {
  conv_case<cn::Conv2d<3, 3, cn::Padding<2, 1>, cn::PadMode<cn::Zeros>>, 2, 2, 6, 5>(
      "conv_pad_zeros");
}

TEST_CASE("golden conv_pad_reflect: Conv2d padding (2,1), reflect", "[golden][conv2d][padding]") {
  conv_case<cn::Conv2d<3, 3, cn::Padding<2, 1>, cn::PadMode<cn::Reflect>>, 2, 2, 6, 5>(
      "conv_pad_reflect");
}

TEST_CASE("golden conv_pad_replicate: Conv2d padding (2,1), replicate",
          "[golden][conv2d][padding]") {
  conv_case<cn::Conv2d<3, 3, cn::Padding<2, 1>, cn::PadMode<cn::Replicate>>, 2, 2, 6, 5>(
      "conv_pad_replicate");
}

TEST_CASE("golden conv_pad_circular: Conv2d padding (2,1), circular",
          "[golden][conv2d][padding]") {
  conv_case<cn::Conv2d<3, 3, cn::Padding<2, 1>, cn::PadMode<cn::Circular>>, 2, 2, 6, 5>(
      "conv_pad_circular");
}

TEST_CASE("golden conv_same_even: Conv2d Same with an even kernel, no bias",
          "[golden][conv2d][same]") {
  conv_case<cn::Conv2d<3, 4, cn::Same, cn::NoBias>, 1, 2, 7, 6>("conv_same_even");
}

TEST_CASE("golden conv_same_dil: Conv2d Same with kernel (3,2) and dilation 2",
          "[golden][conv2d][same]") {
  conv_case<cn::Conv2d<2, cn::Kernel{3, 2}, cn::Same, cn::Dilation<2>>, 1, 2, 8, 9>(
      "conv_same_dil");
}

// ---- pooling ----------------------------------------------------------------------

TEST_CASE("golden maxpool_p1_ceil: MaxPool2d 3, stride 2, padding 1, ceil mode",
          "[golden][pool][maxpool]") {
  pool_case<cn::MaxPool2d<3, cn::Stride<2>, cn::Padding<1>, cn::CeilMode>, true, 2, 3, 10, 9>(
      "maxpool_p1_ceil");
}

TEST_CASE("golden maxpool_dil2: MaxPool2d 2, stride 1, padding 1, dilation 2",
          "[golden][pool][maxpool]") {
  pool_case<cn::MaxPool2d<2, cn::Stride<1>, cn::Padding<1>, cn::Dilation<2>>, true, 1, 2, 7, 8>(
      "maxpool_dil2");
}

TEST_CASE("golden maxpool_default: MaxPool2d 2 on an odd height", "[golden][pool][maxpool]") {
  pool_case<cn::MaxPool2d<2>, true, 2, 2, 9, 8>("maxpool_default");
}

TEST_CASE("golden avgpool_p1_ceil: AvgPool2d 3, stride 2, padding 1, ceil mode",
          "[golden][pool][avgpool]") {
  pool_case<cn::AvgPool2d<3, cn::Stride<2>, cn::Padding<1>, cn::CeilMode>, false, 2, 3, 10, 9>(
      "avgpool_p1_ceil");
}

TEST_CASE("golden avgpool_p1_ceil_exclude: AvgPool2d as above, padding excluded",
          "[golden][pool][avgpool]") {
  pool_case<cn::AvgPool2d<3, cn::Stride<2>, cn::Padding<1>, cn::CeilMode, cn::ExcludePad>, false,
            2, 3, 10, 9>("avgpool_p1_ceil_exclude");
}

TEST_CASE("golden avgpool_k2s1: AvgPool2d kernel (2,3), stride (1,2)",
          "[golden][pool][avgpool]") {
  pool_case<cn::AvgPool2d<cn::Kernel{2, 3}, cn::Stride<1, 2>>, false, 1, 2, 6, 7>(
      "avgpool_k2s1");
}

// ---- activations, softmax, linear ---------------------------------------------------

TEST_CASE("golden activations: ReLU, LeakyReLU (0.01 and 0.2), Sigmoid, Tanh",
          "[golden][activation]") {
  const ct::Golden g("activations");
  CHECK(g.meta("layers") == "relu,leaky_relu,leaky_relu_02,sigmoid,tanh");
  // LeakyReLU's slope is a ratio Num/Den; the file states PyTorch's negative_slope.
  CHECK(std::stod(g.meta("leaky_relu.negative_slope")) == Approx(1.0 / 100).epsilon(1e-12));
  CHECK(std::stod(g.meta("leaky_relu_02.negative_slope")) == Approx(1.0 / 5).epsilon(1e-12));
  SECTION("ReLU") {
    check_forward_backward<2, OneLayer<cn::ReLU, 3, 4, 5>>(g, {"x", "dy", "relu.y", "relu.dx"});
  }
  SECTION("LeakyReLU<> (slope 0.01)") {
    check_forward_backward<2, OneLayer<cn::LeakyReLU<>, 3, 4, 5>>(
        g, {"x", "dy", "leaky_relu.y", "leaky_relu.dx"});
  }
  SECTION("LeakyReLU<1, 5> (slope 0.2)") {
    check_forward_backward<2, OneLayer<cn::LeakyReLU<1, 5>, 3, 4, 5>>(
        g, {"x", "dy", "leaky_relu_02.y", "leaky_relu_02.dx"});
  }
  SECTION("Sigmoid") {
    check_forward_backward<2, OneLayer<cn::Sigmoid, 3, 4, 5>>(
        g, {"x", "dy", "sigmoid.y", "sigmoid.dx"});
  }
  SECTION("Tanh") {
    check_forward_backward<2, OneLayer<cn::Tanh, 3, 4, 5>>(g, {"x", "dy", "tanh.y", "tanh.dx"});
  }
}

TEST_CASE("golden softmax: Softmax and LogSoftmax over features and over channels",
          "[golden][softmax]") {
  const ct::Golden g("softmax");
  // dim=1 of a PyTorch batch is the first axis of one ctcnn sample.
  CHECK(g.meta("softmax.dim") == "1");
  CHECK(g.meta("log_softmax.dim") == "1");
  CHECK(g.meta("softmax4.dim") == "1");
  SECTION("Softmax on Input<10>") {
    check_forward_backward<3, OneLayer<cn::Softmax, 10>>(
        g, {"x", "dy", "softmax.y", "softmax.dx"});
  }
  SECTION("LogSoftmax on Input<10>") {
    check_forward_backward<3, OneLayer<cn::LogSoftmax, 10>>(
        g, {"x", "dy", "log_softmax.y", "log_softmax.dx"});
  }
  SECTION("Softmax on Input<3, 2, 2> (over channels)") {
    check_forward_backward<2, OneLayer<cn::Softmax, 3, 2, 2>>(
        g, {"x4", "dy4", "softmax4.y", "softmax4.dx"});
  }
}

TEST_CASE("golden linear: Linear<5> on Input<7>", "[golden][linear]") {
  using Net = OneLayer<cn::Linear<5>, 7>;
  using L = Net::layer_t<0>;
  const ct::Golden g("linear");
  CHECK(g.meta("layer") == "Linear");
  CHECK(g.meta_sizes("in_features") == Sizes{L::in_features});
  CHECK(g.meta_sizes("out_features") == Sizes{L::out_features});
  CHECK(g.meta("bias") == (L::has_bias ? "true" : "false"));
  check_forward_backward<3, Net>(g);
}

// ---- the comparison can fail ----------------------------------------------------------

// The goldens must tell neighbouring behaviours apart, or passing them proves
// little: a convolution with the wrong padding mode, or an average pool with the
// wrong divisor, must be out of tolerance on the same data.
TEST_CASE("golden data tells padding modes and pool divisors apart", "[golden][meta]") {
  SECTION("zero padding does not reproduce reflect, replicate or circular") {
    using Net = OneLayer<cn::Conv2d<3, 3, cn::Padding<2, 1>>, 2, 6, 5>;
    for (const char* stem : {"conv_pad_reflect", "conv_pad_replicate", "conv_pad_circular"}) {
      INFO(stem);
      const ct::Golden g(stem);
      auto net = std::make_unique<Net>();
      g.load("weight", net->weight<0>());
      g.load("bias", net->bias<0>());
      cn::Tensor<cn::Shape<2, 2, 6, 5>> x;
      g.load("x", x);
      const auto y = net->forward(x);
      CHECK_FALSE(ct::compare(ct::values(y), g.tensor<cn::Shape<2, 3, 8, 5>>("y")).ok());
    }
  }
  SECTION("counting padding does not reproduce count_include_pad=False") {
    using Net = OneLayer<cn::AvgPool2d<3, cn::Stride<2>, cn::Padding<1>, cn::CeilMode>, 3, 10, 9>;
    const ct::Golden g("avgpool_p1_ceil_exclude");
    cn::Tensor<cn::Shape<2, 3, 10, 9>> x;
    g.load("x", x);
    const auto y = Net{}.forward(x);
    CHECK_FALSE(ct::compare(ct::values(y), g.tensor<cn::Shape<2, 3, 6, 5>>("y")).ok());
  }
  SECTION("one value moved by 1e-3 is out of tolerance") {
    const ct::Golden g("linear");
    const auto y = g.tensor<cn::Shape<3, 5>>("y");
    auto moved = y;
    moved[7] += 1e-3f;
    CHECK(ct::compare(y, y).ok());
    const ct::Comparison c = ct::compare(moved, y);
    CHECK_FALSE(c.ok());
    CHECK(c.mismatches == 1);
    CHECK(c.first_bad == 7);
  }
}
