// io/weights.hpp: PyTorch state_dict names and shapes, the PyTorch LeNet-5
// fixture, round trips, and every kind of mismatch.
#include <catch2/catch.hpp>

#include <bit>
#include <cstring>
#include <random>

#include "ctcnn/io/safetensors.hpp"
#include "ctcnn/io/weights.hpp"
#include "data/data_test_support.hpp"

using namespace ctcnn;
using namespace ctcnn::test;
using Catch::Matchers::Contains;

namespace {

const fs::path golden_dir(CTCNN_GOLDEN_DIR);

template <class Net>
void fill_random(Net& net, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, 0.1f);
  for (float& p : net.parameters()) p = dist(gen);
}

template <class Net>
std::vector<std::uint32_t> bits(const Net& net) {
  std::vector<std::uint32_t> out;
  for (float p : net.parameters()) out.push_back(std::bit_cast<std::uint32_t>(p));
  return out;
}

struct NoBiasNet : Sequential<Input<2, 6, 6>, Conv2d<3, 3, NoBias>, ReLU, Flatten, Linear<4>> {};

}  // namespace

TEST_CASE("weight names, shapes and order are those of PyTorch's state_dict", "[weights]") {
  // The fixture is exactly the state_dict of torch.nn.Sequential(LeNet-5).
  const auto torch_file = io::SafetensorsFile::read(golden_dir / "lenet5_weights.safetensors");
  const auto entries = io::weight_entries<LeNet5>();
  REQUIRE(entries.size() == torch_file.tensors().size());
  std::size_t total = 0;
  for (const auto& e : entries) {
    const io::TensorRecord* t = torch_file.find(e.name);
    INFO(e.name);
    REQUIRE(t != nullptr);
    CHECK(t->shape == e.shape);
    CHECK(e.offset == total);  // layer order, weight before bias, no gaps
    total += e.size;
  }
  CHECK(total == LeNet5::parameter_count);
  CHECK(entries.front().name == "0.weight");
  CHECK(entries.back().name == "11.bias");

  const auto no_bias = io::weight_entries<NoBiasNet>();
  REQUIRE(no_bias.size() == 3);
  CHECK(no_bias[0].name == "0.weight");
  CHECK(no_bias[0].shape == std::vector<std::size_t>{3, 2, 3, 3});
  CHECK(no_bias[1].name == "3.weight");
  CHECK(no_bias[2].name == "3.bias");
}

TEST_CASE("PyTorch's LeNet-5 weights give PyTorch's logits within 1e-5", "[weights][pytorch]") {
  auto net = std::make_unique<LeNet5>();
  io::load_weights(*net, golden_dir / "lenet5_weights.safetensors");
  const auto io_file = io::SafetensorsFile::read(golden_dir / "lenet5_io.safetensors");
  const auto x = io_file.to_f32("x", {4, 1, 28, 28});
  const auto y = io_file.to_f32("y", {4, 10});
  Tensor<Shape<4, 1, 28, 28>> input;
  std::copy(x.begin(), x.end(), input.begin());
  const auto logits = net->forward(input);
  for (std::size_t i = 0; i < 40; ++i) {
    INFO("logit " << i);
    CHECK(logits[i] == Approx(y[i]).margin(1e-5));
  }
  // The weights really came from the file (a zero network would fail above, but
  // say it plainly).
  const auto w0 = io_file.find("x");
  REQUIRE(w0 != nullptr);
  CHECK(net->weight<0>()(0, 0, 0, 0) ==
        io::SafetensorsFile::read(golden_dir / "lenet5_weights.safetensors").to_f32("0.weight")[0]);
}

TEST_CASE("save then load is bit-identical, and the file holds F32 tensors in PyTorch shapes",
          "[weights]") {
  TempDir dir;
  auto a = std::make_unique<LeNet5>();
  auto b = std::make_unique<LeNet5>();
  fill_random(*a, 1);
  fill_random(*b, 2);
  io::save_weights(*a, dir / "w.safetensors", {{"note", "test"}});
  io::load_weights(*b, dir / "w.safetensors");
  CHECK(bits(*a) == bits(*b));

  const auto file = io::SafetensorsFile::read(dir / "w.safetensors");
  CHECK(file.metadata().at("format") == "pt");
  CHECK(file.metadata().at("note") == "test");
  const auto w3 = file.to_f32("3.weight", {16, 6, 5, 5});
  const auto w3_net = a->weight<3>();
  CHECK(std::memcmp(w3.data(), w3_net.data(), w3.size() * sizeof(float)) == 0);
  for (const auto& t : file.tensors()) CHECK(t.dtype == io::Dtype::F32);
}

TEST_CASE("a file that does not fit the network is rejected with every difference listed",
          "[weights][errors]") {
  TempDir dir;
  auto src = std::make_unique<LeNet5>();
  fill_random(*src, 3);
  auto records = io::weight_records(*src);
  auto net = std::make_unique<LeNet5>();
  fill_random(*net, 4);
  const auto before = bits(*net);
  const fs::path path = dir / "bad.safetensors";
  const auto load = [&] { io::load_weights(*net, path); };

  SECTION("one of each") {
    // missing 0.bias; unexpected 0.bais; 3.weight with a 3x3 kernel; 11.bias as F64.
    std::vector<io::TensorRecord> bad;
    for (auto& r : records) {
      if (r.name == "0.bias") {
        r.name = "0.bais";
      } else if (r.name == "3.weight") {
        std::vector<float> small(16 * 6 * 3 * 3, 0.5f);
        r = io::make_f32_record("3.weight", {16, 6, 3, 3}, small.data());
      } else if (r.name == "11.bias") {
        r.dtype = io::Dtype::F64;
        r.bytes.resize(r.bytes.size() * 2);
      }
      bad.push_back(r);
    }
    io::write_safetensors(path, bad);
    REQUIRE_THROWS_AS(load(), io::IoError);
    REQUIRE_THROWS_WITH(load(), Contains(path.string()) && Contains("4 differences") &&
                                    Contains("missing: 0.bias (F32 [6])") &&
                                    Contains("unexpected: 0.bais (F32 [6])") &&
                                    Contains("wrong shape: 3.weight is [16, 6, 3, 3] in the file, "
                                             "the network has [16, 6, 5, 5]") &&
                                    Contains("wrong dtype: 11.bias is F64"));
  }
  SECTION("a different network's weights") {
    auto other = std::make_unique<NoBiasNet>();
    io::save_weights(*other, path);
    REQUIRE_THROWS_WITH(load(), Contains("missing: 11.weight") && Contains("missing: 0.bias") &&
                                    Contains("wrong shape: 0.weight is [3, 2, 3, 3]"));
  }
  SECTION("truncated") {
    io::save_weights(*src, path);
    Bytes bytes = read_file(path);
    bytes.resize(bytes.size() - 1000);
    write_file(path, bytes);
    REQUIRE_THROWS_WITH(load(), Contains(path.string()));
  }
  SECTION("not a safetensors file") {
    write_file(path, Bytes{'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o', 'r', 'l', 'd', '!'});
    REQUIRE_THROWS_WITH(load(), Contains(path.string()));
  }
  SECTION("missing file") {
    REQUIRE_THROWS_WITH(load(), Contains(path.string()));
  }
  CHECK(bits(*net) == before);  // all or nothing
}

TEST_CASE("weights with an ignored prefix may share a file", "[weights]") {
  TempDir dir;
  auto a = std::make_unique<LeNet5>();
  fill_random(*a, 5);
  auto records = io::weight_records(*a);
  std::vector<float> extra(3, 1.0f);
  records.push_back(io::make_f32_record("optimizer.exp_avg", {3}, extra.data()));
  io::write_safetensors(dir / "c.safetensors", records);
  const auto file = io::SafetensorsFile::read(dir / "c.safetensors");
  auto b = std::make_unique<LeNet5>();
  CHECK_THROWS_WITH(io::load_weights(*b, file), Contains("unexpected: optimizer.exp_avg"));
  io::load_weights(*b, file, "optimizer.");
  CHECK(bits(*a) == bits(*b));
}
