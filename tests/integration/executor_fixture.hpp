// ExecutorTest: the fixture of the built-in executor's integration tests
// (executor_test.cpp, executor_outcomes_test.cpp): a kind directory in the
// test's temp dir, kind files written atomically, and a real server running
// them.
//
// Thread-safety: one test thread.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "api_fixture.hpp"
#include "tape_helpers.hpp"

namespace jobtape::integration {

class ExecutorTest : public ServerTest {
 protected:
  void SetUp() override {
    kinds_ = dir_.path() + "/kinds";
    std::filesystem::create_directories(kinds_);
  }

  // Writes <kinds>/<file> atomically (temp file + rename, as editors do).
  void WriteKind(const std::string& file, const std::string& toml) {
    const std::string tmp = kinds_ + "/." + file + ".tmp";
    std::ofstream(tmp) << toml;
    std::filesystem::rename(tmp, kinds_ + "/" + file);
  }
  // A kind running `script` under /bin/sh in queue "builtin".
  void ShellKind(const std::string& name, const std::string& script,
                 const std::string& extra = {}) {
    WriteKind(name + ".toml", "name = \"" + name +
                                  "\"\nqueue = \"builtin\"\nargv = [\"/bin/sh\", \"-c\", '''" +
                                  script + "''']\n" + extra);
  }

  // The server's flags: these kinds, plus `extra`.
  std::vector<std::string> ServerArgs(const std::vector<std::string>& extra = {}) const {
    // Keep-alive comments would reset the SSE reads' guard: with none, a job
    // that never ends fails its test instead of hanging it.
    std::vector<std::string> args = {"--kinds-dir",           kinds_,  "--cancel-grace-ms", "1000",
                                     "--stream-keepalive-ms", "600000"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }
  void Start(const std::vector<std::string>& extra = {}) { StartServer(ServerArgs(extra)); }

  int64_t SubmitKind(Api& api, const std::string& kind, const std::string& extra = {}) {
    ApiReply r = api.Post("/v1/jobs",
                          "{\"kind\":\"" + kind + "\"" + (extra.empty() ? "" : "," + extra) + "}");
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? r.json.at("id").as_int64() : 0;
  }

  std::vector<TapeEvent> WaitForFinal(int64_t id) { return integration::WaitForFinal(port(), id); }

  // The job's tape once it succeeded (a retry runs after its backoff, and
  // nothing signals it to a client without a stream: bounded polling).
  static ApiReply WaitForSuccess(Api& api, int64_t id) {
    ApiReply events;
    for (int i = 0; i < 1000000; ++i) {
      events = api.Get("/v1/jobs/" + std::to_string(id) + "/events");
      if (events.json.at("state") == "succeeded") break;
    }
    return events;
  }

  std::string kinds_;
};

}  // namespace jobtape::integration
