// Cron expressions (the five-field crontab(5) syntax of Debian's Vixie cron) and their
// next fire time in an IANA time zone, for scheduled checks (docs/checks.md).
//
// Syntax accepted (names and aliases are case-insensitive):
//   minute hour day-of-month month day-of-week
//   fields: '*', a number, a range "a-b", a step "*/n", "a/n" (a to the field's end),
//           "a-b/n", and comma lists of these; months JAN..DEC and weekdays SUN..SAT
//           (in single values and ranges); day-of-week 0..7 with 0 and 7 both Sunday
//   aliases: @yearly @annually @monthly @weekly @daily @midnight @hourly
// Not accepted (parse error): seconds fields, 'L', 'W', '#', '?', @reboot, reversed
// ranges ("5-1"), step 0, out-of-range values, a day of month that no selected month has
// ("0 0 30 2 *"). At most kMaxExpressionLength bytes.
//
// Day matching follows Vixie cron: when day-of-month or day-of-week starts with '*', a
// day must match both; otherwise either one is enough ("0 0 1,15 * MON" fires on the 1st,
// the 15th and every Monday).
//
// Daylight saving time, as Debian cron and healthchecks' cronsim do:
//   - "fixed-time" expressions (neither the minute nor the hour field starts with '*',
//     e.g. "30 2 * * *") are matched in local wall-clock time. A local time skipped by
//     spring-forward fires at the end of the gap (02:30 -> 03:00 local), once; a local
//     time that happens twice in autumn fires once, at its first occurrence.
//   - "interval" expressions (minute or hour starts with '*', e.g. "*/15 * * * *",
//     "0 * * * *") follow real time: skipped local times do not fire, and a repeated
//     local hour fires in both of its occurrences.
// One difference from cronsim: Next() never returns an instant at or before `after`
// (cronsim can, when started inside a repeated hour).
//
// Next() is bounded: it scans at most kMaxYears of calendar (months that cannot match are
// skipped whole) and returns nullopt when nothing fires within it. Pure and thread-safe.
#pragma once

#include <date/tz.h>

#include <bitset>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "firewatch/clock.h"
#include "firewatch/status.h"

namespace firewatch::cron {

inline constexpr size_t kMaxExpressionLength = 256;
inline constexpr int kMaxYears = 50;

class Expression {
 public:
  // InvalidArgument naming the field and what is wrong with it ("bad hour field '25':
  // value out of range 0-23").
  [[nodiscard]] static Result<Expression> Parse(std::string_view text);

  // The first fire time strictly after `after`, in `zone` (not null); nullopt when
  // there is none within kMaxYears.
  std::optional<WallTime> Next(WallTime after, const date::time_zone* zone) const;

  // True when matched in local wall-clock time (see the header comment).
  bool fixed_time() const { return fixed_time_; }
  const std::string& text() const { return text_; }

 private:
  Expression() = default;
  bool DayMatches(const date::year_month_day& ymd) const;

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0..6, Sunday = 0
  bool day_and_ = true;      // day-of-month AND day-of-week (either starts with '*')
  bool fixed_time_ = false;
};

}  // namespace firewatch::cron
