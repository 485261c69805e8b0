#include "store/store.hpp"

#include <future>

namespace jobtape::store {
namespace {

// Runs an async store call and blocks until its completion fires.
template <typename T, typename Call>
Result<T> Wait(Call&& call) {
  std::promise<Result<T>> promise;
  auto future = promise.get_future();
  call([&promise](Result<T> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace

#define JT_SYNC(Type, Name, Param)                                                           \
  Result<Type> Store::Name(Param p) {                                                        \
    return Wait<Type>([&](Done<Type> done) { Name##Async(std::move(p), std::move(done)); }); \
  }

JT_SYNC(EnqueueResult, JobsEnqueue, EnqueueParams)
JT_SYNC(ClaimResult, JobsClaim, ClaimParams)
JT_SYNC(HeartbeatResult, LeaseHeartbeat, HeartbeatParams)
JT_SYNC(AppendResult, TapeAppend, AppendParams)
JT_SYNC(FinishResult, JobFinish, FinishParams)
JT_SYNC(std::vector<Result<FinishResult>>, JobsFinish, std::vector<FinishParams>)
JT_SYNC(CancelResult, JobCancel, CancelParams)
JT_SYNC(EnqueuedJob, JobRetry, RetryParams)
JT_SYNC(ReapResult, LeasesReapExpired, ReapParams)
JT_SYNC(RecoverResult, AttemptsRecover, RecoverParams)
JT_SYNC(QueueInfo, QueueUpdate, QueueUpdateParams)
JT_SYNC(Job, JobGet, JobId)
JT_SYNC(JobPage, JobsList, ListParams)
JT_SYNC(TapePage, TapeRead, TapeReadParams)
JT_SYNC(ScheduleUpsertResult, ScheduleUpsert, ScheduleUpsertParams)
JT_SYNC(Schedule, ScheduleDelete, std::string)
JT_SYNC(SchedulesFireDueResult, SchedulesFireDue, SchedulesFireDueParams)
JT_SYNC(Schedule, ScheduleGet, std::string)
JT_SYNC(SchedulePage, SchedulesList, SchedulesListParams)
JT_SYNC(BatchCreateResult, BatchCreate, BatchCreateParams)
JT_SYNC(BatchCancelResult, BatchCancel, BatchCancelParams)
JT_SYNC(BatchInfo, BatchGet, BatchId)

#undef JT_SYNC

Result<std::vector<QueueInfo>> Store::QueuesList() {
  return Wait<std::vector<QueueInfo>>([&](auto done) { QueuesListAsync(std::move(done)); });
}

Result<StoreHealth> Store::Health() {
  return Wait<StoreHealth>([&](auto done) { HealthAsync(std::move(done)); });
}

std::string_view MisfirePolicyName(MisfirePolicy policy) {
  switch (policy) {
    case MisfirePolicy::kSkip:
      return "skip";
    case MisfirePolicy::kRunOnce:
      return "run_once";
  }
  return "skip";
}

std::optional<MisfirePolicy> ParseMisfirePolicy(std::string_view name) {
  if (name == "skip") return MisfirePolicy::kSkip;
  if (name == "run_once") return MisfirePolicy::kRunOnce;
  return std::nullopt;
}

}  // namespace jobtape::store
