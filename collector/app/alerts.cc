#include "app/alerts.h"

#include <algorithm>

#include "watch/own_sources.h"

namespace firewatch::collector {

namespace {
// "<source> is DOWN", or what a watchdog or probe being DOWN means (watch/own_sources.h).
std::string Summary(const std::string& source) {
  std::string own = OwnSourceSummary(source);
  return own.empty() ? source + " is DOWN" : own;
}

}  // namespace

alerting::LabelSet SourceAlertLabels(const std::string& source, const protocol::Labels& labels) {
  alerting::LabelSet out(labels.begin(), labels.end());
  // Identity labels win over agent-supplied ones of the same name.
  out["alertname"] = "SourceDown";
  out["source"] = source;
  return out;
}

std::optional<alerting::Alert> AlertFor(const Transition& t, const std::string& external_url) {
  const bool firing = t.to == SourceState::kDown && t.from != SourceState::kDown;
  const bool resolved = t.from == SourceState::kDown && t.to != SourceState::kDown;
  if (!firing && !resolved) return std::nullopt;
  alerting::Alert a;
  a.labels = SourceAlertLabels(t.source_id, t.labels);
  a.annotations["summary"] = Summary(t.source_id);
  a.annotations["description"] = t.reason;
  a.status = firing ? alerting::AlertStatus::kFiring : alerting::AlertStatus::kResolved;
  a.starts_at_ms = t.at_ms;
  if (resolved) a.ends_at_ms = t.at_ms;
  if (!external_url.empty()) a.generator_url = external_url + "/api/v1/sources/" + t.source_id;
  return a;
}

alerting::Alert FiringAlertFor(const SourceSnapshot& s, const std::string& external_url) {
  alerting::Alert a;
  a.labels = SourceAlertLabels(s.source_id, s.labels);
  a.annotations["summary"] = Summary(s.source_id);
  a.annotations["description"] = "DOWN since before the collector restarted";
  a.starts_at_ms = s.state_since_ms;
  if (!external_url.empty()) a.generator_url = external_url + "/api/v1/sources/" + s.source_id;
  return a;
}

namespace {
const char* Severity(protocol::CheckState s) {
  switch (s) {
    case protocol::CheckState::kCritical: return "critical";
    case protocol::CheckState::kWarning:
    case protocol::CheckState::kUnknown: return "warning";
    case protocol::CheckState::kOk: return nullptr;
  }
  return nullptr;
}
}  // namespace

std::vector<alerting::Alert> AlertsFor(const CheckChange& c, const std::string& external_url) {
  std::vector<alerting::Alert> out;
  auto make = [&](const char* severity, bool firing) {
    alerting::Alert a;
    a.labels = alerting::LabelSet(c.labels.begin(), c.labels.end());
    a.labels["alertname"] = "CheckFailing";
    a.labels["source"] = c.source_id;
    a.labels["check"] = c.check;
    a.labels["severity"] = severity;
    a.annotations["summary"] = c.source_id + " check " + c.check + " is " +
                               (c.flapping ? "flapping" : std::string(protocol::CheckStateName(c.to)));
    if (!c.output.empty()) a.annotations["description"] = c.output;
    a.status = firing ? alerting::AlertStatus::kFiring : alerting::AlertStatus::kResolved;
    a.starts_at_ms = c.at_ms;
    if (!firing) a.ends_at_ms = c.at_ms;
    if (!external_url.empty()) a.generator_url = external_url + "/api/v1/sources/" + c.source_id;
    out.push_back(std::move(a));
  };
  const char* before = Severity(c.from);
  const char* after = Severity(c.to);
  if (before && (!after || std::string(before) != after)) make(before, false);
  if (after && (!before || std::string(before) != after)) make(after, true);
  return out;
}

std::optional<double> FirstPageDelay(const alerting::Notification& n, int64_t delivered_ms) {
  if (n.kind != "trigger") return std::nullopt;
  // Components are percent-escaped, so the first '/' ends the incident id.
  const std::string& key = n.idempotency_key;
  const size_t slash = key.find('/');
  if (slash == std::string::npos || key.compare(slash, 5, "/0/0/") != 0) return std::nullopt;
  int64_t start_ms = 0;
  for (const auto& a : n.alerts) {
    if (a.starts_at_ms > 0 && (start_ms == 0 || a.starts_at_ms < start_ms)) start_ms = a.starts_at_ms;
  }
  if (start_ms == 0) return std::nullopt;
  return static_cast<double>(std::max<int64_t>(0, delivered_ms - start_ms)) / 1000.0;
}

}  // namespace firewatch::collector
