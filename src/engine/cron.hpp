// Cron expressions for the engine: re-exports store/cron.hpp, where the
// parser and the next-fire search live (the store evaluates schedules inside
// the transaction that records a fire; see the note at the top of that
// header for why).
//
// Thread-safety: see store/cron.hpp.
#pragma once

#include "store/cron.hpp"

namespace jobtape::engine {

using store::CronExpr;
using store::kCronSearchYears;
using store::kMaxCronExprLength;
using store::NextFire;
using store::ParseCron;
using store::ValidateTimeZone;

}  // namespace jobtape::engine
