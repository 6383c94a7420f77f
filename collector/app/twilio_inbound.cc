#include "app/twilio_inbound.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <variant>

#include "app/ack_links.h"

namespace firewatch::collector {

namespace {

std::string Base64Std(const unsigned char* data, size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (size_t rest = n - i; rest > 0) {
    uint32_t v = uint32_t{data[i]} << 16;
    if (rest == 2) v |= uint32_t{data[i + 1]} << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

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

struct Refusals {
  std::atomic<uint64_t> count{0};
  std::atomic<int64_t> last_log_s{0};
};

}  // namespace

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
  return Base64Std(mac, len);
}

std::string TwiMLMessage(const std::string& text) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>" + XmlEscape(text) +
         "</Message></Response>";
}

void RegisterTwilioInbound(HttpServer& server, alerting::AlertingEngine& engine,
                           const alerting::AlertingConfig& config) {
  const alerting::notify::TwilioConfig* twilio = nullptr;
  for (const auto& ch : config.channels) {
    if (ch.type == "twilio") {
      twilio = std::get_if<alerting::notify::TwilioConfig>(&ch.settings);
      break;
    }
  }
  if (config.twilio_inbound_url.empty() || twilio == nullptr) return;
  const std::string token = twilio->auth_token;
  const std::string url = config.twilio_inbound_url;
  auto refusals = std::make_shared<Refusals>();
  server.Route(
      "POST", "/api/v1/twilio/inbound",
      [&engine, token, url, refusals](const HttpRequest& req) {
        auto params = ParseFormBody(req.body);
        auto sig = req.headers.find("x-twilio-signature");
        const std::string want = TwilioSignature(token, url, params);
        const bool ok = sig != req.headers.end() && !want.empty() &&
                        crypto::ConstantTimeEqual(
                            {reinterpret_cast<const uint8_t*>(want.data()), want.size()},
                            {reinterpret_cast<const uint8_t*>(sig->second.data()), sig->second.size()});
        if (!ok) {
          uint64_t n = ++refusals->count;
          const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::steady_clock::now().time_since_epoch())
                                  .count();
          int64_t last = refusals->last_log_s.load();
          if (now - last >= 60 && refusals->last_log_s.compare_exchange_strong(last, now)) {
            spdlog::warn("twilio inbound: {} signature from {} refused ({} so far)",
                         sig == req.headers.end() ? "missing" : "invalid", req.remote, n);
          }
          return HttpResponse::Error(403, "invalid X-Twilio-Signature");
        }
        const std::string from = params["From"];
        const std::string body = Trim(params["Body"]);
        std::string id;
        if (body.size() > 3 && (body[0] == 'A' || body[0] == 'a') &&
            (body[1] == 'C' || body[1] == 'c') && (body[2] == 'K' || body[2] == 'k') &&
            std::isspace(static_cast<unsigned char>(body[3]))) {
          id = Trim(body.substr(4));
          for (auto& c : id) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        if (id.empty() || id.find_first_of(" \t\r\n") != std::string::npos) {
          return Xml(TwiMLMessage("Not understood. Reply ACK <code> to acknowledge, e.g. ACK K7Q2MX."));
        }
        auto inc = engine.Ack(id, "sms:" + from);
        if (!inc.ok()) {
          return Xml(TwiMLMessage("Unknown incident " + id + ". Reply ACK <code> with the code from the page."));
        }
        spdlog::info("incident {} acknowledged by SMS from {}", id, from);
        return Xml(TwiMLMessage("Acknowledged " + id));
      },
      16384);
}

}  // namespace firewatch::collector
