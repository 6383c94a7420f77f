#include "firewatch/log_line.h"

#include <fmt/format.h>

#include <ctime>
#include <iterator>
#include <nlohmann/json.hpp>

namespace firewatch {
namespace {

void AppendTime(std::string& out, std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
  std::tm tm{};
  localtime_r(&secs, &tm);
  const long offset_min = tm.tm_gmtoff / 60;
  const long abs_min = offset_min < 0 ? -offset_min : offset_min;
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{}{:02}:{:02}",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 static_cast<int>(millis < 0 ? millis + 1000 : millis), offset_min < 0 ? '-' : '+',
                 abs_min / 60, abs_min % 60);
}

// Control characters (and the backslash that introduces an escape) as C escapes: unlike
// JSON's (text/json_escape.h), DEL and other controls are \xNN, so a log line stays one
// readable line whatever a peer or a client sent.
void AppendTextEscaped(std::string& out, std::string_view s) {
  static constexpr std::string_view kShort = "\n\r\t\\";
  static constexpr std::string_view kShortAs[] = {"\\n", "\\r", "\\t", "\\\\"};
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (const size_t i = kShort.find(c); i != std::string_view::npos) {
      out += kShortAs[i];
    } else if (u < 0x20 || u == 0x7f) {
      fmt::format_to(std::back_inserter(out), "\\x{:02x}", static_cast<unsigned>(u));
    } else {
      out += c;
    }
  }
}

void AppendJsonString(std::string& out, std::string_view s) {
  out +=
      nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

bool ParseLogFormat(std::string_view name, LogFormat& format) {
  if (name == "text") {
    format = LogFormat::kText;
  } else if (name == "json") {
    format = LogFormat::kJson;
  } else {
    return false;
  }
  return true;
}

std::string FormatLogLine(LogFormat format, const LogLineParts& p, size_t* level_begin,
                          size_t* level_end) {
  std::string line;
  line.reserve(64 + p.process.size() + p.message.size());
  if (format == LogFormat::kJson) {
    line += "{\"time\":\"";
    AppendTime(line, p.time);
    line += "\",\"level\":";
    AppendJsonString(line, p.level);
    line += ",\"process\":";
    AppendJsonString(line, p.process);
    line += ",\"message\":";
    AppendJsonString(line, p.message);
    line += "}\n";
    return line;
  }
  AppendTime(line, p.time);
  line += ' ';
  if (level_begin != nullptr) *level_begin = line.size();
  line += p.level;
  if (level_end != nullptr) *level_end = line.size();
  line += ' ';
  line += p.process;
  line += ": ";
  AppendTextEscaped(line, p.message);
  line += '\n';
  return line;
}

}  // namespace firewatch
