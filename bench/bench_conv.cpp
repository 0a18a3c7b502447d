// bench/bench_conv.cpp
// Conv layers S1..S7, forward / backward-data / backward-weights, at N=1 and N=64,
// three implementations side by side on one thread:
//   ctcnn_*   the layer's kernels, specialised for the geometry at compile time
//   ref_*     bench/reference_conv.hpp, shape known only at run time
//   onednn_*  oneDNN's convolution primitive, format_tag::any (its own layouts,
//             reorders done before timing)
// Counter FLOP/s = 2 * MACs * N per iteration (the layer's constexpr MAC count;
// the three directions have the same count). Before timing, ctcnn's results are
// checked against the reference so a wrong kernel cannot post a figure. Every
// buffer is 64-byte aligned (bench_common.hpp: Floats), as a network's
// activations are and as oneDNN's memory is.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_common.hpp"

#ifdef CTCNN_BENCH_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace bench {
namespace {

template <class S>
struct ConvData {
  static constexpr auto G = S::G;
  std::size_t n;
  Floats x, w, b, y, dy, dx, dw, db;
  explicit ConvData(std::size_t batch)
      : n(batch),
        x(random_vector(batch * G.in_size(), 1)),
        w(random_vector(G.weight_size(), 2, -0.2f, 0.2f)),
        b(random_vector(G.out_c, 3)),
        y(batch * G.out_size()),
        dy(random_vector(batch * G.out_size(), 4)),
        dx(batch * G.in_size()),
        dw(G.weight_size()),
        db(G.out_c) {}
};

void set_flops(benchmark::State& state, std::size_t macs_per_sample, std::size_t batch) {
  state.counters["FLOP/s"] = benchmark::Counter(
      2.0 * static_cast<double>(macs_per_sample) * static_cast<double>(batch),
      benchmark::Counter::kIsIterationInvariantRate);
}

// Largest |a - b| relative to max(1, |b|).
double max_rel_diff(const Floats& a, const Floats& b) {
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i)
    m = std::max(m, std::abs(static_cast<double>(a[i]) - b[i]) /
                        std::max(1.0, std::abs(static_cast<double>(b[i]))));
  return m;
}

// Checks ctcnn's three kernels against the reference on two samples.
template <class S>
bool ctcnn_matches_reference(benchmark::State& state) {
  constexpr auto G = S::G;
  ConvData<S> d(2);
  Floats ry(d.y.size()), rdx(d.dx.size()), rdw(d.dw.size()), rdb(d.db.size());
  ctcnn::kernels::conv2d_forward<G>(d.x.data(), d.y.data(), d.w.data(), d.b.data(), 2);
  ctcnn::kernels::conv2d_backward_data<G>(d.dy.data(), d.dx.data(), d.w.data(), 2);
  ctcnn::kernels::conv2d_backward_weights<G>(d.x.data(), d.dy.data(), d.dw.data(), d.db.data(),
                                             2);
  reference_conv_forward(S::dims, d.x.data(), d.w.data(), d.b.data(), ry.data(), 2);
  reference_conv_backward_data(S::dims, d.dy.data(), d.w.data(), rdx.data(), 2);
  reference_conv_backward_weights(S::dims, d.x.data(), d.dy.data(), rdw.data(), rdb.data(), 2);
  const double e = std::max({max_rel_diff(d.y, ry), max_rel_diff(d.dx, rdx),
                             max_rel_diff(d.dw, rdw), max_rel_diff(d.db, rdb)});
  if (e > 1e-3) {
    state.SkipWithError(("ctcnn kernel differs from the reference by " + std::to_string(e)).c_str());
    return false;
  }
  return true;
}

template <class S>
void ctcnn_fwd(benchmark::State& state) {
  set_threads(1);
  if (!ctcnn_matches_reference<S>(state)) return;
  ConvData<S> d(static_cast<std::size_t>(state.range(0)));
  const Floats params = [&] {
    Floats p(d.w);
    p.insert(p.end(), d.b.begin(), d.b.end());
    return p;
  }();
  for (auto _ : state) {
    S::layer::forward(d.x.data(), d.y.data(), params.data(), d.n);
    benchmark::DoNotOptimize(d.y.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, S::macs, d.n);
}

template <class S>
void ctcnn_bwd_data(benchmark::State& state) {
  set_threads(1);
  ConvData<S> d(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    ctcnn::kernels::conv2d_backward_data<S::G>(d.dy.data(), d.dx.data(), d.w.data(), d.n);
    benchmark::DoNotOptimize(d.dx.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, S::macs, d.n);
}

template <class S>
void ctcnn_bwd_weights(benchmark::State& state) {
  set_threads(1);
  ConvData<S> d(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    ctcnn::kernels::conv2d_backward_weights<S::G>(d.x.data(), d.dy.data(), d.dw.data(),
                                                  d.db.data(), d.n);
    benchmark::DoNotOptimize(d.dw.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, S::macs, d.n);
}

template <class S>
void ref_fwd(benchmark::State& state) {
  ConvData<S> d(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    reference_conv_forward(S::dims, d.x.data(), d.w.data(), d.b.data(), d.y.data(), d.n);
    benchmark::DoNotOptimize(d.y.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, S::macs, d.n);
}

template <class S>
void ref_bwd_data(benchmark::State& state) {
  ConvData<S> d(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    reference_conv_backward_data(S::dims, d.dy.data(), d.w.data(), d.dx.data(), d.n);
    benchmark::DoNotOptimize(d.dx.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, S::macs, d.n);
}

template <class S>
void ref_bwd_weights(benchmark::State& state) {
  ConvData<S> d(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    reference_conv_backward_weights(S::dims, d.x.data(), d.dy.data(), d.dw.data(), d.db.data(),
                                    d.n);
    benchmark::DoNotOptimize(d.dw.data());
    benchmark::ClobberMemory();
  }
  set_flops(state, S::macs, d.n);
}

#ifdef CTCNN_BENCH_HAVE_DNNL
// oneDNN 2.6 (the Debian package): op descriptors with format_tag::any let the
// library choose its blocked layouts; user data (PyTorch layouts) is reordered
// into them once, outside the timed loop.
struct Dnnl {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
};
Dnnl& dnnl_env() {
  static Dnnl env;
  return env;
}

template <class S>
struct DnnlConv {
  using md = dnnl::memory::desc;
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  static constexpr auto G = S::G;
  dnnl::memory::dims src, wei, bia, dst, strides, pad;
  dnnl::convolution_forward::primitive_desc fwd;

  explicit DnnlConv(std::size_t batch)
      : src{dim(batch), dim(G.in_c), dim(G.in_h), dim(G.in_w)},
        wei{dim(G.out_c), dim(G.in_c), dim(G.kernel_h), dim(G.kernel_w)},
        bia{dim(G.out_c)},
        dst{dim(batch), dim(G.out_c), dim(G.out_h), dim(G.out_w)},
        strides{dim(G.stride_h), dim(G.stride_w)},
        pad{dim(G.pad_top), dim(G.pad_left)},
        fwd(dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training,
                                            dnnl::algorithm::convolution_direct, any(src),
                                            any(wei), any(bia), any(dst), strides, pad, pad),
            dnnl_env().engine) {}

  static dnnl::memory::dim dim(std::size_t v) { return static_cast<dnnl::memory::dim>(v); }
  static md any(const dnnl::memory::dims& d) { return md(d, dt::f32, tag::any); }
  static tag plain(const dnnl::memory::dims& d) {
    return d.size() == 4 ? tag::abcd : tag::a;
  }
  // A memory in the primitive's layout holding `values` (given in PyTorch layout).
  static dnnl::memory load(const md& desc, const dnnl::memory::dims& d, Floats& values) {
    auto& env = dnnl_env();
    dnnl::memory user(md(d, dt::f32, plain(d)), env.engine, values.data());
    dnnl::memory m(desc, env.engine);
    dnnl::reorder(user, m).execute(env.stream, user, m);
    env.stream.wait();
    return m;
  }
  static void store(dnnl::memory& m, const dnnl::memory::dims& d, Floats& values) {
    auto& env = dnnl_env();
    dnnl::memory user(md(d, dt::f32, plain(d)), env.engine, values.data());
    dnnl::reorder(m, user).execute(env.stream, m, user);
    env.stream.wait();
  }
};

template <class S>
void onednn_fwd(benchmark::State& state) {
  set_threads(1);
  auto& env = dnnl_env();
  const auto n = static_cast<std::size_t>(state.range(0));
  ConvData<S> d(n);
  DnnlConv<S> c(n);
  auto x = c.load(c.fwd.src_desc(), c.src, d.x);
  auto w = c.load(c.fwd.weights_desc(), c.wei, d.w);
  auto b = c.load(c.fwd.bias_desc(), c.bia, d.b);
  dnnl::memory y(c.fwd.dst_desc(), env.engine);
  dnnl::convolution_forward prim(c.fwd);
  const std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}};
  prim.execute(env.stream, args);
  env.stream.wait();
  if (n == 1) {  // the set-up is right: same result as the reference
    Floats ry(d.y.size());
    reference_conv_forward(S::dims, d.x.data(), d.w.data(), d.b.data(), ry.data(), n);
    c.store(y, c.dst, d.y);
    if (max_rel_diff(d.y, ry) > 1e-3) {
      state.SkipWithError("oneDNN result differs from the reference");
      return;
    }
  }
  for (auto _ : state) {
    prim.execute(env.stream, args);
    env.stream.wait();
  }
  set_flops(state, S::macs, n);
}

template <class S>
void onednn_bwd_data(benchmark::State& state) {
  set_threads(1);
  auto& env = dnnl_env();
  const auto n = static_cast<std::size_t>(state.range(0));
  ConvData<S> d(n);
  DnnlConv<S> c(n);
  dnnl::convolution_backward_data::primitive_desc pd(
      dnnl::convolution_backward_data::desc(dnnl::algorithm::convolution_direct, c.any(c.src),
                                            c.any(c.wei), c.any(c.dst), c.strides, c.pad, c.pad),
      env.engine, c.fwd);
  auto dy = c.load(pd.diff_dst_desc(), c.dst, d.dy);
  auto w = c.load(pd.weights_desc(), c.wei, d.w);
  dnnl::memory dx(pd.diff_src_desc(), env.engine);
  dnnl::convolution_backward_data prim(pd);
  const std::unordered_map<int, dnnl::memory> args{
      {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}};
  for (auto _ : state) {
    prim.execute(env.stream, args);
    env.stream.wait();
  }
  set_flops(state, S::macs, n);
}

template <class S>
void onednn_bwd_weights(benchmark::State& state) {
  set_threads(1);
  auto& env = dnnl_env();
  const auto n = static_cast<std::size_t>(state.range(0));
  ConvData<S> d(n);
  DnnlConv<S> c(n);
  dnnl::convolution_backward_weights::primitive_desc pd(
      dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, c.any(c.src),
                                               c.any(c.wei), c.any(c.bia), c.any(c.dst),
                                               c.strides, c.pad, c.pad),
      env.engine, c.fwd);
  auto x = c.load(pd.src_desc(), c.src, d.x);
  auto dy = c.load(pd.diff_dst_desc(), c.dst, d.dy);
  dnnl::memory dw(pd.diff_weights_desc(), env.engine);
  dnnl::memory db(pd.diff_bias_desc(), env.engine);
  dnnl::convolution_backward_weights prim(pd);
  const std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, x},
                                                   {DNNL_ARG_DIFF_DST, dy},
                                                   {DNNL_ARG_DIFF_WEIGHTS, dw},
                                                   {DNNL_ARG_DIFF_BIAS, db}};
  for (auto _ : state) {
    prim.execute(env.stream, args);
    env.stream.wait();
  }
  set_flops(state, S::macs, n);
}
#endif

// The plain loop at N=64 on the big shapes takes seconds per iteration: one
// repetition is enough to place it, whatever --benchmark_repetitions says.
#define CTCNN_CONV_IMPL(impl, S)                                                           \
  BENCHMARK_TEMPLATE(impl##_fwd, S)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);       \
  BENCHMARK_TEMPLATE(impl##_bwd_data, S)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);  \
  BENCHMARK_TEMPLATE(impl##_bwd_weights, S)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond);
#define CTCNN_CONV_REF(S)                                                                     \
  BENCHMARK_TEMPLATE(ref_fwd, S)->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond)->Repetitions(1); \
  BENCHMARK_TEMPLATE(ref_bwd_data, S)                                                         \
      ->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond)->Repetitions(1);                       \
  BENCHMARK_TEMPLATE(ref_bwd_weights, S)                                                      \
      ->Arg(1)->Arg(64)->Unit(benchmark::kMicrosecond)->Repetitions(1);
#ifdef CTCNN_BENCH_HAVE_DNNL
#define CTCNN_CONV_DNNL(S) CTCNN_CONV_IMPL(onednn, S)
#else
#define CTCNN_CONV_DNNL(S)
#endif
#define CTCNN_CONV_ALL(S) CTCNN_CONV_IMPL(ctcnn, S) CTCNN_CONV_DNNL(S) CTCNN_CONV_REF(S)

CTCNN_CONV_ALL(S1)
CTCNN_CONV_ALL(S2)
CTCNN_CONV_ALL(S3)
CTCNN_CONV_ALL(S4)
CTCNN_CONV_ALL(S5)
CTCNN_CONV_ALL(S6)
CTCNN_CONV_ALL(S7)

}  // namespace
}  // namespace bench
