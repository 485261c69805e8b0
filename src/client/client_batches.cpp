// Client: the batches resource (POST /v1/batches, GET /v1/batches/{id},
// .../cancel, and .../stream followed with reconnects).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "client/base_url.hpp"
#include "client/client.hpp"
#include "client/follow.hpp"
#include "client/http_transport.hpp"
#include "client/wire.hpp"

namespace jobtape::client {
namespace json = boost::json;
namespace {

Status Unexpected(std::string_view what) {
  return Status::Internal("unexpected reply from the server: " + std::string(what));
}

int64_t IntOr0(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

BatchInfo DecodeBatch(const json::object& o) {
  BatchInfo b;
  if (const json::value* id = o.if_contains("id"); id != nullptr && id->is_string()) {
    b.id = std::string(id->get_string());
  }
  if (const json::value* st = o.if_contains("state"); st != nullptr && st->is_string()) {
    b.state = std::string(st->get_string());
  }
  b.total = IntOr0(o, "total");
  b.done = IntOr0(o, "done");
  b.progress = IntOr0(o, "progress");
  if (const json::value* c = o.if_contains("counts"); c != nullptr && c->is_object()) {
    for (int s = 0; s < kJobStateCount; ++s)
      b.counts[s] = IntOr0(c->get_object(), JobStateName(static_cast<JobState>(s)));
  }
  if (const json::value* j = o.if_contains("on_complete_job_id"); j != nullptr && j->is_int64()) {
    b.on_complete_job_id = j->get_int64();
  }
  return b;
}

Result<json::object> ParseObject(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !v.is_object()) return Unexpected("not a JSON object");
  return std::move(v.get_object());
}

Result<BatchInfo> ParseBatch(std::string_view text) {
  auto o = ParseObject(text);
  if (!o.ok()) return o.status();
  BatchInfo b = DecodeBatch(*o);
  if (b.id.empty()) return Unexpected("a batch without an id");
  return b;
}

}  // namespace

Result<BatchCreated> Client::CreateBatchRaw(std::string body, bool replayable, std::string* json) {
  auto text = Call("POST", Target("/v1/batches"), std::move(body), replayable, json);
  if (!text.ok()) return text.status();
  auto o = ParseObject(*text);
  if (!o.ok()) return o.status();
  BatchCreated out;
  const json::value* batch = o->if_contains("batch");
  if (batch == nullptr || !batch->is_object()) return Unexpected("no batch in the reply");
  out.batch = DecodeBatch(batch->get_object());
  if (const json::value* d = o->if_contains("duplicate"); d != nullptr && d->is_bool()) {
    out.duplicate = d->get_bool();
  }
  if (const json::value* ids = o->if_contains("job_ids"); ids != nullptr && ids->is_array()) {
    for (const json::value& id : ids->get_array())
      if (id.is_int64()) out.job_ids.push_back(id.get_int64());
  }
  return out;
}

Result<BatchInfo> Client::GetBatch(const std::string& id, std::string* json) {
  auto text = Call("GET", Target("/v1/batches/" + PercentEncode(id)), {}, true, json);
  if (!text.ok()) return text.status();
  return ParseBatch(*text);
}

Result<BatchCancelReply> Client::CancelBatch(const std::string& id, const std::string& reason,
                                             std::string* json) {
  json::object body;
  if (!reason.empty()) body["reason"] = reason;
  // Replayable: a second cancel finds nothing more to cancel.
  auto text = Call("POST", Target("/v1/batches/" + PercentEncode(id) + "/cancel"),
                   json::serialize(body), true, json);
  if (!text.ok()) return text.status();
  auto o = ParseObject(*text);
  if (!o.ok()) return o.status();
  return BatchCancelReply{IntOr0(*o, "cancelled"), IntOr0(*o, "cancel_requested")};
}

Result<BatchInfo> Client::WatchBatch(const std::string& id,
                                     const std::function<void(const BatchInfo&)>& on_update,
                                     const WatchOptions& options) {
  HttpTransport transport(options_);
  std::stop_callback stop(options.stop, [&transport] { transport.Interrupt(); });
  const Status interrupted = Status::Unavailable("interrupted");
  const std::string path = "/v1/batches/" + PercentEncode(id);
  int64_t seen = -1;  // members done in the last state delivered
  Reconnects reconnects(options);
  while (true) {
    if (transport.interrupted()) return interrupted;
    HttpRequest request;
    request.target = Target(path + "/stream");
    request.headers.emplace_back("Accept", "text/event-stream");
    if (seen >= 0) request.headers.emplace_back("Last-Event-ID", std::to_string(seen));
    bool progressed = false;
    bool finished = false;
    std::optional<BatchInfo> done;
    StreamRound round = FollowOnce(
        transport, request, options.idle_timeout,
        [&](const SseEvent& e) -> Status {
          auto b = ParseBatch(e.data);
          if (!b.ok()) return b.status();
          progressed = true;
          seen = b->done;
          on_update(*b);
          if (e.event == "done") {
            done = std::move(*b);
            finished = true;
          }
          return Status::Ok();
        },
        finished);
    if (done) return *done;
    if (transport.interrupted()) return interrupted;
    if (round.reply.status == 204) {
      // Done, and this client saw it: read the final state once.
      HttpRequest get;
      get.target = Target(path);
      get.replayable = true;
      auto r = transport.RoundTrip(get);
      if (!r.ok()) return r.status();
      if (r->status != 200) return StatusFromReply(r->status, r->body);
      return ParseBatch(r->body);
    }
    Status next = reconnects.After(round.Why("the stream ended before the batch was done"),
                                   progressed, round, transport);
    if (!next.ok()) return next;
  }
}

}  // namespace jobtape::client
