#include "incident/incident.h"

#include <algorithm>
#include <cctype>

namespace firewatch::alerting {

std::string_view IncidentStateName(IncidentState s) {
  switch (s) {
    case IncidentState::kOpen: return "open";
    case IncidentState::kAcked: return "acked";
    case IncidentState::kResolved: return "resolved";
  }
  return "open";
}

std::string IncidentId(const std::string& group_key, int64_t started_ms) {
  static constexpr char kAlphabet[] = "ABCDEFGHJKMNPQRSTUVWXYZ23456789";  // 31 symbols
  LabelSet seed{{"g", group_key}, {"t", std::to_string(started_ms)}};
  uint64_t h = Fingerprint(seed);
  std::string id;
  for (int i = 0; i < 6; ++i) {
    id.push_back(kAlphabet[h % 31]);
    h /= 31;
  }
  return id;
}

bool AnyFiring(const Incident& inc) {
  return std::any_of(inc.alerts.begin(), inc.alerts.end(),
                     [](const Alert& a) { return a.status == AlertStatus::kFiring; });
}

UpsertResult IncidentBook::Upsert(const std::string& group_key, const std::string& policy,
                                  const LabelSet& group_labels, const std::vector<Alert>& alerts,
                                  int64_t now_ms, const std::string& origin,
                                  const std::optional<std::pair<std::string, int64_t>>& adopt,
                                  int64_t reopen_window_ms) {
  MutexLock lock(mu_);
  auto open = open_by_group_.find(group_key);
  if (open != open_by_group_.end()) {
    Incident& inc = by_id_[open->second];
    inc.alerts = alerts;
    return {inc, UpsertKind::kUpdated};
  }
  if (auto last = last_resolved_by_group_.find(group_key);
      last != last_resolved_by_group_.end() && reopen_window_ms > 0 &&
      (!adopt || adopt->first == last->second)) {
    auto it = by_id_.find(last->second);
    if (it != by_id_.end() && it->second.state == IncidentState::kResolved &&
        now_ms - it->second.resolved_ms <= reopen_window_ms) {
      Incident& inc = it->second;
      inc.state = IncidentState::kOpen;
      inc.resolved_ms = 0;
      inc.acked_ms = 0;
      inc.acked_by.clear();
      ++inc.reopened;
      inc.reopened_ms = now_ms;
      inc.alerts = alerts;
      open_by_group_[group_key] = inc.id;
      last_resolved_by_group_.erase(last);
      return {inc, UpsertKind::kReopened};
    }
  }
  Incident inc;
  if (adopt && !by_id_.count(adopt->first)) {
    inc.id = adopt->first;
    inc.started_ms = adopt->second;
  } else {
    inc.started_ms = now_ms;
    inc.id = IncidentId(group_key, now_ms);
    while (by_id_.count(inc.id)) inc.id = IncidentId(group_key + "+", ++inc.started_ms);
  }
  inc.origin = origin;
  inc.group_key = group_key;
  inc.policy = policy;
  inc.group_labels = group_labels;
  inc.alerts = alerts;
  open_by_group_[group_key] = inc.id;
  by_id_[inc.id] = inc;
  return {inc, UpsertKind::kOpened};
}

std::vector<Incident> IncidentBook::ObserveAlert(const Alert& alert) {
  MutexLock lock(mu_);
  std::vector<Incident> changed;
  for (const auto& [group, id] : open_by_group_) {
    Incident& inc = by_id_[id];
    bool touched = false;
    for (auto& a : inc.alerts) {
      if (a.labels != alert.labels) continue;
      if (a.status != alert.status) {
        a.status = alert.status;
        a.ends_at_ms = alert.status == AlertStatus::kResolved ? alert.ends_at_ms : 0;
        touched = true;
      }
    }
    if (touched) changed.push_back(inc);
  }
  return changed;
}

std::optional<std::string> IncidentBook::Adopt(const std::string& group_key,
                                               const std::string& id, int64_t started_ms,
                                               const std::string& origin) {
  MutexLock lock(mu_);
  auto open = open_by_group_.find(group_key);
  if (open == open_by_group_.end() || open->second == id || by_id_.count(id)) return std::nullopt;
  std::string old_id = open->second;
  Incident inc = std::move(by_id_[old_id]);
  by_id_.erase(old_id);
  inc.id = id;
  inc.started_ms = started_ms;
  inc.origin = origin;
  by_id_[id] = std::move(inc);
  open->second = id;
  return old_id;
}

std::optional<Incident> IncidentBook::OpenFor(const std::string& group_key) const {
  MutexLock lock(mu_);
  auto open = open_by_group_.find(group_key);
  if (open == open_by_group_.end()) return std::nullopt;
  return by_id_.at(open->second);
}

std::optional<Incident> IncidentBook::Resolve(const std::string& group_key, int64_t now_ms) {
  MutexLock lock(mu_);
  auto open = open_by_group_.find(group_key);
  if (open == open_by_group_.end()) return std::nullopt;
  Incident& inc = by_id_[open->second];
  inc.state = IncidentState::kResolved;
  inc.resolved_ms = now_ms;
  last_resolved_by_group_[group_key] = inc.id;
  open_by_group_.erase(open);
  return inc;
}

Result<Incident> IncidentBook::Ack(const std::string& id, const std::string& by, int64_t now_ms) {
  std::string key = id;
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  MutexLock lock(mu_);
  auto it = by_id_.find(key);
  if (it == by_id_.end()) return Status::NotFound("no incident " + id);
  Incident& inc = it->second;
  if (inc.state == IncidentState::kOpen) {
    inc.state = IncidentState::kAcked;
    inc.acked_ms = now_ms;
    inc.acked_by = by;
  }
  return inc;
}

std::optional<Incident> IncidentBook::Get(const std::string& id) const {
  std::string key = id;
  std::transform(key.begin(), key.end(), key.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  MutexLock lock(mu_);
  auto it = by_id_.find(key);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::vector<Incident> IncidentBook::List() const {
  MutexLock lock(mu_);
  std::vector<Incident> out;
  for (const auto& [id, inc] : by_id_) out.push_back(inc);
  std::sort(out.begin(), out.end(),
            [](const Incident& a, const Incident& b) { return a.started_ms > b.started_ms; });
  return out;
}

void IncidentBook::Restore(std::vector<Incident> incidents) {
  MutexLock lock(mu_);
  for (auto& inc : incidents) {
    if (inc.state != IncidentState::kResolved) {
      open_by_group_[inc.group_key] = inc.id;
    } else {
      auto last = last_resolved_by_group_.find(inc.group_key);
      if (last == last_resolved_by_group_.end() ||
          by_id_[last->second].resolved_ms < inc.resolved_ms) {
        last_resolved_by_group_[inc.group_key] = inc.id;
      }
    }
    by_id_[inc.id] = std::move(inc);
  }
}

}  // namespace firewatch::alerting
