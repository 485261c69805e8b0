// Implementation of the shared tape checks (see tape_checks.hpp).
#include "tape_checks.hpp"

#include <boost/json.hpp>

#include <string_view>

namespace jobtape::store::testing {
namespace {

std::string Where(const Event& e) {
  return "seq " + std::to_string(e.seq) + " (" + std::string(EventTypeName(e.type)) + ", attempt " +
         std::to_string(e.attempt) + ")";
}

// The store keeps any valid JSON, however deep (its own limits apply on the
// way in), so the checks parse without a depth limit of their own.
boost::json::value Parse(const std::string& text, boost::system::error_code& ec) {
  boost::json::parse_options options;
  options.max_depth = 100'000;
  return boost::json::parse(text, ec, {}, options);
}

bool IsJsonObject(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value v = Parse(text, ec);
  return !ec && v.is_object();
}

}  // namespace

std::string EventDataField(const Event& event, const std::string& key) {
  boost::system::error_code ec;
  boost::json::value v = Parse(event.data, ec);
  if (ec || !v.is_object()) return "";
  const boost::json::value* member = v.as_object().if_contains(key);
  if (member == nullptr) return "";
  if (member->is_string()) return std::string(member->as_string());
  return boost::json::serialize(*member);
}

std::vector<std::string> TapeViolations(const Job& job, const std::vector<Event>& tape) {
  std::vector<std::string> out;
  auto add = [&](std::string what) {
    out.push_back("job " + std::to_string(job.id) + ": " + what);
  };

  if (tape.empty()) {
    add("empty tape (expected at least `created`)");
    return out;
  }
  if (tape.front().type != EventType::kCreated)
    add("first event is not `created`: " + Where(tape.front()));
  if (tape.back().seq != job.last_seq) {
    add("job.last_seq " + std::to_string(job.last_seq) + " but tape ends at seq " +
        std::to_string(tape.back().seq));
  }

  int open = 0;          // the attempt currently running per the tape, 0 = none
  int last_started = 0;  // the newest attempt that started
  int finals = 0;
  for (std::size_t i = 0; i < tape.size(); ++i) {
    const Event& e = tape[i];
    if (e.job_id != job.id) add("event of another job at " + Where(e));
    if (e.seq != static_cast<Seq>(i + 1)) {
      add("seq gap or duplicate: position " + std::to_string(i + 1) + " holds " + Where(e));
    }
    if (!IsJsonObject(e.data)) add("data is not a JSON object at " + Where(e) + ": " + e.data);
    if (finals > 0) add("event after final: " + Where(e));
    switch (e.type) {
      case EventType::kCreated:
        if (i != 0) add("second `created` at " + Where(e));
        break;
      case EventType::kStarted:
        if (open != 0)
          add("attempt " + std::to_string(e.attempt) + " started while attempt " +
              std::to_string(open) + " was live: " + Where(e));
        if (e.attempt != last_started + 1) {
          add("started attempt " + std::to_string(e.attempt) + " after attempt " +
              std::to_string(last_started) + ": " + Where(e));
        }
        last_started = e.attempt;
        open = e.attempt;
        break;
      case EventType::kProgress:
      case EventType::kLog:
      case EventType::kCancelRequested:
        if (open == 0 || e.attempt != open) {
          add("written outside its live attempt (live: " + std::to_string(open) + "): " + Where(e));
        }
        break;
      case EventType::kAttemptFailed:
        if (open == 0 || e.attempt != open) {
          add("attempt_failed for an attempt that is not live (live: " + std::to_string(open) +
              "): " + Where(e));
        }
        open = 0;
        break;
      case EventType::kFinal:
        ++finals;
        if (open != 0 && e.attempt != open) {
          add("final names attempt " + std::to_string(e.attempt) + " while attempt " +
              std::to_string(open) + " was live");
        }
        open = 0;
        if (EventDataField(e, "state") != JobStateName(job.state)) {
          add("final says state '" + EventDataField(e, "state") + "' but the job is " +
              std::string(JobStateName(job.state)));
        }
        break;
    }
  }
  if (finals > 1) add(std::to_string(finals) + " final events");
  if (IsTerminal(job.state) && finals == 0) {
    add("terminal (" + std::string(JobStateName(job.state)) + ") without a final event");
  }
  if (!IsTerminal(job.state) && finals > 0) {
    add("final event on a live job (" + std::string(JobStateName(job.state)) + ")");
  }
  if (job.attempt != last_started) {
    add("job.attempt " + std::to_string(job.attempt) + " but " + std::to_string(last_started) +
        " attempts started on the tape");
  }
  if (job.state == JobState::kRunning && open != job.attempt) {
    add("running attempt " + std::to_string(job.attempt) + " but the tape's live attempt is " +
        std::to_string(open));
  }
  if (job.state != JobState::kRunning && open != 0) {
    add(std::string(JobStateName(job.state)) + " job with attempt " + std::to_string(open) +
        " still live on the tape");
  }
  return out;
}

}  // namespace jobtape::store::testing
