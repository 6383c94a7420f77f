// FNV-1a, 64 bit: a fast, stable, non-cryptographic hash of bytes, for digests that
// must be the same in every process and version (the peer sync's digests, the tracker's
// digest of a source's stored checks). Not for anything an attacker must not collide.
#pragma once

#include <cstdint>
#include <string_view>

namespace firewatch::text {

inline constexpr uint64_t kFnv1a64Prime = 1099511628211ull;
inline constexpr uint64_t kFnv1a64Basis = 14695981039346656037ull;

// FNV-1a 64 of `text`, continuing from `h` (the published basis by default).
inline uint64_t Fnv1a64(std::string_view text, uint64_t h = kFnv1a64Basis) {
  for (unsigned char c : text) h = (h ^ c) * kFnv1a64Prime;
  return h;
}

// Mixes one more symbol into `h`: a value above 0xff is a separator or tag that no byte
// of a text can be mistaken for.
inline uint64_t Fnv1a64Mix(uint64_t h, uint64_t symbol) { return (h ^ symbol) * kFnv1a64Prime; }

}  // namespace firewatch::text
