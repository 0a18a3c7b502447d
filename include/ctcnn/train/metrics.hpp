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
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "ctcnn/io/error.hpp"

namespace ctcnn {

inline std::size_t argmax(const float* row, std::size_t n) {
  std::size_t best = 0;
  for (std::size_t c = 1; c < n; ++c) {
    if (row[c] > row[best]) best = c;
  }
  return best;
}

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
    std::size_t name_width = 0;
    for (std::size_t c = 0; c < Classes; ++c) name_width = std::max(name_width, label(names, c).size());
    std::size_t cell = 4;
    for (std::size_t v : counts_) cell = std::max(cell, std::to_string(v).size() + 1);
    const std::string head = pad_right("true \\ predicted", name_width + 5);
    os << head;
    for (std::size_t p = 0; p < Classes; ++p) os << pad_left(std::to_string(p), cell);
    os << "   recall\n";
    for (std::size_t t = 0; t < Classes; ++t) {
      os << pad_left(std::to_string(t), 2) << "  " << pad_right(label(names, t), name_width + 1);
      for (std::size_t p = 0; p < Classes; ++p) os << pad_left(std::to_string(count(t, p)), cell);
      char recall[16];
      std::snprintf(recall, sizeof recall, "%8.1f%%", 100.0 * class_accuracy(t));
      os << ' ' << recall << '\n';
    }
    char acc[64];
    std::snprintf(acc, sizeof acc, "%.2f%%", 100.0 * accuracy());
    os << "accuracy " << acc << " (" << correct() << " of " << total() << ")\n";
  }

 private:
  static std::string label(std::span<const std::string_view> names, std::size_t c) {
    return c < names.size() ? std::string(names[c]) : "class " + std::to_string(c);
  }
  static std::string pad_left(const std::string& s, std::size_t w) {
    return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
  }
  static std::string pad_right(const std::string& s, std::size_t w) {
    return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
  }

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

inline void write_metrics_csv(const std::filesystem::path& file, std::span<const EpochMetrics> history) {
  std::ofstream out(file, std::ios::trunc);
  if (!out) throw io::IoError(file, "cannot open for writing");
  out << metrics_csv_header << '\n';
  for (const EpochMetrics& m : history) {
    char line[256];
    std::snprintf(line, sizeof line, "%zu,%.6f,%.6f,%.6f,%.6f,%.3f,%.1f\n", m.epoch, m.train_loss,
                  m.train_acc, m.val_loss, m.val_acc, m.epoch_seconds, m.images_per_second);
    out << line;
  }
  out.close();
  if (!out) throw io::IoError(file, "write error");
}

inline std::vector<EpochMetrics> read_metrics_csv(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw io::IoError(file, "cannot open for reading");
  std::string line;
  if (!std::getline(in, line) || line != metrics_csv_header) {
    throw io::IoError(file, "not a metrics file: the first line should be " +
                                std::string(metrics_csv_header));
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
      throw io::IoError(file, "line " + std::to_string(row) + " is not 7 numbers with a whole epoch: " + line);
    }
    m.epoch = static_cast<std::size_t>(epoch);
    history.push_back(m);
  }
  return history;
}

}  // namespace ctcnn
