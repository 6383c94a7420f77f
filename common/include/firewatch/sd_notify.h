// systemd's service notification protocol (sd_notify(3)) without libsystemd: a
// firewatch daemon started by a Type=notify unit says READY=1 once it serves, WATCHDOG=1
// from its main loop while that loop runs, and STOPPING=1 when it begins to stop.
//
// $NOTIFY_SOCKET names an AF_UNIX datagram socket: a path ("/run/systemd/notify") or an
// abstract address written with a leading '@' ("@/org/freedesktop/systemd1/notify").
// Without $NOTIFY_SOCKET (run by hand, under a test, or by any other supervisor) every
// call does nothing and succeeds. Nothing here allocates on the hot path beyond the
// message itself, and nothing blocks: the socket is non-blocking and a full queue drops
// the message (systemd reads it within microseconds; a dropped WATCHDOG=1 is resent at
// the next half-period).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "firewatch/status.h"

namespace firewatch {

// Sends `state` (e.g. "READY=1", "WATCHDOG=1", "STOPPING=1"; several assignments are
// separated by '\n') to the socket named by $NOTIFY_SOCKET. Ok when sent or when
// $NOTIFY_SOCKET is unset or empty.
Status SdNotify(std::string_view state);

// The same, to an explicit socket address (path, or '@' + abstract name).
Status SdNotifyTo(std::string_view socket, std::string_view state);

// The watchdog period systemd expects pings within: $WATCHDOG_USEC, when set and when
// $WATCHDOG_PID (if set) is this process. Zero when there is no watchdog.
std::chrono::microseconds SdWatchdogPeriod();

}  // namespace firewatch
