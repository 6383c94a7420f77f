#include "http/access.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "firewatch/protocol/keyring.h"
#include "firewatch/random_id.h"
#include "firewatch/text/base64.h"
#include "firewatch/text/hex.h"
#include "http/http_server.h"

namespace firewatch::collector {

namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const std::string* Header(const HttpRequest& req, const char* lower_name) {
  auto it = req.headers.find(lower_name);
  return it == req.headers.end() ? nullptr : &it->second;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// "name:80" with scheme http -> "name"; leaves other ports.
std::string DropDefaultPort(std::string authority, std::string_view scheme) {
  const std::string_view port = scheme == "https" ? ":443" : ":80";
  if (authority.size() > port.size() && authority.ends_with(port)) {
    authority.resize(authority.size() - port.size());
  }
  return authority;
}

// The credential of "Authorization: Bearer <t>" (scheme case-insensitive), else nullopt.
std::optional<std::string_view> BearerToken(const HttpRequest& req) {
  const std::string* h = Header(req, "authorization");
  if (h == nullptr) return std::nullopt;
  std::string_view v = Trim(*h);
  if (v.size() < 7 || Lower(v.substr(0, 7)) != "bearer ") return std::nullopt;
  return Trim(v.substr(7));
}

// The password of "Authorization: Basic base64(user:password)", else nullopt.
std::optional<std::string> BasicPassword(const HttpRequest& req) {
  const std::string* h = Header(req, "authorization");
  if (h == nullptr) return std::nullopt;
  std::string_view v = Trim(*h);
  if (v.size() < 6 || Lower(v.substr(0, 6)) != "basic ") return std::nullopt;
  auto decoded = text::DecodeBase64Std(Trim(v.substr(6)), 1024);
  if (!decoded) return std::nullopt;
  std::string text(decoded->begin(), decoded->end());
  const size_t colon = text.find(':');
  if (colon == std::string::npos) return std::nullopt;
  return text.substr(colon + 1);
}

bool HostIsOwn(const AccessPolicy& policy, const HttpRequest& req) {
  const std::string* h = Header(req, "host");
  if (h == nullptr) return true;  // HTTP/1.0 without Host: not a browser
  const std::string host = HostOfAuthority(*h);
  if (host.empty()) return false;
  if (host == "localhost" || IsIpLiteral(host)) return true;
  return std::find(policy.own_hosts.begin(), policy.own_hosts.end(), host) != policy.own_hosts.end();
}

bool OriginIsOwn(const AccessPolicy& policy, const HttpRequest& req) {
  if (const std::string* site = Header(req, "sec-fetch-site")) {
    const std::string s = Lower(Trim(*site));
    if (s == "cross-site" || s == "same-site") return false;
  }
  const std::string* origin = Header(req, "origin");
  if (origin == nullptr) return true;  // not sent by a browser's cross-origin request
  const std::string o = OriginOfUrl(Trim(*origin));
  if (o.empty()) return false;  // "null" (sandboxed frame, file://) or garbage
  if (std::find(policy.own_origins.begin(), policy.own_origins.end(), o) != policy.own_origins.end()) {
    return true;
  }
  // Same origin: the Origin's authority is the Host the request was sent to.
  const std::string* host = Header(req, "host");
  if (host == nullptr) return false;
  const size_t colon = o.find("://");
  const std::string scheme = o.substr(0, colon);
  return o.substr(colon + 3) == DropDefaultPort(Lower(Trim(*host)), scheme);
}

bool IsJson(const HttpRequest& req) {
  const std::string* ct = Header(req, "content-type");
  if (ct == nullptr) return false;
  std::string_view v = *ct;
  v = Trim(v.substr(0, v.find(';')));
  return Lower(v) == "application/json";
}

bool HasBody(const HttpRequest& req) {
  if (Header(req, "transfer-encoding") != nullptr) return true;
  const std::string* cl = Header(req, "content-length");
  return cl != nullptr && Trim(*cl) != "0";
}

}  // namespace

std::string_view AccessName(Access a) {
  switch (a) {
    case Access::kAuto: return "auto";
    case Access::kPublic: return "public";
    case Access::kRead: return "read";
    case Access::kOperator: return "operator";
  }
  return "operator";
}

std::string_view HttpRefusalName(HttpRefusal r) {
  switch (r) {
    case HttpRefusal::kNoToken: return "no_token";
    case HttpRefusal::kBadToken: return "bad_token";
    case HttpRefusal::kForeignHost: return "foreign_host";
    case HttpRefusal::kForeignOrigin: return "foreign_origin";
    case HttpRefusal::kNotJson: return "not_json";
    case HttpRefusal::kClientLimit: return "client_limit";
    case HttpRefusal::kSlowRequest: return "slow_request";
  }
  return "no_token";
}

bool ValidOperatorName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '@' ||
           c == '-';
  });
}

Result<OperatorTokens> OperatorTokens::Make(std::vector<OperatorEntry> entries) {
  if (entries.size() > kMaxOperators) {
    return Status::InvalidArgument("more than " + std::to_string(kMaxOperators) + " operators");
  }
  std::set<crypto::Sha256Digest> hashes;
  for (const auto& e : entries) {
    if (!ValidOperatorName(e.name)) {
      return Status::InvalidArgument("operator name '" + e.name +
                                     "': 1 to 64 characters of A-Z a-z 0-9 . _ @ -");
    }
    if (!hashes.insert(e.token_sha256).second) {
      return Status::InvalidArgument("operator '" + e.name +
                                     "': this token_sha256 is listed twice");
    }
  }
  OperatorTokens t;
  t.entries_ = std::move(entries);
  return t;
}

std::optional<std::string> OperatorTokens::Find(std::string_view token) const {
  if (token.empty() || token.size() > kMaxTokenLength) return std::nullopt;
  const crypto::Sha256Digest digest = crypto::Sha256::Hash(Bytes(token));
  const OperatorEntry* found = nullptr;
  for (const auto& e : entries_) {
    if (crypto::ConstantTimeEqual(digest, e.token_sha256) && found == nullptr) found = &e;
  }
  if (found == nullptr) return std::nullopt;
  return found->name;
}

std::string MakeOperatorToken() {
  std::array<uint8_t, 32> raw{};
  FillRandom(raw);
  return "fwop_" + text::Base64Url(raw);
}

std::string TokenSha256Hex(std::string_view token) {
  return text::ToHex(crypto::Sha256::Hash(Bytes(token)));
}

Result<crypto::Sha256Digest> ParseSha256Hex(std::string_view hex) {
  crypto::Sha256Digest out{};
  const bool plain = std::all_of(hex.begin(), hex.end(), [](char c) {
    return std::isxdigit(static_cast<unsigned char>(c)) != 0;
  });
  if (hex.size() != 2 * out.size() || !plain) {
    return Status::InvalidArgument("expected 64 hex digits (the SHA-256 of the token), got '" +
                                   std::string(hex.substr(0, 80)) + "'");
  }
  auto bytes = protocol::ParseKeyText(hex);  // the same hex reading as key files
  if (!bytes.ok()) return bytes.status();
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

std::string HostOfAuthority(std::string_view authority) {
  std::string a = Lower(Trim(authority));
  if (a.empty()) return "";
  if (a.front() == '[') {
    const size_t close = a.find(']');
    if (close == std::string::npos) return "";
    return a.substr(1, close - 1);
  }
  const size_t colon = a.find(':');
  if (colon != std::string::npos && a.find(':', colon + 1) != std::string::npos) return "";
  a = a.substr(0, colon);
  if (a.find_first_of("/?#@ \t") != std::string::npos) return "";
  return a;
}

std::string OriginOfUrl(std::string_view url) {
  std::string u = Lower(Trim(url));
  std::string scheme;
  if (u.starts_with("http://")) {
    scheme = "http";
  } else if (u.starts_with("https://")) {
    scheme = "https";
  } else {
    return "";
  }
  std::string rest = u.substr(scheme.size() + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (rest.empty() || HostOfAuthority(rest).empty()) return "";
  return scheme + "://" + DropDefaultPort(rest, scheme);
}

AccessDecision CheckAccess(const AccessPolicy& policy, Access access, const HttpRequest& req) {
  AccessDecision d;
  if (access == Access::kPublic) {
    d.allowed = true;
    return d;
  }
  if (access == Access::kOperator) {
    if (!HostIsOwn(policy, req)) {
      d.refusal = HttpRefusal::kForeignHost;
      return d;
    }
    if (!OriginIsOwn(policy, req)) {
      d.refusal = HttpRefusal::kForeignOrigin;
      return d;
    }
  }
  std::optional<std::string> token;
  if (auto bearer = BearerToken(req)) {
    token = std::string(*bearer);
  } else if (access == Access::kRead) {
    token = BasicPassword(req);
  }
  const bool token_needed = access == Access::kOperator || policy.read_requires_token;
  if (token) {
    std::optional<std::string> name;
    if (policy.operators) name = policy.operators->Find(*token);
    if (name) {
      d.operator_name = std::move(*name);
    } else if (token_needed) {
      d.refusal = HttpRefusal::kBadToken;
      return d;
    }
  } else if (token_needed) {
    d.refusal = HttpRefusal::kNoToken;
    return d;
  }
  if (access == Access::kOperator) {
    const bool body_method = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if ((body_method || HasBody(req)) && !IsJson(req)) {
      d.refusal = HttpRefusal::kNotJson;
      return d;
    }
  }
  d.allowed = true;
  return d;
}

HttpResponse RefusalResponse(HttpRefusal refusal, bool basic_too) {
  HttpResponse r;
  switch (refusal) {
    case HttpRefusal::kNoToken:
    case HttpRefusal::kBadToken: {
      const bool bad = refusal == HttpRefusal::kBadToken;
      r = HttpResponse::Error(401, bad ? "the operator token is not valid"
                                       : "an operator token is required "
                                         "(Authorization: Bearer <token>; see docs/security.md)");
      std::string challenge = "Bearer realm=\"firewatch\"";
      if (bad) challenge += ", error=\"invalid_token\"";
      r.headers.emplace_back("WWW-Authenticate", challenge);
      if (basic_too) r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"firewatch\"");
      break;
    }
    case HttpRefusal::kForeignHost:
      r = HttpResponse::Error(421, "Host is not this collector's own name "
                                   "(add it to collector.allowed_hosts)");
      break;
    case HttpRefusal::kForeignOrigin:
      r = HttpResponse::Error(403, "cross-origin request refused");
      break;
    case HttpRefusal::kNotJson:
      r = HttpResponse::Error(415, "Content-Type must be application/json");
      break;
    case HttpRefusal::kSlowRequest:
      r = HttpResponse::Error(408, "request body not received in time");
      break;
    case HttpRefusal::kClientLimit:
      r = HttpResponse::Error(429, "too many connections from this address");
      break;
  }
  return r;
}

}  // namespace firewatch::collector
