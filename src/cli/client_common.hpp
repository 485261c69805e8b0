// Shared plumbing of the client commands (submit, watch, ls, show, cancel,
// retry, queues, health): the --server/--json flags every one of them takes,
// building a Client from flags and environment, printing errors, and ending
// a command with an exit code.
//
// A command's callback ends with a non-zero exit code by throwing
// CLI::RuntimeError(code) (ExitWith), which CLI11_PARSE / App::exit turn into
// main's return value without printing anything more.
//
// Exit codes: 0 success (for watch: the job succeeded), 1 the job failed
// (watch, submit --wait/--watch) or health is not ok, 2 usage or any other
// error (server unreachable, unknown job, refused request), 3 the job was
// cancelled.
//
// Thread-safety: used from main's thread only.
#pragma once

#include <iosfwd>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "client/client.hpp"
#include "core/status.hpp"

namespace jobtape::cli {

struct ClientFlags {
  std::string server;  // empty: JOBTAPE_URL, then the default
  bool json = false;
};

// Adds --server and --json to `command`, bound to `flags`.
void AddClientFlags(CLI::App& command, ClientFlags& flags);

// A client for `flags` and the process environment (JOBTAPE_URL,
// JOBTAPE_TOKEN). Prints the error and exits with kExitError on a bad URL.
std::unique_ptr<client::Client> MakeClient(const ClientFlags& flags);

// "jobtape: <code>: <message> (field <field>)" on stderr.
void PrintError(const Status& status);

// Ends the command with `code` (no-op for 0).
void ExitWith(int code);
// PrintError, then ExitWith(kExitError).
[[noreturn]] void Fail(const Status& status);

// Parses a job id argument ("42"); Fail()s with invalid_argument otherwise.
JobId ParseJobId(const std::string& text);

// The individual commands (one file each group).
void AddSubmitCommand(CLI::App& app);
void AddWatchCommand(CLI::App& app);
void AddListCommand(CLI::App& app);
void AddShowCommand(CLI::App& app);
void AddCancelCommand(CLI::App& app);
void AddRetryCommand(CLI::App& app);
void AddQueuesCommand(CLI::App& app);
void AddHealthCommand(CLI::App& app);
void AddScheduleCommand(CLI::App& app);  // schedule put|get|list|delete|pause|resume
void AddBatchCommand(CLI::App& app);     // batch submit|get|watch|cancel

// Follows job `id` until it ends, showing its events on stdout (WatchDisplay
// chooses terminal/plain/json by `json` and stdout), then prints the outcome
// and returns its exit code (ExitCodeFor). Errors Fail().
int WatchAndReport(client::Client& client, JobId id, Seq after, bool json, bool quiet);

}  // namespace jobtape::cli
