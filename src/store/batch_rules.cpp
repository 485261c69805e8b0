#include "store/batch_rules.hpp"

#include <charconv>

#include "store/rules.hpp"

namespace jobtape::store {

Status ValidateBatchCreate(const BatchCreateParams& p, const Limits& limits) {
  if (p.jobs.empty()) return Status::InvalidArgument("at least one job", "jobs");
  if (p.jobs.size() > limits.max_batch_members) {
    return Status::LimitExceeded("batch of " + std::to_string(p.jobs.size()) + " jobs, limit " +
                                     std::to_string(limits.max_batch_members),
                                 "jobs");
  }
  for (std::size_t i = 0; i < p.jobs.size(); ++i) {
    const JobSpec& spec = p.jobs[i];
    Status s = spec.idempotency_key.empty()
                   ? ValidateJobSpec(spec, limits, p.now)
                   : Status::InvalidArgument("not allowed on a member; give the batch one",
                                             "idempotency_key");
    if (s.ok() && !IsValidJson(spec.payload)) {
      s = Status::InvalidArgument("not valid JSON", "payload");
    }
    if (!s.ok()) return s.WithFieldPrefix("jobs[" + std::to_string(i) + "]");
  }
  if (p.on_complete) {
    Status s = ValidateJobTemplate(*p.on_complete, limits, p.now, "the batch");
    if (!s.ok()) return s.WithFieldPrefix("on_complete");
  }
  if (p.idempotency_key.size() > kMaxKeyLength) {
    return Status::InvalidArgument("longer than " + std::to_string(kMaxKeyLength) + " bytes",
                                   "idempotency_key");
  }
  return Status::Ok();
}

Status ValidateBatchCancel(const BatchCancelParams& p) {
  return ValidateCancel(
      CancelParams{.now = p.now, .id = p.id, .grace = p.grace, .reason = p.reason});
}

std::string BatchIdText(BatchId id) {
  return std::to_string(id);
}

std::optional<BatchId> ParseBatchId(std::string_view text) {
  BatchId id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id < 1) return std::nullopt;
  return id;
}

JobSpec OnCompleteJobSpec(BatchId id, const JobSpec& tmpl) {
  std::string tag(kBatchTagPrefix);
  tag += BatchIdText(id);
  return JobFromTemplate(tmpl, std::move(tag), "on_complete");
}

}  // namespace jobtape::store
