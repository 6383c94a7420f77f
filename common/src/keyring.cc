#include "firewatch/protocol/keyring.h"

#include <cctype>

#include "firewatch/random_id.h"
#include "firewatch/text/hex.h"
#include "firewatch/secret_file.h"

namespace firewatch::protocol {

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
    if (text::HexDigitValue(c) < 0) return Status::InvalidArgument("key is not hex text");
    hex.push_back(c);
  }
  if (hex.size() % 2 != 0) return Status::InvalidArgument("key has an odd number of hex digits");
  Secret out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(text::HexDigitValue(hex[i]) * 16 + text::HexDigitValue(hex[i + 1])));
  }
  if (out.size() < 16) return Status::InvalidArgument("key is shorter than 16 bytes (32 hex digits)");
  return out;
}

std::string GenerateKeyText() {
  return RandomHex(32) + "\n";
}

}  // namespace firewatch::protocol
