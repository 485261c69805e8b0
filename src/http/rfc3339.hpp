// RFC 3339 timestamps on the wire ("2026-11-24T10:59:24.123Z",
// "2026-11-24T11:59:24+01:00"). Formatting is core's FormatTime (UTC,
// milliseconds); this is the parsing side.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string_view>

#include "core/clock.hpp"

namespace jobtape::http {

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)"; 't', 'z' and a
// space for the 'T' are accepted, as RFC 3339 allows. Fractions beyond
// microseconds are truncated. nullopt for anything else, including impossible
// dates (February 30), a leap second (:60: the server's clocks have none) and
// years outside 1970..9999.
std::optional<TimePoint> ParseRfc3339(std::string_view text);

}  // namespace jobtape::http
