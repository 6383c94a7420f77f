// PagerDuty Events API v2.
//
// Wire format: POST {base_url}/v2/enqueue, Content-Type application/json:
//   {"routing_key":"...","event_action":"trigger|acknowledge|resolve",
//    "dedup_key":"firewatch-<incident_id>",
//    "payload":{"summary","source","severity","timestamp","custom_details"},  (trigger only)
//    "links":[{"href":<ack_url>,"text":"Acknowledge in firewatch"}]}          (when set)
// kind "trigger" and "test" trigger, "acknowledge" acknowledges, "resolve" resolves; the
// dedup key is stable per incident so all three address the same PagerDuty incident.
// summary is the subject cut to 1024 bytes; timestamp is the earliest alert start (or
// now); custom_details carries the text, the incident id and each alert's labels.
//
// Classification: 202 (any 2xx) -> Delivered; 429, 408, 5xx, network errors ->
// Retryable; 400 (invalid event) and other 4xx -> Permanent.
#pragma once

#include <string>

#include "firewatch/clock.h"
#include "notify/http_call.h"
#include "notify/notifier.h"

namespace firewatch::alerting::notify {

struct PagerDutyConfig {
  std::string base_url = "https://events.pagerduty.com";  // no trailing slash
  std::string routing_key;  // integration key, from routing_key_file
  std::string source = "firewatch";
  std::string severity = "critical";  // critical | error | warning | info
  http_client::TransportOptions transport;
};

class PagerDutyNotifier final : public Notifier {
 public:
  // `clock` (for the timestamp when no alert has a start) must outlive the notifier.
  PagerDutyNotifier(std::string name, PagerDutyConfig config, const Clock& clock);
  SendResult Send(const Notification& n) override;
  const std::string& name() const override { return name_; }
  const std::string& type() const override { return type_; }

 private:
  std::string name_;
  std::string type_ = "pagerduty";
  PagerDutyConfig config_;
  const Clock& clock_;
};

// The JSON body Send posts for `n` at wall time `now_ms` (exposed for tests).
std::string PagerDutyBody(const Notification& n, const PagerDutyConfig& config, int64_t now_ms);

}  // namespace firewatch::alerting::notify
