// train/trainer.hpp and train/checkpoint.hpp: short deterministic runs of
// LeNet-5 on a small synthetic set (the loss falls; the same seed gives the
// same bits; resume equals an uninterrupted run; a NaN stops the run and keeps
// the weights from before it), evaluation, progress output, output files.
#include <catch2/catch.hpp>

#include <bit>
#include <cmath>
#include <limits>
#include <sstream>

#include "ctcnn/io/dataset.hpp"
#include "ctcnn/io/weights.hpp"
#include "ctcnn/train/checkpoint.hpp"
#include "ctcnn/train/init.hpp"
#include "ctcnn/train/loss.hpp"
#include "ctcnn/train/optimizer.hpp"
#include "ctcnn/train/trainer.hpp"
#include "data/data_test_support.hpp"

using namespace ctcnn;
using namespace ctcnn::test;
using Catch::Matchers::Contains;

namespace {

using Set = io::ImageDataset<Shape<1, 28, 28>>;

// Class c: a bright 8x8 square at one of 10 places, on noise. Learnable in a
// few steps, and not by chance: a network that learns nothing stays at 10%.
Set synthetic_classes(std::size_t count, std::uint32_t seed) {
  std::mt19937 gen(seed);
  Bytes pixels(count * 784), labels(count);
  for (std::size_t i = 0; i < count; ++i) {
    const unsigned c = gen() % 10;
    labels[i] = static_cast<unsigned char>(c);
    const std::size_t top = 2 + (c / 5) * 14, left = 1 + (c % 5) * 5;
    for (std::size_t r = 0; r < 28; ++r) {
      for (std::size_t k = 0; k < 28; ++k) {
        const bool on = r >= top && r < top + 8 && k >= left && k < left + 8;
        pixels[i * 784 + r * 28 + k] = static_cast<unsigned char>((on ? 150 : 0) + gen() % 100);
      }
    }
  }
  return Set::from_bytes(std::move(pixels), std::move(labels), io::fashion_mnist_normalization);
}

template <class Net>
std::vector<std::uint32_t> bits(const Net& net) {
  std::vector<std::uint32_t> out;
  for (float p : net.parameters()) out.push_back(std::bit_cast<std::uint32_t>(p));
  return out;
}

struct Run {
  std::unique_ptr<LeNet5> net = std::make_unique<LeNet5>();
  std::unique_ptr<Adam<LeNet5>> opt;
  std::ostringstream log;
  explicit Run(std::uint64_t init_seed = 1) {
    init_default(*net, init_seed);
    opt = std::make_unique<Adam<LeNet5>>(*net, AdamOptions{.lr = 1e-3f});
  }
  FitOptions options(std::size_t epochs, std::uint64_t seed = 7) {
    FitOptions o;
    o.epochs = epochs;
    o.seed = seed;
    o.out = &log;
    o.progress = Progress::lines;
    return o;
  }
};

// CrossEntropyLoss that turns bad at call `bad_call` (counted from 1): its loss
// becomes NaN, or (gradient = true) one element of its gradient does.
struct FaultyLoss {
  std::size_t bad_call;
  bool gradient = false;
  mutable std::size_t calls = 0;
  template <std::size_t N, std::size_t C>
  float operator()(const Tensor<Shape<N, C>>& logits, const Tensor<Shape<N>, std::int32_t>& targets,
                   Tensor<Shape<N, C>>& dlogits) const {
    float loss = CrossEntropyLoss{}(logits, targets, dlogits);
    if (++calls == bad_call) {
      if (gradient) {
        dlogits[3] = std::numeric_limits<float>::quiet_NaN();
      } else {
        loss = std::numeric_limits<float>::quiet_NaN();
      }
    }
    return loss;
  }
};

const Set& train_set() {
  static const Set s = synthetic_classes(512, 11);
  return s;
}
const Set& validation_set() {
  static const Set s = synthetic_classes(100, 12);
  return s;
}

}  // namespace

TEST_CASE("a short run learns, and the same seed gives bit-identical weights", "[trainer][fit]") {
  Run a, b;
  const auto ra = fit<32>(*a.net, *a.opt, CrossEntropyLoss{}, train_set(), validation_set(), a.options(3));
  const auto rb = fit<32>(*b.net, *b.opt, CrossEntropyLoss{}, train_set(), validation_set(), b.options(3));
  REQUIRE_FALSE(ra.stopped);
  REQUIRE(ra.history.size() == 3);
  CHECK(ra.steps == 3 * 16);
  // Chance is log(10) = 2.30 and 10%.
  CHECK(ra.history[0].train_loss < 2.3);
  CHECK(ra.history[2].train_loss < 0.5 * ra.history[0].train_loss);
  CHECK(ra.history[2].val_acc > 0.9);
  CHECK(ra.history[2].val_loss < ra.history[0].val_loss);
  CHECK(bits(*a.net) == bits(*b.net));
  CHECK(ra.history[2].train_loss == rb.history[2].train_loss);

  // Another shuffling seed takes another path.
  Run c;
  fit<32>(*c.net, *c.opt, CrossEntropyLoss{}, train_set(), validation_set(), c.options(1, 8));
  Run d;
  fit<32>(*d.net, *d.opt, CrossEntropyLoss{}, train_set(), validation_set(), d.options(1, 7));
  CHECK(bits(*c.net) != bits(*d.net));
}

TEST_CASE("progress: plain lines off a terminal, a bar redrawn in place when asked", "[trainer][progress]") {
  Run a;
  auto o = a.options(1);
  o.lines_per_epoch = 4;
  fit<32>(*a.net, *a.opt, CrossEntropyLoss{}, train_set(), validation_set(), o);
  const std::string lines = a.log.str();
  CHECK(lines.find('\r') == std::string::npos);
  CHECK_THAT(lines, Contains("epoch 1/1 step 4/16: loss ") && Contains("epoch 1/1 step 8/16") &&
                        Contains("epoch 1/1 step 12/16") && Contains("img/s, ETA "));
  CHECK_THAT(lines, Contains("epoch 1/1: train loss ") && Contains(" | val loss ") && Contains(" img/s\n"));

  Run b;
  auto ob = b.options(1);
  ob.progress = Progress::bar;
  fit<32>(*b.net, *b.opt, CrossEntropyLoss{}, train_set(), o.epochs ? validation_set() : train_set(), ob);
  const std::string bar = b.log.str();
  CHECK_THAT(bar, Contains("\repoch 1/1 [========================] 16/16 ETA  0:00 loss "));
  CHECK_THAT(bar, Contains("\nepoch 1/1: train loss "));

  Run c;
  auto oc = c.options(1);
  oc.progress = Progress::none;
  fit<32>(*c.net, *c.opt, CrossEntropyLoss{}, train_set(), oc);
  CHECK(c.log.str().find("step") == std::string::npos);
  CHECK_THAT(c.log.str(), Contains("epoch 1/1: train loss ") && !Contains("val loss"));
}

TEST_CASE("evaluate counts every sample once and computes cross-entropy in double", "[trainer][evaluate]") {
  // logits = (x0, x1) of a 1x1x2 image; labels chosen by hand.
  struct Tiny : Sequential<Input<1, 1, 2>, Flatten, Linear<2>> {};
  Tiny net;
  net.weight<1>()(0, 0) = 1.0f;
  net.weight<1>()(1, 1) = 1.0f;
  // Normalisation std = 1/255 and mean 0 make the input equal to the pixel value.
  const auto data = io::ImageDataset<Shape<1, 1, 2>>::from_bytes(Bytes{3, 1, 0, 2, 5, 5, 1, 4, 2, 0},
                                                                Bytes{0, 1, 0, 0, 1}, {0.0f, 1.0f / 255.0f}, 2);
  const auto ev = evaluate<2>(net, data);  // 5 samples in 3 batches, the last padded
  CHECK(ev.count == 5);
  CHECK(ev.confusion.total() == 5);
  // Predictions 0, 1, 0 (tie), 1, 0 against 0, 1, 0, 0, 1: 3 right.
  CHECK(ev.accuracy == Approx(0.6));
  CHECK(ev.confusion.count(0, 1) == 1);
  CHECK(ev.confusion.count(1, 0) == 1);
  // -log softmax: log(1 + e^(other - own)).
  const double expected = (std::log1p(std::exp(-2.0)) + std::log1p(std::exp(-2.0)) + std::log(2.0) +
                           std::log1p(std::exp(3.0)) + std::log1p(std::exp(2.0))) /
                          5.0;
  CHECK(ev.loss == Approx(expected).epsilon(1e-6));
}

TEST_CASE("the output folder gets a checkpoint, weights, the CSV and the plot", "[trainer][files]") {
  TempDir dir;
  Run a;
  auto o = a.options(2);
  o.output_dir = dir / "out";
  o.title = "synthetic";
  const auto r = fit<32>(*a.net, *a.opt, CrossEntropyLoss{}, train_set(), validation_set(), o);
  for (auto name : {checkpoint_file_name, weights_file_name, metrics_file_name, curves_file_name}) {
    CHECK(fs::exists(o.output_dir / std::string(name)));
  }
  const auto csv = read_metrics_csv(o.output_dir / std::string(metrics_file_name));
  REQUIRE(csv.size() == 2);
  CHECK(csv[1].epoch == 2);
  CHECK(csv[1].val_acc == Approx(r.history[1].val_acc).margin(1e-6));
  auto loaded = std::make_unique<LeNet5>();
  io::load_weights(*loaded, o.output_dir / std::string(weights_file_name));
  CHECK(bits(*loaded) == bits(*a.net));
  const auto svg = read_file(o.output_dir / std::string(curves_file_name));
  CHECK_THAT(std::string(svg.begin(), svg.end()), Contains(">synthetic<"));
  const auto ck = io::SafetensorsFile::read(o.output_dir / std::string(checkpoint_file_name));
  CHECK(ck.metadata().at("epoch") == "2");
  CHECK(ck.metadata().at("step") == "32");
  CHECK(ck.metadata().at("seed") == "7");
  CHECK(ck.find("optimizer.exp_avg") != nullptr);
  CHECK(ck.find("optimizer.exp_avg_sq") != nullptr);
}

TEST_CASE("resuming from a checkpoint gives the weights of an uninterrupted run", "[trainer][resume]") {
  TempDir dir;
  Run whole;
  fit<32>(*whole.net, *whole.opt, CrossEntropyLoss{}, train_set(), validation_set(), whole.options(3));

  Run first;
  auto o1 = first.options(1);
  o1.output_dir = dir.path();
  fit<32>(*first.net, *first.opt, CrossEntropyLoss{}, train_set(), validation_set(), o1);
  CHECK(bits(*first.net) != bits(*whole.net));

  Run second(99);  // another init: everything must come from the checkpoint
  auto o2 = second.options(3, 1234);  // and the checkpoint's seed wins
  o2.output_dir = dir.path();
  o2.resume = true;
  const auto r = fit<32>(*second.net, *second.opt, CrossEntropyLoss{}, train_set(), validation_set(), o2);
  CHECK_THAT(second.log.str(), Contains("resumed from") && Contains("after epoch 1") && Contains("seed 7"));
  CHECK(r.resumed_from == 1);
  CHECK(r.steps == 48);
  REQUIRE(r.history.size() == 3);
  CHECK(bits(*second.net) == bits(*whole.net));
  CHECK(second.opt->step_count() == whole.opt->step_count());

  // Nothing left to do: the weights stay.
  Run third(5);
  auto o3 = third.options(3);
  o3.output_dir = dir.path();
  o3.resume = true;
  fit<32>(*third.net, *third.opt, CrossEntropyLoss{}, train_set(), validation_set(), o3);
  CHECK(bits(*third.net) == bits(*whole.net));
  CHECK_THAT(third.log.str(), Contains("nothing to do"));

  // resume without a checkpoint starts afresh and says so.
  Run fresh;
  auto o4 = fresh.options(1);
  o4.output_dir = dir / "empty";
  o4.resume = true;
  fit<32>(*fresh.net, *fresh.opt, CrossEntropyLoss{}, train_set(), validation_set(), o4);
  CHECK_THAT(fresh.log.str(), Contains("no checkpoint"));
  CHECK(bits(*fresh.net) == bits(*first.net));
}

TEST_CASE("a checkpoint for another optimizer is refused and changes nothing", "[trainer][checkpoint]") {
  TempDir dir;
  Run a;
  a.opt->step();  // some state worth saving
  save_checkpoint(*a.net, *a.opt, dir / "ck.safetensors", CheckpointInfo{1, 1, 3});
  auto net = std::make_unique<LeNet5>();
  init_default(*net, 2);
  const auto before = bits(*net);
  SGD<LeNet5> sgd(*net, SGDOptions{.lr = 0.1f, .momentum = 0.9f});
  REQUIRE_THROWS_WITH(load_checkpoint(*net, sgd, dir / "ck.safetensors"),
                      Contains("ck.safetensors") && Contains("missing: optimizer.momentum_buffer") &&
                          Contains("unexpected: optimizer.exp_avg ") && Contains("3 differences"));
  CHECK(bits(*net) == before);
  AdamW<LeNet5> adamw(*net, AdamWOptions{.amsgrad = true});
  REQUIRE_THROWS_WITH(load_checkpoint(*net, adamw, dir / "ck.safetensors"),
                      Contains("missing: optimizer.max_exp_avg_sq"));
  CHECK(bits(*net) == before);
  // A plain weights file is not a checkpoint.
  io::save_weights(*a.net, dir / "w.safetensors");
  Adam<LeNet5> adam(*net);
  REQUIRE_THROWS_WITH(load_checkpoint(*net, adam, dir / "w.safetensors"),
                      Contains("not a ctcnn checkpoint") && Contains("epoch"));
  const auto info = load_checkpoint(*net, adam, dir / "ck.safetensors");
  CHECK(info.epoch == 1);
  CHECK(info.seed == 3);
  CHECK(adam.step_count() == 1);
  CHECK(bits(*net) == bits(*a.net));
}

TEST_CASE("a NaN loss or gradient stops the run and keeps the weights from before that step",
          "[trainer][nan]") {
  TempDir dir;
  // Reference: exactly 4 good steps.
  Run ref;
  auto o = ref.options(1);
  o.steps_per_epoch = 4;
  fit<32>(*ref.net, *ref.opt, CrossEntropyLoss{}, train_set(), o);

  const bool in_gradient = GENERATE(false, true);
  Run bad;
  auto ob = bad.options(2);
  ob.output_dir = dir.path();
  const auto r = fit<32>(*bad.net, *bad.opt, FaultyLoss{5, in_gradient}, train_set(), validation_set(), ob);
  CHECK(r.stopped);
  CHECK(r.steps == 4);
  CHECK(r.history.empty());
  CHECK_THAT(r.stop_message, Contains("epoch 1, step 5 of 16") && Contains("weights.safetensors"));
  CHECK_THAT(r.stop_message, Contains(in_gradient ? "gradient is NaN" : "loss is nan"));
  CHECK_THAT(bad.log.str(), Contains("training stopped"));
  CHECK(bits(*bad.net) == bits(*ref.net));
  auto saved = std::make_unique<LeNet5>();
  io::load_weights(*saved, dir / std::string(weights_file_name));
  CHECK(bits(*saved) == bits(*ref.net));
  CHECK_FALSE(fs::exists(dir / std::string(checkpoint_file_name)));  // no epoch completed
}

TEST_CASE("a training set smaller than one batch is an error", "[trainer][errors]") {
  Run a;
  CHECK_THROWS_WITH(fit<32>(*a.net, *a.opt, CrossEntropyLoss{}, train_set().take(31), a.options(1)),
                    Contains("31 samples do not fill one batch of 32"));
}
