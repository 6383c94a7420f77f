#include "agent_log.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace firewatch::agent {
namespace {

// spdlog's level names (SPDLOG_LEVEL_NAMES) and ANSI colours (ansicolor_sink).
constexpr std::array<std::string_view, 7> kNames = {"trace", "debug",    "info", "warning",
                                                    "error", "critical", "off"};
constexpr std::array<std::string_view, 7> kColours = {
    "\033[37m",        "\033[36m",        "\033[32m", "\033[33m\033[1m",
    "\033[31m\033[1m", "\033[1m\033[41m", "\033[m"};
constexpr std::string_view kReset = "\033[m";

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kText};
std::string g_name = "firewatch-agent";

// Same test as spdlog's is_color_terminal().
bool ColourTerminal() {
  if (std::getenv("COLORTERM") != nullptr) return true;
  const char* term = std::getenv("TERM");
  if (term == nullptr) return false;
  for (const char* t :
       {"ansi", "color", "console", "cygwin", "gnome", "konsole", "kterm", "linux", "msys", "putty",
        "rxvt", "screen", "vt100", "xterm", "alacritty", "vt102"}) {
    if (std::strstr(term, t) != nullptr) return true;
  }
  return false;
}

bool StderrWantsColour() {
  static const bool colour = isatty(STDERR_FILENO) == 1 && ColourTerminal();
  return colour;
}

}  // namespace

bool ParseLogLevel(std::string_view name, LogLevel& level) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (name == kNames[i]) {
      level = static_cast<LogLevel>(i);
      return true;
    }
  }
  if (name == "warn") {
    level = LogLevel::kWarn;
    return true;
  }
  if (name == "err") {
    level = LogLevel::kError;
    return true;
  }
  return false;
}

bool InitAgentLogging(std::string_view level, std::string_view process_name, LogFormat format) {
  LogLevel parsed;
  if (!ParseLogLevel(level, parsed)) return false;
  g_name = std::string(process_name);
  g_format.store(format, std::memory_order_relaxed);
  g_level.store(parsed, std::memory_order_relaxed);
  return true;
}

LogLevel CurrentLogLevel() {
  return g_level.load(std::memory_order_relaxed);
}

std::string FormatLogLine(LogLevel level, std::string_view message, bool colour) {
  const auto i = static_cast<size_t>(level);
  const LogFormat format = g_format.load(std::memory_order_relaxed);
  size_t begin = 0, end = 0;
  std::string line = firewatch::FormatLogLine(
      format, LogLineParts{std::chrono::system_clock::now(), kNames[i], g_name, message}, &begin,
      &end);
  if (colour && format == LogFormat::kText) {
    line.insert(end, kReset);
    line.insert(begin, kColours[i]);
  }
  return line;
}

void WriteLog(LogLevel level, std::string_view message) {
  if (!LogEnabled(level)) return;
  const std::string line = FormatLogLine(level, message, StderrWantsColour());
  const char* p = line.data();
  size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report a failing stderr
    p += n;
    left -= static_cast<size_t>(n);
  }
}

}  // namespace firewatch::agent
