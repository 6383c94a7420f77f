// RFC 3339 timestamps (section 5.6, "date-time") <-> Unix milliseconds, always in UTC when
// formatting. Pure functions without time zone databases or libc state, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace firewatch::text {

enum class Rfc3339Fraction {
  kMillis,           // "2026-11-25T16:41:13.123Z", "...:13.000Z": the API, silences, logs
  kMillisIfNonZero,  // "...:13.123Z", but "...:13Z" on a whole second (as Go prints times)
  kNone,             // "...:13Z": the milliseconds are dropped (floored)
};

// `unix_ms` as "YYYY-MM-DDTHH:MM:SS[.mmm]Z". Times before 1970 floor correctly (-1 is
// "1969-12-31T23:59:59.999Z"). RFC 3339 has four-digit years, so a time before
// 0000-01-01T00:00:00.000Z or after 9999-12-31T23:59:59.999Z is clamped to that bound.
std::string FormatRfc3339(int64_t unix_ms, Rfc3339Fraction fraction = Rfc3339Fraction::kMillis);

// Parses an RFC 3339 date-time to Unix milliseconds: "2024-05-01T12:00:00Z",
// "2024-05-01t12:00:00.5z", "2024-05-01T14:00:00.123456+02:00". Strict: exactly the
// RFC's digits and separators (no spaces, no signs, no missing fields), a real calendar
// date (2023-02-29 is refused), hour 00-23, minute 00-59, second 00-60, offset hours 00-23
// and minutes 00-59. Fraction digits past the third are truncated. Second 60 (a leap
// second) is accepted and, as Unix time has no leap seconds, counts as second 0 of the
// next minute. nullopt on anything else.
std::optional<int64_t> ParseRfc3339(std::string_view text);

}  // namespace firewatch::text
