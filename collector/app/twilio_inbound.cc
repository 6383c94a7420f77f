#include "app/twilio_inbound.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <variant>

#include "app/ack_links.h"
#include "firewatch/text/base64.h"
#include "firewatch/text/url.h"
#include "metrics/collector_metrics.h"

namespace firewatch::collector {

namespace {

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

HttpResponse Xml(std::string body) {
  HttpResponse r;
  r.status = 200;
  r.content_type = "text/xml";
  r.body = std::move(body);
  return r;
}

// At most one log line a minute per kind of refusal, with the running count.
struct Refusals {
  std::atomic<uint64_t> count{0};
  std::atomic<int64_t> last_log_s{0};
  // True when this refusal may be logged; `n` is the running count.
  bool Count(uint64_t& n) {
    n = ++count;
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::steady_clock::now().time_since_epoch())
                            .count();
    int64_t last = last_log_s.load();
    return now - last >= 60 && last_log_s.compare_exchange_strong(last, now);
  }
};

// The contacts whose phone number is `from` (normalized).
std::vector<std::string> ContactsWithPhone(const std::vector<alerting::Contact>& contacts,
                                           const std::string& from) {
  std::vector<std::string> out;
  if (from.empty()) return out;
  for (const auto& c : contacts) {
    if (!c.phone.empty() && NormalizePhone(c.phone) == from) out.push_back(c.name);
  }
  return out;
}

}  // namespace

std::string NormalizePhone(std::string_view phone) {
  std::string out;
  for (char c : phone) {
    if (std::isdigit(static_cast<unsigned char>(c)) || (c == '+' && out.empty())) out += c;
    else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')') return "";
  }
  return out;
}

std::string TwilioSignature(const std::string& auth_token, const std::string& url,
                            const std::map<std::string, std::string>& params) {
  std::string data = url;
  for (const auto& [k, v] : params) data += k + v;  // std::map: sorted by name
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len) == nullptr) {
    return "";
  }
  return text::Base64Std(std::span<const uint8_t>(mac, len));
}

bool TwilioSignatureValid(const std::vector<std::string>& tokens, const std::string& url,
                          const std::map<std::string, std::string>& params,
                          std::string_view signature) {
  bool ok = false;
  for (const auto& token : tokens) {
    const std::string want = TwilioSignature(token, url, params);
    ok = (!want.empty() &&
          crypto::ConstantTimeEqual(
              {reinterpret_cast<const uint8_t*>(want.data()), want.size()},
              {reinterpret_cast<const uint8_t*>(signature.data()), signature.size()})) ||
         ok;
  }
  return ok;
}

std::string TwiMLMessage(const std::string& text) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>" + XmlEscape(text) +
         "</Message></Response>";
}

void RegisterTwilioInbound(HttpServer& server, alerting::AlertingEngine& engine,
                           const alerting::AlertingConfig& config, CollectorMetrics* metrics) {
  const alerting::notify::TwilioConfig* twilio = nullptr;
  for (const auto& ch : config.channels) {
    if (ch.type == "twilio") {
      twilio = std::get_if<alerting::notify::TwilioConfig>(&ch.settings);
      break;
    }
  }
  if (config.twilio_inbound_url.empty() || twilio == nullptr) return;
  std::vector<std::string> tokens{twilio->auth_token};
  tokens.insert(tokens.end(), twilio->previous_auth_tokens.begin(),
                twilio->previous_auth_tokens.end());
  const std::string url = config.twilio_inbound_url;
  auto refusals = std::make_shared<Refusals>();
  auto strangers = std::make_shared<Refusals>();
  auto count = [metrics](const char* result) {
    if (metrics != nullptr) metrics->SmsReply(result);
  };
  if (metrics != nullptr) {
    for (const char* r : {"acked", "refused", "unknown_incident", "not_understood"}) {
      metrics->SmsReply(r, 0);
    }
  }
  server.Route(
      "POST", "/api/v1/twilio/inbound",
      [&engine, config_contacts = config.contacts, tokens, url, refusals, strangers,
       count](const HttpRequest& req) {
        auto params = text::ParseForm(req.body);
        auto sig = req.headers.find("x-twilio-signature");
        const bool ok =
            sig != req.headers.end() && TwilioSignatureValid(tokens, url, params, sig->second);
        if (!ok) {
          uint64_t n = 0;
          if (refusals->Count(n)) {
            spdlog::warn("twilio inbound: {} signature from {} refused ({} so far)",
                         sig == req.headers.end() ? "missing" : "invalid", req.remote, n);
          }
          return HttpResponse::Error(403, "invalid X-Twilio-Signature");
        }
        const std::string from = NormalizePhone(params["From"]);
        const std::string body = Trim(params["Body"]);
        std::string id;
        if (body.size() > 3 && (body[0] == 'A' || body[0] == 'a') &&
            (body[1] == 'C' || body[1] == 'c') && (body[2] == 'K' || body[2] == 'k') &&
            std::isspace(static_cast<unsigned char>(body[3]))) {
          id = Trim(body.substr(4));
          for (auto& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        if (id.empty() || id.size() > 64 || id.find_first_of(" \t\r\n") != std::string::npos) {
          count("not_understood");
          return Xml(TwiMLMessage("Not understood. Reply ACK <code> to acknowledge, e.g. ACK K7Q2MX."));
        }
        // Only someone paged for the incident may ack it by SMS: the number must be a
        // paged contact's. A stranger learns nothing about the incident.
        const std::vector<std::string> contacts = ContactsWithPhone(config_contacts, from);
        auto refuse = [&](const std::string& why) {
          count("refused");
          uint64_t n = 0;
          if (strangers->Count(n)) {
            spdlog::warn("twilio inbound: ACK {} from {} refused: {} ({} so far)", id,
                         params["From"], why, n);
          }
          return Xml(TwiMLMessage("Not acknowledged: this number was not paged for " + id + "."));
        };
        if (contacts.empty()) return refuse("not a contact's number");
        auto paged = engine.PagedContacts(id);
        if (!paged.ok()) {
          count("unknown_incident");
          return Xml(TwiMLMessage("Unknown incident " + id + ". Reply ACK <code> with the code from the page."));
        }
        auto who = std::find_if(contacts.begin(), contacts.end(), [&](const std::string& c) {
          return std::find(paged->begin(), paged->end(), c) != paged->end();
        });
        if (who == contacts.end()) return refuse("its contact was not paged for the incident");
        auto inc = engine.Ack(id, *who + " (sms)");
        if (!inc.ok()) {
          count("unknown_incident");
          return Xml(TwiMLMessage("Unknown incident " + id + ". Reply ACK <code> with the code from the page."));
        }
        count("acked");
        spdlog::info("incident {} acknowledged by SMS from {} ({})", inc->id, *who, from);
        return Xml(TwiMLMessage("Acknowledged " + inc->id));
      },
      RouteOptions{Access::kPublic, 16384, nullptr});  // X-Twilio-Signature authenticates
}

}  // namespace firewatch::collector
