#include "client/base_url.hpp"

#include <charconv>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

namespace jobtape::client {
namespace {

Status BadUrl(std::string_view url, std::string_view why) {
  return Status::InvalidArgument("bad server URL '" + std::string(url) + "': " + std::string(why),
                                 "server");
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string BaseUrl::HostHeader() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port);
  return out;
}

std::string BaseUrl::ToString() const {
  return "http://" + HostHeader() + prefix;
}

Result<BaseUrl> ParseBaseUrl(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return BadUrl(url, parsed.error().message());
  boost::urls::url_view u = *parsed;
  if (u.scheme() != "http") {
    return BadUrl(url, "only http:// is supported (put TLS in a proxy in front of jobtape)");
  }
  if (u.has_userinfo()) return BadUrl(url, "user info is not supported; use JOBTAPE_TOKEN");
  if (u.has_query() || u.has_fragment()) return BadUrl(url, "no query or fragment allowed");
  BaseUrl base;
  base.host = u.encoded_host_address().decode();
  if (base.host.size() >= 2 && base.host.front() == '[' && base.host.back() == ']') {
    base.host = base.host.substr(1, base.host.size() - 2);
  }
  if (base.host.empty()) return BadUrl(url, "no host");
  if (u.has_port()) {
    std::string_view p = u.port();
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
    if (p.empty() || ec != std::errc() || ptr != p.data() + p.size() || value == 0 ||
        value > 65535) {
      return BadUrl(url, "bad port");
    }
    base.port = static_cast<uint16_t>(value);
  }
  std::string path(u.encoded_path());
  while (!path.empty() && path.back() == '/')
    path.pop_back();
  base.prefix = std::move(path);
  return base;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string BuildTarget(const BaseUrl& base, std::string_view path, const QueryParams& query) {
  std::string out = base.prefix;
  out.append(path);
  char sep = '?';
  for (const auto& [key, value] : query) {
    out.push_back(sep);
    sep = '&';
    out += PercentEncode(key);
    out.push_back('=');
    out += PercentEncode(value);
  }
  return out;
}

}  // namespace jobtape::client
