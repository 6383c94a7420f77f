// Local (wall-clock) time in IANA time zones, for on-call schedules.
//
// Instants are firewatch::WallTime (UTC, system_clock). A schedule's hand-offs are given
// in a zone's local wall-clock time, so converting local -> instant must pick an answer
// for the two DST oddities, and every caller gets the same one:
//   - a local time that does not exist (the spring-forward gap, e.g. 02:30 in Berlin on
//     2026-03-29) maps to the instant the gap ends (03:00 local, the transition instant);
//   - a local time that happens twice (the fall-back hour) maps to the EARLIER instant
//     (the first 02:30 in Berlin on 2026-10-25, still CEST).
// Both rules keep the mapping monotonic: later local time, same or later instant.
//
// Zones come from the OS tz database (/usr/share/zoneinfo, Debian's tzdata) via
// date-tz built with USE_OS_TZDB; nothing is downloaded. Zone pointers stay valid for the
// life of the process. All functions are pure and thread-safe.
#pragma once

#include <date/tz.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "firewatch/clock.h"
#include "firewatch/status.h"

namespace firewatch::alerting::schedule {

using LocalTime = date::local_seconds;  // wall-clock time in some zone, second precision
using Zone = const date::time_zone*;

// Finds an IANA zone ("Europe/Berlin", "America/New_York", "UTC"). NotFound with
// "unknown time zone 'X'" when the OS database has no such zone.
[[nodiscard]] Result<Zone> FindZone(std::string_view name);

// Local wall-clock time in `zone` -> instant, with the gap/overlap rules above.
// `zone` must not be null.
WallTime ToWall(Zone zone, LocalTime local);
// Instant -> local wall-clock time in `zone` (sub-second part dropped, rounding down).
LocalTime ToLocal(Zone zone, WallTime t);

// "HH:MM" (24-hour, two digits each) -> time of day. InvalidArgument otherwise.
[[nodiscard]] Result<std::chrono::minutes> ParseTimeOfDay(std::string_view text);
std::string FormatTimeOfDay(std::chrono::minutes tod);  // "09:00"

// A date-time as written in config.
struct DateTime {
  LocalTime local{};                        // the date and time as written
  bool has_time = false;                    // false for a bare date (time is 00:00)
  std::optional<std::chrono::seconds> utc_offset;  // set for "Z" / "+01:00" (RFC 3339)
};
// Accepts "2026-03-02", "2026-03-02T09:00", "2026-03-02 09:00:30", and RFC 3339 with an
// offset: "2026-03-02T09:00:00Z", "2026-03-02T09:00:00+01:00" (seconds optional, no
// fractions). InvalidArgument naming the expected forms otherwise (bad dates such as
// 2026-02-30 included).
[[nodiscard]] Result<DateTime> ParseDateTime(std::string_view text);
// The instant a parsed date-time denotes: with an offset it is absolute; without one it
// is local time in `zone` (gap/overlap rules above). `zone` must not be null.
WallTime Resolve(const DateTime& dt, Zone zone);

// For listings and messages: "2026-03-08 09:00 EDT" (seconds shown only when non-zero).
std::string FormatLocal(Zone zone, WallTime t);
// RFC 3339 with the zone's offset at t: "2026-03-08T09:00:00-04:00".
std::string FormatRfc3339(Zone zone, WallTime t);

}  // namespace firewatch::alerting::schedule
