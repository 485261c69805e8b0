#include "cli/cli_format.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "json_text/raw_text.hpp"

namespace jobtape::cli {
namespace json = boost::json;
namespace {

bool IsContinuation(unsigned char c) {
  return (c & 0xC0) == 0x80;
}

// Display columns of UTF-8 text, counted as code points (good enough for a
// status line; wide CJK glyphs may overshoot by a few columns).
std::size_t Columns(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) {
    if (!IsContinuation(static_cast<unsigned char>(c))) ++n;
  }
  return n;
}

// The longest prefix of `s` that fits `max` columns, cut on a code point;
// ends in "…" when something was cut.
std::string Cut(std::string_view s, std::size_t max) {
  if (Columns(s) <= max) return std::string(s);
  if (max == 0) return {};
  std::size_t cols = 0, i = 0;
  for (; i < s.size(); ++i) {
    if (!IsContinuation(static_cast<unsigned char>(s[i]))) {
      if (cols == max - 1) break;
      ++cols;
    }
  }
  return std::string(s.substr(0, i)) + "\u2026";
}

// Control characters would move the cursor or ring the bell: show them as spaces.
std::string OneLine(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::optional<json::object> ObjectOf(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.get_object());
}

std::string StrOf(const json::object& o, std::string_view key) {
  auto it = o.find(json::string_view(key.data(), key.size()));
  if (it == o.end()) return {};
  if (it->value().is_string()) return std::string(it->value().get_string());
  if (it->value().is_null()) return {};
  return json::serialize(it->value());
}

// "exit_status: exited with 3" from {"code":..,"message":..}.
std::string ErrorText(const json::object& o) {
  auto it = o.find("error");
  if (it == o.end() || it->value().is_null()) return {};
  if (!it->value().is_object()) return Compact(json::serialize(it->value()));
  const json::object& e = it->value().get_object();
  std::string code = StrOf(e, "code");
  std::string message = StrOf(e, "message");
  if (code.empty()) return OneLine(message);
  return OneLine(message.empty() ? code : code + ": " + message);
}

std::string Percent(double p) {
  char buf[16];
  if (p == std::floor(p)) {
    std::snprintf(buf, sizeof buf, "%3.0f%%", p);
  } else {
    std::snprintf(buf, sizeof buf, "%5.1f%%", p);
  }
  return buf;
}

void OutlineValue(const json::value& v, int indent, std::string& out);

// Scalars go on their key's line; containers below it.
void OutlineMember(std::string_view key, const json::value& v, int indent, std::string& out) {
  out.append(static_cast<std::size_t>(indent), ' ');
  out.append(key);
  out += ":";
  bool nested =
      (v.is_object() && !v.get_object().empty()) || (v.is_array() && !v.get_array().empty());
  if (!nested) {
    out += " ";
    out += v.is_string() ? OneLine(v.get_string()) : json::serialize(v);
    out += "\n";
    return;
  }
  out += "\n";
  OutlineValue(v, indent + 2, out);
}

void OutlineValue(const json::value& v, int indent, std::string& out) {
  if (v.is_object()) {
    for (const auto& member : v.get_object())
      OutlineMember(member.key(), member.value(), indent, out);
    return;
  }
  if (v.is_array()) {
    for (const json::value& item : v.get_array()) {
      if (item.is_object() && !item.get_object().empty()) {
        out.append(static_cast<std::size_t>(indent), ' ');
        out += "-\n";
        OutlineValue(item, indent + 2, out);
      } else {
        out.append(static_cast<std::size_t>(indent), ' ');
        out += "- ";
        out += item.is_string() ? OneLine(item.get_string()) : json::serialize(item);
        out += "\n";
      }
    }
    return;
  }
  out.append(static_cast<std::size_t>(indent), ' ');
  out += v.is_string() ? OneLine(v.get_string()) : json::serialize(v);
  out += "\n";
}

}  // namespace

std::string Outline(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return std::string(text);
  std::string out;
  OutlineValue(v, 0, out);
  return out;
}

std::string Table::Render() const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], std::min(Columns(row[i]), kMaxCell));
    }
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::string cell = Cut(OneLine(row[i]), kMaxCell);
      line += cell;
      if (i + 1 < row.size()) line.append(widths[i] - Columns(cell) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line;
    out.push_back('\n');
  }
  return out;
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  std::string sign = ms < 0 ? "-" : "";
  ms = std::llabs(ms);
  char buf[32];
  if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%lldms", static_cast<long long>(ms));
  } else if (ms < 60'000) {
    std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  } else if (ms < 3'600'000) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(ms / 60'000),
                  static_cast<long long>(ms / 1000 % 60));
  } else if (ms < 86'400'000) {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(ms / 3'600'000),
                  static_cast<long long>(ms / 60'000 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lldd%02lldh", static_cast<long long>(ms / 86'400'000),
                  static_cast<long long>(ms / 3'600'000 % 24));
  }
  return sign + buf;
}

std::string FormatAgo(TimePoint t, TimePoint now) {
  if (t == TimePoint{}) return "-";
  auto d = std::chrono::duration_cast<std::chrono::milliseconds>(now - t);
  // Seconds are enough for "how long ago"; sub-second noise reads badly.
  auto whole = std::chrono::milliseconds(d.count() / 1000 * 1000);
  if (d.count() >= 0) {
    return d.count() < 1000 ? "just now" : FormatDuration(whole) + " ago";
  }
  return "in " + FormatDuration(-whole);
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string_view field) {
  auto bad = [&] {
    return Status::InvalidArgument(
        "'" + std::string(text) + "' is not a duration (e.g. 500ms, 30s, 5m, 2h, 1d)",
        std::string(field));
  };
  if (text == "0") return std::chrono::milliseconds(0);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data() || value < 0) return bad();
  std::string_view unit(ptr, text.data() + text.size() - ptr);
  int64_t factor = 0;
  if (unit == "ms") factor = 1;
  if (unit == "s") factor = 1000;
  if (unit == "m") factor = 60'000;
  if (unit == "h") factor = 3'600'000;
  if (unit == "d") factor = 86'400'000;
  // Ten years in ms fits easily; beyond that it is a typo.
  if (factor == 0 || value > 315'360'000'000 / factor) return bad();
  return std::chrono::milliseconds(value * factor);
}

std::string Compact(std::string_view text, std::size_t max) {
  boost::system::error_code ec;
  json::parse(json::string_view(text.data(), text.size()), ec);
  // The user's JSON as they wrote it (numbers untouched), minus whitespace.
  std::string one = ec ? OneLine(text) : OneLine(json_text::CompactJson(text));
  return Cut(one, max);
}

std::optional<ProgressInfo> ParseProgress(const Event& event) {
  if (event.type != EventType::kProgress) return std::nullopt;
  ProgressInfo info;
  auto o = ObjectOf(event.data);
  if (!o) return info;
  if (auto it = o->find("percent"); it != o->end() && it->value().is_number()) {
    double p = it->value().to_number<double>();
    info.percent = std::clamp(p, 0.0, 100.0);
  }
  info.message = OneLine(StrOf(*o, "message"));
  return info;
}

std::string DescribeEvent(const Event& event) {
  std::string name(EventTypeName(event.type));
  auto o = ObjectOf(event.data);
  if (!o) return name + " " + Compact(event.data);
  switch (event.type) {
    case EventType::kCreated:
      return name + " in queue " + StrOf(*o, "queue") + " (kind " + StrOf(*o, "kind") + ")";
    case EventType::kStarted: {
      std::string out = name + " attempt " + StrOf(*o, "attempt");
      std::string worker = StrOf(*o, "worker");
      if (!worker.empty()) out += " on " + worker;
      return out;
    }
    case EventType::kProgress: {
      auto p = ParseProgress(event);
      std::string out = name;
      if (p && p->percent) {
        std::string pct = Percent(*p->percent);
        out += " " + pct.substr(pct.find_first_not_of(' '));
      }
      if (p && !p->message.empty()) out += " " + p->message;
      return out;
    }
    case EventType::kLog: {
      std::string stream = StrOf(*o, "stream");
      std::string line = OneLine(StrOf(*o, "line"));
      if (line.empty()) line = OneLine(StrOf(*o, "message"));
      return name + (stream.empty() ? "" : " [" + stream + "]") + " " + line;
    }
    case EventType::kAttemptFailed: {
      std::string out = name + " attempt " + StrOf(*o, "attempt");
      std::string error = ErrorText(*o);
      if (!error.empty()) out += ": " + error;
      std::string retry = StrOf(*o, "retry_at");
      if (!retry.empty()) out += " (retry at " + retry + ")";
      return out;
    }
    case EventType::kCancelRequested: {
      std::string out = name;
      std::string reason = StrOf(*o, "reason");
      if (!reason.empty()) out += " (" + OneLine(reason) + ")";
      return out;
    }
    case EventType::kFinal: {
      std::string out = name + " " + StrOf(*o, "state");
      std::string error = ErrorText(*o);
      if (!error.empty()) out += ": " + error;
      if (auto result = json_text::RawMemberValue(event.data, "result")) {
        out += " result " + Compact(*result);
      }
      return out;
    }
  }
  return name + " " + Compact(event.data);
}

std::string RenderHealth(std::string_view text) {
  auto o = ObjectOf(text);
  const json::value* loops = o ? o->if_contains("loops") : nullptr;
  if (!o || loops == nullptr || !loops->is_array()) return Outline(text);
  auto ms = [](const json::object& l, std::string_view key) {
    const json::value* v = l.if_contains(json::string_view(key.data(), key.size()));
    if (v == nullptr || !v->is_number()) return std::string("-");
    return FormatDuration(std::chrono::milliseconds(v->to_number<int64_t>()));
  };
  std::string out = "status: " + StrOf(*o, "status") + "\n";
  Table t({"LOOP", "STATUS", "CYCLE", "AGE", "INTERVAL", "LAST ERROR"});
  for (const json::value& v : loops->get_array()) {
    if (!v.is_object()) continue;
    const json::object& l = v.get_object();
    std::string error = StrOf(l, "last_error");
    t.Add({StrOf(l, "name"), StrOf(l, "status"), StrOf(l, "cycle"), ms(l, "age_ms"),
           ms(l, "interval_ms"), error.empty() ? "-" : error});
  }
  out += t.Render();
  if (const json::value* store = o->if_contains("store"); store && store->is_object()) {
    const json::object& st = store->get_object();
    out += "store: " + StrOf(st, "status");
    std::string backend = StrOf(st, "backend");
    if (!backend.empty()) out += " (" + backend + ", schema " + StrOf(st, "schema_version") + ")";
    std::string error = StrOf(st, "error");
    if (!error.empty()) out += ": " + OneLine(error);
    out += "\n";
  }
  if (o->contains("open_streams")) out += "open streams: " + StrOf(*o, "open_streams") + "\n";
  return out;
}

std::vector<std::string> FinalDetails(const Event& final_event) {
  std::vector<std::string> out;
  auto o = ObjectOf(final_event.data);
  if (final_event.type != EventType::kFinal || !o) return out;
  std::string error = ErrorText(*o);
  if (!error.empty()) out.push_back("error: " + error);
  std::string reason = OneLine(StrOf(*o, "reason"));
  if (!reason.empty()) out.push_back("reason: " + reason);
  if (auto result = json_text::RawMemberValue(final_event.data, "result")) {
    out.push_back("result: " + Compact(*result, 2000));
  }
  return out;
}

std::string RenderProgressLine(const std::optional<double>& percent, std::string_view message,
                               std::size_t width) {
  constexpr std::size_t kBar = 24;
  std::size_t filled = percent ? static_cast<std::size_t>(*percent / 100.0 * kBar + 0.5) : 0;
  filled = std::min(filled, kBar);
  std::string line = "[";
  line.append(filled, '#');
  line.append(kBar - filled, '.');
  line += "] ";
  line += percent ? Percent(*percent) : std::string(" --%");
  std::string text = OneLine(message);
  if (!text.empty() && width > Columns(line) + 2) {
    line += "  ";
    line += Cut(text, width - Columns(line));
  }
  return Columns(line) > width ? Cut(line, width) : line;
}

}  // namespace jobtape::cli
