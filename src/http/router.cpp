#include "http/router.hpp"

#include <algorithm>
#include <stdexcept>

#include "http/errors.hpp"
#include "http/json_body.hpp"

namespace jobtape::http {
namespace {

bool IsParamNameChar(char c) {
  return (c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9');
}

// Rank fits 64 segments; nobody writes longer patterns.
constexpr std::size_t kMaxSegments = 64;

}  // namespace

Router::Router(const Authenticator& auth) : auth_(auth) {}

std::vector<Router::Segment> Router::ParsePattern(std::string_view pattern) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::invalid_argument("route pattern must start with '/': " + std::string(pattern));
  }
  std::vector<Segment> out;
  std::string_view rest = pattern.substr(1);
  if (rest.empty()) return out;  // "/"
  while (true) {
    std::size_t slash = rest.find('/');
    std::string_view s = rest.substr(0, slash);
    if (s.empty()) throw std::invalid_argument("empty segment in route " + std::string(pattern));
    if (s.front() == '{') {
      if (s.size() < 3 || s.back() != '}') {
        throw std::invalid_argument("bad parameter in route " + std::string(pattern));
      }
      std::string_view name = s.substr(1, s.size() - 2);
      for (char c : name) {
        if (!IsParamNameChar(c)) {
          throw std::invalid_argument("bad parameter name in route " + std::string(pattern));
        }
      }
      for (const Segment& seg : out) {
        if (seg.param && seg.text == name) {
          throw std::invalid_argument("repeated parameter in route " + std::string(pattern));
        }
      }
      out.push_back({std::string(name), true});
    } else {
      if (s.find_first_of("{}") != std::string_view::npos) {
        throw std::invalid_argument("braces inside a segment of route " + std::string(pattern));
      }
      out.push_back({std::string(s), false});
    }
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  if (out.size() > kMaxSegments) {
    throw std::invalid_argument("too many segments in route " + std::string(pattern));
  }
  return out;
}

void Router::Add(Method method, std::string_view pattern, Permission permission, Handler handler,
                 RequestBody body) {
  if (!handler) throw std::invalid_argument("route without a handler: " + std::string(pattern));
  std::vector<Segment> segments = ParsePattern(pattern);
  for (const Route& r : routes_) {
    if (r.method != method || r.segments.size() != segments.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < segments.size() && same; ++i) {
      same = r.segments[i].param == segments[i].param &&
             (segments[i].param || r.segments[i].text == segments[i].text);
    }
    if (same) {
      throw std::invalid_argument("route " + std::string(MethodName(method)) + " " +
                                  std::string(pattern) + " duplicates " + r.pattern);
    }
  }
  routes_.push_back(
      {method, std::string(pattern), std::move(segments), permission, body, std::move(handler)});
}

bool Router::Matches(const Route& route, const std::vector<std::string>& segments, uint64_t& rank) {
  if (route.segments.size() != segments.size()) return false;
  rank = 0;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const Segment& s = route.segments[i];
    if (s.param) {
      if (segments[i].empty()) return false;
    } else {
      if (s.text != segments[i]) return false;
      // A literal here beats a parameter here; earlier segments weigh more.
      rank |= uint64_t{1} << (kMaxSegments - 1 - i);
    }
  }
  return true;
}

boost::asio::awaitable<Response> Router::Dispatch(Request& request) const {
  const Route* best = nullptr;
  uint64_t best_rank = 0;
  std::vector<Method> allowed_methods;
  for (const Route& r : routes_) {
    uint64_t rank;
    if (!Matches(r, request.segments, rank)) continue;
    if (r.method == request.method) {
      if (best == nullptr || rank > best_rank) {
        best = &r;
        best_rank = rank;
      }
    } else if (std::find(allowed_methods.begin(), allowed_methods.end(), r.method) ==
               allowed_methods.end()) {
      allowed_methods.push_back(r.method);
    }
  }
  if (best == nullptr) {
    if (allowed_methods.empty()) co_return RouteNotFoundResponse(request);
    std::string allow;
    for (Method m : allowed_methods) {
      if (!allow.empty()) allow += ", ";
      allow += MethodName(m);
    }
    co_return MethodNotAllowedResponse(request, std::move(allow));
  }

  request.route = best->pattern;
  if (best->permission != Permission::kPublic) {
    Result<Principal> principal = auth_.Authenticate(request.Header("authorization"));
    if (!principal.ok()) co_return ErrorResponse(principal.status(), request);
    Status allowed = Authenticator::Authorize(*principal, best->permission);
    if (!allowed.ok()) co_return ErrorResponse(allowed, request);
    request.principal = std::move(principal).value();
  }

  if (best->body == RequestBody::kJson && !request.body.empty()) {
    std::optional<std::string_view> type = request.Header("content-type");
    if (!type || !IsJsonContentType(*type)) {
      co_return UnsupportedMediaTypeResponse(request, kJsonContentType);
    }
  }

  request.params.clear();
  for (std::size_t i = 0; i < best->segments.size(); ++i) {
    if (best->segments[i].param) {
      request.params.emplace_back(best->segments[i].text, request.segments[i]);
    }
  }
  co_return co_await best->handler(request);
}

Handler Router::AsHandler() const {
  return [this](Request& request) { return Dispatch(request); };
}

}  // namespace jobtape::http
