#include "client/json_text.hpp"

namespace jobtape::client {
namespace {

bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t SkipSpace(std::string_view s, std::size_t i) {
  while (i < s.size() && IsSpace(s[i]))
    ++i;
  return i;
}

// The index just past the string starting at s[i] == '"'.
std::size_t SkipString(std::string_view s, std::size_t i) {
  for (++i; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '"') {
      return i + 1;
    }
  }
  return s.size();
}

// The index just past the value starting at s[i].
std::size_t SkipValue(std::string_view s, std::size_t i) {
  if (i >= s.size()) return s.size();
  if (s[i] == '"') return SkipString(s, i);
  if (s[i] == '{' || s[i] == '[') {
    int depth = 0;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        i = SkipString(s, i);
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return s.size();
  }
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && !IsSpace(s[i]))
    ++i;
  return i;
}

}  // namespace

std::optional<std::string_view> RawMember(std::string_view s, std::string_view key) {
  std::size_t i = SkipSpace(s, 0);
  if (i >= s.size() || s[i] != '{') return std::nullopt;
  i = SkipSpace(s, i + 1);
  while (i < s.size() && s[i] == '"') {
    std::size_t key_end = SkipString(s, i);
    // Our keys never need escapes; a key with escapes simply never matches.
    std::string_view k = s.substr(i + 1, key_end - i - 2);
    i = SkipSpace(s, key_end);
    if (i >= s.size() || s[i] != ':') return std::nullopt;
    i = SkipSpace(s, i + 1);
    std::size_t value_end = SkipValue(s, i);
    if (k == key) return s.substr(i, value_end - i);
    i = SkipSpace(s, value_end);
    if (i < s.size() && s[i] == ',') i = SkipSpace(s, i + 1);
  }
  return std::nullopt;
}

std::optional<std::vector<std::string_view>> RawElements(std::string_view s) {
  std::size_t i = SkipSpace(s, 0);
  if (i >= s.size() || s[i] != '[') return std::nullopt;
  std::vector<std::string_view> out;
  i = SkipSpace(s, i + 1);
  while (i < s.size() && s[i] != ']') {
    std::size_t end = SkipValue(s, i);
    out.push_back(s.substr(i, end - i));
    i = SkipSpace(s, end);
    if (i < s.size() && s[i] == ',') i = SkipSpace(s, i + 1);
  }
  return out;
}

std::string CompactJson(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '"') {
      std::size_t end = SkipString(s, i);
      out.append(s.substr(i, end - i));
      i = end;
    } else {
      if (!IsSpace(s[i])) out.push_back(s[i]);
      ++i;
    }
  }
  return out;
}

}  // namespace jobtape::client
