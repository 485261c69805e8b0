// WatchDisplay: what `jobtape watch` (and `submit --watch`) print while a
// job runs.
//
// On a terminal: one live line — a progress bar with the latest percent and
// message, redrawn in place — with log lines, attempts and other events
// printed above it as they come. Not on a terminal (a pipe, a CI log): one
// plain line per event, "<time>  #<seq>  <description>", nothing redrawn.
// With json: one JSON document per event per line (NDJSON), nothing else.
//
// Exit codes by outcome (ExitCodeFor): 0 succeeded, 1 failed, 3 cancelled;
// kExitError (2) is for usage and other errors (server unreachable, unknown
// job), decided by the caller.
//
// Thread-safety: none; one display per watch.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <ostream>
#include <string>

#include "core/event.hpp"
#include "core/job_state.hpp"
#include "core/status.hpp"

namespace jobtape::cli {

inline constexpr int kExitSucceeded = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitError = 2;
inline constexpr int kExitCancelled = 3;

// The exit code a watch ends with once the job reached `state`. A state that
// is not terminal (cannot happen after a final event) is kExitError.
int ExitCodeFor(JobState state);

enum class DisplayMode { kTerminal, kPlain, kJson };

class WatchDisplay {
 public:
  // `width`: terminal columns (kTerminal only).
  WatchDisplay(std::ostream& out, DisplayMode mode, std::size_t width = 80);

  // Shows one event (in seq order).
  void OnEvent(const Event& event);
  // Shows that the connection dropped and a reconnect follows.
  void OnReconnect(int attempt, std::chrono::milliseconds delay, const Status& why);
  // Clears the live line (before the caller prints a summary or an error).
  void Finish();

 private:
  void ClearLive();
  void DrawLive();
  void Line(const std::string& text, const Event* event);

  std::ostream& out_;
  DisplayMode mode_;
  std::size_t width_;
  bool live_shown_ = false;
  std::optional<double> percent_;
  std::string message_;
  std::string status_;  // "queued", "running (attempt 2)", "reconnecting…"
};

// The terminal width of standard output, or `fallback` when it is not a terminal.
std::size_t TerminalWidth(std::size_t fallback = 80);
bool StdoutIsTerminal();

}  // namespace jobtape::cli
