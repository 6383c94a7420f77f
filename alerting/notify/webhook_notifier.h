// Webhook with an Alertmanager-compatible JSON body (webhook payload version 4), so any
// receiver written for Alertmanager works unchanged.
//
// Wire format: POST {url}, Content-Type application/json, optional
// "Authorization: Bearer <token>" or HTTP Basic. Body:
//   {"version":"4","groupKey":"<incident_id>:{<group labels>}","truncatedAlerts":0,
//    "status":"firing|resolved","receiver":"<receiver>","groupLabels":{...},
//    "commonLabels":{...},"commonAnnotations":{...},"externalURL":"<external_url>",
//    "alerts":[{"status","labels","annotations","startsAt","endsAt","generatorURL",
//               "fingerprint"}]}
// Times are RFC 3339 UTC; an unset endsAt is "0001-01-01T00:00:00Z" as in Alertmanager.
// status is "resolved" for kind "resolve" or when every alert is resolved.
//
// Classification: 2xx -> Delivered; 408, 429, 5xx, network errors -> Retryable; other
// 4xx -> Permanent.
#pragma once

#include <string>

#include "notify/http_call.h"
#include "notify/notifier.h"

namespace firewatch::alerting::notify {

struct WebhookConfig {
  std::string url;
  std::string receiver;       // "receiver" field; the channel name when empty
  std::string external_url;   // "externalURL": the collector's status page
  std::string bearer_token;   // from bearer_token_file; excludes basic auth
  std::string username;       // basic auth when not empty
  std::string password;       // from password_file
  http_client::TransportOptions transport;
};

class WebhookNotifier final : public Notifier {
 public:
  WebhookNotifier(std::string name, WebhookConfig config);
  SendResult Send(const Notification& n) override;
  const std::string& name() const override { return name_; }
  const std::string& type() const override { return type_; }

 private:
  std::string name_;
  std::string type_ = "webhook";
  WebhookConfig config_;
};

// The JSON body Send posts for `n` (exposed for tests and docs).
std::string WebhookBody(const Notification& n, const std::string& receiver,
                        const std::string& external_url);

}  // namespace firewatch::alerting::notify
