// bench/bench_networks.cpp
// Whole networks: A = LeNet-5, B = the teaching ConvNet, C = the stride-2
// simple_cnn. For each: batch-1 inference latency, batch-64 inference throughput,
// and a batch-64 training step (forward, softmax cross-entropy, backward, Adam),
// on 1 and 2 threads, with ctcnn::CrossEntropyLoss and ctcnn::Adam. Counters: images/s.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>

#include <ctcnn/train/loss.hpp>
#include <ctcnn/train/optimizer.hpp>

#include "bench_common.hpp"

namespace bench {
namespace {

namespace cn = ctcnn;

// The 2-thread figures depend on OpenMP's wait policy: recorded in the output's
// context, which the report prints.
const bool wait_policy_recorded = [] {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  benchmark::AddCustomContext("omp_wait_policy",
                              policy ? policy : "unset (libgomp's default: spin, then sleep)");
  return true;
}();

struct LeNet5 : cn::Sequential<cn::Input<1, 28, 28>,
                               cn::Conv2d<6, 5, cn::Padding<2>>, cn::ReLU, cn::MaxPool2d<2>,
                               cn::Conv2d<16, 5>, cn::ReLU, cn::MaxPool2d<2>,
                               cn::Flatten,
                               cn::Linear<120>, cn::ReLU,
                               cn::Linear<84>, cn::ReLU,
                               cn::Linear<10>> {};

struct TeachingConvNet : cn::Sequential<cn::Input<1, 28, 28>,
                                        cn::Conv2d<16, 5>, cn::ReLU,
                                        cn::Conv2d<32, 5>, cn::ReLU,
                                        cn::Flatten, cn::Linear<10>, cn::Softmax> {};

using Down = cn::Stride<2>;
using Pad1 = cn::Padding<1>;
struct SimpleCnn : cn::Sequential<cn::Input<1, 28, 28>,
                                  cn::Conv2d<4, 3, Down, Pad1>, cn::ReLU,
                                  cn::Conv2d<8, 3, Down, Pad1>, cn::ReLU,
                                  cn::Conv2d<16, 3, Down, Pad1>, cn::ReLU,
                                  cn::Conv2d<32, 3, Down, Pad1>, cn::ReLU,
                                  cn::Conv2d<10, 3, Down, Pad1>, cn::Flatten> {};

// Names the report prints.
struct A : LeNet5 {
  static constexpr bool softmax_output = false;
};
struct B : TeachingConvNet {
  static constexpr bool softmax_output = true;  // ends in Softmax: the loss sees probabilities
};
struct C : SimpleCnn {
  static constexpr bool softmax_output = false;
};

template <class Net>
std::unique_ptr<Net> make_net() {
  auto net = std::make_unique<Net>();
  std::uint32_t seed = 10;
  net->for_each_parameter([&](std::size_t, const cn::ParameterSpec& spec, float* values, float*) {
    std::size_t fan_in = 1;
    for (std::size_t d = 1; d < spec.rank; ++d) fan_in *= spec.dims[d];
    const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
    const auto v = random_vector(spec.size(), ++seed, -bound, bound);
    std::copy(v.begin(), v.end(), values);
  });
  return net;
}

template <class Net, std::size_t N>
auto make_input() {
  auto x = std::make_unique<cn::Tensor<cn::batched_t<N, typename Net::input_shape_t>>>();
  const auto v = random_vector(x->size(), 7, 0.0f, 1.0f);
  std::copy(v.begin(), v.end(), x->begin());
  return x;
}

template <class Net>
void set_images(benchmark::State& state, std::size_t n) {
  state.counters["images/s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

template <class Net>
void net_infer_b1(benchmark::State& state) {
  set_threads(1);
  auto net = make_net<Net>();
  cn::Tensor<typename Net::input_shape_t> sample;
  const auto v = random_vector(sample.size(), 7, 0.0f, 1.0f);
  std::copy(v.begin(), v.end(), sample.begin());
  for (auto _ : state) {
    auto y = net->forward(sample);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_images<Net>(state, 1);
}

template <class Net>
void net_infer_b64(benchmark::State& state) {
  set_threads(static_cast<int>(state.range(0)));
  auto net = make_net<Net>();
  auto x = make_input<Net, 64>();
  for (auto _ : state) {
    auto y = net->forward(*x);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  set_images<Net>(state, 64);
}

// The loss gradient: ctcnn::CrossEntropyLoss on logits (A, C); B ends in Softmax,
// so its cross-entropy gradient w.r.t. the probabilities is -onehot / (N p).
template <class Net, std::size_t N, class Out>
void loss_grad(const Out& y, const ctcnn::Tensor<ctcnn::Shape<N>, std::int32_t>& labels, Out& dy) {
  constexpr std::size_t K = Net::output_shape_t::size;
  if constexpr (Net::softmax_output) {
    for (std::size_t n = 0; n < N; ++n) {
      float* dn = dy.data() + n * K;
      for (std::size_t k = 0; k < K; ++k) dn[k] = 0.0f;
      const auto t = static_cast<std::size_t>(labels[n]);
      dn[t] = -1.0f / (std::max(y[n * K + t], 1e-12f) * static_cast<float>(N));
    }
  } else {
    ctcnn::CrossEntropyLoss{}(y, labels, dy);
  }
}

template <class Net>
void net_train_b64(benchmark::State& state) {
  constexpr std::size_t N = 64;
  set_threads(static_cast<int>(state.range(0)));
  auto net = make_net<Net>();
  auto x = make_input<Net, N>();
  auto ws = cn::make_workspace<N>(*net);
  auto dy = std::make_unique<cn::Tensor<cn::batched_t<N, typename Net::output_shape_t>>>();
  ctcnn::Tensor<ctcnn::Shape<N>, std::int32_t> labels;
  for (std::size_t n = 0; n < N; ++n) labels[n] = static_cast<std::int32_t>((n * 7) % 10);
  auto adam = std::make_unique<ctcnn::Adam<Net>>(*net);
  for (auto _ : state) {
    adam->zero_grad();
    const auto& y = net->forward(*x, *ws);
    loss_grad<Net, N>(y, labels, *dy);
    net->backward(*ws, *dy);
    adam->step();
    benchmark::ClobberMemory();
  }
  set_images<Net>(state, N);
}

#define CTCNN_NET_BENCH(Net)                                                                  \
  BENCHMARK_TEMPLATE(net_infer_b1, Net)->Unit(benchmark::kMicrosecond);                       \
  BENCHMARK_TEMPLATE(net_infer_b64, Net)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime(); \
  BENCHMARK_TEMPLATE(net_train_b64, Net)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();

CTCNN_NET_BENCH(A)
CTCNN_NET_BENCH(B)
CTCNN_NET_BENCH(C)

}  // namespace
}  // namespace bench
