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
#include "ctcnn/net/sequential.hpp"

namespace ctcnn {

namespace detail {

// 1234567 -> "1,234,567".
inline std::string group_thousands(std::size_t n) {
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
inline std::string receptive_field_text(const LayerMetadata& m) {
  if (m.rf_global) return "global";
  auto pair = [](std::size_t r, std::size_t c) {
    return r == c ? std::to_string(r) : std::to_string(r) + "x" + std::to_string(c);
  };
  return std::to_string(m.rf_rows) + "x" + std::to_string(m.rf_cols) + ", jump " +
         pair(m.jump_rows, m.jump_cols);
}

inline constexpr std::size_t summary_columns = 7;
using summary_row = std::array<std::string, summary_columns>;

// Columns are separated by at least two spaces (descriptions and shapes contain
// single spaces), text left-aligned, numbers right-aligned.
inline std::string format_summary_table(const std::vector<summary_row>& rows) {
  static constexpr std::array<bool, summary_columns> right_aligned{true,  false, false, true,
                                                                   true,  false, true};
  std::array<std::size_t, summary_columns> width{};
  for (const auto& row : rows)
    for (std::size_t c = 0; c < summary_columns; ++c) width[c] = std::max(width[c], row[c].size());
  std::size_t total = 0;
  for (std::size_t w : width) total += w + 2;
  const std::string heavy(total, '='), light(total, '-');

  auto line = [&](const summary_row& row) {
    std::string s;
    for (std::size_t c = 0; c < summary_columns; ++c) {
      const std::string pad(width[c] - row[c].size(), ' ');
      s += c == 0 ? "" : "  ";
      s += right_aligned[c] ? pad + row[c] : row[c] + pad;
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s + '\n';
  };

  std::string out = heavy + '\n' + line(rows.front()) + heavy + '\n';
  for (std::size_t r = 1; r < rows.size(); ++r) out += line(rows[r]);
  return out + light + '\n';
}

template <class Net, std::size_t... I>
void append_layer_rows(std::vector<summary_row>& rows, std::index_sequence<I...>) {
  (rows.push_back(summary_row{
       std::to_string(I), Net::template layer_t<I>::describe(),
       shape_string<typename Net::template layer_t<I>::output_shape>(),
       group_thousands(Net::layer_metadata[I].parameters),
       group_thousands(Net::layer_metadata[I].macs),
       receptive_field_text(Net::layer_metadata[I]),
       group_thousands(Net::layer_metadata[I].output_size * sizeof(float))}),
   ...);
}

}  // namespace detail

template <class Net>
std::string summary(std::string_view name = "") {
  using input = typename Net::input_shape_t;
  std::vector<detail::summary_row> rows;
  rows.reserve(Net::layer_count + 2);
  rows.push_back({"#", "Layer", "Output shape", "Params", "MACs", "Receptive field",
                  "Act. bytes"});
  rows.push_back({"", "Input", detail::shape_string<input>(), "", "", "",
                  detail::group_thousands(input::size * sizeof(float))});
  detail::append_layer_rows<Net>(rows, std::make_index_sequence<Net::layer_count>{});

  std::string out;
  if (!name.empty()) out += "Network \"" + std::string(name) + "\"\n";
  out += detail::format_summary_table(rows);
  const std::size_t param_bytes = Net::parameter_count * sizeof(float);
  out += "Parameters:               " + detail::group_thousands(Net::parameter_count) + " (" +
         detail::group_thousands(param_bytes) + " bytes as float32)\n";
  out += "MACs per sample:          " + detail::group_thousands(Net::macs) + '\n';
  out += "FLOPs per sample:         " + detail::group_thousands(2 * Net::macs) +
         " (2 x MACs, forward)\n";
  out += "Activation bytes/sample:  " + detail::group_thousands(Net::activation_bytes) +
         " (input and every layer output)\n";
  return out;
}

template <class Net>
void print_summary(std::ostream& os, std::string_view name = "") {
  os << summary<Net>(name);
}

}  // namespace ctcnn
