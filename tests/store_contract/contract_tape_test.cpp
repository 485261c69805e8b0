// Contract, R1 (tape order): seq runs 1..n without gaps; a terminal job's tape
// ends with exactly one `final`; nothing is appended after it (no late
// progress, heartbeat or second finish); the terminal state and `final`
// commit together, so no read ever sees one without the other.
#include <atomic>
#include <thread>

#include "contract_fixture.hpp"

namespace jobtape::store::testing {
namespace {

using ET = EventType;

TEST_P(StoreContract, TapeSeqIsGaplessFromOne) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  auto a1 = AppendProgress(c.lease, 10);
  ASSERT_OK(a1);
  EXPECT_EQ(a1->last_seq, 3);  // created, started, progress
  auto a2 = Append(c.lease, {{ET::kLog, R"({"line":"a"})"}, {ET::kLog, R"({"line":"b"})"}});
  ASSERT_OK(a2);
  EXPECT_EQ(a2->last_seq, 5);
  auto f = Finish(c.lease, Outcome::Succeeded(R"({"ok":true})"));
  ASSERT_OK(f);
  EXPECT_EQ(f->last_seq, 6);

  std::vector<Event> tape = Tape(id);
  ASSERT_EQ(tape.size(), 6u);
  for (std::size_t i = 0; i < tape.size(); ++i)
    EXPECT_EQ(tape[i].seq, static_cast<Seq>(i + 1));
  EXPECT_EQ(TapeTypes(id), (std::vector<ET>{ET::kCreated, ET::kStarted, ET::kProgress, ET::kLog,
                                            ET::kLog, ET::kFinal}));
  EXPECT_EQ(Get(id).last_seq, 6);
  ExpectAllTapesSound();
}

TEST_P(StoreContract, EventsCarryTheirAttempt) {
  JobId id = Enqueue();
  ClaimedJob c1 = ClaimOne();
  ASSERT_OK(AppendProgress(c1.lease, 1));
  ASSERT_OK(Finish(c1.lease, Outcome::Failed("boom", "first try")));
  Advance(std::chrono::minutes(1));
  ClaimedJob c2 = ClaimOne();
  ASSERT_OK(AppendProgress(c2.lease, 2));

  std::vector<Event> tape = Tape(id);
  ASSERT_EQ(tape.size(), 6u);
  EXPECT_EQ(tape[0].attempt, 0);  // created
  EXPECT_EQ(tape[1].attempt, 1);  // started
  EXPECT_EQ(tape[2].attempt, 1);  // progress
  EXPECT_EQ(tape[3].attempt, 1);  // attempt_failed
  EXPECT_EQ(tape[4].attempt, 2);  // started
  EXPECT_EQ(tape[5].attempt, 2);  // progress
  EXPECT_EQ(tape[1].at, kStart);
  EXPECT_EQ(tape[4].at, now_);
}

TEST_P(StoreContract, TerminalTapeEndsWithExactlyOneFinal) {
  struct Case {
    Outcome outcome;
    JobState state;
  };
  for (const Case& c : {Case{Outcome::Succeeded(R"({"n":1})"), JobState::kSucceeded},
                        Case{Outcome::Failed("fatal", "no", false), JobState::kFailed},
                        Case{Outcome::Cancelled(), JobState::kCancelled}}) {
    JobId id = Enqueue();
    ClaimedJob claimed = ClaimOne();
    auto f = Finish(claimed.lease, c.outcome);
    ASSERT_OK(f);
    EXPECT_EQ(f->state, c.state);
    EXPECT_FALSE(f->retry_at.has_value());
    std::vector<Event> tape = Tape(id);
    ASSERT_FALSE(tape.empty());
    EXPECT_EQ(tape.back().type, ET::kFinal);
    EXPECT_EQ(CountOf(TapeTypes(id), ET::kFinal), 1u);
    EXPECT_EQ(EventDataField(tape.back(), "state"), JobStateName(c.state));
    Job job = Get(id);
    EXPECT_EQ(job.state, c.state);
    EXPECT_TRUE(job.finished_at.has_value());
    EXPECT_FALSE(job.lease_expires_at.has_value());
  }
  ExpectAllTapesSound();
}

TEST_P(StoreContract, SucceededJobKeepsItsResult) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  ASSERT_OK(Finish(c.lease, Outcome::Succeeded(R"({"answer":42})")));
  EXPECT_NE(Get(id).result.find("42"), std::string::npos) << Get(id).result;
}

TEST_P(StoreContract, AppendAfterFinalIsRefused) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  ASSERT_OK(Finish(c.lease, Outcome::Succeeded()));
  std::string before = DescribeAll();

  Advance(std::chrono::seconds(1));
  EXPECT_CODE(AppendProgress(c.lease, 99), ErrorCode::kStaleLease);
  EXPECT_CODE(Append(c.lease, {{ET::kLog, R"({"line":"late"})"}}), ErrorCode::kStaleLease);

  EXPECT_EQ(DescribeAll(), before);
  EXPECT_EQ(TapeTypes(id).back(), ET::kFinal);
}

TEST_P(StoreContract, HeartbeatAfterFinishIsStale) {
  Enqueue();
  ClaimedJob c = ClaimOne();
  ASSERT_OK(Finish(c.lease, Outcome::Succeeded()));
  std::string before = DescribeAll();
  Advance(std::chrono::seconds(1));
  EXPECT_CODE(Heartbeat(c.lease), ErrorCode::kStaleLease);
  EXPECT_EQ(DescribeAll(), before);
}

TEST_P(StoreContract, SecondFinishIsStale) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  ASSERT_OK(Finish(c.lease, Outcome::Succeeded()));
  std::string before = DescribeAll();

  Advance(std::chrono::seconds(1));
  EXPECT_CODE(Finish(c.lease, Outcome::Succeeded()), ErrorCode::kStaleLease);
  EXPECT_CODE(Finish(c.lease, Outcome::Failed("late", "late failure")), ErrorCode::kStaleLease);
  EXPECT_CODE(Finish(c.lease, Outcome::Cancelled()), ErrorCode::kStaleLease);

  EXPECT_EQ(DescribeAll(), before);
  EXPECT_EQ(Get(id).state, JobState::kSucceeded);
  EXPECT_EQ(CountOf(TapeTypes(id), ET::kFinal), 1u);
}

TEST_P(StoreContract, WorkerCannotAppendStoreEventTypes) {
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  std::string before = DescribeAll();
  for (ET type :
       {ET::kCreated, ET::kStarted, ET::kAttemptFailed, ET::kCancelRequested, ET::kFinal}) {
    EXPECT_CODE(Append(c.lease, {{type, "{}"}}), ErrorCode::kInvalidArgument)
        << EventTypeName(type);
    // Mixed with a valid event: the whole append is refused.
    EXPECT_CODE(Append(c.lease, {{ET::kProgress, "{}"}, {type, "{}"}}), ErrorCode::kInvalidArgument)
        << EventTypeName(type);
  }
  EXPECT_EQ(DescribeAll(), before);
  EXPECT_EQ(Get(id).state, JobState::kRunning);
}

TEST_P(StoreContract, ConcurrentAppendsOnOneLeaseStayGapless) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  JobId id = Enqueue();
  ClaimedJob c = ClaimOne();
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string data = "{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
        if (!store().TapeAppend({now_, c.lease, {{ET::kLog, data}}}).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);

  std::vector<Event> tape = Tape(id);
  ASSERT_EQ(tape.size(), 2u + kThreads * kPerThread);
  int next_i[kThreads] = {};
  for (std::size_t k = 0; k < tape.size(); ++k) {
    EXPECT_EQ(tape[k].seq, static_cast<Seq>(k + 1));
    if (tape[k].type != ET::kLog) continue;
    int t = std::stoi(EventDataField(tape[k], "t"));
    int i = std::stoi(EventDataField(tape[k], "i"));
    ASSERT_TRUE(t >= 0 && t < kThreads);
    EXPECT_EQ(i, next_i[t]) << "thread " << t << "'s appends out of order";
    next_i[t] = i + 1;
  }
  ExpectAllTapesSound();
}

// A reader racing the finishes never sees a terminal state without its final
// or a final on a live job: TapeRead returns state and events from one
// snapshot, and the finish commits both together.
TEST_P(StoreContract, FinalIsPresentIffTerminalInEveryRead) {
  constexpr int kJobs = 20;  // ContractLimits().max_batch
  std::vector<JobSpec> specs(kJobs, Spec());
  std::vector<JobId> ids = EnqueueBatch(specs);
  ASSERT_EQ(ids.size(), static_cast<std::size_t>(kJobs));
  std::vector<ClaimedJob> claimed = Claim({"default"}, kJobs);
  ASSERT_EQ(claimed.size(), static_cast<std::size_t>(kJobs));

  std::atomic<bool> reader_started{false};
  std::atomic<bool> writer_done{false};
  std::atomic<int> torn{0};
  std::atomic<int> terminal_reads{0};
  std::thread reader([&] {
    bool last_pass = false;
    while (!last_pass) {
      last_pass = writer_done.load();
      for (JobId id : ids) {
        auto page = store().TapeRead({id, 0, 1000});
        if (!page.ok() || page->events.empty()) {
          ++torn;
          continue;
        }
        bool has_final = page->events.back().type == ET::kFinal;
        if (IsTerminal(page->state) != has_final) ++torn;
        if (page->last_seq != page->events.back().seq) ++torn;
        if (has_final) ++terminal_reads;
      }
      if (!reader_started.exchange(true)) reader_started.notify_all();
    }
  });
  reader_started.wait(false);
  for (int i = 0; i < kJobs; ++i) {
    Outcome o = i % 3 == 0   ? Outcome::Succeeded()
                : i % 3 == 1 ? Outcome::Failed("fatal", "x", false)
                             : Outcome::Cancelled();
    EXPECT_OK(Finish(claimed[i].lease, o));  // not ASSERT: the reader must be joined
  }
  writer_done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GE(terminal_reads.load(), kJobs);  // the last pass saw every job terminal
  ExpectAllTapesSound();
}

}  // namespace
}  // namespace jobtape::store::testing
