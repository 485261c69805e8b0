// `jobtape serve`: assembles the configuration (defaults < TOML file <
// JOBTAPE_* environment < flags) and runs the server until SIGTERM/SIGINT.
//
// Exit codes: 0 after a graceful shutdown; 2 for an invalid configuration
// (including a non-loopback address without tokens); 1 when the server cannot
// start (data directory, database, address in use); 128 + signal when a second
// signal cut the shutdown short.
//
// Thread-safety: called from main() only.
#pragma once

#include "cli/config.hpp"

namespace CLI {
class App;
}

namespace jobtape::cli {

// Adds the `serve` subcommand to `app`. Its callback throws CLI::RuntimeError
// with the exit code when that is not 0.
void RegisterServeCommand(CLI::App& app);

// Runs the server with a validated configuration; returns the exit code.
// Prints "listening on http://HOST:PORT" (the bound port, also for port 0)
// once it accepts connections.
int RunServer(const ServerConfig& config);

}  // namespace jobtape::cli
