// The worker side of Client: the lease protocol (DESIGN §3, R2).
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "client/client.hpp"
#include "client/wire.hpp"

namespace jobtape::client {
namespace {

// A long poll may legitimately take its whole wait; the reply needs time on top.
constexpr std::chrono::milliseconds kLongPollMargin{10'000};

}  // namespace

std::string Client::LeasePath(const Lease& lease, std::string_view action) {
  return "/v1/leases/" + std::to_string(lease.job_id) + "/" + std::to_string(lease.attempt) + "/" +
         std::string(action);
}

Result<std::vector<ClaimedJob>> Client::Claim(const ClaimRequest& request) {
  std::chrono::milliseconds timeout{0};
  if (request.wait) timeout = options_.request_timeout + *request.wait + kLongPollMargin;
  auto text = Call("POST", Target("/v1/claims"), EncodeClaim(request), false, nullptr, timeout);
  if (!text.ok()) return text.status();
  return ParseClaims(*text);
}

Result<HeartbeatReply> Client::Heartbeat(const Lease& lease,
                                         std::optional<std::chrono::milliseconds> extend) {
  auto text = Call("POST", Target(LeasePath(lease, "heartbeat")), EncodeHeartbeat(lease, extend),
                   true, nullptr);
  if (!text.ok()) return text.status();
  return ParseHeartbeat(*text);
}

Result<Seq> Client::AppendEvents(const Lease& lease, const std::vector<NewEvent>& events) {
  auto body = EncodeAppend(lease, events);
  if (!body.ok()) return body.status();
  auto text =
      Call("POST", Target(LeasePath(lease, "events")), std::move(body).value(), false, nullptr);
  if (!text.ok()) return text.status();
  return ParseAppendReply(*text);
}

Result<Seq> Client::Progress(const Lease& lease, int percent, const std::string& message) {
  boost::json::object data;
  data["percent"] = percent;
  if (!message.empty()) data["message"] = message;
  NewEvent event{EventType::kProgress, boost::json::serialize(data)};
  return AppendEvents(lease, {event});
}

Result<FinishReply> Client::Complete(const Lease& lease, const std::string& result_json) {
  auto body = EncodeComplete(lease, result_json);
  if (!body.ok()) return body.status();
  auto text =
      Call("POST", Target(LeasePath(lease, "complete")), std::move(body).value(), false, nullptr);
  if (!text.ok()) return text.status();
  return ParseFinishReply(*text);
}

Result<std::vector<Result<FinishReply>>> Client::CompleteMany(
    const std::vector<Completion>& items) {
  std::vector<Lease> leases;
  std::vector<std::string> results;
  leases.reserve(items.size());
  results.reserve(items.size());
  for (const Completion& c : items) {
    leases.push_back(c.lease);
    results.push_back(c.result_json);
  }
  auto body = EncodeCompleteMany(leases, results);
  if (!body.ok()) return body.status();
  auto text = Call("POST", Target("/v1/leases/complete"), std::move(body).value(), false, nullptr);
  if (!text.ok()) return text.status();
  return ParseCompleteMany(*text);
}

Result<FinishReply> Client::Fail(const Lease& lease, const std::string& code,
                                 const std::string& message, bool retryable,
                                 std::optional<std::chrono::milliseconds> retry_delay) {
  auto text = Call("POST", Target(LeasePath(lease, "fail")),
                   EncodeFail(lease, code, message, retryable, retry_delay), false, nullptr);
  if (!text.ok()) return text.status();
  return ParseFinishReply(*text);
}

}  // namespace jobtape::client
