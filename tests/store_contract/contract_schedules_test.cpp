// Contract: cron schedules. Upsert/get/list/delete; invalid input writes
// nothing (R9); SchedulesFireDue enqueues exactly one job per fire from the
// template (tagged and keyed with the schedule's name and fire time) and
// advances next_fire_at in the same call; paused and not-yet-due schedules
// fire nothing; the misfire policies after a long gap; concurrent callers
// fire each fire once. Time is virtual: every call passes its `now`.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include "contract_fixture.hpp"

namespace jobtape::store::testing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

TimePoint Unix(int64_t s) {
  return FromMicros(s * 1'000'000);
}
// kStart is 2023-11-14T22:13:20Z (unix 1'700'000'000).
const TimePoint k2214 = Unix(1'700'000'040);      // the next whole minute
const TimePoint k2215 = Unix(1'700'000'100);      // the next */5
const TimePoint k2300 = Unix(1'700'002'800);      // the next whole hour
const TimePoint kMidnight = Unix(1'700'006'400);  // 2023-11-15T00:00:00Z

ScheduleSpec Sched(std::string name, std::string cron,
                   MisfirePolicy misfire = MisfirePolicy::kSkip) {
  ScheduleSpec s;
  s.name = std::move(name);
  s.cron = std::move(cron);
  s.timezone = "UTC";
  s.job = StoreContract::Spec("cron");
  s.job.payload = R"({"report": "daily",  "n": [1, 2]})";  // kept byte for byte
  s.misfire = misfire;
  return s;
}

class Schedules : public StoreContract {
 protected:
  Result<ScheduleUpsertResult> Upsert(ScheduleSpec spec) {
    return store().ScheduleUpsert({now_, std::move(spec)});
  }
  SchedulesFireDueResult FireDue(TimePoint now, int limit = 100) {
    auto r = store().SchedulesFireDue({.now = now, .limit = limit});
    if (!r.ok()) {
      ADD_FAILURE() << "SchedulesFireDue: " << r.status().ToString();
      return {};
    }
    return std::move(*r);
  }
  Schedule GetSchedule(const std::string& name) {
    auto r = store().ScheduleGet(name);
    if (!r.ok()) {
      ADD_FAILURE() << "ScheduleGet(" << name << "): " << r.status().ToString();
      return {};
    }
    return std::move(*r);
  }
  // Every job the schedule `name` enqueued, by the fire time in its key.
  std::map<TimePoint, Job> JobsOf(const std::string& name) {
    std::map<TimePoint, Job> out;
    const std::string prefix = "schedule:" + name + ":";
    for (Job& job : ListAll()) {
      const std::string& key = job.spec.idempotency_key;
      if (key.rfind(prefix, 0) != 0) continue;
      TimePoint fire = FromMicros(std::stoll(key.substr(prefix.size())));
      EXPECT_TRUE(out.emplace(fire, job).second) << "two jobs for one fire of " << name;
    }
    return out;
  }
};

// The suite's instantiation is per store, like StoreContract's.
INSTANTIATE_TEST_SUITE_P(Stores, Schedules, ::testing::ValuesIn(StoreFactories()), FactoryName);

TEST_P(Schedules, UpsertGetListDelete) {
  ScheduleSpec spec = Sched("nightly", "@daily");
  spec.timezone = "UTC";
  spec.job.priority = 7;
  spec.job.max_attempts = 5;
  spec.job.timeout = seconds(90);
  spec.job.concurrency_key = "reports";
  spec.job.concurrency_limit = 2;
  spec.job.tags = {"ops"};
  spec.misfire = MisfirePolicy::kRunOnce;
  auto up = Upsert(spec);
  ASSERT_OK(up);
  EXPECT_TRUE(up->created);
  EXPECT_EQ(up->schedule.next_fire_at, kMidnight);
  EXPECT_FALSE(up->schedule.last_fire_at.has_value());

  Schedule got = GetSchedule("nightly");
  EXPECT_EQ(got.spec.name, "nightly");
  EXPECT_EQ(got.spec.cron, "@daily");
  EXPECT_EQ(got.spec.timezone, "UTC");
  EXPECT_EQ(got.spec.misfire, MisfirePolicy::kRunOnce);
  EXPECT_FALSE(got.spec.paused);
  EXPECT_EQ(got.next_fire_at, kMidnight);
  EXPECT_EQ(got.created_at, now_);
  EXPECT_EQ(got.updated_at, now_);
  const JobSpec& job = got.spec.job;
  EXPECT_EQ(job.kind, "test.work");
  EXPECT_EQ(job.queue, "cron");
  EXPECT_EQ(job.payload, spec.job.payload);
  EXPECT_EQ(job.priority, 7);
  EXPECT_EQ(job.max_attempts, 5);
  EXPECT_EQ(job.timeout, spec.job.timeout);
  EXPECT_EQ(job.backoff.initial, spec.job.backoff.initial);
  EXPECT_EQ(job.backoff.max, spec.job.backoff.max);
  EXPECT_EQ(job.backoff.multiplier, spec.job.backoff.multiplier);
  EXPECT_EQ(job.backoff.jitter, spec.job.backoff.jitter);
  EXPECT_EQ(job.concurrency_key, "reports");
  EXPECT_EQ(job.concurrency_limit, 2);
  EXPECT_EQ(job.tags, std::vector<std::string>{"ops"});

  ASSERT_OK(Upsert(Sched("a-first", "0 * * * *")));
  ASSERT_OK(Upsert(Sched("z-last", "0 * * * *")));
  auto all = store().SchedulesList({});
  ASSERT_OK(all);
  ASSERT_EQ(all->schedules.size(), 3u);
  EXPECT_EQ(all->schedules[0].spec.name, "a-first");
  EXPECT_EQ(all->schedules[1].spec.name, "nightly");
  EXPECT_EQ(all->schedules[2].spec.name, "z-last");
  EXPECT_FALSE(all->next_after.has_value());
  auto page = store().SchedulesList({.limit = 2});
  ASSERT_OK(page);
  ASSERT_EQ(page->schedules.size(), 2u);
  ASSERT_TRUE(page->next_after.has_value());
  auto rest = store().SchedulesList({.limit = 2, .after = *page->next_after});
  ASSERT_OK(rest);
  ASSERT_EQ(rest->schedules.size(), 1u);
  EXPECT_EQ(rest->schedules[0].spec.name, "z-last");

  auto del = store().ScheduleDelete("nightly");
  ASSERT_OK(del);
  EXPECT_EQ(del->spec.cron, "@daily");
  EXPECT_CODE(store().ScheduleGet("nightly"), ErrorCode::kNotFound);
  EXPECT_CODE(store().ScheduleDelete("nightly"), ErrorCode::kNotFound);
  EXPECT_EQ(store().SchedulesList({})->schedules.size(), 2u);
  EXPECT_EQ(JobCount(), 0u);  // schedules alone enqueue nothing
}

TEST_P(Schedules, InvalidSchedulesAreRefusedAndWriteNothing) {
  ASSERT_OK(Upsert(Sched("keep", "*/5 * * * *")));
  const Schedule before = GetSchedule("keep");

  struct Case {
    const char* what;
    std::function<void(ScheduleSpec&)> mutate;
    ErrorCode code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"bad cron", [](ScheduleSpec& s) { s.cron = "61 * * * *"; }, ErrorCode::kInvalidArgument,
       "cron"},
      {"six fields", [](ScheduleSpec& s) { s.cron = "0 0 * * * *"; }, ErrorCode::kInvalidArgument,
       "cron"},
      {"empty cron", [](ScheduleSpec& s) { s.cron = ""; }, ErrorCode::kInvalidArgument, "cron"},
      {"unknown zone", [](ScheduleSpec& s) { s.timezone = "Mars/Olympus_Mons"; },
       ErrorCode::kInvalidArgument, "timezone"},
      {"empty zone", [](ScheduleSpec& s) { s.timezone = ""; }, ErrorCode::kInvalidArgument,
       "timezone"},
      {"bad name", [](ScheduleSpec& s) { s.name = "no spaces"; }, ErrorCode::kInvalidArgument,
       "name"},
      {"long name", [](ScheduleSpec& s) { s.name = std::string(120, 'n'); },
       ErrorCode::kInvalidArgument, "name"},
      {"no kind", [](ScheduleSpec& s) { s.job.kind = ""; }, ErrorCode::kInvalidArgument,
       "job.kind"},
      {"priority", [](ScheduleSpec& s) { s.job.priority = 1000; }, ErrorCode::kInvalidArgument,
       "job.priority"},
      {"payload JSON", [](ScheduleSpec& s) { s.job.payload = "{nope"; },
       ErrorCode::kInvalidArgument, "job.payload"},
      {"payload size",
       [](ScheduleSpec& s) { s.job.payload = "\"" + std::string(5000, 'x') + "\""; },
       ErrorCode::kPayloadTooLarge, "job.payload"},
      {"run_at", [](ScheduleSpec& s) { s.job.run_at = kStart; }, ErrorCode::kInvalidArgument,
       "job.run_at"},
      {"idempotency key", [](ScheduleSpec& s) { s.job.idempotency_key = "k"; },
       ErrorCode::kInvalidArgument, "job.idempotency_key"},
      {"no tag left", [](ScheduleSpec& s) { s.job.tags.assign(kMaxTags, "t"); },
       ErrorCode::kInvalidArgument, "job.tags"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    ScheduleSpec spec = Sched("keep", "0 0 * * *");
    spec.job.payload = "{}";
    c.mutate(spec);
    auto r = Upsert(spec);
    EXPECT_CODE(r, c.code);
    if (!r.ok()) {
      EXPECT_EQ(r.status().field(), c.field);
    }
  }
  auto list = store().SchedulesList({});
  ASSERT_OK(list);
  ASSERT_EQ(list->schedules.size(), 1u);
  const Schedule after = GetSchedule("keep");
  EXPECT_EQ(after.spec.cron, before.spec.cron);
  EXPECT_EQ(after.spec.job.payload, before.spec.job.payload);
  EXPECT_EQ(after.next_fire_at, before.next_fire_at);
  EXPECT_EQ(after.updated_at, before.updated_at);

  EXPECT_CODE(store().SchedulesFireDue({.now = now_, .limit = 0}), ErrorCode::kInvalidArgument);
  EXPECT_CODE(store().SchedulesFireDue({.now = now_, .misfire_grace = -seconds(1)}),
              ErrorCode::kInvalidArgument);
  EXPECT_CODE(store().SchedulesList({.limit = 0}), ErrorCode::kInvalidArgument);
  EXPECT_CODE(store().ScheduleGet("bad name"), ErrorCode::kInvalidArgument);
  EXPECT_EQ(JobCount(), 0u);
}

TEST_P(Schedules, FireDueEnqueuesOneJobFromTheTemplateAndAdvances) {
  ScheduleSpec spec = Sched("every5", "*/5 * * * *");
  spec.job.tags = {"ops"};
  ASSERT_OK(Upsert(spec));
  EXPECT_EQ(GetSchedule("every5").next_fire_at, k2215);

  // Not due yet: nothing, and the caller learns when to come back.
  SchedulesFireDueResult early = FireDue(k2214);
  EXPECT_TRUE(early.fired.empty());
  EXPECT_EQ(early.next_fire_at, k2215);
  EXPECT_EQ(early.active, 1);
  EXPECT_EQ(JobCount(), 0u);

  const TimePoint fire_now = k2215 + seconds(2);  // a loop wakes a little late
  SchedulesFireDueResult r = FireDue(fire_now);
  ASSERT_EQ(r.fired.size(), 1u);
  EXPECT_EQ(r.fired[0].name, "every5");
  EXPECT_EQ(r.fired[0].fire_at, k2215);
  EXPECT_FALSE(r.fired[0].duplicate);
  EXPECT_FALSE(r.fired[0].catch_up);
  EXPECT_EQ(r.skipped, 0);
  EXPECT_FALSE(r.more);
  EXPECT_EQ(r.next_fire_at, k2215 + minutes(5));

  Job job = Get(r.fired[0].job_id);
  EXPECT_EQ(job.state, JobState::kQueued);
  EXPECT_EQ(job.spec.kind, "test.work");
  EXPECT_EQ(job.spec.queue, "cron");
  EXPECT_EQ(job.spec.payload, spec.job.payload);
  EXPECT_EQ(job.spec.max_attempts, 3);
  EXPECT_EQ(job.spec.idempotency_key, "schedule:every5:" + std::to_string(ToMicros(k2215)));
  EXPECT_EQ(job.spec.tags, (std::vector<std::string>{"ops", "schedule:every5"}));
  EXPECT_EQ(job.created_at, fire_now);
  EXPECT_EQ(TapeTypes(job.id), std::vector<EventType>{EventType::kCreated});
  auto queues = store().QueuesList();
  ASSERT_OK(queues);
  bool counted = false;
  for (const QueueInfo& q : *queues) {
    if (q.name == "cron") {
      counted = true;
      EXPECT_EQ(q.counts[static_cast<int>(JobState::kQueued)], 1);
    }
  }
  EXPECT_TRUE(counted) << "the fired job is missing from the queue counts";

  Schedule s = GetSchedule("every5");
  EXPECT_EQ(s.last_fire_at, k2215);
  EXPECT_EQ(s.last_job_id, job.id);
  EXPECT_EQ(s.next_fire_at, k2215 + minutes(5));
  EXPECT_EQ(s.updated_at, kStart);  // a fire is not an edit

  // The same instant again, and anything before the next fire: nothing more.
  EXPECT_TRUE(FireDue(fire_now).fired.empty());
  EXPECT_TRUE(FireDue(k2215 + minutes(4)).fired.empty());
  EXPECT_EQ(JobCount(), 1u);
  // The next fire, exactly on time.
  SchedulesFireDueResult next = FireDue(k2215 + minutes(5));
  ASSERT_EQ(next.fired.size(), 1u);
  EXPECT_EQ(next.fired[0].fire_at, k2215 + minutes(5));
  EXPECT_EQ(JobsOf("every5").size(), 2u);
  // The fired job is an ordinary job: it can be claimed.
  now_ = k2215 + minutes(5);
  EXPECT_EQ(Claim({"cron"}, 10).size(), 2u);
}

TEST_P(Schedules, UpdateKeepsHistoryAndAPendingFire) {
  ASSERT_OK(Upsert(Sched("s", "*/5 * * * *")));
  ASSERT_EQ(FireDue(k2215).fired.size(), 1u);
  const Schedule fired = GetSchedule("s");

  // A template edit after the next fire came due: the pending fire stays.
  now_ = k2215 + minutes(5) + seconds(10);
  ScheduleSpec edit = Sched("s", "*/5 * * * *");
  edit.job.payload = R"({"v":2})";
  auto up = Upsert(edit);
  ASSERT_OK(up);
  EXPECT_FALSE(up->created);
  EXPECT_EQ(up->schedule.next_fire_at, k2215 + minutes(5));
  EXPECT_EQ(up->schedule.last_fire_at, k2215);
  EXPECT_EQ(up->schedule.last_job_id, fired.last_job_id);
  EXPECT_EQ(up->schedule.created_at, kStart);
  EXPECT_EQ(up->schedule.updated_at, now_);
  SchedulesFireDueResult r = FireDue(now_);
  ASSERT_EQ(r.fired.size(), 1u);
  EXPECT_EQ(r.fired[0].fire_at, k2215 + minutes(5));
  EXPECT_EQ(Get(r.fired[0].job_id).spec.payload, R"({"v":2})");

  // A new expression starts from now; history survives.
  ASSERT_OK(Upsert(Sched("s", "0 * * * *")));
  Schedule hourly = GetSchedule("s");
  EXPECT_EQ(hourly.next_fire_at, k2300);
  EXPECT_EQ(hourly.last_fire_at, k2215 + minutes(5));
}

TEST_P(Schedules, PausedSchedulesNeverFireAndResumeFromNow) {
  ScheduleSpec spec = Sched("p", "*/5 * * * *", MisfirePolicy::kRunOnce);
  spec.paused = true;
  ASSERT_OK(Upsert(spec));
  SchedulesFireDueResult r = FireDue(k2215 + hours(3));
  EXPECT_TRUE(r.fired.empty());
  EXPECT_EQ(r.active, 0);
  EXPECT_FALSE(r.next_fire_at.has_value());
  EXPECT_EQ(JobCount(), 0u);

  // Resuming does not catch up the paused stretch, even under run_once.
  now_ = k2215 + hours(3) + seconds(30);
  spec.paused = false;
  ASSERT_OK(Upsert(spec));
  EXPECT_EQ(GetSchedule("p").next_fire_at, k2215 + hours(3) + minutes(5));
  EXPECT_TRUE(FireDue(now_).fired.empty());
  EXPECT_EQ(FireDue(k2215 + hours(3) + minutes(5)).fired.size(), 1u);
}

TEST_P(Schedules, MisfireSkipDropsMissedFiresRunOnceFiresOnce) {
  ASSERT_OK(Upsert(Sched("skip", "0 * * * *", MisfirePolicy::kSkip)));
  ASSERT_OK(Upsert(Sched("once", "0 * * * *", MisfirePolicy::kRunOnce)));
  // Down from before 23:00 until 08:43:20: ten fires missed.
  const TimePoint back = k2300 + hours(9) + minutes(43) + seconds(20);
  SchedulesFireDueResult r = FireDue(back);
  EXPECT_EQ(r.skipped, 1);
  ASSERT_EQ(r.fired.size(), 1u);
  EXPECT_EQ(r.fired[0].name, "once");
  EXPECT_TRUE(r.fired[0].catch_up);
  EXPECT_EQ(r.fired[0].fire_at, k2300);  // stands for the first missed fire
  EXPECT_EQ(r.next_fire_at, k2300 + hours(10));
  EXPECT_EQ(JobsOf("skip").size(), 0u);
  EXPECT_EQ(JobsOf("once").size(), 1u);
  EXPECT_FALSE(GetSchedule("skip").last_fire_at.has_value());
  EXPECT_EQ(GetSchedule("skip").next_fire_at, k2300 + hours(10));
  EXPECT_EQ(GetSchedule("once").last_fire_at, k2300);

  // Then both continue normally.
  SchedulesFireDueResult on_time = FireDue(k2300 + hours(10) + seconds(1));
  EXPECT_EQ(on_time.fired.size(), 2u);
  EXPECT_EQ(on_time.skipped, 0);
  EXPECT_EQ(JobsOf("skip").size(), 1u);
  EXPECT_EQ(JobsOf("once").size(), 2u);
}

TEST_P(Schedules, AFireWithinTheGraceIsOnTimeEvenAfterAGap) {
  ASSERT_OK(Upsert(Sched("skip", "*/5 * * * *", MisfirePolicy::kSkip)));
  ASSERT_OK(Upsert(Sched("once", "*/5 * * * *", MisfirePolicy::kRunOnce)));
  // Back 20 s after a fire, two hours late: that fire is on time for both
  // (the missed ones before it fold into it); one job each.
  const TimePoint fire = k2215 + hours(2);
  SchedulesFireDueResult r = FireDue(fire + seconds(20));
  ASSERT_EQ(r.fired.size(), 2u);
  EXPECT_EQ(r.skipped, 0);
  for (const FiredSchedule& f : r.fired) {
    EXPECT_EQ(f.fire_at, fire) << f.name;
    EXPECT_FALSE(f.catch_up) << f.name;
  }
  EXPECT_EQ(r.next_fire_at, fire + minutes(5));
  EXPECT_EQ(JobCount(), 2u);
}

TEST_P(Schedules, FireDueHonoursItsLimitAndDeletedSchedulesStop) {
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK(Upsert(Sched("s" + std::to_string(i), "*/5 * * * *")));
  }
  ASSERT_OK(store().ScheduleDelete("s4"));
  SchedulesFireDueResult first = FireDue(k2215, 3);
  EXPECT_EQ(first.fired.size(), 3u);
  EXPECT_TRUE(first.more);
  SchedulesFireDueResult second = FireDue(k2215, 3);
  EXPECT_EQ(second.fired.size(), 1u);
  EXPECT_FALSE(second.more);
  EXPECT_EQ(second.active, 4);
  EXPECT_EQ(JobCount(), 4u);
  EXPECT_TRUE(JobsOf("s4").empty());
}

TEST_P(Schedules, ConcurrentFireDueFiresEachFireOnce) {
  constexpr int kSchedules = 12;
  constexpr int kThreads = 4;
  constexpr int kMinutes = 10;
  for (int i = 0; i < kSchedules; ++i) {
    ASSERT_OK(Upsert(Sched("c" + std::to_string(i), i % 2 ? "* * * * *" : "*/2 * * * *",
                           i % 3 ? MisfirePolicy::kSkip : MisfirePolicy::kRunOnce)));
  }
  std::atomic<int> fired{0}, duplicates{0}, failures{0};
  for (int m = 0; m < kMinutes; ++m) {
    const TimePoint now = k2214 + minutes(m);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, now] {
        auto r = store().SchedulesFireDue({.now = now, .limit = 5});  // several calls each
        while (r.ok()) {
          for (const FiredSchedule& f : r->fired) {
            (f.duplicate ? duplicates : fired)++;
          }
          if (!r->more) return;
          r = store().SchedulesFireDue({.now = now, .limit = 5});
        }
        failures++;
      });
    }
    for (auto& th : threads)
      th.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(duplicates.load(), 0) << "a fire was attempted twice";
  // 22:14..22:23: every minute for the odd ones, 22:14, :16, ... :22 for the even.
  const int expected = kSchedules / 2 * kMinutes + kSchedules / 2 * (kMinutes / 2);
  EXPECT_EQ(fired.load(), expected);
  EXPECT_EQ(static_cast<int>(JobCount()), expected);
  for (int i = 0; i < kSchedules; ++i) {
    EXPECT_EQ(static_cast<int>(JobsOf("c" + std::to_string(i)).size()),
              i % 2 ? kMinutes : kMinutes / 2)
        << "schedule c" << i;
  }
  ExpectAllTapesSound();
}

TEST_P(Schedules, TimeZoneAndDaylightSavingDecideTheFireInstant) {
  // 02:30 every day in New York: on 2024-03-10 the clock jumps from 02:00 to
  // 03:00 EDT, so that day's fire is at 03:00 EDT (07:00Z), between 07:30Z
  // (EST) the day before and 06:30Z (EDT) the day after (store/cron.hpp).
  now_ = Unix(1'709'971'200);  // 2024-03-09T08:00:00Z
  ScheduleSpec spec = Sched("ny", "30 2 * * *");
  spec.timezone = "America/New_York";
  ASSERT_OK(Upsert(spec));
  const TimePoint mar10 = Unix(1'710'054'000);  // 2024-03-10T07:00:00Z
  const TimePoint mar11 = Unix(1'710'138'600);  // 2024-03-11T06:30:00Z
  EXPECT_EQ(GetSchedule("ny").next_fire_at, mar10);
  ASSERT_EQ(FireDue(mar10).fired.size(), 1u);
  EXPECT_EQ(GetSchedule("ny").next_fire_at, mar11);
}

}  // namespace
}  // namespace jobtape::store::testing
