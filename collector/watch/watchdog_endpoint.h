// POST /api/v1/watchdog/{name}: Alertmanager's webhook receiver for the always-firing
// Watchdog alert (docs/watching.md). Each accepted delivery is a heartbeat of the source
// "watchdog/<name>" heard by this collector (watch/own_source_feed.h).
//
// Access: public at the HTTP layer (Alertmanager carries no operator token); the route
// authenticates each watchdog itself with its own token, given as
// "Authorization: Bearer <token>" (Alertmanager's http_config.authorization) or as the
// query parameter ?token=<token> (for receivers that cannot set headers). The presented
// token is hashed and compared with the SHA-256 of each configured token (token_file and
// previous_token_files, during a rotation), every one in constant time, no early exit.
//
// Answers, each counted (firewatch_watchdog_deliveries_total{watchdog,result}) and logged
// rate-limited (one line per watchdog and result per 10 s):
//   200 {"watchdog", "firing", "heartbeat"}  accepted (heartbeat true when an alert fires)
//   400 malformed body (watch/alertmanager_webhook.h), 401 no token, 403 wrong token,
//   404 no watchdog of that name, 413 body over kMaxWebhookBody (before it is read),
//   503 the tracker refused the source (its source cap; the log says so).
// The checks run in that order after the name: name, token, body; a request with a wrong
// token never has its body parsed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "firewatch/clock.h"
#include "firewatch/log.h"
#include "http/http_server.h"
#include "watch/own_source_feed.h"
#include "watch/watch_config.h"
#include "watch/watch_metrics.h"

namespace firewatch::collector {

class WatchdogEndpoint {
 public:
  // `credentials` from LoadWatchdogTokens(config); `feed` and `metrics` must outlive it.
  WatchdogEndpoint(const Clock& clock, const WatchConfig& config,
                   std::vector<WatchdogCredential> credentials, OwnSourceFeed& feed,
                   WatchMetrics& metrics);

  // The route's handler (unit tests call it directly, req.param = the name).
  HttpResponse Handle(const HttpRequest& req);
  // Registers the route on `server` (before it starts); `this` must outlive the server's
  // serving.
  void Register(HttpServer& server);

 private:
  struct Watchdog {
    const WatchdogConfig* config;
    std::vector<crypto::Sha256Digest> token_sha256;  // current first, then previous
  };
  const Watchdog* Find(const std::string& name) const;
  HttpResponse Answer(const std::string& name, WatchdogResult result, int status,
                      const std::string& message, const std::string& remote);

  std::vector<WatchdogConfig> configs_;  // stable addresses for watchdogs_
  std::vector<Watchdog> watchdogs_;
  OwnSourceFeed& feed_;
  WatchMetrics& metrics_;
  RateLimiter log_limiter_;
};

// The token a request presents: the Bearer credential of Authorization, else the `token`
// query parameter; empty when neither.
std::string PresentedToken(const HttpRequest& req);

}  // namespace firewatch::collector
