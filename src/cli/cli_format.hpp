// Human output of the client commands: aligned tables, durations, relative
// times, one-line event summaries and the progress bar of `jobtape watch`.
//
// Everything here is a pure function of its inputs (the current time and the
// terminal width are parameters), so the formats are unit-tested as text.
//
// Thread-safety: pure functions; Table is a plain value.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/event.hpp"
#include "core/status.hpp"

namespace jobtape::cli {

// Columns padded to their widest cell, separated by two spaces; the last
// column is not padded (no trailing blanks). Cells are cut to kMaxCell chars.
class Table {
 public:
  static constexpr std::size_t kMaxCell = 60;
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::size_t size() const { return rows_.size() - 1; }  // data rows
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "850ms", "12.3s", "4m05s", "2h07m", "3d04h".
std::string FormatDuration(std::chrono::milliseconds d);
// "5s ago", "3m ago", "in 2h" relative to `now`; "-" for the epoch (unset).
std::string FormatAgo(TimePoint t, TimePoint now);

// Parses "250ms", "30s", "5m", "2h", "1d" (and "0"). kInvalidArgument naming
// `field` for anything else.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text, std::string_view field);

// A JSON text on one line, cut to `max` characters with "…" when longer.
std::string Compact(std::string_view json, std::size_t max = 200);

// The progress a progress event reports: {"percent": 0..100, "message": "..."}.
struct ProgressInfo {
  std::optional<double> percent;
  std::string message;
};
std::optional<ProgressInfo> ParseProgress(const Event& event);

// One line describing an event, without its time: "progress 42% copying",
// "log [stderr] oops", "started attempt 2 on worker w1", "final succeeded
// result {...}", "attempt_failed attempt 1: exit_status: exit 3 (retry in 2s)".
std::string DescribeEvent(const Event& event);

// A JSON document as indented "key: value" lines (objects nest by two
// spaces, array items start with "- "); non-JSON text is returned as is.
std::string Outline(std::string_view json);

// GET /health as text: the overall status, a table of the background loops
// (status, cycle, age of the snapshot, interval, last error), the store and
// the open streams. A document of another shape is shown as an Outline.
std::string RenderHealth(std::string_view json);

// What a `final` event says beyond its state, one item per line:
// "error: exit_status: exited with 3", "result: {...}", "reason: ...".
std::vector<std::string> FinalDetails(const Event& final_event);

// "[#########...........]  42%  copying files", at most `width` columns
// (the message is cut first). Without a percent the bar is empty and shows "--%".
std::string RenderProgressLine(const std::optional<double>& percent, std::string_view message,
                               std::size_t width);

}  // namespace jobtape::cli
