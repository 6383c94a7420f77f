// Signed acknowledge links for emails (DESIGN.md "Alerting"; docs/api.md "/ack";
// docs/security.md "Ack links"):
//
//   {external_url}/ack?i=<incident id>&e=<expiry, unix seconds>&s=<signature>
//   signature = base64url, unpadded, of HMAC-SHA256(key, "ack\n" + id + "\n" + expiry)
//
//   GET  /ack   a small self-contained confirm page (no state change: mail scanners open
//               links) with a POST form carrying the same i, e, s and an optional "by".
//   POST /ack   form-encoded i, e, s, by: verifies the signature (constant time) and the
//               expiry, then acks as "<by> (email link)" (default "email link": the link
//               is the credential, the name is only what the clicker typed, so it is
//               marked as such and can never pass for an operator's token ack). 403 page
//               for a bad or expired signature, 404 page for an unknown incident.
//   Both are Access::kPublic: the signed link is the credential, no token is needed.
//
// Key: a secret only collectors hold: alerting.ack_secret_file, or else <data_dir>/ack.key
// (made on first start: 32 random bytes as hex, mode 0600). It is never derived from a
// heartbeat key, and a key equal to one is refused: every agent host has those. Keys of
// alerting.ack_secret_previous_files still verify (never sign), so a rotation keeps
// links already sent working for their lifetime, alerting.ack_link_ttl (default 24h).
// SIGHUP re-reads the keys (AckLinks::Set).
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
#include "firewatch/sync/mutex.h"
#include "http/http_server.h"

namespace firewatch::collector {

struct CollectorConfig;

class AckLinkSigner {
 public:
  enum class Check { kOk, kBadSignature, kExpired, kMalformed };

  // `key` signs and verifies; each of `previous` only verifies.
  AckLinkSigner(std::span<const uint8_t> key, std::string external_url, int64_t ttl_s,
                const std::vector<std::vector<uint8_t>>& previous = {});

  std::string Signature(const std::string& id, int64_t expiry_s) const;
  // Full link for `id`, valid until now_s + ttl.
  std::string Link(const std::string& id, int64_t now_s) const;
  // Verifies fields as received (expiry as decimal text) against the key and then each
  // previous key; constant time in the signature for each key.
  Check Verify(const std::string& id, const std::string& expiry, const std::string& sig,
               int64_t now_s) const;

 private:
  static std::string Sign(const crypto::HmacKey& key, const std::string& id, int64_t expiry_s);
  crypto::HmacKey key_;
  std::vector<crypto::HmacKey> previous_;
  std::string external_url_;
  int64_t ttl_s_;
};

// The signer in use, shared by the routes and the engine's link maker; SIGHUP swaps in
// a new one. Thread-safe.
class AckLinks {
 public:
  explicit AckLinks(std::shared_ptr<const AckLinkSigner> signer) : signer_(std::move(signer)) {}
  void Set(std::shared_ptr<const AckLinkSigner> signer) FW_EXCLUDES(mu_);
  std::shared_ptr<const AckLinkSigner> Get() const FW_EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::shared_ptr<const AckLinkSigner> signer_ FW_GUARDED_BY(mu_);
};

// Builds the signer of a collector config: reads alerting.ack_secret (or creates and
// reads <data_dir>/ack.key) and the previous keys. Fails naming the file, or when a key
// equals one of the heartbeat keys in `keys`.
Result<std::shared_ptr<const AckLinkSigner>> MakeAckLinkSigner(const CollectorConfig& config,
                                                               const protocol::Keyring& keys);

// Registers GET/POST /ack on `server` and sets the engine's email link maker (both use
// the signer `links` holds at the time of each request or email).
void RegisterAckLinks(HttpServer& server, alerting::AlertingEngine& engine,
                      std::shared_ptr<AckLinks> links, const Clock& clock);

}  // namespace firewatch::collector
