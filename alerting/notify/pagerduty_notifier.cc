#include "notify/pagerduty_notifier.h"

#include <nlohmann/json.hpp>

#include "notify/text_util.h"

namespace firewatch::alerting::notify {

using nlohmann::json;

std::string PagerDutyBody(const Notification& n, const PagerDutyConfig& config, int64_t now_ms) {
  std::string action = "trigger";
  if (n.kind == "resolve") action = "resolve";
  if (n.kind == "acknowledge") action = "acknowledge";
  json body = {
      {"routing_key", config.routing_key},
      {"event_action", action},
      {"dedup_key", "firewatch-" + n.incident_id},
  };
  if (action == "trigger") {
    int64_t ts = 0;
    json alerts = json::array();
    for (const Alert& a : n.alerts) {
      if (a.starts_at_ms != 0 && (ts == 0 || a.starts_at_ms < ts)) ts = a.starts_at_ms;
      json labels = json::object();
      for (const auto& [k, v] : a.labels) labels[k] = v;
      alerts.push_back(labels);
    }
    if (ts == 0) ts = now_ms;
    std::string summary = n.subject.empty() ? "firewatch incident " + n.incident_id : n.subject;
    body["payload"] = {
        {"summary", Utf8Prefix(OneLine(summary), 1024)},
        {"source", config.source},
        {"severity", config.severity},
        {"timestamp", AlertmanagerTime(ts)},
        {"custom_details", {{"text", n.text}, {"incident", n.incident_id}, {"alerts", alerts}}},
    };
  }
  if (!n.ack_url.empty()) {
    body["links"] = json::array({{{"href", n.ack_url}, {"text", "Acknowledge in firewatch"}}});
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

PagerDutyNotifier::PagerDutyNotifier(std::string name, PagerDutyConfig config, const Clock& clock)
    : name_(std::move(name)), config_(std::move(config)), clock_(clock) {}

SendResult PagerDutyNotifier::Send(const Notification& n) {
  if (n.incident_id.empty()) return SendResult::Permanent("no incident id for the dedup key");
  http_client::Request req;
  req.method = "POST";
  req.url = config_.base_url + "/v2/enqueue";
  req.headers = {{"Content-Type", "application/json"}};
  req.body = PagerDutyBody(n, config_, ToUnixMillis(clock_.WallNow()));
  http_client::Response r = http_client::Perform(req, config_.transport);
  return ClassifyHttp(r, [](long s) { return s >= 200 && s <= 299; });
}

}  // namespace firewatch::alerting::notify
