// POST /v1/claims: a worker leases up to `max` jobs from `queues`, waiting up
// to `wait_ms` for work (a long poll through Dispatcher::ClaimAsync, woken by
// new work rather than by polling).
//
// The wait is raced against the client going away: a worker that disconnects
// mid-poll gives its waiter up at once (Dispatcher::CancelClaim), and jobs a
// claim leased in the instant before are handed back for an immediate retry
// rather than left to expire. Shutdown ends every wait with 503.
#include <memory>
#include <mutex>
#include <optional>
#include <variant>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "core/limits.hpp"
#include "http/handlers/handler_util.hpp"
#include "http/handlers/metrics.hpp"
#include "http/handlers/routes.hpp"
#include "http/job_encode.hpp"
#include "http/json_fields.hpp"
#include "http/store_await.hpp"

namespace jobtape::http {
namespace {

using boost::asio::awaitable;

// Where the dispatcher leaves a claim's result for the handler, which may
// have stopped waiting by the time it comes (client gone, shutdown).
struct ClaimBox {
  std::mutex mu;
  bool abandoned = false;                            // GUARDED_BY(mu)
  std::optional<Result<store::ClaimResult>> result;  // GUARDED_BY(mu)
};

// Gives leased jobs nobody will work on back for an immediate retry. The
// attempt counts (the tape shows it started), as it would had its lease expired.
void Release(store::Store& store, Clock& clock, const store::ClaimResult& claimed) {
  for (const store::ClaimedJob& c : claimed.jobs) {
    Outcome outcome =
        Outcome::Failed("claim_abandoned", "the worker went away before it received the job");
    outcome.retry_delay = Duration::zero();
    store.JobFinishAsync({.now = clock.Now(), .lease = c.lease, .outcome = std::move(outcome)},
                         [](Result<store::FinishResult>) {});
  }
}

struct ClaimInput {
  engine::ClaimRequest request;
  Duration wait{0};
};

Result<ClaimInput> DecodeClaim(const ServerContext& ctx, const Request& req,
                               const boost::json::object& o, Phase& phase) {
  phase = Phase::kDecode;
  ClaimInput in;
  in.request.lease_ttl = ctx.settings.default_lease;
  JT_RETURN_IF_ERROR(CheckKnownFields(o, {"queues", "max", "wait_ms", "lease_ms", "worker_id"}));
  if (FindField(o, "queues") == nullptr) return Status::InvalidArgument("is required", "queues");
  JT_RETURN_IF_ERROR(ReadStringArray(o, "queues", in.request.queues));
  JT_RETURN_IF_ERROR(ReadInt(o, "max", in.request.max));
  JT_RETURN_IF_ERROR(ReadMillis(o, "wait_ms", in.wait));
  JT_RETURN_IF_ERROR(ReadMillis(o, "lease_ms", in.request.lease_ttl));
  JT_RETURN_IF_ERROR(ReadString(o, "worker_id", in.request.worker_id));

  phase = Phase::kApply;
  if (in.request.queues.empty()) {
    return Status::InvalidArgument("must name at least one queue", "queues");
  }
  for (std::size_t i = 0; i < in.request.queues.size(); ++i) {
    if (!IsValidName(in.request.queues[i])) {
      return Status::InvalidArgument("must match [A-Za-z0-9_.:-]{1,128}",
                                     "queues[" + std::to_string(i) + "]");
    }
  }
  const std::size_t max_claim = ctx.store.limits().max_claim;
  if (in.request.max < 1 || static_cast<std::size_t>(in.request.max) > max_claim) {
    return Status::InvalidArgument("must be between 1 and " + std::to_string(max_claim), "max");
  }
  JT_RETURN_IF_ERROR(ValidateLeaseTtl(in.request.lease_ttl));
  if (in.request.worker_id.empty()) {
    in.request.worker_id = req.principal ? req.principal->name : "anonymous";
  } else if (!IsValidName(in.request.worker_id)) {
    return Status::InvalidArgument("must match [A-Za-z0-9_.:-]{1,128}", "worker_id");
  }
  // Clamped rather than refused: a worker library asking for longer simply
  // polls again, which is what it would do after any empty answer.
  in.wait = std::min<Duration>(in.wait, ctx.settings.max_claim_wait);
  return in;
}

void WriteClaimed(JsonWriter& w, const store::ClaimResult& r) {
  w.BeginObject().Key("jobs").BeginArray();
  for (const store::ClaimedJob& c : r.jobs) {
    w.BeginObject();
    w.Key("job");
    WriteJob(w, c.job);
    w.Key("lease");
    WriteLease(w, c.lease);
    w.EndObject();
  }
  w.EndArray();
  WriteTime(w, "next_due", r.next_due);
  w.EndObject();
}

awaitable<Response> Claim(ServerContext& ctx, Request& req) {
  using boost::asio::experimental::awaitable_operators::operator||;
  if (ctx.draining.load()) co_return DrainingResponse(req);
  auto body = ParseObjectBody(req, ctx);
  if (!body.ok()) co_return ErrorResponse(body.status(), req, Phase::kDecode);
  Phase phase;
  auto in = DecodeClaim(ctx, req, body->get_object(), phase);
  if (!in.ok()) co_return ErrorResponse(in.status(), req, phase);

  const TimePoint deadline = ctx.clock.Now() + in->wait;
  auto box = std::make_shared<ClaimBox>();
  engine::ClaimTicket ticket = 0;
  auto claim = AwaitStore<bool>([&](store::Done<bool> done) {
    ticket =
        ctx.dispatcher.ClaimAsync(std::move(in->request), deadline,
                                  [box, store = &ctx.store, clock = &ctx.clock,
                                   done = std::move(done)](Result<store::ClaimResult> r) {
                                    bool abandoned;
                                    {
                                      std::lock_guard<std::mutex> lock(box->mu);
                                      abandoned = box->abandoned;
                                      if (!abandoned) box->result.emplace(std::move(r));
                                    }
                                    if (!abandoned) {
                                      done(true);
                                    } else if (r.ok()) {
                                      Release(*store, *clock, *r);  // the handler stopped waiting
                                    }
                                  });
  });
  bool client_gone = false;
  if (in->wait > Duration::zero() && req.client != nullptr) {
    auto first = co_await (std::move(claim) || req.client->WaitForDisconnect());
    client_gone = first.index() == 1;
  } else {
    (void)co_await std::move(claim);
  }

  std::optional<Result<store::ClaimResult>> result;
  {
    std::lock_guard<std::mutex> lock(box->mu);
    if (box->result) {
      result = std::move(box->result);
    } else {
      box->abandoned = true;
    }
  }
  if (!result) {
    // Client gone or server stopping: give the waiter up (a claim still at
    // the store then releases whatever it gets).
    ctx.dispatcher.CancelClaim(ticket);
    co_return ErrorResponse(
        Status::Unavailable(client_gone ? "the client went away" : "the claim was cancelled"), req);
  }
  if (!result->ok()) co_return ErrorResponse(result->status(), req);
  if (client_gone) {
    Release(ctx.store, ctx.clock, **result);
    co_return ErrorResponse(Status::Unavailable("the client went away"), req);
  }
  ctx.metrics.JobsClaimed((*result)->jobs.size());
  JsonWriter w;
  WriteClaimed(w, **result);
  co_return JsonReply(200, w);
}

}  // namespace

void AddClaimRoutes(Router& router, ServerContext& ctx) {
  router.Add(
      Method::kPost, "/v1/claims", Permission::kClaims,
      [&ctx](Request& req) -> awaitable<Response> { return Claim(ctx, req); }, RequestBody::kJson);
}

}  // namespace jobtape::http
