// The client subcommands of `jobtape` (submit, watch, ls, show, cancel,
// retry, queues, health, worker, ...), which talk to a server over the HTTP API.
// main() calls RegisterClientCommands after registering `serve`.
//
// Contract with main(): a command's callback returns normally for exit code
// 0 and throws CLI::RuntimeError(code) for any other exit code (after
// printing its own message); usage errors are CLI11's and exit 2.
//
// Thread-safety: called once, from main().
#pragma once

namespace CLI {
class App;
}

namespace jobtape::cli {

void RegisterClientCommands(CLI::App& app);

}  // namespace jobtape::cli
