#include "engine/stream_hub.hpp"

#include <map>
#include <unordered_map>
#include <utility>

#include "engine/hub_core.hpp"

namespace jobtape::engine {
namespace detail {

// Who watches which batch. Handles hold it weakly, so they may outlive the hub.
struct BatchWatchers {
  using Notify = std::shared_ptr<const std::function<void()>>;
  std::mutex mu;
  bool closed = false;                                                   // GUARDED_BY(mu)
  uint64_t next_key = 0;                                                 // GUARDED_BY(mu)
  std::unordered_map<store::BatchId, std::map<uint64_t, Notify>> watch;  // GUARDED_BY(mu)

  // Runs outside `mu`: a notify only posts, but must not wait on our lock.
  static void Call(const std::vector<Notify>& notifies) {
    for (const Notify& n : notifies)
      (*n)();
  }
};

}  // namespace detail

StreamHub::StreamHub(store::Store& store)
    : core_(std::make_shared<detail::HubCore>(store)),
      batches_(std::make_shared<detail::BatchWatchers>()) {}

std::shared_ptr<void> StreamHub::WatchBatch(store::BatchId id, std::function<void()> notify) {
  auto fn = std::make_shared<const std::function<void()>>(std::move(notify));
  uint64_t key = 0;
  bool closed = false;
  {
    std::lock_guard<std::mutex> lock(batches_->mu);
    closed = batches_->closed;
    key = ++batches_->next_key;
    if (!closed) batches_->watch[id].emplace(key, fn);
  }
  if (closed) (*fn)();
  std::weak_ptr<detail::BatchWatchers> weak = batches_;
  return std::shared_ptr<void>(nullptr, [weak, id, key](void*) {
    if (auto w = weak.lock()) {
      std::lock_guard<std::mutex> lock(w->mu);
      auto it = w->watch.find(id);
      if (it == w->watch.end()) return;
      it->second.erase(key);
      if (it->second.empty()) w->watch.erase(it);
    }
  });
}

bool StreamHub::closed() const {
  std::lock_guard<std::mutex> lock(batches_->mu);
  return batches_->closed;
}

void StreamHub::OnBatches(const std::vector<store::BatchId>& batches) {
  std::vector<detail::BatchWatchers::Notify> notifies;
  {
    std::lock_guard<std::mutex> lock(batches_->mu);
    if (batches_->watch.empty()) return;
    for (store::BatchId id : batches) {
      auto it = batches_->watch.find(id);
      if (it == batches_->watch.end()) continue;
      for (const auto& [key, fn] : it->second)
        notifies.push_back(fn);
    }
  }
  detail::BatchWatchers::Call(notifies);
}

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
  std::vector<detail::BatchWatchers::Notify> notifies;
  {
    std::lock_guard<std::mutex> lock(batches_->mu);
    batches_->closed = true;
    for (const auto& [id, watchers] : batches_->watch) {
      for (const auto& [key, fn] : watchers)
        notifies.push_back(fn);
    }
    batches_->watch.clear();
  }
  detail::BatchWatchers::Call(notifies);
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
