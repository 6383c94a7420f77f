// Base64 (RFC 4648): the standard alphabet with padding (HTTP Basic auth, Twilio
// signatures, MIME encoded-words) and the URL-safe alphabet without padding (ack link
// signatures, operator tokens). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace firewatch::text {

// RFC 4648 section 4 ('+' and '/'), padded with '=' to a multiple of 4 characters.
std::string Base64Std(std::span<const uint8_t> bytes);
std::string Base64Std(std::string_view bytes);
// RFC 4648 section 5 ('-' and '_'), unpadded.
std::string Base64Url(std::span<const uint8_t> bytes);

// Decodes the standard alphabet. Trailing '=' padding is optional; no whitespace. Returns
// nullopt on any other character, a length no encoder produces (4n+1 characters once the
// padding is removed), or input over `max_input` bytes (checked before anything is
// decoded, so untrusted input costs at most `max_input`).
std::optional<std::vector<uint8_t>> DecodeBase64Std(std::string_view text, size_t max_input = 4096);

}  // namespace firewatch::text
