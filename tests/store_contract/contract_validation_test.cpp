// Contract, R9 (bad input gets a clear error and changes nothing) at the store
// boundary: each kind of invalid enqueue, append, claim, heartbeat, cancel or
// lease is refused with its code (and the offending field), and the store is
// byte-for-byte as before - in particular a batch with one bad job enqueues
// none of the others.
#include "contract_fixture.hpp"

namespace jobtape::store::testing {
namespace {

using ET = EventType;

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Expects an enqueue refused with `code` and a field ending in `field`
// ("payload" for one job may be reported as "jobs[0].payload").
void ExpectRejected(const Result<EnqueueResult>& r, ErrorCode code, const std::string& field) {
  EXPECT_CODE(r, code);
  if (!r.ok()) {
    EXPECT_TRUE(EndsWith(r.status().field(), field))
        << "field '" << r.status().field() << "', want '..." << field << "'";
  }
}

// One existing job makes "changes nothing" meaningful; each test compares the
// whole store before and after.
#define EXPECT_ENQUEUE_REJECTED(specs, code, field)                  \
  do {                                                               \
    Enqueue();                                                       \
    std::string before_ = DescribeAll();                             \
    ExpectRejected(store().JobsEnqueue({now_, specs}), code, field); \
    EXPECT_EQ(DescribeAll(), before_);                               \
    EXPECT_EQ(JobCount(), 1u);                                       \
  } while (0)

std::vector<JobSpec> One(JobSpec spec) {
  return {std::move(spec)};
}

TEST_P(StoreContract, OversizedPayloadIsRejected) {
  JobSpec spec = Spec();
  spec.payload = "\"" + std::string(ContractLimits().max_payload_bytes, 'x') + "\"";
  EXPECT_ENQUEUE_REJECTED(One(spec), ErrorCode::kPayloadTooLarge, "payload");
}

TEST_P(StoreContract, PayloadThatIsNotJsonIsRejected) {
  for (const char* bad : {"{", "{\"a\":}", "nul", "", "[1,2", "{} trailing"}) {
    JobSpec spec = Spec();
    spec.payload = bad;
    auto before = DescribeAll();
    ExpectRejected(store().JobsEnqueue({now_, One(spec)}), ErrorCode::kInvalidArgument, "payload");
    EXPECT_EQ(DescribeAll(), before) << "payload '" << bad << "'";
  }
  EXPECT_EQ(JobCount(), 0u);
}

TEST_P(StoreContract, InvalidQueueNameIsRejected) {
  JobSpec spec = Spec("bad queue!");
  EXPECT_ENQUEUE_REJECTED(One(spec), ErrorCode::kInvalidArgument, "queue");
}

TEST_P(StoreContract, InvalidKindNameIsRejected) {
  JobSpec spec = Spec();
  spec.kind = "../bin/sh";
  EXPECT_ENQUEUE_REJECTED(One(spec), ErrorCode::kInvalidArgument, "kind");
  JobSpec empty = Spec();
  empty.kind = "";
  auto r = store().JobsEnqueue({now_, {empty}});
  EXPECT_CODE(r, ErrorCode::kInvalidArgument);
}

TEST_P(StoreContract, PriorityOutOfRangeIsRejected) {
  JobSpec spec = Spec();
  spec.priority = kMaxPriority + 1;
  EXPECT_ENQUEUE_REJECTED(One(spec), ErrorCode::kInvalidArgument, "priority");
  spec.priority = kMinPriority - 1;
  EXPECT_CODE(store().JobsEnqueue({now_, {spec}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(JobCount(), 1u);
}

TEST_P(StoreContract, MaxAttemptsOutOfRangeIsRejected) {
  JobSpec spec = Spec();
  spec.max_attempts = 0;
  EXPECT_ENQUEUE_REJECTED(One(spec), ErrorCode::kInvalidArgument, "max_attempts");
  spec.max_attempts = kMaxAttempts + 1;
  EXPECT_CODE(store().JobsEnqueue({now_, {spec}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(JobCount(), 1u);
}

TEST_P(StoreContract, RunAtTooFarAheadIsRejected) {
  JobSpec spec = Spec();
  spec.run_at = now_ + kMaxScheduleAhead + std::chrono::hours(1);
  EXPECT_ENQUEUE_REJECTED(One(spec), ErrorCode::kInvalidArgument, "run_at");
}

TEST_P(StoreContract, BatchOverLimitIsRejected) {
  std::vector<JobSpec> specs(ContractLimits().max_batch + 1, Spec());
  Enqueue();
  std::string before = DescribeAll();
  auto r = store().JobsEnqueue({now_, specs});
  ASSERT_FALSE(r.ok());
  // The two stores must agree; either code is a clear "too many".
  EXPECT_TRUE(r.status().code() == ErrorCode::kInvalidArgument ||
              r.status().code() == ErrorCode::kLimitExceeded)
      << r.status().ToString();
  EXPECT_EQ(DescribeAll(), before);
  // Exactly at the limit is fine.
  std::vector<JobSpec> at_limit(ContractLimits().max_batch, Spec());
  EXPECT_OK(store().JobsEnqueue({now_, at_limit}));
}

TEST_P(StoreContract, EmptyBatchIsRejected) {
  EXPECT_CODE(store().JobsEnqueue({now_, {}}), ErrorCode::kInvalidArgument);
  EXPECT_EQ(JobCount(), 0u);
}

TEST_P(StoreContract, InvalidJobInsideBatchRejectsWholeBatch) {
  std::vector<JobSpec> specs(5, Spec());
  specs[3].priority = 500;
  Enqueue();
  std::string before = DescribeAll();
  auto r = store().JobsEnqueue({now_, specs});
  EXPECT_CODE(r, ErrorCode::kInvalidArgument);
  if (!r.ok()) {
    EXPECT_EQ(r.status().field(), "jobs[3].priority");
  }
  EXPECT_EQ(DescribeAll(), before);
  EXPECT_EQ(JobCount(), 1u);
}

TEST_P(StoreContract, NonJsonPayloadInsideBatchRejectsWholeBatch) {
  std::vector<JobSpec> specs(4, Spec());
  specs[2].payload = "{not json";
  Enqueue();
  std::string before = DescribeAll();
  auto r = store().JobsEnqueue({now_, specs});
  EXPECT_CODE(r, ErrorCode::kInvalidArgument);
  if (!r.ok()) {
    EXPECT_EQ(r.status().field(), "jobs[2].payload");
  }
  EXPECT_EQ(DescribeAll(), before);
}

TEST_P(StoreContract, StaleLeaseChangesNothing) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  Lease stale = c.lease;
  stale.token = "deadbeefdeadbeefdeadbeefdeadbeef";
  std::string before = DescribeAll();
  EXPECT_CODE(Append(stale, {{ET::kProgress, "{}"}}), ErrorCode::kStaleLease);
  EXPECT_CODE(Finish(stale, Outcome::Succeeded()), ErrorCode::kStaleLease);
  EXPECT_EQ(DescribeAll(), before);
  EXPECT_EQ(Get(id).state, JobState::kRunning);
}

TEST_P(StoreContract, InvalidAppendWritesNothing) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  std::string before = DescribeAll();
  std::string big = "{\"line\":\"" + std::string(ContractLimits().max_event_bytes, 'x') + "\"}";
  EXPECT_CODE(Append(c.lease, {{ET::kLog, big}}), ErrorCode::kPayloadTooLarge);
  EXPECT_CODE(Append(c.lease, {{ET::kLog, "{\"line\":"}}), ErrorCode::kInvalidArgument);
  EXPECT_CODE(Append(c.lease, {{ET::kLog, "[1,2]"}}), ErrorCode::kInvalidArgument)
      << "event data must be a JSON object";
  EXPECT_CODE(Append(c.lease, {}), ErrorCode::kInvalidArgument);
  // A good event before a bad one is not written either.
  EXPECT_CODE(Append(c.lease, {{ET::kProgress, "{}"}, {ET::kLog, "{oops"}}),
              ErrorCode::kInvalidArgument);
  std::vector<NewEvent> too_many(ContractLimits().max_events_per_append + 1,
                                 NewEvent{ET::kProgress, "{}"});
  auto r = Append(c.lease, too_many);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(CodeOf(r) == ErrorCode::kInvalidArgument || CodeOf(r) == ErrorCode::kLimitExceeded)
      << DescribeStatus(r);
  EXPECT_EQ(DescribeAll(), before);
  EXPECT_OK(AppendProgress(c.lease, 1));  // the lease is still good
  EXPECT_EQ(Get(id).last_seq, 3);
}

TEST_P(StoreContract, InvalidClaimTakesNothing) {
  JobId id = Enqueue();
  std::string before = DescribeAll();
  for (int max : {0, -1, static_cast<int>(ContractLimits().max_claim) + 1}) {
    EXPECT_CODE(store().JobsClaim(ClaimAt({"default"}, max)), ErrorCode::kInvalidArgument)
        << "max " << max;
  }
  for (Duration ttl : {Duration(0), kMinLeaseTtl - kTick, kMaxLeaseTtl + kTick}) {
    ClaimParams p = ClaimAt({"default"}, 1);
    p.lease_ttl = ttl;
    EXPECT_CODE(store().JobsClaim(p), ErrorCode::kInvalidArgument) << "ttl " << ttl.count();
  }
  EXPECT_CODE(store().JobsClaim(ClaimAt({"bad queue!"}, 1)), ErrorCode::kInvalidArgument);
  EXPECT_CODE(store().JobsClaim(ClaimAt({"default", "other", "default"}, 1)),
              ErrorCode::kInvalidArgument);
  std::vector<std::string> many;
  for (std::size_t i = 0; i <= kMaxClaimQueues; ++i)
    many.push_back("q" + std::to_string(i));
  many.back() = "default";
  EXPECT_CODE(store().JobsClaim(ClaimAt(many, 1)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(DescribeAll(), before);
  EXPECT_EQ(Get(id).state, JobState::kQueued);
}

TEST_P(StoreContract, CancelGraceOutOfRangeChangesNothing) {
  JobId id = Enqueue();
  std::string before = DescribeAll();
  for (Duration grace : {-kTick, kMaxCancelGrace + kTick}) {
    CancelParams p{.now = now_, .id = id, .grace = grace};
    EXPECT_CODE(store().JobCancel(p), ErrorCode::kInvalidArgument) << grace.count();
  }
  EXPECT_EQ(DescribeAll(), before);
}

TEST_P(StoreContract, HeartbeatWithBadTtlChangesNothing) {
  Enqueue();
  ClaimedJob c = ClaimOne();
  std::string before = DescribeAll();
  EXPECT_CODE(Heartbeat(c.lease, kMaxLeaseTtl + kTick), ErrorCode::kInvalidArgument);
  EXPECT_CODE(Heartbeat(c.lease, Duration(0)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(DescribeAll(), before);
}

TEST_P(StoreContract, DeeplyNestedPayloadIsRejected) {
  JobSpec spec = Spec();
  spec.payload = std::string(1000, '[') + std::string(1000, ']');  // small, but 1000 deep
  EXPECT_ENQUEUE_REJECTED(One(spec), ErrorCode::kInvalidArgument, "payload");
}

TEST_P(StoreContract, InvalidFinishChangesNothing) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  std::string before = DescribeAll();
  EXPECT_CODE(Finish(c.lease, Outcome::Succeeded("{not json")), ErrorCode::kInvalidArgument);
  std::string huge = "\"" + std::string(ContractLimits().max_payload_bytes, 'r') + "\"";
  EXPECT_CODE(Finish(c.lease, Outcome::Succeeded(huge)), ErrorCode::kPayloadTooLarge);
  Outcome negative = Outcome::Failed("x", "y");
  negative.retry_delay = Duration(-1);
  EXPECT_CODE(Finish(c.lease, negative), ErrorCode::kInvalidArgument);
  EXPECT_EQ(DescribeAll(), before);
  EXPECT_OK(Finish(c.lease, Outcome::Succeeded()));  // the lease is still good
  EXPECT_EQ(Get(id).state, JobState::kSucceeded);
}

// A result nested deeper than a default JSON parser allows (32) but within
// what the store accepts elsewhere is either kept or refused cleanly - never
// a crash or a half-finished job.
TEST_P(StoreContract, DeeplyNestedResultIsKeptOrRefusedCleanly) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  std::string before = DescribeAll();
  std::string deep = "{\"r\":" + std::string(40, '[') + std::string(40, ']') + "}";
  auto r = Finish(c.lease, Outcome::Succeeded(deep));
  if (r.ok()) {
    ExpectTerminalWithFinal(id, JobState::kSucceeded);
  } else {
    EXPECT_CODE(r, ErrorCode::kInvalidArgument);
    EXPECT_EQ(DescribeAll(), before);
    EXPECT_OK(Finish(c.lease, Outcome::Succeeded()));
  }
}

TEST_P(StoreContract, InvalidQueueUpdateChangesNothing) {
  Enqueue();
  QueueUpdateParams bad_name;
  bad_name.now = now_;
  bad_name.name = "no spaces allowed";
  bad_name.paused = true;
  EXPECT_CODE(store().QueueUpdate(bad_name), ErrorCode::kInvalidArgument);
  QueueUpdateParams negative;
  negative.now = now_;
  negative.name = "default";
  negative.max_concurrent = std::optional<int>(-1);
  negative.paused = true;
  EXPECT_CODE(store().QueueUpdate(negative), ErrorCode::kInvalidArgument);
  EXPECT_EQ(Claim({"default"}, 10).size(), 1u) << "the queue was paused or capped anyway";
}

TEST_P(StoreContract, InvalidReadsAreRejected) {
  JobId id = Enqueue();
  ListParams zero;
  zero.limit = 0;
  EXPECT_CODE(store().JobsList(zero), ErrorCode::kInvalidArgument);
  ListParams bad_queue;
  bad_queue.queue = "a b";
  EXPECT_CODE(store().JobsList(bad_queue), ErrorCode::kInvalidArgument);
  EXPECT_CODE(store().TapeRead({id, 0, 0}), ErrorCode::kInvalidArgument);
  EXPECT_CODE(store().TapeRead({id, -1, 10}), ErrorCode::kInvalidArgument);
}

TEST_P(StoreContract, UnknownJobIsNotFoundForGetAndCancel) {
  Enqueue();
  std::string before = DescribeAll();
  EXPECT_CODE(store().JobGet(424242), ErrorCode::kNotFound);
  EXPECT_CODE(Cancel(424242), ErrorCode::kNotFound);
  EXPECT_EQ(DescribeAll(), before);
}

}  // namespace
}  // namespace jobtape::store::testing
