// Status and Result<T>: expected failures as values, with stable error codes.
//
// Every fallible call in core, store and engine returns one of these; exceptions
// are reserved for programming errors. The code names (ErrorCodeName) are part of
// the public API: they appear verbatim in HTTP error bodies and must never change.
//
// Thread-safety: value types; a const instance may be shared between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace jobtape {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,     // malformed or out-of-range input; nothing was written
  kNotFound,            // the named job, queue, schedule or batch does not exist
  kStaleLease,          // lease expired, re-claimed, cancelled or already finished (R2)
  kConflict,            // the request conflicts with current state (e.g. retry of a live job)
  kLimitExceeded,       // a size, count or rate limit was hit
  kPayloadTooLarge,     // a body or payload above its configured size
  kUnauthenticated,     // no or unknown credentials
  kPermissionDenied,    // credentials lack the role
  kUnavailable,         // store unreachable, shutting down, or overloaded; retry later
  kFailedPrecondition,  // e.g. database schema newer than this binary
  kInternal,            // a bug or an unexpected failure of a dependency
};

// The stable wire name of a code, e.g. "stale_lease".
std::string_view ErrorCodeName(ErrorCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(ErrorCode code, std::string message, std::string field = {})
      : code_(code), message_(std::move(message)), field_(std::move(field)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string msg, std::string field = {}) {
    return {ErrorCode::kInvalidArgument, std::move(msg), std::move(field)};
  }
  static Status NotFound(std::string msg) { return {ErrorCode::kNotFound, std::move(msg)}; }
  static Status StaleLease(std::string msg) { return {ErrorCode::kStaleLease, std::move(msg)}; }
  static Status Conflict(std::string msg) { return {ErrorCode::kConflict, std::move(msg)}; }
  static Status LimitExceeded(std::string msg, std::string field = {}) {
    return {ErrorCode::kLimitExceeded, std::move(msg), std::move(field)};
  }
  static Status PayloadTooLarge(std::string msg, std::string field = {}) {
    return {ErrorCode::kPayloadTooLarge, std::move(msg), std::move(field)};
  }
  static Status Unavailable(std::string msg) { return {ErrorCode::kUnavailable, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) {
    return {ErrorCode::kFailedPrecondition, std::move(msg)};
  }
  static Status Internal(std::string msg) { return {ErrorCode::kInternal, std::move(msg)}; }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // The request field the error is about ("payload", "jobs[3].priority"), or empty.
  const std::string& field() const { return field_; }
  std::string ToString() const;

  // Prefixes the field path, e.g. "priority" -> "jobs[3].priority".
  Status WithFieldPrefix(std::string_view prefix) const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::string field_;
};

// Either a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok() && "Result constructed from an OK status without a value");
    if (status_.ok()) status_ = Status::Internal("Result built from OK status without value");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & {
    assert(ok());
    return *value_;
  }
  const T& value() const& {
    assert(ok());
    return *value_;
  }
  T&& value() && {
    assert(ok());
    return std::move(*value_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace jobtape

// Propagates a non-OK Status from an expression returning Status.
#define JT_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::jobtape::Status jt_status_ = (expr);   \
    if (!jt_status_.ok()) return jt_status_; \
  } while (0)
