// One job of `jobtape worker -- CMD`: runs the operator's command as a child
// process under the same contract as the server's built-in executor
// (exec/attempt.hpp, exec/protocol.hpp), inside a worker SDK handler:
//
//   * the payload goes to stdin; JOBTAPE_JOB_ID/ATTEMPT/QUEUE/KIND are set;
//   * `::progress N msg` lines become `progress` events, `::result JSON` the
//     job's result, every other stdout/stderr line a `log` event through an
//     OutputLimiter (with its truncation notices), in the executor's shapes
//     (exec/executor_events.hpp), in order per stream;
//   * the exit status maps to the outcome as AttemptOutcome does;
//   * the job's stop token ends the process: a cancel request or a shutdown
//     sends SIGTERM to its process group and SIGKILL after the grace (the
//     attempt then ends as a failure, which the SDK turns into `cancelled` or
//     `worker_shutdown`); a lost lease SIGKILLs the group at once and drops
//     whatever output is left.
//
// The handler returns only after the process's on_exit, so no child of a job
// outlives its handler call.
//
// Thread-safety: RunCommandJob is called from the SDK's handler threads, any
// number at once; the CommandJobSpec is shared read-only and the runner is
// thread-safe.
#pragma once

#include "client/worker.hpp"
#include "exec/kind.hpp"
#include "exec/output_limiter.hpp"
#include "exec/process.hpp"

namespace jobtape::cli {

struct CommandJobSpec {
  // argv, env (without JOBTAPE_*), working_dir, timeout, cancel_grace and
  // retry (exit-code lists) are used; name and queue are not (each job
  // brings its own kind and queue).
  exec::KindSpec kind;
  exec::OutputLimits limits;
};

// Runs `ctx`'s job as described above and returns its outcome.
client::JobResult RunCommandJob(const CommandJobSpec& spec, exec::ProcessRunner& runner,
                                client::JobContext& ctx);

}  // namespace jobtape::cli
