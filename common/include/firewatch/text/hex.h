// Hexadecimal text for bytes (keys, digests, ids). Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace firewatch::text {

// Two lower-case hex digits per byte.
std::string ToHex(std::span<const uint8_t> bytes);

// The value (0-15) of one hex digit, either case; -1 for any other character.
int HexDigitValue(char c);

}  // namespace firewatch::text
