// ctcnn/io/error.hpp: the one exception type of the data-file layer.
//
// Every failure to read or write a data file (idx, safetensors, ...) throws
// IoError, whose message always names the file and the problem, so a user who
// sees only what() knows which file to look at and what is wrong with it:
//   ctcnn: /data/train-images-idx3-ubyte.gz: truncated: header says ...
#pragma once

#include <cstdarg>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ctcnn/detail/format.hpp"

namespace ctcnn::io {

class IoError : public std::runtime_error {
 public:
  [[gnu::cold]] IoError(const std::filesystem::path& file, std::string_view problem)
      : std::runtime_error(ctcnn::detail::formatted("ctcnn: %s: %.*s", file.string().c_str(),
                                                    static_cast<int>(problem.size()), problem.data())) {}
};

namespace detail {

// throw IoError(file, <the printf-formatted problem>). The library's io code
// throws through this: a throw site is then one call, with no message or
// exception object of its own to build and to clean up after, which made up
// much of what the io headers cost to compile.
[[noreturn, gnu::cold, gnu::format(printf, 2, 3)]] inline void throw_io_error(const std::filesystem::path& file,
                                                                             const char* format, ...) {
  std::string problem;
  std::va_list args;
  va_start(args, format);
  ctcnn::detail::append_vformat(problem, format, args);
  va_end(args);
  throw IoError(file, problem);
}

}  // namespace detail

}  // namespace ctcnn::io
