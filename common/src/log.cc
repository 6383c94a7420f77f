#include "firewatch/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace firewatch {

Status InitLogging(const std::string& level, const std::string& process_name) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("unknown log level '" + level +
                                   "' (use trace, debug, info, warn or error)");
  }
  auto logger = spdlog::stderr_color_mt(process_name);
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ " + process_name + ": %v");
  spdlog::set_level(lvl);
  spdlog::flush_on(spdlog::level::info);
  return Status::Ok();
}

bool RateLimiter::Allow(const std::string& key, uint64_t& suppressed) {
  std::lock_guard lock(mu_);
  Slot& s = slots_[key];
  MonoTime now = clock_.Now();
  if (!s.used || now - s.last >= period_) {
    suppressed = s.suppressed;
    s.suppressed = 0;
    s.last = now;
    s.used = true;
    return true;
  }
  ++s.suppressed;
  return false;
}

}  // namespace firewatch
