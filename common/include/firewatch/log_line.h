// One log line per event, as both daemons write it to stderr (journald keeps one entry
// per line). The collector's spdlog setup (log.h) and the agent's own logger
// (agent/src/agent_log.h) both format through here, so the two daemons write the same
// lines:
//
//   text: 2026-11-25T20:33:01.123+00:00 warning firewatch-agent: collector c1: udp ...
//   json:
//   {"time":"2026-11-25T20:33:01.123+00:00","level":"warning","process":"firewatch-agent","message":"collector
//   c1: udp ..."}
//
// Time is local time with milliseconds and the UTC offset (RFC 3339). Level names are
// spdlog's: trace, debug, info, warning, error, critical.
//
// One event, one line: in text lines, control characters of the message are escaped
// (\n, \r, \t, \\ and \xNN), so a multi-line message stays one journal entry and text from
// the network (a rejected frame's source id, say) cannot forge a line. JSON lines are
// escaped per RFC 8259; ill-formed UTF-8 becomes U+FFFD, as in every other JSON the
// collector writes, so each line parses.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace firewatch {

enum class LogFormat { kText, kJson };

// "text" or "json"; false (and `format` unchanged) for anything else.
bool ParseLogFormat(std::string_view name, LogFormat& format);

struct LogLineParts {
  std::chrono::system_clock::time_point time;
  std::string_view level;    // "warning", ...
  std::string_view process;  // "firewatch-collector", ...
  std::string_view message;
};

// The whole line, with its trailing newline. For text lines, `level_begin`/`level_end`
// (when given) receive where the level name is, for a terminal's colours.
std::string FormatLogLine(LogFormat format, const LogLineParts& parts,
                          size_t* level_begin = nullptr, size_t* level_end = nullptr);

}  // namespace firewatch
