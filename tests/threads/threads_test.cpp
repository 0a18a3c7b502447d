// Threads: Sequential splits a batch into a fixed number of chunks (at most 8,
// whatever the thread count) and adds the chunks' parameter gradients in chunk
// order, so training on 1 thread and on 2 threads must give bit-identical
// outputs, gradients and weights. Also checked: the chunked batch agrees with the
// same samples run one at a time (the chunk bookkeeping puts every sample and
// gradient where it belongs), including the input gradient.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "ctcnn/ctcnn.hpp"
#include "ctcnn/train/loss.hpp"
#include "ctcnn/train/optimizer.hpp"
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

struct ConvNet : cn::Sequential<
    cn::Input<1, 28, 28>,
    cn::Conv2d<16, 5>, cn::ReLU,
    cn::Conv2d<32, 5>, cn::ReLU,
    cn::Flatten, cn::Linear<10>, cn::Softmax> {};

using Down = cn::Stride<2>;
using Pad1 = cn::Padding<1>;
struct SimpleCnn : cn::Sequential<
    cn::Input<1, 28, 28>,
    cn::Conv2d<4, 3, Down, Pad1>, cn::ReLU,
    cn::Conv2d<8, 3, Down, Pad1>, cn::ReLU,
    cn::Conv2d<16, 3, Down, Pad1>, cn::ReLU,
    cn::Conv2d<32, 3, Down, Pad1>, cn::ReLU,
    cn::Conv2d<10, 3, Down, Pad1>, cn::Flatten> {};

// Other kernels on the path: reflect padding, dilation, average pooling, tanh.
struct Mixed : cn::Sequential<
    cn::Input<3, 17, 15>,
    cn::Conv2d<8, 3, cn::Padding<1>, cn::PadMode<cn::Reflect>>, cn::Tanh,
    cn::AvgPool2d<2>,
    cn::Conv2d<12, 3, cn::Dilation<2>, cn::Padding<2>>, cn::ReLU,
    cn::GlobalAvgPool2d, cn::Linear<5>> {};

int threads_in_use() {
#ifdef _OPENMP
  int n = 0;
#pragma omp parallel
  {
#pragma omp single
    n = omp_get_num_threads();
  }
  return n;
#else
  return 1;
#endif
}

void set_threads(int n) {
#ifdef _OPENMP
  omp_set_num_threads(n);
#else
  (void)n;
#endif
}

// Everything a run leaves behind, compared bit for bit.
struct RunResult {
  std::vector<float> outputs, gradients, parameters, input_gradient;
};

template <class Net>
void init(Net& net, std::uint32_t seed) {
  std::uint32_t s = seed;
  net.for_each_parameter([&](std::size_t, const cn::ParameterSpec& spec, float* values, float*) {
    std::size_t fan_in = 1;
    for (std::size_t d = 1; d < spec.rank; ++d) fan_in *= spec.dims[d];
    ct::fill_uniform(std::span<float>(values, spec.size()), ++s, -ct::default_init_bound(fan_in),
                     ct::default_init_bound(fan_in));
  });
}

// `steps` training steps (forward, cross-entropy, backward with the input
// gradient, optimizer) on fixed data with `threads` threads.
template <class Net, std::size_t N, class Optimizer>
RunResult train(int threads, int steps) {
  constexpr std::size_t classes = Net::output_shape_t::size;
  set_threads(threads);
  auto net = std::make_unique<Net>();
  init(*net, 100);
  auto opt = std::make_unique<Optimizer>(*net);
  auto ws = cn::make_workspace<N>(*net);
  auto x = std::make_unique<cn::Tensor<cn::batched_t<N, typename Net::input_shape_t>>>();
  ct::fill_uniform(ct::span_of(*x), 7, 0.0f, 1.0f);
  cn::Tensor<cn::Shape<N>, std::int32_t> targets;
  for (std::size_t n = 0; n < N; ++n) targets[n] = static_cast<std::int32_t>((n * 7 + 3) % classes);
  // Every network here ends in a flat (classes) output: the loss takes it as is.
  auto dy = std::make_unique<cn::Tensor<cn::batched_t<N, typename Net::output_shape_t>>>();
  RunResult r;
  for (int step = 0; step < steps; ++step) {
    opt->zero_grad();
    const auto& y = net->forward(*x, *ws);
    cn::CrossEntropyLoss{}(y, targets, *dy);
    net->backward(*ws, *dy, cn::InputGradient::compute);
    if (step + 1 == steps) {
      r.outputs.assign(y.begin(), y.end());
      r.gradients.assign(net->gradients().begin(), net->gradients().end());
      const auto dx = ws->input_grad();
      r.input_gradient.assign(dx.begin(), dx.end());
    }
    opt->step();
  }
  r.parameters.assign(net->parameters().begin(), net->parameters().end());
  set_threads(1);
  return r;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

template <class Net, std::size_t N, class Optimizer>
void check_thread_invariance(int steps) {
  const RunResult one = train<Net, N, Optimizer>(1, steps);
  const RunResult two = train<Net, N, Optimizer>(2, steps);
  // The runs differ in something: the weights moved, the gradients are not zero.
  const RunResult none = train<Net, N, Optimizer>(1, 0);
  CHECK_FALSE(bitwise_equal(one.parameters, none.parameters));
  CHECK(bitwise_equal(one.outputs, two.outputs));
  CHECK(bitwise_equal(one.gradients, two.gradients));
  CHECK(bitwise_equal(one.input_gradient, two.input_gradient));
  CHECK(bitwise_equal(one.parameters, two.parameters));
}

}  // namespace

#ifdef _OPENMP
TEST_CASE("threads: the runtime gives the thread count asked for", "[threads]") {
  set_threads(2);
  CHECK(threads_in_use() == 2);
  set_threads(1);
  CHECK(threads_in_use() == 1);
}
#endif

TEST_CASE("threads: LeNet-5, Adam, 1 and 2 threads bit-identical", "[threads][lenet5]") {
  check_thread_invariance<LeNet5, 64, cn::Adam<LeNet5>>(4);
}

TEST_CASE("threads: LeNet-5, SGD, uneven chunks (N = 13)", "[threads][lenet5]") {
  check_thread_invariance<LeNet5, 13, cn::SGD<LeNet5>>(3);
}

TEST_CASE("threads: teaching ConvNet, Adam, 1 and 2 threads bit-identical", "[threads]") {
  check_thread_invariance<ConvNet, 64, cn::Adam<ConvNet>>(3);
}

TEST_CASE("threads: simple_cnn (stride 2), SGD, 1 and 2 threads bit-identical", "[threads]") {
  check_thread_invariance<SimpleCnn, 64, cn::SGD<SimpleCnn>>(4);
}

TEST_CASE("threads: reflect padding, dilation, pools, 1 and 2 threads bit-identical",
          "[threads]") {
  check_thread_invariance<Mixed, 20, cn::Adam<Mixed>>(3);
}

// The chunked batch against the same samples one by one (batch-1 workspaces, a
// single chunk): outputs and input gradients per sample, parameter gradients
// summed over samples (the order of the sum differs, hence a tolerance).
template <class Net, std::size_t N>
void check_chunks_match_samples(int threads) {
  set_threads(threads);
  auto net = std::make_unique<Net>();
  init(*net, 5);
  auto ws = cn::make_workspace<N>(*net);
  auto x = std::make_unique<cn::Tensor<cn::batched_t<N, typename Net::input_shape_t>>>();
  ct::fill_uniform(ct::span_of(*x), 11);
  auto dy = std::make_unique<cn::Tensor<cn::batched_t<N, typename Net::output_shape_t>>>();
  ct::fill_uniform(ct::span_of(*dy), 12);
  net->zero_grad();
  const auto& y = net->forward(*x, *ws);
  net->backward(*ws, *dy, cn::InputGradient::compute);
  const std::vector<float> batch_grads(net->gradients().begin(), net->gradients().end());

  constexpr std::size_t in = Net::input_shape_t::size, out = Net::output_shape_t::size;
  auto ws1 = cn::make_workspace<1>(*net);
  cn::Tensor<cn::batched_t<1, typename Net::input_shape_t>> x1;
  cn::Tensor<cn::batched_t<1, typename Net::output_shape_t>> dy1;
  std::vector<double> sum(Net::parameter_count, 0.0);
  double worst_out = 0, worst_dx = 0;
  for (std::size_t n = 0; n < N; ++n) {
    std::copy(x->data() + n * in, x->data() + (n + 1) * in, x1.data());
    std::copy(dy->data() + n * out, dy->data() + (n + 1) * out, dy1.data());
    net->zero_grad();
    const auto& y1 = net->forward(x1, *ws1);
    net->backward(*ws1, dy1, cn::InputGradient::compute);
    for (std::size_t i = 0; i < out; ++i)
      worst_out = std::max(worst_out, std::abs(double(y1[i]) - y[n * out + i]));
    const auto dx1 = ws1->input_grad();
    const auto dx = ws->input_grad();
    for (std::size_t i = 0; i < in; ++i)
      worst_dx = std::max(worst_dx, std::abs(double(dx1[i]) - dx[n * in + i]));
    for (std::size_t i = 0; i < Net::parameter_count; ++i) sum[i] += net->gradients()[i];
  }
  double worst_grad = 0, scale = 0;
  for (std::size_t i = 0; i < Net::parameter_count; ++i) {
    worst_grad = std::max(worst_grad, std::abs(sum[i] - batch_grads[i]));
    scale = std::max(scale, std::abs(sum[i]));
  }
  set_threads(1);
  CHECK(scale > 0.0);
  CHECK(worst_out <= 1e-5);
  CHECK(worst_dx <= 1e-5);
  CHECK(worst_grad <= 1e-5 * scale);
}

// Inference (forward(x), no workspace) shares its chunks out evenly among the
// threads, so their number and sizes follow the thread count; no sample's
// output may depend on them. Checked against the workspace forward, whose
// chunks do not depend on the thread count.
template <class Net, std::size_t N>
void check_inference_thread_invariance() {
  using Output = cn::Tensor<cn::batched_t<N, typename Net::output_shape_t>>;
  auto net = std::make_unique<Net>();
  init(*net, 21);
  auto x = std::make_unique<cn::Tensor<cn::batched_t<N, typename Net::input_shape_t>>>();
  ct::fill_uniform(ct::span_of(*x), 22, 0.0f, 1.0f);
  auto ws = cn::make_workspace<N>(*net);
  const auto& y_ws = net->forward(*x, *ws);
  const std::vector<float> workspace(y_ws.begin(), y_ws.end());
  std::vector<float> by_threads[2];
  for (int threads = 1; threads <= 2; ++threads) {
    set_threads(threads);
    const std::unique_ptr<Output> y(new Output(net->forward(*x)));
    by_threads[threads - 1].assign(y->begin(), y->end());
  }
  set_threads(1);
  CHECK(std::any_of(workspace.begin(), workspace.end(), [](float v) { return v != 0.0f; }));
  CHECK(bitwise_equal(by_threads[0], workspace));
  CHECK(bitwise_equal(by_threads[1], workspace));
}

TEST_CASE("threads: inference, 1 and 2 threads bit-identical to the workspace forward",
          "[threads][inference]") {
  check_inference_thread_invariance<LeNet5, 64>();     // 11 chunks of up to 6; 12 on 2 threads
  check_inference_thread_invariance<SimpleCnn, 64>();  // chunks of 41 and 23; 32 and 32
  check_inference_thread_invariance<Mixed, 40>();    // 3 chunks of up to 16; 4 on 2 threads
}

TEST_CASE("threads: chunked batch agrees with samples run one by one", "[threads]") {
  check_chunks_match_samples<LeNet5, 21>(2);
  check_chunks_match_samples<Mixed, 10>(2);
  check_chunks_match_samples<ConvNet, 9>(1);
}
