// Internal to firewatch_common: the SHA-256 block function, shared by sha256.cc and
// hmac_sha256.cc. Not installed, not part of the public API.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace firewatch::crypto::internal {

using Sha256State = std::array<uint32_t, 8>;

// FIPS 180-4 section 5.3.3: the initial hash value H(0).
inline constexpr Sha256State kSha256Init = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                            0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};

// Compresses `nblocks` consecutive 64-byte blocks at `blocks` into `state`, with
// whichever implementation is active (see ActiveSha256Impl()).
void Sha256Blocks(Sha256State& state, const uint8_t* blocks, size_t nblocks);

// Writes `state` as 32 big-endian bytes.
void Sha256StoreDigest(const Sha256State& state, uint8_t* out);

// Overwrites `n` bytes at `p` with zeros in a way the compiler may not elide.
void SecureWipe(void* p, size_t n);

}  // namespace firewatch::crypto::internal
