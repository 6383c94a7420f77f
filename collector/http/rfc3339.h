// Timestamps for humans and JSON: Unix milliseconds as RFC 3339 in UTC with exactly three
// fraction digits, e.g. "2026-11-25T16:41:13.123Z". Used by the API and the status page.
// Header-only so the status page does not depend on the API's translation unit.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>

namespace firewatch::collector {

// Times before 1970 floor correctly ("1969-12-31T23:59:59.999Z" for -1). Thread-safe.
inline std::string FormatRfc3339Millis(int64_t unix_ms) {
  int64_t secs = unix_ms / 1000;
  int64_t ms = unix_ms % 1000;
  if (ms < 0) {
    ms += 1000;
    secs -= 1;
  }
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (gmtime_r(&t, &tm) == nullptr) return "1970-01-01T00:00:00.000Z";
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms));
  return buf;
}

}  // namespace firewatch::collector
