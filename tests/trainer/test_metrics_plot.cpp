// train/metrics.hpp and train/plot.hpp: confusion matrices, the metrics CSV and
// the SVG training curves.
#include <catch2/catch.hpp>

#include <cmath>
#include <regex>
#include <sstream>

#include "ctcnn/train/metrics.hpp"
#include "ctcnn/train/plot.hpp"
#include "data/data_test_support.hpp"

using namespace ctcnn;
using namespace ctcnn::test;
using Catch::Matchers::Contains;

namespace {

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("argmax takes the first of equal maxima", "[metrics]") {
  const float row[4] = {1.0f, 3.0f, 3.0f, -1.0f};
  CHECK(argmax(row, 4) == 1);
  CHECK(argmax(row, 1) == 0);
}

TEST_CASE("ConfusionMatrix counts, accuracy, recall and its printed table", "[metrics]") {
  ConfusionMatrix<3> m;
  // truth, predicted: 4 right (0,0 0,0 1,1 2,2), 2 wrong (1,0 2,1).
  for (auto [t, p] : {std::pair{0, 0}, {0, 0}, {1, 1}, {2, 2}, {1, 0}, {2, 1}}) m.add(t, p);
  CHECK(m.total() == 6);
  CHECK(m.correct() == 4);
  CHECK(m.accuracy() == Approx(4.0 / 6.0));
  CHECK(m.count(1, 0) == 1);
  CHECK(m.count(0, 1) == 0);
  CHECK(m.class_accuracy(0) == 1.0);
  CHECK(m.class_accuracy(1) == 0.5);
  const std::array<std::string_view, 3> names{"cat", "dog", "bird"};
  std::ostringstream os;
  m.print(os, names);
  const std::string table = os.str();
  CHECK_THAT(table, Contains("cat") && Contains("bird") && Contains("recall") &&
                        Contains("accuracy 66.67% (4 of 6)") && Contains("50.0%"));
  // The row of "dog" (truth 1): 1 predicted as 0, 1 as 1, 0 as 2.
  CHECK(std::regex_search(table, std::regex(R"( 1  dog\s+1\s+1\s+0\s+50\.0%)")));
  m.clear();
  CHECK(m.total() == 0);
}

TEST_CASE("the metrics CSV round-trips, NaN included, and rejects other files", "[metrics][csv]") {
  TempDir dir;
  std::vector<EpochMetrics> h(2);
  h[0] = {1, 0.912345, 0.71, 0.61, 0.8, 12.5, 4000.0};
  h[1] = {2, 0.5, 0.82, NAN, NAN, 11.25, 4444.4};
  write_metrics_csv(dir / "m.csv", h);
  const Bytes bytes = read_file(dir / "m.csv");
  const std::string text(bytes.begin(), bytes.end());
  CHECK(text.rfind("epoch,train_loss,train_acc,val_loss,val_acc,epoch_seconds,images_per_second\n", 0) == 0);
  CHECK_THAT(text, Contains("1,0.912345,0.710000,0.610000,0.800000,12.500,4000.0\n"));
  const auto back = read_metrics_csv(dir / "m.csv");
  REQUIRE(back.size() == 2);
  CHECK(back[0].epoch == 1);
  CHECK(back[0].train_loss == Approx(0.912345));
  CHECK(back[1].epoch == 2);
  CHECK(std::isnan(back[1].val_loss));
  CHECK(back[1].images_per_second == Approx(4444.4));
  write_file(dir / "bad.csv", Bytes{'a', ',', 'b', '\n'});
  CHECK_THROWS_WITH(read_metrics_csv(dir / "bad.csv"), Contains("bad.csv") && Contains("not a metrics file"));
  write_file(dir / "bad2.csv", read_file(dir / "m.csv"));
  {
    std::ofstream app(dir / "bad2.csv", std::ios::app);
    app << "3,x,1,1,1,1,1\n";
  }
  CHECK_THROWS_WITH(read_metrics_csv(dir / "bad2.csv"), Contains("line 4"));
}

TEST_CASE("nice ticks step by 1, 2 or 5 times a power of ten and cover the data", "[plot]") {
  using detail::plot::nice_ticks;
  // range 0.64 over 5 intervals = 0.128 -> step 0.2 from 0.2 to 1.0.
  auto t = nice_ticks(0.23, 0.87);
  CHECK(t.step == Approx(0.2));
  CHECK(t.first == Approx(0.2));
  CHECK(t.count == 5);
  CHECK(t.last() == Approx(1.0));
  // 70..90 %: 20 / 5 = 4 -> step 5, 70 to 90.
  t = nice_ticks(70.0, 90.0);
  CHECK(t.step == Approx(5.0));
  CHECK(t.first == Approx(70.0));
  CHECK(t.last() == Approx(90.0));
  // One value: widened around it.
  t = nice_ticks(2.0, 2.0);
  CHECK(t.first <= 2.0);
  CHECK(t.last() >= 2.0);
  CHECK(t.count >= 2);
  CHECK(detail::plot::tick_text(0.4000001, 0.2) == "0.4");
  CHECK(detail::plot::tick_text(85.0, 5.0) == "85");
}

TEST_CASE("the SVG has two panels with both series, axes, labels and a legend", "[plot]") {
  std::vector<EpochMetrics> h(3);
  for (std::size_t e = 0; e < 3; ++e) {
    const double k = static_cast<double>(e);
    h[e] = {e + 1, 0.8 - 0.2 * k, 0.7 + 0.05 * k, 0.7 - 0.15 * k, 0.75 + 0.04 * k, 10.0, 5000.0};
  }
  const std::string svg = training_curves_svg(h, "LeNet-5 <Fashion-MNIST> & co");
  CHECK(svg.rfind("<?xml", 0) == 0);
  CHECK_THAT(svg, Contains("<svg xmlns=\"http://www.w3.org/2000/svg\"") && Contains("</svg>"));
  CHECK_THAT(svg, Contains("LeNet-5 &lt;Fashion-MNIST&gt; &amp; co"));
  CHECK_THAT(svg, Contains(">epoch<") && Contains(">cross-entropy loss<") && Contains(">accuracy (%)<"));
  CHECK(occurrences(svg, ">training<") == 2);
  CHECK(occurrences(svg, ">validation<") == 2);
  // 2 panels x 2 series x 3 epochs markers + 4 legend markers.
  CHECK(occurrences(svg, "<circle") == 16);
  // 4 series lines + 2 axis polylines.
  CHECK(occurrences(svg, "<polyline") == 6);
  // Every opened element is closed: count tags.
  CHECK(occurrences(svg, "<text") == occurrences(svg, "</text>"));

  // Without validation (NaN) only the training series is drawn.
  for (auto& m : h) m.val_loss = m.val_acc = NAN;
  const std::string train_only = training_curves_svg(h, "t");
  CHECK(occurrences(train_only, ">validation<") == 0);
  CHECK(occurrences(train_only, "<circle") == 8);
  CHECK(train_only.find("nan") == std::string::npos);
  // One epoch and no epochs still give a valid picture.
  CHECK_THAT(training_curves_svg(std::span(h).first(1), "one"), Contains("</svg>"));
  CHECK_THAT(training_curves_svg({}, "none"), Contains("no data"));
}

TEST_CASE("write_training_curves_svg reports an unwritable path", "[plot]") {
  TempDir dir;
  write_training_curves_svg(dir / "c.svg", {}, "x");
  CHECK(fs::file_size(dir / "c.svg") > 100);
  CHECK_THROWS_AS(write_training_curves_svg(dir / "no" / "c.svg", {}, "x"), io::IoError);
}
