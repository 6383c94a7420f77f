// Heartbeat signing keys, named by key id. A key file holds one secret as hex text
// (64 hex digits = 32 bytes, as written by `firewatchctl keygen`); surrounding whitespace
// and lines starting with '#' are ignored. Secrets shorter than 16 bytes are refused.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/status.h"

namespace firewatch::protocol {

using Secret = std::vector<uint8_t>;

// One keyring entry: the secret as configured, and its HMAC-SHA256 key set up once
// (padded-key midstates precomputed) so verifying a frame does no per-frame key work.
struct Key {
  Secret secret;
  crypto::HmacKey hmac;
};

class Keyring {
 public:
  // Adds or replaces the key named `key_id`. Fails on an empty id, an id over 64
  // bytes, or a secret shorter than 16 bytes.
  Status Add(const std::string& key_id, Secret secret);
  // Reads a key file (see above) and adds it under `key_id`.
  Status AddFromFile(const std::string& key_id, const std::string& path);
  // The secret for `key_id`, or nullptr when unknown. Valid until the next Add.
  const Secret* Find(std::string_view key_id) const;
  // The entry (secret and precomputed HMAC key) for `key_id`, or nullptr when unknown.
  // Valid until the next Add.
  const Key* FindKey(std::string_view key_id) const;
  bool empty() const { return keys_.empty(); }

 private:
  std::map<std::string, Key, std::less<>> keys_;
};

// Parses hex key text (whitespace and '#' comment lines ignored).
Result<Secret> ParseKeyText(std::string_view text);
// 32 random bytes from the OS CSPRNG (firewatch/random_id.h) as 64 lowercase hex digits
// plus newline.
std::string GenerateKeyText();

}  // namespace firewatch::protocol
