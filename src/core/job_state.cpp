#include "core/job_state.hpp"

#include <array>

namespace jobtape {
namespace {

constexpr std::array<std::string_view, kJobStateCount> kNames = {
    "scheduled", "queued", "running", "succeeded", "failed", "cancelled"};

using S = JobState;
// kTransitions[from][to]
constexpr bool kTransitions[kJobStateCount][kJobStateCount] = {
    //            sched  queued running succ   failed cancelled
    /*scheduled*/ {false, true, false, false, false, true},
    /*queued   */ {false, false, true, false, false, true},
    /*running  */ {true, true, false, true, true, true},
    /*succeeded*/ {false, false, false, false, false, false},
    /*failed   */ {false, false, false, false, false, false},
    /*cancelled*/ {false, false, false, false, false, false},
};

}  // namespace

std::string_view JobStateName(JobState s) {
  return kNames[static_cast<int>(s)];
}

std::optional<JobState> ParseJobState(std::string_view name) {
  for (int i = 0; i < kJobStateCount; ++i) {
    if (kNames[i] == name) return static_cast<JobState>(i);
  }
  return std::nullopt;
}

bool CanTransition(JobState from, JobState to) {
  return kTransitions[static_cast<int>(from)][static_cast<int>(to)];
}

}  // namespace jobtape
