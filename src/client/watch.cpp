// Client::Watch: a job's tape over Server-Sent Events, resumed across drops.
#include <algorithm>

#include "client/client.hpp"
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

Result<WatchResult> Client::Watch(JobId id, Seq after,
                                  const std::function<void(const Event&)>& on_event,
                                  const WatchOptions& options) {
  HttpTransport transport(options_);
  std::stop_callback stop(options.stop, [&transport] { transport.Interrupt(); });
  const Status interrupted = Status::Unavailable("interrupted");
  const std::string path = "/v1/jobs/" + std::to_string(id);
  Seq last = after;
  int failures = 0;
  for (bool first = true;; first = false) {
    if (transport.interrupted()) return interrupted;
    HttpRequest request;
    QueryParams query;
    if (first && after > 0) query.emplace_back("after", std::to_string(after));
    request.target = Target(path + "/stream", query);
    request.headers.emplace_back("Accept", "text/event-stream");
    if (!first && last > 0) request.headers.emplace_back("Last-Event-ID", std::to_string(last));

    bool progressed = false;
    bool shutdown = false;
    Status stream_error;
    std::optional<WatchResult> done;
    SseParser parser([&](const SseEvent& e) {
      if (done || !stream_error.ok()) return;
      if (e.event == "shutdown") {
        shutdown = true;
        return;
      }
      if (e.event == "error") {
        stream_error = StatusFromReply(0, e.data);
        return;
      }
      auto event = ParseEvent(e.data);
      if (!event.ok()) {
        stream_error = event.status();
        return;
      }
      if (event->seq <= last) return;  // seen before a reconnect
      last = event->seq;
      progressed = true;
      on_event(*event);
      if (event->type == EventType::kFinal) done = ResultOf(*event);
    });
    HttpReply reply;
    Status s = transport.Stream(request, options.idle_timeout, reply, [&](std::string_view bytes) {
      parser.Feed(bytes);
      return !done && !shutdown && stream_error.ok();
    });
    if (done) return *done;
    if (transport.interrupted()) return interrupted;

    Status why;
    if (reply.status != 0 && (reply.status < 200 || reply.status >= 300)) {
      why = StatusFromReply(reply.status, reply.body);
    } else if (!stream_error.ok()) {
      why = stream_error;
    } else if (!s.ok()) {
      why = s;
    } else if (shutdown) {
      why = Status::Unavailable("the server is shutting down");
    } else {
      why = Status::Unavailable("the stream ended before the final event");
      if (!progressed) {
        // A clean end with nothing new (204 for a finished tape): the job
        // may have ended at or before `after`. Ask once.
        if (auto finished = Finished(transport, path, last)) return *finished;
      }
    }
    if (IsPermanentError(why)) return why;
    failures = progressed ? 1 : failures + 1;
    if (options.max_failures > 0 && failures > options.max_failures) return why;
    std::chrono::milliseconds delay = WatchBackoff(options, failures);
    if (auto hint = parser.retry()) delay = std::clamp(*hint, delay, options.max_backoff);
    if (options.on_reconnect) options.on_reconnect(failures, delay, why);
    if (!transport.Sleep(delay)) return interrupted;
  }
}

}  // namespace jobtape::client
