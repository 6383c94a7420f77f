#include "firewatch/clock.h"

namespace firewatch {

SystemClock& SystemClock::Instance() {
  static SystemClock clock;
  return clock;
}

FakeClock::FakeClock(WallTime wall_start)
    : wall_ns_(std::chrono::duration_cast<std::chrono::nanoseconds>(wall_start.time_since_epoch())
                   .count()) {}

MonoTime FakeClock::Now() const { return MonoTime(std::chrono::nanoseconds(mono_ns_.load())); }

WallTime FakeClock::WallNow() const {
  return WallTime(std::chrono::duration_cast<WallTime::duration>(
      std::chrono::nanoseconds(wall_ns_.load())));
}

void FakeClock::Advance(Duration d) {
  mono_ns_ += d.count();
  wall_ns_ += d.count();
}

void FakeClock::StepWall(Duration d) { wall_ns_ += d.count(); }

}  // namespace firewatch
