#include "exec/kind.hpp"

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "core/limits.hpp"

namespace jobtape::exec {

bool RetryPolicy::IsRetryableExitCode(int code) const {
  if (code == 0) return false;
  if (!retryable_exit_codes.empty()) {
    return std::binary_search(retryable_exit_codes.begin(), retryable_exit_codes.end(), code);
  }
  return !std::binary_search(fatal_exit_codes.begin(), fatal_exit_codes.end(), code);
}

namespace {

// Validation of one parsed document; every error names the origin and the key.
class KindReader {
 public:
  explicit KindReader(const std::string& origin) : origin_(origin) {}

  Status Error(std::string_view key, std::string_view why) const {
    std::string msg = origin_;
    msg += ": ";
    msg += key;
    msg += ": ";
    msg += why;
    return Status::InvalidArgument(std::move(msg), std::string(key));
  }

  // Rejects any key of `table` not in `allowed`; `prefix` is "" or "retry.".
  Status OnlyKeys(const toml::table& table, std::string_view prefix,
                  std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, node] : table) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
        return Error(std::string(prefix) + std::string(key.str()), "unknown key");
      }
    }
    return Status::Ok();
  }

  Result<std::string> String(const toml::node& node, std::string_view key) const {
    const auto* s = node.as_string();
    if (s == nullptr) return Error(key, "must be a string");
    const std::string& v = s->get();
    // exec() cannot carry a NUL; refuse instead of silently cutting the string.
    if (v.find('\0') != std::string::npos) return Error(key, "must not contain a NUL byte");
    return v;
  }

  Result<int64_t> Int(const toml::node& node, std::string_view key, int64_t lo, int64_t hi) const {
    const auto* i = node.as_integer();
    if (i == nullptr) return Error(key, "must be an integer");
    int64_t v = i->get();
    if (v < lo || v > hi) {
      return Error(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                            " (got " + std::to_string(v) + ")");
    }
    return v;
  }

  Result<double> Double(const toml::node& node, std::string_view key, double lo, double hi) const {
    double v = 0;
    if (const auto* f = node.as_floating_point()) {
      v = f->get();
    } else if (const auto* i = node.as_integer()) {
      v = static_cast<double>(i->get());
    } else {
      return Error(key, "must be a number");
    }
    if (!(v >= lo && v <= hi)) {
      return Error(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    }
    return v;
  }

  Result<std::vector<int>> ExitCodes(const toml::node& node, std::string_view key) const {
    const auto* arr = node.as_array();
    if (arr == nullptr) return Error(key, "must be an array of integers");
    std::vector<int> codes;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      std::string k = std::string(key) + "[" + std::to_string(i) + "]";
      auto code = Int(*arr->get(i), k, 1, 255);
      if (!code.ok()) return code.status();
      codes.push_back(static_cast<int>(*code));
    }
    std::sort(codes.begin(), codes.end());
    codes.erase(std::unique(codes.begin(), codes.end()), codes.end());
    return codes;
  }

  Result<Duration> Millis(const toml::node& node, std::string_view key, Duration lo,
                          Duration hi) const {
    auto ms = Int(node, key, lo.count() / 1000, hi.count() / 1000);
    if (!ms.ok()) return ms.status();
    return Duration(std::chrono::milliseconds(*ms));
  }

  Status ReadArgv(const toml::node& node, KindSpec& spec) const;
  Status ReadEnv(const toml::node& node, KindSpec& spec) const;
  Status ReadRetry(const toml::node& node, KindSpec& spec) const;
  Status ReadBackoff(const toml::node& node, KindSpec& spec) const;

 private:
  const std::string& origin_;
};

Status KindReader::ReadArgv(const toml::node& node, KindSpec& spec) const {
  const auto* arr = node.as_array();
  if (arr == nullptr) return Error("argv", "must be an array of strings");
  if (arr->empty()) return Error("argv", "must not be empty");
  if (arr->size() > kMaxArgvEntries) return Error("argv", "too many entries");
  for (std::size_t i = 0; i < arr->size(); ++i) {
    auto s = String(*arr->get(i), "argv[" + std::to_string(i) + "]");
    if (!s.ok()) return s.status();
    spec.argv.push_back(std::move(s).value());
  }
  const std::string& prog = spec.argv[0];
  if (prog.empty()) return Error("argv[0]", "must not be empty");
  if (prog[0] != '/' && prog.find('/') != std::string::npos) {
    return Error("argv[0]", "must be an absolute path or a bare name looked up in PATH");
  }
  return Status::Ok();
}

Status KindReader::ReadEnv(const toml::node& node, KindSpec& spec) const {
  const auto* table = node.as_table();
  if (table == nullptr) return Error("env", "must be a table of strings");
  for (const auto& [key, value] : *table) {
    std::string name(key.str());
    std::string field = "env." + name;
    if (name.empty() || name.find('=') != std::string::npos ||
        name.find('\0') != std::string::npos) {
      return Error(field, "is not a valid environment variable name");
    }
    if (name.rfind("JOBTAPE_", 0) == 0) {
      return Error(field, "JOBTAPE_* variables are set by the executor");
    }
    auto v = String(value, field);
    if (!v.ok()) return v.status();
    spec.env.emplace(std::move(name), std::move(v).value());
  }
  return Status::Ok();
}

Status KindReader::ReadBackoff(const toml::node& node, KindSpec& spec) const {
  const auto* table = node.as_table();
  if (table == nullptr) return Error("retry.backoff", "must be a table");
  JT_RETURN_IF_ERROR(
      OnlyKeys(*table, "retry.backoff.", {"initial_ms", "max_ms", "multiplier", "jitter"}));
  Backoff b;
  if (const auto* n = table->get("initial_ms")) {
    auto d = Millis(*n, "retry.backoff.initial_ms", std::chrono::milliseconds(1), kMaxBackoff);
    if (!d.ok()) return d.status();
    b.initial = *d;
  }
  if (const auto* n = table->get("max_ms")) {
    auto d = Millis(*n, "retry.backoff.max_ms", std::chrono::milliseconds(1), kMaxBackoff);
    if (!d.ok()) return d.status();
    b.max = *d;
  }
  if (b.max < b.initial) return Error("retry.backoff.max_ms", "must not be below initial_ms");
  if (const auto* n = table->get("multiplier")) {
    auto m = Double(*n, "retry.backoff.multiplier", 1.0, 100.0);
    if (!m.ok()) return m.status();
    b.multiplier = *m;
  }
  if (const auto* n = table->get("jitter")) {
    auto j = Double(*n, "retry.backoff.jitter", 0.0, 1.0);
    if (!j.ok()) return j.status();
    b.jitter = *j;
  }
  spec.retry.backoff = b;
  return Status::Ok();
}

Status KindReader::ReadRetry(const toml::node& node, KindSpec& spec) const {
  const auto* table = node.as_table();
  if (table == nullptr) return Error("retry", "must be a table");
  JT_RETURN_IF_ERROR(OnlyKeys(
      *table, "retry.", {"max_attempts", "retryable_exit_codes", "fatal_exit_codes", "backoff"}));
  if (const auto* n = table->get("max_attempts")) {
    auto v = Int(*n, "retry.max_attempts", kMinAttempts, kMaxAttempts);
    if (!v.ok()) return v.status();
    spec.retry.max_attempts = static_cast<int>(*v);
  }
  if (const auto* n = table->get("retryable_exit_codes")) {
    auto v = ExitCodes(*n, "retry.retryable_exit_codes");
    if (!v.ok()) return v.status();
    spec.retry.retryable_exit_codes = std::move(v).value();
  }
  if (const auto* n = table->get("fatal_exit_codes")) {
    if (table->contains("retryable_exit_codes")) {
      return Error("retry.fatal_exit_codes", "cannot be combined with retryable_exit_codes");
    }
    auto v = ExitCodes(*n, "retry.fatal_exit_codes");
    if (!v.ok()) return v.status();
    spec.retry.fatal_exit_codes = std::move(v).value();
  }
  if (const auto* n = table->get("backoff")) JT_RETURN_IF_ERROR(ReadBackoff(*n, spec));
  return Status::Ok();
}

}  // namespace

Result<KindSpec> ParseKindText(std::string_view text, const std::string& origin) {
  KindReader r(origin);
  toml::table doc;
  try {
    // Debian's toml++ reports syntax errors by exception; this is the boundary.
    doc = toml::parse(text, origin);
  } catch (const toml::parse_error& err) {
    const auto& where = err.source().begin;
    return Status::InvalidArgument(origin + ":" + std::to_string(where.line) + ":" +
                                   std::to_string(where.column) + ": " +
                                   std::string(err.description()));
  }
  JT_RETURN_IF_ERROR(r.OnlyKeys(doc, "",
                                {"name", "argv", "env", "working_dir", "queue", "timeout_ms",
                                 "max_concurrent", "cancel_grace_ms", "retry"}));
  KindSpec spec;
  spec.source_path = origin;

  const auto* name = doc.get("name");
  if (name == nullptr) return r.Error("name", "is required");
  auto n = r.String(*name, "name");
  if (!n.ok()) return n.status();
  if (!IsValidName(*n)) return r.Error("name", "must match [A-Za-z0-9_.:-]{1,128}");
  spec.name = std::move(n).value();

  const auto* argv = doc.get("argv");
  if (argv == nullptr) return r.Error("argv", "is required");
  JT_RETURN_IF_ERROR(r.ReadArgv(*argv, spec));

  if (const auto* env = doc.get("env")) JT_RETURN_IF_ERROR(r.ReadEnv(*env, spec));
  if (const auto* wd = doc.get("working_dir")) {
    auto v = r.String(*wd, "working_dir");
    if (!v.ok()) return v.status();
    if (v->empty() || (*v)[0] != '/') return r.Error("working_dir", "must be an absolute path");
    spec.working_dir = std::move(v).value();
  }
  if (const auto* q = doc.get("queue")) {
    auto v = r.String(*q, "queue");
    if (!v.ok()) return v.status();
    if (!IsValidName(*v)) return r.Error("queue", "must match [A-Za-z0-9_.:-]{1,128}");
    spec.queue = std::move(v).value();
  }
  if (const auto* t = doc.get("timeout_ms")) {
    auto v = r.Millis(*t, "timeout_ms", std::chrono::milliseconds(1), kMaxTimeout);
    if (!v.ok()) return v.status();
    spec.timeout = *v;
  }
  if (const auto* m = doc.get("max_concurrent")) {
    auto v = r.Int(*m, "max_concurrent", 1, kMaxConcurrencyLimit);
    if (!v.ok()) return v.status();
    spec.max_concurrent = static_cast<int>(*v);
  }
  if (const auto* g = doc.get("cancel_grace_ms")) {
    auto v = r.Millis(*g, "cancel_grace_ms", Duration(0), kMaxCancelGrace);
    if (!v.ok()) return v.status();
    spec.cancel_grace = *v;
  }
  if (const auto* retry = doc.get("retry")) JT_RETURN_IF_ERROR(r.ReadRetry(*retry, spec));
  return spec;
}

Result<KindSpec> ParseKindFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    std::string msg = path + ": cannot open: " + std::strerror(err);
    if (err == ENOENT) return Status::NotFound(std::move(msg));
    return Status::InvalidArgument(std::move(msg));
  }
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxKindFileBytes) {
      return Status::InvalidArgument(path + ": larger than " + std::to_string(kMaxKindFileBytes) +
                                     " bytes");
    }
  }
  if (in.bad()) return Status::InvalidArgument(path + ": read error");
  return ParseKindText(text, path);
}

}  // namespace jobtape::exec
