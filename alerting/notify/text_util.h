// Small text helpers shared by the notifiers: Alertmanager's time format, UTF-8 aware
// truncation, label rendering. Pure functions, thread-safe. Base64, percent-encoding,
// JSON escaping and RFC 3339 are common: firewatch/text/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "model/alert.h"

namespace firewatch::alerting::notify {

// Unix milliseconds as Alertmanager writes times: RFC 3339 UTC, "2024-05-01T12:00:00Z",
// with ".123" when the milliseconds are not zero. 0 (unset) renders as Go's zero time
// "0001-01-01T00:00:00Z", exactly as Alertmanager does for an alert that has not ended.
std::string AlertmanagerTime(int64_t unix_ms);

// The longest prefix of `s` with at most `max_bytes` bytes that does not cut a UTF-8
// sequence in half.
std::string Utf8Prefix(std::string_view s, size_t max_bytes);

// The first `max_chars` code points of `s` (a code point = a UTF-8 lead byte plus its
// continuation bytes; invalid bytes count as one each).
std::string Utf8TruncateChars(std::string_view s, size_t max_chars);

// Labels as Alertmanager prints them: {a="1", b="2"}, values with \ and " escaped.
std::string LabelsString(const LabelSet& labels);

// Replaces CR and LF (and other ASCII control characters except TAB) with spaces, so a
// value can go into a header line without injecting another header.
std::string OneLine(std::string_view s);

}  // namespace firewatch::alerting::notify
