#include "core/job_state.hpp"

#include <gtest/gtest.h>

namespace jobtape {
namespace {

TEST(JobState, TerminalStatesHaveNoWayOut) {
  for (JobState from : {JobState::kSucceeded, JobState::kFailed, JobState::kCancelled}) {
    EXPECT_TRUE(IsTerminal(from));
    for (int to = 0; to < kJobStateCount; ++to) {
      EXPECT_FALSE(CanTransition(from, static_cast<JobState>(to)))
          << JobStateName(from) << " -> " << JobStateName(static_cast<JobState>(to));
    }
  }
}

TEST(JobState, OnlyAClaimEntersRunning) {
  EXPECT_TRUE(CanTransition(JobState::kQueued, JobState::kRunning));
  EXPECT_FALSE(CanTransition(JobState::kScheduled, JobState::kRunning));
  EXPECT_FALSE(CanTransition(JobState::kRunning, JobState::kRunning));
}

TEST(JobState, EveryNonTerminalStateCanBeCancelled) {
  for (JobState s : {JobState::kScheduled, JobState::kQueued, JobState::kRunning}) {
    EXPECT_TRUE(CanTransition(s, JobState::kCancelled)) << JobStateName(s);
  }
}

TEST(JobState, NamesRoundTrip) {
  for (int i = 0; i < kJobStateCount; ++i) {
    auto s = static_cast<JobState>(i);
    EXPECT_EQ(ParseJobState(JobStateName(s)), s);
  }
  EXPECT_FALSE(ParseJobState("pending").has_value());
}

}  // namespace
}  // namespace jobtape
