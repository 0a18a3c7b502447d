// ctcnn/net/sequential.hpp
// Sequential<Input<Dims...>, Layers...>: a network as a type.
//
// The layer specs are bound one after the other to the shape the previous layer
// produces (a fold with O(1) state: the current shape), so every shape, offset
// and size below is a compile-time constant. A layer whose checks fail stops the
// fold: the first error is the only one.
//
// A network object owns its parameters and their gradients, in one flat buffer
// each (PyTorch layout per tensor, layers in order). Activations live in a
// Workspace<Net, N> for a batch of N samples: one fixed-size struct, so forward
// and backward allocate nothing. Forward is a fold over the layers, backward the
// reverse fold; both are expanded at compile time (no run-time layer list).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <tuple>
#include <type_traits>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <boost/hana/at.hpp>
#include <boost/hana/tuple.hpp>

#include "ctcnn/core/diagnostics.hpp"
#include "ctcnn/core/layer.hpp"
#include "ctcnn/core/shape.hpp"
#include "ctcnn/core/tensor.hpp"

namespace ctcnn {

// Opens a Sequential: the shape of one sample, e.g. Input<1, 28, 28> (C, H, W)
// or Input<784> for a flat input.
template <std::size_t... Dims>
struct Input {
  using shape = Shape<Dims...>;
};

namespace detail {

template <class... L>
struct type_list {};

template <class Head, class Tail>
struct prepend;
template <class Head, class... L>
struct prepend<Head, type_list<L...>> {
  using type = type_list<Head, L...>;
};

// Stands in for a type that is not a layer spec, after check_is_layer_spec has said so.
struct not_a_spec {
  template <class S>
  using bind = failed_layer<S>;
};

// The fold: bind each spec to the current shape.
template <std::size_t Position, class In, class... Specs>
struct bind_chain {
  using layers = type_list<>;
  using output_shape = In;
  static constexpr bool ok = true;
};
template <std::size_t Position, class In>
struct stopped_chain {
  using layers = type_list<>;
  using output_shape = In;
  static constexpr bool ok = false;
};
template <std::size_t Position, class In, class Spec, class... Rest>
struct bind_chain<Position, In, Spec, Rest...> {
  static constexpr bool is_spec =
      check_is_layer_spec<true, Spec, Position, LayerSpec<Spec>>::value;
  using head = typename std::conditional_t<is_spec, Spec, not_a_spec>::template bind<In>;
  using tail = std::conditional_t<head::ok,
                                  bind_chain<Position + 1, typename head::output_shape, Rest...>,
                                  stopped_chain<Position, In>>;
  using layers = typename prepend<head, typename tail::layers>::type;
  using output_shape = typename tail::output_shape;
  static constexpr bool ok = head::ok && tail::ok;
};

template <class L>
inline constexpr bool layer_ok = L::ok;

// Per-layer compile-time facts, for summaries and tests.
struct LayerMetadata {
  std::size_t parameters;
  std::size_t macs;
  std::size_t output_size;      // elements per sample
  std::size_t rf_rows, rf_cols;  // receptive field of one output element, in input pixels
  std::size_t jump_rows, jump_cols;  // input pixels between neighbouring outputs
  bool rf_global;                    // the output sees the whole input
};

template <class Layers>
struct network_traits;

template <class... L>
struct network_traits<type_list<L...>> {
  static constexpr std::size_t layer_count = sizeof...(L);
  using tuple = std::tuple<L...>;
  static constexpr std::array<std::size_t, sizeof...(L) + 1> parameter_offsets = [] {
    std::array<std::size_t, sizeof...(L) + 1> off{};
    const std::array<std::size_t, sizeof...(L)> counts{L::parameter_count...};
    for (std::size_t i = 0; i < counts.size(); ++i) off[i + 1] = off[i] + counts[i];
    return off;
  }();
  static constexpr std::size_t parameter_count = parameter_offsets.back();
  static constexpr std::size_t macs = (std::size_t{0} + ... + L::macs);

  static constexpr std::array<LayerMetadata, sizeof...(L)> metadata = [] {
    std::array<LayerMetadata, sizeof...(L)> meta{
        LayerMetadata{L::parameter_count, L::macs, L::output_shape::size, L::rf_kernel_rows,
                      L::rf_kernel_cols, L::rf_stride_rows, L::rf_stride_cols, L::rf_global}...};
    // r_out = r_in + (k - 1) * j_in ; j_out = j_in * s  (standard receptive-field recurrence)
    std::size_t r_rows = 1, r_cols = 1, j_rows = 1, j_cols = 1;
    bool global = false;
    for (auto& m : meta) {
      global = global || m.rf_global;
      r_rows += (m.rf_rows - 1) * j_rows;
      r_cols += (m.rf_cols - 1) * j_cols;
      j_rows *= m.jump_rows;
      j_cols *= m.jump_cols;
      m.rf_rows = r_rows;
      m.rf_cols = r_cols;
      m.jump_rows = j_rows;
      m.jump_cols = j_cols;
      m.rf_global = global;
    }
    return meta;
  }();
};

template <class Layers>
struct sequential_layers;
template <class... L>
struct sequential_layers<type_list<L...>> {};

}  // namespace detail

template <class Net, std::size_t N>
class Workspace;

namespace detail {
// A batch is cut into this many chunks at most, whatever the thread count: each
// chunk runs the whole chain of layers on its samples (on any thread) and keeps
// its parameter gradients apart; the chunks are then added in index order. So
// 1 thread and 8 threads give bit-identical gradients.
inline constexpr std::size_t max_batch_chunks = 8;
constexpr std::size_t batch_chunks(std::size_t n) { return n < max_batch_chunks ? n : max_batch_chunks; }
// First sample of chunk k of K over n samples (balanced: sizes differ by one at most).
constexpr std::size_t chunk_begin(std::size_t k, std::size_t chunks, std::size_t n) {
  return k * n / chunks;
}
// Layer L's forward, compiled once out of line and called by both training
// (forward over a workspace) and inference (forward(x)). Inlined into each, a
// network's forward kernels were compiled twice: with g++ 12 -O3 the inference
// copy of LeNet-5 alone was about a tenth of a training program's compile time.
// A call per layer and chunk costs nothing next to the layer's work.
template <class L>
[[gnu::noinline]] void layer_forward(const float* x, float* y, const float* params, std::size_t count) {
  L::forward(x, y, params, count);
}
}  // namespace detail

// Whether backward also computes the gradient w.r.t. the network's input.
enum class InputGradient { skip, compute };

template <class InputSpec, class... Specs>
struct Sequential {
  static_assert(sizeof(InputSpec) == 0,
                "ctcnn::Sequential: the first type must be Input<C, H, W> (or Input<Features>)");
};

template <std::size_t... InDims, class... Specs>
struct Sequential<Input<InDims...>, Specs...> {
 private:
  using chain = detail::bind_chain<0, Shape<InDims...>, Specs...>;

 public:
  // Sequential itself, also when the user names the network with a derived struct.
  using sequential_type = Sequential;
  static constexpr bool ok = chain::ok;
  // Empty when a layer failed its checks, so nothing below adds errors of its own.
  using layer_list = std::conditional_t<ok, typename chain::layers, detail::type_list<>>;
  using traits = detail::network_traits<layer_list>;
  using input_shape_t = Shape<InDims...>;
  using output_shape_t = typename chain::output_shape;
  static constexpr input_shape_t input_shape{};
  static constexpr output_shape_t output_shape{};
  static constexpr std::size_t layer_count = traits::layer_count;
  static constexpr std::size_t parameter_count = traits::parameter_count;
  static constexpr std::size_t macs = traits::macs;  // multiply-adds per sample, forward
  static constexpr auto& layer_metadata = traits::metadata;

  template <std::size_t I>
  using layer_t = std::tuple_element_t<I, typename traits::tuple>;
  template <std::size_t I>
  static constexpr typename layer_t<I>::input_shape layer_input_shape{};
  template <std::size_t I>
  static constexpr typename layer_t<I>::output_shape layer_output_shape{};
  template <std::size_t I>
  static constexpr std::size_t parameter_offset = traits::parameter_offsets[I];

  // A ReLU right below a max pool: the pool's backward applies the ReLU's on the
  // way (the gradient of a window goes to its maximum, and the ReLU passes it
  // where that maximum is not <= 0), so the ReLU's own backward, a pass over
  // its whole activation, is skipped. Same values as the two backwards.
  template <std::size_t I>
  static constexpr bool relu_under_pool = [] {
    if constexpr (I + 1 < layer_count) {
      return requires { requires layer_t<I>::is_relu; } &&
             requires(const float* c, float* f) { layer_t<I + 1>::backward_through_relu(c, c, f, 1); };
    } else {
      return false;
    }
  }();
  // Layer I is the pool of such a pair.
  template <std::size_t I>
  static constexpr bool pool_over_relu = [] {
    if constexpr (I > 0) {
      return relu_under_pool<I - 1>;
    } else {
      return false;
    }
  }();

  // Layer I only reshapes (Flatten): the gradient w.r.t. its input is the one
  // w.r.t. its output, the same floats in the same order, so backward leaves it
  // where it lies instead of copying it (the teaching ConvNet: 3.3 MB a step).
  template <std::size_t I>
  static constexpr bool reshape_only = requires { requires layer_t<I>::reshape_only; };

  // Receptive field of one element of the final output (meaningful while the
  // network is convolutional; `global` once a layer mixes all positions).
  static constexpr std::size_t receptive_field_rows =
      layer_count ? layer_metadata[layer_count - 1].rf_rows : 1;
  static constexpr std::size_t receptive_field_cols =
      layer_count ? layer_metadata[layer_count - 1].rf_cols : 1;

  // Elements per sample of the largest tensor that flows between layers.
  static constexpr std::size_t max_activation_size = [] {
    std::size_t m = input_shape_t::size;
    for (const auto& meta : traits::metadata) m = std::max(m, meta.output_size);
    return m;
  }();
  // Bytes per sample of all activations a training step keeps (input included).
  static constexpr std::size_t activation_bytes = [] {
    std::size_t s = input_shape_t::size;
    for (const auto& meta : traits::metadata) s += meta.output_size;
    return s * sizeof(float);
  }();

  // ---- parameters ---------------------------------------------------------------

  std::span<float, parameter_count> parameters() { return std::span<float, parameter_count>(params_); }
  std::span<const float, parameter_count> parameters() const {
    return std::span<const float, parameter_count>(params_);
  }
  std::span<float, parameter_count> gradients() { return std::span<float, parameter_count>(grads_); }
  std::span<const float, parameter_count> gradients() const {
    return std::span<const float, parameter_count>(grads_);
  }
  void zero_grad() { grads_.fill(0.0f); }

  // Layer I's tensors in PyTorch layout: weight (O, C, KH, KW) or (Out, In), bias (O).
  template <std::size_t I>
    requires requires { typename layer_t<I>::weight_shape; }
  auto weight() {
    return TensorRef<typename layer_t<I>::weight_shape>(params_.data() + parameter_offset<I>);
  }
  template <std::size_t I>
    requires requires { typename layer_t<I>::weight_shape; }
  auto weight() const {
    return TensorRef<typename layer_t<I>::weight_shape, const float>(params_.data() +
                                                                     parameter_offset<I>);
  }
  template <std::size_t I>
    requires(requires { layer_t<I>::has_bias; } && layer_t<I>::has_bias)
  auto bias() {
    return TensorRef<typename layer_t<I>::bias_shape>(params_.data() + bias_offset<I>());
  }
  template <std::size_t I>
    requires(requires { layer_t<I>::has_bias; } && layer_t<I>::has_bias)
  auto bias() const {
    return TensorRef<typename layer_t<I>::bias_shape, const float>(params_.data() +
                                                                   bias_offset<I>());
  }
  template <std::size_t I>
    requires requires { typename layer_t<I>::weight_shape; }
  auto weight_grad() {
    return TensorRef<typename layer_t<I>::weight_shape>(grads_.data() + parameter_offset<I>);
  }
  template <std::size_t I>
    requires(requires { layer_t<I>::has_bias; } && layer_t<I>::has_bias)
  auto bias_grad() {
    return TensorRef<typename layer_t<I>::bias_shape>(grads_.data() + bias_offset<I>());
  }

  // Calls f(layer_index, ParameterSpec, float* values, float* grads) for every
  // parameter tensor, in layer order: what weight files and optimizers walk.
  template <class F>
  void for_each_parameter(F&& f) {
    for_each_layer([&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
      for (const ParameterSpec& spec : layer_t<I>::parameter_specs())
        f(I, spec, params_.data() + parameter_offset<I> + spec.offset,
          grads_.data() + parameter_offset<I> + spec.offset);
    });
  }

  // ---- forward and backward over a workspace (training) ------------------------

  // x: (N, input...). Keeps every activation in ws for backward; returns the output.
  template <std::size_t N>
  const Tensor<batched_t<N, output_shape_t>>& forward(
      const Tensor<batched_t<N, input_shape_t>>& x, Workspace<Sequential, N>& ws) const {
    // x may be ws.input() itself: nothing to copy then.
    return forward_chunks(x.data() == ws.input().data() ? nullptr : x.data(), ws);
  }
  // Forward from what is already in ws.input().
  template <std::size_t N>
  const Tensor<batched_t<N, output_shape_t>>& forward(Workspace<Sequential, N>& ws) const {
    return forward_chunks(nullptr, ws);
  }

  // dy: (N, output...), the gradient of the loss w.r.t. the last forward's output.
  // Accumulates parameter gradients (+=, call zero_grad() between steps, as in
  // PyTorch). With InputGradient::compute it also leaves the gradient w.r.t. the
  // input in ws.input_grad(); by default the first layer skips that work.
  template <std::size_t N>
  void backward(Workspace<Sequential, N>& ws, const Tensor<batched_t<N, output_shape_t>>& dy,
                InputGradient input_gradient = InputGradient::skip) {
    constexpr std::size_t chunks = detail::batch_chunks(N);
    const bool input_grad = input_gradient == InputGradient::compute;
    if constexpr (chunks <= 1) {
      std::copy(dy.begin(), dy.end(), ws.grad_buffer(grad_buffer_of[layer_count]));
      backward_layers(ws, input_grad, 0, N, grads_.data(), std::make_index_sequence<layer_count>{});
    } else {
#ifdef _OPENMP
#pragma omp parallel
#endif
      {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (std::size_t k = 0; k < chunks; ++k) {
          const std::size_t begin = detail::chunk_begin(k, chunks, N);
          const std::size_t count = detail::chunk_begin(k + 1, chunks, N) - begin;
          float* chunk_grads = ws.chunk_gradients(k);
          std::fill(chunk_grads, chunk_grads + parameter_count, 0.0f);
          std::copy(dy.data() + begin * output_shape_t::size,
                    dy.data() + (begin + count) * output_shape_t::size,
                    ws.grad_buffer(grad_buffer_of[layer_count]) + begin * max_activation_size);
          backward_layers(ws, input_grad, begin, count, chunk_grads,
                          std::make_index_sequence<layer_count>{});
        }
        // Every parameter's chunk gradients, added in chunk order.
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
        for (std::size_t i = 0; i < parameter_count; ++i) {
          float g = grads_[i];
          for (std::size_t k = 0; k < chunks; ++k) g += ws.chunk_gradients(k)[i];
          grads_[i] = g;
        }
      }
      // Chunks keep their gradients max_activation_size floats per sample apart
      // (so no two chunks ever touch the same floats); the input gradient is
      // packed back to (N, input...) here, in order (destinations never pass sources).
      if (input_grad) {
        float* g = ws.grad_buffer(0);
        for (std::size_t k = 1; k < chunks; ++k) {
          const std::size_t begin = detail::chunk_begin(k, chunks, N);
          const std::size_t count = detail::chunk_begin(k + 1, chunks, N) - begin;
          std::copy(g + begin * max_activation_size,
                    g + begin * max_activation_size + count * input_shape_t::size,
                    g + begin * input_shape_t::size);
        }
      }
    }
  }

  // ---- forward without a workspace (inference) ---------------------------------

  Tensor<output_shape_t> forward(const Tensor<input_shape_t>& x) const {
    Tensor<output_shape_t> y;
    infer(x.data(), y.data(), 1);
    return y;
  }
  template <std::size_t N, std::size_t... D>
    requires(Shape<D...>{} == input_shape_t{})
  Tensor<batched_t<N, output_shape_t>> forward(const Tensor<Shape<N, D...>>& x) const {
    Tensor<batched_t<N, output_shape_t>> y;
    infer(x.data(), y.data(), N);
    return y;
  }

 private:
  template <class Net, std::size_t N>
  friend class Workspace;

  template <std::size_t I>
  static constexpr std::size_t bias_offset() {
    return parameter_offset<I> + layer_t<I>::parameter_specs()[1].offset;
  }

  template <class F>
  static void for_each_layer(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f(std::integral_constant<std::size_t, I>{}), ...);
    }(std::make_index_sequence<layer_count>{});
  }

  // Each chunk copies its own samples of x (unless null: the input is already in
  // ws) into the workspace, in the parallel region: copied up front, a batch of
  // simple_cnn's inputs (200 KB, out of cache by the next step) was a serial 4%
  // of its training step.
  template <std::size_t N>
  const Tensor<batched_t<N, output_shape_t>>& forward_chunks(const float* x,
                                                             Workspace<Sequential, N>& ws) const {
    constexpr std::size_t chunks = detail::batch_chunks(N);
    auto chunk = [&](std::size_t begin, std::size_t count) {
      constexpr std::size_t in = input_shape_t::size;
      if (x != nullptr)
        std::copy(x + begin * in, x + (begin + count) * in, ws.template activation<0>().data() + begin * in);
      forward_layers(ws, begin, count, std::make_index_sequence<layer_count>{});
    };
    if constexpr (chunks <= 1) {
      chunk(0, N);
    } else {
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
      for (std::size_t k = 0; k < chunks; ++k) {
        const std::size_t begin = detail::chunk_begin(k, chunks, N);
        chunk(begin, detail::chunk_begin(k + 1, chunks, N) - begin);
      }
    }
    return ws.output();
  }
  // Samples [begin, begin + count) through every layer.
  template <std::size_t N, std::size_t... I>
  void forward_layers(Workspace<Sequential, N>& ws, std::size_t begin, std::size_t count,
                      std::index_sequence<I...>) const {
    (detail::layer_forward<layer_t<I>>(
         ws.template activation<I>().data() + begin * layer_t<I>::input_shape::size,
         ws.template activation<I + 1>().data() + begin * layer_t<I>::output_shape::size,
         params_.data() + parameter_offset<I>, count),
     ...);
  }

  // Layers whose backward Sequential skips: a ReLU folded into the pool above,
  // a reshape.
  static constexpr std::array<bool, layer_count + 1> backward_skipped = [] {
    std::array<bool, layer_count + 1> skipped{};
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((skipped[I] = relu_under_pool<I> || reshape_only<I>), ...);
    }(std::make_index_sequence<layer_count>{});
    return skipped;
  }();
  // Whether a layer below I has a backward of its own to run, which needs the
  // gradient w.r.t. layer I's input even when the network's input gradient is
  // not asked for.
  static constexpr bool work_below(std::size_t i) {
    for (std::size_t j = 0; j < i; ++j)
      if (!backward_skipped[j]) return true;
    return false;
  }

  // The buffer holding the gradient w.r.t. layer I's input (I = layer_count: the
  // network's output, where backward puts dy). Layers alternate between two
  // buffers of the largest activation; a skipped layer writes nothing, so the
  // layer above writes where it would have (the pool over a folded ReLU, the
  // layer over a Flatten). The network's input gradient is always in buffer 0
  // (Workspace::input_grad).
  static constexpr std::array<std::size_t, layer_count + 1> grad_buffer_of = [] {
    std::array<std::size_t, layer_count + 1> buffer{};
    for (std::size_t i = 0; i < layer_count; ++i)
      buffer[i + 1] = backward_skipped[i] ? buffer[i] : 1 - buffer[i];
    return buffer;
  }();

  // Layer I reads its output gradient from buffer grad_buffer_of[I+1] and writes
  // its input gradient to grad_buffer_of[I]. With several chunks, a chunk's
  // samples start at begin * max_activation_size in both buffers (its own floats
  // whatever the layer); a single chunk starts at 0.
  template <std::size_t N, std::size_t... I>
  void backward_layers(Workspace<Sequential, N>& ws, bool input_grad, std::size_t begin,
                       std::size_t count, float* grads, std::index_sequence<I...>) const {
    (backward_layer<layer_count - 1 - I>(ws, input_grad, begin, count, grads), ...);
  }
  template <std::size_t I, std::size_t N>
  void backward_layer(Workspace<Sequential, N>& ws, bool input_grad, std::size_t begin,
                      std::size_t count, float* grads) const {
    const std::size_t offset = begin * max_activation_size;
    [[maybe_unused]] float* dx =
        work_below(I) || input_grad ? ws.grad_buffer(grad_buffer_of[I]) + offset : nullptr;
    if constexpr (backward_skipped[I]) {
      // a ReLU done by the pool above, or a reshape: the gradient stays where it is
    } else if constexpr (pool_over_relu<I>) {
      // dx: the gradient w.r.t. the ReLU's input (grad_buffer_of[I - 1] is the same buffer).
      layer_t<I>::backward_through_relu(
          ws.template activation<I>().data() + begin * layer_t<I>::input_shape::size,
          ws.grad_buffer(grad_buffer_of[I + 1]) + offset, dx, count);
    } else {
      layer_t<I>::backward(
          ws.template activation<I>().data() + begin * layer_t<I>::input_shape::size,
          ws.template activation<I + 1>().data() + begin * layer_t<I>::output_shape::size,
          ws.grad_buffer(grad_buffer_of[I + 1]) + offset, dx, params_.data() + parameter_offset<I>,
          grads + parameter_offset<I>, count);
    }
  }

  // Inference in chunks through two buffers sized for the largest layer: on the
  // stack while they are small (up to 1 MB together), else allocated once per
  // thread and kept for the thread's later calls, so a network with large
  // activations neither overflows a stack nor allocates on every call.
  static constexpr std::size_t infer_chunk =
      std::max<std::size_t>(1, (std::size_t{1} << 15) / max_activation_size);
  static constexpr std::size_t infer_buffer_floats = infer_chunk * max_activation_size;
  static constexpr bool infer_on_stack = 2 * infer_buffer_floats * sizeof(float) <= (std::size_t{1} << 20);
  static float* infer_heap_buffers() {
    struct alignas(64) Line {
      float values[16];
    };
    thread_local const std::unique_ptr<Line[]> lines(new Line[(2 * infer_buffer_floats + 15) / 16]);
    return lines[0].values;
  }
  // Chunks are independent (each sample's result does not depend on the chunk
  // it is in), so they are spread over threads, each with its own buffers. Their
  // count is a multiple of the thread count and their sizes differ by one at
  // most, so every thread gets the same share: 64 of simple_cnn's samples in
  // chunks of up to 41 gave one thread 41 and the other 23 (LeNet-5's, in 11
  // chunks of up to 6, 36 and 28).
  void infer(const float* x, float* y, std::size_t batch) const {
    std::size_t chunks = (batch + infer_chunk - 1) / infer_chunk;
#ifdef _OPENMP
    const auto threads = static_cast<std::size_t>(omp_get_max_threads());
    if (chunks > 1 && threads > 1)
      chunks = std::min(batch, (chunks + threads - 1) / threads * threads);
#endif
    if (chunks <= 1) {  // no parallel region: it would cost more than a small batch
      infer_with_buffers<false>(x, y, batch, 1);
      return;
    }
#ifdef _OPENMP
#pragma omp parallel
#endif
    infer_with_buffers<true>(x, y, batch, chunks);
  }
  template <bool InParallelRegion>
  void infer_with_buffers(const float* x, float* y, std::size_t batch, std::size_t chunks) const {
    if constexpr (infer_on_stack) {
      alignas(64) float ping[infer_buffer_floats];
      alignas(64) float pong[infer_buffer_floats];
      infer_chunks<InParallelRegion>(x, y, batch, chunks, ping, pong);
    } else {
      float* buffers = infer_heap_buffers();
      infer_chunks<InParallelRegion>(x, y, batch, chunks, buffers, buffers + infer_buffer_floats);
    }
  }
  // In infer's parallel region the chunks are shared out among its threads.
  // Otherwise this thread runs them all: no worksharing construct, which would
  // bind to a parallel region of the caller's.
  template <bool InParallelRegion>
  void infer_chunks(const float* x, float* y, std::size_t batch, std::size_t chunks, float* ping,
                    float* pong) const {
    if constexpr (InParallelRegion) {
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
      for (std::size_t c = 0; c < chunks; ++c) infer_one_chunk(x, y, batch, c, chunks, ping, pong);
    } else {
      for (std::size_t c = 0; c < chunks; ++c) infer_one_chunk(x, y, batch, c, chunks, ping, pong);
    }
  }
  void infer_one_chunk(const float* x, float* y, std::size_t batch, std::size_t c,
                       std::size_t chunks, float* ping, float* pong) const {
    const std::size_t start = detail::chunk_begin(c, chunks, batch);
    const std::size_t count = detail::chunk_begin(c + 1, chunks, batch) - start;
    infer_chunk_layers(x + start * input_shape_t::size, y + start * output_shape_t::size, count, ping,
                       pong, std::make_index_sequence<layer_count>{});
  }
  template <std::size_t... I>
  void infer_chunk_layers(const float* x, float* y, std::size_t count, float* ping, float* pong,
                          std::index_sequence<I...>) const {
    if constexpr (layer_count == 0) {
      std::copy(x, x + count * input_shape_t::size, y);
    } else {
      float* buffers[2] = {ping, pong};
      (detail::layer_forward<layer_t<I>>(I == 0 ? x : buffers[(I + 1) % 2],
                                         I + 1 == layer_count ? y : buffers[I % 2],
                                         params_.data() + parameter_offset<I>, count),
       ...);
    }
  }

  alignas(64) std::array<float, parameter_count> params_{};
  alignas(64) std::array<float, parameter_count> grads_{};
};

// Activations of a network for a batch of N samples: activation<0> is the input,
// activation<I + 1> the output of layer I. Large for big batches: create it once
// (make_workspace<N>() puts it on the heap) and reuse it every step.
template <class Net, std::size_t N>
class Workspace : public Workspace<typename Net::sequential_type, N> {};

template <std::size_t... InDims, class... Specs, std::size_t N>
class Workspace<Sequential<Input<InDims...>, Specs...>, N> {
  using Net = Sequential<Input<InDims...>, Specs...>;

  template <std::size_t... I>
  static auto make_activations(std::index_sequence<I...>) {
    return boost::hana::tuple<Tensor<batched_t<N, typename Net::input_shape_t>>,
                              Tensor<batched_t<N, typename Net::template layer_t<I>::output_shape>>...>{};
  }
  using activations_t = decltype(make_activations(std::make_index_sequence<Net::layer_count>{}));

 public:
  static constexpr std::size_t batch = N;

  template <std::size_t I>
  auto& activation() {
    return boost::hana::at_c<I>(activations_);
  }
  template <std::size_t I>
  const auto& activation() const {
    return boost::hana::at_c<I>(activations_);
  }
  auto& input() { return activation<0>(); }
  const auto& output() const { return activation<Net::layer_count>(); }
  // Gradient of the loss w.r.t. the input after backward(..., InputGradient::compute).
  TensorRef<batched_t<N, typename Net::input_shape_t>, const float> input_grad() const {
    return TensorRef<batched_t<N, typename Net::input_shape_t>, const float>(grads_[0].data());
  }
  float* grad_buffer(std::size_t i) { return grads_[i].data(); }
  // Parameter gradients of chunk k of the batch (see Sequential::backward).
  float* chunk_gradients(std::size_t k) { return chunk_grads_.data() + k * Net::parameter_count; }

 private:
  static constexpr std::size_t chunks = detail::batch_chunks(N);
  activations_t activations_;
  Tensor<Shape<N * Net::max_activation_size>> grads_[2];
  Tensor<Shape<(chunks > 1 ? chunks : 0) * Net::parameter_count>> chunk_grads_;
};

// A workspace on the heap, allocated once: the only allocation a training loop needs.
template <std::size_t N, class Net>
std::unique_ptr<Workspace<typename Net::sequential_type, N>> make_workspace(const Net&) {
  return std::make_unique<Workspace<typename Net::sequential_type, N>>();
}

}  // namespace ctcnn
