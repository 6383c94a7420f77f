// Time source. Monotonic time is for deadlines and detectors; wall time is for display,
// persistence and the protocol's timestamps. Everything that needs time takes a Clock&
// so tests drive it with FakeClock instead of sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace firewatch {

using Duration = std::chrono::nanoseconds;
using MonoTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual MonoTime Now() const = 0;       // monotonic, never goes back
  virtual WallTime WallNow() const = 0;   // may jump (NTP); never use for deadlines
};

// The real clocks. Thread-safe.
class SystemClock final : public Clock {
 public:
  MonoTime Now() const override { return std::chrono::steady_clock::now(); }
  WallTime WallNow() const override { return std::chrono::system_clock::now(); }
  static SystemClock& Instance();
};

// A clock that only moves when told to. Thread-safe; both clocks advance together.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(WallTime wall_start = WallTime(std::chrono::seconds(1'700'000'000)));
  MonoTime Now() const override;
  WallTime WallNow() const override;
  void Advance(Duration d);
  // Moves only the wall clock (an NTP step), to test that deadlines ignore it.
  void StepWall(Duration d);

 private:
  std::atomic<int64_t> mono_ns_{1'000'000'000};
  std::atomic<int64_t> wall_ns_;
};

// Unix milliseconds of a wall time.
inline int64_t ToUnixMillis(WallTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline WallTime FromUnixMillis(int64_t ms) { return WallTime(std::chrono::milliseconds(ms)); }
// A wait for a libuv timer: whole milliseconds rounded up (never early), zero when past.
inline std::chrono::milliseconds CeilMillis(Duration d) {
  if (d <= Duration::zero()) return std::chrono::milliseconds::zero();
  return std::chrono::ceil<std::chrono::milliseconds>(d);
}

}  // namespace firewatch
