// Durability: an acknowledged enqueue survives kill -9 (DESIGN: "once POST
// /v1/jobs returns 2xx, the job survives kill -9"). The test re-executes its
// own binary as a child that enqueues from several threads into an SQLite
// file and writes each acknowledged id into a pipe; the parent SIGKILLs it
// mid-stream, reopens the file and finds every acknowledged job with its
// `created` event - and no job that is half written.
//
// The child is the DISABLED_ test below, run with
// --gtest_also_run_disabled_tests and JOBTAPE_DURABILITY_CHILD=<db path>;
// it writes 8-byte ids (atomic pipe writes) to fd 3.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "crash_child.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace jobtape::store::testing {
namespace {

constexpr const char* kChildEnv = "JOBTAPE_DURABILITY_CHILD";
constexpr int kChildThreads = 4;
constexpr std::size_t kKillAfterAcks = 2000;

Result<std::unique_ptr<Store>> OpenAt(const std::string& path) {
  sqlite::Options options;
  options.path = path;
  options.durability = sqlite::Durability::kFull;
  return sqlite::Open(options);
}

// The child: enqueue forever (singles and small batches), acknowledging each
// id only after its enqueue returned. Ends by SIGKILL (or EPIPE).
TEST(StoreDurabilityChild, DISABLED_EnqueueAndAcknowledgeUntilKilled) {
  const char* path = std::getenv(kChildEnv);
  if (path == nullptr) GTEST_SKIP() << "only run as the durability test's child";
  auto store = OpenAt(path);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ::signal(SIGPIPE, SIG_IGN);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kChildThreads; ++t) {
    threads.emplace_back([&, t] {
      TimePoint now = FromMicros(1'700'000'000'000'000);
      for (int i = 0; !stop.load(); ++i) {
        EnqueueParams p{now, {}};
        int batch = t % 2 == 0 ? 1 : 1 + i % 5;
        for (int b = 0; b < batch; ++b) {
          JobSpec spec;
          spec.kind = "durable.work";
          spec.payload = "{\"t\":" + std::to_string(t) + ",\"i\":" + std::to_string(i) + "}";
          p.jobs.push_back(std::move(spec));
        }
        auto r = (*store)->JobsEnqueue(std::move(p));
        if (!r.ok()) {
          std::fprintf(stderr, "child enqueue failed: %s\n", r.status().ToString().c_str());
          std::_Exit(2);
        }
        for (const auto& j : r->jobs) {
          if (!WriteAck(j.id)) {
            stop = true;  // the parent went away
            break;
          }
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();
  std::_Exit(0);
}

TEST(StoreDurability, AcknowledgedEnqueuesSurviveKill9) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string db = dir.path() + "/durable.db";

  std::vector<int64_t> acked;
  CrashChildRun run;
  ASSERT_NO_FATAL_FAILURE(
      RunCrashChild({.test = "StoreDurabilityChild.DISABLED_EnqueueAndAcknowledgeUntilKilled",
                     .drop_env_prefix = kChildEnv,
                     .env = {std::string(kChildEnv) + "=" + db},
                     .kill_after_acks = kKillAfterAcks},
                    &acked, &run));
  int status = run.wait_status;
  ASSERT_TRUE(run.killed_by_parent)
      << "child ended after " << acked.size() << " acks; exit status " << status;
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  // Every id the pipe carried was acknowledged before the kill, also those
  // read after it (they were already in the pipe).
  EXPECT_GE(acked.size(), kKillAfterAcks);
  EXPECT_EQ(std::set<int64_t>(acked.begin(), acked.end()).size(), acked.size())
      << "an id was acknowledged twice";

  auto reopened = OpenAt(db);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  Store& store = **reopened;
  std::size_t missing = 0;
  for (int64_t acked_id : acked) {
    auto job = store.JobGet(acked_id);
    if (!job.ok()) {
      if (++missing <= 10)
        ADD_FAILURE() << "acknowledged job " << acked_id << " lost: " << job.status().ToString();
      continue;
    }
    auto tape = store.TapeRead({acked_id, 0, 10});
    ASSERT_TRUE(tape.ok()) << tape.status().ToString();
    ASSERT_FALSE(tape->events.empty()) << "job " << acked_id << " has no created event";
    EXPECT_EQ(tape->events[0].type, EventType::kCreated);
    EXPECT_EQ(tape->events[0].seq, 1);
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged jobs";

  // Nothing half-written either: every job that exists has its created event.
  std::optional<JobId> cursor;
  std::size_t total = 0;
  for (;;) {
    ListParams lp;
    lp.limit = 1000;
    lp.cursor = cursor;
    auto page = store.JobsList(lp);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const Job& job : page->jobs) {
      ++total;
      EXPECT_EQ(job.state, JobState::kQueued);
      EXPECT_EQ(job.last_seq, 1) << "job " << job.id;
      auto tape = store.TapeRead({job.id, 0, 10});
      ASSERT_TRUE(tape.ok()) << tape.status().ToString();
      ASSERT_EQ(tape->events.size(), 1u) << "job " << job.id;
      EXPECT_EQ(tape->events[0].type, EventType::kCreated);
    }
    if (!page->next_cursor || page->jobs.empty()) break;
    cursor = page->next_cursor;
  }
  EXPECT_GE(total, acked.size());
  std::printf("durability: %zu acknowledged before kill -9, %zu jobs after reopening\n",
              acked.size(), total);
}

}  // namespace
}  // namespace jobtape::store::testing
