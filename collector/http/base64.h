// Base64 (RFC 4648): the standard alphabet with padding (Twilio signatures, HTTP Basic
// auth) and the URL-safe alphabet without padding (ack link signatures, operator tokens).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace firewatch::collector {

// RFC 4648 section 4, padded with '='.
std::string Base64Std(std::span<const uint8_t> bytes);
// RFC 4648 section 5 ('-' and '_'), unpadded.
std::string Base64Url(std::span<const uint8_t> bytes);
// Decodes the standard alphabet; padding optional, no whitespace. nullopt on any other
// character, a bad length or input over `max_input` bytes (nothing is decoded then).
std::optional<std::vector<uint8_t>> DecodeBase64Std(std::string_view text, size_t max_input = 4096);

}  // namespace firewatch::collector
