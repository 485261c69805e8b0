// Client::Watch: a job's tape over Server-Sent Events, resumed across drops.
#include <algorithm>

#include "client/client.hpp"
#include "client/follow.hpp"
#include "client/http_transport.hpp"
#include "client/sse_parser.hpp"
#include "client/wire.hpp"

namespace jobtape::client {
namespace {

WatchResult ResultOf(const Event& final_event) {
  WatchResult r;
  r.final_event = final_event;
  r.last_seq = final_event.seq;
  r.state = ParseFinalState(final_event.data).value_or(JobState::kFailed);
  return r;
}

}  // namespace

bool IsPermanentError(const Status& s) {
  switch (s.code()) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kPermissionDenied:
    case ErrorCode::kPayloadTooLarge:
    case ErrorCode::kLimitExceeded:
      return true;
    default:
      return false;
  }
}

// The job's outcome if it is terminal and its tape ends at or before `last`
// (its final event is then the newest one).
std::optional<WatchResult> Client::Finished(HttpTransport& transport, const std::string& path,
                                            Seq last) const {
  HttpRequest get;
  get.target = Target(path);
  get.replayable = true;
  auto reply = transport.RoundTrip(get);
  if (!reply.ok() || reply->status != 200) return std::nullopt;
  auto job = ParseJob(reply->body);
  if (!job.ok() || !IsTerminal(job->state) || job->last_seq > last) return std::nullopt;
  HttpRequest events;
  events.target =
      Target(path + "/events", {{"after", std::to_string(job->last_seq - 1)}, {"limit", "1"}});
  events.replayable = true;
  auto page_reply = transport.RoundTrip(events);
  if (page_reply.ok() && page_reply->status == 200) {
    auto page = ParseTapePage(page_reply->body);
    if (page.ok() && !page->events.empty() && page->events.back().type == EventType::kFinal) {
      return ResultOf(page->events.back());
    }
  }
  WatchResult r;
  r.state = job->state;
  r.last_seq = job->last_seq;
  r.final_event.job_id = job->id;
  r.final_event.seq = job->last_seq;
  r.final_event.type = EventType::kFinal;
  r.final_event.data = "{\"state\":\"" + std::string(JobStateName(job->state)) + "\"}";
  return r;
}

std::chrono::milliseconds WatchBackoff(const WatchOptions& options, int attempt) {
  auto delay = options.initial_backoff;
  for (int i = 1; i < attempt && delay < options.max_backoff; ++i)
    delay *= 2;
  return std::min(delay, options.max_backoff);
}

bool StreamRound::Clean() const {
  const bool error_reply = reply.status != 0 && (reply.status < 200 || reply.status >= 300);
  return !error_reply && stream_error.ok() && transport.ok() && !shutdown;
}

Status StreamRound::Why(std::string_view clean_end) const {
  if (reply.status != 0 && (reply.status < 200 || reply.status >= 300)) {
    return StatusFromReply(reply.status, reply.body);
  }
  if (!stream_error.ok()) return stream_error;
  if (!transport.ok()) return transport;
  if (shutdown) return Status::Unavailable("the server is shutting down");
  return Status::Unavailable(std::string(clean_end));
}

StreamRound FollowOnce(HttpTransport& transport, const HttpRequest& request,
                       std::chrono::milliseconds idle_timeout,
                       const std::function<Status(const SseEvent&)>& on_data, const bool& done) {
  StreamRound round;
  SseParser parser([&](const SseEvent& e) {
    if (done || round.shutdown || !round.stream_error.ok()) return;
    if (e.event == "shutdown") {
      round.shutdown = true;
    } else if (e.event == "error") {
      round.stream_error = StatusFromReply(0, e.data);
    } else {
      round.stream_error = on_data(e);
    }
  });
  round.transport =
      transport.Stream(request, idle_timeout, round.reply, [&](std::string_view bytes) {
        parser.Feed(bytes);
        return !done && !round.shutdown && round.stream_error.ok();
      });
  round.retry = parser.retry();
  return round;
}

Status Reconnects::After(const Status& why, bool progressed, const StreamRound& round,
                         HttpTransport& transport) {
  if (IsPermanentError(why)) return why;
  failures_ = progressed ? 1 : failures_ + 1;
  if (options_.max_failures > 0 && failures_ > options_.max_failures) return why;
  std::chrono::milliseconds delay = WatchBackoff(options_, failures_);
  if (round.retry) delay = std::clamp(*round.retry, delay, options_.max_backoff);
  if (options_.on_reconnect) options_.on_reconnect(failures_, delay, why);
  if (!transport.Sleep(delay)) return Status::Unavailable("interrupted");
  return Status::Ok();
}

Result<WatchResult> Client::Watch(JobId id, Seq after,
                                  const std::function<void(const Event&)>& on_event,
                                  const WatchOptions& options) {
  HttpTransport transport(options_);
  std::stop_callback stop(options.stop, [&transport] { transport.Interrupt(); });
  const Status interrupted = Status::Unavailable("interrupted");
  const std::string path = "/v1/jobs/" + std::to_string(id);
  Seq last = after;
  Reconnects reconnects(options);
  for (bool first = true;; first = false) {
    if (transport.interrupted()) return interrupted;
    HttpRequest request;
    QueryParams query;
    if (first && after > 0) query.emplace_back("after", std::to_string(after));
    request.target = Target(path + "/stream", query);
    request.headers.emplace_back("Accept", "text/event-stream");
    if (!first && last > 0) request.headers.emplace_back("Last-Event-ID", std::to_string(last));

    bool progressed = false;
    bool finished = false;
    std::optional<WatchResult> done;
    StreamRound round = FollowOnce(
        transport, request, options.idle_timeout,
        [&](const SseEvent& e) -> Status {
          auto event = ParseEvent(e.data);
          if (!event.ok()) return event.status();
          if (event->seq <= last) return Status::Ok();  // seen before a reconnect
          last = event->seq;
          progressed = true;
          on_event(*event);
          if (event->type == EventType::kFinal) {
            done = ResultOf(*event);
            finished = true;
          }
          return Status::Ok();
        },
        finished);
    if (done) return *done;
    if (transport.interrupted()) return interrupted;
    Status why = round.Why("the stream ended before the final event");
    if (round.Clean() && !progressed) {
      // A clean end with nothing new (204 for a finished tape): the job
      // may have ended at or before `after`. Ask once.
      if (auto ended = Finished(transport, path, last)) return *ended;
    }
    Status next = reconnects.After(why, progressed, round, transport);
    if (!next.ok()) return next;
  }
}

}  // namespace jobtape::client
