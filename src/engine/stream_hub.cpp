#include "engine/stream_hub.hpp"

#include <unordered_map>
#include <utility>

#include "engine/hub_core.hpp"

namespace jobtape::engine {

StreamHub::StreamHub(store::Store& store) : core_(std::make_shared<detail::HubCore>(store)) {}

StreamHub::~StreamHub() {
  CloseAll(Status::Unavailable("stream hub destroyed"));
}

std::shared_ptr<Subscription> StreamHub::Subscribe(JobId job_id, Seq after, size_t capacity) {
  auto sub = std::make_shared<Subscription>(Subscription::Tag{}, core_, job_id, after, capacity);
  core_->open.fetch_add(1);
  std::optional<Status> closed;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    if (core_->closed) {
      closed = core_->close_reason;
    } else {
      // Registered before the first read, so an event committed after that
      // read is seen live (see subscription.hpp).
      core_->subs[job_id].emplace(sub.get(), sub);
    }
  }
  if (closed) {
    sub->Close(*closed);
  } else {
    sub->Start();
  }
  return sub;
}

void StreamHub::CloseAll(Status reason) {
  std::vector<std::shared_ptr<Subscription>> subs;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    core_->closed = true;
    core_->close_reason = reason;
    for (const auto& [job_id, list] : core_->subs) {
      for (const auto& [ptr, weak] : list) {
        if (auto sub = weak.lock()) subs.push_back(std::move(sub));
      }
    }
  }
  for (const auto& sub : subs)
    sub->Close(reason);
  // `subs` may hold the last references: released here, outside core_->mu.
}

int64_t StreamHub::open_subscriptions() const {
  return core_->open.load();
}

uint64_t StreamHub::catchups() const {
  return core_->catchups.load();
}

void StreamHub::OnEvents(const std::vector<Event>& events) {
  struct Target {
    std::shared_ptr<Subscription> sub;
    const std::vector<const Event*>* events;
  };
  // Events per watched job, in the order given (seq order per job).
  std::unordered_map<JobId, std::vector<const Event*>> by_job;
  std::vector<Target> targets;
  {
    std::lock_guard<std::mutex> lock(core_->mu);
    if (core_->subs.empty()) return;
    for (const Event& e : events) {
      if (core_->subs.count(e.job_id) != 0) by_job[e.job_id].push_back(&e);
    }
    for (const auto& [job_id, job_events] : by_job) {
      for (const auto& [ptr, weak] : core_->subs[job_id]) {
        if (auto sub = weak.lock()) targets.push_back(Target{std::move(sub), &job_events});
      }
    }
  }
  // Delivered outside the registry lock: each subscription takes only its own
  // lock, briefly, and never waits for its consumer.
  for (const Target& t : targets)
    t.sub->Deliver(*t.events);
  // `targets` may hold the last references: released here, outside core_->mu.
}

void StreamHub::OnWork(const std::string& /*queue*/, std::optional<TimePoint> /*due*/) {}

}  // namespace jobtape::engine
