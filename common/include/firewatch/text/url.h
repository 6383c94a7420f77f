// Percent-encoding (RFC 3986 section 2.1) for URLs, path segments and
// application/x-www-form-urlencoded bodies. Pure functions, thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace firewatch::text {

// Percent-encodes every byte except the RFC 3986 unreserved characters
// (A-Z a-z 0-9 - . _ ~), with upper-case hex digits. The result is safe as a path segment,
// in a query string and in a form body (a space becomes %20, never '+').
std::string UrlEncode(std::string_view s);

// Decodes %XX escapes (either case) and, when `plus_is_space` (forms and query strings),
// '+' as ' '. Strict, because its input is untrusted: nullopt on a truncated or non-hex
// escape, or when the result would contain a NUL byte. The result is bytes: it is not
// checked to be UTF-8.
std::optional<std::string> UrlDecode(std::string_view s, bool plus_is_space);

// Parses application/x-www-form-urlencoded text (also a query string) into name -> value,
// with '+' as space. A later duplicate name replaces an earlier one; a pair whose name or
// value does not decode is skipped; "a" alone gives a = ""; empty pairs ("a=1&&b=2") are
// ignored.
std::map<std::string, std::string> ParseForm(std::string_view text);

}  // namespace firewatch::text
