// The `serve` subcommand: flags for every configuration option, and the
// layering of file, environment and flags (cli/config.hpp).
#include "cli/serve.hpp"

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/logging.hpp"

namespace jobtape::cli {
namespace {

struct ServeFlags {
  std::string config_file;
  std::vector<std::string> tokens;
  std::map<std::string, std::string> values;  // option key -> flag value
  std::map<std::string, CLI::Option*> given;  // to tell a given flag from a default
};

// The placeholder shown for an option's value in --help.
std::string TypeName(std::string_view key) {
  if (key == "listen") return "HOST:PORT";
  if (key == "data_dir") return "DIR";
  if (key == "durability") return "full|normal";
  if (key == "log_level") return "LEVEL";
  if (key == "log_format") return "auto|text|json";
  if (key.size() > 3 && key.substr(key.size() - 3) == "_ms") return "MS";
  if (key.starts_with("reap_")) return "true|false";
  return "N";
}

[[noreturn]] void Fail(int code, const std::string& message) {
  std::fprintf(stderr, "jobtape serve: %s\n", message.c_str());
  throw CLI::RuntimeError(code);
}

ServerConfig BuildConfig(const ServeFlags& flags) {
  ServerConfig config;
  const std::map<std::string, std::string> env = ProcessEnv();
  std::string file = flags.config_file;
  if (file.empty()) {
    auto it = env.find("JOBTAPE_CONFIG");
    if (it != env.end()) file = it->second;
  }
  if (!file.empty()) {
    Status s = LoadConfigFile(file, config);
    if (!s.ok()) Fail(2, "config file: " + s.message());
  }
  Status s = LoadConfigEnv(env, config);
  if (!s.ok()) Fail(2, "environment: " + s.message());
  for (const auto& [key, option] : flags.given) {
    if (option->count() == 0) continue;
    s = SetConfigOption(key, flags.values.at(key), config);
    if (!s.ok()) Fail(2, FlagName(key) + ": " + s.message());
  }
  if (!flags.tokens.empty()) {
    std::string joined;
    for (const std::string& t : flags.tokens)
      joined += (joined.empty() ? "" : ",") + t;
    s = SetConfigOption("tokens", joined, config);
    if (!s.ok()) Fail(2, "--token: " + s.message());
  }
  s = ValidateConfig(config);
  if (!s.ok()) Fail(2, s.message());
  return config;
}

}  // namespace

void RegisterServeCommand(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  CLI::App* serve = app.add_subcommand(
      "serve",
      "Run the jobtape server: the HTTP API on an embedded SQLite database. Settings come from "
      "defaults, then --config FILE (TOML, keys as below without --), then JOBTAPE_* "
      "environment variables, then these flags. Stops gracefully on SIGTERM/SIGINT.");
  serve->add_option("--config", flags->config_file, "TOML configuration file [env: JOBTAPE_CONFIG]")
      ->type_name("FILE");
  for (const ConfigOption& option : ConfigOptions()) {
    const std::string key(option.key);
    if (key == "tokens") {
      serve
          ->add_option("--token", flags->tokens,
                       "API token ROLE:TOKEN, repeatable (replaces configured tokens; prefer "
                       "JOBTAPE_TOKENS or the file: flags show in `ps`) [env: JOBTAPE_TOKENS]")
          ->type_name("ROLE:TOKEN");
      continue;
    }
    CLI::Option* o = serve->add_option(FlagName(key), flags->values[key],
                                       std::string(option.help) + " [env: " + EnvName(key) + "]");
    o->type_name(TypeName(key));
    flags->given[key] = o;
  }
  serve->callback([flags] {
    ServerConfig config = BuildConfig(*flags);
    Status logging = SetupLogging(config.log_level, config.log_format);
    if (!logging.ok()) Fail(2, logging.message());
    int code = RunServer(config);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace jobtape::cli
