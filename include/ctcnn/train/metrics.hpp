// ctcnn/train/metrics.hpp: what a training run measures, and the CSV it keeps.
//
//   argmax(row, n)             the predicted class of one row of logits (first of ties)
//   ConfusionMatrix<Classes>   counts of (true class, predicted class); accuracy,
//                              per-class recall, a printed table with class names
//   EpochMetrics               one row of the run's history
//   write_metrics_csv(path, history) / read_metrics_csv(path)
//
// The CSV has the header
//   epoch,train_loss,train_acc,val_loss,val_acc,epoch_seconds,images_per_second
// and one row per epoch (epoch counted from 1). Accuracies are fractions in [0, 1];
// epoch_seconds is the time spent training in that epoch (evaluation excluded),
// images_per_second the training images of the epoch divided by it. A run without a
// validation set writes "nan" for val_loss and val_acc. The file is rewritten whole
// after every epoch, so it is complete whenever the run stops; a resumed run reads
// it back and keeps the rows of the epochs it does not repeat.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctcnn/detail/format.hpp"
#include "ctcnn/io/error.hpp"

namespace ctcnn {

inline std::size_t argmax(const float* row, std::size_t n) {
  std::size_t best = 0;
  for (std::size_t c = 1; c < n; ++c) {
    if (row[c] > row[best]) best = c;
  }
  return best;
}

namespace detail {

// ConfusionMatrix::print for any number of classes (not a template: compiled once).
[[gnu::cold]] inline void print_confusion(std::ostream& os, const std::size_t* counts, std::size_t classes,
                                          std::span<const std::string_view> names) {
  std::vector<std::string> labels(classes);
  std::size_t name_width = 0, cell = 4, correct = 0, total = 0;
  for (std::size_t c = 0; c < classes; ++c) {
    labels[c] = c < names.size() ? std::string(names[c]) : formatted("class %zu", c);
    name_width = std::max(name_width, labels[c].size());
    correct += counts[c * classes + c];
  }
  for (std::size_t i = 0; i < classes * classes; ++i) {
    cell = std::max(cell, formatted("%zu", counts[i]).size() + 1);
    total += counts[i];
  }
  const int w = static_cast<int>(cell);
  std::string text = formatted("%-*s", static_cast<int>(name_width + 5), "true \\ predicted");
  for (std::size_t p = 0; p < classes; ++p) append_format(text, "%*zu", w, p);
  text += "   recall\n";
  for (std::size_t t = 0; t < classes; ++t) {
    append_format(text, "%2zu  %-*s", t, static_cast<int>(name_width + 1), labels[t].c_str());
    std::size_t row = 0;
    for (std::size_t p = 0; p < classes; ++p) {
      append_format(text, "%*zu", w, counts[t * classes + p]);
      row += counts[t * classes + p];
    }
    const double recall = row ? static_cast<double>(counts[t * classes + t]) / static_cast<double>(row) : 0.0;
    append_format(text, " %8.1f%%\n", 100.0 * recall);
  }
  const double accuracy = total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0;
  append_format(text, "accuracy %.2f%% (%zu of %zu)\n", 100.0 * accuracy, correct, total);
  os << text;
}

}  // namespace detail

template <std::size_t Classes>
class ConfusionMatrix {
 public:
  static constexpr std::size_t classes = Classes;

  void add(std::size_t truth, std::size_t predicted) { ++counts_[truth * Classes + predicted]; }
  void clear() { counts_.fill(0); }
  // Samples of class `truth` predicted as `predicted`.
  std::size_t count(std::size_t truth, std::size_t predicted) const {
    return counts_[truth * Classes + predicted];
  }
  std::size_t total() const {
    std::size_t t = 0;
    for (std::size_t v : counts_) t += v;
    return t;
  }
  std::size_t correct() const {
    std::size_t t = 0;
    for (std::size_t c = 0; c < Classes; ++c) t += count(c, c);
    return t;
  }
  double accuracy() const { return total() ? static_cast<double>(correct()) / static_cast<double>(total()) : 0.0; }
  // Recall of class c: the fraction of its samples predicted as c.
  double class_accuracy(std::size_t c) const {
    std::size_t row = 0;
    for (std::size_t p = 0; p < Classes; ++p) row += count(c, p);
    return row ? static_cast<double>(count(c, c)) / static_cast<double>(row) : 0.0;
  }

  // Rows are true classes, columns predicted classes (numbered, with the names
  // in a key at the row starts), and each row's recall at the end.
  void print(std::ostream& os, std::span<const std::string_view> names = {}) const {
    detail::print_confusion(os, counts_.data(), Classes, names);
  }

 private:
  std::array<std::size_t, Classes * Classes> counts_{};
};

struct EpochMetrics {
  std::size_t epoch = 0;  // from 1
  double train_loss = 0.0, train_acc = 0.0;
  double val_loss = NAN, val_acc = NAN;
  double epoch_seconds = 0.0, images_per_second = 0.0;
};

inline constexpr std::string_view metrics_csv_header =
    "epoch,train_loss,train_acc,val_loss,val_acc,epoch_seconds,images_per_second";

[[gnu::cold]] inline void write_metrics_csv(const std::filesystem::path& file, std::span<const EpochMetrics> history) {
  std::ofstream out(file, std::ios::trunc);
  if (!out) io::detail::throw_io_error(file, "cannot open for writing");
  out << metrics_csv_header << '\n';
  for (const EpochMetrics& m : history) {
    char line[256];
    std::snprintf(line, sizeof line, "%zu,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f\n", m.epoch, m.train_loss,
                  m.train_acc, m.val_loss, m.val_acc, m.epoch_seconds, m.images_per_second);
    out << line;
  }
  out.close();
  if (!out) io::detail::throw_io_error(file, "write error");
}

[[gnu::cold]] inline std::vector<EpochMetrics> read_metrics_csv(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) io::detail::throw_io_error(file, "cannot open for reading");
  std::string line;
  if (!std::getline(in, line) || line != metrics_csv_header) {
    io::detail::throw_io_error(file, "not a metrics file: the first line should be %s",
                               metrics_csv_header.data());
  }
  std::vector<EpochMetrics> history;
  for (std::size_t row = 2; std::getline(in, line); ++row) {
    if (line.empty()) continue;
    EpochMetrics m;
    double epoch = 0.0;
    char tail = 0;
    // strtod-based %lf reads "nan" as well as numbers.
    const int fields = std::sscanf(line.c_str(), "%lf,%lf,%lf,%lf,%lf,%lf,%lf%c", &epoch, &m.train_loss,
                                   &m.train_acc, &m.val_loss, &m.val_acc, &m.epoch_seconds,
                                   &m.images_per_second, &tail);
    if (fields != 7 || !(epoch >= 1.0) || epoch != std::floor(epoch)) {
      io::detail::throw_io_error(file, "line %zu is not 7 numbers with a whole epoch: %s", row, line.c_str());
    }
    m.epoch = static_cast<std::size_t>(epoch);
    history.push_back(m);
  }
  return history;
}

}  // namespace ctcnn
