// systemd's watchdog, fed from a libuv loop: a Type=notify unit with WatchdogSec= sets
// $WATCHDOG_USEC, and the daemon must send WATCHDOG=1 (firewatch/sd_notify.h) at least
// that often or be killed and restarted. The ping is sent by a timer on the daemon's
// main loop, at half the period, so it stops exactly when that loop stops turning (a
// deadlock, a callback that never returns): that is what the watchdog is for. A thread
// of its own would keep pinging for a wedged daemon.
//
// Threading: Start, Close and destruction on the loop thread. The timer is unref'd, so
// it never keeps uv_run going on its own; Close() it when the daemon begins to stop (the
// loop must run once more to finish closing it; its memory does not depend on that).
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>

#include "firewatch/net/uv_handle.h"
#include "firewatch/sd_notify.h"
#include "firewatch/status.h"

namespace firewatch::net {

class SdWatchdog {
 public:
  SdWatchdog() = default;
  ~SdWatchdog();  // Close()s if still open
  SdWatchdog(const SdWatchdog&) = delete;
  SdWatchdog& operator=(const SdWatchdog&) = delete;

  // Pings now and then every period/2 on `loop`. Does nothing (and returns Ok) when
  // `period` is zero: no watchdog was asked for. The Status is the first ping's.
  Status Start(uv_loop_t* loop, std::chrono::microseconds period = SdWatchdogPeriod());
  void Close();

  bool running() const { return timer_.open(); }
  uint64_t pings() const { return pings_; }    // sent
  uint64_t failed() const { return failed_; }  // could not be sent (no socket listening, ...)

 private:
  void Ping();
  UvTimer timer_;
  uint64_t pings_ = 0;
  uint64_t failed_ = 0;
};

}  // namespace firewatch::net
