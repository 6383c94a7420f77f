#include "watch/alertmanager_post.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "firewatch/text/rfc3339.h"

namespace firewatch::collector {

using nlohmann::json;

namespace {

int64_t Millis(Duration d) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

json NamesFixed(const alerting::LabelSet& set) {
  json out = json::object();
  for (const auto& [k, v] : set) {
    if (v.empty()) continue;
    out[AlertmanagerLabelName(k)] = v;  // a rewritten name colliding with another: last wins
  }
  return out;
}

std::string Time(int64_t unix_ms) {
  return text::FormatRfc3339(unix_ms, text::Rfc3339Fraction::kMillisIfNonZero);
}

}  // namespace

std::string AlertmanagerLabelName(const std::string& name) {
  if (name.empty()) return "_";
  std::string out;
  out.reserve(name.size() + 1);
  if (name[0] >= '0' && name[0] <= '9') out += '_';
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_';
    out += ok ? ch : '_';
  }
  return out;
}

std::string PostableAlertsJson(const std::vector<alerting::Alert>& alerts) {
  json body = json::array();
  for (const auto& a : alerts) {
    json one = {
        {"labels", NamesFixed(a.labels)},
        {"annotations", NamesFixed(a.annotations)},
        {"startsAt", Time(a.starts_at_ms)},
        {"endsAt", Time(a.ends_at_ms)},
    };
    // Alertmanager validates generatorURL as a URI: leave it out rather than send "".
    if (!a.generator_url.empty()) one["generatorURL"] = a.generator_url;
    body.push_back(std::move(one));
  }
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

AlertmanagerMirror::AlertmanagerMirror(Duration resend_interval) : resend_(resend_interval) {}

bool AlertmanagerMirror::Observe(const alerting::Alert& alert, int64_t now_ms) {
  const uint64_t fp = alerting::Fingerprint(alert.labels);
  auto it = alerts_.find(fp);
  if (it == alerts_.end()) {
    if (alerts_.size() >= kMaxMirroredAlerts) DropOldestResolved();
    if (alerts_.size() >= kMaxMirroredAlerts) return false;
    it = alerts_.emplace(fp, alert).first;
    if (it->second.starts_at_ms <= 0) it->second.starts_at_ms = now_ms;
  } else {
    const int64_t first_start = it->second.starts_at_ms;
    const bool was_firing = it->second.status == alerting::AlertStatus::kFiring;
    it->second = alert;
    // A resolved alert's own start is its resolution; a re-fire after a resolve is new.
    if (was_firing && first_start > 0) it->second.starts_at_ms = first_start;
    if (it->second.starts_at_ms <= 0) it->second.starts_at_ms = now_ms;
  }
  alerting::Alert& a = it->second;
  if (a.status == alerting::AlertStatus::kResolved) {
    if (a.ends_at_ms <= 0) a.ends_at_ms = now_ms;
    // Alertmanager refuses an end before the start.
    a.ends_at_ms = std::max(a.ends_at_ms, a.starts_at_ms);
  } else {
    a.ends_at_ms = 0;
  }
  changed_ = true;
  return true;
}

std::vector<alerting::Alert> AlertmanagerMirror::TakeBatch(int64_t now_ms) {
  const int64_t keep_after = now_ms - Millis(kResolvedRetention);
  std::vector<alerting::Alert> out;
  out.reserve(alerts_.size());
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    const alerting::Alert& a = it->second;
    if (a.status == alerting::AlertStatus::kResolved && a.ends_at_ms < keep_after) {
      it = alerts_.erase(it);
      continue;
    }
    out.push_back(a);
    if (a.status == alerting::AlertStatus::kFiring) {
      out.back().ends_at_ms = now_ms + 4 * Millis(resend_);
    }
    ++it;
  }
  changed_ = false;
  return out;
}

size_t AlertmanagerMirror::firing() const {
  return static_cast<size_t>(std::count_if(alerts_.begin(), alerts_.end(), [](const auto& kv) {
    return kv.second.status == alerting::AlertStatus::kFiring;
  }));
}

void AlertmanagerMirror::DropOldestResolved() {
  auto oldest = alerts_.end();
  for (auto it = alerts_.begin(); it != alerts_.end(); ++it) {
    if (it->second.status != alerting::AlertStatus::kResolved) continue;
    if (oldest == alerts_.end() || it->second.ends_at_ms < oldest->second.ends_at_ms) oldest = it;
  }
  if (oldest != alerts_.end()) alerts_.erase(oldest);
}

AlertmanagerHealth::AlertmanagerHealth(Duration probe_interval, Duration probe_timeout)
    : valid_for_(probe_interval > Duration::zero() ? 2 * probe_interval + probe_timeout
                                                   : Duration::zero()) {}

void AlertmanagerHealth::Record(bool vouched, MonoTime at) {
  last_at_ = at;
  last_vouched_ = vouched;
}

bool AlertmanagerHealth::Healthy(MonoTime now) const {
  if (!has_probe()) return true;
  if (!last_at_ || !last_vouched_) return false;
  return now - *last_at_ <= valid_for_;
}

}  // namespace firewatch::collector
