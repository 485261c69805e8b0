// jobtape: one binary for the server (`jobtape serve`) and its command-line
// client (the subcommands of client_commands.hpp).
//
// Exit codes: 0 success; 2 usage or configuration error; anything else as
// the subcommand reports it (serve.hpp, client_commands.hpp).
#include <CLI/CLI.hpp>

#include "cli/client_commands.hpp"
#include "cli/serve.hpp"

int main(int argc, char** argv) {
  CLI::App app{"jobtape: a durable job server with live, resumable event tapes", "jobtape"};
  app.set_version_flag("--version", "jobtape 0.1.0");
  app.require_subcommand(1);
  app.fallthrough(false);
  jobtape::cli::RegisterServeCommand(app);
  jobtape::cli::RegisterClientCommands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::RuntimeError& e) {
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  return 0;
}
