// Crash safety of cron fires: a fire's job, the schedule's last_fire_at and
// its next_fire_at commit in one transaction, so killing the process at any
// moment neither loses a fire nor fires one twice.
//
// The test re-executes its own binary as a child (the DISABLED_ test below,
// run with --gtest_also_run_disabled_tests and JOBTAPE_SCHEDULE_CRASH_CHILD=
// <db path>) that fires the schedules minute after virtual minute, writing
// each acknowledged fire to fd 3. Most rounds kill the child deterministically
// from SqliteStore's test hook, between deciding a fire and committing it
// (JOBTAPE_SCHEDULE_CRASH_KILL_AT=<call>); one round is killed by the parent
// mid-stream instead. Each round resumes where the committed state says the
// last one stopped. Finally the parent fires up to the end and checks that
// every fire time of every schedule has exactly one job.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "crash_child.hpp"
#include "store/cron.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "temp_dir.hpp"

namespace jobtape::store::testing {
namespace {

constexpr const char* kChildEnv = "JOBTAPE_SCHEDULE_CRASH_CHILD";
constexpr const char* kKillAtEnv = "JOBTAPE_SCHEDULE_CRASH_KILL_AT";
constexpr int64_t kDuplicateAck = -1;

const TimePoint kBegin = FromMicros(1'700'000'000'000'000);  // 2023-11-14T22:13:20Z
const TimePoint kEnd = kBegin + std::chrono::hours(2);

struct Def {
  const char* name;
  const char* cron;
  MisfirePolicy misfire;
};
constexpr Def kDefs[] = {
    {"every", "* * * * *", MisfirePolicy::kSkip},
    {"even", "*/2 * * * *", MisfirePolicy::kRunOnce},
    {"third", "*/3 * * * *", MisfirePolicy::kSkip},
};

Result<std::unique_ptr<Store>> OpenAt(const std::string& path, int kill_at = 0) {
  sqlite::Options options;
  options.path = path;
  options.durability = sqlite::Durability::kFull;
  if (kill_at > 0) {
    options.test_before_fire_commit =
        [kill_at, calls = std::make_shared<int>(0)](const SchedulesFireDueResult& r) {
          // Inside the transaction, after the fires were written: die uncommitted.
          if (!r.fired.empty() && ++*calls == kill_at) ::raise(SIGKILL);
        };
  }
  return sqlite::Open(options);
}

// Where the committed state says firing should resume: the earliest next fire.
Result<TimePoint> ResumeAt(Store& store) {
  auto list = store.SchedulesList({});
  if (!list.ok()) return list.status();
  std::optional<TimePoint> earliest;
  for (const Schedule& s : list->schedules) {
    if (s.next_fire_at && (!earliest || *s.next_fire_at < *earliest)) earliest = s.next_fire_at;
  }
  if (!earliest) return Status::Internal("no schedule has a next fire");
  return *earliest;
}

// Fires minute by minute from ResumeAt() through kEnd; calls on_fire for each fire.
Status FireThrough(Store& store, const std::function<bool(const FiredSchedule&)>& on_fire) {
  auto start = ResumeAt(store);
  if (!start.ok()) return start.status();
  for (TimePoint now = *start; now <= kEnd; now += std::chrono::minutes(1)) {
    auto r = store.SchedulesFireDue({.now = now});
    if (!r.ok()) return r.status();
    for (const FiredSchedule& f : r->fired) {
      if (!on_fire(f)) return Status::Ok();
    }
  }
  return Status::Ok();
}

TEST(ScheduleCrashChild, DISABLED_FireUntilKilled) {
  const char* path = std::getenv(kChildEnv);
  if (path == nullptr) GTEST_SKIP() << "only run as the schedule crash test's child";
  const char* kill_at = std::getenv(kKillAtEnv);
  auto store = OpenAt(path, kill_at ? std::atoi(kill_at) : 0);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ::signal(SIGPIPE, SIG_IGN);
  Status s = FireThrough(**store, [](const FiredSchedule& f) {
    return WriteAck(f.duplicate ? kDuplicateAck : ToMicros(f.fire_at));
  });
  if (!s.ok()) {
    std::fprintf(stderr, "child: %s\n", s.ToString().c_str());
    std::_Exit(2);
  }
  std::_Exit(0);
}

// Runs one child round; kill_at 0 = the parent kills after `kill_after_acks`.
void RunChild(const std::string& db, int kill_at, std::size_t kill_after_acks,
              std::vector<int64_t>* acks) {
  CrashChildRun run;
  ASSERT_NO_FATAL_FAILURE(
      RunCrashChild({.test = "ScheduleCrashChild.DISABLED_FireUntilKilled",
                     .drop_env_prefix = "JOBTAPE_SCHEDULE_CRASH_",
                     .env = {std::string(kChildEnv) + "=" + db,
                             std::string(kKillAtEnv) + "=" + std::to_string(kill_at)},
                     .kill_after_acks = kill_at == 0 ? kill_after_acks : 0},
                    acks, &run));
  int status = run.wait_status;
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the child was to die by SIGKILL; status " << status;
}

TEST(ScheduleCrash, EveryFireHasExactlyOneJobAcrossKill9) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string db = dir.path() + "/schedules.db";
  {
    auto store = OpenAt(db);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    for (const Def& d : kDefs) {
      ScheduleSpec spec;
      spec.name = d.name;
      spec.cron = d.cron;
      spec.misfire = d.misfire;
      spec.job.kind = "cron.tick";
      auto r = (*store)->ScheduleUpsert({kBegin, spec});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
  }

  std::vector<int64_t> acks;
  // Killed by the hook inside the transaction of its 3rd, 1st, 7th call; once
  // by the parent after 20 acknowledged fires.
  for (int kill_at : {3, 1, 0, 7}) {
    SCOPED_TRACE("kill_at " + std::to_string(kill_at));
    RunChild(db, kill_at, 20, &acks);
    if (::testing::Test::HasFatalFailure()) return;
  }
  for (int64_t ack : acks)
    ASSERT_NE(ack, kDuplicateAck) << "a child fired a fire that had already committed";
  EXPECT_GE(acks.size(), 20u);

  auto store = OpenAt(db);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  int duplicates = 0;
  Status s = FireThrough(**store, [&](const FiredSchedule& f) {
    duplicates += f.duplicate;
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(duplicates, 0);

  // What exists: fire times per schedule, from each job's idempotency key.
  std::map<std::string, std::multiset<TimePoint>> jobs;
  std::optional<JobId> cursor;
  for (;;) {
    auto page = (*store)->JobsList({.limit = 1000, .cursor = cursor});
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const Job& job : page->jobs) {
      const std::string& key = job.spec.idempotency_key;  // schedule:<name>:<µs>
      std::size_t colon = key.rfind(':');
      ASSERT_NE(colon, std::string::npos) << key;
      jobs[key.substr(9, colon - 9)].insert(FromMicros(std::stoll(key.substr(colon + 1))));
    }
    if (!page->next_cursor) break;
    cursor = page->next_cursor;
  }
  // What should: every fire of each expression after the upsert, through kEnd.
  std::size_t total = 0;
  for (const Def& d : kDefs) {
    SCOPED_TRACE(d.name);
    auto expr = ParseCron(d.cron);
    ASSERT_TRUE(expr.ok());
    std::multiset<TimePoint> expected;
    for (auto t = NextFire(*expr, "UTC", kBegin); t.ok() && *t && **t <= kEnd;
         t = NextFire(*expr, "UTC", **t)) {
      expected.insert(**t);
    }
    EXPECT_EQ(jobs[d.name], expected);
    total += expected.size();
  }
  EXPECT_EQ(jobs.size(), std::size(kDefs));
  std::printf("schedule crash: %zu fires acknowledged by killed children, %zu jobs in all\n",
              acks.size(), total);
}

}  // namespace
}  // namespace jobtape::store::testing
