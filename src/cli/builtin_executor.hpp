// BuiltinExecutor: the server's built-in executor as RunServer wires it - the
// kind registry, the process runner and the Executor - plus the adapters the
// HTTP layer sees (KindPolicy for submissions and /health/ready, readings for
// /metrics). Built only when `kinds_dir` is configured.
//
// Thread-safety: Start/Stop from the thread that runs the server; the policy
// and Reading() from any thread.
#pragma once

#include <memory>
#include <string>

#include "cli/config.hpp"
#include "core/clock.hpp"
#include "engine/dispatcher.hpp"
#include "engine/snapshot.hpp"
#include "exec/executor.hpp"
#include "http/handlers/metrics.hpp"
#include "http/kind_policy.hpp"
#include "store/store.hpp"

namespace jobtape::cli {

class BuiltinExecutor final : public http::KindPolicy {
 public:
  // Loads the kind directory once (logging what it finds) and starts the
  // runner's supervisor thread; registers the executor with the store.
  static Result<std::unique_ptr<BuiltinExecutor>> Create(
      const ServerConfig& config, const std::string& node_id, store::Store& store,
      engine::Dispatcher& dispatcher, Clock& clock, engine::SnapshotRegistry& snapshots);
  ~BuiltinExecutor() override;

  void Start();
  // Stops claiming, lets processes stop within `timeout` (SIGTERM, then
  // SIGKILL), ends what is left as interrupted, then kills any process still
  // alive. Every attempt is written to the store when it returns.
  void Stop(Duration timeout);

  http::ExecutorReading Reading() const;

  // http::KindPolicy
  Status Apply(JobSpec& spec, const http::SubmittedFields& fields) const override;
  int LoadedKinds() const override;
  std::vector<http::KindProblem> Problems() const override;

 private:
  BuiltinExecutor() = default;

  int slots_ = 0;
  std::unique_ptr<exec::ChildLedger> ledger_;
  std::unique_ptr<exec::KindRegistry> kinds_;
  std::unique_ptr<exec::ProcessRunner> runner_;
  std::unique_ptr<exec::Executor> executor_;
};

}  // namespace jobtape::cli
