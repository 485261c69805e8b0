#include "exec/line_splitter.hpp"

namespace jobtape::exec {

void LineSplitter::Feed(std::string_view data, const Emit& emit) {
  while (!data.empty()) {
    std::size_t nl = data.find('\n');
    bool complete = nl != std::string_view::npos;
    std::string_view seg = data.substr(0, nl);
    data = complete ? data.substr(nl + 1) : std::string_view();
    if (discarding_) {
      discarding_ = !complete;
      continue;
    }
    std::size_t room = max_ - partial_.size();
    if (seg.size() > room) {
      partial_.append(seg.substr(0, room));
      emit(partial_, true);
      partial_.clear();
      discarding_ = !complete;
      continue;
    }
    partial_.append(seg);
    if (complete) {
      emit(partial_, false);
      partial_.clear();
    }
  }
}

void LineSplitter::Finish(const Emit& emit) {
  if (!partial_.empty()) emit(partial_, false);
  partial_.clear();
  discarding_ = false;
}

}  // namespace jobtape::exec
