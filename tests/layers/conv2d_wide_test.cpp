// Conv2d with many channels and long rows, where the library's kernels put output
// channels or output columns in SIMD lanes (LeNet-5's two convolutions, channel
// counts that leave a partial last vector, 1x1 convolutions, rows longer than two
// vectors), against the reference and finite differences (on a random sample of
// elements for the larger tensors). Tolerances: see tests/reference/check.hpp.
#include <catch2/catch.hpp>

#include "reference/conv2d_check.hpp"

namespace {

using conv_test::backward;
using conv_test::Case;
using conv_test::dilate;
using conv_test::forward;
using conv_test::list;
using conv_test::mode;
using conv_test::no_bias;
using conv_test::pad;
using conv_test::spec;
using conv_test::stride;
using ref::PadMode;
namespace cn = ctcnn;

using LeNetCases = std::tuple<
    Case<cn::Conv2d<6, 5, cn::Padding<2>>, pad(spec(1, 28, 28, 6, 5, 5), 2, 2, 2, 2)>,
    Case<cn::Conv2d<16, 5>, spec(6, 14, 14, 16, 5, 5)>>;

using ChannelCases = std::tuple<
    Case<cn::Conv2d<32, 3, cn::Padding<1>>, pad(spec(16, 8, 8, 32, 3, 3), 1, 1, 1, 1)>,
    Case<cn::Conv2d<64, 1>, spec(32, 4, 4, 64, 1, 1)>,
    Case<cn::Conv2d<24, 3, cn::Stride<2>, cn::Padding<1>>, pad(stride(spec(8, 11, 9, 24, 3, 3), 2, 2), 1, 1, 1, 1)>,
    Case<cn::Conv2d<40, 2, cn::Stride<2>>, stride(spec(3, 6, 6, 40, 2, 2), 2, 2)>,
    Case<cn::Conv2d<17, cn::Kernel{3, 2}, cn::Padding<1>, cn::PadMode<cn::Reflect>>,
         mode(pad(spec(5, 9, 10, 17, 3, 2), 1, 1, 1, 1), PadMode::reflect)>,
    Case<cn::Conv2d<16, 3, cn::Same, cn::PadMode<cn::Circular>, cn::NoBias>,
         no_bias(mode(pad(spec(16, 7, 7, 16, 3, 3), 1, 1, 1, 1), PadMode::circular))>,
    Case<cn::Conv2d<48, cn::Kernel{1, 5}, cn::Padding<0, 2>, cn::PadMode<cn::Replicate>>,
         mode(pad(spec(8, 6, 17, 48, 1, 5), 0, 0, 2, 2), PadMode::replicate)>>;

using RowCases = std::tuple<
    Case<cn::Conv2d<33, 3>, spec(4, 5, 40, 33, 3, 3)>,
    Case<cn::Conv2d<8, 3, cn::Padding<1>>, pad(spec(2, 6, 35, 8, 3, 3), 1, 1, 1, 1)>,
    Case<cn::Conv2d<20, 3, cn::Same, cn::Dilation<2>>, dilate(pad(spec(3, 12, 13, 20, 3, 3), 2, 2, 2, 2), 2, 2)>,
    Case<cn::Conv2d<4, 4, cn::Same>, pad(spec(3, 5, 37, 4, 4, 4), 1, 2, 1, 2)>,
    Case<cn::Conv2d<3, cn::Kernel{2, 3}, cn::Stride<1, 2>, cn::Padding<1>>,
         pad(stride(spec(2, 4, 50, 3, 2, 3), 1, 2), 1, 1, 1, 1)>>;

// Strides above 1 with many channels: backward-data splits dx into stride_h x
// stride_w phases, each a stride-1 convolution of dy with some of the taps (a
// phase that reads before dy's start, phases that no tap reaches, dilation sharing
// a factor with the stride, rectangular strides).
using StridedCases = std::tuple<
    Case<cn::Conv2d<36, 3, cn::Stride<2>, cn::Padding<1>>, pad(stride(spec(20, 9, 10, 36, 3, 3), 2, 2), 1, 1, 1, 1)>,
    Case<cn::Conv2d<18, 2, cn::Stride<2>, cn::Padding<1>, cn::NoBias>,
         no_bias(pad(stride(spec(17, 7, 8, 18, 2, 2), 2, 2), 1, 1, 1, 1))>,
    Case<cn::Conv2d<20, 4, cn::Stride<3>, cn::Padding<2>, cn::Dilation<2>>,
         dilate(pad(stride(spec(18, 11, 12, 20, 4, 4), 3, 3), 2, 2, 2, 2), 2, 2)>,
    Case<cn::Conv2d<16, 1, cn::Stride<2>>, stride(spec(24, 7, 7, 16, 1, 1), 2, 2)>,
    Case<cn::Conv2d<24, cn::Kernel{3, 5}, cn::Stride<2, 3>, cn::Padding<1, 2>>,
         pad(stride(spec(5, 9, 14, 24, 3, 5), 2, 3), 1, 1, 2, 2)>>;

// Strides with few output channels: forward and weight gradient put output
// columns in the lanes, reading the padded input split into its stride_w column
// phases (simple_cnn's first layer; dilation 3, whose taps kw*d = 0, 3, 6, 9
// fall in phases 0, 1, 0, 1 at shifts 0, 1, 3, 4; a vertical stride only, one
// phase; rows of two vectors with reflect padding; replicate padding; stride 3,
// split a float at a time, with dilation 2: taps 0, 2, 4 in phases 0, 2, 1 at
// shifts 0, 0, 1).
using StridedColumnCases = std::tuple<
    Case<cn::Conv2d<4, 3, cn::Stride<2>, cn::Padding<1>>, pad(stride(spec(1, 28, 28, 4, 3, 3), 2, 2), 1, 1, 1, 1)>,
    Case<cn::Conv2d<3, cn::Kernel{3, 4}, cn::Stride<2>, cn::Dilation<3>, cn::Padding<2, 1>>,
         dilate(pad(stride(spec(1, 17, 60, 3, 3, 4), 2, 2), 2, 2, 1, 1), 3, 3)>,
    Case<cn::Conv2d<2, 3, cn::Stride<2, 1>, cn::Padding<1>, cn::NoBias>,
         no_bias(pad(stride(spec(3, 11, 21, 2, 3, 3), 2, 1), 1, 1, 1, 1))>,
    Case<cn::Conv2d<5, cn::Kernel{2, 3}, cn::Stride<1, 2>, cn::Padding<1>, cn::PadMode<cn::Reflect>>,
         mode(pad(stride(spec(1, 6, 70, 5, 2, 3), 1, 2), 1, 1, 1, 1), PadMode::reflect)>,
    Case<cn::Conv2d<3, 3, cn::Stride<2>, cn::Padding<1>, cn::PadMode<cn::Replicate>>,
         mode(pad(stride(spec(2, 13, 30, 3, 3, 3), 2, 2), 1, 1, 1, 1), PadMode::replicate)>,
    Case<cn::Conv2d<10, 3, cn::Stride<3>, cn::Dilation<2>, cn::Padding<2>>,
         dilate(pad(stride(spec(1, 20, 95, 10, 3, 3), 3, 3), 2, 2, 2, 2), 2, 2)>>;

// Few input channels and short rows, where the kernels put whole output planes in
// the SIMD lanes (KW shifted copies of the input; a partial last vector when
// OH*OW is not a whole number of vectors). The last case is the backward-data
// side: its transposed convolution (1 -> 16 channels) takes that path.
using PlaneCases = std::tuple<
    Case<cn::Conv2d<16, 5>, spec(1, 28, 28, 16, 5, 5)>,
    Case<cn::Conv2d<12, 3, cn::Padding<2>, cn::Dilation<2>, cn::PadMode<cn::Reflect>>,
         mode(dilate(pad(spec(2, 9, 11, 12, 3, 3), 2, 2, 2, 2), 2, 2), PadMode::reflect)>,
    Case<cn::Conv2d<20, cn::Kernel{2, 4}, cn::Padding<1, 2>, cn::PadMode<cn::Replicate>, cn::NoBias>,
         no_bias(mode(pad(spec(1, 7, 10, 20, 2, 4), 1, 1, 2, 2), PadMode::replicate))>,
    Case<cn::Conv2d<1, 3, cn::Padding<1>>, pad(spec(16, 12, 12, 1, 3, 3), 1, 1, 1, 1)>>;

// Many input channels: the channel-lane kernels sum them in several passes
// (blocks of input channels whose weights stay in L1), each pass over several
// row tiles, their partial sums kept in between; a last pass group shorter than
// the others (30 rows in passes of 18), in place (without padding, and with
// zero padding read in place through the padded origin: one-row tiles skip
// every tap that reads it) and from a padded band (reflect, and zeros with
// tiles of 2 rows, which skip only the kernel rows that no row of the tile
// reaches), tiles of 3 rows with a 1-row tail (10 rows of 4 columns). The
// transposed convolutions of backward-data (32 -> 24 channels) take several
// passes too. Sizes keep the weight gradient's sums (batch x output positions,
// in float) short enough for the reference tolerance.
using PassCases = std::tuple<
    Case<cn::Conv2d<32, 5>, spec(24, 30, 11, 32, 5, 5)>,
    Case<cn::Conv2d<32, 5, cn::Padding<2>>, pad(spec(24, 30, 7, 32, 5, 5), 2, 2, 2, 2)>,
    Case<cn::Conv2d<32, 5, cn::NoBias>, no_bias(spec(24, 14, 8, 32, 5, 5))>,
    Case<cn::Conv2d<32, 5, cn::Padding<2>, cn::PadMode<cn::Reflect>>,
         mode(pad(spec(24, 30, 7, 32, 5, 5), 2, 2, 2, 2), PadMode::reflect)>,
    Case<cn::Conv2d<32, 5, cn::Padding<1>, cn::NoBias>, no_bias(pad(spec(24, 14, 8, 32, 5, 5), 1, 1, 1, 1))>>;

// The cases above take the paths they are named for. Plans follow the instruction
// set; these are the AVX-512 plans (16 lanes, 32 registers: the build CI runs).
// Elsewhere (-DCTCNN_NATIVE=OFF, AVX2) the cases still run, through whichever
// kernels their plans pick.
namespace conv_detail = ctcnn::kernels::conv_detail;
template <std::size_t I, class Cases>
using plan_of = conv_detail::ChannelPlan<std::tuple_element_t<I, Cases>::layer::geometry>;
template <std::size_t I, class Cases>
constexpr auto forward_lanes_of = conv_detail::forward_lanes<std::tuple_element_t<I, Cases>::layer::geometry>();
template <std::size_t I, class Cases>
constexpr auto backward_data_lanes_of = conv_detail::forward_lanes<
    conv_detail::transposed_geometry<std::tuple_element_t<I, Cases>::layer::geometry>()>();

template <std::size_t I, class Cases>
constexpr auto weight_grad_lanes_of =
    conv_detail::weight_grad_lanes<std::tuple_element_t<I, Cases>::layer::geometry>();

constexpr bool paths_as_named() {
  using conv_detail::Lanes;
  return weight_grad_lanes_of<0, StridedColumnCases> == Lanes::columns &&
         weight_grad_lanes_of<1, StridedColumnCases> == Lanes::columns &&
         weight_grad_lanes_of<2, StridedColumnCases> == Lanes::columns &&
         weight_grad_lanes_of<3, StridedColumnCases> == Lanes::columns &&
         weight_grad_lanes_of<4, StridedColumnCases> == Lanes::columns &&
         weight_grad_lanes_of<5, StridedColumnCases> == Lanes::columns &&
         forward_lanes_of<0, StridedColumnCases> == Lanes::columns &&
         forward_lanes_of<1, StridedColumnCases> == Lanes::columns &&
         forward_lanes_of<2, StridedColumnCases> == Lanes::columns &&
         forward_lanes_of<3, StridedColumnCases> == Lanes::columns &&
         forward_lanes_of<4, StridedColumnCases> == Lanes::columns &&
         forward_lanes_of<5, StridedColumnCases> == Lanes::columns &&
         forward_lanes_of<0, PlaneCases> == Lanes::planes &&
         forward_lanes_of<1, PlaneCases> == Lanes::planes &&
         forward_lanes_of<2, PlaneCases> == Lanes::planes &&
         conv_detail::backward_data_is_transposed_forward<
             std::tuple_element_t<3, PlaneCases>::layer::geometry>() &&
         backward_data_lanes_of<3, PlaneCases> == Lanes::planes &&
         forward_lanes_of<0, PassCases> == Lanes::channels &&
         forward_lanes_of<1, PassCases> == Lanes::channels &&
         forward_lanes_of<2, PassCases> == Lanes::channels &&
         backward_data_lanes_of<1, PassCases> == Lanes::channels &&
         plan_of<0, PassCases>::c_blocks >= 3 && plan_of<0, PassCases>::pass_rows > 1 &&
         plan_of<0, PassCases>::in_place &&
         plan_of<1, PassCases>::c_blocks >= 3 && 30 % plan_of<1, PassCases>::pass_rows != 0 &&
         plan_of<1, PassCases>::in_place && !plan_of<1, PassCases>::unpadded &&
         plan_of<3, PassCases>::c_blocks >= 3 && !plan_of<3, PassCases>::in_place &&
         plan_of<4, PassCases>::c_blocks >= 3 && !plan_of<4, PassCases>::in_place &&
         plan_of<4, PassCases>::rows == 2 && forward_lanes_of<4, PassCases> == Lanes::channels &&
         plan_of<2, PassCases>::c_blocks >= 3 && plan_of<2, PassCases>::rows == 3 &&
         plan_of<2, PassCases>::rows_tail == 1 && plan_of<2, PassCases>::pass_rows > 3;
}
static_assert(!(ctcnn::simd::lanes == 16 && ctcnn::simd::registers == 32) || paths_as_named(),
              "a case no longer takes the kernel path it is named for");

}  // namespace

TEST_CASE("conv2d forward: whole planes in the lanes", "[conv2d][forward][wide]") { forward(list<PlaneCases>, 1500); }
TEST_CASE("conv2d backward: whole planes in the lanes", "[conv2d][backward][wide]") { backward(list<PlaneCases>, 1550); }

TEST_CASE("conv2d forward: strides with few output channels (column phases)", "[conv2d][forward][wide]") {
  forward(list<StridedColumnCases>, 1700);
}
TEST_CASE("conv2d backward: strides with few output channels (column phases)", "[conv2d][backward][wide]") {
  backward(list<StridedColumnCases>, 1750);
}

TEST_CASE("conv2d forward: channels summed in several passes", "[conv2d][forward][wide]") { forward(list<PassCases>, 1600); }
TEST_CASE("conv2d backward: channels summed in several passes", "[conv2d][backward][wide]") { backward(list<PassCases>, 1650); }

TEST_CASE("conv2d forward: LeNet-5's convolutions", "[conv2d][forward][wide]") { forward(list<LeNetCases>, 1100); }
TEST_CASE("conv2d backward: LeNet-5's convolutions", "[conv2d][backward][wide]") { backward(list<LeNetCases>, 1150); }
TEST_CASE("conv2d forward: many channels", "[conv2d][forward][wide]") { forward(list<ChannelCases>, 1200); }
TEST_CASE("conv2d backward: many channels", "[conv2d][backward][wide]") { backward(list<ChannelCases>, 1250); }
TEST_CASE("conv2d forward: long rows", "[conv2d][forward][wide]") { forward(list<RowCases>, 1300); }
TEST_CASE("conv2d backward: long rows", "[conv2d][backward][wide]") { backward(list<RowCases>, 1350); }
TEST_CASE("conv2d forward: strides with many channels", "[conv2d][forward][wide]") { forward(list<StridedCases>, 1400); }
TEST_CASE("conv2d backward: strides with many channels", "[conv2d][backward][wide]") { backward(list<StridedCases>, 1450); }
