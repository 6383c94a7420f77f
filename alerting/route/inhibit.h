// Inhibition, as in Alertmanager: while an alert matching a rule's source_matchers is
// firing, alerts matching its target_matchers that have the same values for every label
// in `equal` are muted. A missing label counts as the empty string, so two alerts that
// both lack an `equal` label are "equal" on it (Alertmanager does the same).
//
// This is how one DomainDown{dc="dc1"} alert (collector/domain/) mutes the per-host
// SourceDown pages in dc1 and only there:
//   source_matchers: ['alertname="DomainDown"']
//   target_matchers: ['alertname="SourceDown"']
//   equal: [dc]
//
// An alert never inhibits itself (same fingerprint). When an alert matches both the
// source and the target side of a rule, it is inhibited only by sources that do not also
// match the target side, so two such alerts cannot mute each other.
//
// Not thread-safe: owned by the alerting loop, which calls Insert for every alert before
// it reaches the Dispatcher.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "route/matcher.h"
#include "route/muter.h"

namespace firewatch::alerting::route {

struct InhibitRule {
  Matchers source_matchers;
  Matchers target_matchers;
  std::vector<std::string> equal;  // label names
};

class Inhibitor final : public Muter {
 public:
  explicit Inhibitor(std::vector<InhibitRule> rules);

  // Records the alert's latest state. Firing alerts that match some rule's source side
  // become sources; a resolved alert stops being one. Other alerts are ignored.
  void Insert(const Alert& alert);

  // Muter: true when some rule's target side matches `labels` and a firing source of
  // that rule (other than this very alert) has equal values for the rule's `equal`.
  // `now` is unused: inhibition lasts exactly as long as the source fires.
  bool Mutes(const LabelSet& labels, WallTime now) const override;

  // Number of firing source alerts held (for metrics and tests).
  size_t source_count() const;

  const std::vector<InhibitRule>& rules() const { return rules_; }

 private:
  std::vector<InhibitRule> rules_;
  // Per rule: firing source alerts by fingerprint.
  std::vector<std::map<uint64_t, LabelSet>> sources_;
};

}  // namespace firewatch::alerting::route
