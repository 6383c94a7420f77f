#include "watch/watchdog_endpoint.h"

#include <spdlog/spdlog.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "firewatch/crypto/hmac_sha256.h"
#include "watch/alertmanager_webhook.h"

namespace firewatch::collector {

namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

std::string PresentedToken(const HttpRequest& req) {
  auto auth = req.headers.find("authorization");
  if (auth != req.headers.end() && StartsWithNoCase(auth->second, "bearer ")) {
    std::string_view t(auth->second);
    t.remove_prefix(7);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    return std::string(t);
  }
  return QueryParam(req.query, "token").value_or("");
}

WatchdogEndpoint::WatchdogEndpoint(const Clock& clock, const WatchConfig& config,
                                   std::vector<WatchdogCredential> credentials, OwnSourceFeed& feed,
                                   WatchMetrics& metrics)
    : configs_(config.watchdogs),
      feed_(feed),
      metrics_(metrics),
      log_limiter_(clock, std::chrono::seconds(10)) {
  for (const auto& w : configs_) {
    for (const auto& c : credentials) {
      if (c.name == w.name) watchdogs_.push_back({&w, c.token_sha256});
    }
  }
}

const WatchdogEndpoint::Watchdog* WatchdogEndpoint::Find(const std::string& name) const {
  for (const auto& w : watchdogs_) {
    if (w.config->name == name) return &w;
  }
  return nullptr;
}

HttpResponse WatchdogEndpoint::Answer(const std::string& name, WatchdogResult result, int status,
                                      const std::string& message, const std::string& remote) {
  metrics_.Delivery(name, result);
  const std::string key = name + "/" + std::string(WatchdogResultName(result));
  uint64_t suppressed = 0;
  if (log_limiter_.Allow(key, suppressed)) {
    spdlog::warn("watchdog '{}': {} from {}: {} ({} similar suppressed)", name,
                 WatchdogResultName(result), remote, message, suppressed);
  }
  HttpResponse r = HttpResponse::Error(status, message);
  if (status == 401)
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"firewatch-watchdog\"");
  return r;
}

HttpResponse WatchdogEndpoint::Handle(const HttpRequest& req) {
  const Watchdog* w = Find(req.param);
  if (w == nullptr) {
    // The name is the client's: not echoed into logs or metrics beyond a short prefix.
    return Answer(std::string(kNoWatchdog), WatchdogResult::kUnknown, 404,
                  "no watchdog named '" + req.param.substr(0, 64) + "' is configured", req.remote);
  }
  const std::string& name = w->config->name;
  const std::string token = PresentedToken(req);
  if (token.empty()) {
    return Answer(name, WatchdogResult::kNoToken, 401,
                  "watchdog token required: Authorization: Bearer <token> or ?token=", req.remote);
  }
  const crypto::Sha256Digest presented = crypto::Sha256::Hash(Bytes(token));
  bool match = false;
  for (const auto& known : w->token_sha256) match |= crypto::ConstantTimeEqual(presented, known);
  if (!match) {
    return Answer(name, WatchdogResult::kBadToken, 403, "wrong token for this watchdog",
                  req.remote);
  }
  auto delivery = ParseAlertmanagerWebhook(req.body);
  if (!delivery.ok()) {
    return Answer(name, WatchdogResult::kMalformed, 400, delivery.status().message(), req.remote);
  }
  const bool alive = delivery->firing > 0;
  if (alive) {
    if (auto refused =
            feed_.Heard(WatchdogSourceId(name), w->config->interval, w->config->labels)) {
      return Answer(name, WatchdogResult::kRefused, 503,
                    "the collector refused source " + WatchdogSourceId(name) + ": " + *refused +
                        " (see GET /api/v1/status and the log)",
                    req.remote);
    }
    metrics_.Delivery(name, WatchdogResult::kAccepted);
    spdlog::debug("watchdog '{}': delivery from {} ({} alerts firing)", name, req.remote,
                  delivery->firing);
  } else {
    // Resolved: Alertmanager no longer receives the Watchdog from Prometheus. Answered
    // 200 (Alertmanager must not retry it) but not a sign of life.
    Answer(name, WatchdogResult::kResolved, 200,
           "delivery with no firing alert (status " + delivery->status +
               "): Prometheus no longer sends the Watchdog; not counted as a heartbeat",
           req.remote);
  }
  nlohmann::json j = {{"watchdog", name}, {"firing", delivery->firing}, {"heartbeat", alive}};
  return HttpResponse::Json(200, j.dump());
}

void WatchdogEndpoint::Register(HttpServer& server) {
  WatchMetrics* metrics = &metrics_;
  server.Route(
      "POST", "/api/v1/watchdog/{}", [this](const HttpRequest& r) { return Handle(r); },
      RouteOptions{Access::kPublic, kMaxWebhookBody,
                   [metrics] { metrics->Delivery(kNoWatchdog, WatchdogResult::kTooLarge); }});
}

}  // namespace firewatch::collector
