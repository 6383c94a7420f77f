#include "domain/domain_watch.h"

#include <cmath>
#include <set>

namespace firewatch::collector {

namespace {
std::string Join(const std::vector<std::string>& xs, const char* sep) {
  std::string out;
  for (const auto& x : xs) out += (out.empty() ? "" : sep) + x;
  return out;
}
}  // namespace

DomainWatch::DomainWatch(DomainConfig config, std::string external_url)
    : config_(std::move(config)), external_url_(std::move(external_url)) {}

DomainWatch::Member* DomainWatch::Upsert(const std::string& id, const protocol::Labels& labels) {
  const std::string* domain = nullptr;
  for (const auto& [k, v] : labels) {
    if (k == config_.label) domain = &v;
  }
  auto it = members_.find(id);
  if (domain == nullptr || domain->empty()) {
    if (it != members_.end()) Remove(id);
    return nullptr;
  }
  if (it != members_.end() && it->second.domain->first != *domain) {
    Remove(id);  // relabelled: it leaves its old domain
    it = members_.end();
  }
  if (it == members_.end()) {
    Member m;
    m.domain = domains_.try_emplace(*domain).first;
    if (!config_.services.empty()) {
      m.services = config_.services.ServicesOf(alerting::LabelSet(labels.begin(), labels.end()));
    }
    ++m.domain->second.members;
    it = members_.emplace(id, std::move(m)).first;
  }
  return &it->second;
}

void DomainWatch::Remove(const std::string& id) {
  auto it = members_.find(id);
  if (it == members_.end()) return;
  Domain& d = it->second.domain->second;
  --d.members;
  if (it->second.stopped) --d.stopped;
  MarkNotDown(id, it->second);
  if (d.members == 0 && !d.firing) domains_.erase(it->second.domain);
  members_.erase(it);
}

void DomainWatch::MarkDown(const std::string& id, const Member& m, int64_t at_ms) {
  Domain& d = m.domain->second;
  if (!d.down.emplace(id, at_ms).second) return;
  for (uint16_t s : m.services) {
    if (d.down_by_service.size() <= s) d.down_by_service.resize(s + 1, 0);
    ++d.down_by_service[s];
  }
}

void DomainWatch::MarkNotDown(const std::string& id, const Member& m) {
  Domain& d = m.domain->second;
  if (d.down.erase(id) == 0) return;
  for (uint16_t s : m.services) --d.down_by_service[s];
}

void DomainWatch::SetStopped(Member& m, bool stopped) {
  if (m.stopped == stopped) return;
  m.stopped = stopped;
  Domain& d = m.domain->second;
  if (stopped) {
    ++d.stopped;
  } else {
    --d.stopped;
  }
}

void DomainWatch::Learn(const std::vector<Transition>& ts) {
  for (const auto& t : ts) {
    if (Member* m = Upsert(t.source_id, t.labels)) SetStopped(*m, t.to == SourceState::kStopped);
  }
}

void DomainWatch::Seed(const std::vector<SourceSnapshot>& sources, bool with_states) {
  for (const auto& s : sources) {
    Member* m = Upsert(s.source_id, s.labels);
    if (!m) continue;
    SetStopped(*m, s.state == SourceState::kStopped);
    if (with_states && s.state == SourceState::kDown) MarkDown(s.source_id, *m, s.state_since_ms);
  }
}

std::vector<alerting::Alert> DomainWatch::Resume() {
  std::vector<alerting::Alert> out;
  for (auto& [name, d] : domains_) {
    if (d.firing || d.down.empty()) continue;
    int64_t latest = 0;
    for (const auto& [id, at] : d.down) latest = std::max(latest, at);
    Evaluate(name, d, latest, out);
  }
  return out;
}

std::vector<alerting::Alert> DomainWatch::Observe(const std::vector<Transition>& verdicts) {
  std::map<std::string, int64_t> touched;  // domain -> latest verdict time
  for (const auto& t : verdicts) {
    Member* m = Upsert(t.source_id, t.labels);
    if (!m) continue;
    SetStopped(*m, t.to == SourceState::kStopped);
    if (t.to == SourceState::kDown) {
      MarkDown(t.source_id, *m, t.at_ms);  // DOWN -> DOWN keeps the first time
    } else {
      MarkNotDown(t.source_id, *m);
    }
    int64_t& at = touched[m->domain->first];
    at = std::max(at, t.at_ms);
  }
  std::vector<alerting::Alert> out;
  for (const auto& [name, at] : touched) {
    auto it = domains_.find(name);
    if (it != domains_.end()) Evaluate(name, it->second, at, out);
  }
  return out;
}

std::vector<alerting::Alert> DomainWatch::Forget(const std::vector<std::string>& ids,
                                                 int64_t now_ms) {
  std::set<std::string> touched;
  for (const auto& id : ids) {
    auto it = members_.find(id);
    if (it == members_.end()) continue;
    touched.insert(it->second.domain->first);
    Remove(id);
  }
  std::vector<alerting::Alert> out;
  for (const auto& name : touched) {
    auto it = domains_.find(name);
    if (it == domains_.end()) continue;
    Evaluate(name, it->second, now_ms, out);
    if (it->second.members == 0 && !it->second.firing) domains_.erase(it);
  }
  return out;
}

size_t DomainWatch::Needed(const Domain& d) const {
  const size_t known = d.members - d.stopped;
  const auto share = static_cast<size_t>(std::ceil(config_.threshold * static_cast<double>(known)));
  return std::max<size_t>(config_.min_sources, share);
}

void DomainWatch::Evaluate(const std::string& name, Domain& d, int64_t now_ms,
                           std::vector<alerting::Alert>& out) {
  const size_t needed = Needed(d);
  if (!d.firing) {
    // Fewer DOWN than needed cannot be enough within the window: no walk (a storm
    // would otherwise walk `down` on each of its ticks until the domain fires).
    if (d.down.size() < needed) return;
    const int64_t since = now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(config_.window).count();
    size_t recent = 0;
    for (auto it = d.down.begin(); it != d.down.end() && recent < needed; ++it) {
      recent += it->second >= since ? 1 : 0;
    }
    if (recent < needed) return;
    d.firing = true;
    d.firing_since_ms = now_ms;
  } else if (d.down.size() < needed) {
    d.firing = false;
    alerting::Alert a = AlertOf(name, d);
    a.status = alerting::AlertStatus::kResolved;
    a.ends_at_ms = now_ms;
    d.reported_down = 0;
    out.push_back(std::move(a));
    return;
  } else if (d.down.size() == d.reported_down) {
    return;
  }
  d.reported_down = d.down.size();
  out.push_back(AlertOf(name, d));
}

alerting::Alert DomainWatch::AlertOf(const std::string& name, const Domain& d) const {
  const std::string where = config_.label + "=" + name;
  const size_t known = d.members - d.stopped;
  const std::string lost = std::to_string(d.down.size()) + " of " + std::to_string(known);
  alerting::Alert a;
  a.labels["alertname"] = "DomainDown";
  a.labels[config_.label] = name;
  a.labels["severity"] = "critical";
  a.annotations["summary"] = where + " is DOWN: " + lost + " sources";
  std::string description = lost + " sources in " + where +
                            " are DOWN (no collector hears them); their per-host pages are "
                            "held back while this alert fires.";
  if (!config_.services.empty()) {
    std::vector<bool> direct(config_.services.specs().size(), false);
    for (size_t s = 0; s < d.down_by_service.size() && s < direct.size(); ++s) {
      direct[s] = d.down_by_service[s] > 0;
    }
    const ServiceMap::Impact impact = config_.services.Affected(direct);
    if (!impact.restore_order.empty()) {
      std::string services = Join(impact.direct, ", ");
      if (!impact.through_deps.empty()) {
        services += (services.empty() ? "" : "; ") + std::string("through dependencies: ") +
                    Join(impact.through_deps, ", ");
      }
      a.annotations["services"] = services;
      a.annotations["restore_order"] = Join(impact.restore_order, " -> ");
      description += " Services affected: " + services + ". Restore in this order " +
                     "(dependencies first): " + Join(impact.restore_order, " -> ") + ".";
    }
  }
  a.annotations["description"] = description;
  a.starts_at_ms = d.firing_since_ms;
  if (!external_url_.empty()) a.generator_url = external_url_ + "/";
  return a;
}

std::vector<alerting::Alert> DomainWatch::Firing() const {
  std::vector<alerting::Alert> out;
  for (const auto& [name, d] : domains_) {
    if (d.firing) out.push_back(AlertOf(name, d));
  }
  return out;
}

}  // namespace firewatch::collector
