// LayerFor<Spec, In>: the quiet check (each layer's accepts<In>) for every rule
// that tests/compile_fail/ proves loud, each next to the nearest accepted case,
// so that a rule that rejects too much fails here as surely as one that
// rejects too little.
#include <catch2/catch.hpp>

#include "ctcnn/core/layer.hpp"
#include "ctcnn/core/options.hpp"
#include "ctcnn/core/shape.hpp"
#include "ctcnn/layers/activation.hpp"
#include "ctcnn/layers/conv2d.hpp"
#include "ctcnn/layers/flatten.hpp"
#include "ctcnn/layers/linear.hpp"
#include "ctcnn/layers/pool.hpp"
#include "ctcnn/layers/softmax.hpp"

namespace cn = ctcnn;
using cn::LayerFor;
using cn::Shape;

TEST_CASE("LayerFor: conv kernel larger than the padded input", "[core][layer_for][conv2d]") {
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, 7>, Shape<1, 4, 4>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<6, 4>, Shape<1, 4, 4>>);  // kernel == in
  STATIC_REQUIRE(LayerFor<cn::Conv2d<6, 7, cn::Padding<2>>, Shape<1, 4, 4>>);  // 4 + 4 >= 7
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, 7, cn::Padding<1>>, Shape<1, 4, 4>>);  // 6 < 7
  // Each axis separately: a 3x5 kernel on 8x4 fails on the columns only.
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<16, cn::Kernel{3, 5}>, Shape<2, 8, 4>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<16, cn::Kernel{3, 5}>, Shape<2, 8, 5>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<16, cn::Kernel{3, 5}, cn::Padding<0, 1>>, Shape<2, 8, 4>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<16, cn::Kernel{5, 3}>, Shape<2, 4, 8>>);
}

TEST_CASE("LayerFor: dilated conv kernel larger than the padded input",
          "[core][layer_for][conv2d]") {
  // Dilation 3 makes a 3x3 kernel cover 7 pixels.
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<4, 3, cn::Dilation<3>>, Shape<2, 6, 6>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<4, 3, cn::Dilation<3>>, Shape<2, 7, 7>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<4, 3, cn::Dilation<3>, cn::Padding<1>>, Shape<2, 6, 6>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<4, 3, cn::Dilation<2>>, Shape<2, 6, 6>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<4, 3, cn::Dilation<1, 3>>, Shape<2, 6, 6>>);
  // Same pads by dilation*(kernel-1) in total, so it always fits.
  STATIC_REQUIRE(LayerFor<cn::Conv2d<4, 3, cn::Dilation<3>, cn::Same>, Shape<2, 2, 2>>);
}

TEST_CASE("LayerFor: zero kernel, stride, dilation, output count", "[core][layer_for]") {
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, 0>, Shape<1, 4, 4>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, -3>, Shape<1, 4, 4>>);  // negative reads as 0
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, cn::Kernel{3, 0}>, Shape<1, 4, 4>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<6, 1>, Shape<1, 4, 4>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<0>, Shape<1, 4, 4>>);

  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, 3, cn::Stride<0>>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<2, cn::Stride<2, 0>>, Shape<3, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::MaxPool2d<2, cn::Stride<2, 1>>, Shape<3, 8, 8>>);

  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, 3, cn::Dilation<0>>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<2, cn::Dilation<1, 0>>, Shape<1, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::MaxPool2d<2, cn::Dilation<1, 2>>, Shape<1, 8, 8>>);

  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<0, 3>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Linear<0>, Shape<16>>);
  STATIC_REQUIRE(LayerFor<cn::Linear<1>, Shape<16>>);
}

TEST_CASE("LayerFor: InChannels and InFeatures must match the input",
          "[core][layer_for][conv2d][linear]") {
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<16, 3, cn::InChannels<3>>, Shape<6, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<16, 3, cn::InChannels<6>>, Shape<6, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<16, 3>, Shape<6, 8, 8>>);  // not stated: inferred

  STATIC_REQUIRE_FALSE(LayerFor<cn::Linear<10, cn::InFeatures<15>>, Shape<16>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Linear<10, cn::InFeatures<17>>, Shape<16>>);
  STATIC_REQUIRE(LayerFor<cn::Linear<10, cn::InFeatures<16>>, Shape<16>>);
  STATIC_REQUIRE(LayerFor<cn::Linear<10, cn::InFeatures<16>, cn::NoBias>, Shape<16>>);
}

TEST_CASE("LayerFor: pooling window larger than the padded input", "[core][layer_for][pool]") {
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<2>, Shape<2, 1, 1>>);
  STATIC_REQUIRE(LayerFor<cn::MaxPool2d<2, cn::Padding<1>>, Shape<2, 1, 1>>);  // 1 + 2 >= 2
  STATIC_REQUIRE(LayerFor<cn::MaxPool2d<2>, Shape<2, 2, 2>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::AvgPool2d<3>, Shape<1, 2, 5>>);  // rows only
  STATIC_REQUIRE_FALSE(LayerFor<cn::AvgPool2d<cn::Kernel{1, 3}>, Shape<1, 5, 2>>);  // cols only
  STATIC_REQUIRE(LayerFor<cn::AvgPool2d<cn::Kernel{1, 3}>, Shape<1, 5, 3>>);
  // Dilation 2 makes a 3-window cover 5.
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<3, cn::Dilation<2>>, Shape<1, 4, 4>>);
  STATIC_REQUIRE(LayerFor<cn::MaxPool2d<3, cn::Dilation<2>>, Shape<1, 5, 5>>);
}

TEST_CASE("LayerFor: pool padding at most half the kernel", "[core][layer_for][pool]") {
  STATIC_REQUIRE_FALSE(LayerFor<cn::AvgPool2d<3, cn::Padding<2>>, Shape<1, 6, 6>>);
  STATIC_REQUIRE(LayerFor<cn::AvgPool2d<3, cn::Padding<1>>, Shape<1, 6, 6>>);
  STATIC_REQUIRE(LayerFor<cn::MaxPool2d<2, cn::Padding<1>>, Shape<1, 6, 6>>);  // 1 <= 2/2
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<3, cn::Padding<0, 2>>, Shape<1, 6, 6>>);
  STATIC_REQUIRE(LayerFor<cn::MaxPool2d<cn::Kernel{3, 5}, cn::Padding<1, 2>>, Shape<1, 6, 6>>);
}

TEST_CASE("LayerFor: reflect, circular and replicate padding limits",
          "[core][layer_for][conv2d]") {
  using Reflect = cn::PadMode<cn::Reflect>;
  using Circular = cn::PadMode<cn::Circular>;
  using Replicate = cn::PadMode<cn::Replicate>;
  // Reflect: pad < in.
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<2, 3, cn::Padding<4>, Reflect>, Shape<1, 4, 4>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<2, 3, cn::Padding<3>, Reflect>, Shape<1, 4, 4>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<2, 3, cn::Padding<1, 4>, Reflect>, Shape<1, 8, 4>>);
  // Same with an even kernel pads 1 before and 2 after: the larger one counts.
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<2, 4, cn::Same, Reflect>, Shape<1, 2, 2>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<2, 4, cn::Same, Reflect>, Shape<1, 3, 3>>);
  // Circular: pad <= in.
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<2, 3, cn::Padding<5>, Circular>, Shape<1, 4, 4>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<2, 3, cn::Padding<4>, Circular>, Shape<1, 4, 4>>);
  // Replicate and zeros have no such limit.
  STATIC_REQUIRE(LayerFor<cn::Conv2d<2, 3, cn::Padding<10>, Replicate>, Shape<1, 4, 4>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<2, 3, cn::Padding<10>>, Shape<1, 4, 4>>);
}

TEST_CASE("LayerFor: Same needs stride 1", "[core][layer_for][conv2d]") {
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<8, 3, cn::Same, cn::Stride<2>>, Shape<3, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<8, 3, cn::Same, cn::Stride<1, 2>>, Shape<3, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<8, 3, cn::Same, cn::Stride<1>>, Shape<3, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<8, 3, cn::Same>, Shape<3, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<8, 3, cn::Padding<1>, cn::Stride<2>>, Shape<3, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<8, 3, cn::Valid, cn::Stride<2>>, Shape<3, 8, 8>>);
}

TEST_CASE("LayerFor: input rank (Linear needs Flatten, Conv2d needs C,H,W)",
          "[core][layer_for]") {
  STATIC_REQUIRE_FALSE(LayerFor<cn::Linear<10>, Shape<4, 2, 2>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Linear<10>, Shape<4, 4>>);
  STATIC_REQUIRE(LayerFor<cn::Linear<10>, Shape<16>>);
  STATIC_REQUIRE(LayerFor<cn::Flatten, Shape<4, 2, 2>>);

  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<4, 1>, Shape<16>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<4, 1>, Shape<1, 1, 4, 4>>);  // a batch is not a sample
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<2>, Shape<16>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::GlobalAvgPool2d, Shape<16>>);
  STATIC_REQUIRE(LayerFor<cn::GlobalAvgPool2d, Shape<8, 3, 3>>);
  STATIC_REQUIRE(LayerFor<cn::GlobalMaxPool2d, Shape<8, 1, 1>>);
}

TEST_CASE("LayerFor: options a layer does not take", "[core][layer_for]") {
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, 3, cn::CeilMode>, Shape<1, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::MaxPool2d<3, cn::CeilMode>, Shape<1, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::AvgPool2d<3, cn::CeilMode>, Shape<1, 8, 8>>);
  // Dilation: MaxPool2d takes it, AvgPool2d does not (as in PyTorch).
  STATIC_REQUIRE(LayerFor<cn::MaxPool2d<2, cn::Dilation<2>>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::AvgPool2d<2, cn::Dilation<2>>, Shape<1, 8, 8>>);
  // ExcludePad / IncludePad: AvgPool2d only.
  STATIC_REQUIRE(LayerFor<cn::AvgPool2d<2, cn::ExcludePad>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<2, cn::ExcludePad>, Shape<1, 8, 8>>);
  // Pools have no Same, no bias, no stated channels.
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<3, cn::Same>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<2, cn::NoBias>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<2, cn::InChannels<1>>, Shape<1, 8, 8>>);
  // Linear: InFeatures and NoBias only.
  STATIC_REQUIRE_FALSE(LayerFor<cn::Linear<10, cn::Stride<1>>, Shape<16>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Linear<10, cn::InChannels<16>>, Shape<16>>);
  STATIC_REQUIRE(LayerFor<cn::Linear<10, cn::NoBias>, Shape<16>>);
  // Conv2d: InChannels, not InFeatures; and a type that is no option at all.
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, 3, cn::InFeatures<1>>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, 3, int>, Shape<1, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<6, 3, cn::NoBias, cn::PadMode<cn::Reflect>, cn::Padding<1>,
                          cn::Dilation<1>, cn::Stride<1>, cn::InChannels<1>>,
                          Shape<1, 8, 8>>);
}

TEST_CASE("LayerFor: the same option twice", "[core][layer_for]") {
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, 3, cn::Stride<1>, cn::Stride<2>>, Shape<1, 8, 8>>);
  // Same, Valid and Padding<P> are one kind of option: padding.
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, 3, cn::Same, cn::Padding<1>>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Conv2d<6, 3, cn::Valid, cn::Valid>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::Linear<10, cn::NoBias, cn::NoBias>, Shape<16>>);
  STATIC_REQUIRE_FALSE(LayerFor<cn::MaxPool2d<2, cn::CeilMode, cn::CeilMode>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(
      LayerFor<cn::AvgPool2d<2, cn::ExcludePad, cn::IncludePad>, Shape<1, 8, 8>>);
  STATIC_REQUIRE(LayerFor<cn::Conv2d<6, 3, cn::Stride<2>, cn::Padding<1>>, Shape<1, 8, 8>>);
}

TEST_CASE("LayerFor and LayerSpec: types that are not layers", "[core][layer_for]") {
  STATIC_REQUIRE_FALSE(LayerFor<cn::Stride<2>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<int, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(LayerFor<Shape<3>, Shape<1, 8, 8>>);
  STATIC_REQUIRE_FALSE(cn::LayerSpec<cn::Stride<2>>);
  STATIC_REQUIRE_FALSE(cn::LayerSpec<int>);
  STATIC_REQUIRE(cn::LayerSpec<cn::Conv2d<6, 3>>);
  STATIC_REQUIRE(cn::LayerSpec<cn::MaxPool2d<2>>);
  STATIC_REQUIRE(cn::LayerSpec<cn::Linear<10>>);
  STATIC_REQUIRE(cn::LayerSpec<cn::ReLU>);
  STATIC_REQUIRE(cn::LayerSpec<cn::Flatten>);
  STATIC_REQUIRE(cn::LayerSpec<cn::Softmax>);
}

TEST_CASE("LayerFor: shape-agnostic layers accept any sample shape", "[core][layer_for]") {
  STATIC_REQUIRE(LayerFor<cn::ReLU, Shape<16>>);
  STATIC_REQUIRE(LayerFor<cn::ReLU, Shape<3, 4, 5>>);
  STATIC_REQUIRE(LayerFor<cn::LeakyReLU<1, 5>, Shape<7>>);
  STATIC_REQUIRE(LayerFor<cn::Sigmoid, Shape<2, 2>>);
  STATIC_REQUIRE(LayerFor<cn::Tanh, Shape<1, 1, 1>>);
  STATIC_REQUIRE(LayerFor<cn::Flatten, Shape<10>>);
  STATIC_REQUIRE(LayerFor<cn::Softmax, Shape<10>>);
  STATIC_REQUIRE(LayerFor<cn::LogSoftmax, Shape<10, 2, 2>>);
}

TEST_CASE("LayerFor agrees with the bound layer's output shape", "[core][layer_for]") {
  // Binding an accepted spec gives the shape the formulas predict.
  using Conv = cn::Conv2d<6, 5, cn::Padding<2>>::bind<Shape<1, 28, 28>>;
  STATIC_REQUIRE(Conv::ok);
  STATIC_REQUIRE(std::is_same_v<Conv::output_shape, Shape<6, 28, 28>>);
  using Pool = cn::MaxPool2d<3, cn::Stride<2>, cn::Padding<1>, cn::CeilMode>::bind<Shape<6, 6, 6>>;
  STATIC_REQUIRE(std::is_same_v<Pool::output_shape, Shape<6, 4, 4>>);
  using Dilated = cn::Conv2d<4, 3, cn::Dilation<3>, cn::Padding<1>>::bind<Shape<2, 6, 6>>;
  STATIC_REQUIRE(std::is_same_v<Dilated::output_shape, Shape<4, 2, 2>>);
  using Fc = cn::Linear<10>::bind<Shape<16>>;
  STATIC_REQUIRE(std::is_same_v<Fc::output_shape, Shape<10>>);
  STATIC_REQUIRE(Fc::parameter_count == 16 * 10 + 10);
}
