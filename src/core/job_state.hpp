// JobState and the one table of legal transitions (docs/lifecycle.md draws it).
//
// Every state change in every store is a compare-and-set from a state listed
// here; CanTransition() is the single source of truth the stores' SQL and the
// tests check against.
//
// Thread-safety: pure functions and constants.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace jobtape {

enum class JobState : uint8_t {
  // Waiting for its run_at (delayed submission, or a retry's backoff).
  // In: enqueue with a future run_at; a retryable failure, lease expiry or
  // recovery with attempts left. Out: promoted to kQueued by the claim path
  // once due; kCancelled by a cancel.
  kScheduled = 0,
  // Ready to be claimed. In: enqueue, promotion of a due kScheduled job.
  // Out: kRunning by a claim; kCancelled by a cancel.
  kQueued = 1,
  // Leased by exactly one attempt (R3). In: a claim. Out: a finish with the
  // matching lease (any terminal state, or back to kScheduled/kQueued for a
  // retry), the reaper on lease expiry or cancel grace, recovery at start-up.
  kRunning = 2,
  // Terminal states: the tape ends with exactly one `final` event (R1).
  kSucceeded = 3,  // In: finish(succeeded).
  kFailed = 4,     // In: non-retryable failure or attempts exhausted.
  kCancelled = 5,  // In: cancel (at once when not running; after grace when running).
};

inline constexpr int kJobStateCount = 6;

std::string_view JobStateName(JobState s);
std::optional<JobState> ParseJobState(std::string_view name);

inline bool IsTerminal(JobState s) {
  return s == JobState::kSucceeded || s == JobState::kFailed || s == JobState::kCancelled;
}

// True if `from` -> `to` is a legal transition.
bool CanTransition(JobState from, JobState to);

}  // namespace jobtape
