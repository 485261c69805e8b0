// The StoreContract fixture's helpers and the suite's one instantiation: every
// TEST_P(StoreContract, ...) in this binary runs once per registered store.
#include "contract_fixture.hpp"

#include <algorithm>
#include <sstream>

namespace jobtape::store::testing {

Limits ContractLimits() {
  Limits limits;
  limits.max_payload_bytes = 4096;
  limits.max_event_bytes = 1024;
  limits.max_batch = 20;
  limits.max_batch_members = 300;
  limits.max_events_per_append = 10;
  limits.max_claim = 50;
  limits.max_read_page_bytes = 16 * 1024;
  return limits;
}

void StoreContract::SetUp() {
  dir_ = std::make_unique<TempDir>();
  ASSERT_FALSE(dir_->path().empty()) << "mkdtemp failed";
  store_ = GetParam().make(dir_->path(), ContractLimits());
  ASSERT_NE(store_, nullptr) << "store '" << GetParam().name << "' did not open";
}

void StoreContract::TearDown() {
  store_.reset();  // close before the files go
  dir_.reset();
}

JobSpec StoreContract::Spec(std::string queue) {
  JobSpec spec;
  spec.kind = "test.work";
  spec.queue = std::move(queue);
  spec.payload = "{}";
  spec.max_attempts = 3;
  spec.backoff.initial = std::chrono::seconds(5);
  spec.backoff.max = std::chrono::hours(1);
  spec.backoff.multiplier = 2.0;
  spec.backoff.jitter = 0.0;
  return spec;
}

JobId StoreContract::Enqueue(JobSpec spec) {
  auto ids = EnqueueBatch({std::move(spec)});
  return ids.empty() ? 0 : ids.front();
}

std::vector<JobId> StoreContract::EnqueueBatch(std::vector<JobSpec> specs) {
  std::size_t n = specs.size();
  auto r = store_->JobsEnqueue({now_, std::move(specs)});
  if (!r.ok()) {
    ADD_FAILURE() << "JobsEnqueue: " << r.status().ToString();
    return {};
  }
  EXPECT_EQ(r->jobs.size(), n);
  std::vector<JobId> ids;
  for (const auto& j : r->jobs)
    ids.push_back(j.id);
  return ids;
}

ClaimParams StoreContract::ClaimAt(std::vector<std::string> queues, int max) const {
  ClaimParams p;
  p.now = now_;
  p.worker_id = "worker-1";
  p.queues = std::move(queues);
  p.max = max;
  p.lease_ttl = kLeaseTtl;
  return p;
}

std::vector<ClaimedJob> StoreContract::Claim(std::vector<std::string> queues, int max) {
  return Claim(ClaimAt(std::move(queues), max));
}

std::vector<ClaimedJob> StoreContract::Claim(ClaimParams p) {
  auto r = store_->JobsClaim(std::move(p));
  if (!r.ok()) {
    ADD_FAILURE() << "JobsClaim: " << r.status().ToString();
    return {};
  }
  return std::move(r->jobs);
}

ClaimedJob StoreContract::ClaimOne(std::string queue, std::string node_id) {
  ClaimParams p = ClaimAt({std::move(queue)}, 1);
  p.node_id = std::move(node_id);
  auto jobs = Claim(std::move(p));
  if (jobs.size() != 1) {
    ADD_FAILURE() << "expected to claim one job, got " << jobs.size();
    return {};
  }
  EXPECT_EQ(jobs[0].job.state, JobState::kRunning);
  EXPECT_EQ(jobs[0].lease.job_id, jobs[0].job.id);
  EXPECT_EQ(jobs[0].lease.attempt, jobs[0].job.attempt);
  return jobs[0];
}

Result<HeartbeatResult> StoreContract::Heartbeat(const Lease& lease, Duration ttl) {
  return store_->LeaseHeartbeat({now_, lease, ttl});
}

Result<AppendResult> StoreContract::Append(const Lease& lease, std::vector<NewEvent> events) {
  return store_->TapeAppend({now_, lease, std::move(events)});
}

Result<AppendResult> StoreContract::AppendProgress(const Lease& lease, int percent) {
  return Append(lease, {{EventType::kProgress, "{\"percent\":" + std::to_string(percent) + "}"}});
}

Result<FinishResult> StoreContract::Finish(const Lease& lease, Outcome outcome) {
  return store_->JobFinish({now_, lease, std::move(outcome)});
}

Result<CancelResult> StoreContract::Cancel(JobId id, Duration grace) {
  CancelParams p;
  p.now = now_;
  p.id = id;
  p.grace = grace;
  p.reason = "test";
  return store_->JobCancel(std::move(p));
}

Result<ReapResult> StoreContract::Reap(int limit) {
  return store_->LeasesReapExpired({now_, limit});
}

Job StoreContract::Get(JobId id) {
  auto r = store_->JobGet(id);
  if (!r.ok()) {
    ADD_FAILURE() << "JobGet(" << id << "): " << r.status().ToString();
    return {};
  }
  return std::move(r).value();
}

std::vector<Event> StoreContract::Tape(JobId id) {
  std::vector<Event> out;
  Seq after = 0;
  for (int page = 0; page < 1000; ++page) {
    auto r = store_->TapeRead({id, after, 1000});
    if (!r.ok()) {
      ADD_FAILURE() << "TapeRead(" << id << "): " << r.status().ToString();
      return out;
    }
    if (r->events.empty()) return out;
    after = r->events.back().seq;
    for (auto& e : r->events)
      out.push_back(std::move(e));
  }
  ADD_FAILURE() << "tape of job " << id << " never ended";
  return out;
}

std::vector<EventType> StoreContract::TapeTypes(JobId id) {
  std::vector<EventType> types;
  for (const Event& e : Tape(id))
    types.push_back(e.type);
  return types;
}

std::vector<Job> StoreContract::ListAll(ListParams filter) {
  std::vector<Job> out;
  filter.limit = 1000;
  filter.cursor.reset();
  for (int page = 0; page < 1000; ++page) {
    auto r = store_->JobsList(filter);
    if (!r.ok()) {
      ADD_FAILURE() << "JobsList: " << r.status().ToString();
      return out;
    }
    for (auto& j : r->jobs)
      out.push_back(std::move(j));
    if (!r->next_cursor || r->jobs.empty()) return out;
    filter.cursor = r->next_cursor;
  }
  ADD_FAILURE() << "JobsList never ended";
  return out;
}

std::size_t StoreContract::RunningWithKey(const std::string& key) {
  ListParams running;
  running.state = JobState::kRunning;
  std::size_t n = 0;
  for (const Job& j : ListAll(running))
    n += j.spec.concurrency_key == key ? 1 : 0;
  return n;
}

std::string StoreContract::DescribeAll() {
  std::ostringstream os;
  std::vector<Job> jobs = ListAll();
  std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) { return a.id < b.id; });
  for (const Job& j : jobs) {
    os << "job " << j.id << " " << JobStateName(j.state) << " attempt=" << j.attempt
       << " last_seq=" << j.last_seq << " cancel_requested=" << j.cancel_requested
       << " run_at=" << ToMicros(j.run_at)
       << " lease=" << (j.lease_expires_at ? ToMicros(*j.lease_expires_at) : -1)
       << " finished=" << (j.finished_at ? ToMicros(*j.finished_at) : -1)
       << " worker=" << j.worker_id << " error=" << j.error << " result=" << j.result << "\n";
    for (const Event& e : Tape(j.id)) {
      os << "  " << e.seq << " " << EventTypeName(e.type) << " a" << e.attempt << " @"
         << ToMicros(e.at) << " " << e.data << "\n";
    }
  }
  return os.str();
}

void StoreContract::ExpectTerminalWithFinal(JobId id, JobState state) {
  Job job = Get(id);
  EXPECT_EQ(job.state, state) << "job " << id;
  EXPECT_TRUE(job.finished_at.has_value()) << "job " << id;
  EXPECT_FALSE(job.lease_expires_at.has_value()) << "job " << id;
  std::vector<Event> tape = Tape(id);
  ASSERT_FALSE(tape.empty());
  EXPECT_EQ(tape.back().type, EventType::kFinal) << "job " << id;
  EXPECT_EQ(EventDataField(tape.back(), "state"), JobStateName(state)) << "job " << id;
  ExpectAllTapesSound();
}

void StoreContract::ExpectAllTapesSound() {
  for (const Job& j : ListAll()) {
    for (const std::string& v : TapeViolations(j, Tape(j.id)))
      ADD_FAILURE() << v;
  }
}

std::size_t CountOf(const std::vector<EventType>& types, EventType type) {
  return static_cast<std::size_t>(std::count(types.begin(), types.end(), type));
}

INSTANTIATE_TEST_SUITE_P(Stores, StoreContract, ::testing::ValuesIn(StoreFactories()), FactoryName);

}  // namespace jobtape::store::testing
