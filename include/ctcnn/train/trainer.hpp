// ctcnn/train/trainer.hpp: the training loop for image classifiers.
//
//   fit<Batch>(net, optimizer, loss, train, validation, options) -> FitResult
//   fit<Batch>(net, optimizer, loss, train, options)               (no validation)
//   evaluate<Batch>(net, data) -> Evaluation<Classes>
//
// One step: fill the workspace's input with the next shuffled batch, forward,
// loss (which writes d(mean loss)/d(logits)), zero_grad, backward, optimizer step.
// The allocations happen before the first step (the workspace, the batch
// buffers, a copy of the parameters) and between epochs (evaluation, files);
// a step, progress output included, allocates nothing (tested).
//
// Epochs: every full batch of the shuffled training set (the last partial batch
// is dropped, as DataLoader(drop_last=True), so every step sees Batch samples);
// the order of epoch e depends only on (seed, e), see io/dataset.hpp. After each
// epoch the validation set is evaluated and, when options.output_dir is set, the
// files below are rewritten there, so a run that stops leaves them complete up
// to its last epoch:
//   checkpoint.safetensors   weights + optimizer state + epoch/step/seed (checkpoint.hpp)
//   weights.safetensors      the weights alone, PyTorch state_dict names (io/weights.hpp)
//   metrics.csv              one row per epoch (metrics.hpp)
//   training_curves.svg      loss and accuracy per epoch (plot.hpp)
// options.resume = true with a checkpoint in output_dir continues after the
// checkpoint's epoch, with its seed, and gives the weights an uninterrupted run
// would have given (bit for bit). Without a checkpoint it says so and starts afresh.
//
// Progress: on a terminal (Progress::automatic when the stream is std::cout or
// std::cerr and isatty says so) a bar redrawn in place with '\r' at most 10
// times a second: batches done, ETA, running mean loss and accuracy of the
// epoch, images per second. Otherwise (a log file, a pipe, a test's
// ostringstream) plain lines, lines_per_epoch of them per epoch. Each epoch ends
// with a summary line: training loss and accuracy, validation loss and accuracy,
// training seconds (wall clock, and the process's CPU time over the same span)
// and images per second.
//
// Non-finite values: a NaN or infinite loss, gradient (options.check_gradients)
// or updated parameter stops training at once with a message naming the epoch
// and the step. The parameters are left as they were before that step (restored
// from a copy if the optimizer had already written them) and, with an
// output_dir, saved to weights.safetensors; the checkpoint of the last completed
// epoch stays as it was. FitResult::stopped is then true.
//
// Evaluation: every sample counts once (the last batch is padded and the padding
// ignored). Its loss is the plain cross-entropy of the logits (mean over the
// samples, in double), whatever loss trains the network, so validation losses
// of runs with and without label smoothing compare.
#pragma once

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <ctime>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <ostream>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "ctcnn/core/tensor.hpp"
#include "ctcnn/detail/format.hpp"
#include "ctcnn/io/dataset.hpp"
#include "ctcnn/io/weights.hpp"
#include "ctcnn/net/sequential.hpp"
#include "ctcnn/train/checkpoint.hpp"
#include "ctcnn/train/metrics.hpp"
#include "ctcnn/train/optimizer.hpp"
#include "ctcnn/train/plot.hpp"

namespace ctcnn {

enum class Progress { automatic, bar, lines, none };

struct FitOptions {
  std::size_t epochs = 3;
  std::uint64_t seed = 0;            // the shuffling order of every epoch
  std::filesystem::path output_dir;  // empty: write no files
  bool resume = false;               // continue from output_dir/checkpoint.safetensors
  std::size_t steps_per_epoch = 0;   // at most this many steps an epoch; 0: every full batch
  Progress progress = Progress::automatic;
  std::size_t lines_per_epoch = 10;  // Progress::lines
  std::ostream* out = nullptr;       // nullptr: std::cout
  bool check_gradients = true;       // scan the gradients for NaN/Inf every step
  std::string title = "Training";    // of the plot
};

struct FitResult {
  std::vector<EpochMetrics> history;  // every epoch, those before a resume included
  std::size_t steps = 0;              // optimizer steps, those before a resume included
  std::size_t resumed_from = 0;       // epochs completed before this call
  bool stopped = false;               // by a non-finite value
  std::string stop_message;
};

template <std::size_t Classes>
struct Evaluation {
  double loss = 0.0;      // mean cross-entropy
  double accuracy = 0.0;  // fraction
  ConfusionMatrix<Classes> confusion;
  std::size_t count = 0;
  double seconds = 0.0;
};

// The files fit writes in options.output_dir.
inline constexpr std::string_view checkpoint_file_name = "checkpoint.safetensors";
inline constexpr std::string_view weights_file_name = "weights.safetensors";
inline constexpr std::string_view metrics_file_name = "metrics.csv";
inline constexpr std::string_view curves_file_name = "training_curves.svg";

namespace detail::trainer {

using clock = std::chrono::steady_clock;

inline double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

inline bool all_finite(std::span<const float> values) {
  // NaN and Inf are the floats whose exponent bits are all ones. Integer tests
  // with one branch for the whole span vectorise, and -ffast-math cannot fold
  // them away as it may fold std::isfinite.
  std::uint32_t non_finite = 0;
  for (float v : values) non_finite |= (std::bit_cast<std::uint32_t>(v) & 0x7F800000u) == 0x7F800000u;
  return non_finite == 0;
}

// "m:ss" or "h:mm:ss" into buf; "--:--" when unknown. No allocation.
[[gnu::cold]] inline const char* clock_text(double seconds, char (&buf)[24]) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds > 1e9) {
    std::snprintf(buf, sizeof buf, "--:--");
    return buf;
  }
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

[[gnu::cold]] inline bool is_terminal(const std::ostream& os) {
#if defined(__unix__) || defined(__APPLE__)
  if (&os == &std::cout) return ::isatty(STDOUT_FILENO) == 1;
  if (&os == &std::cerr || &os == &std::clog) return ::isatty(STDERR_FILENO) == 1;
#endif
  (void)os;
  return false;
}

// The bar or the periodic lines of one epoch.
class ProgressPrinter {
 public:
  [[gnu::cold]] ProgressPrinter(std::ostream& os, Progress mode, std::size_t lines_per_epoch)
      : os_(os),
        mode_(mode == Progress::automatic ? (is_terminal(os) ? Progress::bar : Progress::lines) : mode),
        lines_per_epoch_(std::max<std::size_t>(lines_per_epoch, 1)) {}

  [[gnu::cold]] void start_epoch(std::size_t epoch, std::size_t epochs, std::size_t steps) {
    epoch_ = epoch;
    epochs_ = epochs;
    steps_ = steps;
    step_digits_ = 1;
    for (std::size_t v = steps; v >= 10; v /= 10) ++step_digits_;
    last_draw_ = clock::time_point{};
    drawn_ = 0;
  }

  // After `done` steps of the epoch, `seconds` into it. Allocates nothing (it
  // runs inside the training loop).
  void update(std::size_t done, double loss, double accuracy, double seconds, std::size_t images) {
    const double rate = seconds > 0 ? static_cast<double>(images) / seconds : 0.0;
    const double eta = done ? seconds / static_cast<double>(done) * static_cast<double>(steps_ - done) : NAN;
    char buf[256];
    char eta_text[24];
    if (mode_ == Progress::bar) {
      const auto now = clock::now();
      if (done != steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
      last_draw_ = now;
      constexpr std::size_t width = 24;
      const std::size_t filled = steps_ ? std::min(done * width / steps_, width) : width;
      char bar[width + 1];
      for (std::size_t i = 0; i < width; ++i) bar[i] = i < filled ? '=' : i == filled ? '>' : ' ';
      bar[width] = '\0';
      // Fixed-width fields: a redrawn line never leaves characters of a longer one behind.
      std::snprintf(buf, sizeof buf, "\repoch %zu/%zu [%s] %*zu/%zu ETA %5s loss %.4f acc %5.1f%% %6.0f img/s",
                    epoch_, epochs_, bar, step_digits_, done, steps_, clock_text(eta, eta_text), loss,
                    100.0 * accuracy, rate);
      os_ << buf << std::flush;
      drawn_ = 1;
    } else if (mode_ == Progress::lines) {
      // Lines at (k / lines_per_epoch) of the epoch, k = 1 .. lines_per_epoch - 1;
      // the epoch summary stands for the last one.
      const std::size_t next = (drawn_ + 1) * steps_ / lines_per_epoch_;
      if (done == steps_ || done < std::max<std::size_t>(next, 1)) return;
      ++drawn_;
      std::snprintf(buf, sizeof buf,
                    "epoch %zu/%zu step %zu/%zu: loss %.4f, acc %.2f%%, %.0f img/s, ETA %s\n", epoch_,
                    epochs_, done, steps_, loss, 100.0 * accuracy, rate, clock_text(eta, eta_text));
      os_ << buf << std::flush;
    }
  }

  // Ends the bar's line, so what follows starts on a fresh one.
  [[gnu::cold]] void end_line() {
    if (mode_ == Progress::bar && drawn_) os_ << '\n';
    drawn_ = 0;
  }

 private:
  std::ostream& os_;
  Progress mode_;
  std::size_t lines_per_epoch_;
  std::size_t epoch_ = 0, epochs_ = 0, steps_ = 0, drawn_ = 0;
  int step_digits_ = 1;
  clock::time_point last_draw_{};
};

// The parts of fit that do not depend on the network or the batch size:
// options, resuming, messages, the end of an epoch and the files. Not a
// template, so a program compiles them once however many networks it trains.
class Run {
 public:
  [[gnu::cold]] Run(const FitOptions& options, FitResult& result)
      : options_(options),
        result_(result),
        out_(options.out ? *options.out : std::cout),
        progress_(out_, options.progress, options.lines_per_epoch) {
    if (write_files()) std::filesystem::create_directories(options.output_dir);
  }

  std::ostream& out() { return out_; }
  ProgressPrinter& progress() { return progress_; }
  bool write_files() const { return !options_.output_dir.empty(); }
  // Cold like its callers: hot, it was 259 optimized lines, and 236 more where inlined.
  [[gnu::cold]] std::filesystem::path path_of(std::string_view name) const { return options_.output_dir / name; }

  // Whether to load the checkpoint (says so when resuming finds none).
  [[gnu::cold]] bool resume_from_checkpoint() {
    if (!options_.resume || !write_files()) return false;
    const auto checkpoint = path_of(checkpoint_file_name);
    if (std::filesystem::exists(checkpoint)) return true;
    out_ << "resume: no checkpoint at " << checkpoint.string() << "; starting from the beginning\n";
    return false;
  }

  // After the checkpoint is loaded: the history of its epochs and its seed
  // (kept whatever options.seed says). Returns the first epoch to train.
  [[gnu::cold]] std::size_t resumed(const CheckpointInfo& info, std::uint64_t& seed) {
    result_.steps = info.step;
    result_.resumed_from = info.epoch;
    if (info.seed != seed) {
      out_ << "resume: the checkpoint was trained with seed " << info.seed << " (not " << seed << "); keeping "
           << info.seed << " so the epochs follow the same order\n";
      seed = info.seed;
    }
    if (std::filesystem::exists(path_of(metrics_file_name))) {
      for (const EpochMetrics& m : read_metrics_csv(path_of(metrics_file_name))) {
        if (m.epoch <= info.epoch) result_.history.push_back(m);
      }
    }
    out_ << "resumed from " << path_of(checkpoint_file_name).string() << " after epoch " << info.epoch << " (step "
         << info.step << ")\n";
    return info.epoch;
  }

  // Steps per epoch, from the loader's full batches.
  [[gnu::cold]] std::size_t steps_per_epoch(std::size_t batch_count, std::size_t train_size, std::size_t batch) const {
    if (batch_count == 0) {
      throw_invalid_argument("ctcnn::fit: the training set's %zu samples do not fill one batch of %zu", train_size,
                             batch);
    }
    return options_.steps_per_epoch ? std::min(options_.steps_per_epoch, batch_count) : batch_count;
  }

  // A non-finite value at (epoch, step): the message, before the weights are saved.
  [[gnu::cold]] void stop(std::size_t epoch, std::size_t step, std::size_t steps, const std::string& what) {
    progress_.end_line();
    result_.stopped = true;
    result_.stop_message = formatted(
        "training stopped: %s at epoch %zu, step %zu of %zu (step %zu of the run); the weights from before this "
        "step are kept",
        what.c_str(), epoch + 1, step + 1, steps, result_.steps + 1);
  }
  // After the weights are saved (if there is an output_dir).
  [[gnu::cold]] void stopped() {
    if (write_files()) result_.stop_message += " in " + path_of(weights_file_name).string();
    out_ << result_.stop_message << '\n';
  }

  // The training part of an epoch is over: its metrics, and the first part of its line.
  [[gnu::cold]] EpochMetrics end_training(std::size_t epoch, double loss_sum, std::size_t correct, std::size_t steps,
                                          std::size_t batch, clock::time_point start, std::clock_t cpu_start) {
    EpochMetrics m;
    m.epoch = epoch + 1;
    m.epoch_seconds = seconds_since(start);
    cpu_seconds_ = static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC;
    m.train_loss = loss_sum / static_cast<double>(steps);
    m.train_acc = static_cast<double>(correct) / static_cast<double>(steps * batch);
    m.images_per_second = m.epoch_seconds > 0 ? static_cast<double>(steps * batch) / m.epoch_seconds : 0.0;
    progress_.end_line();
    char line[256];
    std::snprintf(line, sizeof line, "epoch %zu/%zu: train loss %.4f acc %.2f%%", m.epoch, options_.epochs,
                  m.train_loss, 100.0 * m.train_acc);
    out_ << line;
    return m;
  }
  [[gnu::cold]] void validated(EpochMetrics& m, double loss, double accuracy, double seconds) {
    m.val_loss = loss;
    m.val_acc = accuracy;
    char line[256];
    std::snprintf(line, sizeof line, " | val loss %.4f acc %.2f%% (%.1f s)", m.val_loss, 100.0 * m.val_acc, seconds);
    out_ << line;
  }
  // Ends the epoch's line and records the epoch.
  [[gnu::cold]] void end_epoch(const EpochMetrics& m) {
    // CPU time beside wall time: their ratio shows how busy the threads were
    // (and, on a shared machine, how much of it the run got).
    char line[256];
    std::snprintf(line, sizeof line, " | %.1f s (CPU %.1f s), %.0f img/s\n", m.epoch_seconds, cpu_seconds_,
                  m.images_per_second);
    out_ << line << std::flush;
    result_.history.push_back(m);
  }
  // The files that need no network (after the checkpoint and the weights).
  [[gnu::cold]] void write_history() {
    write_metrics_csv(path_of(metrics_file_name), result_.history);
    write_training_curves_svg(path_of(curves_file_name), result_.history, options_.title);
  }
  [[gnu::cold]] void finish(std::size_t first_epoch) {
    if (first_epoch >= options_.epochs && options_.epochs > 0 && result_.resumed_from > 0) {
      out_ << "nothing to do: the checkpoint has " << first_epoch << " epochs, --epochs asks for "
           << options_.epochs << '\n';
    }
  }

 private:
  const FitOptions& options_;
  FitResult& result_;
  std::ostream& out_;
  ProgressPrinter progress_;
  double cpu_seconds_ = 0.0;
};

template <class Net>
using classifier_output = typename Net::sequential_type::output_shape_t;

template <class Net, class Sample>
constexpr void check_classifier() {
  using Seq = typename Net::sequential_type;
  static_assert(std::is_same_v<Sample, typename Seq::input_shape_t>,
                "ctcnn::fit/evaluate: the data set's sample shape must be the network's input shape");
  static_assert(Seq::output_shape_t::rank == 1,
                "ctcnn::fit/evaluate: the network must end in one logit per class (output Shape<Classes>)");
}

}  // namespace detail::trainer

template <std::size_t Batch, class Net, class Sample>
Evaluation<detail::trainer::classifier_output<Net>::size> evaluate(const Net& net,
                                                                    const io::ImageDataset<Sample>& data) {
  detail::trainer::check_classifier<Net, Sample>();
  constexpr std::size_t C = detail::trainer::classifier_output<Net>::size;
  const auto start = detail::trainer::clock::now();
  Evaluation<C> result;
  io::BatchLoader<Batch, Sample> loader(data, io::LastBatch::pad, false);
  auto x = std::make_unique<typename io::BatchLoader<Batch, Sample>::images_type>();
  auto y = std::make_unique<typename io::BatchLoader<Batch, Sample>::labels_type>();
  double loss_sum = 0.0;
  for (std::size_t b = 0; b < loader.batch_count(); ++b) {
    const std::size_t valid = loader.fill(b, *x, *y);
    const auto logits = net.forward(*x);
    for (std::size_t n = 0; n < valid; ++n) {
      const float* row = logits.data() + n * C;
      const auto t = static_cast<std::size_t>((*y)[n]);
      // -log softmax(row)[t] = log sum exp(row - m) - (row[t] - m), in double.
      const double m = row[argmax(row, C)];
      double sum = 0.0;
      for (std::size_t c = 0; c < C; ++c) sum += std::exp(static_cast<double>(row[c]) - m);
      loss_sum += std::log(sum) - (static_cast<double>(row[t]) - m);
      result.confusion.add(t, argmax(row, C));
    }
  }
  result.count = data.size();
  result.loss = data.size() ? loss_sum / static_cast<double>(data.size()) : NAN;
  result.accuracy = result.confusion.accuracy();
  result.seconds = detail::trainer::seconds_since(start);
  return result;
}

template <std::size_t Batch, class Net, Optimizer Opt, class Loss, class Sample>
FitResult fit(Net& net, Opt& optimizer, const Loss& loss, const io::ImageDataset<Sample>& train,
              const io::ImageDataset<Sample>* validation, const FitOptions& options) {
  namespace dt = detail::trainer;
  dt::check_classifier<Net, Sample>();
  using Seq = typename Net::sequential_type;
  constexpr std::size_t C = Seq::output_shape_t::size;
  FitResult result;
  dt::Run run(options, result);
  std::uint64_t seed = options.seed;
  std::size_t first_epoch = 0;
  if (run.resume_from_checkpoint()) {
    first_epoch = run.resumed(load_checkpoint(net, optimizer, run.path_of(checkpoint_file_name)), seed);
  }

  io::BatchLoader<Batch, Sample> loader(train, io::LastBatch::drop, true, seed);
  const std::size_t steps = run.steps_per_epoch(loader.batch_count(), train.size(), Batch);
  auto ws = make_workspace<Batch>(net);
  auto y = std::make_unique<Tensor<Shape<Batch>, std::int32_t>>();
  auto dlogits = std::make_unique<Tensor<Shape<Batch, C>>>();
  std::vector<float> backup(net.parameters().size());

  const auto stop = [&](std::size_t epoch, std::size_t step, const std::string& what) {
    run.stop(epoch, step, steps, what);
    if (run.write_files()) io::save_weights(net, run.path_of(weights_file_name));
    run.stopped();
  };

  for (std::size_t epoch = first_epoch; epoch < options.epochs; ++epoch) {
    loader.start_epoch(epoch);
    run.progress().start_epoch(epoch + 1, options.epochs, steps);
    const auto epoch_start = dt::clock::now();
    const std::clock_t epoch_cpu_start = std::clock();
    double loss_sum = 0.0;
    std::size_t correct = 0;
    for (std::size_t step = 0; step < steps; ++step) {
      loader.fill(step, ws->input(), *y);
      const auto& logits = net.forward(*ws);
      const float batch_loss = loss(logits, *y, *dlogits);
      if (!std::isfinite(batch_loss)) {
        stop(epoch, step, detail::formatted("the loss is %f", static_cast<double>(batch_loss)));
        return result;
      }
      for (std::size_t n = 0; n < Batch; ++n) {
        correct += argmax(logits.data() + n * C, C) == static_cast<std::size_t>((*y)[n]);
      }
      optimizer.zero_grad();
      net.backward(*ws, *dlogits);
      if (options.check_gradients && !dt::all_finite(net.gradients())) {
        stop(epoch, step, "a gradient is NaN or infinite");
        return result;
      }
      std::copy(net.parameters().begin(), net.parameters().end(), backup.begin());
      optimizer.step();
      if (!dt::all_finite(net.parameters())) {
        std::copy(backup.begin(), backup.end(), net.parameters().begin());
        stop(epoch, step, "the update made a parameter NaN or infinite");
        return result;
      }
      ++result.steps;
      loss_sum += batch_loss;
      const std::size_t images = (step + 1) * Batch;
      run.progress().update(step + 1, loss_sum / static_cast<double>(step + 1),
                            static_cast<double>(correct) / static_cast<double>(images),
                            dt::seconds_since(epoch_start), images);
    }
    EpochMetrics m = run.end_training(epoch, loss_sum, correct, steps, Batch, epoch_start, epoch_cpu_start);
    if (validation) {
      const auto eval = evaluate<Batch>(net, *validation);
      run.validated(m, eval.loss, eval.accuracy, eval.seconds);
    }
    run.end_epoch(m);
    if (run.write_files()) {
      save_checkpoint(net, optimizer, run.path_of(checkpoint_file_name), CheckpointInfo{epoch + 1, result.steps, seed});
      io::save_weights(net, run.path_of(weights_file_name));
      run.write_history();
    }
  }
  run.finish(first_epoch);
  return result;
}

template <std::size_t Batch, class Net, Optimizer Opt, class Loss, class Sample>
FitResult fit(Net& net, Opt& optimizer, const Loss& loss, const io::ImageDataset<Sample>& train,
              const io::ImageDataset<Sample>& validation, const FitOptions& options) {
  return fit<Batch>(net, optimizer, loss, train, &validation, options);
}

template <std::size_t Batch, class Net, Optimizer Opt, class Loss, class Sample>
FitResult fit(Net& net, Opt& optimizer, const Loss& loss, const io::ImageDataset<Sample>& train,
              const FitOptions& options) {
  return fit<Batch>(net, optimizer, loss, train, static_cast<const io::ImageDataset<Sample>*>(nullptr), options);
}

}  // namespace ctcnn
