// LineSplitter: turns the chunks read from one pipe into lines, with a cap on
// the bytes buffered for a line that has not ended yet.
//
// A line longer than `max_line_bytes` is emitted once, cut to that length and
// flagged `cut`; the rest of it, up to its '\n', is discarded. That bounds the
// memory a child can make the runner hold per stream.
//
// Thread-safety: none; one per stream, used by the runner's supervisor thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace jobtape::exec {

class LineSplitter {
 public:
  using Emit = std::function<void(std::string_view line, bool cut)>;

  explicit LineSplitter(std::size_t max_line_bytes)
      : max_(max_line_bytes > 0 ? max_line_bytes : 1) {}

  // Emits every line completed by `data` (without its '\n').
  void Feed(std::string_view data, const Emit& emit);
  // At EOF: emits a last line that had no '\n', if any.
  void Finish(const Emit& emit);

 private:
  const std::size_t max_;
  std::string partial_;
  bool discarding_ = false;  // the current line was already emitted cut
};

}  // namespace jobtape::exec
