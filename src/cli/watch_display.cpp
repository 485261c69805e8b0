#include "cli/watch_display.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/cli_format.hpp"

namespace jobtape::cli {
namespace {

// Erase the current terminal line and return the cursor to its start.
constexpr std::string_view kClearLine = "\r\033[K";

}  // namespace

int ExitCodeFor(JobState state) {
  switch (state) {
    case JobState::kSucceeded:
      return kExitSucceeded;
    case JobState::kFailed:
      return kExitFailed;
    case JobState::kCancelled:
      return kExitCancelled;
    default:
      return kExitError;
  }
}

WatchDisplay::WatchDisplay(std::ostream& out, DisplayMode mode, std::size_t width)
    : out_(out), mode_(mode), width_(width < 20 ? 20 : width) {}

void WatchDisplay::ClearLive() {
  if (live_shown_) out_ << kClearLine;
  live_shown_ = false;
}

void WatchDisplay::DrawLive() {
  std::string message = message_;
  if (!status_.empty()) message = message.empty() ? status_ : status_ + " · " + message;
  out_ << kClearLine << RenderProgressLine(percent_, message, width_ - 1) << std::flush;
  live_shown_ = true;
}

void WatchDisplay::Line(const std::string& text, const Event* event) {
  if (mode_ == DisplayMode::kTerminal) {
    ClearLive();
    out_ << text << '\n';
    return;
  }
  if (event != nullptr) {
    out_ << FormatTime(event->at) << "  #" << event->seq << "  " << text << '\n' << std::flush;
  } else {
    out_ << text << '\n' << std::flush;
  }
}

void WatchDisplay::OnEvent(const Event& event) {
  if (mode_ == DisplayMode::kJson) {
    out_ << "{\"job_id\":" << event.job_id << ",\"seq\":" << event.seq << ",\"type\":\""
         << EventTypeName(event.type) << "\",\"at\":\"" << FormatTime(event.at)
         << "\",\"at_ms\":" << ToMillis(event.at) << ",\"attempt\":" << event.attempt
         << ",\"data\":" << (event.data.empty() ? "{}" : event.data) << "}\n"
         << std::flush;
    return;
  }
  if (mode_ == DisplayMode::kPlain) {
    Line(DescribeEvent(event), &event);
    return;
  }
  // Terminal: progress updates the live line; everything else is a line above it.
  switch (event.type) {
    case EventType::kProgress: {
      auto p = ParseProgress(event);
      if (p && p->percent) percent_ = p->percent;
      if (p && !p->message.empty()) message_ = p->message;
      status_.clear();
      break;
    }
    case EventType::kCreated:
      status_ = "queued";
      break;
    case EventType::kStarted:
      status_ = "running (attempt " + std::to_string(event.attempt) + ")";
      Line(DescribeEvent(event), &event);
      break;
    case EventType::kFinal:
      ClearLive();  // the caller prints the outcome; no live line any more
      return;
    default:
      Line(DescribeEvent(event), &event);
      break;
  }
  DrawLive();
}

void WatchDisplay::OnReconnect(int attempt, std::chrono::milliseconds delay, const Status& why) {
  std::string text = "connection lost (" + why.message() + "); reconnecting in " +
                     FormatDuration(delay) + " (attempt " + std::to_string(attempt) + ")";
  if (mode_ == DisplayMode::kJson) return;  // stdout is for events; the caller may log to stderr
  if (mode_ == DisplayMode::kTerminal) {
    status_ = "reconnecting";
    Line(text, nullptr);
    DrawLive();
    return;
  }
  Line(text, nullptr);
}

void WatchDisplay::Finish() {
  if (mode_ == DisplayMode::kTerminal) ClearLive();
  out_ << std::flush;
}

std::size_t TerminalWidth(std::size_t fallback) {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return fallback;
}

bool StdoutIsTerminal() {
  return isatty(STDOUT_FILENO) == 1;
}

}  // namespace jobtape::cli
