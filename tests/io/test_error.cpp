#include "ctcnn/io/error.hpp"  // first: the header compiles on its own

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <type_traits>

using ctcnn::io::IoError;

TEST_CASE("IoError: message names the file and the problem", "[io][error]") {
  const IoError e("/data/train-images-idx3-ubyte.gz", "truncated: 12 bytes missing");
  CHECK(std::string(e.what()) == "ctcnn: /data/train-images-idx3-ubyte.gz: truncated: 12 bytes missing");
}

TEST_CASE("IoError: is a std::runtime_error and cheap to copy", "[io][error]") {
  STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, IoError>);
  STATIC_REQUIRE(std::is_nothrow_copy_constructible_v<IoError>);
  try {
    throw IoError("weights.safetensors", "header is not valid JSON");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()) == "ctcnn: weights.safetensors: header is not valid JSON");
  }
}
