// forward and backward allocate nothing on the heap (DESIGN.md: the activation
// storage is one fixed-size workspace, allocated once outside the training loop).
//
// This file replaces the global operator new / delete of the whole test_net
// executable (every overload: plain, array, nothrow, aligned, sized) with
// versions that forward to malloc / aligned_alloc / free, exactly as the
// library defaults do, and that count calls while a CountAllocations guard is
// alive. Outside a guard they only allocate, so every other test in test_net
// behaves as with the standard operators. A deliberate allocation inside a
// guard must be counted, which shows the counting works (the test can fail).
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <vector>

#include "ctcnn/ctcnn.hpp"
#include "support/random.hpp"

namespace {

std::atomic<bool> counting{false};
std::atomic<std::size_t> allocation_count{0};
std::atomic<std::size_t> deallocation_count{0};

// operator new's contract: retry through the new_handler, throw bad_alloc when
// there is none. Never returns null; size 0 gives a unique pointer.
void* allocate(std::size_t size, std::size_t alignment) {
  if (counting.load(std::memory_order_relaxed)) {
    allocation_count.fetch_add(1, std::memory_order_relaxed);
  }
  if (size == 0) size = 1;
  for (;;) {
    void* p = nullptr;
    if (alignment <= alignof(std::max_align_t)) {
      p = std::malloc(size);
    } else {
      // aligned_alloc wants a size that is a multiple of the alignment.
      p = std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment);
    }
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

void deallocate(void* p) noexcept {
  if (!p) return;
  if (counting.load(std::memory_order_relaxed)) {
    deallocation_count.fetch_add(1, std::memory_order_relaxed);
  }
  std::free(p);  // glibc's free also releases aligned_alloc memory
}

constexpr std::size_t plain = alignof(std::max_align_t);

}  // namespace

// ---- the replacements (all of [new.delete.single] and [new.delete.array]) ---------------

void* operator new(std::size_t size) { return allocate(size, plain); }
void* operator new[](std::size_t size) { return allocate(size, plain); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return allocate_nothrow(size, plain);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return allocate_nothrow(size, plain);
}
void* operator new(std::size_t size, std::align_val_t al) {
  return allocate(size, static_cast<std::size_t>(al));
}
void* operator new[](std::size_t size, std::align_val_t al) {
  return allocate(size, static_cast<std::size_t>(al));
}
void* operator new(std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  return allocate_nothrow(size, static_cast<std::size_t>(al));
}
void* operator new[](std::size_t size, std::align_val_t al, const std::nothrow_t&) noexcept {
  return allocate_nothrow(size, static_cast<std::size_t>(al));
}

void operator delete(void* p) noexcept { deallocate(p); }
void operator delete[](void* p) noexcept { deallocate(p); }
void operator delete(void* p, std::size_t) noexcept { deallocate(p); }
void operator delete[](void* p, std::size_t) noexcept { deallocate(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete(void* p, std::align_val_t) noexcept { deallocate(p); }
void operator delete[](void* p, std::align_val_t) noexcept { deallocate(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { deallocate(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { deallocate(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  deallocate(p);
}

namespace {

namespace cn = ctcnn;
namespace ct = ctcnn::test;

struct Counts {
  std::size_t allocations;
  std::size_t deallocations;
};

// Counts the heap traffic of f() alone. Nothing in the guarded scope may use
// Catch2's assertion macros (they build strings): results are checked after.
class CountAllocations {
 public:
  CountAllocations() {
    allocation_count = 0;
    deallocation_count = 0;
    counting = true;
  }
  ~CountAllocations() { counting = false; }
  CountAllocations(const CountAllocations&) = delete;
  CountAllocations& operator=(const CountAllocations&) = delete;
  Counts counts() const { return {allocation_count.load(), deallocation_count.load()}; }
};

template <class F>
Counts count_allocations(F&& f) {
  CountAllocations guard;
  f();
  return guard.counts();
}

// Keeps the compiler from proving an allocation unused and removing it.
void escape(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

struct LeNet5 : cn::Sequential<
    cn::Input<1, 28, 28>,
    cn::Conv2d<6, 5, cn::Padding<2>>, cn::ReLU, cn::MaxPool2d<2>,
    cn::Conv2d<16, 5>,                cn::ReLU, cn::MaxPool2d<2>,
    cn::Flatten,
    cn::Linear<120>, cn::ReLU,
    cn::Linear<84>,  cn::ReLU,
    cn::Linear<10>> {};

// The teaching example's network.
struct ConvNet : cn::Sequential<
    cn::Input<1, 28, 28>,
    cn::Conv2d<16, 5>, cn::ReLU,
    cn::Conv2d<32, 5>, cn::ReLU,
    cn::Flatten, cn::Linear<10>, cn::Softmax> {};

// Everything allocated up front (network, workspace, tensors), one warm-up of
// each call (a threading runtime may allocate on first use), then each call
// counted on its own.
template <class Net, std::size_t N>
void check_no_allocations() {
  using Batch = cn::Tensor<cn::batched_t<N, typename Net::input_shape_t>>;
  using BatchOut = cn::Tensor<cn::batched_t<N, typename Net::output_shape_t>>;
  auto net = std::make_unique<Net>();
  ct::fill_uniform(net->parameters(), 1, -0.1f, 0.1f);
  auto ws = cn::make_workspace<N>(*net);
  auto x = std::make_unique<Batch>();
  ct::fill_uniform(ct::span_of(*x), 2);
  auto dy = std::make_unique<BatchOut>();
  ct::fill_uniform(ct::span_of(*dy), 3);
  auto sample = std::make_unique<cn::Tensor<typename Net::input_shape_t>>();
  ct::fill_uniform(ct::span_of(*sample), 4);
  float sink = 0.0f;

  net->forward(*x, *ws);
  net->backward(*ws, *dy, cn::InputGradient::compute);
  sink += net->forward(*x)[0] + net->forward(*sample)[0];

  const Counts forward = count_allocations([&] { net->forward(*x, *ws); });
  const Counts backward = count_allocations([&] { net->backward(*ws, *dy); });
  const Counts backward_dx =
      count_allocations([&] { net->backward(*ws, *dy, cn::InputGradient::compute); });
  const Counts infer_batch = count_allocations([&] { sink += net->forward(*x)[0]; });
  const Counts infer_sample = count_allocations([&] { sink += net->forward(*sample)[0]; });

  CHECK(forward.allocations == 0);
  CHECK(backward.allocations == 0);
  CHECK(backward_dx.allocations == 0);
  CHECK(infer_batch.allocations == 0);
  CHECK(infer_sample.allocations == 0);
  CHECK(forward.deallocations + backward.deallocations + backward_dx.deallocations +
            infer_batch.deallocations + infer_sample.deallocations ==
        0);
  // The calls did run: the output and the gradients are there.
  CHECK(std::isfinite(sink));
  CHECK(std::any_of(net->gradients().begin(), net->gradients().end(),
                    [](float g) { return g != 0.0f; }));
}

}  // namespace

TEST_CASE("allocation counting sees every kind of operator new", "[allocation]") {
  const Counts vector = count_allocations([] {
    std::vector<float> v(1000);
    escape(v.data());
  });
  CHECK(vector.allocations == 1);
  CHECK(vector.deallocations == 1);

  struct alignas(128) Wide {
    float v[32];
  };
  const Counts aligned = count_allocations([] {
    auto* p = new Wide;
    escape(p);
    delete p;
    auto* q = new Wide[3];
    escape(q);
    delete[] q;
  });
  CHECK(aligned.allocations == 2);
  CHECK(aligned.deallocations == 2);

  const Counts nothrow = count_allocations([] {
    int* p = new (std::nothrow) int(7);
    escape(p);
    delete p;
  });
  CHECK(nothrow.allocations == 1);

  // Outside a guard nothing is counted.
  const Counts empty = count_allocations([] {});
  auto* outside = new int(3);
  escape(outside);
  delete outside;
  CHECK(empty.allocations == 0);
  CHECK(allocation_count.load() == 0);
}

TEST_CASE("replaced operator new keeps its contract", "[allocation]") {
  struct alignas(256) Wider {
    char c;
  };
  auto p = std::make_unique<Wider>();
  CHECK(reinterpret_cast<std::uintptr_t>(p.get()) % 256 == 0);
  void* zero = ::operator new(0);
  void* zero2 = ::operator new(0);
  CHECK(zero != nullptr);
  CHECK(zero != zero2);
  ::operator delete(zero);
  ::operator delete(zero2);
}

TEST_CASE("LeNet-5 forward and backward allocate nothing", "[allocation][lenet5]") {
  SECTION("N = 1") { check_no_allocations<LeNet5, 1>(); }
  SECTION("N = 64") { check_no_allocations<LeNet5, 64>(); }
}

TEST_CASE("teaching ConvNet forward and backward allocate nothing", "[allocation][convnet]") {
  SECTION("N = 1") { check_no_allocations<ConvNet, 1>(); }
  SECTION("N = 64") { check_no_allocations<ConvNet, 64>(); }
}
