// Who may call an HTTP route (docs/security.md, "Operator tokens" and "Who may call what").
//
// Every route declares an Access level when it is registered (HttpServer::Route). The
// server applies the AccessPolicy to the request's headers BEFORE it reads the body or
// runs the handler, so a refused request changes nothing and costs almost nothing:
//
//   kPublic    anyone. The route authenticates its callers itself (a heartbeat frame's
//              HMAC, a signed ack link, X-Twilio-Signature, a peer's sync signature) or
//              only reports health (/healthz, /readyz).
//   kRead      read-only. Anyone, unless the policy requires a token for reads: then a
//              valid operator token, as "Authorization: Bearer <token>" or as the
//              password of HTTP Basic auth (so a browser can open the status page).
//   kOperator  changes state (ack, silences, forgetting a source, anything later):
//                421  Host is not one of the collector's own names (DNS rebinding);
//                403  Origin (or Sec-Fetch-Site) says another site sent it (CSRF);
//                401  no "Authorization: Bearer <token>" with a valid operator token
//                     (WWW-Authenticate: Bearer realm="firewatch");
//                415  the request has a body, or is a POST/PUT/PATCH, and its
//                     Content-Type is not application/json (HTML forms cannot send it).
//              Checked in that order. Basic auth is NOT accepted here: a browser replays
//              cached Basic credentials on cross-site requests, never a Bearer token.
//   kAuto      (registration default) GET/HEAD routes are kRead, every other method
//              kOperator: a new state-changing route is operator-only unless it says why
//              it is not.
//
// Tokens are stored only as SHA-256 hashes (hex of the digest of the token text exactly
// as sent); a presented token is hashed and compared with every known hash in constant
// time. See MakeOperatorToken for the token format.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "firewatch/crypto/hmac_sha256.h"
#include "firewatch/status.h"

namespace firewatch::collector {

struct HttpRequest;
struct HttpResponse;

enum class Access : uint8_t { kAuto, kPublic, kRead, kOperator };
// "auto", "public", "read", "operator".
std::string_view AccessName(Access a);

// Why the policy (or the server's limits) refused a request; names are metric labels of
// firewatch_http_refused_total{reason}.
enum class HttpRefusal : uint8_t {
  kNoToken,        // 401: no credential on a route that needs one
  kBadToken,       // 401: a credential that matches no operator
  kForeignHost,    // 421: Host is not the collector's own
  kForeignOrigin,  // 403: Origin / Sec-Fetch-Site name another site
  kNotJson,        // 415: body not application/json on an operator route
  kClientLimit,    // connection closed at accept: too many open from one client address
  kSlowRequest,    // 408: body not received within the deadline or below the minimum rate
};
inline constexpr int kHttpRefusalCount = 7;
std::string_view HttpRefusalName(HttpRefusal r);

// One operator: a name (what acked_by / createdBy record) and the SHA-256 of its token.
struct OperatorEntry {
  std::string name;
  crypto::Sha256Digest token_sha256{};
};

// The operators a collector accepts. Immutable once built; share it as a
// shared_ptr<const OperatorTokens> (SIGHUP swaps in a new one).
class OperatorTokens {
 public:
  OperatorTokens() = default;
  // Fails with InvalidArgument naming the entry when a name is empty, longer than 64
  // bytes or not [A-Za-z0-9._@-], when a hash is listed twice, or with more than
  // kMaxOperators entries. A name may have several tokens (rotation, several devices).
  static Result<OperatorTokens> Make(std::vector<OperatorEntry> entries);

  // The operator whose token this is, or nullopt. Hashes `token` once and compares the
  // digest with EVERY entry (no early exit), each comparison constant time. Tokens
  // longer than kMaxTokenLength are refused without hashing.
  std::optional<std::string> Find(std::string_view token) const;
  size_t size() const { return entries_.size(); }
  const std::vector<OperatorEntry>& entries() const { return entries_; }

  static constexpr size_t kMaxTokenLength = 256;
  static constexpr size_t kMaxOperators = 1000;

 private:
  std::vector<OperatorEntry> entries_;
};

// A new operator token: "fwop_" + base64url (no padding) of 32 random bytes (256 bits
// from firewatch/random_id.h).
std::string MakeOperatorToken();
// Lower-case hex SHA-256 of the token text: the value of `token_sha256` in the config.
std::string TokenSha256Hex(std::string_view token);
// Parses 64 hex digits (either case). InvalidArgument otherwise.
Result<crypto::Sha256Digest> ParseSha256Hex(std::string_view hex);
// Whether `name` is a valid operator name (1..64 bytes of [A-Za-z0-9._@-]).
bool ValidOperatorName(std::string_view name);

// What the server enforces. Immutable; swap a whole new one to change it.
struct AccessPolicy {
  std::shared_ptr<const OperatorTokens> operators;  // null: nobody is an operator
  bool read_requires_token = false;
  // Host names (lower case, no port) that are this collector's own, besides IP literals
  // and "localhost" which always are: the names in http_listen, external_url(s) and
  // collector.allowed_hosts.
  std::vector<std::string> own_hosts;
  // Origins ("http://name:port", lower case, default port omitted) that are this
  // collector's own besides the request's own Host: those of the external URLs.
  std::vector<std::string> own_origins;
};

// The outcome of checking a request's headers against the policy.
struct AccessDecision {
  bool allowed = false;
  std::string operator_name;  // set when a valid operator credential was presented
  HttpRefusal refusal = HttpRefusal::kNoToken;  // when !allowed
};

// Checks `req` (method and headers only) for a route of level `access` (kAuto already
// resolved). Never throws.
AccessDecision CheckAccess(const AccessPolicy& policy, Access access, const HttpRequest& req);
// The error response for a refusal (JSON {"error"}, with WWW-Authenticate on 401s;
// `basic_too` adds a Basic challenge so browsers prompt on read routes).
HttpResponse RefusalResponse(HttpRefusal refusal, bool basic_too);

// "host" of a Host header value ("Name:9760" -> "name", "[::1]:9760" -> "::1"), lower
// case; empty when malformed.
std::string HostOfAuthority(std::string_view authority);
// "scheme://host[:port]" of a URL, lower case, default port (80/443) dropped; empty when
// the URL is not http(s).
std::string OriginOfUrl(std::string_view url);

}  // namespace firewatch::collector
