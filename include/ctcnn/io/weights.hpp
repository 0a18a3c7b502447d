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
// Link: nlohmann-json (through safetensors.hpp).
#pragma once

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctcnn/core/layer.hpp"
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

// Every parameter tensor of Net, in layer order.
template <class Net>
std::vector<WeightEntry> weight_entries() {
  using Seq = typename Net::sequential_type;
  std::vector<WeightEntry> entries;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (
        [&] {
          for (const ParameterSpec& spec : Seq::template layer_t<I>::parameter_specs()) {
            entries.push_back(WeightEntry{
                std::to_string(I) + "." + std::string(spec.name),
                std::vector<std::size_t>(spec.dims.begin(),
                                         spec.dims.begin() + static_cast<std::ptrdiff_t>(spec.rank)),
                Seq::template parameter_offset<I> + spec.offset, spec.size()});
          }
        }(),
        ...);
  }(std::make_index_sequence<Seq::layer_count>{});
  return entries;
}

// The network's parameters as F32 records under their state_dict names.
template <class Net>
std::vector<TensorRecord> weight_records(const Net& net) {
  std::vector<TensorRecord> records;
  const float* values = net.parameters().data();
  for (const WeightEntry& e : weight_entries<Net>()) {
    records.push_back(make_f32_record(e.name, e.shape, values + e.offset));
  }
  return records;
}

// "format": "pt" is what safetensors.torch.save_file writes; some loaders look for it.
inline std::map<std::string, std::string> default_weight_metadata() {
  return {{"format", "pt"}, {"producer", "ctcnn"}};
}

template <class Net>
void save_weights(const Net& net, const std::filesystem::path& file,
                  std::map<std::string, std::string> metadata = {}) {
  for (auto& [key, value] : default_weight_metadata()) metadata.emplace(key, value);
  write_safetensors(file, weight_records(net), metadata);
}

// Every way `file` differs from Net's parameters, one readable line each; empty
// if the file fits. Tensors whose name starts with `ignore_prefix` (when not
// empty) are not the network's business (a checkpoint's optimizer state).
template <class Net>
std::vector<std::string> weight_mismatches(const SafetensorsFile& file,
                                           std::string_view ignore_prefix = {}) {
  namespace st = detail::safetensors;
  std::vector<std::string> problems;
  std::set<std::string, std::less<>> expected;
  for (const WeightEntry& e : weight_entries<Net>()) {
    expected.insert(e.name);
    const TensorRecord* t = file.find(e.name);
    if (!t) {
      problems.push_back("missing: " + e.name + " (F32 " + st::shape_text(e.shape) + ")");
      continue;
    }
    if (t->shape != e.shape) {
      problems.push_back("wrong shape: " + e.name + " is " + st::shape_text(t->shape) +
                         " in the file, the network has " + st::shape_text(e.shape));
    }
    if (t->dtype != Dtype::F32) {
      problems.push_back("wrong dtype: " + e.name + " is " + std::string(dtype_name(t->dtype)) +
                         " in the file, the network needs F32");
    }
  }
  for (const TensorRecord& t : file.tensors()) {
    if (!ignore_prefix.empty() && std::string_view(t.name).starts_with(ignore_prefix)) continue;
    if (!expected.contains(t.name)) {
      problems.push_back("unexpected: " + t.name + " (" + std::string(dtype_name(t.dtype)) + " " +
                         st::shape_text(t.shape) + ") is not a parameter of the network");
    }
  }
  return problems;
}

// Loads from an already read file; see load_weights(net, path).
template <class Net>
void load_weights(Net& net, const SafetensorsFile& file, std::string_view ignore_prefix = {}) {
  const std::vector<std::string> problems = weight_mismatches<Net>(file, ignore_prefix);
  if (!problems.empty()) {
    std::string text = "the tensors do not match the network (" + std::to_string(problems.size()) +
                       (problems.size() == 1 ? " difference):" : " differences):");
    for (const auto& p : problems) text += "\n  " + p;
    throw IoError(file.path(), text);
  }
  // Staged in a copy, so a failure half-way cannot leave a mixed network.
  std::vector<float> staged(net.parameters().begin(), net.parameters().end());
  for (const WeightEntry& e : weight_entries<Net>()) {
    const std::vector<float> values = file.to_f32(e.name, e.shape);
    std::copy(values.begin(), values.end(), staged.begin() + static_cast<std::ptrdiff_t>(e.offset));
  }
  std::copy(staged.begin(), staged.end(), net.parameters().begin());
}

template <class Net>
void load_weights(Net& net, const std::filesystem::path& file) {
  load_weights(net, SafetensorsFile::read(file));
}

}  // namespace ctcnn::io
