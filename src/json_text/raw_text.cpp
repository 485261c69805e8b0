#include "json_text/raw_text.hpp"

#include <algorithm>

#include <boost/json/parse.hpp>

namespace jobtape::json_text {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::size_t SkipSpace(std::string_view s, std::size_t i) {
  while (i < s.size() && IsSpace(s[i]))
    ++i;
  return i;
}

// `i` at an opening quote; returns the index after the closing quote, or npos.
std::size_t SkipString(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

// `i` at the first character of a value; returns the index after it, or npos.
std::size_t SkipValue(std::string_view s, std::size_t i) {
  if (i >= s.size()) return std::string_view::npos;
  char c = s[i];
  if (c == '"') return SkipString(s, i);
  if (c == '{' || c == '[') {
    int depth = 0;
    while (i < s.size()) {
      char d = s[i];
      if (d == '"') {
        i = SkipString(s, i);
        if (i == std::string_view::npos) return i;
        continue;
      }
      if (d == '{' || d == '[') ++depth;
      if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return std::string_view::npos;
  }
  // A number or a literal: up to the next delimiter.
  while (i < s.size() && !IsSpace(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']')
    ++i;
  return i;
}

// True if the quoted JSON string `quoted` decodes to `key`.
bool KeyEquals(std::string_view quoted, std::string_view key) {
  std::string_view inner = quoted.substr(1, quoted.size() - 2);
  if (inner.find('\\') == std::string_view::npos) return inner == key;
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(quoted, ec);
  return !ec && v.is_string() && std::string_view(v.get_string()) == key;
}

}  // namespace

std::optional<std::string_view> RawMemberValue(std::string_view text, std::string_view key) {
  std::size_t i = SkipSpace(text, 0);
  if (i >= text.size() || text[i] != '{') return std::nullopt;
  std::optional<std::string_view> found;
  i = SkipSpace(text, i + 1);
  if (i < text.size() && text[i] == '}') return std::nullopt;
  while (i < text.size()) {
    if (text[i] != '"') return std::nullopt;
    std::size_t key_end = SkipString(text, i);
    if (key_end == std::string_view::npos) return std::nullopt;
    bool match = KeyEquals(text.substr(i, key_end - i), key);
    i = SkipSpace(text, key_end);
    if (i >= text.size() || text[i] != ':') return std::nullopt;
    std::size_t value_begin = SkipSpace(text, i + 1);
    std::size_t value_end = SkipValue(text, value_begin);
    if (value_end == std::string_view::npos) return std::nullopt;
    if (match) found = text.substr(value_begin, value_end - value_begin);
    i = SkipSpace(text, value_end);
    if (i < text.size() && text[i] == ',') {
      i = SkipSpace(text, i + 1);
      continue;
    }
    break;  // '}' or malformed: either way, done
  }
  return found;
}

std::optional<std::vector<std::string_view>> RawArrayElements(std::string_view text) {
  std::size_t i = SkipSpace(text, 0);
  if (i >= text.size() || text[i] != '[') return std::nullopt;
  std::vector<std::string_view> out;
  i = SkipSpace(text, i + 1);
  if (i < text.size() && text[i] == ']') return out;
  while (i < text.size()) {
    std::size_t end = SkipValue(text, i);
    if (end == std::string_view::npos) return std::nullopt;
    out.push_back(text.substr(i, end - i));
    i = SkipSpace(text, end);
    if (i < text.size() && text[i] == ',') {
      i = SkipSpace(text, i + 1);
      continue;
    }
    if (i < text.size() && text[i] == ']') return out;
    return std::nullopt;
  }
  return std::nullopt;
}

std::string CompactJson(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '"') {
      std::size_t end = std::min(SkipString(s, i), s.size());
      out.append(s.substr(i, end - i));
      i = end;
    } else {
      if (!IsSpace(s[i])) out.push_back(s[i]);
      ++i;
    }
  }
  return out;
}

}  // namespace jobtape::json_text
