#include "core/event.hpp"

#include <array>

namespace jobtape {
namespace {
constexpr std::array<std::string_view, kEventTypeCount> kNames = {
    "created", "started", "progress", "log", "attempt_failed", "cancel_requested", "final"};
}  // namespace

std::string_view EventTypeName(EventType t) {
  return kNames[static_cast<int>(t)];
}

std::optional<EventType> ParseEventType(std::string_view name) {
  for (int i = 0; i < kEventTypeCount; ++i) {
    if (kNames[i] == name) return static_cast<EventType>(i);
  }
  return std::nullopt;
}

}  // namespace jobtape
