// The text encoding of list-valued columns (labels, check results) in the store.
// Specified in docs/storage.md, "Encoded columns"; keep the two in step.
//
// A list is its records joined by '&'; a record is its fields joined by '='; the empty
// string is the empty list. Inside a field, '%', '&', '=', ASCII control bytes (0x00-0x1f,
// 0x7f) and every byte that is not part of a well-formed UTF-8 sequence are written as
// %XX (uppercase hex); all other bytes are copied. So any byte string round-trips
// exactly, and the column is always valid UTF-8 that reads well in the sqlite3 shell:
//   labels  dc=pangyo&role=db
//   checks  disk=CRITICAL=93%25 used&ntp=OK=offset 2ms
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "firewatch/protocol/frame.h"
#include "firewatch/status.h"

namespace firewatch::collector::codec {

// Encodes one field (the escaping above); AppendField appends it to `out`.
std::string EscapeField(std::string_view field);
void AppendField(std::string& out, std::string_view field);
// Inverse of EscapeField; Corruption on a '%' not followed by two hex digits.
Result<std::string> UnescapeField(std::string_view escaped);

// Labels: one record per label, fields key and value, in the given order.
std::string EncodeLabels(const protocol::Labels& labels);
void EncodeLabelsTo(const protocol::Labels& labels, std::string& out);  // replaces `out`
// Corruption when a record does not have exactly two fields or a field is malformed.
Result<protocol::Labels> DecodeLabels(std::string_view text);

// Checks: one record per check, fields name, state (CheckStateName) and output.
std::string EncodeChecks(const std::vector<protocol::CheckResult>& checks);
void EncodeChecksTo(const std::vector<protocol::CheckResult>& checks, std::string& out);
// Corruption on a wrong field count, a malformed field or an unknown state name.
Result<std::vector<protocol::CheckResult>> DecodeChecks(std::string_view text);

}  // namespace firewatch::collector::codec
