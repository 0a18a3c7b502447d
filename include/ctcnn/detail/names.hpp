// ctcnn/detail/names.hpp: a list of names, sorted once for lookups.
//
//   NameIndex index(names)     names[i] (string_views that must outlive the index)
//   index.find(name)           the position of its first occurrence, or npos
//   index.first_duplicate()    the first position whose name occurred before, or npos
//   index.sorted()             the positions in name order (byte order; ties by position)
//
// What the io code used std::map and std::set for (tensor names, header keys).
// A red-black tree costs every translation unit about a thousand lines of code
// per key type to compile at -O3; this is std::qsort and a binary search,
// compiled once.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace ctcnn::detail {

class NameIndex {
 public:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  NameIndex() = default;
  [[gnu::cold]] explicit NameIndex(const std::vector<std::string_view>& names) : items_(names.size()) {
    for (std::size_t i = 0; i < names.size(); ++i) items_[i] = {names[i], i};
    if (items_.empty()) return;
    std::qsort(items_.data(), items_.size(), sizeof(Item), [](const void* pa, const void* pb) {
      const auto& a = *static_cast<const Item*>(pa);
      const auto& b = *static_cast<const Item*>(pb);
      if (const int c = a.name.compare(b.name)) return c;
      return a.position < b.position ? -1 : a.position > b.position ? 1 : 0;
    });
  }

  [[gnu::cold]] std::size_t find(std::string_view name) const {
    std::size_t lo = 0, hi = items_.size();  // the first item >= name is in [lo, hi]
    while (lo < hi) {
      const std::size_t mid = lo + (hi - lo) / 2;
      if (items_[mid].name < name) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo < items_.size() && items_[lo].name == name ? items_[lo].position : npos;
  }
  bool contains(std::string_view name) const { return find(name) != npos; }

  [[gnu::cold]] std::size_t first_duplicate() const {
    std::size_t first = npos;
    for (std::size_t i = 1; i < items_.size(); ++i) {
      if (items_[i].name == items_[i - 1].name && items_[i].position < first) first = items_[i].position;
    }
    return first;
  }

  [[gnu::cold]] std::vector<std::size_t> sorted() const {
    std::vector<std::size_t> positions(items_.size());
    for (std::size_t i = 0; i < items_.size(); ++i) positions[i] = items_[i].position;
    return positions;
  }

 private:
  struct Item {
    std::string_view name;
    std::size_t position;
  };
  std::vector<Item> items_;
};

}  // namespace ctcnn::detail
