#include "app/transition_log.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

namespace firewatch::collector {

TransitionLog::TransitionLog(const Clock& clock, Kind kind, size_t per_second, Emit emit)
    : clock_(clock), kind_(kind), per_second_(per_second), emit_(std::move(emit)) {
  if (!emit_) emit_ = [](const std::string& line) { spdlog::info("{}", line); };
}

std::string TransitionLog::KindOf(const Transition& t) const {
  if (kind_ == Kind::kClusterVerdict) return fmt::format("verdict {}", SourceStateName(t.to));
  if (t.new_source) return "new";
  return fmt::format("{} -> {}", SourceStateName(t.from), SourceStateName(t.to));
}

std::string TransitionLog::Line(const Transition& t) const {
  if (kind_ == Kind::kClusterVerdict) {
    return fmt::format("source {}: cluster verdict {} ({})", t.source_id, SourceStateName(t.to),
                       t.reason);
  }
  if (t.new_source) return fmt::format("new source {} ({})", t.source_id, t.reason);
  return fmt::format("source {}: {} -> {} ({})", t.source_id, SourceStateName(t.from),
                     SourceStateName(t.to), t.reason);
}

void TransitionLog::Log(const std::vector<Transition>& ts) {
  if (ts.empty()) return;
  Flush();  // a second that is over: its summary first, then this second's budget
  const MonoTime now = clock_.Now();
  if (!started_ || now - second_start_ >= std::chrono::seconds(1)) {
    started_ = true;
    second_start_ = now;
    logged_this_second_ = 0;
  }
  for (const auto& t : ts) {
    if (logged_this_second_ < per_second_) {
      ++logged_this_second_;
      emit_(Line(t));
      continue;
    }
    if (counted_n_ == 0) counted_since_ = now;
    ++counted_[KindOf(t)];
    ++counted_n_;
    ++suppressed_total_;
  }
}

void TransitionLog::Flush() {
  if (counted_n_ == 0) return;
  const MonoTime now = clock_.Now();
  if (now - second_start_ < std::chrono::seconds(1)) return;
  std::string kinds;
  for (const auto& [kind, n] : counted_) {
    kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", n, kind);
  }
  const double span = std::chrono::duration<double>(now - counted_since_).count();
  if (kind_ == Kind::kClusterVerdict) {
    emit_(fmt::format("{} more cluster verdicts in the last {:.1f} s, not logged one by one "
                      "(at most {} lines a second): {}",
                      counted_n_, span, per_second_, kinds));
  } else {
    emit_(fmt::format("{} more source transitions in the last {:.1f} s, not logged one by one "
                      "(at most {} lines a second): {}; GET /api/v1/sources?state=... lists "
                      "them",
                      counted_n_, span, per_second_, kinds));
  }
  counted_.clear();
  counted_n_ = 0;
}

}  // namespace firewatch::collector
