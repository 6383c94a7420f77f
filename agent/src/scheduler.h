// Heartbeat deadlines. Pure arithmetic over monotonic time: the agent arms a one-shot
// uv timer for each deadline, so heartbeats never drift the way a repeating timer
// does (libuv re-arms repeating timers from the time the callback ran).
//
//   first deadline = start (the first heartbeat goes out at once)
//   next deadline  = previous deadline + interval + U(-jitter, +jitter) * interval
//
// Deadlines are chained from the previous deadline, not from when the timer actually
// fired, so loop latency never accumulates; the mean period is exactly `interval` and
// any two consecutive deadlines are between (1-jitter) and (1+jitter) intervals apart.
// When the process was stalled past a deadline (SIGSTOP, suspend, an overloaded host),
// the schedule restarts from `now` instead of sending a burst of catch-up heartbeats.
#pragma once

#include "firewatch/clock.h"
#include "random.h"

namespace firewatch::agent {

class HeartbeatScheduler {
 public:
  // `interval` > 0; `jitter` is a fraction of the interval in [0, 0.5] (clamped).
  // `random` must outlive the scheduler.
  HeartbeatScheduler(Duration interval, double jitter, Random& random);

  // Starts the schedule: returns the first deadline, which is `now`.
  MonoTime Start(MonoTime now);

  // The deadline after the current one, given the current monotonic time. Requires
  // Start() first. Never returns a time before `now`.
  MonoTime Next(MonoTime now);

  MonoTime current_deadline() const { return deadline_; }
  Duration interval() const { return interval_; }
  // Whole intervals skipped because the process fell behind (see above).
  uint64_t skipped() const { return skipped_; }

 private:
  Duration interval_;
  double jitter_;
  Random& random_;
  MonoTime deadline_{};
  uint64_t skipped_ = 0;
};

}  // namespace firewatch::agent
