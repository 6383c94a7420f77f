#include "firewatch/log.h"

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <memory>

namespace firewatch {
namespace {

// spdlog's message, as FormatLogLine writes it (the agent writes the same lines).
class LineFormatter : public spdlog::formatter {
 public:
  LineFormatter(std::string process, LogFormat format)
      : process_(std::move(process)), format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto level = spdlog::level::to_string_view(msg.level);
    size_t begin = 0, end = 0;
    const std::string line =
        FormatLogLine(format_,
                      LogLineParts{msg.time, std::string_view(level.data(), level.size()), process_,
                                   std::string_view(msg.payload.data(), msg.payload.size())},
                      &begin, &end);
    if (format_ == LogFormat::kText) {  // the colour sink colours the level name
      msg.color_range_start = begin;
      msg.color_range_end = end;
    }
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(process_, format_);
  }

 private:
  std::string process_;
  LogFormat format_;
};

}  // namespace

Status InitLogging(const std::string& level, const std::string& process_name, LogFormat format) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("unknown log level '" + level +
                                   "' (use trace, debug, info, warn or error)");
  }
  auto logger = spdlog::stderr_color_mt(process_name);
  // JSON lines are read by programs: no colour codes around the level, ever.
  if (format == LogFormat::kJson) {
    for (auto& sink : logger->sinks()) {
      if (auto* colour = dynamic_cast<spdlog::sinks::stderr_color_sink_mt*>(sink.get())) {
        colour->set_color_mode(spdlog::color_mode::never);
      }
    }
  }
  spdlog::set_default_logger(logger);
  spdlog::set_formatter(std::make_unique<LineFormatter>(process_name, format));
  spdlog::set_level(lvl);
  spdlog::flush_on(spdlog::level::info);
  return Status::Ok();
}

bool RateLimiter::Allow(const std::string& key, uint64_t& suppressed) {
  MutexLock lock(mu_);
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
