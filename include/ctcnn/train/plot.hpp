// ctcnn/train/plot.hpp: training curves as a self-contained SVG file, written by
// hand (no plotting library), so any browser or image viewer opens it.
//
//   training_curves_svg(history, title)          the SVG text
//   write_training_curves_svg(path, history, title)
//
// Two panels side by side: loss per epoch and accuracy (%) per epoch, each with
// the training and the validation series (validation absent when it is NaN),
// axes with "nice" ticks (1, 2 or 5 times a power of ten), grid lines, axis
// labels and a legend. Non-finite values are left out of the lines.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctcnn/detail/format.hpp"
#include "ctcnn/io/error.hpp"
#include "ctcnn/train/metrics.hpp"

namespace ctcnn {

namespace detail::plot {

// Ticks covering [lo, hi]: about `target` of them at a step of 1, 2 or 5 times
// a power of ten; the axis then runs from the first tick to the last.
struct Ticks {
  double first = 0.0, step = 1.0;
  std::size_t count = 2;
  double last() const { return first + step * static_cast<double>(count - 1); }
};

[[gnu::cold]] inline Ticks nice_ticks(double lo, double hi, std::size_t target = 6) {
  if (!(hi > lo)) {
    const double pad = std::fabs(lo) > 0.0 ? std::fabs(lo) * 0.1 : 1.0;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / static_cast<double>(std::max<std::size_t>(target - 1, 1));
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / magnitude;
  const double nice = fraction <= 1.0 ? 1.0 : fraction <= 2.0 ? 2.0 : fraction <= 5.0 ? 5.0 : 10.0;
  Ticks t;
  t.step = nice * magnitude;
  t.first = std::floor(lo / t.step + 1e-9) * t.step;
  const double end = std::ceil(hi / t.step - 1e-9) * t.step;
  t.count = static_cast<std::size_t>(std::llround((end - t.first) / t.step)) + 1;
  if (t.count < 2) t.count = 2;
  return t;
}

// Enough decimals to tell neighbouring ticks apart.
[[gnu::cold]] inline std::string tick_text(double v, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(v) < step * 1e-6 ? 0.0 : v);
  return buf;
}

[[gnu::cold]] inline std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    const char* entity = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;" : nullptr;
    if (entity) {
      out += entity;
    } else {
      out += c;
    }
  }
  return out;
}

struct Series {
  const char* name = "";
  const char* colour = "";
  const char* dash = "";     // stroke-dasharray, "" for a solid line
  std::vector<double> x, y;  // finite points only
};

inline constexpr double panel_width = 450, plot_left = 70, plot_right = 430;
inline constexpr double plot_top = 60, plot_bottom = 330, total_height = 390;

// One panel whose left edge is at x0.
// The legend goes where the curves usually are not: top right for a loss
// (falling), bottom right for an accuracy (rising).
enum class Corner { top_right, bottom_right };

[[gnu::cold]] inline std::string panel(double x0, const char* y_label, std::span<const Series> series,
                                       std::size_t epochs, Corner legend) {
  std::string s;
  const double left = x0 + plot_left, right = x0 + plot_right;
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& ser : series) {
    for (double v : ser.y) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (!(lo <= hi)) lo = hi = 0.0;
  // 5% of air so that no point sits on the frame.
  const double air = 0.05 * (hi - lo);
  const Ticks yt = nice_ticks(lo - air, hi + air);
  // x: epochs 1..E with half an epoch of air at both ends, a tick every 1, 2, 5, ... epochs.
  const double x_lo = 0.5, x_hi = static_cast<double>(std::max<std::size_t>(epochs, 1)) + 0.5;
  const Ticks xt = nice_ticks(1.0, static_cast<double>(std::max<std::size_t>(epochs, 1)), 10);
  const double x_step = std::max(1.0, xt.step);
  const auto px = [&](double e) { return left + (e - x_lo) / (x_hi - x_lo) * (right - left); };
  const auto py = [&](double v) {
    return plot_bottom - (v - yt.first) / (yt.last() - yt.first) * (plot_bottom - plot_top);
  };

  // Coordinates print with two decimals (%.2f) throughout.
  append_format(s, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#ffffff\" stroke=\"none\"/>\n",
                left, plot_top, right - left, plot_bottom - plot_top);
  // Horizontal grid and y ticks.
  for (std::size_t i = 0; i < yt.count; ++i) {
    const double v = yt.first + yt.step * static_cast<double>(i);
    const double y = py(v);
    append_format(s, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e0e0e0\"/>\n", left, y,
                  right, y);
    append_format(s, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#000000\"/>\n", left - 5,
                  y, left, y);
    append_format(s, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n", left - 8, y + 4,
                  tick_text(v, yt.step).c_str());
  }
  // x ticks at whole epochs.
  for (double e = 1.0; e <= x_hi; e += x_step) {
    const double x = px(e);
    append_format(s, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#000000\"/>\n", x,
                  plot_bottom, x, plot_bottom + 5);
    append_format(s, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n", x, plot_bottom + 20,
                  tick_text(e, 1.0).c_str());
  }
  // Axes.
  append_format(s, "<polyline points=\"%.2f,%.2f %.2f,%.2f %.2f,%.2f\" fill=\"none\" stroke=\"#000000\"/>\n",
                left, plot_top, left, plot_bottom, right, plot_bottom);
  append_format(s, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">epoch</text>\n", (left + right) / 2,
                plot_bottom + 45);
  append_format(s, "<text transform=\"translate(%.2f,%.2f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
                x0 + 18, (plot_top + plot_bottom) / 2, escape(y_label).c_str());
  // Series: a line and a marker at each epoch.
  for (const auto& ser : series) {
    if (ser.x.size() > 1) {
      s += "<polyline points=\"";
      for (std::size_t i = 0; i < ser.x.size(); ++i) {
        append_format(s, "%s%.2f,%.2f", i ? " " : "", px(ser.x[i]), py(ser.y[i]));
      }
      append_format(s, "\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"", ser.colour);
      if (*ser.dash) append_format(s, " stroke-dasharray=\"%s\"", ser.dash);
      s += "/>\n";
    }
    for (std::size_t i = 0; i < ser.x.size(); ++i) {
      append_format(s, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%s\"/>\n", px(ser.x[i]), py(ser.y[i]),
                    ser.colour);
    }
  }
  // Legend, inside the plot.
  std::size_t shown = 0;
  for (const auto& ser : series) shown += !ser.x.empty();
  const double box_height = 8 + 20.0 * static_cast<double>(shown);
  const double box_top = legend == Corner::top_right ? plot_top + 5 : plot_bottom - 5 - box_height;
  double ly = box_top + 13;
  const double lx = right - 130;
  if (shown) {
    append_format(s,
                  "<rect x=\"%.2f\" y=\"%.2f\" width=\"132\" height=\"%.2f\" fill=\"#ffffff\" "
                  "fill-opacity=\"0.85\" stroke=\"#b0b0b0\"/>\n",
                  lx - 8, box_top, box_height);
  }
  for (const auto& ser : series) {
    if (ser.x.empty()) continue;
    append_format(s, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\" stroke-width=\"2\"", lx,
                  ly, lx + 28, ly, ser.colour);
    if (*ser.dash) append_format(s, " stroke-dasharray=\"%s\"", ser.dash);
    s += "/>\n";
    append_format(s, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%s\"/>\n", lx + 14, ly, ser.colour);
    append_format(s, "<text x=\"%.2f\" y=\"%.2f\">%s</text>\n", lx + 36, ly + 4, escape(ser.name).c_str());
    ly += 20;
  }
  if (!shown) {
    append_format(s, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" fill=\"#808080\">no data</text>\n",
                  (left + right) / 2, (plot_top + plot_bottom) / 2);
  }
  return s;
}

// The finite values get(m) of the history, against the epochs.
[[gnu::cold]] inline void fill_series(Series& s, std::span<const EpochMetrics> history,
                                      double (*get)(const EpochMetrics&)) {
  for (const auto& m : history) {
    const double v = get(m);
    if (std::isfinite(v)) {
      s.x.push_back(static_cast<double>(m.epoch));
      s.y.push_back(v);
    }
  }
}

}  // namespace detail::plot

[[gnu::cold]] inline std::string training_curves_svg(std::span<const EpochMetrics> history, std::string_view title) {
  namespace dp = detail::plot;
  std::size_t epochs = 0;
  for (const auto& m : history) epochs = std::max(epochs, m.epoch);
  // Loss panel: curves[0..1], accuracy panel: curves[2..3].
  dp::Series curves[4] = {{"training", "#1f77b4", "", {}, {}},
                          {"validation", "#ff7f0e", "6,4", {}, {}},
                          {"training", "#1f77b4", "", {}, {}},
                          {"validation", "#ff7f0e", "6,4", {}, {}}};
  dp::fill_series(curves[0], history, [](const EpochMetrics& m) { return m.train_loss; });
  dp::fill_series(curves[1], history, [](const EpochMetrics& m) { return m.val_loss; });
  dp::fill_series(curves[2], history, [](const EpochMetrics& m) { return 100.0 * m.train_acc; });
  dp::fill_series(curves[3], history, [](const EpochMetrics& m) { return 100.0 * m.val_acc; });
  const double width = 2 * dp::panel_width;
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  detail::append_format(s,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.2f\" height=\"%.2f\" viewBox=\"0 0 %.2f %.2f\" "
                "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n",
                width, dp::total_height, width, dp::total_height);
  s += "<rect width=\"100%\" height=\"100%\" fill=\"#f8f8f8\"/>\n";
  detail::append_format(s, "<text x=\"%.2f\" y=\"26\" text-anchor=\"middle\" font-size=\"17\">%s</text>\n", width / 2,
                dp::escape(title).c_str());
  detail::append_format(s, "<text x=\"%.2f\" y=\"50\" text-anchor=\"middle\" font-size=\"14\">loss</text>\n",
                dp::plot_left + (dp::plot_right - dp::plot_left) / 2);
  detail::append_format(s, "<text x=\"%.2f\" y=\"50\" text-anchor=\"middle\" font-size=\"14\">accuracy</text>\n",
                dp::panel_width + dp::plot_left + (dp::plot_right - dp::plot_left) / 2);
  s += dp::panel(0.0, "cross-entropy loss", std::span<const dp::Series>(curves, 2), epochs, dp::Corner::top_right);
  s += dp::panel(dp::panel_width, "accuracy (%)", std::span<const dp::Series>(curves + 2, 2), epochs,
                 dp::Corner::bottom_right);
  s += "</svg>\n";
  return s;
}

[[gnu::cold]] inline void write_training_curves_svg(const std::filesystem::path& file,
                                                    std::span<const EpochMetrics> history, std::string_view title) {
  std::ofstream out(file, std::ios::trunc);
  if (!out) io::detail::throw_io_error(file, "cannot open for writing");
  out << training_curves_svg(history, title);
  out.close();
  if (!out) io::detail::throw_io_error(file, "write error");
}

}  // namespace ctcnn
