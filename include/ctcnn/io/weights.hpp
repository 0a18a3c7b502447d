// ctcnn/io/weights.hpp: a network's parameters in safetensors files that
// PyTorch reads and writes.
//
//   save_weights(net, path)            every parameter tensor, F32, PyTorch shapes
//   load_weights(net, path)            the reverse: all or nothing
//   weight_records(net)                the tensors as records (to add more to a file)
//   weight_mismatches<Net>(file)       what differs between a file and Net, one line each
//
// Names are those of torch.nn.Sequential's state_dict for the same layers:
// "<index>.weight" and "<index>.bias", where index is the layer's position after
// Input: parameterless layers (ReLU, MaxPool2d, Flatten) count, exactly as they do
// in an nn.Sequential. LeNet-5 of DESIGN.md gives 0.weight, 0.bias, 3.weight,
// 3.bias, 7.weight, ... 11.bias. Shapes are PyTorch's, which are also ctcnn's
// (conv (O, I, KH, KW), linear (Out, In)), so values are copied without reordering.
// A file saved here loads in PyTorch with
//   model.load_state_dict(safetensors.torch.load_file(path), strict=True)
// and a PyTorch state_dict saved with safetensors.torch.save_file loads here.
//
// Errors throw IoError naming the file: a malformed or truncated file (see
// safetensors.hpp), or a file that does not match the network, with every
// difference listed: missing tensors, unexpected tensors, wrong shapes (both
// shapes given), wrong dtypes (only F32 is accepted: converting silently would
// hide a model saved in half precision). On any error the network's parameters
// are unchanged.
//
// Compile time: the templates only list Net's tensors (weight_entries); the
// work, the messages and the file format are non-template functions below,
// compiled once per translation unit whatever the networks.
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctcnn/core/layer.hpp"
#include "ctcnn/detail/format.hpp"
#include "ctcnn/detail/names.hpp"
#include "ctcnn/io/error.hpp"
#include "ctcnn/io/safetensors.hpp"

namespace ctcnn::io {

// One parameter tensor of a network, as a file names it.
struct WeightEntry {
  std::string name;                // "3.weight"
  std::vector<std::size_t> shape;  // PyTorch's
  std::size_t offset = 0;          // in the network's flat parameter buffer
  std::size_t size = 0;            // elements
};

namespace detail::weights {

// The tensors of layer `layer`, whose parameters start at `offset`.
[[gnu::cold, gnu::noinline]] inline void add_layer(std::vector<WeightEntry>& entries, std::size_t layer,
                                                   std::size_t offset, std::span<const ParameterSpec> specs) {
  for (const ParameterSpec& spec : specs) {
    entries.push_back(WeightEntry{
        ctcnn::detail::formatted("%zu.%.*s", layer, static_cast<int>(spec.name.size()), spec.name.data()),
        std::vector<std::size_t>(spec.dims.begin(), spec.dims.begin() + static_cast<std::ptrdiff_t>(spec.rank)),
        offset + spec.offset, spec.size()});
  }
}

[[gnu::cold]] inline std::vector<TensorRecord> records(const std::vector<WeightEntry>& entries, const float* values) {
  std::vector<TensorRecord> out;
  out.reserve(entries.size());
  for (const WeightEntry& e : entries) out.push_back(make_f32_record(e.name, e.shape, values + e.offset));
  return out;
}

[[gnu::cold]] inline std::vector<std::string> mismatches(const std::vector<WeightEntry>& entries,
                                                         const SafetensorsFile& file, std::string_view ignore_prefix) {
  namespace st = detail::safetensors;
  using ctcnn::detail::formatted;
  std::vector<std::string> problems;
  std::vector<std::string_view> names(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) names[i] = entries[i].name;
  const ctcnn::detail::NameIndex expected(names);
  for (const WeightEntry& e : entries) {
    const TensorRecord* t = file.find(e.name);
    if (!t) {
      problems.push_back(formatted("missing: %s (F32 %s)", e.name.c_str(), st::shape_text(e.shape).c_str()));
      continue;
    }
    if (t->shape != e.shape) {
      problems.push_back(formatted("wrong shape: %s is %s in the file, the network has %s", e.name.c_str(),
                                   st::shape_text(t->shape).c_str(), st::shape_text(e.shape).c_str()));
    }
    if (t->dtype != Dtype::F32) {
      problems.push_back(formatted("wrong dtype: %s is %s in the file, the network needs F32", e.name.c_str(),
                                   dtype_name(t->dtype).data()));
    }
  }
  for (const TensorRecord& t : file.tensors()) {
    if (!ignore_prefix.empty() && std::string_view(t.name).starts_with(ignore_prefix)) continue;
    if (!expected.contains(t.name)) {
      problems.push_back(formatted("unexpected: %s (%s %s) is not a parameter of the network", t.name.c_str(),
                                   dtype_name(t.dtype).data(), st::shape_text(t.shape).c_str()));
    }
  }
  return problems;
}

// "<what> (N difference[s]):" and the problems, one an indented line.
[[gnu::cold]] inline std::string problem_list(const char* what, const std::vector<std::string>& problems) {
  std::string text = ctcnn::detail::formatted("%s (%zu difference%s):", what, problems.size(),
                                              problems.size() == 1 ? "" : "s");
  for (const auto& p : problems) ctcnn::detail::append_format(text, "\n  %s", p.c_str());
  return text;
}

[[gnu::cold]] inline void load(const std::vector<WeightEntry>& entries, std::span<float> parameters,
                               const SafetensorsFile& file, std::string_view ignore_prefix) {
  const std::vector<std::string> problems = mismatches(entries, file, ignore_prefix);
  if (!problems.empty()) {
    detail::throw_io_error(file.path(), "%s", problem_list("the tensors do not match the network", problems).c_str());
  }
  // Staged in a copy, so a failure half-way cannot leave a mixed network.
  std::vector<float> staged(parameters.begin(), parameters.end());
  for (const WeightEntry& e : entries) {
    const std::vector<float> values = file.to_f32(e.name, e.shape);
    std::copy(values.begin(), values.end(), staged.begin() + static_cast<std::ptrdiff_t>(e.offset));
  }
  std::copy(staged.begin(), staged.end(), parameters.begin());
}

}  // namespace detail::weights

// Every parameter tensor of Net, in layer order.
template <class Net>
std::vector<WeightEntry> weight_entries() {
  using Seq = typename Net::sequential_type;
  std::vector<WeightEntry> entries;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (detail::weights::add_layer(entries, I, Seq::template parameter_offset<I>,
                                Seq::template layer_t<I>::parameter_specs()),
     ...);
  }(std::make_index_sequence<Seq::layer_count>{});
  return entries;
}

// The network's parameters as F32 records under their state_dict names.
template <class Net>
std::vector<TensorRecord> weight_records(const Net& net) {
  return detail::weights::records(weight_entries<Net>(), net.parameters().data());
}

namespace detail::weights {
// default_weight_metadata() added to `metadata`, where its keys are not set already.
[[gnu::cold]] inline void add_default_metadata(std::map<std::string, std::string>& metadata) {
  safetensors::add_metadata(metadata, "format", "pt");
  safetensors::add_metadata(metadata, "producer", "ctcnn");
}
}  // namespace detail::weights

// "format": "pt" is what safetensors.torch.save_file writes; some loaders look for it.
[[gnu::cold]] inline std::map<std::string, std::string> default_weight_metadata() {
  std::map<std::string, std::string> metadata;
  detail::weights::add_default_metadata(metadata);
  return metadata;
}

template <class Net>
[[gnu::cold]] void save_weights(const Net& net, const std::filesystem::path& file,
                                std::map<std::string, std::string> metadata = {}) {
  detail::weights::add_default_metadata(metadata);  // the caller's values win
  write_safetensors(file, weight_records(net), metadata);
}

// Every way `file` differs from Net's parameters, one readable line each; empty
// if the file fits. Tensors whose name starts with `ignore_prefix` (when not
// empty) are not the network's business (a checkpoint's optimizer state).
template <class Net>
std::vector<std::string> weight_mismatches(const SafetensorsFile& file,
                                           std::string_view ignore_prefix = {}) {
  return detail::weights::mismatches(weight_entries<Net>(), file, ignore_prefix);
}

// Loads from an already read file; see load_weights(net, path).
template <class Net>
[[gnu::cold]] void load_weights(Net& net, const SafetensorsFile& file, std::string_view ignore_prefix = {}) {
  detail::weights::load(weight_entries<Net>(), std::span<float>(net.parameters()), file, ignore_prefix);
}

template <class Net>
[[gnu::cold]] void load_weights(Net& net, const std::filesystem::path& file) {
  load_weights(net, SafetensorsFile::read(file));
}

}  // namespace ctcnn::io
