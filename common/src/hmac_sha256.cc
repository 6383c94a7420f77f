// HMAC-SHA256 per RFC 2104 (B = 64, L = 32):
//   HMAC(K, m) = H((K0 ^ opad) || H((K0 ^ ipad) || m))
// where K0 is K zero-padded to 64 bytes, or H(K) zero-padded when K is longer than 64.
// (K0 ^ ipad) and (K0 ^ opad) are exactly one block each, so their compressions depend
// only on the key: HmacKey keeps the two resulting states.
#include "firewatch/crypto/hmac_sha256.h"

#include <cstring>

#include "sha256_block.h"

namespace firewatch::crypto {

namespace {
constexpr uint8_t kIpad = 0x36;
constexpr uint8_t kOpad = 0x5c;
}  // namespace

HmacKey::HmacKey(std::span<const uint8_t> key) {
  uint8_t block[kSha256BlockSize] = {};
  if (key.size() > kSha256BlockSize) {
    Sha256Digest hashed = Sha256::Hash(key);
    std::memcpy(block, hashed.data(), hashed.size());
    internal::SecureWipe(hashed.data(), hashed.size());
  } else if (!key.empty()) {
    std::memcpy(block, key.data(), key.size());
  }
  for (uint8_t& b : block) b ^= kIpad;
  inner_ = internal::kSha256Init;
  internal::Sha256Blocks(inner_, block, 1);
  for (uint8_t& b : block) b ^= kIpad ^ kOpad;
  outer_ = internal::kSha256Init;
  internal::Sha256Blocks(outer_, block, 1);
  internal::SecureWipe(block, sizeof block);
}

HmacKey::~HmacKey() {
  internal::SecureWipe(inner_.data(), sizeof inner_);
  internal::SecureWipe(outer_.data(), sizeof outer_);
}

Sha256Digest HmacKey::Sign(std::span<const uint8_t> message) const {
  // Inner hash: resume from the ipad midstate, one block (64 bytes) already absorbed.
  Sha256 inner;
  inner.state_ = inner_;
  inner.length_ = kSha256BlockSize;
  inner.buffered_ = 0;
  inner.Update(message);
  const Sha256Digest inner_digest = inner.Finish();

  // Outer hash: the opad midstate plus exactly one final block, padded by hand:
  // digest(32) || 0x80 || zeros || bit length of (64 + 32) bytes = 768 = 0x0300.
  uint8_t block[kSha256BlockSize] = {};
  std::memcpy(block, inner_digest.data(), kSha256Size);
  block[kSha256Size] = 0x80;
  block[kSha256BlockSize - 2] = 0x03;
  internal::Sha256State state = outer_;
  internal::Sha256Blocks(state, block, 1);
  Sha256Digest out;
  internal::Sha256StoreDigest(state, out.data());
  return out;
}

bool HmacKey::Verify(std::span<const uint8_t> message, std::span<const uint8_t> mac) const {
  if (mac.size() != kSha256Size) return false;
  const Sha256Digest expected = Sign(message);
  return ConstantTimeEqual(expected, mac);
}

Sha256Digest HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> message) {
  return HmacKey(key).Sign(message);
}

bool ConstantTimeEqual(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  if (a.size() != b.size()) return false;
  // Volatile loads: the compiler must read every byte and cannot stop at the first
  // difference.
  const volatile uint8_t* pa = a.data();
  const volatile uint8_t* pb = b.data();
  uint8_t diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff = static_cast<uint8_t>(diff | (pa[i] ^ pb[i]));
  return diff == 0;
}

}  // namespace firewatch::crypto
