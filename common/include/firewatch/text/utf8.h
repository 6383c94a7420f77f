// Cutting text to a byte budget without splitting a UTF-8 sequence (check messages: the
// agent's 256-byte limit, the collector's per-source budget, the cluster's copy). Pure,
// thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

namespace firewatch::text {

// The longest prefix of `s` of at most `max` bytes that does not end inside a UTF-8
// sequence: continuation bytes (10xxxxxx) at the cut are backed over. Text that is not
// UTF-8 is cut at a byte like any other.
inline std::string_view Utf8Prefix(std::string_view s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace firewatch::text
