// io/dataset.hpp: loading idx data sets (good and corrupted files written here),
// normalisation, the train/validation split, shuffled fixed-size batches.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "ctcnn/io/dataset.hpp"
#include "data/data_test_support.hpp"

using namespace ctcnn;
using namespace ctcnn::test;
using Catch::Matchers::Contains;

namespace {

// Writes train-{images,labels} for `set` into dir, gzip or raw, under MNIST names.
void write_mnist_pair(const fs::path& dir, const std::string& prefix, const SyntheticSet& set,
                      std::uint32_t count, std::uint32_t rows, std::uint32_t cols, bool gzip) {
  const Bytes images = idx_ubyte({count, rows, cols}, set.pixels);
  const Bytes labels = idx_ubyte({static_cast<std::uint32_t>(set.labels.size())}, set.labels);
  const std::string suffix = gzip ? ".gz" : "";
  auto write = gzip ? write_gzip : write_file;
  write(dir / (prefix + "-images-idx3-ubyte" + suffix), images);
  write(dir / (prefix + "-labels-idx1-ubyte" + suffix), labels);
}

// The normalisation written out independently, in double.
double normalised(unsigned char p, io::Normalization n) {
  return (p / 255.0 - n.mean) / n.std;
}

}  // namespace

TEST_CASE("load_mnist reads gzip and raw idx pairs and normalises the pixels", "[dataset]") {
  TempDir dir;
  const auto set = synthetic_set(37, 28, 28, 1);
  const bool gzip = GENERATE(true, false);
  write_mnist_pair(dir.path(), "train", set, 37, 28, 28, gzip);
  const io::Normalization norm{0.25f, 0.5f};
  const auto ds = io::load_mnist(dir.path(), io::MnistPart::train, norm);
  REQUIRE(ds.size() == 37);
  CHECK(ds.classes() == 10);
  std::vector<float> image(784);
  for (std::size_t i = 0; i < ds.size(); ++i) {
    CHECK(ds.label(i) == set.labels[i]);
    ds.load(i, image.data());
    for (std::size_t k = 0; k < 784; ++k) {
      REQUIRE(image[k] == Approx(normalised(set.pixels[i * 784 + k], norm)).margin(1e-6));
    }
  }
  CHECK(ds.name().find("train-images-idx3-ubyte") != std::string::npos);
}

TEST_CASE("load_mnist accepts the original distribution's file names", "[dataset]") {
  TempDir dir;
  const auto set = synthetic_set(5, 28, 28, 2);
  write_file(dir / "t10k-images.idx3-ubyte", idx_ubyte({5, 28, 28}, set.pixels));
  write_file(dir / "t10k-labels.idx1-ubyte", idx_ubyte({5}, set.labels));
  const auto ds = io::load_mnist(dir.path(), io::MnistPart::test);
  CHECK(ds.size() == 5);
  CHECK(ds.label(4) == set.labels[4]);
}

TEST_CASE("the sample shape may be flat or two-dimensional", "[dataset]") {
  TempDir dir;
  const auto set = synthetic_set(3, 4, 6, 3);
  write_mnist_pair(dir.path(), "train", set, 3, 4, 6, false);
  const auto flat = io::load_mnist<Shape<24>>(dir.path(), io::MnistPart::train);
  const auto planar = io::load_mnist<Shape<4, 6>>(dir.path(), io::MnistPart::train);
  CHECK(flat.size() == 3);
  CHECK(planar.size() == 3);
  CHECK(std::equal(flat.pixels(2), flat.pixels(2) + 24, set.pixels.begin() + 48));
  CHECK(std::equal(planar.pixels(2), planar.pixels(2) + 24, set.pixels.begin() + 48));
}

TEST_CASE("data set errors name the file and the problem", "[dataset][errors]") {
  TempDir dir;
  const auto set = synthetic_set(10, 28, 28, 4);
  const fs::path images = dir / "train-images-idx3-ubyte";
  const fs::path labels = dir / "train-labels-idx1-ubyte";
  write_mnist_pair(dir.path(), "train", set, 10, 28, 28, false);
  const auto load = [&] { return io::load_idx_dataset(images, labels, {}); };
  REQUIRE(load().size() == 10);

  SECTION("truncated images") {
    Bytes bytes = idx_ubyte({10, 28, 28}, set.pixels);
    bytes.resize(bytes.size() - 100);
    write_file(images, bytes);
    REQUIRE_THROWS_AS(load(), io::IoError);
    REQUIRE_THROWS_WITH(load(), Contains(images.string()) && Contains("truncated"));
  }
  SECTION("truncated gzip images") {
    write_gzip(dir / "cut.gz", idx_ubyte({10, 28, 28}, set.pixels));
    Bytes bytes = read_file(dir / "cut.gz");
    bytes.resize(bytes.size() / 2);
    write_file(dir / "cut.gz", bytes);
    REQUIRE_THROWS_WITH(io::load_idx_dataset(dir / "cut.gz", labels, {}),
                        Contains((dir / "cut.gz").string()) && Contains("truncated"));
  }
  SECTION("bad magic") {
    Bytes bytes = idx_ubyte({10, 28, 28}, set.pixels);
    bytes[0] = 0x12;
    write_file(images, bytes);
    REQUIRE_THROWS_WITH(load(), Contains(images.string()) && Contains("bad magic"));
  }
  SECTION("image/label count mismatch") {
    const Bytes nine(set.labels.begin(), set.labels.begin() + 9);
    write_file(labels, idx_ubyte({9}, nine));
    REQUIRE_THROWS_WITH(load(), Contains(labels.string()) && Contains("count mismatch") &&
                                    Contains("9 labels") && Contains("10 images"));
  }
  SECTION("wrong image size") {
    const auto big = synthetic_set(10, 32, 32, 5);
    write_file(images, idx_ubyte({10, 32, 32}, big.pixels));
    REQUIRE_THROWS_WITH(load(), Contains(images.string()) && Contains("wrong image size") &&
                                    Contains("32x32") && Contains("1x28x28"));
  }
  SECTION("labels file given as images") {
    REQUIRE_THROWS_WITH(io::load_idx_dataset(labels, labels, {}),
                        Contains(labels.string()) && Contains("rank"));
  }
  SECTION("label out of range") {
    Bytes bad = set.labels;
    bad[7] = 10;
    write_file(labels, idx_ubyte({10}, bad));
    REQUIRE_THROWS_WITH(load(), Contains(labels.string()) && Contains("label 10 of sample 7"));
  }
  SECTION("missing file and missing directory") {
    fs::remove(labels);
    REQUIRE_THROWS_WITH(io::load_mnist(dir.path(), io::MnistPart::train),
                        Contains("train-labels-idx1-ubyte") && Contains("missing"));
    REQUIRE_THROWS_WITH(io::load_mnist(dir / "nowhere", io::MnistPart::train),
                        Contains("nowhere") && Contains("no such data directory"));
  }
}

TEST_CASE("from_bytes checks counts and labels", "[dataset][errors]") {
  using DS = io::ImageDataset<Shape<1, 2, 2>>;
  CHECK(DS::from_bytes(Bytes(8, 1), Bytes{0, 1}).size() == 2);
  REQUIRE_THROWS_WITH(DS::from_bytes(Bytes(9, 1), Bytes{0, 1}, {}, 10, "mine"),
                      Contains("mine") && Contains("whole number"));
  REQUIRE_THROWS_WITH(DS::from_bytes(Bytes(8, 1), Bytes{0}), Contains("count mismatch"));
  REQUIRE_THROWS_WITH(DS::from_bytes(Bytes(8, 1), Bytes{0, 3}, {}, 3), Contains("label 3 of sample 1"));
}

TEST_CASE("split takes the first n samples for training and the rest for validation", "[dataset]") {
  const auto set = synthetic_set(60, 2, 2, 6);
  const auto ds = io::ImageDataset<Shape<1, 2, 2>>::from_bytes(set.pixels, set.labels);
  const auto [train, val] = io::split(ds, 50);
  REQUIRE(train.size() == 50);
  REQUIRE(val.size() == 10);
  for (std::size_t i = 0; i < 10; ++i) {
    CHECK(val.label(i) == set.labels[50 + i]);
    CHECK(*val.pixels(i) == set.pixels[(50 + i) * 4]);
  }
  CHECK(train.label(49) == set.labels[49]);
  CHECK(ds.take(100).size() == 60);
  CHECK(ds.slice(10, 5).slice(2, 3).label(0) == set.labels[12]);
  CHECK_THROWS_AS(io::split(ds, 61), io::IoError);
  CHECK_THROWS_AS(ds.slice(58, 3), io::IoError);
}

TEST_CASE("a shuffled epoch visits every sample once, in an order fixed by seed and epoch",
          "[dataset][loader]") {
  const auto set = synthetic_set(103, 1, 3, 7);
  const auto ds = io::ImageDataset<Shape<3>>::from_bytes(set.pixels, set.labels);
  io::BatchLoader<8, Shape<3>> a(ds, io::LastBatch::pad, true, 42);
  io::BatchLoader<8, Shape<3>> b(ds, io::LastBatch::pad, true, 42);
  io::BatchLoader<8, Shape<3>> c(ds, io::LastBatch::pad, true, 43);
  auto order = [](const auto& loader) {
    std::vector<std::size_t> o;
    for (std::size_t i = 0; i < 103; ++i) o.push_back(loader.sample_index(i));
    return o;
  };
  std::vector<std::size_t> identity(103);
  std::iota(identity.begin(), identity.end(), std::size_t{0});
  CHECK(order(a) == identity);  // before start_epoch
  a.start_epoch(0);
  b.start_epoch(0);
  c.start_epoch(0);
  const auto a0 = order(a);
  CHECK(std::is_permutation(a0.begin(), a0.end(), identity.begin()));
  CHECK(a0 != identity);
  CHECK(a0 == order(b));
  CHECK(a0 != order(c));
  a.start_epoch(1);
  const auto a1 = order(a);
  CHECK(a1 != a0);
  a.start_epoch(0);  // resuming at epoch 0 repeats it exactly
  CHECK(order(a) == a0);

  io::BatchLoader<8, Shape<3>> in_order(ds, io::LastBatch::pad, false);
  in_order.start_epoch(5);
  CHECK(order(in_order) == identity);
}

TEST_CASE("shuffling is unbiased: all 6 orders of 3 samples are equally likely", "[dataset][loader]") {
  const auto ds = io::ImageDataset<Shape<1>>::from_bytes(Bytes{0, 1, 2}, Bytes{0, 1, 2});
  std::map<std::vector<std::size_t>, int> counts;
  constexpr int trials = 6000;
  io::BatchLoader<3, Shape<1>> loader(ds, io::LastBatch::drop, true, 9);
  for (int e = 0; e < trials; ++e) {
    loader.start_epoch(static_cast<std::uint64_t>(e));
    counts[{loader.sample_index(0), loader.sample_index(1), loader.sample_index(2)}]++;
  }
  REQUIRE(counts.size() == 6);
  // Expected 1000 each; sd = sqrt(6000 * 1/6 * 5/6) = 28.9; 5 sd either side.
  for (const auto& [order, n] : counts) CHECK(std::abs(n - 1000) < 145);
}

TEST_CASE("batches are filled with normalised images and labels, and the last batch is dropped or padded",
          "[dataset][loader]") {
  const auto set = synthetic_set(21, 2, 3, 8);
  const io::Normalization norm{0.5f, 0.25f};
  const auto ds = io::ImageDataset<Shape<1, 2, 3>>::from_bytes(set.pixels, set.labels, norm);
  Tensor<Shape<8, 1, 2, 3>> x;
  Tensor<Shape<8>, std::int32_t> y;

  io::BatchLoader<8, Shape<1, 2, 3>> drop(ds, io::LastBatch::drop, true, 1);
  CHECK(drop.batch_count() == 2);
  CHECK(drop.sample_count() == 16);
  drop.start_epoch(3);
  std::multiset<std::size_t> seen;
  for (std::size_t b = 0; b < drop.batch_count(); ++b) {
    REQUIRE(drop.fill(b, x, y) == 8);
    for (std::size_t k = 0; k < 8; ++k) {
      const std::size_t i = drop.sample_index(b * 8 + k);
      seen.insert(i);
      CHECK(y[k] == set.labels[i]);
      for (std::size_t p = 0; p < 6; ++p) {
        CHECK(x[k * 6 + p] == Approx(normalised(set.pixels[i * 6 + p], norm)).margin(1e-6));
      }
    }
  }
  CHECK(seen.size() == 16);
  CHECK(std::set<std::size_t>(seen.begin(), seen.end()).size() == 16);

  io::BatchLoader<8, Shape<1, 2, 3>> pad(ds, io::LastBatch::pad, false);
  CHECK(pad.batch_count() == 3);
  CHECK(pad.sample_count() == 21);
  pad.start_epoch(0);
  x.fill(7.0f);
  REQUIRE(pad.fill(2, x, y) == 5);
  for (std::size_t k = 0; k < 5; ++k) CHECK(y[k] == set.labels[16 + k]);
  for (std::size_t k = 5; k < 8; ++k) {
    CHECK(y[k] == -1);
    for (std::size_t p = 0; p < 6; ++p) CHECK(x[k * 6 + p] == 0.0f);
  }
}

TEST_CASE("Fashion-MNIST from Debian's dataset-fashion-mnist matches its published statistics",
          "[dataset][fashion-mnist]") {
  const fs::path dir(io::fashion_mnist_dir);
  if (!fs::exists(dir / "train-images-idx3-ubyte.gz")) {
    WARN("skipped: " << dir << " is absent (apt-get install dataset-fashion-mnist)");
    return;
  }
  const auto train = io::load_mnist(dir, io::MnistPart::train);
  const auto test = io::load_mnist(dir, io::MnistPart::test);
  REQUIRE(train.size() == 60'000);
  REQUIRE(test.size() == 10'000);
  // The normalisation constants, recomputed from the raw bytes.
  double sum = 0.0, sum_sq = 0.0;
  std::array<int, 10> per_class{};
  for (std::size_t i = 0; i < train.size(); ++i) {
    per_class[static_cast<std::size_t>(train.label(i))]++;
    for (std::size_t k = 0; k < 784; ++k) {
      const double v = train.pixels(i)[k] / 255.0;
      sum += v;
      sum_sq += v * v;
    }
  }
  const double n = 60'000.0 * 784.0;
  const double mean = sum / n;
  CHECK(mean == Approx(io::fashion_mnist_normalization.mean).margin(5e-5));
  CHECK(std::sqrt(sum_sq / n - mean * mean) == Approx(io::fashion_mnist_normalization.std).margin(5e-5));
  for (int c : per_class) CHECK(c == 6000);  // the data set is balanced
}
