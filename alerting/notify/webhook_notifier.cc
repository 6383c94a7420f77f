#include "notify/webhook_notifier.h"

#include <nlohmann/json.hpp>

#include "notify/text_util.h"

namespace firewatch::alerting::notify {

namespace {

using nlohmann::json;

// The pairs present with the same value in every set (Alertmanager's commonLabels).
LabelSet Common(const std::vector<const LabelSet*>& sets) {
  if (sets.empty()) return {};
  LabelSet common = *sets[0];
  for (size_t i = 1; i < sets.size(); ++i) {
    for (auto it = common.begin(); it != common.end();) {
      auto found = sets[i]->find(it->first);
      if (found == sets[i]->end() || found->second != it->second) {
        it = common.erase(it);
      } else {
        ++it;
      }
    }
  }
  return common;
}

}  // namespace

std::string WebhookBody(const Notification& n, const std::string& receiver,
                        const std::string& external_url) {
  bool all_resolved = !n.alerts.empty();
  std::vector<const LabelSet*> labels, annotations;
  json alerts = json::array();
  for (const Alert& a : n.alerts) {
    if (a.status != AlertStatus::kResolved) all_resolved = false;
    labels.push_back(&a.labels);
    annotations.push_back(&a.annotations);
    alerts.push_back({
        {"status", a.status == AlertStatus::kResolved ? "resolved" : "firing"},
        {"labels", json(a.labels)},
        {"annotations", json(a.annotations)},
        {"startsAt", AlertmanagerTime(a.starts_at_ms)},
        {"endsAt", AlertmanagerTime(a.ends_at_ms)},
        {"generatorURL", a.generator_url},
        {"fingerprint", FingerprintHex(a.labels)},
    });
  }
  bool resolved = n.kind == "resolve" || all_resolved;
  json body = {
      {"version", "4"},
      {"groupKey", n.incident_id + ":" + LabelsString(n.group_labels)},
      {"truncatedAlerts", 0},
      {"status", resolved ? "resolved" : "firing"},
      {"receiver", receiver},
      {"groupLabels", json(n.group_labels)},
      {"commonLabels", json(Common(labels))},
      {"commonAnnotations", json(Common(annotations))},
      {"externalURL", external_url},
      {"alerts", alerts},
      // Not in Alertmanager's format (receivers ignore unknown keys): which firewatch
      // notification this is, so an ack announcement is not taken for a new page.
      {"firewatchEvent", n.kind.empty() ? std::string("trigger") : n.kind},
  };
  // Invalid UTF-8 is replaced rather than thrown on: a page must never fail to render.
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

WebhookNotifier::WebhookNotifier(std::string name, WebhookConfig config)
    : name_(std::move(name)), config_(std::move(config)) {
  if (config_.receiver.empty()) config_.receiver = name_;
}

SendResult WebhookNotifier::Send(const Notification& n) {
  http_client::Request req;
  req.method = "POST";
  req.url = config_.url;
  req.headers = {{"Content-Type", "application/json"}};
  if (!config_.bearer_token.empty()) {
    req.headers.emplace_back("Authorization", "Bearer " + config_.bearer_token);
  } else if (!config_.username.empty()) {
    req.basic_user = config_.username;
    req.basic_password = config_.password;
  }
  req.body = WebhookBody(n, config_.receiver, config_.external_url);
  http_client::Response r = http_client::Perform(req, config_.transport);
  return ClassifyHttp(r, [](long s) { return s >= 200 && s <= 299; });
}

}  // namespace firewatch::alerting::notify
