// ctcnn/train/checkpoint.hpp: everything a stopped training run needs to carry
// on as if it had never stopped, in one safetensors file.
//
//   save_checkpoint(net, optimizer, path, info)
//   load_checkpoint(net, optimizer, path) -> CheckpointInfo
//
// Contents: the network's parameters under their state_dict names (as
// save_weights writes them), each optimizer state buffer as
// "optimizer.<name>" (F32, one flat tensor aligned with the parameters), and
// metadata strings: epoch (epochs completed), step (optimizer steps taken in
// the run), seed (the run's shuffling seed: the order of each epoch depends on
// (seed, epoch) alone, so with the epoch it is the whole generator state),
// optimizer_steps (the optimizer's step_count, which Adam's bias correction
// reads) and lr (for the reader: loading keeps the optimizer's own lr).
//
// Loading is all or nothing: the file must hold exactly the network's
// parameters and exactly the state buffers this optimizer keeps (an Adam
// checkpoint does not load into SGD, nor an amsgrad one into plain Adam);
// otherwise IoError lists every difference and neither the network nor the
// optimizer changes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ctcnn/detail/format.hpp"
#include "ctcnn/detail/names.hpp"
#include "ctcnn/io/error.hpp"
#include "ctcnn/io/safetensors.hpp"
#include "ctcnn/io/weights.hpp"
#include "ctcnn/train/optimizer.hpp"

namespace ctcnn {

struct CheckpointInfo {
  std::size_t epoch = 0;  // epochs completed
  std::size_t step = 0;   // optimizer steps taken
  std::uint64_t seed = 0;
};

inline constexpr std::string_view optimizer_state_prefix = "optimizer.";

namespace detail::checkpoint {

// One optimizer state buffer, as for_each_state hands it out.
template <class T>
struct State {
  std::string_view name;
  std::span<T> values;
};

[[gnu::cold]] inline std::string state_name(std::string_view name) {
  return formatted("%.*s%.*s", static_cast<int>(optimizer_state_prefix.size()), optimizer_state_prefix.data(),
                   static_cast<int>(name.size()), name.data());
}

// What save_checkpoint does once it has the network's records and the
// optimizer's buffers (not a template: compiled once whatever the network).
[[gnu::cold]] inline void save(std::vector<io::TensorRecord> records, const std::vector<State<const float>>& states,
                               const std::filesystem::path& file, const CheckpointInfo& info,
                               std::size_t optimizer_steps, float learning_rate) {
  for (const auto& state : states) {
    records.push_back(io::make_f32_record(state_name(state.name), {state.values.size()}, state.values.data()));
  }
  // Through add_metadata, as every metadata map (and assigning a literal to a
  // map entry drew a false -Wrestrict from g++ 12 in this cold function).
  namespace st = io::detail::safetensors;
  std::map<std::string, std::string> metadata;
  st::add_metadata(metadata, "ctcnn_checkpoint", "1");
  st::add_metadata(metadata, "epoch", std::to_string(info.epoch));
  st::add_metadata(metadata, "step", std::to_string(info.step));
  st::add_metadata(metadata, "seed", std::to_string(info.seed));
  st::add_metadata(metadata, "optimizer_steps", std::to_string(optimizer_steps));
  st::add_metadata(metadata, "lr", formatted("%.9g", static_cast<double>(learning_rate)));
  io::detail::weights::add_default_metadata(metadata);
  io::write_safetensors(file, records, metadata);
}

[[gnu::cold]] inline std::uint64_t metadata_number(const io::SafetensorsFile& file, const std::string& key) {
  const auto it = file.metadata().find(key);
  if (it == file.metadata().end()) {
    io::detail::throw_io_error(file.path(), "not a ctcnn checkpoint: metadata \"%s\" is missing", key.c_str());
  }
  const std::string& text = it->second;
  std::uint64_t v = 0;
  const bool digits = !text.empty() && text.size() <= 19 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) {
    io::detail::throw_io_error(file.path(), "metadata \"%s\" is not a whole number: %s", key.c_str(), text.c_str());
  }
  for (char c : text) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

// What load_checkpoint does once it has the network's tensors and the
// optimizer's buffers; returns the info and sets optimizer_steps.
[[gnu::cold]] inline CheckpointInfo load(const std::vector<io::WeightEntry>& entries, std::span<float> parameters,
                                         const std::vector<State<float>>& states, const std::filesystem::path& path,
                                         std::size_t& optimizer_steps) {
  namespace st = io::detail::safetensors;
  const io::SafetensorsFile file = io::SafetensorsFile::read(path);
  CheckpointInfo info;
  info.epoch = static_cast<std::size_t>(metadata_number(file, "epoch"));
  info.step = static_cast<std::size_t>(metadata_number(file, "step"));
  info.seed = metadata_number(file, "seed");
  const auto steps = static_cast<std::size_t>(metadata_number(file, "optimizer_steps"));

  std::vector<std::string> problems = io::detail::weights::mismatches(entries, file, optimizer_state_prefix);
  std::vector<std::string> full_names(states.size());
  std::vector<std::string_view> names(states.size());
  for (std::size_t i = 0; i < states.size(); ++i) names[i] = full_names[i] = state_name(states[i].name);
  const NameIndex expected(names);
  for (std::size_t i = 0; i < states.size(); ++i) {
    const auto& state = states[i];
    const std::string& full = full_names[i];
    const io::TensorRecord* t = file.find(full);
    const std::vector<std::size_t> shape{state.values.size()};
    if (!t) {
      problems.push_back(formatted("missing: %s (optimizer state F32 [%zu])", full.c_str(), state.values.size()));
    } else if (t->shape != shape || t->dtype != io::Dtype::F32) {
      problems.push_back(formatted("wrong shape or dtype: %s is %s %s, the optimizer needs F32 %s", full.c_str(),
                                   io::dtype_name(t->dtype).data(), st::shape_text(t->shape).c_str(),
                                   st::shape_text(shape).c_str()));
    }
  }
  for (const io::TensorRecord& t : file.tensors()) {
    if (std::string_view(t.name).starts_with(optimizer_state_prefix) && !expected.contains(t.name)) {
      problems.push_back(formatted("unexpected: %s is not state of this optimizer", t.name.c_str()));
    }
  }
  if (!problems.empty()) {
    const std::string list =
        io::detail::weights::problem_list("the checkpoint does not match the network and optimizer", problems);
    io::detail::throw_io_error(path, "%s", list.c_str());
  }
  // Everything is checked: nothing below can fail on the file's account.
  io::detail::weights::load(entries, parameters, file, optimizer_state_prefix);
  for (const auto& state : states) {
    const std::vector<float> values = file.to_f32(state_name(state.name));
    std::copy(values.begin(), values.end(), state.values.begin());
  }
  optimizer_steps = steps;
  return info;
}

}  // namespace detail::checkpoint

template <class Net, Optimizer Opt>
[[gnu::cold]] void save_checkpoint(const Net& net, const Opt& optimizer, const std::filesystem::path& file,
                                   const CheckpointInfo& info) {
  std::vector<detail::checkpoint::State<const float>> states;
  optimizer.for_each_state(
      [&](std::string_view name, std::span<const float> values) { states.push_back({name, values}); });
  detail::checkpoint::save(io::weight_records(net), states, file, info, optimizer.step_count(), optimizer.lr());
}

template <class Net, Optimizer Opt>
[[gnu::cold]] CheckpointInfo load_checkpoint(Net& net, Opt& optimizer, const std::filesystem::path& path) {
  std::vector<detail::checkpoint::State<float>> states;
  optimizer.for_each_state([&](std::string_view name, std::span<float> values) { states.push_back({name, values}); });
  std::size_t optimizer_steps = 0;
  const CheckpointInfo info = detail::checkpoint::load(io::weight_entries<Net>(), std::span<float>(net.parameters()),
                                                       states, path, optimizer_steps);
  optimizer.set_step_count(optimizer_steps);
  return info;
}

}  // namespace ctcnn
