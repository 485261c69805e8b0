// Server-Sent Events framing (WHATWG HTML §9.2): the bytes of one event, of a
// keep-alive comment and of a retry hint, plus Last-Event-ID parsing.
//
// Data may hold any text: it is split on every line break the protocol knows
// (\r\n, \r, \n) into "data:" lines, which the browser joins back with \n.
// The id and event name may not contain line breaks (they would end the
// field) nor NUL (a browser ignores such an id); those characters are dropped.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/job.hpp"
#include "http/request.hpp"

namespace jobtape::http {

inline constexpr std::string_view kSseContentType = "text/event-stream";

// Appends "id: <id>\nevent: <event>\ndata: <line>\n...\n" to `out`. An empty
// id or event omits that line.
void AppendSseEvent(std::string& out, std::string_view id, std::string_view event,
                    std::string_view data);
std::string FormatSseEvent(std::string_view id, std::string_view event, std::string_view data);

// ": <text>\n\n": ignored by clients; keeps proxies from timing out an idle stream.
void AppendSseComment(std::string& out, std::string_view text);
// "retry: <ms>\n\n": how long a browser waits before reconnecting.
void AppendSseRetry(std::string& out, std::chrono::milliseconds delay);

// The seq a stream resumes after, from a Last-Event-ID header value (our ids
// are event seqs): nullopt unless it is a non-negative decimal integer.
std::optional<Seq> ParseLastEventId(std::string_view value);

// A streamed response with the SSE headers (no caching, no proxy buffering).
Response SseResponse(BodyStreamer streamer);

}  // namespace jobtape::http
