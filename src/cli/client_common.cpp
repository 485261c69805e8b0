#include "cli/client_common.hpp"

#include <charconv>
#include <iostream>

#include "cli/watch_display.hpp"

namespace jobtape::cli {

void AddClientFlags(CLI::App& command, ClientFlags& flags) {
  command.add_option("--server", flags.server,
                     "Server URL (default: $JOBTAPE_URL, else http://127.0.0.1:8080); "
                     "the bearer token comes from $JOBTAPE_TOKEN");
  command.add_flag("--json", flags.json, "Print the server's JSON instead of human output");
}

std::unique_ptr<client::Client> MakeClient(const ClientFlags& flags) {
  std::optional<std::string> server;
  if (!flags.server.empty()) server = flags.server;
  auto options = client::ResolveClientOptions(server, client::ClientEnv());
  if (!options.ok()) Fail(options.status());
  options->user_agent = "jobtape-cli/0.1";
  return std::make_unique<client::Client>(std::move(options).value());
}

void PrintError(const Status& status) {
  std::cerr << "jobtape: " << status.ToString() << std::endl;
}

void ExitWith(int code) {
  if (code != 0) throw CLI::RuntimeError(code);
}

void Fail(const Status& status) {
  PrintError(status);
  throw CLI::RuntimeError(kExitError);
}

JobId ParseJobId(const std::string& text) {
  JobId id = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || ptr != text.data() + text.size() || id <= 0) {
    Fail(Status::InvalidArgument("'" + text + "' is not a job id", "ID"));
  }
  return id;
}

}  // namespace jobtape::cli
