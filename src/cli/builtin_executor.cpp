#include "cli/builtin_executor.hpp"

#include <spdlog/spdlog.h>

#include <set>

namespace jobtape::cli {
namespace {

void LogKinds(const exec::KindSet& set, const std::string& dir) {
  if (!set.dir_status.ok()) {
    spdlog::error("kinds: {}: {}", dir, set.dir_status.message());
    return;
  }
  std::string names;
  for (const auto& [name, kind] : set.kinds)
    names += (names.empty() ? "" : ", ") + name + " (queue " + kind.queue + ")";
  spdlog::info("kinds: {} loaded from {}{}{}", set.kinds.size(), dir, names.empty() ? "" : ": ",
               names);
  for (const exec::KindFileError& e : set.errors) {
    spdlog::error("kinds: skipped {}: {}", e.path, e.status.message());
  }
}

}  // namespace

Result<std::unique_ptr<BuiltinExecutor>> BuiltinExecutor::Create(
    const ServerConfig& config, const std::string& node_id, store::Store& store,
    engine::Dispatcher& dispatcher, Clock& clock, engine::SnapshotRegistry& snapshots) {
  std::unique_ptr<BuiltinExecutor> b(new BuiltinExecutor());
  b->slots_ = config.executor_slots;
  // Before anything runs (and before recovery retries their jobs): kill what
  // the attempts of a crashed run of this server left behind.
  auto ledger = exec::ChildLedger::Open(config.data_dir + "/executor");
  if (!ledger.ok()) return ledger.status();
  b->ledger_ = std::make_unique<exec::ChildLedger>(std::move(ledger).value());
  for (const exec::LeftoverGroup& g : b->ledger_->KillLeftovers()) {
    if (g.signalled) {
      spdlog::warn("killed process group {} left by job {} attempt {} before the last shutdown",
                   g.pgid, g.job_id, g.attempt);
    }
  }
  b->kinds_ = std::make_unique<exec::KindRegistry>(config.kinds_dir);
  // Loaded before the server accepts submissions, which take defaults from it;
  // from then on the executor's loop rescans.
  LogKinds(*b->kinds_->Refresh(), config.kinds_dir);
  auto runner = exec::ProcessRunner::Create();
  if (!runner.ok()) return runner.status();
  b->runner_ = std::move(runner).value();
  exec::ExecutorOptions options;
  options.node_id = node_id;
  options.slots = config.executor_slots;
  options.lease_ttl = config.executor_lease;
  // Two renewals may fail before the lease runs out.
  options.heartbeat_interval = config.executor_lease / 3;
  options.output_limits.lines_per_second = config.executor_log_lines_per_second;
  options.output_limits.burst_lines = config.executor_log_burst_lines;
  options.output_limits.max_total_bytes = config.executor_log_max_bytes;
  options.registry = &snapshots;
  options.ledger = b->ledger_.get();
  const std::string dir = config.kinds_dir;
  options.on_kinds_changed = [dir](const exec::KindSet& set) { LogKinds(set, dir); };
  b->executor_ = std::make_unique<exec::Executor>(store, dispatcher, clock, *b->kinds_, *b->runner_,
                                                  std::move(options));
  store.AddObserver(b->executor_.get());
  return b;
}

BuiltinExecutor::~BuiltinExecutor() {
  Stop(Duration{0});
}

void BuiltinExecutor::Start() {
  executor_->Start();
}

void BuiltinExecutor::Stop(Duration timeout) {
  if (executor_) executor_->Stop(timeout);
  if (runner_) runner_->Shutdown();
}

http::ExecutorReading BuiltinExecutor::Reading() const {
  exec::ExecutorCounters c = executor_->counters();
  auto set = kinds_->Current();
  return {.slots = slots_,
          .running = c.running,
          .kinds = static_cast<int64_t>(set->kinds.size()),
          .kind_file_errors = static_cast<int64_t>(set->errors.size()),
          .spawned = c.spawned,
          .succeeded = c.succeeded,
          .failed = c.failed,
          .cancelled = c.cancelled,
          .interrupted = c.interrupted,
          .unknown_kind = c.unknown_kind,
          .lost_leases = c.lost_leases};
}

Status BuiltinExecutor::Apply(JobSpec& spec, const http::SubmittedFields& fields) const {
  auto set = kinds_->Current();
  if (const exec::KindSpec* kind = set->Find(spec.kind)) {
    if (!fields.queue) spec.queue = kind->queue;
    if (!fields.max_attempts) spec.max_attempts = kind->retry.max_attempts;
    if (!fields.backoff && kind->retry.backoff) spec.backoff = *kind->retry.backoff;
    return Status::Ok();
  }
  std::set<std::string> served;
  for (const auto& [name, kind] : set->kinds) {
    if (kind.queue == spec.queue) served.insert(name);
  }
  if (served.empty()) return Status::Ok();  // a queue for remote workers
  std::string names;
  for (const std::string& n : served)
    names += (names.empty() ? "" : ", ") + n;
  return Status::InvalidArgument("kind '" + spec.kind + "' is not defined; queue '" + spec.queue +
                                     "' runs the built-in kinds " + names + " only",
                                 "kind");
}

int BuiltinExecutor::LoadedKinds() const {
  return static_cast<int>(kinds_->Current()->kinds.size());
}

std::vector<http::KindProblem> BuiltinExecutor::Problems() const {
  auto set = kinds_->Current();
  std::vector<http::KindProblem> out;
  if (!set->dir_status.ok()) out.push_back({kinds_->dir(), set->dir_status.message()});
  for (const exec::KindFileError& e : set->errors)
    out.push_back({e.path, e.status.message()});
  return out;
}

}  // namespace jobtape::cli
