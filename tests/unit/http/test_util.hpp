// Helpers shared by the HTTP unit tests: running a coroutine to completion and
// building requests without a server.
#pragma once

#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "http/request.hpp"

namespace jobtape::http::testing {

// Runs `aw` on a fresh single-threaded io_context and returns its result.
template <typename T>
T RunCoroutine(boost::asio::awaitable<T> aw) {
  boost::asio::io_context ioc;
  auto future = boost::asio::co_spawn(ioc, std::move(aw), boost::asio::use_future);
  ioc.run();
  return future.get();
}

inline Request MakeRequest(Method method, std::string target, std::string body = {},
                           HeaderList headers = {}) {
  Request r;
  r.method = method;
  Status s = ParseTarget(target, r);
  EXPECT_TRUE(s.ok()) << s.ToString();
  r.body = std::move(body);
  r.headers = std::move(headers);
  r.request_id = "test-1";
  return r;
}

// The "error" object of an error body.
inline boost::json::object ErrorOf(const std::string& body) {
  boost::json::value v = boost::json::parse(body);
  return v.at("error").as_object();
}

}  // namespace jobtape::http::testing
