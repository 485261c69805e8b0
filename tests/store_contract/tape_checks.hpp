// Whole-tape checks shared by the contract suite and the stress test: what
// R1 (tape order, one final) and R3 (at most one live attempt) look like from
// the outside, as read back from a store.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "core/event.hpp"
#include "core/job.hpp"

namespace jobtape::store::testing {

// Every violation found in `tape` (the job's whole tape, read after `job`
// with no writer in between), one line each; empty when the tape is sound:
//  - seq runs 1..n without gap or duplicate and matches job.last_seq;
//  - the first event is `created`; every event's data is a JSON object;
//  - `final` appears at most once, only as the last event, iff the job is
//    terminal, and names the job's state;
//  - attempts never overlap: `started` carries attempt 1, 2, 3, ... and each
//    attempt ends (attempt_failed or final) before the next starts;
//  - progress/log/cancel_requested belong to the attempt open at that point;
//  - job.attempt counts the `started` events; a running job has one open.
std::vector<std::string> TapeViolations(const Job& job, const std::vector<Event>& tape);

// The event's data parsed as a JSON object; empty if it is not one.
// `key` picks a top-level member rendered as text (strings unquoted), or "".
std::string EventDataField(const Event& event, const std::string& key);

}  // namespace jobtape::store::testing
