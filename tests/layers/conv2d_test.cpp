// Conv2d edge cases against the reference loops (forward) and against the
// reference backward plus finite differences (backward). Tolerances: see
// tests/reference/check.hpp (1e-5 relative vs the reference, 2e-3 vs finite
// differences). Random configurations are in conv2d_random_test.cpp.
#include <catch2/catch.hpp>

#include "ctcnn/core/tensor.hpp"
#include "ctcnn/net/sequential.hpp"
#include "reference/conv2d_check.hpp"

namespace {

using conv_test::Case;
using conv_test::dilate;
using conv_test::mode;
using conv_test::no_bias;
using conv_test::pad;
using conv_test::spec;
using conv_test::stride;
using conv_test::backward;
using conv_test::forward;
using conv_test::list;
using ref::ConvSpec;
using ref::PadMode;
namespace cn = ctcnn;

// The dilated kernel exactly covers the padded input: one output per axis.
using FitCases = std::tuple<
    Case<cn::Conv2d<2, 5, cn::Padding<1>>, pad(spec(2, 3, 3, 2, 5, 5), 1, 1, 1, 1)>,
    Case<cn::Conv2d<3, cn::Kernel{4, 7}, cn::Padding<1, 2>>, pad(spec(1, 2, 3, 3, 4, 7), 1, 1, 2, 2)>,
    Case<cn::Conv2d<2, cn::Kernel{3, 5}, cn::Valid>, spec(3, 3, 5, 2, 3, 5)>,
    Case<cn::Conv2d<2, 3, cn::Dilation<2>, cn::Padding<1>>, dilate(pad(spec(1, 3, 3, 2, 3, 3), 1, 1, 1, 1), 2, 2)>>;

// Stride larger than the kernel: inputs between windows are never read.
using StrideCases = std::tuple<
    Case<cn::Conv2d<2, 2, cn::Stride<3>>, stride(spec(3, 8, 7, 2, 2, 2), 3, 3)>,
    Case<cn::Conv2d<2, 1, cn::Stride<4, 3>>, stride(spec(2, 9, 10, 2, 1, 1), 4, 3)>,
    Case<cn::Conv2d<1, 2, cn::Stride<5>, cn::Padding<1>>, pad(stride(spec(2, 6, 6, 1, 2, 2), 5, 5), 1, 1, 1, 1)>,
    Case<cn::Conv2d<3, 3, cn::Stride<2>, cn::Padding<1>>, pad(stride(spec(2, 7, 6, 3, 3, 3), 2, 2), 1, 1, 1, 1)>>;

// Dilation, rectangular kernels, strides and dilations, odd and non-square inputs.
using ShapeCases = std::tuple<
    Case<cn::Conv2d<4, 3, cn::Stride<2>, cn::Padding<1>, cn::Dilation<2>>,
         dilate(pad(stride(spec(3, 9, 7, 4, 3, 3), 2, 2), 1, 1, 1, 1), 2, 2)>,
    Case<cn::Conv2d<3, cn::Kernel{2, 4}, cn::Stride<2, 1>, cn::Padding<1, 2>, cn::Dilation<1, 2>>,
         dilate(pad(stride(spec(2, 6, 7, 3, 2, 4), 2, 1), 1, 1, 2, 2), 1, 2)>,
    Case<cn::Conv2d<2, 3, cn::Dilation<3, 2>>, dilate(spec(2, 11, 8, 2, 3, 3), 3, 2)>,
    Case<cn::Conv2d<2, cn::Kernel{5, 1}>, spec(3, 7, 4, 2, 5, 1)>,
    Case<cn::Conv2d<3, cn::Kernel{1, 3}, cn::Stride<1, 2>>, stride(spec(2, 5, 9, 3, 1, 3), 1, 2)>,
    Case<cn::Conv2d<6, 5, cn::Padding<2>>, pad(spec(1, 13, 11, 6, 5, 5), 2, 2, 2, 2)>,
    Case<cn::Conv2d<5, 3, cn::InChannels<4>>, spec(4, 5, 9, 5, 3, 3)>>;

// padding='same': PyTorch pads dilation*(kernel-1) in total, the odd element after.
using SameCases = std::tuple<
    Case<cn::Conv2d<3, 3, cn::Same>, pad(spec(2, 7, 6, 3, 3, 3), 1, 1, 1, 1)>,
    Case<cn::Conv2d<2, 5, cn::Same>, pad(spec(1, 6, 5, 2, 5, 5), 2, 2, 2, 2)>,
    Case<cn::Conv2d<3, 4, cn::Same, cn::NoBias>, no_bias(pad(spec(2, 6, 5, 3, 4, 4), 1, 2, 1, 2))>,
    Case<cn::Conv2d<2, 2, cn::Same>, pad(spec(2, 5, 4, 2, 2, 2), 0, 1, 0, 1)>,
    Case<cn::Conv2d<3, cn::Kernel{2, 4}, cn::Same>, pad(spec(2, 5, 6, 3, 2, 4), 0, 1, 1, 2)>,
    Case<cn::Conv2d<2, cn::Kernel{3, 2}, cn::Same, cn::Dilation<2>>,
         dilate(pad(spec(2, 7, 6, 2, 3, 2), 2, 2, 1, 1), 2, 2)>,
    Case<cn::Conv2d<2, 4, cn::Same, cn::Dilation<1, 3>>,
         dilate(pad(spec(1, 6, 11, 2, 4, 4), 1, 2, 4, 5), 1, 3)>,
    Case<cn::Conv2d<2, 4, cn::Same, cn::PadMode<cn::Reflect>>,
         mode(pad(spec(2, 5, 6, 2, 4, 4), 1, 2, 1, 2), PadMode::reflect)>,
    Case<cn::Conv2d<2, cn::Kernel{3, 4}, cn::Same, cn::PadMode<cn::Circular>>,
         mode(pad(spec(1, 4, 3, 2, 3, 4), 1, 1, 1, 2), PadMode::circular)>,
    Case<cn::Conv2d<2, 3, cn::Same>, pad(spec(3, 1, 1, 2, 3, 3), 1, 1, 1, 1)>>;

// Valid and NoBias.
using PlainCases = std::tuple<
    Case<cn::Conv2d<4, 3, cn::Valid>, spec(2, 6, 5, 4, 3, 3)>,
    Case<cn::Conv2d<4, 3, cn::NoBias>, no_bias(spec(2, 6, 5, 4, 3, 3))>,
    Case<cn::Conv2d<3, cn::Kernel{2, 3}, cn::NoBias, cn::Stride<2>, cn::Padding<1>>,
         no_bias(pad(stride(spec(2, 5, 7, 3, 2, 3), 2, 2), 1, 1, 1, 1))>>;

// Every padding mode, and each at the largest padding PyTorch allows:
// reflect pad == in - 1, circular pad == in, replicate any pad.
using PadModeCases = std::tuple<
    Case<cn::Conv2d<3, 3, cn::Padding<2, 1>>, pad(spec(2, 4, 5, 3, 3, 3), 2, 2, 1, 1)>,
    Case<cn::Conv2d<3, 3, cn::Padding<2, 1>, cn::PadMode<cn::Zeros>>, pad(spec(2, 4, 5, 3, 3, 3), 2, 2, 1, 1)>,
    Case<cn::Conv2d<3, 3, cn::Padding<2, 1>, cn::PadMode<cn::Reflect>>,
         mode(pad(spec(2, 4, 5, 3, 3, 3), 2, 2, 1, 1), PadMode::reflect)>,
    Case<cn::Conv2d<3, 3, cn::Padding<2, 1>, cn::PadMode<cn::Replicate>>,
         mode(pad(spec(2, 4, 5, 3, 3, 3), 2, 2, 1, 1), PadMode::replicate)>,
    Case<cn::Conv2d<3, 3, cn::Padding<2, 1>, cn::PadMode<cn::Circular>>,
         mode(pad(spec(2, 4, 5, 3, 3, 3), 2, 2, 1, 1), PadMode::circular)>,
    Case<cn::Conv2d<2, 3, cn::Padding<2, 3>, cn::PadMode<cn::Reflect>>,
         mode(pad(spec(2, 3, 4, 2, 3, 3), 2, 2, 3, 3), PadMode::reflect)>,
    Case<cn::Conv2d<2, 3, cn::Padding<3, 2>, cn::PadMode<cn::Circular>>,
         mode(pad(spec(2, 3, 2, 2, 3, 3), 3, 3, 2, 2), PadMode::circular)>,
    Case<cn::Conv2d<2, 2, cn::Padding<3>, cn::PadMode<cn::Replicate>>,
         mode(pad(spec(1, 2, 2, 2, 2, 2), 3, 3, 3, 3), PadMode::replicate)>,
    Case<cn::Conv2d<3, 3, cn::Padding<2>, cn::Stride<2>, cn::Dilation<2>, cn::PadMode<cn::Reflect>>,
         mode(dilate(pad(stride(spec(2, 7, 6, 3, 3, 3), 2, 2), 2, 2, 2, 2), 2, 2), PadMode::reflect)>,
    Case<cn::Conv2d<2, cn::Kernel{2, 3}, cn::Padding<1, 2>, cn::Stride<1, 2>, cn::PadMode<cn::Circular>>,
         mode(pad(stride(spec(2, 5, 4, 2, 2, 3), 1, 2), 1, 1, 2, 2), PadMode::circular)>,
    Case<cn::Conv2d<2, 3, cn::Padding<1>, cn::PadMode<cn::Replicate>, cn::NoBias>,
         no_bias(mode(pad(spec(3, 5, 5, 2, 3, 3), 1, 1, 1, 1), PadMode::replicate))>>;

// The smallest inputs: a 1x1 input with a 1x1 kernel, a single channel in and out.
using TinyCases = std::tuple<
    Case<cn::Conv2d<3, 1>, spec(2, 1, 1, 3, 1, 1)>,
    Case<cn::Conv2d<1, 1>, spec(1, 1, 1, 1, 1, 1)>,
    Case<cn::Conv2d<1, 1, cn::Padding<1>>, pad(spec(1, 1, 1, 1, 1, 1), 1, 1, 1, 1)>,
    Case<cn::Conv2d<1, 1, cn::Stride<2>>, stride(spec(1, 5, 4, 1, 1, 1), 2, 2)>>;

}  // namespace

TEST_CASE("conv2d forward: kernel == in + 2*pad", "[conv2d][forward]") { forward(list<FitCases>, 100); }
TEST_CASE("conv2d backward: kernel == in + 2*pad", "[conv2d][backward]") { backward(list<FitCases>, 150); }

TEST_CASE("conv2d forward: stride > kernel", "[conv2d][forward]") { forward(list<StrideCases>, 200); }
TEST_CASE("conv2d backward: stride > kernel", "[conv2d][backward]") { backward(list<StrideCases>, 250); }

TEST_CASE("conv2d forward: dilation, rectangular and odd shapes", "[conv2d][forward]") {
  forward(list<ShapeCases>, 300);
}
TEST_CASE("conv2d backward: dilation, rectangular and odd shapes", "[conv2d][backward]") {
  backward(list<ShapeCases>, 350);
}

TEST_CASE("conv2d forward: Same with odd and even kernels", "[conv2d][forward][same]") {
  forward(list<SameCases>, 400);
}
TEST_CASE("conv2d backward: Same with odd and even kernels", "[conv2d][backward][same]") {
  backward(list<SameCases>, 450);
}

TEST_CASE("conv2d forward: Valid and NoBias", "[conv2d][forward]") { forward(list<PlainCases>, 500); }
TEST_CASE("conv2d backward: Valid and NoBias", "[conv2d][backward]") { backward(list<PlainCases>, 550); }

TEST_CASE("conv2d forward: every padding mode", "[conv2d][forward][padmode]") {
  forward(list<PadModeCases>, 600);
}
TEST_CASE("conv2d backward: every padding mode", "[conv2d][backward][padmode]") {
  backward(list<PadModeCases>, 650);
}

TEST_CASE("conv2d forward: 1x1 inputs and kernels", "[conv2d][forward]") { forward(list<TinyCases>, 700); }
TEST_CASE("conv2d backward: 1x1 inputs and kernels", "[conv2d][backward]") { backward(list<TinyCases>, 750); }

// The reference's padding map itself, on cases small enough to derive by hand
// (PyTorch's F.pad on [0, 1, 2] with pad 2: reflect 2 1 | 0 1 2 | 1 0,
// replicate 0 0 | 0 1 2 | 2 2, circular 1 2 | 0 1 2 | 0 1).
TEST_CASE("reference pad_source follows PyTorch's padding modes", "[conv2d][reference]") {
  const long reflect[] = {2, 1, 0, 1, 2, 1, 0};
  const long replicate[] = {0, 0, 0, 1, 2, 2, 2};
  const long circular[] = {1, 2, 0, 1, 2, 0, 1};
  for (long i = -2; i <= 4; ++i) {
    CHECK(ref::pad_source(PadMode::reflect, i, 3) == reflect[i + 2]);
    CHECK(ref::pad_source(PadMode::replicate, i, 3) == replicate[i + 2]);
    CHECK(ref::pad_source(PadMode::circular, i, 3) == circular[i + 2]);
    CHECK(ref::pad_source(PadMode::zeros, i, 3) == (i >= 0 && i < 3 ? i : -1));
  }
  // Output sizes derived by hand from the formula in the PyTorch docs.
  STATIC_REQUIRE(ref::conv_out_size(28, 2, 2, 5, 1, 1) == 28);
  STATIC_REQUIRE(ref::conv_out_size(9, 1, 1, 3, 2, 2) == 4);   // (9+2-5)/2+1
  STATIC_REQUIRE(ref::conv_out_size(4, 0, 0, 5, 1, 1) == 0);   // does not fit
  STATIC_REQUIRE(ref::same_pad_before(4, 1) == 1);
  STATIC_REQUIRE(ref::same_pad_after(4, 1) == 2);
}

// A one-layer Sequential gives the same forward and gradients as the reference:
// the bound layer is wired into the network's parameter buffer as PyTorch lays it out.
TEST_CASE("conv2d in a one-layer Sequential matches the reference", "[conv2d][forward][backward][sequential]") {
  struct Net : cn::Sequential<cn::Input<2, 6, 5>, cn::Conv2d<3, 3, cn::Stride<2>, cn::Padding<1>,
                                                             cn::PadMode<cn::Reflect>>> {};
  constexpr ConvSpec s = mode(pad(stride(spec(2, 6, 5, 3, 3, 3), 2, 2), 1, 1, 1, 1), PadMode::reflect);
  constexpr std::size_t batch = 2;
  STATIC_REQUIRE(Net::output_shape == cn::Shape<3, s.out_h(), s.out_w()>{});

  std::mt19937 rng(800);
  Net net;
  const std::vector<float> p = conv_test::random_parameters(rng, s);
  std::copy(p.begin(), p.end(), net.parameters().begin());
  cn::Tensor<cn::Shape<batch, 2, 6, 5>> x;
  const std::vector<float> xv = ref::uniform(rng, x.size());
  std::copy(xv.begin(), xv.end(), x.begin());
  auto ws = cn::make_workspace<batch>(net);
  const auto& y = net.forward(x, *ws);
  ref::require_close(std::vector<float>(y.begin(), y.end()),
                     ref::conv2d_forward(s, xv, conv_test::weights_of(p, s), conv_test::bias_of(p, s), batch),
                     ref::forward_tolerance, "network y vs reference");

  cn::Tensor<cn::Shape<batch, 3, s.out_h(), s.out_w()>> dy;
  const std::vector<float> dyv = ref::uniform(rng, dy.size());
  std::copy(dyv.begin(), dyv.end(), dy.begin());
  net.zero_grad();
  net.backward(*ws, dy, cn::InputGradient::compute);
  const auto dx = ws->input_grad();
  ref::require_close(std::vector<float>(dx.begin(), dx.end()),
                     ref::conv2d_backward_data(s, conv_test::weights_of(p, s), dyv, batch),
                     ref::forward_tolerance, "network dx vs reference");
  const auto dw = net.weight_grad<0>();
  ref::require_close(std::vector<float>(dw.begin(), dw.end()), ref::conv2d_backward_weight(s, xv, dyv, batch),
                     ref::forward_tolerance, "network dweight vs reference");
  const auto db = net.bias_grad<0>();
  ref::require_close(std::vector<float>(db.begin(), db.end()), ref::conv2d_backward_bias(s, dyv, batch),
                     ref::forward_tolerance, "network dbias vs reference");
}
