#include "firewatch/protocol/keyring.h"

#include <cctype>

#include "firewatch/crypto/random.h"
#include "firewatch/secret_file.h"

namespace firewatch::protocol {

namespace {
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
}  // namespace

Status Keyring::Add(const std::string& key_id, Secret secret) {
  if (key_id.empty()) return Status::InvalidArgument("key id is empty");
  if (key_id.size() > 64) return Status::InvalidArgument("key id '" + key_id + "' is over 64 bytes");
  if (secret.size() < 16) {
    return Status::InvalidArgument("key '" + key_id + "' is shorter than 16 bytes");
  }
  crypto::HmacKey hmac(secret);
  keys_.insert_or_assign(key_id, Key{std::move(secret), hmac});
  return Status::Ok();
}

Status Keyring::AddFromFile(const std::string& key_id, const std::string& path) {
  auto text = ReadSecretFile(path, "key");
  if (!text.ok()) return text.status();
  auto secret = ParseKeyText(*text);
  if (!secret.ok()) return Status::InvalidArgument(path + ": " + secret.status().message());
  return Add(key_id, std::move(secret).value());
}

const Secret* Keyring::Find(std::string_view key_id) const {
  const Key* key = FindKey(key_id);
  return key == nullptr ? nullptr : &key->secret;
}

const Key* Keyring::FindKey(std::string_view key_id) const {
  auto it = keys_.find(key_id);
  return it == keys_.end() ? nullptr : &it->second;
}

Result<Secret> ParseKeyText(std::string_view text) {
  std::string hex;
  bool comment = false, line_start = true;
  for (char c : text) {
    if (c == '\n') {
      comment = false;
      line_start = true;
      continue;
    }
    if (line_start && c == '#') comment = true;
    if (!std::isspace(static_cast<unsigned char>(c))) line_start = false;
    if (comment || std::isspace(static_cast<unsigned char>(c))) continue;
    if (HexValue(c) < 0) return Status::InvalidArgument("key is not hex text");
    hex.push_back(c);
  }
  if (hex.size() % 2 != 0) return Status::InvalidArgument("key has an odd number of hex digits");
  Secret out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(HexValue(hex[i]) * 16 + HexValue(hex[i + 1])));
  }
  if (out.size() < 16) return Status::InvalidArgument("key is shorter than 16 bytes (32 hex digits)");
  return out;
}

std::string ToHex(std::span<const uint8_t> bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    s.push_back(kDigits[b >> 4]);
    s.push_back(kDigits[b & 15]);
  }
  return s;
}

Result<std::string> GenerateKeyText() {
  uint8_t buf[32];
  if (Status s = crypto::FillRandom(buf); !s.ok()) return s;
  return ToHex(buf) + "\n";
}

}  // namespace firewatch::protocol
