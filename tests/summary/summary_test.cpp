// The summary table against figures computed here, independently of the
// library's metadata: a run-time walk over LeNet-5's layer list with the
// textbook formulas, plus hand-derived totals.
#include <catch2/catch.hpp>

#include <cstddef>
#include <sstream>
#include <string>
#include <vector>

#include "ctcnn/ctcnn.hpp"
#include "ctcnn/net/summary.hpp"

namespace cn = ctcnn;

namespace {

struct LeNet5 : cn::Sequential<
    cn::Input<1, 28, 28>,
    cn::Conv2d<6, 5, cn::Padding<2>>, cn::ReLU, cn::MaxPool2d<2>,
    cn::Conv2d<16, 5>,                cn::ReLU, cn::MaxPool2d<2>,
    cn::Flatten,
    cn::Linear<120>, cn::ReLU,
    cn::Linear<84>,  cn::ReLU,
    cn::Linear<10>> {};

// A network with a rectangular kernel and stride, and a pool that mixes all positions.
struct Odd : cn::Sequential<
    cn::Input<2, 9, 7>,
    cn::Conv2d<3, cn::Kernel{3, 1}, cn::Stride<2, 1>>,   // (3, 4, 7)
    cn::MaxPool2d<2, cn::Stride<1>>,                    // (3, 3, 6)
    cn::GlobalAvgPool2d,                                // (3)
    cn::Linear<2>> {};

// Thousands separators, written independently of the library's version.
std::string grouped(std::size_t n) {
  if (n < 1000) return std::to_string(n);
  const std::string low = std::to_string(1000 + n % 1000).substr(1);
  return grouped(n / 1000) + "," + low;
}

// One row of the expected table, computed at run time from the layer list.
struct Expected {
  std::string shape;
  std::size_t params = 0, macs = 0, elements = 0;
  std::string rf;
};

enum class Kind { conv, relu, maxpool, flatten, linear };
struct RefLayer {
  Kind kind;
  std::size_t out = 0, kernel = 0, stride = 1, pad = 0;
};

std::vector<Expected> walk(std::vector<std::size_t> shape, const std::vector<RefLayer>& layers) {
  std::vector<Expected> rows;
  std::size_t rf = 1, jump = 1;
  bool global = false;
  for (const RefLayer& l : layers) {
    Expected e;
    switch (l.kind) {
      case Kind::conv: {
        const std::size_t c = shape[0];
        const std::size_t oh = (shape[1] + 2 * l.pad - l.kernel) / l.stride + 1;
        const std::size_t ow = (shape[2] + 2 * l.pad - l.kernel) / l.stride + 1;
        e.params = l.out * c * l.kernel * l.kernel + l.out;
        e.macs = l.out * oh * ow * c * l.kernel * l.kernel;
        shape = {l.out, oh, ow};
        rf += (l.kernel - 1) * jump;
        jump *= l.stride;
        break;
      }
      case Kind::maxpool:
        shape = {shape[0], (shape[1] - l.kernel) / l.stride + 1,
                 (shape[2] - l.kernel) / l.stride + 1};
        rf += (l.kernel - 1) * jump;
        jump *= l.stride;
        break;
      case Kind::relu:
        break;
      case Kind::flatten:
        shape = {shape[0] * shape[1] * shape[2]};
        break;
      case Kind::linear:
        e.params = l.out * shape[0] + l.out;
        e.macs = l.out * shape[0];
        shape = {l.out};
        global = true;
        break;
    }
    e.elements = 1;
    std::ostringstream text;
    text << '(';
    for (std::size_t i = 0; i < shape.size(); ++i) {
      text << (i ? ", " : "") << shape[i];
      e.elements *= shape[i];
    }
    text << ')';
    e.shape = text.str();
    std::ostringstream field;
    if (global) {
      field << "global";
    } else {
      field << rf << 'x' << rf << ", jump " << jump;
    }
    e.rf = field.str();
    rows.push_back(e);
  }
  return rows;
}

// The cells of the header row and the body: columns are separated by two or more spaces.
std::vector<std::vector<std::string>> table_rows(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  int rules = 0;
  while (std::getline(in, line)) {
    if (line.rfind("===", 0) == 0) {
      ++rules;
      continue;
    }
    if (line.rfind("---", 0) == 0) break;
    if (rules == 0) continue;  // the header row follows the first rule
    std::vector<std::string> cells;
    std::size_t pos = line.find_first_not_of(' ');
    while (pos != std::string::npos) {
      const std::size_t gap = line.find("  ", pos);
      cells.push_back(line.substr(pos, gap == std::string::npos ? gap : gap - pos));
      pos = gap == std::string::npos ? gap : line.find_first_not_of(' ', gap);
    }
    rows.push_back(cells);
  }
  return rows;
}

bool contains_line(const std::string& text, const std::string& start, const std::string& value) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(start, 0) == 0 && line.find(value) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("thousands separators", "[summary]") {
  CHECK(cn::detail::group_thousands(0) == "0");
  CHECK(cn::detail::group_thousands(999) == "999");
  CHECK(cn::detail::group_thousands(1000) == "1,000");
  CHECK(cn::detail::group_thousands(61706) == "61,706");
  CHECK(cn::detail::group_thousands(1000000) == "1,000,000");
  CHECK(cn::detail::group_thousands(12345678901) == "12,345,678,901");
}

TEST_CASE("LeNet-5 summary rows match an independent walk over the layers", "[summary]") {
  const std::string text = cn::summary<LeNet5>("LeNet5");
  const std::vector<Expected> expected =
      walk({1, 28, 28}, {{Kind::conv, 6, 5, 1, 2}, {Kind::relu}, {Kind::maxpool, 0, 2, 2},
                         {Kind::conv, 16, 5, 1, 0}, {Kind::relu}, {Kind::maxpool, 0, 2, 2},
                         {Kind::flatten}, {Kind::linear, 120}, {Kind::relu},
                         {Kind::linear, 84}, {Kind::relu}, {Kind::linear, 10}});
  const auto rows = table_rows(text);
  REQUIRE(rows.size() == expected.size() + 2);

  CHECK(rows[0] == std::vector<std::string>{"#", "Layer", "Output shape", "Params", "MACs",
                                            "Receptive field", "Act. bytes"});
  CHECK(rows[1] == std::vector<std::string>{"Input", "(1, 28, 28)", grouped(784 * 4)});
  const std::vector<std::string> names{
      "Conv2d(1->6, k5, p2)", "ReLU", "MaxPool2d(k2)", "Conv2d(6->16, k5)", "ReLU",
      "MaxPool2d(k2)",        "Flatten", "Linear(400->120)", "ReLU", "Linear(120->84)",
      "ReLU",                 "Linear(84->10)"};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("layer " << i);
    const Expected& e = expected[i];
    CHECK(rows[i + 2] == std::vector<std::string>{std::to_string(i), names[i], e.shape,
                                                  grouped(e.params), grouped(e.macs), e.rf,
                                                  grouped(e.elements * 4)});
  }

  std::size_t params = 0, macs = 0, elements = 784;
  for (const Expected& e : expected) {
    params += e.params;
    macs += e.macs;
    elements += e.elements;
  }
  // Hand-derived: 156 + 2,416 + 48,120 + 10,164 + 850 parameters;
  // 117,600 + 240,000 + 48,000 + 10,080 + 840 MACs; 15,786 floats of activations.
  CHECK(params == 61'706);
  CHECK(macs == 416'520);
  CHECK(elements == 15'786);
  CHECK(text.rfind("Network \"LeNet5\"\n", 0) == 0);
  CHECK(contains_line(text, "Parameters:", grouped(params) + " (" + grouped(params * 4) + " bytes"));
  CHECK(contains_line(text, "MACs per sample:", grouped(macs)));
  CHECK(contains_line(text, "FLOPs per sample:", grouped(2 * macs)));
  CHECK(contains_line(text, "Activation bytes/sample:", grouped(elements * 4)));
}

TEST_CASE("summary: rectangular fields, global pooling, no name", "[summary]") {
  const std::string text = cn::summary<Odd>();
  CHECK(text.rfind("===", 0) == 0);  // no name line
  const auto rows = table_rows(text);
  REQUIRE(rows.size() == 6);
  // Conv k(3,1) s(2,1): field 3x1, jump 2x1. Pool k2 s1 on top: 3 + 1*2 = 5 rows,
  // 1 + 1*1 = 2 cols, jump unchanged. Params 3*2*3*1 + 3 = 21, MACs 3*4*7*2*3 = 504.
  CHECK(rows[2] == std::vector<std::string>{"0", "Conv2d(2->3, k3x1, s2x1)", "(3, 4, 7)", "21", "504", "3x1, jump 2x1", "336"});
  CHECK(rows[3] == std::vector<std::string>{"1", "MaxPool2d(k2, s1)", "(3, 3, 6)", "0", "0",
                                            "5x2, jump 2x1", "216"});
  CHECK(rows[4] == std::vector<std::string>{"2", "GlobalAvgPool2d", "(3)", "0", "0", "global",
                                            "12"});
  CHECK(rows[5] == std::vector<std::string>{"3", "Linear(3->2)", "(2)", "8", "6", "global", "8"});

  std::ostringstream os;
  cn::print_summary<Odd>(os, "odd");
  CHECK(os.str() == cn::summary<Odd>("odd"));
}
