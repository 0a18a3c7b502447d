// ctcnn/io/error.hpp: the one exception type of the data-file layer.
//
// Every failure to read or write a data file (idx, safetensors, ...) throws
// IoError, whose message always names the file and the problem, so a user who
// sees only what() knows which file to look at and what is wrong with it:
//   ctcnn: /data/train-images-idx3-ubyte.gz: truncated: header says ...
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace ctcnn::io {

class IoError : public std::runtime_error {
 public:
  IoError(const std::filesystem::path& file, std::string_view problem)
      : std::runtime_error("ctcnn: " + file.string() + ": " + std::string(problem)) {}
};

}  // namespace ctcnn::io
