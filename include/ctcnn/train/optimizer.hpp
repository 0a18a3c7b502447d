// ctcnn/train/optimizer.hpp
// SGD, Adam and AdamW with the update rules of torch.optim (PyTorch 1.13, the
// single-tensor code path), over every parameter of a model at once.
//
// A model is anything Trainable: parameters() and gradients() returning
// std::span<float, P> of the same static extent P (every ctcnn network; a test
// can use a small struct). The optimizer keeps a pointer to the model, so the
// model must outlive it. Its state is sized at compile time (std::array<float, P>
// members), so neither construction nor step() allocates; for a large model put
// the optimizer on the heap once (Adam holds 3 * P floats).
//
// With p the parameters, g the gradients, t the step number (1 for the first
// step), all element-wise:
//   SGD:   g += wd * p                                  (if weight_decay != 0)
//          b  = g on the first step, else momentum * b + (1 - dampening) * g
//          g  = nesterov ? g + momentum * b : b          (if momentum != 0)
//          p -= lr * g
//   Adam:  g += wd * p                                  (L2 penalty, if weight_decay != 0)
//   AdamW: p *= 1 - lr * wd                             (decoupled decay instead)
//   both:  m  = beta1 * m + (1 - beta1) * g
//          v  = beta2 * v + (1 - beta2) * g^2
//          vmax = max(vmax, v)                          (amsgrad; then vmax replaces v below)
//          p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The bias corrections are computed in double, as PyTorch computes them in Python.
// Every update runs with denormals flushed to zero (flush_denormals_guard).
//
// The options are checked as PyTorch checks them (std::invalid_argument): lr,
// eps, momentum and weight_decay >= 0, betas in [0, 1), and Nesterov only with
// momentum > 0 and dampening 0.
//
// Checkpoints: for_each_state(f) calls f(name, std::span<float>) for each state
// buffer that PyTorch would keep for these options, in this order: SGD
// "momentum_buffer" (only when momentum != 0); Adam/AdamW "exp_avg",
// "exp_avg_sq", then "max_exp_avg_sq" (only with amsgrad). Each buffer is flat,
// aligned with parameters(). step_count() / set_step_count() carry the step
// number (Adam's bias corrections; SGD initialises its momentum buffer on step 0).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "ctcnn/detail/format.hpp"

#if defined(__SSE__)
#include <immintrin.h>
#endif

namespace ctcnn {

namespace detail {

template <class S>
concept StaticFloatSpan = std::same_as<S, std::span<float, S::extent>> &&
                            (S::extent != std::dynamic_extent);

// Stands in for the callback in the Optimizer concept.
struct state_visitor_archetype {
  void operator()(std::string_view, std::span<float>) const {}
};

// Square roots of x[0..n) in place. A loop of std::sqrt does not vectorise unless
// the build says -fno-math-errno (the call may set errno), which a header cannot;
// the vector instructions round exactly as std::sqrt does (IEEE), so the results
// are the same bits. (No AVX-512 branch: GCC 12 warns inside _mm512_sqrt_ps, and
// 8 lanes already take the square roots off the critical path.)
inline void sqrt_in_place(float* x, std::size_t n) {
  std::size_t i = 0;
#if defined(__AVX__)
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
#endif
#if defined(__SSE2__)
  for (; i + 4 <= n; i += 4) _mm_storeu_ps(x + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
  for (; i < n; ++i) x[i] = std::sqrt(x[i]);
}

// Denormals flushed to zero (MXCSR's FTZ and DAZ) on this thread while the guard
// lives; the caller's mode comes back after. The optimizers run their updates
// under one: a moment whose gradient stays 0 (a dead ReLU's filter, a training
// that has fitted its batch) decays geometrically into the denormal range after
// some 800 steps (0.9^t), and from then on every multiplication on it is a
// microcode assist: simple_cnn's Adam update took 66 us instead of 13. What
// changes is only a value below 2^-126 (1.2e-38) becoming 0, as with PyTorch's
// torch.set_flush_denormal(True); its share of a parameter's update (at most
// lr * 1.2e-38 / eps, 1.2e-30 with lr = 1) is below a float's resolution at any
// weight above 1e-22.
class flush_denormals_guard {
 public:
  flush_denormals_guard() noexcept {
#if defined(__SSE__)
    saved_ = _mm_getcsr();
    _mm_setcsr(saved_ | flush_bits);
#endif
  }
  ~flush_denormals_guard() {
#if defined(__SSE__)
    // The mode bits only: exception flags raised meanwhile stay raised.
    _mm_setcsr((_mm_getcsr() & ~flush_bits) | (saved_ & flush_bits));
#endif
  }
  flush_denormals_guard(const flush_denormals_guard&) = delete;
  flush_denormals_guard& operator=(const flush_denormals_guard&) = delete;

 private:
#if defined(__SSE__)
  static constexpr unsigned flush_bits = 0x8000u | 0x0040u;  // FTZ | DAZ
  unsigned saved_ = 0;
#endif
};

inline void check_option(bool ok, const char* optimizer, const char* what, float value) {
  if (!ok) throw_invalid_argument("ctcnn::%s: invalid %s: %f", optimizer, what, static_cast<double>(value));
}

}  // namespace detail

// What an optimizer can train: parameters and gradients of the same static size.
template <class Model>
concept Trainable = requires(Model& m) {
  { m.parameters() } -> detail::StaticFloatSpan;
  { m.gradients() } -> detail::StaticFloatSpan;
  requires decltype(m.parameters())::extent == decltype(m.gradients())::extent;
};

template <Trainable Model>
inline constexpr std::size_t parameter_count_of = decltype(std::declval<Model&>().parameters())::extent;

// What a training loop and a checkpoint writer need from an optimizer.
template <class O>
concept Optimizer = requires(O& o, const O& c, float lr, std::size_t n,
                             detail::state_visitor_archetype visit) {
  o.step();
  o.zero_grad();
  { c.lr() } -> std::convertible_to<float>;
  o.set_lr(lr);
  { c.step_count() } -> std::convertible_to<std::size_t>;
  o.set_step_count(n);
  o.for_each_state(visit);
};

struct SGDOptions {
  float lr = 0.01f, momentum = 0.0f, dampening = 0.0f, weight_decay = 0.0f;
  bool nesterov = false;
};
struct AdamOptions {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
  bool amsgrad = false;
};
struct AdamWOptions {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 1e-2f;
  bool amsgrad = false;
};

namespace detail {

// What every optimizer shares: the model, the step number, zero_grad.
template <class Model>
class optimizer_base {
 public:
  static constexpr std::size_t parameter_count = parameter_count_of<Model>;

  // Sets every gradient to 0 (PyTorch 1.13's zero_grad(set_to_none=False)).
  void zero_grad() {
    auto g = model_->gradients();
    std::fill(g.begin(), g.end(), 0.0f);
  }
  std::size_t step_count() const { return steps_; }
  void set_step_count(std::size_t steps) { steps_ = steps; }
  Model& model() const { return *model_; }

 protected:
  explicit optimizer_base(Model& model) : model_(&model) {}

  Model* model_;
  std::size_t steps_ = 0;
};

}  // namespace detail

template <Trainable Model>
class SGD : public detail::optimizer_base<Model> {
  using base = detail::optimizer_base<Model>;

 public:
  using options_type = SGDOptions;

  explicit SGD(Model& model, SGDOptions options = {}) : base(model), options_(options) {
    detail::check_option(options.lr >= 0.0f, "SGD", "learning rate", options.lr);
    detail::check_option(options.momentum >= 0.0f, "SGD", "momentum", options.momentum);
    detail::check_option(options.weight_decay >= 0.0f, "SGD", "weight_decay",
                         options.weight_decay);
    if (options.nesterov && (options.momentum <= 0.0f || options.dampening != 0.0f)) {
      throw std::invalid_argument(
          "ctcnn::SGD: Nesterov momentum requires a momentum > 0 and zero dampening");
    }
  }

  void step() {
    const auto p = this->model_->parameters();
    const auto g = this->model_->gradients();
    const float lr = options_.lr, wd = options_.weight_decay, mu = options_.momentum;
    const float keep = 1.0f - options_.dampening;
    const bool first = this->steps_ == 0;
    const bool nesterov = options_.nesterov;
    const detail::flush_denormals_guard flush;  // a momentum buffer decays like Adam's moments
    for (std::size_t i = 0; i < base::parameter_count; ++i) {
      float d = g[i];
      if (wd != 0.0f) d += wd * p[i];
      if (mu != 0.0f) {
        buffer_[i] = first ? d : mu * buffer_[i] + keep * d;
        d = nesterov ? d + mu * buffer_[i] : buffer_[i];
      }
      p[i] -= lr * d;
    }
    ++this->steps_;
  }

  float lr() const { return options_.lr; }
  void set_lr(float lr) {
    detail::check_option(lr >= 0.0f, "SGD", "learning rate", lr);
    options_.lr = lr;
  }
  const SGDOptions& options() const { return options_; }

  template <class F>
  void for_each_state(F&& f) {
    if (options_.momentum != 0.0f) f(std::string_view("momentum_buffer"), std::span<float>(buffer_));
  }
  template <class F>
  void for_each_state(F&& f) const {
    if (options_.momentum != 0.0f)
      f(std::string_view("momentum_buffer"), std::span<const float>(buffer_));
  }

 private:
  SGDOptions options_;
  alignas(64) std::array<float, base::parameter_count> buffer_{};
};

namespace detail {

// Adam and AdamW differ only in how weight decay enters.
template <class Model>
class adam_base : public optimizer_base<Model> {
  using base = optimizer_base<Model>;

 public:
  template <class F>
  void for_each_state(F&& f) {
    f(std::string_view("exp_avg"), std::span<float>(exp_avg_));
    f(std::string_view("exp_avg_sq"), std::span<float>(exp_avg_sq_));
    if (amsgrad_) f(std::string_view("max_exp_avg_sq"), std::span<float>(max_exp_avg_sq_));
  }
  template <class F>
  void for_each_state(F&& f) const {
    f(std::string_view("exp_avg"), std::span<const float>(exp_avg_));
    f(std::string_view("exp_avg_sq"), std::span<const float>(exp_avg_sq_));
    if (amsgrad_) f(std::string_view("max_exp_avg_sq"), std::span<const float>(max_exp_avg_sq_));
  }

 protected:
  template <class Options>
  adam_base(Model& model, const Options& o, const char* name) : base(model), amsgrad_(o.amsgrad) {
    check_option(o.lr >= 0.0f, name, "learning rate", o.lr);
    check_option(o.eps >= 0.0f, name, "epsilon value", o.eps);
    check_option(o.beta1 >= 0.0f && o.beta1 < 1.0f, name, "beta parameter at index 0", o.beta1);
    check_option(o.beta2 >= 0.0f && o.beta2 < 1.0f, name, "beta parameter at index 1", o.beta2);
    check_option(o.weight_decay >= 0.0f, name, "weight_decay value", o.weight_decay);
  }

  template <bool Decoupled, class Options>
  void adam_step(const Options& o) {
    const auto p = this->model_->parameters();
    const auto g = this->model_->gradients();
    const std::size_t t = ++this->steps_;
    const double bias_correction1 = 1.0 - std::pow(static_cast<double>(o.beta1), static_cast<double>(t));
    const double bias_correction2 = 1.0 - std::pow(static_cast<double>(o.beta2), static_cast<double>(t));
    const auto step_size = static_cast<float>(static_cast<double>(o.lr) / bias_correction1);
    const auto bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
    const auto decay = static_cast<float>(1.0 - static_cast<double>(o.lr) * o.weight_decay);
    const adam_constants k{.wd = o.weight_decay,
                           .decay = decay,
                           .b1 = o.beta1,
                           .one_minus_b1 = 1.0f - o.beta1,
                           .b2 = o.beta2,
                           .one_minus_b2 = 1.0f - o.beta2,
                           .step_size = step_size,
                           .bias_correction2_sqrt = bias_correction2_sqrt,
                           .eps = o.eps};
    float* const pp = p.data();
    const float* const gp = g.data();
    // One branch-free loop per combination, so that each one vectorises.
    const auto run = [&]<bool Decay, bool Amsgrad>() {
      adam_update<Decoupled, Decay, Amsgrad>(pp, gp, exp_avg_.data(), exp_avg_sq_.data(),
                                             max_exp_avg_sq_.data(), k);
    };
    const bool decay_on = o.weight_decay != 0.0f;
    if (decay_on && amsgrad_) {
      run.template operator()<true, true>();
    } else if (decay_on) {
      run.template operator()<true, false>();
    } else if (amsgrad_) {
      run.template operator()<false, true>();
    } else {
      run.template operator()<false, false>();
    }
  }

 private:
  struct adam_constants {
    float wd, decay, b1, one_minus_b1, b2, one_minus_b2, step_size, bias_correction2_sqrt, eps;
  };

  // In blocks that stay in L1: the element-wise work vectorises, and the square
  // roots go through sqrt_in_place (see there). With many parameters the blocks
  // are shared out among the threads: each element gets the same operations
  // whichever thread runs it, so the weights do not depend on the thread count,
  // and the update (two divisions and a square root an element, 1-4 ns) no
  // longer runs on one core while the other waits. Below ~32k parameters waking
  // the other thread costs about what it saves (simple_cnn's 9k: 11-33 us alone,
  // 23-26 us shared, 2 threads, passive waits).
  static constexpr std::size_t block = 256;
  static constexpr std::size_t blocks = (base::parameter_count + block - 1) / block;
  static constexpr bool parallel_update = base::parameter_count >= 32768;
  template <bool Decoupled, bool Decay, bool Amsgrad>
  // The buffers never overlap: restrict spares the vectoriser its run-time
  // overlap checks and the scalar copy of the loops they guard.
  static void adam_update(float* __restrict p, const float* __restrict g, float* __restrict m,
                          float* __restrict v, float* __restrict vmax, const adam_constants& k) {
#ifdef _OPENMP
#pragma omp parallel if (parallel_update)
#endif
    {
      const flush_denormals_guard flush;  // on every thread of the region
#ifdef _OPENMP
#pragma omp for schedule(static)
#endif
      for (std::size_t b = 0; b < blocks; ++b) {
        alignas(64) float root[block];
        const std::size_t start = b * block;
        const std::size_t n = std::min(block, base::parameter_count - start);
        float* const pb = p + start;
        float* const mb = m + start;
        for (std::size_t i = 0; i < n; ++i) {
          float grad = g[start + i];
          if constexpr (Decay && Decoupled) pb[i] *= k.decay;
          if constexpr (Decay && !Decoupled) grad += k.wd * pb[i];
          mb[i] = mb[i] * k.b1 + k.one_minus_b1 * grad;
          v[start + i] = v[start + i] * k.b2 + k.one_minus_b2 * grad * grad;
          float second = v[start + i];
          if constexpr (Amsgrad) second = vmax[start + i] = std::max(vmax[start + i], second);
          root[i] = second;
        }
        sqrt_in_place(root, n);
        for (std::size_t i = 0; i < n; ++i)
          pb[i] -= k.step_size * (mb[i] / (root[i] / k.bias_correction2_sqrt + k.eps));
      }
    }
  }

  bool amsgrad_;
  alignas(64) std::array<float, base::parameter_count> exp_avg_{};
  alignas(64) std::array<float, base::parameter_count> exp_avg_sq_{};
  alignas(64) std::array<float, base::parameter_count> max_exp_avg_sq_{};
};

}  // namespace detail

template <Trainable Model>
class Adam : public detail::adam_base<Model> {
 public:
  using options_type = AdamOptions;

  explicit Adam(Model& model, AdamOptions options = {})
      : detail::adam_base<Model>(model, options, "Adam"), options_(options) {}

  void step() { this->template adam_step<false>(options_); }
  float lr() const { return options_.lr; }
  void set_lr(float lr) {
    detail::check_option(lr >= 0.0f, "Adam", "learning rate", lr);
    options_.lr = lr;
  }
  const AdamOptions& options() const { return options_; }

 private:
  AdamOptions options_;
};

template <Trainable Model>
class AdamW : public detail::adam_base<Model> {
 public:
  using options_type = AdamWOptions;

  explicit AdamW(Model& model, AdamWOptions options = {})
      : detail::adam_base<Model>(model, options, "AdamW"), options_(options) {}

  void step() { this->template adam_step<true>(options_); }
  float lr() const { return options_.lr; }
  void set_lr(float lr) {
    detail::check_option(lr >= 0.0f, "AdamW", "learning rate", lr);
    options_.lr = lr;
  }
  const AdamWOptions& options() const { return options_; }

 private:
  AdamWOptions options_;
};

}  // namespace ctcnn
