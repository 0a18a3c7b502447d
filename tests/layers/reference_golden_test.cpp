// The oracles themselves: every reference in tests/reference reproduces PyTorch
// 1.13's results stored in tests/golden/data (forward and backward), with the
// layer settings read from each file's metadata. This is what makes a library
// layer that agrees with the reference agree with PyTorch, over the many more
// configurations the other tests in this directory cover.
// Tolerance: |reference - PyTorch| <= 1e-5 * max(1, |PyTorch|).
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "ctcnn/io/safetensors.hpp"
#include "reference/activation.hpp"
#include "reference/check.hpp"
#include "reference/conv2d.hpp"
#include "reference/linear.hpp"
#include "reference/pool.hpp"
#include "reference/softmax.hpp"

namespace {

using ctcnn::io::SafetensorsFile;

SafetensorsFile golden(const std::string& name) {
  return SafetensorsFile::read(std::string(CTCNN_GOLDEN_DIR) + "/" + name + ".safetensors");
}

const std::string& meta(const SafetensorsFile& f, const std::string& key) {
  const auto it = f.metadata().find(key);
  INFO(f.path().string() << ": metadata key " << key);
  REQUIRE(it != f.metadata().end());
  return it->second;
}

// "H,W" -> {H, W}
std::pair<std::size_t, std::size_t> pair_of(const std::string& s) {
  const std::size_t comma = s.find(',');
  REQUIRE(comma != std::string::npos);
  return {std::stoul(s.substr(0, comma)), std::stoul(s.substr(comma + 1))};
}

const std::vector<std::size_t>& shape_of(const SafetensorsFile& f, const std::string& name) {
  const ctcnn::io::TensorRecord* t = f.find(name);
  INFO(f.path().string() << ": tensor " << name);
  REQUIRE(t != nullptr);
  return t->shape;
}

void check_conv(const std::string& name) {
  INFO("golden " << name);
  const SafetensorsFile f = golden(name);
  const auto& x_shape = shape_of(f, "x");
  REQUIRE(x_shape.size() == 4);
  ref::ConvSpec s{};
  const std::size_t batch = x_shape[0];
  s.in_c = x_shape[1], s.in_h = x_shape[2], s.in_w = x_shape[3];
  s.out_c = std::stoul(meta(f, "out_channels"));
  std::tie(s.kernel_h, s.kernel_w) = pair_of(meta(f, "kernel"));
  std::tie(s.stride_h, s.stride_w) = pair_of(meta(f, "stride"));
  std::tie(s.dilation_h, s.dilation_w) = pair_of(meta(f, "dilation"));
  if (meta(f, "padding") == "same") {
    s.pad_top = ref::same_pad_before(s.kernel_h, s.dilation_h);
    s.pad_bottom = ref::same_pad_after(s.kernel_h, s.dilation_h);
    s.pad_left = ref::same_pad_before(s.kernel_w, s.dilation_w);
    s.pad_right = ref::same_pad_after(s.kernel_w, s.dilation_w);
    CHECK(meta(f, "same_pad_top_bottom_left_right") ==
          std::to_string(s.pad_top) + "," + std::to_string(s.pad_bottom) + "," +
              std::to_string(s.pad_left) + "," + std::to_string(s.pad_right));
  } else {
    std::tie(s.pad_top, s.pad_left) = pair_of(meta(f, "padding"));
    s.pad_bottom = s.pad_top, s.pad_right = s.pad_left;
  }
  const std::string& mode = meta(f, "padding_mode");
  s.mode = mode == "reflect"     ? ref::PadMode::reflect
           : mode == "replicate" ? ref::PadMode::replicate
           : mode == "circular"  ? ref::PadMode::circular
                                 : ref::PadMode::zeros;
  s.bias = meta(f, "bias") == "true";
  REQUIRE(shape_of(f, "y") == std::vector<std::size_t>{batch, s.out_c, s.out_h(), s.out_w()});

  const auto x = f.to_f32("x"), w = f.to_f32("weight"), dy = f.to_f32("dy");
  const auto b = s.bias ? f.to_f32("bias") : std::vector<float>{};
  ref::require_close(ref::conv2d_forward(s, x, w, b, batch), f.to_f32("y"), ref::forward_tolerance, "y");
  ref::require_close(ref::conv2d_backward_data(s, w, dy, batch), f.to_f32("dx"), ref::forward_tolerance, "dx");
  ref::require_close(ref::conv2d_backward_weight(s, x, dy, batch), f.to_f32("dweight"),
                     ref::forward_tolerance, "dweight");
  if (s.bias)
    ref::require_close(ref::conv2d_backward_bias(s, dy, batch), f.to_f32("dbias"), ref::forward_tolerance,
                       "dbias");
}

void check_pool(const std::string& name) {
  INFO("golden " << name);
  const SafetensorsFile f = golden(name);
  const auto& x_shape = shape_of(f, "x");
  REQUIRE(x_shape.size() == 4);
  const bool max = meta(f, "layer") == "MaxPool2d";
  ref::PoolSpec s{};
  const std::size_t batch = x_shape[0];
  s.channels = x_shape[1], s.in_h = x_shape[2], s.in_w = x_shape[3];
  std::tie(s.kernel_h, s.kernel_w) = pair_of(meta(f, "kernel"));
  std::tie(s.stride_h, s.stride_w) = pair_of(meta(f, "stride"));
  std::tie(s.pad_h, s.pad_w) = pair_of(meta(f, "padding"));
  if (max) std::tie(s.dilation_h, s.dilation_w) = pair_of(meta(f, "dilation"));
  s.ceil_mode = meta(f, "ceil_mode") == "true";
  s.count_include_pad = max || meta(f, "count_include_pad") == "true";
  REQUIRE(shape_of(f, "y") == std::vector<std::size_t>{batch, s.channels, s.out_h(), s.out_w()});

  const auto x = f.to_f32("x"), dy = f.to_f32("dy");
  ref::require_close(max ? ref::max_pool_forward(s, x, batch) : ref::avg_pool_forward(s, x, batch),
                     f.to_f32("y"), ref::forward_tolerance, "y");
  ref::require_close(max ? ref::max_pool_backward(s, x, dy, batch) : ref::avg_pool_backward(s, dy, batch),
                     f.to_f32("dx"), ref::forward_tolerance, "dx");
}

}  // namespace

TEST_CASE("reference conv2d reproduces PyTorch", "[conv2d][reference][golden]") {
  for (const char* name : {"conv_s2_p1_d2", "conv_rect", "conv_pad_zeros", "conv_pad_reflect",
                           "conv_pad_replicate", "conv_pad_circular", "conv_same_even", "conv_same_dil"})
    check_conv(name);
}

TEST_CASE("reference pools reproduce PyTorch", "[maxpool2d][avgpool2d][reference][golden]") {
  for (const char* name : {"maxpool_p1_ceil", "maxpool_dil2", "maxpool_default", "avgpool_p1_ceil",
                           "avgpool_p1_ceil_exclude", "avgpool_k2s1"})
    check_pool(name);
}

TEST_CASE("reference activations reproduce PyTorch", "[activation][reference][golden]") {
  const SafetensorsFile f = golden("activations");
  const auto x = f.to_f32("x"), dy = f.to_f32("dy");
  const std::pair<const char*, ref::Activation> cases[] = {{"relu", ref::Activation::relu},
                                                           {"leaky_relu", ref::Activation::leaky_relu},
                                                           {"leaky_relu_02", ref::Activation::leaky_relu},
                                                           {"sigmoid", ref::Activation::sigmoid},
                                                           {"tanh", ref::Activation::tanh}};
  for (const auto& [name, a] : cases) {
    INFO("golden activations: " << name);
    const std::string n = name;
    const double slope = a == ref::Activation::leaky_relu ? std::stod(meta(f, n + ".negative_slope")) : 0.0;
    ref::require_close(ref::activation_forward(a, x, slope), f.to_f32(n + ".y"), ref::forward_tolerance, "y");
    ref::require_close(ref::activation_backward(a, x, dy, slope), f.to_f32(n + ".dx"), ref::forward_tolerance,
                       "dx");
  }
}

TEST_CASE("reference softmax and log-softmax reproduce PyTorch", "[softmax][reference][golden]") {
  const SafetensorsFile f = golden("softmax");
  struct Case {
    const char* prefix;
    const char* x;
    const char* dy;
    bool log;
  };
  for (const Case c : {Case{"softmax", "x", "dy", false}, Case{"log_softmax", "x", "dy", true},
                       Case{"softmax4", "x4", "dy4", false}}) {
    INFO("golden softmax: " << c.prefix);
    REQUIRE(meta(f, std::string(c.prefix) + ".dim") == "1");
    const auto& shape = shape_of(f, c.x);
    const std::size_t batch = shape[0], classes = shape[1];
    std::size_t inner = 1;
    for (std::size_t i = 2; i < shape.size(); ++i) inner *= shape[i];
    const auto x = f.to_f32(c.x), dy = f.to_f32(c.dy);
    const std::string p = c.prefix;
    ref::require_close(ref::softmax_forward(x, batch, classes, inner, c.log), f.to_f32(p + ".y"),
                       ref::forward_tolerance, "y");
    ref::require_close(ref::softmax_backward(x, dy, batch, classes, inner, c.log), f.to_f32(p + ".dx"),
                       ref::forward_tolerance, "dx");
  }
}

TEST_CASE("reference linear reproduces PyTorch", "[linear][reference][golden]") {
  const SafetensorsFile f = golden("linear");
  const std::size_t in = std::stoul(meta(f, "in_features")), out = std::stoul(meta(f, "out_features"));
  const std::size_t batch = shape_of(f, "x")[0];
  const auto x = f.to_f32("x"), w = f.to_f32("weight"), b = f.to_f32("bias"), dy = f.to_f32("dy");
  ref::require_close(ref::linear_forward(x, w, b, true, batch, in, out), f.to_f32("y"), ref::forward_tolerance,
                     "y");
  ref::require_close(ref::linear_backward_data(w, dy, batch, in, out), f.to_f32("dx"), ref::forward_tolerance,
                     "dx");
  ref::require_close(ref::linear_backward_weight(x, dy, batch, in, out), f.to_f32("dweight"),
                     ref::forward_tolerance, "dweight");
  ref::require_close(ref::linear_backward_bias(dy, batch, out), f.to_f32("dbias"), ref::forward_tolerance,
                     "dbias");
}
