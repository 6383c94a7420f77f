#include "checks/check_alert_config.h"

#include <chrono>
#include <map>

namespace firewatch::collector {

void ReadCheckAlertsConfig(config::MapReader& top, CheckAlertPolicy& out) {
  config::Errors& errors = top.errors();
  YAML::Node node = top.Node("check_alerts");
  if (!node.IsDefined() || node.IsNull()) return;
  config::MapReader r(errors, node, "check_alerts");
  uint64_t history = out.history;
  r.Uint("history", history, 1, kMaxCheckHistory);
  out.history = static_cast<uint32_t>(history);
  YAML::Node rules = r.Node("rules");
  r.Finish();
  if (!rules.IsDefined() || rules.IsNull()) return;
  if (!rules.IsSequence()) {
    errors.At(rules, "check_alerts.rules: expected a list of rules");
    return;
  }
  if (rules.size() > kMaxCheckAlertRules) {
    errors.At(rules, "check_alerts.rules: more than " + std::to_string(kMaxCheckAlertRules) +
                         " rules");
    return;
  }
  for (size_t i = 0; i < rules.size(); ++i) {
    const std::string path = "check_alerts.rules[" + std::to_string(i) + "]";
    config::MapReader j(errors, rules[i], path);
    CheckAlertRule rule;
    std::map<std::string, std::string> labels;
    uint64_t consecutive = 1, flap_changes = 0;
    Duration window{};
    j.String("check", rule.check);
    j.StringMap("labels", labels);
    j.Uint("consecutive", consecutive, 1, 1000);
    j.Uint("flap_changes", flap_changes, 2, kMaxCheckHistory);
    j.Duration("flap_window", window, std::chrono::seconds(1), std::chrono::hours(24 * 7));
    const bool has_changes = j.Has("flap_changes"), has_window = j.Has("flap_window");
    j.Finish();
    if (!j.valid()) continue;
    if (has_changes != has_window) {
      errors.At(rules[i], path + ": flap_changes and flap_window go together");
      continue;
    }
    if (flap_changes > history) {
      // Flapping is counted in the history: it must hold that many changes.
      errors.At(rules[i], path + ".flap_changes: " + std::to_string(flap_changes) +
                              " is more than check_alerts.history (" + std::to_string(history) +
                              ")");
      continue;
    }
    rule.labels.assign(labels.begin(), labels.end());
    rule.consecutive = static_cast<uint32_t>(consecutive);
    rule.flap_changes = static_cast<uint32_t>(flap_changes);
    rule.flap_window_ms = std::chrono::duration_cast<std::chrono::milliseconds>(window).count();
    out.rules.push_back(std::move(rule));
  }
}

}  // namespace firewatch::collector
