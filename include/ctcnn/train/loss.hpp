// ctcnn/train/loss.hpp
// Losses with PyTorch's semantics and its default reduction, the mean over the
// batch. Each call returns the loss and writes (not accumulates) the gradient of
// that mean loss w.r.t. its first argument into the last one, ready to be passed
// to Sequential::backward.
//
//   CrossEntropyLoss  logits (N, C), targets (N) in [0, C):
//       loss = 1/N sum_n [ lse_n - (1 - s) x[n, t_n] - s/C sum_c x[n, c] ]
//       dx[n, c] = (softmax(x_n)_c - (1 - s) [c == t_n] - s/C) / N
//     with lse_n = log sum_c exp(x[n, c]) and s = label_smoothing, as
//     torch.nn.CrossEntropyLoss(label_smoothing=s). Fused log-softmax + NLL: the
//     maximum of each row is subtracted before exp, so logits of any magnitude
//     give a finite loss and gradient.
//   NLLLoss           log-probabilities (N, C), targets (N):
//       loss = -1/N sum_n x[n, t_n];   dx[n, c] = -[c == t_n] / N
//   MSELoss           pred, target of the same shape (N, D...), M elements:
//       loss = 1/M sum (pred - target)^2;   dpred = 2 (pred - target) / M
//
// The gradient may be written over the input (pass the same tensor twice).
// Targets outside [0, C): every target is checked before anything is written,
// and a bad one throws std::out_of_range naming the loss, the sample index, the
// value and C (PyTorch also rejects them; its ignore_index is not supported, so
// -100 is an error too). No class weights, no other reductions.
//
// The sums over the batch are accumulated in double, so the loss of a large
// batch does not drift with the order of the samples. No allocation except the
// message of the exception.
// Cost: O(N*C) (one exp per logit for CrossEntropyLoss), O(M) for MSELoss.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "ctcnn/core/shape.hpp"
#include "ctcnn/core/tensor.hpp"
#include "ctcnn/detail/format.hpp"

namespace ctcnn {

namespace detail {

// Out of line and cold, so the loss templates carry no message-building code.
[[noreturn, gnu::cold]] inline void throw_target_out_of_range(const char* loss, std::int32_t target, std::size_t n,
                                                              std::size_t classes) {
  throw std::out_of_range(formatted("ctcnn::%s: target %d of sample %zu is outside [0, %zu)", loss,
                                    static_cast<int>(target), n, classes));
}

template <std::size_t N, std::size_t C>
void check_targets(const char* loss, const Tensor<Shape<N>, std::int32_t>& targets) {
  for (std::size_t n = 0; n < N; ++n) {
    const std::int32_t t = targets[n];
    if (t < 0 || static_cast<std::size_t>(t) >= C) throw_target_out_of_range(loss, t, n, C);
  }
}

}  // namespace detail

struct CrossEntropyLoss {
  float label_smoothing = 0.0f;  // s in [0, 1]: the target is (1 - s) one-hot + s / C

  // logits, dlogits: (N, C)  targets: (N)
  template <std::size_t N, std::size_t C>
  float operator()(const Tensor<Shape<N, C>>& logits,
                   const Tensor<Shape<N>, std::int32_t>& targets,
                   Tensor<Shape<N, C>>& dlogits) const {
    static_assert(N > 0 && C > 0, "ctcnn::CrossEntropyLoss: needs at least one sample and class");
    detail::check_targets<N, C>("CrossEntropyLoss", targets);
    const float s = label_smoothing;
    const float on_target = 1.0f - s;
    const float per_class = s / static_cast<float>(C);
    const float inv_n = 1.0f / static_cast<float>(N);
    double total = 0.0;
    for (std::size_t n = 0; n < N; ++n) {
      const float* x = logits.data() + n * C;
      float* dx = dlogits.data() + n * C;
      const auto t = static_cast<std::size_t>(targets[n]);
      float m = x[0];
      for (std::size_t c = 1; c < C; ++c) m = std::fmax(m, x[c]);
      const float target_shifted = x[t] - m;  // read before dx is written: they may alias
      // exp(x - m) is kept in dx, then turned into the gradient in place.
      float sum = 0.0f;
      float shifted_total = 0.0f;  // sum_c (x_c - m), for the smoothing term
      for (std::size_t c = 0; c < C; ++c) {
        const float shifted = x[c] - m;
        dx[c] = std::exp(shifted);
        sum += dx[c];
        shifted_total += shifted;
      }
      const float log_sum = std::log(sum);  // lse - m: every term is relative to m
      // -log_softmax_c = log_sum - (x_c - m)
      float loss = on_target * (log_sum - target_shifted);
      if (s != 0.0f) loss += per_class * (static_cast<float>(C) * log_sum - shifted_total);
      total += static_cast<double>(loss);
      const float inv_sum = 1.0f / sum;
      for (std::size_t c = 0; c < C; ++c) dx[c] = (dx[c] * inv_sum - per_class) * inv_n;
      dx[t] -= on_target * inv_n;
    }
    return static_cast<float>(total / static_cast<double>(N));
  }
};

struct NLLLoss {
  // log_probs, dinput: (N, C)  targets: (N)
  template <std::size_t N, std::size_t C>
  float operator()(const Tensor<Shape<N, C>>& log_probs,
                   const Tensor<Shape<N>, std::int32_t>& targets,
                   Tensor<Shape<N, C>>& dinput) const {
    static_assert(N > 0 && C > 0, "ctcnn::NLLLoss: needs at least one sample and class");
    detail::check_targets<N, C>("NLLLoss", targets);
    const float inv_n = 1.0f / static_cast<float>(N);
    double total = 0.0;
    for (std::size_t n = 0; n < N; ++n)
      total -= static_cast<double>(log_probs[n * C + static_cast<std::size_t>(targets[n])]);
    dinput.fill(0.0f);  // after the reads: dinput may be log_probs itself
    for (std::size_t n = 0; n < N; ++n) dinput[n * C + static_cast<std::size_t>(targets[n])] = -inv_n;
    return static_cast<float>(total / static_cast<double>(N));
  }
};

struct MSELoss {
  // pred, target, dpred: (N, D...)
  template <std::size_t N, std::size_t... D>
  float operator()(const Tensor<Shape<N, D...>>& pred, const Tensor<Shape<N, D...>>& target,
                   Tensor<Shape<N, D...>>& dpred) const {
    constexpr std::size_t M = Shape<N, D...>::size;
    static_assert(M > 0, "ctcnn::MSELoss: needs at least one element");
    const float scale = 2.0f / static_cast<float>(M);
    double total = 0.0;
    for (std::size_t i = 0; i < M; ++i) {
      const float d = pred[i] - target[i];
      total += static_cast<double>(d) * static_cast<double>(d);
      dpred[i] = scale * d;
    }
    return static_cast<float>(total / static_cast<double>(M));
  }
};

// The short name the issues and Keras use for the same loss.
using CrossEntropy = CrossEntropyLoss;

}  // namespace ctcnn
