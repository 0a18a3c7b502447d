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
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

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

template <class Net, Optimizer Opt>
void save_checkpoint(const Net& net, const Opt& optimizer, const std::filesystem::path& file,
                     const CheckpointInfo& info) {
  std::vector<io::TensorRecord> records = io::weight_records(net);
  optimizer.for_each_state([&](std::string_view name, std::span<const float> state) {
    records.push_back(io::make_f32_record(std::string(optimizer_state_prefix) + std::string(name),
                                          {state.size()}, state.data()));
  });
  std::map<std::string, std::string> metadata = io::default_weight_metadata();
  metadata["ctcnn_checkpoint"] = "1";
  metadata["epoch"] = std::to_string(info.epoch);
  metadata["step"] = std::to_string(info.step);
  metadata["seed"] = std::to_string(info.seed);
  metadata["optimizer_steps"] = std::to_string(optimizer.step_count());
  char lr[32];
  std::snprintf(lr, sizeof lr, "%.9g", static_cast<double>(optimizer.lr()));
  metadata["lr"] = lr;
  io::write_safetensors(file, records, metadata);
}

namespace detail::checkpoint {

inline std::uint64_t metadata_number(const io::SafetensorsFile& file, const std::string& key) {
  const auto it = file.metadata().find(key);
  if (it == file.metadata().end()) {
    throw io::IoError(file.path(), "not a ctcnn checkpoint: metadata \"" + key + "\" is missing");
  }
  const std::string& text = it->second;
  std::uint64_t v = 0;
  const bool digits = !text.empty() && text.size() <= 19 &&
                      text.find_first_not_of("0123456789") == std::string::npos;
  if (!digits) throw io::IoError(file.path(), "metadata \"" + key + "\" is not a whole number: " + text);
  for (char c : text) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

}  // namespace detail::checkpoint

template <class Net, Optimizer Opt>
CheckpointInfo load_checkpoint(Net& net, Opt& optimizer, const std::filesystem::path& path) {
  namespace dc = detail::checkpoint;
  const io::SafetensorsFile file = io::SafetensorsFile::read(path);
  CheckpointInfo info;
  info.epoch = static_cast<std::size_t>(dc::metadata_number(file, "epoch"));
  info.step = static_cast<std::size_t>(dc::metadata_number(file, "step"));
  info.seed = dc::metadata_number(file, "seed");
  const auto optimizer_steps = static_cast<std::size_t>(dc::metadata_number(file, "optimizer_steps"));

  std::vector<std::string> problems = io::weight_mismatches<Net>(file, optimizer_state_prefix);
  std::set<std::string, std::less<>> expected;
  optimizer.for_each_state([&](std::string_view name, std::span<float> state) {
    const std::string full = std::string(optimizer_state_prefix) + std::string(name);
    expected.insert(full);
    const io::TensorRecord* t = file.find(full);
    const std::vector<std::size_t> shape{state.size()};
    if (!t) {
      problems.push_back("missing: " + full + " (optimizer state F32 [" + std::to_string(state.size()) + "])");
    } else if (t->shape != shape || t->dtype != io::Dtype::F32) {
      problems.push_back("wrong shape or dtype: " + full + " is " + std::string(io::dtype_name(t->dtype)) +
                         " " + io::detail::safetensors::shape_text(t->shape) + ", the optimizer needs F32 " +
                         io::detail::safetensors::shape_text(shape));
    }
  });
  for (const io::TensorRecord& t : file.tensors()) {
    if (std::string_view(t.name).starts_with(optimizer_state_prefix) && !expected.contains(t.name)) {
      problems.push_back("unexpected: " + t.name + " is not state of this optimizer");
    }
  }
  if (!problems.empty()) {
    std::string text = "the checkpoint does not match the network and optimizer (" +
                       std::to_string(problems.size()) + (problems.size() == 1 ? " difference):" : " differences):");
    for (const auto& p : problems) text += "\n  " + p;
    throw io::IoError(path, text);
  }
  // Everything is checked: nothing below can fail on the file's account.
  io::load_weights(net, file, optimizer_state_prefix);
  optimizer.for_each_state([&](std::string_view name, std::span<float> state) {
    const std::vector<float> values = file.to_f32(std::string(optimizer_state_prefix) + std::string(name));
    std::copy(values.begin(), values.end(), state.begin());
  });
  optimizer.set_step_count(optimizer_steps);
  return info;
}

}  // namespace ctcnn
