// ctcnn/net/summary.hpp
// A Keras-style table of a network, computed from its compile-time metadata:
//
//   summary<Net>(name)            the table as a string
//   print_summary<Net>(os, name)  the same, written to a stream
//
// One row per layer: index, describe(), output shape (per sample), parameters,
// multiply-adds per sample, receptive field of one output element in input
// pixels ("size, jump": the field's extent and the input distance between
// neighbouring outputs; "global" once a layer has mixed all positions, e.g. after
// Linear) and the bytes of the layer's output per sample. A first row shows the
// input, so the activation column adds up to the total below the table.
// Totals: parameters (and their bytes as float32), MACs and FLOPs (= 2 * MACs)
// per sample, activation bytes per sample (input and every layer output: what a
// training step keeps). Numbers carry thousands separators.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctcnn/core/layer.hpp"
#include "ctcnn/detail/format.hpp"
#include "ctcnn/net/sequential.hpp"

namespace ctcnn {

namespace detail {

// 1234567 -> "1,234,567".
[[gnu::cold]] inline std::string group_thousands(std::size_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  out.reserve(digits.size() + digits.size() / 3);
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "5x5, jump 1", "7x3, jump 2x1" or "global".
[[gnu::cold]] inline std::string receptive_field_text(const LayerMetadata& m) {
  if (m.rf_global) return "global";
  std::string s = formatted("%zux%zu, jump %zu", m.rf_rows, m.rf_cols, m.jump_rows);
  if (m.jump_rows != m.jump_cols) append_format(s, "x%zu", m.jump_cols);
  return s;
}

inline constexpr std::size_t summary_columns = 7;
using summary_row = std::array<std::string, summary_columns>;

using summary_widths = std::array<std::size_t, summary_columns>;

// The table's helpers are functions, not lambdas: a lambda's body is an ordinary
// (hot, -O3) function even inside a [[gnu::cold]] one, and these two were 600
// lines of optimised string code per program.
[[gnu::cold]] inline void append_rule(std::string& out, std::size_t total, char c) {
  out.append(total, c);
  out += '\n';
}

// Text left-aligned, numbers right-aligned.
[[gnu::cold]] inline void append_row(std::string& out, const summary_row& row, const summary_widths& width) {
  static constexpr std::array<bool, summary_columns> right_aligned{true,  false, false, true,
                                                                   true,  false, true};
  const std::size_t start = out.size();
  for (std::size_t c = 0; c < summary_columns; ++c) {
    append_format(out, right_aligned[c] ? "%s%*s" : "%s%-*s", c == 0 ? "" : "  ", static_cast<int>(width[c]),
                  row[c].c_str());
  }
  while (out.size() > start && out.back() == ' ') out.pop_back();
  out += '\n';
}

// Columns are separated by at least two spaces (descriptions and shapes contain
// single spaces).
[[gnu::cold]] inline std::string format_summary_table(const std::vector<summary_row>& rows) {
  summary_widths width{};
  for (const auto& row : rows)
    for (std::size_t c = 0; c < summary_columns; ++c) width[c] = std::max(width[c], row[c].size());
  std::size_t total = 0;
  for (std::size_t w : width) total += w + 2;

  std::string out;
  append_rule(out, total, '=');
  append_row(out, rows.front(), width);
  append_rule(out, total, '=');
  for (std::size_t r = 1; r < rows.size(); ++r) append_row(out, rows[r], width);
  append_rule(out, total, '-');
  return out;
}

// One layer's row. Not a template: each layer adds a call, the formatting is
// compiled once.
[[gnu::cold, gnu::noinline]] inline void fill_layer_row(summary_row& row, std::size_t index, std::string description,
                                                        std::size_t rank, const std::size_t* dims,
                                                        const LayerMetadata& meta) {
  row = {std::to_string(index), std::move(description), shape_string(rank, dims), group_thousands(meta.parameters),
         group_thousands(meta.macs), receptive_field_text(meta), group_thousands(meta.output_size * sizeof(float))};
}

// The table and the totals under it.
[[gnu::cold]] inline std::string summary_text(std::string_view name, const std::vector<summary_row>& rows,
                                              std::size_t parameters, std::size_t macs, std::size_t activation_bytes) {
  std::string out;
  if (!name.empty()) out += formatted("Network \"%.*s\"\n", static_cast<int>(name.size()), name.data());
  out += format_summary_table(rows);
  append_format(out, "Parameters:               %s (%s bytes as float32)\n", group_thousands(parameters).c_str(),
                group_thousands(parameters * sizeof(float)).c_str());
  append_format(out, "MACs per sample:          %s\n", group_thousands(macs).c_str());
  append_format(out, "FLOPs per sample:         %s (2 x MACs, forward)\n", group_thousands(2 * macs).c_str());
  append_format(out, "Activation bytes/sample:  %s (input and every layer output)\n",
                group_thousands(activation_bytes).c_str());
  return out;
}

}  // namespace detail

template <class Net>
[[gnu::cold]] std::string summary(std::string_view name = "") {
  using input = typename Net::input_shape_t;
  // Sized once (no growth to compile): the heading, the input, the layers.
  std::vector<detail::summary_row> rows(Net::layer_count + 2);
  rows[0] = {"#", "Layer", "Output shape", "Params", "MACs", "Receptive field", "Act. bytes"};
  rows[1] = {"", "Input", detail::shape_string(input::rank, input::dims.data()), "", "", "",
             detail::group_thousands(input::size * sizeof(float))};
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (detail::fill_layer_row(rows[I + 2], I, Net::template layer_t<I>::describe(),
                            Net::template layer_t<I>::output_shape::rank,
                            Net::template layer_t<I>::output_shape::dims.data(), Net::layer_metadata[I]),
     ...);
  }(std::make_index_sequence<Net::layer_count>{});
  return detail::summary_text(name, rows, Net::parameter_count, Net::macs, Net::activation_bytes);
}

template <class Net>
[[gnu::cold]] void print_summary(std::ostream& os, std::string_view name = "") {
  os << summary<Net>(name);
}

}  // namespace ctcnn
