// The StoreContract fixture: one fresh store per test from a StoreFactory
// (value parameter), an explicit logical time `now_` that tests advance by
// hand (no test sleeps), and helpers that keep the behaviour tests short.
//
// The suite is split by theme into contract_*_test.cpp files; they all share
// this fixture and the one instantiation in contract_fixture.cpp, so a store
// added to store_factory.cpp runs every test.
//
// Thread-safety: the fixture belongs to its test's main thread; helpers that
// only call the store (Enqueue, Claim, ...) may also be used from threads the
// test starts, as the Store itself is thread-safe. now_ is not atomic.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "core/event.hpp"
#include "core/job.hpp"
#include "core/limits.hpp"
#include "core/status.hpp"
#include "store/store.hpp"
#include "store_factory.hpp"
#include "tape_checks.hpp"
#include "temp_dir.hpp"

// Readable failure messages for core enums (GoogleTest finds these by ADL).
namespace jobtape {
inline void PrintTo(JobState s, std::ostream* os) {
  *os << JobStateName(s);
}
inline void PrintTo(EventType t, std::ostream* os) {
  *os << EventTypeName(t);
}
inline void PrintTo(ErrorCode c, std::ostream* os) {
  *os << ErrorCodeName(c);
}
}  // namespace jobtape

// Expects `result_or_status` (a Result<T> or a Status) to have failed with `code`.
#define EXPECT_CODE(result, expected_code)                              \
  EXPECT_EQ(::jobtape::store::testing::CodeOf(result), (expected_code)) \
      << ::jobtape::store::testing::DescribeStatus(result)
#define ASSERT_OK(result) \
  ASSERT_TRUE((result).ok()) << ::jobtape::store::testing::DescribeStatus(result)
#define EXPECT_OK(result) \
  EXPECT_TRUE((result).ok()) << ::jobtape::store::testing::DescribeStatus(result)

namespace jobtape::store::testing {

inline ErrorCode CodeOf(const Status& s) {
  return s.code();
}
template <typename T>
ErrorCode CodeOf(const Result<T>& r) {
  return r.ok() ? ErrorCode::kOk : r.status().code();
}
inline std::string DescribeStatus(const Status& s) {
  return s.ToString();
}
template <typename T>
std::string DescribeStatus(const Result<T>& r) {
  return r.ok() ? "ok" : r.status().ToString();
}

// Where every test's clock starts (2023-11-14T22:13:20Z, as ManualClock's).
inline const TimePoint kStart = FromMicros(1'700'000'000'000'000);
inline constexpr Duration kLeaseTtl = std::chrono::seconds(30);
inline constexpr Duration kGrace = std::chrono::seconds(10);
inline constexpr Duration kTick = Duration(1);  // the smallest step of logical time

// Limits small enough to cross in a test, large enough for every other test.
Limits ContractLimits();

class StoreContract : public ::testing::TestWithParam<StoreFactory> {
 public:
  // A valid spec: kind "test.work", payload "{}", 3 attempts, exact backoff
  // (5 s, doubling, no jitter) so retry times can be asserted exactly.
  static JobSpec Spec(std::string queue = "default");

 protected:
  void SetUp() override;
  void TearDown() override;

  Store& store() { return *store_; }
  void Advance(Duration d) { now_ += d; }

  // Enqueues at now_; on failure reports it and returns 0 / an empty vector.
  JobId Enqueue(JobSpec spec);
  JobId Enqueue() { return Enqueue(Spec()); }
  std::vector<JobId> EnqueueBatch(std::vector<JobSpec> specs);

  ClaimParams ClaimAt(std::vector<std::string> queues = {"default"}, int max = 1) const;
  // Claims at now_; on failure reports it and returns nothing.
  std::vector<ClaimedJob> Claim(std::vector<std::string> queues = {"default"}, int max = 1);
  std::vector<ClaimedJob> Claim(ClaimParams p);
  // Claims and expects exactly one job (reports otherwise; then lease is empty).
  ClaimedJob ClaimOne(std::string queue = "default", std::string node_id = "");

  Result<HeartbeatResult> Heartbeat(const Lease& lease, Duration ttl = kLeaseTtl);
  Result<AppendResult> Append(const Lease& lease, std::vector<NewEvent> events);
  Result<AppendResult> AppendProgress(const Lease& lease, int percent);
  Result<FinishResult> Finish(const Lease& lease, Outcome outcome);
  Result<CancelResult> Cancel(JobId id, Duration grace = kGrace);
  Result<ReapResult> Reap(int limit = 1000);

  // Reads; on failure they report it and return an empty value.
  Job Get(JobId id);
  std::vector<Event> Tape(JobId id);
  std::vector<EventType> TapeTypes(JobId id);
  std::vector<Job> ListAll(ListParams filter = {});
  std::size_t JobCount() { return ListAll().size(); }
  // Jobs in state running whose concurrency_key is `key`.
  std::size_t RunningWithKey(const std::string& key);

  // A canonical text of every job and its whole tape (everything but
  // updated_at): equal before and after a call that must change nothing.
  std::string DescribeAll();

  // Expects the job in `state`, terminal, its tape ending in its one `final`
  // (which names the state), and every other tape sound.
  void ExpectTerminalWithFinal(JobId id, JobState state);

  // Asserts TapeViolations() is empty for every job in the store.
  void ExpectAllTapesSound();

  TimePoint now_ = kStart;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Store> store_;
};

// Counts events of `type` in `types`.
std::size_t CountOf(const std::vector<EventType>& types, EventType type);

}  // namespace jobtape::store::testing
