// Signed acknowledge links for emails (DESIGN.md "Alerting"; docs/api.md "/ack"):
//
//   {external_url}/ack?i=<incident id>&e=<expiry, unix seconds>&s=<signature>
//   signature = base64url, unpadded, of HMAC-SHA256(key, "ack\n" + id + "\n" + expiry)
//
//   GET  /ack   a small self-contained confirm page (no state change: mail scanners open
//               links) with a POST form carrying the same i, e, s and an optional "by".
//   POST /ack   form-encoded i, e, s, by: verifies the signature (constant time) and the
//               expiry, then acks as `by` (default "email link"). 403 page for a bad or
//               expired signature, 404 page for an unknown incident.
//
// Key: alerting.ack_secret_file, or when absent HMAC-SHA256(first heartbeat key secret,
// "firewatch ack links"). Lifetime: alerting.ack_link_ttl (default 24h).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/engine.h"
#include "firewatch/clock.h"
#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/protocol/keyring.h"
#include "http/http_server.h"

namespace firewatch::collector {

struct CollectorConfig;

// Base64url (RFC 4648 section 5) without padding.
std::string Base64Url(std::span<const uint8_t> bytes);

class AckLinkSigner {
 public:
  enum class Check { kOk, kBadSignature, kExpired, kMalformed };

  AckLinkSigner(std::span<const uint8_t> key, std::string external_url, int64_t ttl_s);

  // The key used when alerting.ack_secret_file is absent.
  static std::vector<uint8_t> DeriveKey(std::span<const uint8_t> heartbeat_secret);

  std::string Signature(const std::string& id, int64_t expiry_s) const;
  // Full link for `id`, valid until now_s + ttl.
  std::string Link(const std::string& id, int64_t now_s) const;
  // Verifies fields as received (expiry as decimal text); constant time in the signature.
  Check Verify(const std::string& id, const std::string& expiry, const std::string& sig,
               int64_t now_s) const;

 private:
  crypto::HmacKey key_;
  std::string external_url_;
  int64_t ttl_s_;
};

// Parses application/x-www-form-urlencoded text (also a query string); later duplicates
// win; undecodable pairs are skipped.
std::map<std::string, std::string> ParseFormBody(std::string_view text);

// Registers GET/POST /ack on `server` and sets the engine's email link maker (both share
// ownership of the signer).
void RegisterAckLinks(HttpServer& server, alerting::AlertingEngine& engine,
                      std::shared_ptr<const AckLinkSigner> signer, const Clock& clock);

// What collector_app calls: builds the signer from the config (ack_secret or the first
// heartbeat key; logs and registers nothing when neither exists), then registers.
void RegisterAckLinks(HttpServer& server, alerting::AlertingEngine& engine,
                      const CollectorConfig& config, const protocol::Keyring& keys,
                      const Clock& clock);

}  // namespace firewatch::collector
