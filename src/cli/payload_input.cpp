#include "cli/payload_input.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <boost/json/parse.hpp>

namespace jobtape::cli {
namespace {

Result<std::string> ReadAll(std::istream& in, std::string_view what) {
  std::string out;
  char buf[64 * 1024];
  while (in) {
    in.read(buf, sizeof buf);
    out.append(buf, static_cast<std::size_t>(in.gcount()));
    if (out.size() > kMaxPayloadInput) {
      return Status::PayloadTooLarge(std::string(what) + " is larger than " +
                                         std::to_string(kMaxPayloadInput / (1024 * 1024)) + " MiB",
                                     "payload");
    }
  }
  if (in.bad()) return Status::InvalidArgument("cannot read " + std::string(what), "payload");
  return out;
}

}  // namespace

Status CheckPayloadJson(std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 1000;  // the server applies its own limit and names it
  boost::json::parse(boost::json::string_view(text.data(), text.size()), ec, {}, options);
  if (ec) return Status::InvalidArgument("payload is not valid JSON: " + ec.message(), "payload");
  return Status::Ok();
}

Result<std::string> ReadPayloadArg(std::string_view arg, std::istream& in) {
  Result<std::string> text = std::string();
  if (arg == "-" || arg == "@-") {
    text = ReadAll(in, "standard input");
  } else if (arg.rfind("@@", 0) == 0) {
    text = std::string(arg.substr(1));
  } else if (!arg.empty() && arg.front() == '@') {
    std::string path(arg.substr(1));
    std::ifstream file(path, std::ios::binary);
    if (!file) {
      return Status::InvalidArgument("cannot open " + path + ": " + std::strerror(errno),
                                     "payload");
    }
    text = ReadAll(file, path);
  } else {
    text = std::string(arg);
  }
  if (!text.ok()) return text;
  JT_RETURN_IF_ERROR(CheckPayloadJson(*text));
  return text;
}

}  // namespace jobtape::cli
