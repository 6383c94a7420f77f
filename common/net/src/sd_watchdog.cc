#include "firewatch/net/sd_watchdog.h"

#include <algorithm>

namespace firewatch::net {

SdWatchdog::~SdWatchdog() {
  Close();
}

Status SdWatchdog::Start(uv_loop_t* loop, std::chrono::microseconds period) {
  Close();
  if (period.count() <= 0) return Status::Ok();
  timer_ = new uv_timer_t;
  uv_timer_init(loop, timer_);
  timer_->data = this;
  uv_unref(reinterpret_cast<uv_handle_t*>(timer_));
  const auto half_ms = static_cast<uint64_t>(std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::milliseconds>(period).count() / 2));
  uv_timer_start(
      timer_, [](uv_timer_t* t) { static_cast<SdWatchdog*>(t->data)->Ping(); }, half_ms, half_ms);
  Status first = SdNotify("WATCHDOG=1");
  first.ok() ? ++pings_ : ++failed_;
  return first;
}

void SdWatchdog::Ping() {
  SdNotify("WATCHDOG=1").ok() ? ++pings_ : ++failed_;
}

void SdWatchdog::Close() {
  if (timer_ == nullptr) return;
  uv_timer_stop(timer_);
  timer_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  timer_ = nullptr;
}

}  // namespace firewatch::net
