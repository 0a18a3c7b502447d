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
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

inline Ticks nice_ticks(double lo, double hi, std::size_t target = 6) {
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
inline std::string tick_text(double v, double step) {
  const int decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::fabs(v) < step * 1e-6 ? 0.0 : v);
  return buf;
}

inline std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

inline std::string escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

struct Series {
  std::string name, colour, dash;
  std::vector<double> x, y;  // finite points only
};

inline constexpr double panel_width = 450, plot_left = 70, plot_right = 430;
inline constexpr double plot_top = 60, plot_bottom = 330, total_height = 390;

// One panel whose left edge is at x0.
// The legend goes where the curves usually are not: top right for a loss
// (falling), bottom right for an accuracy (rising).
enum class Corner { top_right, bottom_right };

inline std::string panel(double x0, const std::string& y_label, const std::vector<Series>& series,
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

  s += "<rect x=\"" + num(left) + "\" y=\"" + num(plot_top) + "\" width=\"" + num(right - left) +
       "\" height=\"" + num(plot_bottom - plot_top) + "\" fill=\"#ffffff\" stroke=\"none\"/>\n";
  // Horizontal grid and y ticks.
  for (std::size_t i = 0; i < yt.count; ++i) {
    const double v = yt.first + yt.step * static_cast<double>(i);
    const std::string y = num(py(v));
    s += "<line x1=\"" + num(left) + "\" y1=\"" + y + "\" x2=\"" + num(right) + "\" y2=\"" + y +
         "\" stroke=\"#e0e0e0\"/>\n";
    s += "<line x1=\"" + num(left - 5) + "\" y1=\"" + y + "\" x2=\"" + num(left) + "\" y2=\"" + y +
         "\" stroke=\"#000000\"/>\n";
    s += "<text x=\"" + num(left - 8) + "\" y=\"" + num(py(v) + 4) + "\" text-anchor=\"end\">" +
         tick_text(v, yt.step) + "</text>\n";
  }
  // x ticks at whole epochs.
  for (double e = 1.0; e <= x_hi; e += x_step) {
    const std::string x = num(px(e));
    s += "<line x1=\"" + x + "\" y1=\"" + num(plot_bottom) + "\" x2=\"" + x + "\" y2=\"" +
         num(plot_bottom + 5) + "\" stroke=\"#000000\"/>\n";
    s += "<text x=\"" + x + "\" y=\"" + num(plot_bottom + 20) + "\" text-anchor=\"middle\">" +
         tick_text(e, 1.0) + "</text>\n";
  }
  // Axes.
  s += "<polyline points=\"" + num(left) + "," + num(plot_top) + " " + num(left) + "," +
       num(plot_bottom) + " " + num(right) + "," + num(plot_bottom) +
       "\" fill=\"none\" stroke=\"#000000\"/>\n";
  s += "<text x=\"" + num((left + right) / 2) + "\" y=\"" + num(plot_bottom + 45) +
       "\" text-anchor=\"middle\">epoch</text>\n";
  s += "<text transform=\"translate(" + num(x0 + 18) + "," + num((plot_top + plot_bottom) / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + escape(y_label) + "</text>\n";
  // Series: a line and a marker at each epoch.
  for (const auto& ser : series) {
    std::string points;
    for (std::size_t i = 0; i < ser.x.size(); ++i) {
      if (i) points += ' ';
      points += num(px(ser.x[i])) + "," + num(py(ser.y[i]));
    }
    if (ser.x.size() > 1) {
      s += "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + ser.colour +
           "\" stroke-width=\"2\"" + (ser.dash.empty() ? "" : " stroke-dasharray=\"" + ser.dash + "\"") +
           "/>\n";
    }
    for (std::size_t i = 0; i < ser.x.size(); ++i) {
      s += "<circle cx=\"" + num(px(ser.x[i])) + "\" cy=\"" + num(py(ser.y[i])) + "\" r=\"3.5\" fill=\"" +
           ser.colour + "\"/>\n";
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
    s += "<rect x=\"" + num(lx - 8) + "\" y=\"" + num(box_top) + "\" width=\"132\" height=\"" +
         num(box_height) + "\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#b0b0b0\"/>\n";
  }
  for (const auto& ser : series) {
    if (ser.x.empty()) continue;
    s += "<line x1=\"" + num(lx) + "\" y1=\"" + num(ly) + "\" x2=\"" + num(lx + 28) + "\" y2=\"" + num(ly) +
         "\" stroke=\"" + ser.colour + "\" stroke-width=\"2\"" +
         (ser.dash.empty() ? "" : " stroke-dasharray=\"" + ser.dash + "\"") + "/>\n";
    s += "<circle cx=\"" + num(lx + 14) + "\" cy=\"" + num(ly) + "\" r=\"3.5\" fill=\"" + ser.colour + "\"/>\n";
    s += "<text x=\"" + num(lx + 36) + "\" y=\"" + num(ly + 4) + "\">" + escape(ser.name) + "</text>\n";
    ly += 20;
  }
  if (!shown) {
    s += "<text x=\"" + num((left + right) / 2) + "\" y=\"" + num((plot_top + plot_bottom) / 2) +
         "\" text-anchor=\"middle\" fill=\"#808080\">no data</text>\n";
  }
  return s;
}

inline Series series(std::string name, std::string colour, std::string dash,
                     std::span<const EpochMetrics> history, const std::function<double(const EpochMetrics&)>& get) {
  Series s{std::move(name), std::move(colour), std::move(dash), {}, {}};
  for (const auto& m : history) {
    const double v = get(m);
    if (std::isfinite(v)) {
      s.x.push_back(static_cast<double>(m.epoch));
      s.y.push_back(v);
    }
  }
  return s;
}

}  // namespace detail::plot

inline std::string training_curves_svg(std::span<const EpochMetrics> history, std::string_view title) {
  namespace dp = detail::plot;
  std::size_t epochs = 0;
  for (const auto& m : history) epochs = std::max(epochs, m.epoch);
  const std::string train_colour = "#1f77b4", val_colour = "#ff7f0e";
  const std::vector<dp::Series> loss{
      dp::series("training", train_colour, "", history, [](const EpochMetrics& m) { return m.train_loss; }),
      dp::series("validation", val_colour, "6,4", history, [](const EpochMetrics& m) { return m.val_loss; })};
  const std::vector<dp::Series> acc{
      dp::series("training", train_colour, "", history,
                 [](const EpochMetrics& m) { return 100.0 * m.train_acc; }),
      dp::series("validation", val_colour, "6,4", history,
                 [](const EpochMetrics& m) { return 100.0 * m.val_acc; })};
  const double width = 2 * dp::panel_width;
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + dp::num(width) + "\" height=\"" +
       dp::num(dp::total_height) + "\" viewBox=\"0 0 " + dp::num(width) + " " + dp::num(dp::total_height) +
       "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"13\">\n";
  s += "<rect width=\"100%\" height=\"100%\" fill=\"#f8f8f8\"/>\n";
  s += "<text x=\"" + dp::num(width / 2) + "\" y=\"26\" text-anchor=\"middle\" font-size=\"17\">" +
       dp::escape(title) + "</text>\n";
  s += "<text x=\"" + dp::num(dp::plot_left + (dp::plot_right - dp::plot_left) / 2) +
       "\" y=\"50\" text-anchor=\"middle\" font-size=\"14\">loss</text>\n";
  s += "<text x=\"" + dp::num(dp::panel_width + dp::plot_left + (dp::plot_right - dp::plot_left) / 2) +
       "\" y=\"50\" text-anchor=\"middle\" font-size=\"14\">accuracy</text>\n";
  s += dp::panel(0.0, "cross-entropy loss", loss, epochs, dp::Corner::top_right);
  s += dp::panel(dp::panel_width, "accuracy (%)", acc, epochs, dp::Corner::bottom_right);
  s += "</svg>\n";
  return s;
}

inline void write_training_curves_svg(const std::filesystem::path& file,
                                      std::span<const EpochMetrics> history, std::string_view title) {
  std::ofstream out(file, std::ios::trunc);
  if (!out) throw io::IoError(file, "cannot open for writing");
  out << training_curves_svg(history, title);
  out.close();
  if (!out) throw io::IoError(file, "write error");
}

}  // namespace ctcnn
