#include "firewatch/net/sd_watchdog.h"

#include <algorithm>

namespace firewatch::net {

SdWatchdog::~SdWatchdog() {
  Close();
}

Status SdWatchdog::Start(uv_loop_t* loop, std::chrono::microseconds period) {
  Close();
  if (period.count() <= 0) return Status::Ok();
  const auto half = std::max(std::chrono::milliseconds(1),
                             std::chrono::duration_cast<std::chrono::milliseconds>(period) / 2);
  timer_.Start(loop, half, half, [this] { Ping(); });
  timer_.Unref();
  Status first = SdNotify("WATCHDOG=1");
  first.ok() ? ++pings_ : ++failed_;
  return first;
}

void SdWatchdog::Ping() {
  SdNotify("WATCHDOG=1").ok() ? ++pings_ : ++failed_;
}

void SdWatchdog::Close() {
  timer_.Close();
}

}  // namespace firewatch::net
