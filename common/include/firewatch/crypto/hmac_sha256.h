// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), built in so that firewatch_common
// needs no crypto library: loading OpenSSL's libcrypto alone costs the agent ~3.4 MB of
// RSS, and OpenSSL 3's one-shot HMAC() re-fetches the digest on every call, which is
// slow on the collector's per-frame hot path.
//
// Portable C++; on x86-64 the block function uses the SHA extensions (SHA-NI) when the
// CPU has them (checked once at run time with cpuid), and portable code otherwise. Both
// give identical results; common_test checks both against the NIST/RFC vectors and
// OpenSSL.
//
// Nothing here allocates. Objects are not synchronised: use one per thread, or share a
// const HmacKey (Sign is const and touches no shared mutable state).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace firewatch::crypto {

inline constexpr size_t kSha256Size = 32;       // digest bytes
inline constexpr size_t kSha256BlockSize = 64;  // compression block bytes
using Sha256Digest = std::array<uint8_t, kSha256Size>;

// Incremental SHA-256. Update() any number of times with any split of the message,
// then Finish(). Messages are limited to 2^61 - 1 bytes (the bit length must fit 64
// bits); no caller comes near that.
class Sha256 {
 public:
  Sha256() { Reset(); }
  // Back to the state of a freshly constructed hasher.
  void Reset();
  // Absorbs `data`; an empty span is a no-op.
  Sha256& Update(std::span<const uint8_t> data);
  // Pads, returns the digest of everything absorbed since the last Reset() (or
  // construction, or Finish()), and resets, so the object can hash the next message.
  Sha256Digest Finish();
  // One-shot digest of `data`.
  static Sha256Digest Hash(std::span<const uint8_t> data);

 private:
  friend class HmacKey;
  std::array<uint32_t, 8> state_;
  uint64_t length_;  // bytes absorbed, including those still in buffer_
  std::array<uint8_t, kSha256BlockSize> buffer_;
  size_t buffered_;  // 0..63
};

// An HMAC-SHA256 key with its inner and outer padded-key blocks already compressed
// (RFC 2104 with B = 64, L = 32; keys longer than 64 bytes are first hashed, as the RFC
// says). Set up once per key; Sign() then hashes only the message blocks plus one outer
// block. Keys of any length are accepted, including empty; refusing short keys is the
// caller's policy (protocol::Keyring refuses < 16 bytes).
//
// Holds only the two 32-byte midstates, never the key itself; the destructor wipes them.
class HmacKey {
 public:
  // The empty key (HMAC with a zero-length key is well defined).
  HmacKey() : HmacKey(std::span<const uint8_t>{}) {}
  explicit HmacKey(std::span<const uint8_t> key);
  HmacKey(const HmacKey&) = default;
  HmacKey& operator=(const HmacKey&) = default;
  ~HmacKey();

  // HMAC-SHA256(key, message): the full 32-byte tag. Callers that truncate compare a
  // prefix with ConstantTimeEqual.
  Sha256Digest Sign(std::span<const uint8_t> message) const;
  // True when `mac` is exactly 32 bytes and equals Sign(message); constant time in the
  // contents of `mac`.
  bool Verify(std::span<const uint8_t> message, std::span<const uint8_t> mac) const;

 private:
  std::array<uint32_t, 8> inner_;  // state after compressing key ^ ipad
  std::array<uint32_t, 8> outer_;  // state after compressing key ^ opad
};

// One-shot HMAC-SHA256 for callers that sign one message per key (sets up the key each
// call; keep an HmacKey when the key is reused).
Sha256Digest HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> message);

// True when `a` and `b` have the same length and the same bytes. The running time
// depends only on the lengths, never on the contents or where they first differ (the
// lengths themselves are not treated as secret).
bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b);

// Test hooks for the block function; production code never calls these.
namespace internal {
enum class Sha256Impl : uint8_t { kPortable, kShaNi };
// The implementation in use (chosen on first use: SHA-NI when the CPU has it).
Sha256Impl ActiveSha256Impl();
// Whether this build and this CPU can run `impl`.
bool Sha256ImplAvailable(Sha256Impl impl);
// Switches implementation process-wide; false (and no change) when unavailable. Not
// safe to call while other threads hash.
bool SetSha256ImplForTesting(Sha256Impl impl);
}  // namespace internal

}  // namespace firewatch::crypto
