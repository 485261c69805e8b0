#include "cli/logging.hpp"

#include <unistd.h>

#include <memory>
#include <string>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "http/json_writer.hpp"

namespace jobtape::cli {
namespace {

// One JSON object per record: {"time":"<RFC 3339>","level":"info","msg":"..."}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line = "{\"time\":";
    const auto us = std::chrono::time_point_cast<Duration>(msg.time);
    http::AppendJsonString(line, FormatTime(TimePoint(us.time_since_epoch())));
    line += ",\"level\":";
    const auto level = spdlog::level::to_string_view(msg.level);
    http::AppendJsonString(line, std::string_view(level.data(), level.size()));
    line += ",\"msg\":";
    http::AppendJsonString(line, std::string_view(msg.payload.data(), msg.payload.size()));
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

Status SetupLogging(std::string_view level, std::string_view format) {
  spdlog::level::level_enum lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("unknown log level '" + std::string(level) + "'", "log_level");
  }
  bool json;
  if (format == "json") {
    json = true;
  } else if (format == "text") {
    json = false;
  } else if (format == "auto") {
    json = ::isatty(STDOUT_FILENO) == 0;
  } else {
    return Status::InvalidArgument("must be auto, text or json", "log_format");
  }
  spdlog::drop("jobtape");
  std::shared_ptr<spdlog::logger> logger;
  if (json) {
    logger = spdlog::stdout_logger_mt("jobtape");
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger = spdlog::stdout_color_mt("jobtape");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%-5l%$ %v");
  }
  logger->set_level(lvl);
  // Lines reach a pipe (a supervisor, a test) as they happen, not when a
  // buffer fills.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  return Status::Ok();
}

}  // namespace jobtape::cli
