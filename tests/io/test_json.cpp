// detail/json.hpp, the hand-written reader and writer of safetensors headers,
// against nlohmann-json (the library it replaced): the same texts accepted and
// refused, the same values read, the same strings written.
#include "ctcnn/detail/json.hpp"  // first: the header compiles on its own

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <random>
#include <string>
#include <string_view>

namespace cj = ctcnn::detail::json;
using nlohmann::json;

namespace {

// A parsed document as nlohmann-json values (objects keep the last of
// duplicate keys, as nlohmann's do), so the two readers compare by dump().
json as_nlohmann(const cj::Document& d, const cj::Value& v, std::string_view text) {
  switch (v.kind) {
    case cj::Kind::null: return nullptr;
    case cj::Kind::boolean: return v.boolean;
    case cj::Kind::number: return json::parse(text.substr(v.begin, v.end - v.begin));
    case cj::Kind::string: return d.text(v);
    case cj::Kind::array: {
      json a = json::array();
      for (const cj::Value* c : d.children(v)) a.push_back(as_nlohmann(d, *c, text));
      return a;
    }
    case cj::Kind::object: {
      json o = json::object();
      for (const cj::Value* c : d.children(v)) o[d.key(*c)] = as_nlohmann(d, *c, text);
      return o;
    }
  }
  return nullptr;
}

// Random JSON with the escapes, numbers and spacing that matter.
std::string random_json(std::mt19937& rng, int depth) {
  static const char* strings[] = {R"("a")", R"("")", R"("\u00e9\n\t\"")", R"("\ud83d\ude00")", "\"\xc3\xa9\"",
                                  R"("\/x")", R"("F32")", R"("dtype")"};
  static const char* numbers[] = {"0", "-0", "12", "18446744073709551615", "18446744073709551616", "1.5", "-3",
                                  "1e5", "2E-3", "0.0", "123456789012345678901234567890"};
  static const char* spaces[] = {"", " ", "\n", "\t ", "\r\n"};
  const auto space = [&] { return std::string(spaces[rng() % 5]); };
  switch (rng() % (depth > 4 ? 5 : 8)) {
    case 0: return strings[rng() % 8];
    case 1: return numbers[rng() % 11];
    case 2: return "true";
    case 3: return "false";
    case 4: return "null";
    case 5:
    case 6: {
      std::string s = "{" + space();
      for (unsigned i = 0, n = rng() % 4; i < n; ++i) {
        if (i) s += "," + space();
        s += strings[rng() % 8] + space() + ":" + space() + random_json(rng, depth + 1) + space();
      }
      return s + "}";
    }
    default: {
      std::string s = "[" + space();
      for (unsigned i = 0, n = rng() % 4; i < n; ++i) {
        if (i) s += "," + space();
        s += random_json(rng, depth + 1) + space();
      }
      return s + "]";
    }
  }
}

}  // namespace

TEST_CASE("json: the reader accepts and reads what nlohmann-json does", "[io][json]") {
  std::mt19937 rng(2024);
  static const char* junk[] = {"\\", "\"", "\x01", "\xff", "\xed\xa0\x80", "\xef\xbb\xbf", "\\u12", "01", "-",
                               ".",  "e",  ",",    "]",    "}",            "\xc0\xaf", "\xf4\x90\x80\x80"};
  std::size_t accepted = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    std::string text = random_json(rng, 0);
    switch (rng() % 4) {
      case 1:
        if (!text.empty()) text[rng() % text.size()] ^= static_cast<char>(1 << (rng() % 8));
        break;
      case 2:
        text.resize(rng() % (text.size() + 1));
        break;
      case 3:
        text.insert(rng() % (text.size() + 1), junk[rng() % 16]);
        break;
      default:
        break;
    }
    std::string theirs, mine;
    bool they_accept = true, i_accept = true;
    try {
      theirs = json::parse(text).dump();
    } catch (const json::out_of_range&) {
      continue;  // a float beyond double's range: refused by nlohmann only (see json.hpp)
    } catch (const json::exception&) {
      they_accept = false;
    }
    try {
      const cj::Document d = cj::parse(text);
      mine = as_nlohmann(d, d.root(), text).dump();
    } catch (const cj::ParseError&) {
      i_accept = false;
    }
    INFO("text: " << text);
    REQUIRE(i_accept == they_accept);
    REQUIRE(mine == theirs);
    accepted += i_accept;
  }
  CHECK(accepted > 5000);  // the mutations leave enough valid texts
}

TEST_CASE("json: numbers, duplicates, nesting and errors", "[io][json]") {
  const cj::Document d = cj::parse("\xEF\xBB\xBF {\"n\": [18446744073709551615, 18446744073709551616, -1, 1.0, 7],"
                                   " \"k\": 1, \"k\": \"last\"}");
  const auto n = d.children(*d.find(d.root(), "n"));
  REQUIRE(n.size() == 5);
  CHECK(n[0]->unsigned_integer);
  CHECK(n[0]->number == 18446744073709551615u);
  CHECK_FALSE(n[1]->unsigned_integer);  // beyond 64 bits
  CHECK_FALSE(n[2]->unsigned_integer);
  CHECK_FALSE(n[3]->unsigned_integer);  // written with a fraction
  CHECK(n[4]->number == 7);
  CHECK(d.text(*d.find(d.root(), "k")) == "last");
  CHECK(d.find(d.root(), "absent") == nullptr);

  const std::string deep(cj::max_depth + 1, '[');
  CHECK_THROWS_WITH(cj::parse(deep), Catch::Contains("nested too deep"));
  CHECK_THROWS_WITH(cj::parse(R"({"a": )"), Catch::Contains("parse error at byte 6") &&
                                                Catch::Contains("found the end of the text"));
  CHECK_THROWS_WITH(cj::parse("[1] x"), Catch::Contains("after the JSON value") && Catch::Contains("'x'"));
  CHECK_THROWS_WITH(cj::parse(R"(["\udc00"])"), Catch::Contains("low surrogate"));
  CHECK_THROWS_WITH(cj::parse("[\"\xff\"]"), Catch::Contains("UTF-8") && Catch::Contains("0xFF"));
}

TEST_CASE("json: strings are written as nlohmann-json's dump() writes them", "[io][json]") {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 20000; ++trial) {
    std::string s;
    for (unsigned i = 0, n = rng() % 8; i < n; ++i) {
      switch (rng() % 6) {
        case 0: s += static_cast<char>(rng() % 0x20); break;
        case 1: s += static_cast<char>(0x20 + rng() % 0x60); break;
        case 2: s += "\xc3\xa9"; break;
        case 3: s += "\xf0\x9f\x98\x80"; break;
        case 4: s += static_cast<char>(rng() % 256); break;
        default: s += "\"\\/\x7f"; break;
      }
    }
    std::string mine, theirs;
    const bool i_write = cj::append_string(mine, s);
    bool they_write = true;
    try {
      theirs = json(s).dump();
    } catch (const json::exception&) {
      they_write = false;  // not UTF-8
    }
    INFO("string of " << s.size() << " bytes");
    REQUIRE(i_write == they_write);
    REQUIRE(mine == theirs);
    CHECK((cj::invalid_utf8(s) == std::string_view::npos) == i_write);
  }
  CHECK(cj::printable("ok\xff") == "ok\\xFF");
}
