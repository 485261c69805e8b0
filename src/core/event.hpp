// Tape events: the append-only history of a job (R1).
//
// A job's events carry seq 1, 2, 3, ... with no gap; once the job is terminal
// the last one is its only `final` event.
//
// Thread-safety: plain value types.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/job.hpp"

namespace jobtape {

enum class EventType : uint8_t {
  kCreated = 0,          // the job was accepted
  kStarted = 1,          // an attempt claimed it (data: attempt, worker)
  kProgress = 2,         // from the attempt: {"percent": 0..100, "message": ...}
  kLog = 3,              // from the attempt: {"stream": ..., "line": ...}
  kAttemptFailed = 4,    // an attempt ended without ending the job (data: error, retry_at)
  kCancelRequested = 5,  // a cancel reached a running job; the attempt is asked to stop
  kFinal = 6,            // the job is terminal (data: state, error, result); always last
};

inline constexpr int kEventTypeCount = 7;

std::string_view EventTypeName(EventType t);
std::optional<EventType> ParseEventType(std::string_view name);

// Types an attempt may append through its lease; the rest are written by the store.
inline bool IsWorkerEventType(EventType t) {
  return t == EventType::kProgress || t == EventType::kLog;
}

struct Event {
  JobId job_id = 0;
  Seq seq = 0;
  EventType type = EventType::kCreated;
  TimePoint at;
  int attempt = 0;   // the attempt it belongs to (0 before the first claim)
  std::string data;  // JSON object text
};

// An event an attempt wants appended (the store assigns seq, time and attempt).
struct NewEvent {
  EventType type = EventType::kProgress;
  std::string data = "{}";  // JSON object text
};

}  // namespace jobtape
