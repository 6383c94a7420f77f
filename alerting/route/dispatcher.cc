#include "route/dispatcher.h"

#include <algorithm>

namespace firewatch::alerting::route {

std::string_view GroupStatusString(GroupStatus s) {
  return s == GroupStatus::kFiring ? "firing" : "resolved";
}

std::string_view NotifyReasonString(NotifyReason r) {
  switch (r) {
    case NotifyReason::kFirst: return "first";
    case NotifyReason::kChanged: return "changed";
    case NotifyReason::kRepeat: return "repeat";
    case NotifyReason::kResolved: return "resolved";
  }
  return "?";
}

Dispatcher::Dispatcher(const Route& root, std::vector<const Muter*> muters)
    : root_(root), muters_(std::move(muters)) {}

void Dispatcher::Insert(const Alert& alert, MonoTime now) {
  const uint64_t fp = Fingerprint(alert.labels);
  for (const Route* r : root_.Match(alert.labels)) {
    LabelSet group_labels = r->GroupLabels(alert.labels);
    std::string key = r->key() + ":" + LabelSetString(group_labels);
    auto it = groups_.find(key);
    if (it == groups_.end()) {
      if (alert.status != AlertStatus::kFiring) continue;  // nothing to resolve
      Group g;
      g.route = r;
      g.labels = std::move(group_labels);
      it = groups_.emplace(std::move(key), std::move(g)).first;
      Schedule(it, now + r->group_wait(), /*fresh=*/true);
    }
    it->second.alerts[fp] = alert;
  }
}

std::vector<Alert> Dispatcher::FiringAlerts() const {
  std::map<uint64_t, const Alert*> firing;
  for (const auto& [key, g] : groups_) {
    for (const auto& [fp, a] : g.alerts) {
      if (a.status == AlertStatus::kFiring) firing.emplace(fp, &a);
    }
  }
  std::vector<Alert> out;
  out.reserve(firing.size());
  for (const auto& [fp, a] : firing) out.push_back(*a);
  return out;
}

bool Dispatcher::Muted(const LabelSet& labels, WallTime wall_now) const {
  return std::any_of(muters_.begin(), muters_.end(),
                     [&](const Muter* m) { return m->Mutes(labels, wall_now); });
}

void Dispatcher::Flush(const std::string& key, Group& g, MonoTime now, WallTime wall_now,
                       std::vector<GroupNotification>& out) const {
  std::vector<Alert> firing, resolved;
  std::set<uint64_t> firing_fps, resolved_fps;
  for (const auto& [fp, a] : g.alerts) {
    if (Muted(a.labels, wall_now)) continue;
    if (a.status == AlertStatus::kFiring) {
      firing.push_back(a);
      firing_fps.insert(fp);
    } else if (g.last_firing.count(fp)) {  // only resolve what was announced
      resolved.push_back(a);
      resolved_fps.insert(fp);
    }
  }

  std::optional<NotifyReason> reason;
  if (firing.empty() && resolved.empty()) {
    // Nothing to say (all muted, or resolved before anyone heard of them).
  } else if (!g.notified) {
    reason = NotifyReason::kFirst;
  } else if (firing.empty()) {
    reason = NotifyReason::kResolved;
  } else if (!std::includes(g.last_firing.begin(), g.last_firing.end(), firing_fps.begin(),
                            firing_fps.end()) ||
             !std::includes(g.last_resolved.begin(), g.last_resolved.end(), resolved_fps.begin(),
                            resolved_fps.end())) {
    reason = NotifyReason::kChanged;
  } else if (now - g.last_notified >= g.route->repeat_interval()) {
    reason = NotifyReason::kRepeat;
  }

  if (reason) {
    auto by_labels = [](const Alert& a, const Alert& b) { return a.labels < b.labels; };
    std::sort(firing.begin(), firing.end(), by_labels);
    std::sort(resolved.begin(), resolved.end(), by_labels);
    GroupNotification n;
    n.route = g.route;
    n.escalation_policy = g.route->escalation_policy();
    n.group_key = key;
    n.group_labels = g.labels;
    n.status = firing.empty() ? GroupStatus::kResolved : GroupStatus::kFiring;
    n.reason = *reason;
    n.alerts = std::move(firing);
    n.alerts.insert(n.alerts.end(), std::make_move_iterator(resolved.begin()),
                    std::make_move_iterator(resolved.end()));
    out.push_back(std::move(n));
    g.notified = true;
    g.last_notified = now;
    g.last_firing = std::move(firing_fps);
    g.last_resolved = std::move(resolved_fps);
  }
  // Resolved alerts have been reported (or never will be): forget them.
  std::erase_if(g.alerts, [](const auto& kv) { return kv.second.status == AlertStatus::kResolved; });
}

void Dispatcher::Schedule(Groups::iterator it, MonoTime when, bool fresh) {
  if (!fresh) Unschedule(it);
  Group& g = it->second;
  g.next_flush = when;
  std::vector<Groups::iterator>& bucket = due_[when];
  g.due_index = bucket.size();
  bucket.push_back(it);
}

void Dispatcher::Unschedule(Groups::iterator it) {
  auto b = due_.find(it->second.next_flush);
  std::vector<Groups::iterator>& bucket = b->second;
  const size_t i = it->second.due_index;
  bucket[i] = bucket.back();
  bucket[i]->second.due_index = i;
  bucket.pop_back();
  if (bucket.empty()) due_.erase(b);
}

void Dispatcher::Erase(Groups::iterator it) {
  Unschedule(it);
  groups_.erase(it);
}

std::vector<GroupNotification> Dispatcher::Tick(MonoTime now, WallTime wall_now) {
  std::vector<GroupNotification> out;
  std::vector<Groups::iterator> due;
  for (auto d = due_.begin(); d != due_.end() && d->first <= now; ++d) {
    due.insert(due.end(), d->second.begin(), d->second.end());
  }
  if (due.empty()) return out;
  // Flushed in group key order: a sort of the few due, or, when many are (a storm's
  // groups made in the same second), one walk of groups_, which is cheaper than sorting
  // 100,000 keys.
  if (due.size() * 8 < groups_.size()) {
    std::sort(due.begin(), due.end(), [](auto a, auto b) { return a->first < b->first; });
  } else {
    due.clear();
    for (auto it = groups_.begin(); it != groups_.end(); ++it) {
      if (it->second.next_flush <= now) due.push_back(it);
    }
  }
  for (auto it : due) {
    Group& g = it->second;
    Flush(it->first, g, now, wall_now, out);
    const Duration interval = g.route->group_interval();
    const auto behind = (now - g.next_flush) / interval;  // intervals Tick was late by
    if (g.alerts.empty()) {
      Erase(it);
    } else {
      Schedule(it, g.next_flush + interval * (behind + 1));
    }
  }
  return out;
}

void Dispatcher::Reset(const std::string& group_key, MonoTime now) {
  auto it = groups_.find(group_key);
  if (it == groups_.end()) return;
  Group& g = it->second;
  std::erase_if(g.alerts, [](const auto& kv) { return kv.second.status == AlertStatus::kResolved; });
  if (g.alerts.empty()) {
    Erase(it);
    return;
  }
  g.notified = false;
  g.last_firing.clear();
  g.last_resolved.clear();
  Schedule(it, std::min(g.next_flush, now + g.route->group_wait()));
}

std::optional<MonoTime> Dispatcher::NextTick() const {
  if (due_.empty()) return std::nullopt;
  return due_.begin()->first;
}

std::vector<std::string> Dispatcher::GroupKeys() const {
  std::vector<std::string> out;
  for (const auto& [key, g] : groups_) out.push_back(key);
  return out;
}

}  // namespace firewatch::alerting::route
