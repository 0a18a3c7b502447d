// ctcnn/io/dataset.hpp: image classification data sets in the MNIST format,
// and fixed-size mini-batches drawn from them.
//
//   ImageDataset<Sample>      labelled 8-bit grayscale images, kept as bytes (1 byte a
//                             pixel: Fashion-MNIST's 70,000 images take 55 MB, not 220)
//                             and normalised to float when a batch is filled:
//                             x = (p / 255 - mean) / std
//   load_idx_dataset<Sample>  any images/labels pair of idx files (gzip or raw)
//   load_mnist<Sample>        "train" or "t10k" from an MNIST-layout directory;
//                             Fashion-MNIST's defaults below
//   split(ds, n)              the first n samples and the rest: the seeds' 50,000 /
//                             10,000 train/validation split of the 60,000 train images
//                             (not shuffled, so the validation set is the same for
//                             every seed and every run)
//   BatchLoader<B, Sample>    fills Tensor<Shape<B, Sample...>> and Tensor<Shape<B>,
//                             int32> for batch b of an epoch, with no allocation after
//                             construction
//
// Sample is the network's per-sample input shape: Shape<1, H, W>, Shape<H, W> or a
// flat Shape<H * W> (an MLP); the files' image size must match it.
//
// Shuffling: epoch e visits the samples in a permutation that depends only on
// (seed, e): Fisher-Yates driven by splitmix64, with unbiased bounded draws. So a
// run that resumes at epoch e sees exactly the batches an uninterrupted run would,
// with no generator state to save, and the order is the same on every platform and
// standard library (std::uniform_int_distribution is not).
//
// The last partial batch: LastBatch::drop skips it (training: every step sees B
// samples, as PyTorch's DataLoader(drop_last=True)); LastBatch::pad fills it up
// with zero images labelled -1 and reports how many samples are real, so an
// evaluation counts every image exactly once.
//
// Errors throw IoError naming the file and the problem: anything idx.hpp reports
// (missing, truncated, bad magic, ...), image and label counts that differ, an
// image size the network cannot take, a label outside [0, classes).
//
// Link: zlib (through idx.hpp).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <numeric>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctcnn/core/shape.hpp"
#include "ctcnn/core/tensor.hpp"
#include "ctcnn/detail/format.hpp"
#include "ctcnn/io/error.hpp"
#include "ctcnn/io/idx.hpp"

namespace ctcnn::io {

// Per-channel normalisation applied to p / 255.
struct Normalization {
  float mean = 0.0f;
  float std = 1.0f;
};

// Fashion-MNIST: where Debian's dataset-fashion-mnist puts it, the mean and
// standard deviation of its 60,000 training images (p / 255), its class names.
inline constexpr std::string_view fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
inline constexpr Normalization fashion_mnist_normalization{0.2860f, 0.3530f};
inline constexpr std::array<std::string_view, 10> fashion_mnist_classes{
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

// The seeds' split of the 60,000 training images.
inline constexpr std::size_t mnist_train_count = 50'000;

namespace detail::dataset {

// The image size a per-sample shape takes: (rows, cols), or (0, 0) if it is not
// a single-channel image or a flat vector.
template <class Sample>
constexpr std::array<std::size_t, 2> image_extent() {
  if constexpr (Sample::rank == 3) {
    if (Sample::dims[0] != 1) return {0, 0};
    return {Sample::dims[1], Sample::dims[2]};
  } else if constexpr (Sample::rank == 2) {
    return {Sample::dims[0], Sample::dims[1]};
  } else if constexpr (Sample::rank == 1) {
    return {1, Sample::dims[0]};  // any rows x cols with rows*cols == size
  } else {
    return {0, 0};
  }
}

[[gnu::cold]] inline std::string dims_text(std::span<const std::size_t> dims) {
  std::string s;
  for (std::size_t i = 0; i < dims.size(); ++i) ctcnn::detail::append_format(s, "%s%zu", i ? "x" : "", dims[i]);
  return s;
}
template <class Sample>
std::string sample_text() {
  return dims_text(Sample::dims);
}

// splitmix64 (Steele, Lea, Flood 2014): a full-period 64-bit generator whose
// every output is a strong hash of its counter, so nearby seeds give unrelated streams.
class SplitMix64 {
 public:
  explicit constexpr SplitMix64(std::uint64_t state) : state_(state) {}
  constexpr std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0, without modulo bias: reject the lowest
  // (2^64 mod n) values so every residue is equally likely.
  constexpr std::uint64_t below(std::uint64_t n) {
    const std::uint64_t threshold = (0 - n) % n;
    for (;;) {
      const std::uint64_t r = next();
      if (r >= threshold) return r % n;
    }
  }

 private:
  std::uint64_t state_;
};

// The order of epoch `epoch` under `seed`: a function of the two alone.
inline void epoch_permutation(std::vector<std::uint32_t>& order, std::uint64_t seed,
                              std::uint64_t epoch) {
  std::iota(order.begin(), order.end(), std::uint32_t{0});
  SplitMix64 mix(seed);
  SplitMix64 rng(mix.next() ^ SplitMix64(epoch ^ 0x5851F42D4C957F2Dull).next());
  for (std::size_t i = order.size(); i > 1; --i) {
    const auto j = static_cast<std::size_t>(rng.below(i));
    std::swap(order[i - 1], order[j]);
  }
}

[[gnu::cold]] inline void check_labels(const std::vector<std::uint8_t>& labels, std::size_t classes,
                                       const std::filesystem::path& where) {
  for (std::size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] >= classes) {
      detail::throw_io_error(where, "label %u of sample %zu is outside [0, %zu)", unsigned{labels[i]},
                             i, classes);
    }
  }
}

}  // namespace detail::dataset

template <class Sample = Shape<1, 28, 28>>
class ImageDataset {
  static constexpr auto extent = detail::dataset::image_extent<Sample>();
  static_assert(extent[0] * extent[1] == Sample::size && Sample::size > 0,
                "ctcnn::ImageDataset: the sample shape must be a grayscale image: "
                "Shape<1, H, W>, Shape<H, W> or Shape<H * W>");

 public:
  using sample_shape = Sample;
  static constexpr std::size_t pixels_per_image = Sample::size;

  // Labelled images held in memory: `pixels` holds count * Sample::size bytes
  // (row-major images one after the other), `labels` count values in [0, classes).
  // `name` stands for a file in error messages. Throws IoError on inconsistent input.
  [[gnu::cold]] static ImageDataset from_bytes(std::vector<std::uint8_t> pixels, std::vector<std::uint8_t> labels,
                                               Normalization norm = {}, std::size_t classes = 10,
                                               std::string name = "<memory>") {
    const std::filesystem::path where(name);
    if (pixels.size() % Sample::size != 0) {
      detail::throw_io_error(where, "%zu pixel bytes are not a whole number of %s images",
                             pixels.size(), detail::dataset::sample_text<Sample>().c_str());
    }
    const std::size_t count = pixels.size() / Sample::size;
    if (labels.size() != count) {
      detail::throw_io_error(where, "image/label count mismatch: %zu images but %zu labels", count,
                             labels.size());
    }
    detail::dataset::check_labels(labels, classes, where);
    return ImageDataset(std::move(pixels), std::move(labels), norm, classes, std::move(name));
  }

  std::size_t size() const { return count_; }
  std::size_t classes() const { return store_->classes; }
  const Normalization& normalization() const { return store_->norm; }
  // The images file (or the name given to from_bytes).
  const std::string& name() const { return store_->name; }

  std::int32_t label(std::size_t i) const { return store_->labels[begin_ + i]; }
  // The raw pixels of image i (Sample::size bytes).
  const std::uint8_t* pixels(std::size_t i) const {
    return store_->pixels.data() + (begin_ + i) * Sample::size;
  }
  // Image i, normalised, into out[0, Sample::size).
  void load(std::size_t i, float* out) const {
    const std::uint8_t* p = pixels(i);
    const auto& lut = store_->lut;
    for (std::size_t k = 0; k < Sample::size; ++k) out[k] = lut[p[k]];
  }

  // Samples [begin, begin + count), sharing the storage (no copy).
  ImageDataset slice(std::size_t begin, std::size_t count) const {
    if (begin > count_ || count > count_ - begin) {
      detail::throw_io_error(store_->name, "slice [%zu, %zu) is outside the %zu samples", begin,
                             begin + count, count_);
    }
    ImageDataset d = *this;
    d.begin_ = begin_ + begin;
    d.count_ = count;
    return d;
  }
  // The first min(n, size()) samples.
  ImageDataset take(std::size_t n) const { return slice(0, std::min(n, count_)); }

 private:
  struct Store {
    std::vector<std::uint8_t> pixels;
    std::vector<std::int32_t> labels;
    Normalization norm;
    std::size_t classes;
    std::string name;
    std::array<float, 256> lut;  // byte -> normalised value, computed once
  };

  [[gnu::cold]] ImageDataset(std::vector<std::uint8_t> pixels, std::vector<std::uint8_t> labels, Normalization norm,
                             std::size_t classes, std::string name)
      : count_(labels.size()) {
    auto store = std::make_shared<Store>();
    Store& s = *store;
    s.pixels = std::move(pixels);
    s.labels.assign(labels.begin(), labels.end());
    s.norm = norm;
    s.classes = classes;
    s.name = std::move(name);
    // The same expression PyTorch's ToTensor + Normalize evaluates in float32.
    for (std::size_t v = 0; v < 256; ++v) {
      s.lut[v] = (static_cast<float>(v) / 255.0f - norm.mean) / norm.std;
    }
    store_ = std::move(store);
  }

  std::shared_ptr<const Store> store_;
  std::size_t begin_ = 0;
  std::size_t count_ = 0;
};

// An images file (rank 3, ubyte) and its labels file (rank 1, ubyte).
template <class Sample = Shape<1, 28, 28>>
[[gnu::cold]] ImageDataset<Sample> load_idx_dataset(const std::filesystem::path& images_file,
                                                    const std::filesystem::path& labels_file, Normalization norm,
                                                    std::size_t classes = 10) {
  IdxImages images = read_idx_images(images_file);
  constexpr auto want = detail::dataset::image_extent<Sample>();
  const bool fits = Sample::rank == 1 ? images.rows * images.cols == Sample::size
                                      : images.rows == want[0] && images.cols == want[1];
  if (!fits) {
    detail::throw_io_error(images_file, "wrong image size: the images are %zux%zu but the network takes %s samples",
                           images.rows, images.cols,
                           detail::dataset::sample_text<Sample>().c_str());
  }
  std::vector<std::uint8_t> labels = read_idx_labels(labels_file);
  if (labels.size() != images.count) {
    detail::throw_io_error(labels_file, "image/label count mismatch: %zu labels but %s holds %zu images",
                           labels.size(), images_file.string().c_str(), images.count);
  }
  detail::dataset::check_labels(labels, classes, labels_file);
  return ImageDataset<Sample>::from_bytes(std::move(images.pixels), std::move(labels), norm, classes,
                                          images_file.string());
}

// Which file pair of an MNIST-layout directory.
enum class MnistPart { train, test };

namespace detail::dataset {
// <dir>/<prefix>-<kind>-<idxN>-ubyte.gz, or the same without .gz, or the
// original distribution's <prefix>-<kind>.<idxN>-ubyte.
[[gnu::cold]] inline std::filesystem::path find_mnist_file(const std::filesystem::path& dir, const std::string& prefix,
                                                           const std::string& kind, const std::string& idx) {
  // <prefix>-<kind><separator><idx>-ubyte<extension>
  static constexpr const char* separator[] = {"-", "-", ".", "."};
  static constexpr const char* extension[] = {".gz", "", "", ".gz"};
  std::string names[4];
  std::error_code ec;
  for (int i = 0; i < 4; ++i) {
    names[i] = ctcnn::detail::formatted("%s-%s%s%s-ubyte%s", prefix.c_str(), kind.c_str(), separator[i], idx.c_str(),
                                        extension[i]);
    std::filesystem::path candidate = dir / names[i];
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    detail::throw_io_error(dir, "no such data directory (Fashion-MNIST: apt-get install "
                           "dataset-fashion-mnist, or give the directory that holds the idx files)");
  }
  detail::throw_io_error(dir / names[0], "missing (also looked for %s and %s)", names[1].c_str(),
                         names[2].c_str());
}
}  // namespace detail::dataset

// "train" (60,000 images for Fashion-MNIST) or "t10k" (10,000) from `dir`.
template <class Sample = Shape<1, 28, 28>>
[[gnu::cold]] ImageDataset<Sample> load_mnist(const std::filesystem::path& dir, MnistPart part,
                                              Normalization norm = fashion_mnist_normalization,
                                              std::size_t classes = 10) {
  const std::string prefix = part == MnistPart::train ? "train" : "t10k";
  return load_idx_dataset<Sample>(detail::dataset::find_mnist_file(dir, prefix, "images", "idx3"),
                                  detail::dataset::find_mnist_file(dir, prefix, "labels", "idx1"),
                                  norm, classes);
}

// The first `first_count` samples and the rest (see the header comment).
template <class Sample>
[[gnu::cold]] std::pair<ImageDataset<Sample>, ImageDataset<Sample>> split(const ImageDataset<Sample>& ds,
                                                                          std::size_t first_count) {
  if (first_count > ds.size()) {
    detail::throw_io_error(ds.name(), "cannot split off %zu samples from %zu", first_count, ds.size());
  }
  return {ds.slice(0, first_count), ds.slice(first_count, ds.size() - first_count)};
}

enum class LastBatch { drop, pad };

template <std::size_t Batch, class Sample = Shape<1, 28, 28>>
class BatchLoader {
  static_assert(Batch > 0, "ctcnn::BatchLoader: the batch size must be at least 1");

 public:
  using images_type = Tensor<batched_t<Batch, Sample>>;
  using labels_type = Tensor<Shape<Batch>, std::int32_t>;
  static constexpr std::size_t batch_size = Batch;

  // shuffle = false visits the samples in order (evaluation).
  BatchLoader(ImageDataset<Sample> data, LastBatch last, bool shuffle, std::uint64_t seed = 0)
      : data_(std::move(data)), last_(last), shuffle_(shuffle), seed_(seed), order_(data_.size()) {
    std::iota(order_.begin(), order_.end(), std::uint32_t{0});
  }

  const ImageDataset<Sample>& data() const { return data_; }
  // Batches per epoch.
  std::size_t batch_count() const {
    return last_ == LastBatch::drop ? data_.size() / Batch : (data_.size() + Batch - 1) / Batch;
  }
  // Samples per epoch that reach a batch.
  std::size_t sample_count() const {
    return last_ == LastBatch::drop ? batch_count() * Batch : data_.size();
  }

  // Sets the visiting order of `epoch` (in place: no allocation).
  void start_epoch(std::uint64_t epoch) {
    if (shuffle_) detail::dataset::epoch_permutation(order_, seed_, epoch);
  }
  // Index in the data set of the i-th sample of the current epoch.
  std::size_t sample_index(std::size_t i) const { return order_[i]; }

  // Fills batch b of the current epoch; returns how many of its Batch slots hold
  // real samples (Batch except for a padded last batch, whose other slots hold
  // zeros and label -1).
  std::size_t fill(std::size_t b, float* x, std::int32_t* y) const {
    const std::size_t first = b * Batch;
    const std::size_t valid = first < data_.size() ? std::min(Batch, data_.size() - first) : 0;
    for (std::size_t k = 0; k < valid; ++k) {
      const std::size_t i = order_[first + k];
      data_.load(i, x + k * Sample::size);
      y[k] = data_.label(i);
    }
    std::fill(x + valid * Sample::size, x + Batch * Sample::size, 0.0f);
    std::fill(y + valid, y + Batch, std::int32_t{-1});
    return valid;
  }
  std::size_t fill(std::size_t b, images_type& x, labels_type& y) const {
    return fill(b, x.data(), y.data());
  }

 private:
  ImageDataset<Sample> data_;
  LastBatch last_;
  bool shuffle_;
  std::uint64_t seed_;
  std::vector<std::uint32_t> order_;
};

}  // namespace ctcnn::io
