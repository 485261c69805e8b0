// `jobtape worker [options] -- CMD ARGS...`: a remote worker that leases jobs
// from a server (the worker SDK, client/worker.hpp) and runs CMD once per job
// under the built-in executor's contract (commands_worker_job.hpp), so an
// operator adds machines without writing code.
//
// The command's environment is explicit, as for the built-in executor, and
// never the worker's whole environment (which holds JOBTAPE_TOKEN): PATH,
// HOME and LANG are copied from the worker's environment (PATH defaults to
// /usr/local/bin:/usr/bin:/bin), then each --pass-env NAME, then each --env
// NAME=VALUE, then JOBTAPE_JOB_ID/ATTEMPT/QUEUE/KIND. JOBTAPE_* names are
// reserved.
//
// Logs (one line per job start and end, errors the worker recovers from) go
// to stderr. SIGTERM/SIGINT stop it gracefully as Worker::Run documents:
// running commands get --shutdown-grace-ms to finish, then SIGTERM and, after
// --cancel-grace-ms, SIGKILL; their jobs are handed back (`worker_shutdown`,
// retryable); exit 0. A second signal exits at once (the commands die with
// the worker; their leases run out and the jobs run again elsewhere).
//
// Exit codes: 0 after a signal; 2 for usage errors and when the server
// refuses the worker for good (bad token, bad queue name).
//
// Thread-safety: called once, from main().
#pragma once

namespace CLI {
class App;
}

namespace jobtape::cli {

void AddWorkerCommand(CLI::App& app);

}  // namespace jobtape::cli
