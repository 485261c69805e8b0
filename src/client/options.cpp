#include "client/options.hpp"

#include <cstdlib>

namespace jobtape::client {

Result<ClientOptions> ResolveClientOptions(const std::optional<std::string>& server_flag,
                                           const std::map<std::string, std::string>& env) {
  std::string url(kDefaultServerUrl);
  if (auto it = env.find("JOBTAPE_URL"); it != env.end() && !it->second.empty()) url = it->second;
  if (server_flag && !server_flag->empty()) url = *server_flag;
  auto base = ParseBaseUrl(url);
  if (!base.ok()) return base.status();
  ClientOptions options;
  options.server = std::move(base).value();
  if (auto it = env.find("JOBTAPE_TOKEN"); it != env.end()) options.token = it->second;
  return options;
}

std::map<std::string, std::string> ClientEnv() {
  std::map<std::string, std::string> env;
  for (const char* name : {"JOBTAPE_URL", "JOBTAPE_TOKEN"}) {
    if (const char* value = std::getenv(name)) env[name] = value;
  }
  return env;
}

}  // namespace jobtape::client
