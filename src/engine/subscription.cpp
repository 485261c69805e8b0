#include "engine/subscription.hpp"

#include <algorithm>

#include "engine/hub_core.hpp"

namespace jobtape::engine {
namespace {

// Events read per catch-up page at most (the store allows 1..10,000): enough to
// amortise a read, small enough to bound the memory of one page.
constexpr size_t kCatchUpPage = 1000;

}  // namespace

Subscription::Subscription(Tag, std::shared_ptr<detail::HubCore> core, JobId job_id, Seq after,
                           size_t capacity)
    : core_(std::move(core)),
      job_id_(job_id),
      capacity_(std::max<size_t>(capacity, 1)),
      tail_(after),
      last_popped_(after) {}

Subscription::~Subscription() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (counted_open_) core_->open.fetch_sub(1);
  }
  core_->Forget(job_id_, this);
}

void Subscription::Start() {
  std::optional<store::TapeReadParams> read;
  {
    std::lock_guard<std::mutex> lock(mu_);
    read = FetchLocked();
  }
  if (read) IssueFetch(*read);
}

PopResult Subscription::TryPop(Event& out) {
  std::optional<store::TapeReadParams> read;
  PopResult result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    result = PopLocked(out);
    if (result == PopResult::kEvent) read = FetchLocked();
  }
  if (read) IssueFetch(*read);
  return result;
}

PopResult Subscription::Next(Event& out, std::chrono::milliseconds timeout) {
  std::optional<store::TapeReadParams> read;
  PopResult result;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [this] {
      return !buf_.empty() || mode_ == Mode::kClosed || mode_ == Mode::kFinal;
    });
    result = PopLocked(out);
    if (result == PopResult::kEvent) read = FetchLocked();
  }
  if (read) IssueFetch(*read);
  return result;
}

void Subscription::SetNotify(std::function<void()> notify) {
  NotifyFn fire;
  {
    std::lock_guard<std::mutex> lock(mu_);
    notify_ = notify ? std::make_shared<const std::function<void()>>(std::move(notify)) : nullptr;
    if (notify_ && (!buf_.empty() || mode_ == Mode::kClosed || mode_ == Mode::kFinal)) {
      fire = notify_;
    }
  }
  if (fire) (*fire)();
}

Status Subscription::end_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return end_;
}

bool Subscription::ended() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mode_ == Mode::kClosed || (mode_ == Mode::kFinal && buf_.empty());
}

Seq Subscription::last_popped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_popped_;
}

size_t Subscription::buffered() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buf_.size();
}

size_t Subscription::buffered_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buf_bytes_;
}

uint64_t Subscription::catchups() const {
  std::lock_guard<std::mutex> lock(mu_);
  return catchups_;
}

void Subscription::Deliver(const std::vector<const Event*>& events) {
  NotifyFn wake;
  std::optional<store::TapeReadParams> read;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool was_empty = buf_.empty();
    const Mode before = mode_;
    for (const Event* e : events) {
      if (mode_ == Mode::kCatchUp) {
        max_live_seen_ = std::max(max_live_seen_, e->seq);
        continue;
      }
      if (mode_ != Mode::kLive) break;
      if (e->seq <= tail_) continue;  // already read from the store
      if (e->seq != tail_ + 1 || !FitsLocked(EventBytes(*e))) {
        // Full (a slow consumer) or out of order: never wait, never drop
        // silently - read this and what follows from the store instead.
        mode_ = Mode::kCatchUp;
        max_live_seen_ = e->seq;
        ++catchups_;
        core_->catchups.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      PushLocked(*e);
      if (e->type == EventType::kFinal) EndLocked(Mode::kFinal, Status::Ok());
    }
    read = FetchLocked();
    if ((was_empty && !buf_.empty()) || (mode_ != before && mode_ == Mode::kFinal)) {
      wake = WakeLocked();
    }
  }
  if (wake) (*wake)();
  if (read) IssueFetch(*read);
}

void Subscription::Close(const Status& reason) {
  NotifyFn wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (mode_ == Mode::kClosed || (mode_ == Mode::kFinal && buf_.empty())) return;
    EndLocked(Mode::kClosed, reason);
    wake = WakeLocked();
  }
  if (wake) (*wake)();
}

std::optional<store::TapeReadParams> Subscription::FetchLocked() {
  // Refill only below half capacity, so each read fetches a useful amount.
  if (mode_ != Mode::kCatchUp || fetching_ || buf_.size() > capacity_ / 2 ||
      buf_bytes_ > kStreamBufferBytes / 2) {
    return std::nullopt;
  }
  fetching_ = true;
  store::TapeReadParams p;
  p.job_id = job_id_;
  p.after = tail_;
  p.limit = static_cast<int>(std::min(capacity_ - buf_.size(), kCatchUpPage));
  return p;
}

void Subscription::IssueFetch(const store::TapeReadParams& p) {
  std::weak_ptr<Subscription> weak = weak_from_this();
  core_->store->TapeReadAsync(p, [weak](Result<store::TapePage> r) {
    if (auto self = weak.lock()) self->OnPage(std::move(r));
  });
}

void Subscription::OnPage(Result<store::TapePage> r) {
  NotifyFn wake;
  std::optional<store::TapeReadParams> read;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fetching_ = false;
    if (mode_ != Mode::kCatchUp) return;  // closed while reading
    const bool was_empty = buf_.empty();
    if (!r.ok()) {
      EndLocked(Mode::kClosed, r.status());
    } else {
      const store::TapePage& page = *r;
      bool gap = false;
      for (const Event& e : page.events) {
        if (e.seq <= tail_) continue;
        if (e.seq != tail_ + 1) {
          gap = true;
          break;
        }
        // Over the byte budget: the rest is read again once the watcher
        // has taken some (FetchLocked from PopLocked's caller).
        if (!FitsLocked(EventBytes(e))) break;
        PushLocked(e);
        if (e.type == EventType::kFinal) {
          EndLocked(Mode::kFinal, Status::Ok());
          break;
        }
      }
      if (gap) {
        EndLocked(Mode::kClosed, Status::Internal("tape read returned a gap in seq"));
      } else if (mode_ != Mode::kCatchUp) {
        // the final event was buffered
      } else if (tail_ > page.last_seq) {
        EndLocked(Mode::kClosed,
                  Status::InvalidArgument("after is beyond the end of the job's tape", "after"));
      } else if (tail_ == page.last_seq) {
        if (IsTerminal(page.state)) {
          EndLocked(Mode::kFinal, Status::Ok());  // `after` was the end of a finished tape
        } else if (max_live_seen_ <= tail_) {
          mode_ = Mode::kLive;  // caught up, and nothing newer arrived meanwhile
        } else {
          read = FetchLocked();  // newer events committed after this read
        }
      } else if (page.events.empty()) {
        EndLocked(Mode::kClosed, Status::Internal("tape read made no progress"));
      } else {
        read = FetchLocked();
      }
    }
    if ((was_empty && !buf_.empty()) || mode_ == Mode::kClosed ||
        (mode_ == Mode::kFinal && buf_.empty())) {
      wake = WakeLocked();
    }
  }
  if (wake) (*wake)();
  if (read) IssueFetch(*read);
}

bool Subscription::FitsLocked(size_t bytes) const {
  return buf_.empty() || (buf_.size() < capacity_ && buf_bytes_ + bytes <= kStreamBufferBytes);
}

void Subscription::PushLocked(Event e) {
  buf_bytes_ += EventBytes(e);
  tail_ = e.seq;
  buf_.push_back(std::move(e));
}

PopResult Subscription::PopLocked(Event& out) {
  if (mode_ == Mode::kClosed) return PopResult::kEnd;
  if (buf_.empty()) return mode_ == Mode::kFinal ? PopResult::kEnd : PopResult::kEmpty;
  out = std::move(buf_.front());
  buf_.pop_front();
  buf_bytes_ -= EventBytes(out);
  last_popped_ = out.seq;
  return PopResult::kEvent;
}

void Subscription::EndLocked(Mode mode, Status status) {
  mode_ = mode;
  end_ = std::move(status);
  if (mode == Mode::kClosed) {
    buf_.clear();
    buf_bytes_ = 0;
  }
  if (counted_open_) {
    counted_open_ = false;
    core_->open.fetch_sub(1);
  }
}

Subscription::NotifyFn Subscription::WakeLocked() {
  cv_.notify_all();
  return notify_;
}

}  // namespace jobtape::engine
