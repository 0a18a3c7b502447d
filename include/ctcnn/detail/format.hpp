// ctcnn/detail/format.hpp: printf-style text into a std::string, for error
// messages, tables and text files.
//
//   append_format(out, "tensor '%s' has %zu bytes", name.c_str(), n)
//   formatted("...", ...) -> std::string
//
// Why not chains of std::string operator+: g++ -O3 inlines every concatenation
// (allocation, growth, copy) at every call site, and the library's messages,
// SVG and tables written that way took several seconds of each example's
// compile time (README, "Compile times"). A call to one variadic function
// (which is never inlined) compiles in no time and costs nothing that matters
// on these paths. The format attribute lets -Wformat check every call.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace ctcnn::detail {

[[gnu::cold]] inline void append_vformat(std::string& out, const char* fmt, std::va_list args) {
  std::va_list again;
  va_copy(again, args);
  char small[256];
  const int n = std::vsnprintf(small, sizeof small, fmt, args);
  if (n > 0 && static_cast<std::size_t>(n) < sizeof small) {
    out.append(small, static_cast<std::size_t>(n));
  } else if (n > 0) {
    const std::size_t old = out.size();
    out.resize(old + static_cast<std::size_t>(n) + 1);
    std::vsnprintf(out.data() + old, static_cast<std::size_t>(n) + 1, fmt, again);
    out.resize(old + static_cast<std::size_t>(n));
  }
  va_end(again);
}

[[gnu::cold]] [[gnu::format(printf, 2, 3)]] inline void append_format(std::string& out, const char* fmt, ...) {
  std::va_list args;
  va_start(args, fmt);
  append_vformat(out, fmt, args);
  va_end(args);
}

[[gnu::cold]] [[gnu::format(printf, 1, 2)]] inline std::string formatted(const char* fmt, ...) {
  std::string out;
  std::va_list args;
  va_start(args, fmt);
  append_vformat(out, fmt, args);
  va_end(args);
  return out;
}

// throw std::invalid_argument(formatted(...)). Out of line and cold, like
// io::detail::throw_io_error: a check then costs its caller one call.
[[noreturn, gnu::cold, gnu::format(printf, 1, 2)]] inline void throw_invalid_argument(const char* fmt, ...) {
  std::string what;
  std::va_list args;
  va_start(args, fmt);
  append_vformat(what, fmt, args);
  va_end(args);
  throw std::invalid_argument(what);
}

}  // namespace ctcnn::detail
