#include "app/ack_links.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <charconv>
#include <optional>

#include "app/collector_config.h"
#include "firewatch/text/base64.h"
#include "firewatch/text/url.h"
#include "http/status_page.h"

namespace firewatch::collector {

namespace {

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

int64_t UnixSeconds(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::seconds>(clock.WallNow().time_since_epoch())
      .count();
}

std::string Page(const std::string& title, const std::string& content) {
  return "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width\">"
         "<meta name=\"robots\" content=\"noindex\"><title>" +
         HtmlEscape(title) +
         "</title><style>body{font-family:sans-serif;max-width:40em;margin:2em auto;"
         "padding:0 1em}button{font-size:1.1em;padding:.4em 1.2em}li{margin:.2em 0}"
         "</style></head><body><h1>" +
         HtmlEscape(title) + "</h1>\n" + content + "\n</body></html>\n";
}

// Every page: no-store, no referrer (the link carries a signature), nothing loaded or run.
HttpResponse HtmlPage(int status, const std::string& title, const std::string& content) {
  auto r = HttpResponse::Html(status, Page(title, content));
  r.headers.emplace_back("Cache-Control", "no-store");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  r.headers.emplace_back("Content-Security-Policy",
                         "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                         "base-uri 'none'; frame-ancestors 'none'");
  return r;
}

std::string Describe(const alerting::Incident& inc) {
  std::string out = "<p>Incident <b>" + HtmlEscape(inc.id) + "</b>, state <b>" +
                    HtmlEscape(alerting::IncidentStateName(inc.state)) + "</b>";
  if (inc.acked_ms) out += " (acknowledged by " + HtmlEscape(inc.acked_by) + ")";
  out += ".</p>\n<ul>";
  for (const auto& a : inc.alerts) {
    auto name = a.labels.find("alertname");
    auto src = a.labels.find("source");
    out += "<li>" +
           std::string(a.status == alerting::AlertStatus::kFiring ? "FIRING" : "resolved") +
           ": " + HtmlEscape(name != a.labels.end() ? name->second : "alert");
    if (src != a.labels.end()) out += " on " + HtmlEscape(src->second);
    out += "</li>";
  }
  return out + "</ul>";
}

std::optional<alerting::Incident> Find(const alerting::AlertingEngine& engine,
                                       const std::string& id) {
  for (auto& i : engine.Incidents()) {
    if (i.id == id) return i;
  }
  return std::nullopt;
}

std::string Why(AckLinkSigner::Check c) {
  switch (c) {
    case AckLinkSigner::Check::kExpired:
      return "This acknowledge link has expired. Use the API, the CLI or reply to the SMS.";
    case AckLinkSigner::Check::kMalformed:
      return "This acknowledge link is incomplete (was it cut off by the mail program?).";
    default:
      return "This acknowledge link's signature is not valid.";
  }
}

}  // namespace

AckLinkSigner::AckLinkSigner(std::span<const uint8_t> key, std::string external_url,
                             int64_t ttl_s, const std::vector<std::vector<uint8_t>>& previous)
    : key_(key), external_url_(std::move(external_url)), ttl_s_(ttl_s) {
  while (!external_url_.empty() && external_url_.back() == '/') external_url_.pop_back();
  for (const auto& p : previous) previous_.emplace_back(p);
}

std::string AckLinkSigner::Sign(const crypto::HmacKey& key, const std::string& id,
                                int64_t expiry_s) {
  const std::string msg = "ack\n" + id + "\n" + std::to_string(expiry_s);
  return text::Base64Url(key.Sign(Bytes(msg)));
}

std::string AckLinkSigner::Signature(const std::string& id, int64_t expiry_s) const {
  return Sign(key_, id, expiry_s);
}

std::string AckLinkSigner::Link(const std::string& id, int64_t now_s) const {
  const int64_t e = now_s + ttl_s_;
  std::string id_q;
  for (unsigned char ch : id) {  // incident ids are [A-Z0-9]; escape anything else
    if (std::isalnum(ch) || ch == '-' || ch == '_' || ch == '.') {
      id_q += static_cast<char>(ch);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      id_q += '%';
      id_q += kHex[ch >> 4];
      id_q += kHex[ch & 15];
    }
  }
  return external_url_ + "/ack?i=" + id_q + "&e=" + std::to_string(e) + "&s=" + Signature(id, e);
}

AckLinkSigner::Check AckLinkSigner::Verify(const std::string& id, const std::string& expiry,
                                           const std::string& sig, int64_t now_s) const {
  if (id.empty() || expiry.empty() || sig.empty() || expiry.size() > 18) return Check::kMalformed;
  int64_t e = 0;
  auto [p, ec] = std::from_chars(expiry.data(), expiry.data() + expiry.size(), e);
  if (ec != std::errc() || p != expiry.data() + expiry.size() || e < 0) return Check::kMalformed;
  bool good = crypto::ConstantTimeEqual(Bytes(Sign(key_, id, e)), Bytes(sig));
  for (const auto& old : previous_) {
    good = crypto::ConstantTimeEqual(Bytes(Sign(old, id, e)), Bytes(sig)) || good;
  }
  if (!good) return Check::kBadSignature;
  if (now_s > e) return Check::kExpired;
  return Check::kOk;
}

void AckLinks::Set(std::shared_ptr<const AckLinkSigner> signer) {
  MutexLock lock(mu_);
  signer_ = std::move(signer);
}

std::shared_ptr<const AckLinkSigner> AckLinks::Get() const {
  MutexLock lock(mu_);
  return signer_;
}

Result<std::shared_ptr<const AckLinkSigner>> MakeAckLinkSigner(const CollectorConfig& config,
                                                               const protocol::Keyring& keys) {
  const alerting::AlertingConfig& a = config.alerting;
  std::vector<uint8_t> key = a.ack_secret;
  std::string where = a.ack_secret_file;
  if (key.empty()) {
    // The collector's own secret, made on first start. A cluster shares one through
    // alerting.ack_secret_file instead.
    where = config.data_dir + "/ack.key";
    if (Status s = CreateKeyFileIfMissing(where); !s.ok()) return s;
    protocol::Keyring own;
    if (Status s = own.AddFromFile("ack", where); !s.ok()) {
      return Status::InvalidArgument("ack link key " + where + ": " + s.message());
    }
    key = *own.Find("ack");
  }
  auto is_heartbeat_key = [&](const std::vector<uint8_t>& k) {
    for (const auto& kc : config.keys) {
      const protocol::Secret* hb = keys.Find(kc.id);
      if (hb != nullptr && crypto::ConstantTimeEqual(*hb, k)) return true;
    }
    return false;
  };
  if (is_heartbeat_key(key)) {
    return Status::InvalidArgument(
        "alerting.ack_secret_file " + where +
        " holds a heartbeat key: ack links must be signed with a secret only collectors "
        "have (create one with: firewatchctl keygen --out ack.key)");
  }
  for (size_t i = 0; i < a.ack_previous_secrets.size(); ++i) {
    if (is_heartbeat_key(a.ack_previous_secrets[i])) {
      return Status::InvalidArgument("alerting.ack_secret_previous_files: " +
                                     a.ack_secret_previous_files[i] + " holds a heartbeat key");
    }
  }
  const int64_t ttl_s =
      std::chrono::duration_cast<std::chrono::seconds>(a.ack_link_ttl).count();
  return std::shared_ptr<const AckLinkSigner>(std::make_shared<AckLinkSigner>(
      key, a.external_url, ttl_s, a.ack_previous_secrets));
}

void RegisterAckLinks(HttpServer& server, alerting::AlertingEngine& engine,
                      std::shared_ptr<AckLinks> links, const Clock& clock) {
  engine.SetAckLinkMaker([links, &clock](const std::string& id) {
    return links->Get()->Link(id, UnixSeconds(clock));
  });
  // Public: the signed link is the credential (GET changes nothing; POST acks).
  server.Route("GET", "/ack", [links, &engine, &clock](const HttpRequest& req) {
    auto f = text::ParseForm(req.query);
    const std::string &id = f["i"], &e = f["e"], &s = f["s"];
    auto check = links->Get()->Verify(id, e, s, UnixSeconds(clock));
    if (check != AckLinkSigner::Check::kOk) {
      return HtmlPage(403, "Cannot acknowledge", "<p>" + HtmlEscape(Why(check)) + "</p>");
    }
    auto inc = Find(engine, id);
    if (!inc) {
      return HtmlPage(404, "Unknown incident",
                      "<p>No incident " + HtmlEscape(id) + " on this collector.</p>");
    }
    std::string form =
        "<form method=\"post\" action=\"ack\">"
        "<input type=\"hidden\" name=\"i\" value=\"" + HtmlEscape(id) + "\">"
        "<input type=\"hidden\" name=\"e\" value=\"" + HtmlEscape(e) + "\">"
        "<input type=\"hidden\" name=\"s\" value=\"" + HtmlEscape(s) + "\">"
        "<p><label>Your name (optional): <input name=\"by\" maxlength=\"100\"></label></p>"
        "<p><button type=\"submit\">Acknowledge " + HtmlEscape(id) + "</button></p></form>";
    return HtmlPage(200, "Acknowledge incident " + id + "?", Describe(*inc) + form);
  }, RouteOptions{Access::kPublic, 0, nullptr});
  server.Route(
      "POST", "/ack",
      [links, &engine, &clock](const HttpRequest& req) {
        auto f = text::ParseForm(req.body);
        const std::string &id = f["i"], &e = f["e"], &s = f["s"];
        auto check = links->Get()->Verify(id, e, s, UnixSeconds(clock));
        if (check != AckLinkSigner::Check::kOk) {
          spdlog::debug("ack link from {} refused: {}", req.remote, Why(check));
          return HtmlPage(403, "Cannot acknowledge", "<p>" + HtmlEscape(Why(check)) + "</p>");
        }
        std::string by = f["by"];
        while (!by.empty() && std::isspace(static_cast<unsigned char>(by.back()))) by.pop_back();
        while (!by.empty() && std::isspace(static_cast<unsigned char>(by.front()))) by.erase(0, 1);
        if (by.size() > 100) by.resize(100);
        // The link is the credential; the name is only what the clicker typed.
        by = by.empty() ? "email link" : by + " (email link)";
        auto inc = engine.Ack(id, by);
        if (!inc.ok()) {
          return HtmlPage(404, "Unknown incident",
                          "<p>No incident " + HtmlEscape(id) + " on this collector.</p>");
        }
        return HtmlPage(200, "Incident " + id + " acknowledged", Describe(*inc));
      },
      RouteOptions{Access::kPublic, 4096, nullptr});
}

}  // namespace firewatch::collector
