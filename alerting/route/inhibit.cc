#include "route/inhibit.h"

namespace firewatch::alerting::route {

namespace {

const std::string& Get(const LabelSet& labels, const std::string& name) {
  static const std::string kEmpty;
  auto it = labels.find(name);
  return it == labels.end() ? kEmpty : it->second;
}

}  // namespace

Inhibitor::Inhibitor(std::vector<InhibitRule> rules)
    : rules_(std::move(rules)), sources_(rules_.size()) {}

void Inhibitor::Insert(const Alert& alert) {
  const uint64_t fp = Fingerprint(alert.labels);
  for (size_t i = 0; i < rules_.size(); ++i) {
    if (alert.status == AlertStatus::kFiring && MatchesAll(rules_[i].source_matchers, alert.labels)) {
      sources_[i][fp] = alert.labels;
    } else {
      sources_[i].erase(fp);
    }
  }
}

bool Inhibitor::Mutes(const LabelSet& labels, WallTime /*now*/) const {
  const uint64_t fp = Fingerprint(labels);
  for (size_t i = 0; i < rules_.size(); ++i) {
    const InhibitRule& rule = rules_[i];
    if (!MatchesAll(rule.target_matchers, labels)) continue;
    const bool target_is_source_too = MatchesAll(rule.source_matchers, labels);
    for (const auto& [source_fp, source] : sources_[i]) {
      if (source_fp == fp) continue;
      if (target_is_source_too && MatchesAll(rule.target_matchers, source)) continue;
      bool equal = true;
      for (const auto& name : rule.equal) {
        if (Get(source, name) != Get(labels, name)) {
          equal = false;
          break;
        }
      }
      if (equal) return true;
    }
  }
  return false;
}

size_t Inhibitor::source_count() const {
  size_t n = 0;
  for (const auto& s : sources_) n += s.size();
  return n;
}

}  // namespace firewatch::alerting::route
