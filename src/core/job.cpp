#include "core/job.hpp"

#include <algorithm>
#include <cmath>

namespace jobtape {

Duration BackoffDelay(const Backoff& b, int failed_attempt, double unit_random) {
  double base = static_cast<double>(b.initial.count());
  double cap = static_cast<double>(b.max.count());
  int n = std::max(failed_attempt, 1) - 1;
  double delay = base * std::pow(b.multiplier, std::min(n, 64));
  delay = std::min(delay, cap);
  // Spread over [delay * (1 - jitter), delay * (1 + jitter)], then cap again.
  double spread = delay * b.jitter * (2.0 * unit_random - 1.0);
  delay = std::clamp(delay + spread, 0.0, cap);
  return Duration(static_cast<int64_t>(delay));
}

}  // namespace jobtape
