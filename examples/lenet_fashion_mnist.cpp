// The main job: LeNet-5 (DESIGN.md) trained on Fashion-MNIST with Adam (lr 1e-3,
// batch 64), PyTorch's default initialisation (seeded), 3 epochs by default.
//
// Data: the first 50,000 of the 60,000 training images train, the last 10,000
// validate (after every epoch), the 10,000 test images are evaluated once at the
// end (accuracy and confusion matrix). Pixels are normalised with the training
// set's mean 0.2860 and standard deviation 0.3530.
//
// Writes into the output folder: weights.safetensors (loads into
// torch.nn.Sequential(LeNet-5) with load_state_dict), checkpoint.safetensors
// (every epoch, for --resume), metrics.csv, training_curves.svg and
// test_confusion.txt.
//
//   lenet_fashion_mnist [--data DIR] [--epochs N] [--seed S] [--out DIR] [--resume] [--smoke]
//
//   --data DIR   MNIST-layout directory (default /usr/share/datasets/fashion-mnist,
//                from Debian's dataset-fashion-mnist)
//   --epochs N   epochs to train in all (default 3); with --resume, the total to reach
//   --seed S     initialisation and shuffling seed (default 0)
//   --out DIR    output folder (default out/lenet_fashion_mnist)
//   --resume     continue from DIR/checkpoint.safetensors
//   --smoke      1,024 training images, 512 validation and 1,000 test images, 1 epoch
//                (unless --epochs), into out/lenet_fashion_mnist_smoke: every output in seconds
#include <chrono>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <string_view>

#include <ctcnn/ctcnn.hpp>
#include <ctcnn/io/dataset.hpp>
#include <ctcnn/io/weights.hpp>
#include <ctcnn/net/summary.hpp>
#include <ctcnn/train/init.hpp>
#include <ctcnn/train/loss.hpp>
#include <ctcnn/train/optimizer.hpp>
#include <ctcnn/train/trainer.hpp>

namespace cn = ctcnn;

struct LeNet5 : cn::Sequential<
    cn::Input<1, 28, 28>,
    cn::Conv2d<6, 5, cn::Padding<2>>, cn::ReLU, cn::MaxPool2d<2>,
    cn::Conv2d<16, 5>,                cn::ReLU, cn::MaxPool2d<2>,
    cn::Flatten,
    cn::Linear<120>, cn::ReLU,
    cn::Linear<84>,  cn::ReLU,
    cn::Linear<10>> {};

static_assert(LeNet5::parameter_count == 61'706);

namespace {

constexpr std::size_t batch = 64;

struct Args {
  std::filesystem::path data{std::string(cn::io::fashion_mnist_dir)};
  std::size_t epochs = 3;
  bool epochs_given = false;
  std::uint64_t seed = 0;
  std::filesystem::path out;
  bool resume = false;
  bool smoke = false;
};

// The problem (printf-style: no string concatenations to compile), then the usage.
[[noreturn, gnu::format(printf, 1, 2)]] void usage(const char* format, ...) {
  std::fputs("lenet_fashion_mnist: ", stderr);
  std::va_list args;
  va_start(args, format);
  std::vfprintf(stderr, format, args);
  va_end(args);
  std::fputs("\nusage: lenet_fashion_mnist [--data DIR] [--epochs N] [--seed S] [--out DIR] [--resume] [--smoke]\n",
             stderr);
  std::exit(2);
}

std::uint64_t number(std::string_view flag, const char* text) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
    usage("%.*s needs a whole number, not '%s'", static_cast<int>(flag.size()), flag.data(), text);
  }
  return v;
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage("%.*s needs a value", static_cast<int>(arg.size()), arg.data());
      return argv[++i];
    };
    if (arg == "--data") {
      a.data = value();
    } else if (arg == "--epochs") {
      a.epochs = number(arg, value());
      a.epochs_given = true;
    } else if (arg == "--seed") {
      a.seed = number(arg, value());
    } else if (arg == "--out") {
      a.out = value();
    } else if (arg == "--resume") {
      a.resume = true;
    } else if (arg == "--smoke") {
      a.smoke = true;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << "usage: lenet_fashion_mnist [--data DIR] [--epochs N] [--seed S] [--out DIR] [--resume] "
                   "[--smoke]\n";
      std::exit(0);
    } else {
      usage("unknown argument '%.*s'", static_cast<int>(arg.size()), arg.data());
    }
  }
  if (a.smoke && !a.epochs_given) a.epochs = 1;
  if (a.out.empty()) a.out = a.smoke ? "out/lenet_fashion_mnist_smoke" : "out/lenet_fashion_mnist";
  return a;
}

int run(const Args& args) {
  const auto start = std::chrono::steady_clock::now();
  cn::print_summary<LeNet5>(std::cout, "LeNet5");
  std::cout << '\n';

  using Set = cn::io::ImageDataset<cn::Shape<1, 28, 28>>;
  const Set all_train = cn::io::load_mnist(args.data, cn::io::MnistPart::train);
  Set test = cn::io::load_mnist(args.data, cn::io::MnistPart::test);
  auto [train, validation] = cn::io::split(all_train, std::min(cn::io::mnist_train_count, all_train.size()));
  if (args.smoke) {
    train = train.take(1024);
    validation = validation.take(512);
    test = test.take(1000);
  }
  // printf rather than chains of <<, which cost compile time (std::cout and stdio
  // share one buffer: the order of the output is kept).
  std::printf("Fashion-MNIST from %s: %zu training, %zu validation, %zu test images%s\n", args.data.c_str(),
              train.size(), validation.size(), test.size(), args.smoke ? " (--smoke subset)" : "");
  std::printf("Adam lr 1e-3, batch %zu, %zu epoch%s, seed %llu, output %s\n\n", batch, args.epochs,
              args.epochs == 1 ? "" : "s", static_cast<unsigned long long>(args.seed), args.out.c_str());

  auto net = std::make_unique<LeNet5>();
  cn::init_default(*net, args.seed);
  auto optimizer = std::make_unique<cn::Adam<LeNet5>>(*net, cn::AdamOptions{.lr = 1e-3f});

  cn::FitOptions options;
  options.epochs = args.epochs;
  options.seed = args.seed;
  options.output_dir = args.out;
  options.resume = args.resume;
  options.title = "LeNet-5 on Fashion-MNIST (Adam, lr 1e-3, batch 64)";
  const cn::FitResult result = cn::fit<batch>(*net, *optimizer, cn::CrossEntropyLoss{}, train, validation, options);
  if (result.stopped) return 1;

  const auto eval = cn::evaluate<batch>(*net, test);
  char line[160];
  std::snprintf(line, sizeof line, "\ntest: accuracy %.2f%% (%zu of %zu), loss %.4f, %.1f s\n", 100.0 * eval.accuracy,
                eval.confusion.correct(), eval.count, eval.loss, eval.seconds);
  std::cout << line << "\nconfusion matrix on the test set (rows: true class, columns: predicted):\n";
  eval.confusion.print(std::cout, cn::io::fashion_mnist_classes);
  {
    std::ofstream f(args.out / "test_confusion.txt");
    f << line + 1;
    eval.confusion.print(f, cn::io::fashion_mnist_classes);
  }

  double train_seconds = 0.0;
  for (const auto& m : result.history) train_seconds += m.epoch_seconds;
  std::snprintf(line, sizeof line, "\n%zu epoch%s, %.1f s training in this run (%.1f s in all)\n",
                result.history.size(), result.history.size() == 1 ? "" : "s", train_seconds,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  std::printf("%swritten to %s: weights.safetensors, checkpoint.safetensors, metrics.csv, training_curves.svg, "
              "test_confusion.txt\n",
              line, args.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  try {
    return run(args);
  } catch (const cn::io::IoError& e) {
    std::cerr << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "lenet_fashion_mnist: " << e.what() << '\n';
    return 1;
  }
}
