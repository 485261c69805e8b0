// Router: the route table. A route is a method, a path pattern with {name}
// parameters ("/v1/jobs/{id}/events"), the permission it requires, whether it
// reads a JSON body, and a thin handler.
//
// Dispatch, in order:
//   1. match the path: none -> 404 not_found; path known but not for this
//      method -> 405 method_not_allowed with Allow. A literal segment beats a
//      parameter, so "/v1/jobs/stats" wins over "/v1/jobs/{id}".
//   2. authenticate (401) and authorize (403) unless the route is public;
//      the principal is stored in Request::principal.
//   3. a JSON route with a non-empty body must say Content-Type
//      application/json (415).
//   4. the handler, with path parameters in Request::params.
// Parameters are decoded path segments ("%20" -> " "), never containing "/".
//
// Thread-safety: build the table before serving; Dispatch is then safe to
// call concurrently (it only reads the table).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "http/auth.hpp"
#include "http/request.hpp"

namespace jobtape::http {

enum class RequestBody : uint8_t {
  kNone,  // a body, if any, is ignored
  kJson,  // a non-empty body must be application/json; the handler parses it
};

class Router {
 public:
  // `auth` must outlive the router.
  explicit Router(const Authenticator& auth);

  // Adds a route. A malformed pattern or a route that duplicates another
  // (same method, same shape) is a programming error: std::invalid_argument.
  void Add(Method method, std::string_view pattern, Permission permission, Handler handler,
           RequestBody body = RequestBody::kNone);

  boost::asio::awaitable<Response> Dispatch(Request& request) const;

  // A Handler calling Dispatch; the router must outlive it.
  Handler AsHandler() const;

 private:
  struct Segment {
    std::string text;  // the literal, or the parameter's name
    bool param = false;
  };
  struct Route {
    Method method;
    std::string pattern;
    std::vector<Segment> segments;
    Permission permission;
    RequestBody body;
    Handler handler;
  };

  static std::vector<Segment> ParsePattern(std::string_view pattern);
  // True if `route` matches `segments`; a higher `rank` is a more specific match.
  static bool Matches(const Route& route, const std::vector<std::string>& segments, uint64_t& rank);

  const Authenticator& auth_;
  std::vector<Route> routes_;
};

}  // namespace jobtape::http
