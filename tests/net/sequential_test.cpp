// Sequential as a whole: the batch axis, the two forward paths, gradient
// accumulation, and the compile-time metadata of LeNet-5 (parameter counts,
// shapes, multiply-adds, receptive fields, activation memory), each checked
// against numbers derived by hand in the comments beside them.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "ctcnn/ctcnn.hpp"
#include "support/golden.hpp"
#include "support/random.hpp"

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

struct Mlp : cn::Sequential<cn::Input<784>, cn::Linear<512, cn::NoBias>, cn::ReLU,
                            cn::Linear<1, cn::NoBias>> {};
struct MlpWithBias : cn::Sequential<cn::Input<784>, cn::Linear<512>, cn::ReLU, cn::Linear<1>> {};

// Batch results may be summed in a different order than per-sample ones; 1e-6
// absolute is far below anything a wrong sample, channel or offset would give.
constexpr ct::Tolerance same_values{1e-6, 0.0};

// Each parameter uniform in +-1/sqrt(fan_in), PyTorch's default bound, so
// activations stay of order 1 through all layers (and ReLUs are half active).
template <class Net>
void init_parameters(Net& net, std::uint32_t seed) {
  std::size_t fan_in = 1;
  net.for_each_parameter(
      [&](std::size_t, const cn::ParameterSpec& spec, float* values, float*) {
        if (spec.name == "weight") fan_in = spec.size() / spec.dims[0];
        const float bound = ct::default_init_bound(fan_in);
        ct::fill_uniform(std::span<float>(values, spec.size()), seed++, -bound, bound);
      });
}

template <std::size_t N, class Net>
std::unique_ptr<cn::Tensor<cn::batched_t<N, typename Net::input_shape_t>>> random_input(
    std::uint32_t seed) {
  auto x = std::make_unique<cn::Tensor<cn::batched_t<N, typename Net::input_shape_t>>>();
  ct::fill_uniform(ct::span_of(*x), seed);
  return x;
}

template <std::size_t N, class Net>
std::unique_ptr<cn::Tensor<cn::batched_t<N, typename Net::output_shape_t>>> random_output_grad(
    std::uint32_t seed) {
  auto dy = std::make_unique<cn::Tensor<cn::batched_t<N, typename Net::output_shape_t>>>();
  ct::fill_uniform(ct::span_of(*dy), seed);
  return dy;
}

template <class Net>
std::vector<float> gradients_of(const Net& net) {
  return std::vector<float>(net.gradients().begin(), net.gradients().end());
}

// A batch of N through the workspace equals each sample alone (batch 1): the
// outputs, the input gradients, and the parameter gradients (the batch's are
// the sum of the samples').
template <std::size_t N>
void check_batch_equals_samples() {
  constexpr std::size_t in_size = LeNet5::input_shape_t::size;
  constexpr std::size_t out_size = LeNet5::output_shape_t::size;
  auto net = std::make_unique<LeNet5>();
  init_parameters(*net, 1);
  const auto x = random_input<N, LeNet5>(100 + N);
  const auto dy = random_output_grad<N, LeNet5>(200 + N);

  auto ws = cn::make_workspace<N>(*net);
  net->forward(*x, *ws);
  net->backward(*ws, *dy, cn::InputGradient::compute);
  const std::vector<float> batch_grads = gradients_of(*net);

  net->zero_grad();
  auto ws1 = cn::make_workspace<1>(*net);
  cn::Tensor<cn::Shape<1, 1, 28, 28>> xi;
  cn::Tensor<cn::Shape<1, 10>> dyi;
  for (std::size_t n = 0; n < N; ++n) {
    INFO("sample " << n << " of " << N);
    std::copy_n(x->data() + n * in_size, in_size, xi.data());
    std::copy_n(dy->data() + n * out_size, out_size, dyi.data());
    const auto& yi = net->forward(xi, *ws1);
    ct::check_close("y", ct::values(yi),
                    std::span<const float>(ws->output().data() + n * out_size, out_size),
                    same_values);
    net->backward(*ws1, dyi, cn::InputGradient::compute);
    ct::check_close("dx", ct::values(ws1->input_grad()),
                    std::span<const float>(ws->input_grad().data() + n * in_size, in_size),
                    same_values);
  }
  // Sums of N terms: allow for a different summation order.
  ct::check_close("parameter gradients (batch vs sum of samples)", gradients_of(*net),
                  batch_grads);
}

}  // namespace

// ---- the batch axis and the two forward paths ------------------------------------------

TEST_CASE("LeNet-5: a batch gives what each sample gives alone", "[sequential][batch]") {
  SECTION("N = 1") { check_batch_equals_samples<1>(); }
  SECTION("N = 3") { check_batch_equals_samples<3>(); }
  SECTION("N = 64") { check_batch_equals_samples<64>(); }
}

TEST_CASE("LeNet-5: inference forward(x) equals the workspace forward",
          "[sequential][inference]") {
  auto net = std::make_unique<LeNet5>();
  init_parameters(*net, 2);

  SECTION("one sample, Tensor<Shape<1, 28, 28>>") {
    cn::Tensor<cn::Shape<1, 28, 28>> x;
    ct::fill_uniform(ct::span_of(x), 7);
    auto ws = cn::make_workspace<1>(*net);
    std::copy(x.begin(), x.end(), ws->input().begin());
    const auto& y_ws = net->forward(*ws);
    const cn::Tensor<cn::Shape<10>> y = net->forward(x);
    ct::check_close("y", ct::values(y), ct::values(y_ws), same_values);
  }
  SECTION("a batch of 64") {
    const auto x = random_input<64, LeNet5>(8);
    auto ws = cn::make_workspace<64>(*net);
    const auto& y_ws = net->forward(*x, *ws);
    const cn::Tensor<cn::Shape<64, 10>> y = net->forward(*x);
    ct::check_close("y", ct::values(y), ct::values(y_ws), same_values);
  }
  SECTION("a batch of 3") {
    const auto x = random_input<3, LeNet5>(9);
    auto ws = cn::make_workspace<3>(*net);
    const auto& y_ws = net->forward(*x, *ws);
    ct::check_close("y", ct::values(net->forward(*x)), ct::values(y_ws), same_values);
  }
  SECTION("a batch of 64 given as the workspace's own input") {
    const auto x = random_input<64, LeNet5>(11);
    auto ws = cn::make_workspace<64>(*net);
    std::copy(x->begin(), x->end(), ws->input().begin());
    const auto& y_ws = net->forward(ws->input(), *ws);
    ct::check_close("input kept", ct::values(ws->input()), ct::values(*x), same_values);
    const cn::Tensor<cn::Shape<64, 10>> y = net->forward(*x);
    ct::check_close("y", ct::values(y), ct::values(y_ws), same_values);
  }
}

// 8 MB per activation: two stack buffers of that size would overflow an 8 MB
// stack (the main thread's default) and a 2-8 MB OpenMP worker stack.
struct LargeActivations : cn::Sequential<cn::Input<8, 512, 512>, cn::Conv2d<8, 1>, cn::ReLU,
                                         cn::MaxPool2d<2>> {};

template <std::size_t N>
void check_large_inference() {
  using Out = cn::Tensor<cn::batched_t<N, LargeActivations::output_shape_t>>;
  auto net = std::make_unique<LargeActivations>();
  init_parameters(*net, 3);
  const auto x = random_input<N, LargeActivations>(10 + N);
  auto ws = cn::make_workspace<N>(*net);
  const auto& y_ws = net->forward(*x, *ws);
  const std::unique_ptr<Out> y(new Out(net->forward(*x)));  // 2 MB a sample: not on the stack
  ct::check_close("y", ct::values(*y), ct::values(y_ws), same_values);
  // A second call reuses the buffers of the first.
  const std::unique_ptr<Out> again(new Out(net->forward(*x)));
  ct::check_close("y again", ct::values(*again), ct::values(y_ws), same_values);
}

TEST_CASE("inference forward(x) of a network with 8 MB activations", "[sequential][inference]") {
  SECTION("one sample") { check_large_inference<1>(); }
  SECTION("a batch of 3 (one chunk per sample, across threads)") { check_large_inference<3>(); }
}

// ---- gradients ---------------------------------------------------------------------

TEST_CASE("LeNet-5: backward accumulates across calls, zero_grad resets",
          "[sequential][backward]") {
  auto net = std::make_unique<LeNet5>();
  init_parameters(*net, 3);
  const auto x = random_input<4, LeNet5>(10);
  const auto dy = random_output_grad<4, LeNet5>(11);
  auto ws = cn::make_workspace<4>(*net);
  net->forward(*x, *ws);

  REQUIRE(std::all_of(net->gradients().begin(), net->gradients().end(),
                      [](float g) { return g == 0.0f; }));
  net->backward(*ws, *dy);
  const std::vector<float> once = gradients_of(*net);
  // Every parameter tensor gets some gradient, so the checks below are not vacuous.
  net->for_each_parameter([](std::size_t layer, const cn::ParameterSpec& spec, float*, float* g) {
    INFO("layer " << layer << " " << spec.name);
    CHECK(std::any_of(g, g + spec.size(), [](float v) { return v != 0.0f; }));
  });

  net->backward(*ws, *dy);
  std::vector<float> twice_expected = once;
  for (float& g : twice_expected) g *= 2.0f;
  ct::check_close("gradients after two backward calls", gradients_of(*net), twice_expected);

  net->zero_grad();
  CHECK(std::all_of(net->gradients().begin(), net->gradients().end(),
                    [](float g) { return g == 0.0f; }));
  net->backward(*ws, *dy);
  CHECK(gradients_of(*net) == once);
}

TEST_CASE("LeNet-5: InputGradient::skip gives the same parameter gradients",
          "[sequential][backward]") {
  auto net = std::make_unique<LeNet5>();
  init_parameters(*net, 4);
  const auto x = random_input<5, LeNet5>(12);
  const auto dy = random_output_grad<5, LeNet5>(13);
  auto ws = cn::make_workspace<5>(*net);
  net->forward(*x, *ws);

  net->backward(*ws, *dy, cn::InputGradient::compute);
  const std::vector<float> with_dx = gradients_of(*net);
  net->zero_grad();
  net->backward(*ws, *dy, cn::InputGradient::skip);
  CHECK(gradients_of(*net) == with_dx);
  net->zero_grad();
  net->backward(*ws, *dy);  // the default
  CHECK(gradients_of(*net) == with_dx);
}

// A ReLU right below a max pool has its backward folded into the pool's
// (Sequential::relu_under_pool). Checked bit for bit against every layer's own
// backward run one after the other on the same activations: the pairs path of
// 2x2 pools with the ReLU as layer 0 (so the input gradient comes from the
// fused pair), and a padded 3x3 pool (the general path) after a convolution.
// Inputs in [-1, 1]: many windows whose maximum is <= 0, which the ReLU stops.
struct ReluPoolAtInput : cn::Sequential<cn::Input<3, 8, 36>, cn::ReLU, cn::MaxPool2d<2>, cn::Flatten,
                                        cn::Linear<4>> {};
struct ConvReluPaddedPool
    : cn::Sequential<cn::Input<2, 9, 7>, cn::Conv2d<3, 3, cn::Padding<1>>, cn::ReLU,
                     cn::MaxPool2d<3, cn::Stride<2>, cn::Padding<1>>, cn::Flatten, cn::Linear<4>> {};
// Not folded: a LeakyReLU under the pool, a ReLU above it.
struct LeakyPoolRelu : cn::Sequential<cn::Input<2, 6, 6>, cn::LeakyReLU<>, cn::MaxPool2d<2>, cn::ReLU,
                                      cn::Flatten, cn::Linear<3>> {};
static_assert(ReluPoolAtInput::relu_under_pool<0> && ReluPoolAtInput::pool_over_relu<1>);
static_assert(ConvReluPaddedPool::relu_under_pool<1> && !ConvReluPaddedPool::relu_under_pool<0>);
static_assert(!LeakyPoolRelu::relu_under_pool<0> && !LeakyPoolRelu::relu_under_pool<2>);
static_assert(LeNet5::relu_under_pool<1> && LeNet5::relu_under_pool<4> && !LeNet5::relu_under_pool<8>);
// A Flatten's backward is skipped too (Sequential::reshape_only): first (the
// input gradient is the Linear's), last (dy goes straight to the conv), and in
// the middle of every network above.
struct FlattenFirst : cn::Sequential<cn::Input<2, 3, 5>, cn::Flatten, cn::Linear<4>, cn::ReLU,
                                     cn::Linear<3>> {};
struct FlattenLast : cn::Sequential<cn::Input<2, 6, 6>, cn::Conv2d<3, 3>, cn::ReLU, cn::Conv2d<2, 3>,
                                    cn::Flatten> {};
static_assert(FlattenFirst::reshape_only<0> && !FlattenFirst::reshape_only<1>);
static_assert(FlattenLast::reshape_only<3> && !FlattenLast::reshape_only<2>);
static_assert(LeNet5::reshape_only<6> && !LeNet5::reshape_only<5>);

// N = 1 runs one chunk, so the parameter gradients are summed as the layers sum
// them (bit for bit); with several chunks they are added chunk by chunk, in
// another order, and compared within float rounding. sparse: the input gradient
// comes straight out of the pool (a pool over the input), so most of it is 0.
template <class Net, std::size_t N>
void check_against_layer_by_layer(std::uint32_t seed, bool sparse) {
  auto net = std::make_unique<Net>();
  init_parameters(*net, seed);
  const auto x = random_input<N, Net>(seed + 1);
  const auto dy = random_output_grad<N, Net>(seed + 2);
  auto ws = cn::make_workspace<N>(*net);
  net->forward(*x, *ws);
  net->backward(*ws, *dy, cn::InputGradient::compute);

  std::vector<float> g(dy->begin(), dy->end()), grads(Net::parameter_count, 0.0f);
  auto layer = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
    using L = typename Net::template layer_t<I>;
    std::vector<float> dx(N * L::input_shape::size);
    L::backward(ws->template activation<I>().data(), ws->template activation<I + 1>().data(), g.data(),
                dx.data(), net->parameters().data() + Net::template parameter_offset<I>,
                grads.data() + Net::template parameter_offset<I>, N);
    g = std::move(dx);
  };
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (layer(std::integral_constant<std::size_t, Net::layer_count - 1 - I>{}), ...);
  }(std::make_index_sequence<Net::layer_count>{});

  CHECK(std::vector<float>(ws->input_grad().begin(), ws->input_grad().end()) == g);
  if constexpr (N == 1) {
    CHECK(gradients_of(*net) == grads);
  } else {
    ct::check_close("parameter gradients", gradients_of(*net), grads, ct::Tolerance{1e-6, 1e-5});
  }
  std::size_t zeros = 0;
  for (float v : g) zeros += v == 0.0f;
  if (sparse) CHECK(zeros >= g.size() * 3 / 4);  // at least the 2x2 pool's zeros
}

TEST_CASE("skipped backwards (a ReLU under a max pool, a Flatten) equal the layers' own, bit for bit",
          "[sequential][backward][fusion]") {
  check_against_layer_by_layer<ReluPoolAtInput, 1>(700, true);
  check_against_layer_by_layer<ReluPoolAtInput, 3>(701, true);
  check_against_layer_by_layer<ConvReluPaddedPool, 1>(710, false);
  check_against_layer_by_layer<ConvReluPaddedPool, 2>(711, false);
  check_against_layer_by_layer<LeakyPoolRelu, 1>(720, true);
  check_against_layer_by_layer<LeakyPoolRelu, 2>(721, true);
  check_against_layer_by_layer<FlattenFirst, 1>(730, false);
  check_against_layer_by_layer<FlattenFirst, 5>(731, false);
  check_against_layer_by_layer<FlattenLast, 1>(740, false);
  check_against_layer_by_layer<FlattenLast, 4>(741, false);
}

// ---- parameters -----------------------------------------------------------------------

TEST_CASE("parameter counts", "[sequential][parameters]") {
  // LeNet-5: conv1 6*1*5*5 + 6 = 156, conv2 16*6*5*5 + 16 = 2416, fc1 400*120 + 120 =
  // 48120, fc2 120*84 + 84 = 10164, fc3 84*10 + 10 = 850; total 61706.
  STATIC_REQUIRE(LeNet5::parameter_count == 61'706);
  STATIC_REQUIRE(LeNet5::layer_metadata[0].parameters == 156);
  STATIC_REQUIRE(LeNet5::layer_metadata[3].parameters == 2'416);
  STATIC_REQUIRE(LeNet5::layer_metadata[7].parameters == 48'120);
  STATIC_REQUIRE(LeNet5::layer_metadata[9].parameters == 10'164);
  STATIC_REQUIRE(LeNet5::layer_metadata[11].parameters == 850);
  // 784*512 + 512*1, then the biases 512 + 1.
  STATIC_REQUIRE(Mlp::parameter_count == 401'920);
  STATIC_REQUIRE(MlpWithBias::parameter_count == 402'433);
}

TEST_CASE("LeNet-5: parameter tensors in layer order, PyTorch layout", "[sequential][parameters]") {
  struct Seen {
    std::size_t layer;
    std::string name;
    std::vector<std::size_t> dims;
    std::ptrdiff_t value_offset, grad_offset;
  };
  auto net = std::make_unique<LeNet5>();
  std::vector<Seen> seen;
  net->for_each_parameter(
      [&](std::size_t layer, const cn::ParameterSpec& spec, float* values, float* grads) {
        seen.push_back({layer, std::string(spec.name),
                        std::vector<std::size_t>(spec.dims.begin(), spec.dims.begin() + spec.rank),
                        values - net->parameters().data(), grads - net->gradients().data()});
      });
  using D = std::vector<std::size_t>;
  // Offsets: running sums of the sizes, 150, 6, 2400, 16, 48000, 120, 10080, 84, 840, 10.
  const std::vector<Seen> expected{
      {0, "weight", D{6, 1, 5, 5}, 0, 0},          {0, "bias", D{6}, 150, 150},
      {3, "weight", D{16, 6, 5, 5}, 156, 156},     {3, "bias", D{16}, 2556, 2556},
      {7, "weight", D{120, 400}, 2572, 2572},      {7, "bias", D{120}, 50572, 50572},
      {9, "weight", D{84, 120}, 50692, 50692},     {9, "bias", D{84}, 60772, 60772},
      {11, "weight", D{10, 84}, 60856, 60856},     {11, "bias", D{10}, 61696, 61696}};
  REQUIRE(seen.size() == expected.size());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    INFO("parameter tensor " << i);
    CHECK(seen[i].layer == expected[i].layer);
    CHECK(seen[i].name == expected[i].name);
    CHECK(seen[i].dims == expected[i].dims);
    CHECK(seen[i].value_offset == expected[i].value_offset);
    CHECK(seen[i].grad_offset == expected[i].grad_offset);
  }
  // The typed views alias the same flat buffers.
  CHECK(net->weight<0>().data() == net->parameters().data());
  CHECK(net->bias<3>().data() == net->parameters().data() + 2556);
  CHECK(net->weight<11>().data() == net->parameters().data() + 60856);
  CHECK(net->weight_grad<7>().data() == net->gradients().data() + 2572);
  CHECK(net->bias_grad<9>().data() == net->gradients().data() + 60772);
  // weight<I>(i, j, ...) indexes in PyTorch order (O, I, KH, KW).
  net->weight<3>()(2, 4, 1, 3) = 42.0f;
  CHECK(net->parameters()[156 + ((2 * 6 + 4) * 5 + 1) * 5 + 3] == 42.0f);
}

// ---- shapes and compile-time metadata ------------------------------------------------

TEST_CASE("LeNet-5: per-layer shapes", "[sequential][shapes]") {
  using cn::Shape;
  STATIC_REQUIRE(LeNet5::layer_count == 12);
  STATIC_REQUIRE(LeNet5::input_shape == Shape<1, 28, 28>{});
  STATIC_REQUIRE(LeNet5::output_shape == Shape<10>{});
  // conv1: 28 + 2*2 - 5 + 1 = 28
  STATIC_REQUIRE(LeNet5::layer_input_shape<0> == Shape<1, 28, 28>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<0> == Shape<6, 28, 28>{});
  STATIC_REQUIRE(LeNet5::layer_input_shape<1> == Shape<6, 28, 28>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<1> == Shape<6, 28, 28>{});
  // pool1: 28 / 2
  STATIC_REQUIRE(LeNet5::layer_input_shape<2> == Shape<6, 28, 28>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<2> == Shape<6, 14, 14>{});
  // conv2: 14 - 5 + 1 = 10
  STATIC_REQUIRE(LeNet5::layer_input_shape<3> == Shape<6, 14, 14>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<3> == Shape<16, 10, 10>{});
  STATIC_REQUIRE(LeNet5::layer_input_shape<4> == Shape<16, 10, 10>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<4> == Shape<16, 10, 10>{});
  STATIC_REQUIRE(LeNet5::layer_input_shape<5> == Shape<16, 10, 10>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<5> == Shape<16, 5, 5>{});
  // Flatten: 16*5*5 = 400
  STATIC_REQUIRE(LeNet5::layer_input_shape<6> == Shape<16, 5, 5>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<6> == Shape<400>{});
  STATIC_REQUIRE(LeNet5::layer_input_shape<7> == Shape<400>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<7> == Shape<120>{});
  STATIC_REQUIRE(LeNet5::layer_input_shape<8> == Shape<120>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<8> == Shape<120>{});
  STATIC_REQUIRE(LeNet5::layer_input_shape<9> == Shape<120>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<9> == Shape<84>{});
  STATIC_REQUIRE(LeNet5::layer_input_shape<10> == Shape<84>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<10> == Shape<84>{});
  STATIC_REQUIRE(LeNet5::layer_input_shape<11> == Shape<84>{});
  STATIC_REQUIRE(LeNet5::layer_output_shape<11> == Shape<10>{});
  // Shapes do not depend on the batch: Workspace<N> holds N of each (activation<I + 1>
  // is layer I's output).
  using Conv2Output =
      std::remove_cvref_t<decltype(std::declval<cn::Workspace<LeNet5, 64>&>().activation<4>())>;
  STATIC_REQUIRE(std::is_same_v<Conv2Output, cn::Tensor<Shape<64, 16, 10, 10>>>);
}

TEST_CASE("LeNet-5: multiply-adds per sample", "[sequential][metadata]") {
  // Conv: O*OH*OW * C*K*K; Linear: Out*In.
  constexpr std::size_t conv1 = 6 * 28 * 28 * 1 * 5 * 5;     // 117,600
  constexpr std::size_t conv2 = 16 * 10 * 10 * 6 * 5 * 5;    // 240,000
  constexpr std::size_t fc1 = 120 * 400, fc2 = 84 * 120, fc3 = 10 * 84;  // 48,000 10,080 840
  STATIC_REQUIRE(LeNet5::layer_metadata[0].macs == conv1);
  STATIC_REQUIRE(LeNet5::layer_metadata[3].macs == conv2);
  STATIC_REQUIRE(LeNet5::layer_metadata[7].macs == fc1);
  STATIC_REQUIRE(LeNet5::layer_metadata[9].macs == fc2);
  STATIC_REQUIRE(LeNet5::layer_metadata[11].macs == fc3);
  for (std::size_t i : {1, 2, 4, 5, 6, 8, 10}) {
    INFO("layer " << i << " (activation, pool or flatten) counts no multiply-adds");
    CHECK(LeNet5::layer_metadata[i].macs == 0);
  }
  STATIC_REQUIRE(LeNet5::macs == conv1 + conv2 + fc1 + fc2 + fc3);
  STATIC_REQUIRE(LeNet5::macs == 416'520);
}

TEST_CASE("LeNet-5: activation memory", "[sequential][metadata]") {
  // Input 784; conv1 and its ReLU 2*4704; pool1 1176; conv2 and ReLU 2*1600; pool2 and
  // flatten 2*400; fc1 and ReLU 2*120; fc2 and ReLU 2*84; fc3 10.
  constexpr std::size_t elements = 784 + 2 * 4704 + 1176 + 2 * 1600 + 2 * 400 + 2 * 120 +
                                   2 * 84 + 10;  // 15,786
  STATIC_REQUIRE(LeNet5::activation_bytes == elements * sizeof(float));
  STATIC_REQUIRE(LeNet5::activation_bytes == 63'144);
  STATIC_REQUIRE(LeNet5::max_activation_size == 6 * 28 * 28);
  // The workspace holds the activations of the batch (and two gradient buffers).
  STATIC_REQUIRE(sizeof(cn::Workspace<LeNet5, 1>) >= LeNet5::activation_bytes);
  STATIC_REQUIRE(sizeof(cn::Workspace<LeNet5, 64>) >= 64 * LeNet5::activation_bytes);
}

// ---- receptive field -------------------------------------------------------------------

namespace {

// The receptive field recurrence, r += (k - 1) * j, j *= s, by hand for LeNet-5:
//   conv1 k5 s1: r = 1 + 4*1 = 5,   j = 1
//   relu       : r = 5,             j = 1
//   pool1 k2 s2: r = 5 + 1*1 = 6,   j = 2
//   conv2 k5 s1: r = 6 + 4*2 = 14,  j = 2
//   relu       : r = 14,            j = 2
//   pool2 k2 s2: r = 14 + 1*2 = 16, j = 4
//   flatten    : r = 16,            j = 4;  from fc1 on every output sees the whole input.
constexpr std::size_t lenet_rf[] = {5, 5, 6, 14, 14, 16, 16};
constexpr std::size_t lenet_jump[] = {1, 1, 2, 2, 2, 4, 4};

// LeNet-5's geometry with smooth, dense layers (Tanh, AvgPool2d) so that every
// input pixel in the receptive field gets a nonzero gradient: the support of
// d(one output)/d(input) is then exactly the receptive field.
template <class... Layers>
struct Twin : cn::Sequential<cn::Input<1, 28, 28>, Layers...> {};
using C1 = cn::Conv2d<6, 5, cn::Padding<2>>;
using P1 = cn::AvgPool2d<2>;
using C2 = cn::Conv2d<16, 5>;

struct Support {
  static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();
  std::size_t first_row = none, last_row = 0, first_col = none, last_col = 0;
  std::size_t rows() const { return last_row - first_row + 1; }
  std::size_t cols() const { return last_col - first_col + 1; }
};

// Rows and columns of the input that reach output element (0, row, col).
template <class Net>
Support measured_support(std::size_t row, std::size_t col) {
  auto net = std::make_unique<Net>();
  init_parameters(*net, 5);
  auto ws = cn::make_workspace<1>(*net);
  ct::fill_uniform(ct::span_of(ws->input()), 14);
  net->forward(*ws);
  cn::Tensor<cn::batched_t<1, typename Net::output_shape_t>> dy;
  dy(0, 0, row, col) = 1.0f;
  net->backward(*ws, dy, cn::InputGradient::compute);
  Support s;
  const auto dx = ws->input_grad();
  for (std::size_t r = 0; r < 28; ++r) {
    for (std::size_t c = 0; c < 28; ++c) {
      if (dx(0, 0, r, c) == 0.0f) continue;
      s.first_row = std::min(s.first_row, r);
      s.last_row = std::max(s.last_row, r);
      s.first_col = std::min(s.first_col, c);
      s.last_col = std::max(s.last_col, c);
    }
  }
  return s;
}

// Receptive field and jump of `Net`'s output, measured at an element whose window
// lies inside the input (no padding clips it) and at its lower-right neighbour.
template <class Net>
void check_measured_rf(std::size_t row, std::size_t col, std::size_t rf, std::size_t jump) {
  const Support here = measured_support<Net>(row, col);
  const Support next = measured_support<Net>(row + 1, col + 1);
  CHECK(here.rows() == rf);
  CHECK(here.cols() == rf);
  CHECK(next.first_row - here.first_row == jump);
  CHECK(next.first_col - here.first_col == jump);
}

}  // namespace

TEST_CASE("LeNet-5: receptive field of every layer", "[sequential][metadata][receptive_field]") {
  for (std::size_t i = 0; i < 7; ++i) {
    INFO("layer " << i);
    CHECK(LeNet5::layer_metadata[i].rf_rows == lenet_rf[i]);
    CHECK(LeNet5::layer_metadata[i].rf_cols == lenet_rf[i]);
    CHECK(LeNet5::layer_metadata[i].jump_rows == lenet_jump[i]);
    CHECK(LeNet5::layer_metadata[i].jump_cols == lenet_jump[i]);
    CHECK_FALSE(LeNet5::layer_metadata[i].rf_global);
  }
  for (std::size_t i = 7; i < LeNet5::layer_count; ++i) {
    INFO("layer " << i);
    CHECK(LeNet5::layer_metadata[i].rf_global);
  }

  SECTION("the same geometry with dense layers, measured by backward") {
    // The twin's metadata agrees with LeNet-5's, so the measurement speaks for both.
    using Full = Twin<C1, cn::Tanh, P1, C2, cn::Tanh, P1>;
    for (std::size_t i = 0; i < 6; ++i) {
      CHECK(Full::layer_metadata[i].rf_rows == LeNet5::layer_metadata[i].rf_rows);
      CHECK(Full::layer_metadata[i].jump_rows == LeNet5::layer_metadata[i].jump_rows);
    }
    // Output sizes 28, 14, 10, 5: the elements below have windows inside the input.
    check_measured_rf<Twin<C1>>(14, 14, lenet_rf[0], lenet_jump[0]);
    check_measured_rf<Twin<C1, cn::Tanh, P1>>(6, 6, lenet_rf[2], lenet_jump[2]);
    check_measured_rf<Twin<C1, cn::Tanh, P1, C2>>(4, 4, lenet_rf[3], lenet_jump[3]);
    check_measured_rf<Full>(2, 2, lenet_rf[5], lenet_jump[5]);
  }
}
