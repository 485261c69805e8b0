// BenchOptions: the benchmarks' command lines, "--name value" pairs bound to
// variables. An unknown name, a missing value or a malformed number stops the
// program with a message and exit code 2 (benchmarks are programs that either
// run or say why not). Hand-written rather than CLI11: the benchmark drivers
// link only what they measure.
//
// Thread-safety: one thread, before the benchmark starts.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>

namespace jobtape::bench {

// The default --dir of the benchmarks that drive the server: $TMPDIR, else
// /tmp. It must be on a real disk for the fsyncs to mean anything.
inline std::string DefaultDir() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

class BenchOptions {
 public:
  BenchOptions& Int(const std::string& name, int& out) {
    setters_[name] = [&out, name](const std::string& v) { out = ParseNumber<int>(name, v); };
    return *this;
  }
  BenchOptions& Double(const std::string& name, double& out) {
    setters_[name] = [&out, name](const std::string& v) { out = ParseNumber<double>(name, v); };
    return *this;
  }
  BenchOptions& Str(const std::string& name, std::string& out) {
    setters_[name] = [&out](const std::string& v) { out = v; };
    return *this;
  }

  void Parse(int argc, char** argv) const {
    for (int i = 1; i < argc; i += 2) {
      const std::string name = argv[i];
      auto it = setters_.find(name);
      if (it == setters_.end()) Stop("unknown option " + name);
      if (i + 1 >= argc) Stop(name + " needs a value");
      it->second(argv[i + 1]);
    }
  }

  [[noreturn]] static void Stop(const std::string& why) {
    std::fprintf(stderr, "%s\n", why.c_str());
    std::exit(2);
  }

 private:
  template <typename T>
  static T ParseNumber(const std::string& name, const std::string& text) {
    char* end = nullptr;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size()) Stop(name + ": not a number: " + text);
    return static_cast<T>(v);
  }

  std::map<std::string, std::function<void(const std::string&)>> setters_;
};

}  // namespace jobtape::bench
