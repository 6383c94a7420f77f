// Logging setup and rate limiting. Logs go to stderr through spdlog, one line per event
// (journald keeps one entry per line), as text or JSON lines (firewatch/log_line.h).
// Anything driven by untrusted input (rejected packets, bad requests) logs through a
// RateLimiter so a flood cannot fill the disk or hide other messages.
#pragma once

#include <spdlog/spdlog.h>

#include <map>
#include <string>

#include "firewatch/clock.h"
#include "firewatch/log_line.h"
#include "firewatch/status.h"
#include "firewatch/sync/mutex.h"

namespace firewatch {

// Sets the process-wide level ("trace", "debug", "info", "warn", "error") and the line
// format (text or JSON, firewatch/log_line.h) of the default logger, on stderr.
Status InitLogging(const std::string& level, const std::string& process_name,
                   LogFormat format = LogFormat::kText);

// At most one message per key per `period`; the next allowed message reports how many
// were suppressed in between. Thread-safe.
class RateLimiter {
 public:
  RateLimiter(const Clock& clock, Duration period) : clock_(clock), period_(period) {}
  // True when a message for `key` may be logged now; `suppressed` is set to the number
  // of messages dropped for this key since the last allowed one.
  bool Allow(const std::string& key, uint64_t& suppressed) FW_EXCLUDES(mu_);

 private:
  struct Slot {
    MonoTime last{};
    bool used = false;
    uint64_t suppressed = 0;
  };
  const Clock& clock_;
  Duration period_;
  Mutex mu_;
  std::map<std::string, Slot> slots_ FW_GUARDED_BY(mu_);
};

}  // namespace firewatch
