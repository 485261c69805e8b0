// Helpers shared by the engine tests: collectors that tests wait on (condition
// variables, never sleeps). The real-time timeouts are safety nets only: a
// passing test never reaches them.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>

#include "engine/dispatcher.hpp"

namespace jobtape::engine::testing {

// How long a test waits for a signal before declaring a hang.
inline constexpr std::chrono::milliseconds kSafety{30'000};

// Receives one ClaimAsync completion (and counts extra ones, which are bugs).
class ClaimCollector : public std::enable_shared_from_this<ClaimCollector> {
 public:
  ClaimDone Callback() {
    return [self = shared_from_this()](Result<store::ClaimResult> r) {
      std::lock_guard<std::mutex> lock(self->mu_);
      ++self->calls_;
      if (!self->result_) self->result_.emplace(std::move(r));
      self->cv_.notify_all();
    };
  }
  // Waits for the completion; nullopt if it did not come within kSafety.
  std::optional<Result<store::ClaimResult>> Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, kSafety, [this] { return result_.has_value(); });
    return result_;
  }
  bool done() const {
    std::lock_guard<std::mutex> lock(mu_);
    return result_.has_value();
  }
  int calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Result<store::ClaimResult>> result_;  // GUARDED_BY(mu_)
  int calls_ = 0;                                     // GUARDED_BY(mu_)
};

inline std::shared_ptr<ClaimCollector> MakeCollector() {
  return std::make_shared<ClaimCollector>();
}

// Success if the claim completed (`r` is a ClaimCollector::Wait() or a
// Claim() result), succeeded and handed out exactly the one job `id`.
inline ::testing::AssertionResult ClaimedOnly(const std::optional<Result<store::ClaimResult>>& r,
                                              JobId id) {
  if (!r) return ::testing::AssertionFailure() << "the claim never completed";
  if (!r->ok())
    return ::testing::AssertionFailure() << "the claim failed: " << r->status().ToString();
  const auto& jobs = (*r)->jobs;
  if (jobs.size() != 1u) return ::testing::AssertionFailure() << jobs.size() << " jobs, not 1";
  if (jobs[0].job.id != id) {
    return ::testing::AssertionFailure() << "claimed job " << jobs[0].job.id << ", not " << id;
  }
  return ::testing::AssertionSuccess();
}

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/jobtape-engine-XXXXXX";
    if (char* made = ::mkdtemp(templ.data())) path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }  // empty if creation failed

 private:
  std::string path_;
};

}  // namespace jobtape::engine::testing
