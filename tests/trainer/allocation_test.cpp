// A training step allocates nothing: fit's heap allocations do not depend on how
// many steps an epoch has (they happen before the first step and between epochs).
//
// This file replaces the global operator new / delete of the whole test_trainer
// executable with versions that forward to malloc / aligned_alloc / free, as the
// library defaults do, and count calls while `counting` is set. Outside that they
// only allocate, so the other tests behave as with the standard operators.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>
#include <ostream>
#include <vector>

#include "ctcnn/io/dataset.hpp"
#include "ctcnn/train/init.hpp"
#include "ctcnn/train/loss.hpp"
#include "ctcnn/train/optimizer.hpp"
#include "ctcnn/train/trainer.hpp"
#include "data/data_test_support.hpp"

namespace {

std::atomic<bool> counting{false};
std::atomic<std::size_t> allocations{0};

void* allocate(std::size_t size, std::size_t alignment) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (size == 0) size = 1;
  for (;;) {
    void* p = alignment <= alignof(std::max_align_t)
                  ? std::malloc(size)
                  : std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
    if (p) return p;
    const std::new_handler handler = std::get_new_handler();
    if (!handler) throw std::bad_alloc();
    handler();
  }
}
void* allocate_nothrow(std::size_t size, std::size_t alignment) noexcept {
  try {
    return allocate(size, alignment);
  } catch (...) {
    return nullptr;
  }
}
constexpr std::size_t plain = alignof(std::max_align_t);

}  // namespace

void* operator new(std::size_t n) { return allocate(n, plain); }
void* operator new[](std::size_t n) { return allocate(n, plain); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate_nothrow(n, plain); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate_nothrow(n, plain); }
void* operator new(std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate(n, static_cast<std::size_t>(a)); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, static_cast<std::size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return allocate_nothrow(n, static_cast<std::size_t>(a));
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

using namespace ctcnn;
using namespace ctcnn::test;

// Heap allocations of a 2-epoch fit whose epochs have `steps` steps.
std::size_t allocations_of_fit(std::size_t steps, Progress progress) {
  const auto set = synthetic_set(256, 28, 28, 3);
  const auto data = io::ImageDataset<Shape<1, 28, 28>>::from_bytes(set.pixels, set.labels);
  auto net = std::make_unique<LeNet5>();
  init_default(*net, 0);
  Adam<LeNet5> adam(*net);
  std::ostream discard(nullptr);  // drops everything, allocates nothing
  FitOptions o;
  o.epochs = 2;
  o.steps_per_epoch = steps;
  o.progress = progress;
  o.lines_per_epoch = 100;  // a line after every step
  o.out = &discard;
  allocations = 0;
  counting = true;
  fit<16>(*net, adam, CrossEntropyLoss{}, data, data.take(40), o);
  counting = false;
  return allocations;
}

}  // namespace

TEST_CASE("the allocation counter sees allocations", "[trainer][allocation]") {
  allocations = 0;
  counting = true;
  auto v = std::make_unique<std::vector<int>>(100);
  counting = false;
  CHECK(allocations == 2);
}

TEST_CASE("a training step, progress output included, allocates nothing", "[trainer][allocation]") {
  const Progress mode = GENERATE(Progress::lines, Progress::bar, Progress::none);
  const std::size_t two = allocations_of_fit(2, mode);
  const std::size_t twelve = allocations_of_fit(12, mode);
  CHECK(two > 0);  // the set-up is counted
  CHECK(twelve == two);
}
