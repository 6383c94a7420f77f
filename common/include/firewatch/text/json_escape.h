// JSON string escaping (RFC 8259 section 7) for JSON written by hand (error bodies, the
// agent's /healthz), with the same output rules as nlohmann::json's
// dump(..., error_handler_t::replace), which writes the rest of our JSON. Pure, thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace firewatch::text {

// The contents of a JSON string literal for `s` (without the surrounding quotes):
//  - '"' and '\\' are backslash-escaped; \b \f \n \r \t use their short forms; every other
//    byte below 0x20 is written \u00XX (lower-case hex). Nothing else is escaped.
//  - Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
//    U+10FFFF) is copied as is, so "café/東京" stays "café/東京".
//  - Ill-formed UTF-8 is replaced by U+FFFD (EF BF BD), one per maximal subpart of an
//    ill-formed sequence (Unicode 15, section 3.9, "U+FFFD Substitution of Maximal
//    Subparts"). Why replace rather than write \u00XX per byte: JSON text must be UTF-8
//    (RFC 8259 section 8.1) and \u escapes name code points, not bytes, so \u00e9 for a
//    stray byte E9 would silently turn it into a different, valid "é"; U+FFFD marks the
//    loss visibly, and it is what nlohmann::json, browsers and the WHATWG decoder do, so
//    every JSON the collector writes treats bad bytes the same way.
std::string JsonEscape(std::string_view s);

// Appends JsonEscape(s) to `out`.
void AppendJsonEscaped(std::string& out, std::string_view s);

}  // namespace firewatch::text
