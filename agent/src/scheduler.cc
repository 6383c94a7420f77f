#include "scheduler.h"

#include <algorithm>
#include <cmath>

namespace firewatch::agent {

HeartbeatScheduler::HeartbeatScheduler(Duration interval, double jitter, Random& random)
    : interval_(interval), jitter_(std::clamp(jitter, 0.0, 0.5)), random_(random) {}

MonoTime HeartbeatScheduler::Start(MonoTime now) {
  deadline_ = now;
  return deadline_;
}

MonoTime HeartbeatScheduler::Next(MonoTime now) {
  // Offset in [-jitter, +jitter) of the interval.
  double fraction = (random_.Uniform01() * 2.0 - 1.0) * jitter_;
  auto offset = Duration(static_cast<int64_t>(
      std::llround(fraction * static_cast<double>(interval_.count()))));
  MonoTime next = deadline_ + interval_ + offset;
  if (next < now) {
    // Late (stalled, suspended): count whole periods missed and go now, no burst.
    skipped_ += static_cast<uint64_t>((now - next) / interval_);
    next = now;
  }
  deadline_ = next;
  return deadline_;
}

}  // namespace firewatch::agent
