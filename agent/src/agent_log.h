// The agent's logger: one line per message on stderr, text or JSON, formatted by the same
// code as the collector's spdlog lines (firewatch/log_line.h), so journald and log
// readers see one format:
//
//   2026-11-25T20:33:01.123+00:00 warning firewatch-agent: collector c1: udp ...
//   {"time":"2026-11-25T20:33:01.123+00:00","level":"warning","process":"firewatch-agent","message":"collector
//   c1: udp ..."}
//
// (local time with milliseconds and UTC offset; level names trace, debug, info, warning,
// error, critical; in text lines the level is coloured when stderr is a colour terminal.)
//
// Why not spdlog: the agent must stay under 5 MB of RSS (docs/benchmarks.md, section 3).
// libspdlog, libfmt and the libstdc++ they need cost about 2.3 MB of resident pages, and
// spdlog's registry, sinks and pattern formatter are far more than one stderr line needs.
// The message is formatted with fmt (header-only, linked into the agent), exactly as the
// spdlog calls it replaces did. Single-threaded use is the norm (the libuv loop), but
// every message is written with one write(2), so lines never interleave.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

#include "firewatch/log_line.h"

namespace firewatch::agent {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kCritical, kOff };

// Parses a config level: trace, debug, info, warn (or warning), error (or err),
// critical, off. False if unknown.
bool ParseLogLevel(std::string_view name, LogLevel& level);

// Sets the level, the process name shown in every line and the line format. Without a
// call, the level is info, the name "firewatch-agent" and the format text. Returns false
// (and changes nothing) if `level` is unknown.
bool InitAgentLogging(std::string_view level, std::string_view process_name,
                      LogFormat format = LogFormat::kText);

LogLevel CurrentLogLevel();
inline bool LogEnabled(LogLevel level) {
  return level >= CurrentLogLevel() && level != LogLevel::kOff;
}

// The whole line for `message`, including the trailing newline; `colour` wraps the level
// name of a text line in ANSI colour codes. Exposed for tests.
std::string FormatLogLine(LogLevel level, std::string_view message, bool colour);

// Writes one message (no trailing newline) at `level`, if that level is enabled.
void WriteLog(LogLevel level, std::string_view message);

template <typename... Args>
void Log(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (!LogEnabled(level)) return;
  WriteLog(level, fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void LogDebug(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kDebug, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogInfo(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kInfo, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogWarn(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kWarn, format, std::forward<Args>(args)...);
}
template <typename... Args>
void LogError(fmt::format_string<Args...> format, Args&&... args) {
  Log(LogLevel::kError, format, std::forward<Args>(args)...);
}

}  // namespace firewatch::agent
