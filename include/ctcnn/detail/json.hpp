// ctcnn/detail/json.hpp: the JSON that safetensors headers need, read and
// written by hand.
//
//   parse(text) -> Document    the whole of RFC 8259: objects, arrays, strings
//                              (escapes, \u surrogate pairs, UTF-8 checked),
//                              numbers, true, false, null; throws ParseError
//   append_string(out, s)      s as a JSON string literal; false if s is not UTF-8
//   printable(s)               s with the bytes that are not UTF-8 as \xHH, for messages
//
// Why not nlohmann-json: including it cost 1.8 s and 230 MB of every translation
// unit that saw io/safetensors.hpp, and its parser and serializer several seconds
// at -O3 (g++ 12, measured; README, "Compile times"), for headers that hold a
// few dozen short entries. This reader is a few hundred lines of plain code.
//
// It accepts what the previous nlohmann-based reader accepted (checked on
// 300,000 random and mutated texts against nlohmann-json 3.11): a leading
// UTF-8 byte order mark is skipped; duplicate keys are kept (Document::find
// returns the last, as nlohmann's objects keep the last); a number is
// `unsigned_integer` when written as digits alone and below 2^64 (nlohmann's
// number_unsigned); text after the value is an error. Two differences: a
// nesting limit (max_depth), so a hostile header cannot overflow the stack,
// and numbers are checked for syntax only (nlohmann also refused a float
// beyond double's range, such as 1e999). append_string escapes exactly as
// nlohmann's dump() does (checked on 500,000 random strings).
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ctcnn/detail/format.hpp"

namespace ctcnn::detail::json {

enum class Kind : unsigned char { null, boolean, number, string, array, object };

// The names nlohmann's type_name() gives.
[[gnu::cold]] inline const char* kind_name(Kind k) {
  switch (k) {
    case Kind::null: return "null";
    case Kind::boolean: return "boolean";
    case Kind::number: return "number";
    case Kind::string: return "string";
    case Kind::array: return "array";
    case Kind::object: return "object";
  }
  return "?";
}

inline constexpr std::size_t none = static_cast<std::size_t>(-1);

// One value of a parsed text. The document keeps them all in one vector:
// an array's elements and an object's members are linked from `first` through
// `next` (indices), so no value owns another (no recursive containers, whose
// code cost more to compile than the parser).
struct Value {
  Kind kind = Kind::null;
  bool unsigned_integer = false;   // a number written as digits alone, below 2^64
  bool boolean = false;
  std::uint64_t number = 0;        // its value, when unsigned_integer
  std::size_t begin = 0, end = 0;  // where the value is in the parsed text
  std::size_t text = none;         // a string: its decoded text in Document::strings
  std::size_t key = none;          // a member of an object: its key in Document::strings
  std::size_t first = none;        // an array or object: its first element or member
  std::size_t next = none;         // the next element or member of the same parent

  bool is_object() const { return kind == Kind::object; }
  bool is_array() const { return kind == Kind::array; }
  bool is_string() const { return kind == Kind::string; }
};

struct Document {
  std::vector<Value> values;         // values[0] is the whole text's value
  std::vector<std::string> strings;  // decoded strings and keys

  const Value& root() const { return values[0]; }
  const std::string& text(const Value& v) const { return strings[v.text]; }
  const std::string& key(const Value& v) const { return strings[v.key]; }
  // The elements of an array or the members of an object, in order.
  [[gnu::cold]] std::vector<const Value*> children(const Value& v) const {
    std::vector<const Value*> out;
    for (std::size_t i = v.first; i != none; i = values[i].next) out.push_back(&values[i]);
    return out;
  }
  // The member of `object` called `name` (the last one, if repeated), or nullptr.
  [[gnu::cold]] const Value* find(const Value& object, std::string_view name) const {
    const Value* found = nullptr;
    for (std::size_t i = object.first; i != none; i = values[i].next) {
      if (strings[values[i].key] == name) found = &values[i];
    }
    return found;
  }
};

// `offset` is the byte of the text where parsing stopped.
class ParseError : public std::runtime_error {
 public:
  ParseError(std::size_t offset, const std::string& what) : std::runtime_error(what), offset_(offset) {}
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

inline constexpr std::size_t max_depth = 128;

namespace reader {

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or 0.
inline std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) -> unsigned { return k < s.size() ? static_cast<unsigned char>(s[k]) : 256u; };
  const unsigned c = byte(i);
  const auto in = [&](std::size_t k, unsigned lo, unsigned hi) { return byte(k) >= lo && byte(k) <= hi; };
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return in(i + 1, 0x80, 0xBF) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return in(i + 1, lo, hi) && in(i + 2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return in(i + 1, lo, hi) && in(i + 2, 0x80, 0xBF) && in(i + 3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

[[gnu::cold]] inline void append_utf8(std::string& out, std::uint32_t cp) {
  char b[4];
  std::size_t n = 0;
  if (cp < 0x80) {
    b[n++] = static_cast<char>(cp);
  } else if (cp < 0x800) {
    b[n++] = static_cast<char>(0xC0 | (cp >> 6));
    b[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    b[n++] = static_cast<char>(0xE0 | (cp >> 12));
    b[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    b[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    b[n++] = static_cast<char>(0xF0 | (cp >> 18));
    b[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    b[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    b[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  }
  out.append(b, n);
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  [[gnu::cold]] Document document() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
    value(0);
    skip_space();
    if (pos_ < s_.size()) fail("unexpected text after the JSON value");
    return std::move(doc_);
  }

 private:
  [[gnu::cold]] [[noreturn]] void fail(const char* problem) const {
    std::string what = formatted("parse error at byte %zu: %s", pos_, problem);
    if (pos_ < s_.size()) {
      const unsigned char c = static_cast<unsigned char>(s_[pos_]);
      if (c >= 0x20 && c < 0x7F) {
        append_format(what, " (found '%c')", c);
      } else {
        append_format(what, " (found byte 0x%02X)", c);
      }
    } else {
      what += " (found the end of the text)";
    }
    throw ParseError(pos_, what);
  }

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  // Parses a value into doc_.values (its index is the vector's size before);
  // returns that index. Holds no reference across the recursion: the vector grows.
  [[gnu::cold]] std::size_t value(std::size_t depth) {
    skip_space();
    const std::size_t v = doc_.values.size();
    doc_.values.emplace_back();
    doc_.values[v].begin = pos_;
    const char c = pos_ < s_.size() ? s_[pos_] : '\0';
    if (c == '{' || c == '[') {
      if (depth == max_depth) fail("objects and arrays nested too deep (the limit is 128 levels)");
      ++pos_;
      const bool object = c == '{';
      doc_.values[v].kind = object ? Kind::object : Kind::array;
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == (object ? '}' : ']')) {
        ++pos_;
      } else {
        std::size_t last = none;
        for (;;) {
          std::size_t key = none;
          if (object) {
            skip_space();
            if (pos_ >= s_.size() || s_[pos_] != '"') fail("expected a string (an object key)");
            key = string();
            skip_space();
            if (pos_ >= s_.size() || s_[pos_] != ':') fail("expected ':' after an object key");
            ++pos_;
          }
          const std::size_t child = value(depth + 1);
          doc_.values[child].key = key;
          (last == none ? doc_.values[v].first : doc_.values[last].next) = child;
          last = child;
          skip_space();
          if (pos_ < s_.size() && s_[pos_] == ',') {
            ++pos_;
          } else if (pos_ < s_.size() && s_[pos_] == (object ? '}' : ']')) {
            ++pos_;
            break;
          } else {
            fail(object ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array");
          }
        }
      }
    } else if (c == '"') {
      doc_.values[v].kind = Kind::string;
      doc_.values[v].text = string();
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      doc_.values[v].kind = Kind::number;
      number(doc_.values[v]);
    } else if (literal("true")) {
      doc_.values[v].kind = Kind::boolean;
      doc_.values[v].boolean = true;
    } else if (literal("false")) {
      doc_.values[v].kind = Kind::boolean;
    } else if (!literal("null")) {
      fail("expected a value: an object, array, string, number, true, false or null");
    }
    doc_.values[v].end = pos_;
    return v;
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  [[gnu::cold]] void number(Value& v) {
    const auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    const bool negative = s_[pos_] == '-';
    if (negative) ++pos_;
    const std::size_t int_start = pos_;
    const std::size_t int_digits = digits();
    if (int_digits == 0) fail("expected a digit");
    if (int_digits > 1 && s_[int_start] == '0') {
      pos_ = int_start + 1;
      fail("a number may not start with 0 followed by digits");
    }
    bool integer = true;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      integer = false;
      if (digits() == 0) fail("expected a digit after the decimal point");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      integer = false;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("expected a digit in the exponent");
    }
    if (integer && !negative) {
      std::uint64_t n = 0;
      bool fits = true;
      for (std::size_t i = int_start; i < pos_ && fits; ++i) {
        const auto d = static_cast<std::uint64_t>(s_[i] - '0');
        fits = n <= (UINT64_MAX - d) / 10;
        n = n * 10 + d;
      }
      v.unsigned_integer = fits;
      v.number = fits ? n : 0;
    }
  }

  [[gnu::cold]] unsigned hex4() {
    unsigned cp = 0;
    for (int k = 0; k < 4; ++k, ++pos_) {
      const char h = pos_ < s_.size() ? s_[pos_] : '\0';
      const int d = h >= '0' && h <= '9'   ? h - '0'
                    : h >= 'a' && h <= 'f' ? h - 'a' + 10
                    : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                           : -1;
      if (d < 0) fail("expected four hexadecimal digits after \\u");
      cp = cp * 16 + static_cast<unsigned>(d);
    }
    return cp;
  }

  // A string, decoded into doc_.strings; returns its index there.
  [[gnu::cold]] std::size_t string() {
    const std::size_t index = doc_.strings.size();
    std::string& out = doc_.strings.emplace_back();
    ++pos_;  // the opening quote
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return index;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("control characters must be escaped in strings");
      if (c != '\\') {
        const std::size_t n = utf8_length(s_, pos_);
        if (n == 0) fail("invalid UTF-8 in a string");
        out.append(s_.data() + pos_, n);
        pos_ += n;
        continue;
      }
      ++pos_;
      const char e = pos_ < s_.size() ? s_[pos_] : '\0';
      const char* simple = "\"\"\\\\//b\bf\fn\nr\rt\t";
      const char* hit = nullptr;
      for (const char* p = simple; *p; p += 2) {
        if (*p == e) hit = p;
      }
      if (hit) {
        out += hit[1];
        ++pos_;
      } else if (e == 'u') {
        ++pos_;
        std::uint32_t cp = hex4();
        if (cp >= 0xDC00 && cp <= 0xDFFF) fail("a low surrogate \\u escape without a high one before it");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (s_.substr(pos_, 2) != "\\u") fail("a high surrogate \\u escape must be followed by a low one");
          pos_ += 2;
          const std::uint32_t low = hex4();
          if (low < 0xDC00 || low > 0xDFFF) fail("a high surrogate \\u escape must be followed by a low one");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        append_utf8(out, cp);
      } else {
        fail("invalid escape in a string");
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  Document doc_;
};

}  // namespace reader

[[gnu::cold]] inline Document parse(std::string_view text) { return reader::Parser(text).document(); }

// Byte index of the first byte of s that is not well-formed UTF-8, or npos.
[[gnu::cold]] inline std::size_t invalid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = reader::utf8_length(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

// s for a message: the bytes that are not UTF-8 written as \xHH.
[[gnu::cold]] inline std::string printable(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = reader::utf8_length(s, i);
    if (n == 0) {
      append_format(out, "\\x%02X", static_cast<unsigned char>(s[i]));
      ++i;
    } else {
      out.append(s.data() + i, n);
      i += n;
    }
  }
  return out;
}

// Appends s as a JSON string literal, escaped as nlohmann's dump() does (", \,
// control characters; everything else as is); false, appending nothing, if s
// is not UTF-8.
[[gnu::cold]] inline bool append_string(std::string& out, std::string_view s) {
  if (invalid_utf8(s) != std::string_view::npos) return false;
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    const char* escaped = c == '"' ? "\\\"" : c == '\\' ? "\\\\" : c == '\b' ? "\\b" : c == '\f' ? "\\f"
                        : c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : nullptr;
    if (escaped) {
      out += escaped;
    } else if (u < 0x20) {
      append_format(out, "\\u%04x", u);
    } else {
      out += c;
    }
  }
  out += '"';
  return true;
}

}  // namespace ctcnn::detail::json
